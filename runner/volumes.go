package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/localjobs/localjobs/manifest"
)

// Default file modes of projected volume files, as Kubernetes'
// (ConfigMapVolumeSourceDefaultMode, SecretVolumeSourceDefaultMode…).
const defaultVolumeFileMode = 0o644

// hostVolume is where one pod volume lives on the host or in the engine.
type hostVolume struct {
	path     string // host directory; "" for tmpfs
	tmpfs    bool
	size     int64  // tmpfs size in bytes (0 = engine default)
	engine   string // named engine volume (memory emptyDir of a sandboxed pod)
	readOnly bool   // configMap, secret, downwardAPI and projected: always
	emptyDir bool
}

// mountError is a volume that could not be set up; the pod's containers
// keep waiting in ContainerCreating and a FailedMount event names it, as
// the kubelet does.
type mountError struct {
	volume string
	err    error
}

func (e *mountError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.volume, e.err)
}

func (e *mountError) Unwrap() error { return e.err }

// volumeRoot is the pod directory's subdirectory for volumes of one
// plugin, named as the kubelet names its own (kubernetes.io~empty-dir…).
func volumeRoot(podDir, plugin string) string {
	return filepath.Join(podDir, "volumes", "kubernetes.io~"+plugin)
}

// ensurePodDir creates the pod's host directory (mode 0700: it holds
// secret copies) and returns it.
func (c *Controller) ensurePodDir(pod *manifest.Pod) (string, error) {
	dir := c.Store.PodDir(pod.Namespace, pod.Name, pod.UID)
	if dir == "" {
		return "", errors.New("the store has no directory for pod volumes")
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// prepareVolumes sets up every volume of the pod on the host: emptyDir
// directories (0777), configMap/secret/downwardAPI/projected copies with
// Kubernetes' file modes, checked hostPaths. sandboxed pods get their
// memory-backed emptyDirs as named engine volumes shared by the containers.
// It is idempotent: a second call rewrites the copies in place.
func (c *Controller) prepareVolumes(ctx context.Context, rec *PodRecord, sandboxed bool) (map[string]hostVolume, error) {
	pod := &rec.Pod
	out := map[string]hostVolume{}
	if len(pod.Spec.Volumes) == 0 {
		return out, nil
	}
	podDir := ""
	needDir := false
	for _, v := range pod.Spec.Volumes {
		if v.HostPath == nil && (v.EmptyDir == nil || v.EmptyDir.Medium != "Memory") {
			needDir = true
		}
	}
	if needDir {
		var err error
		if podDir, err = c.ensurePodDir(pod); err != nil {
			return nil, fmt.Errorf("pod volume directory: %w", err)
		}
	}
	for _, v := range pod.Spec.Volumes {
		hv, err := c.prepareVolume(ctx, rec, podDir, &v, sandboxed)
		if err != nil {
			return nil, &mountError{volume: v.Name, err: err}
		}
		out[v.Name] = hv
	}
	return out, nil
}

func (c *Controller) prepareVolume(ctx context.Context, rec *PodRecord, podDir string, v *manifest.Volume, sandboxed bool) (hostVolume, error) {
	pod := &rec.Pod
	switch {
	case v.EmptyDir != nil:
		if v.EmptyDir.Medium == "Memory" {
			hv := hostVolume{tmpfs: true, emptyDir: true}
			if v.EmptyDir.SizeLimit != nil {
				hv.size = v.EmptyDir.SizeLimit.Value()
			}
			if sandboxed {
				hv.engine = c.engineName(pod, v.Name, 0)
			}
			return hv, nil
		}
		dir := filepath.Join(volumeRoot(podDir, "empty-dir"), v.Name)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return hostVolume{}, err
		}
		if err := os.Chmod(dir, 0o777); err != nil { // past the umask
			return hostVolume{}, err
		}
		return hostVolume{path: dir, emptyDir: true}, nil
	case v.HostPath != nil:
		return hostVolume{path: v.HostPath.Path}, prepareHostPath(v.HostPath)
	}
	files, err := c.volumeFiles(ctx, rec, v)
	if err != nil {
		return hostVolume{}, err
	}
	plugin := "projected"
	switch {
	case v.ConfigMap != nil:
		plugin = "configmap"
	case v.Secret != nil:
		plugin = "secret"
	case v.DownwardAPI != nil:
		plugin = "downward-api"
	}
	dir := filepath.Join(volumeRoot(podDir, plugin), v.Name)
	if err := writeVolumeFiles(dir, files); err != nil {
		return hostVolume{}, err
	}
	return hostVolume{path: dir, readOnly: true}, nil
}

// prepareHostPath checks (or creates) a hostPath as its type asks.
func prepareHostPath(h *manifest.HostPathVolume) error {
	typ := ""
	if h.Type != nil {
		typ = *h.Type
	}
	fi, err := os.Stat(h.Path)
	switch typ {
	case "":
		return nil
	case "DirectoryOrCreate":
		if os.IsNotExist(err) {
			return os.MkdirAll(h.Path, 0o755)
		}
	case "FileOrCreate":
		if os.IsNotExist(err) {
			if err := os.MkdirAll(filepath.Dir(h.Path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
	}
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("hostPath type check failed: %s is not a %s", h.Path, strings.ToLower(strings.TrimSuffix(typ, "OrCreate")))
		}
		return err
	}
	mode := fi.Mode()
	ok := true
	switch typ {
	case "Directory", "DirectoryOrCreate":
		ok = mode.IsDir()
	case "File", "FileOrCreate":
		ok = mode.IsRegular()
	case "Socket":
		ok = mode&os.ModeSocket != 0
	case "CharDevice":
		ok = mode&os.ModeCharDevice != 0
	case "BlockDevice":
		ok = mode&os.ModeDevice != 0 && mode&os.ModeCharDevice == 0
	}
	if !ok {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", h.Path, strings.ToLower(strings.TrimSuffix(typ, "OrCreate")))
	}
	return nil
}

// volumeFile is one file of a configMap, secret, downwardAPI or projected
// volume.
type volumeFile struct {
	path string
	data []byte
	mode os.FileMode
}

// volumeFiles computes the files of a content volume.
func (c *Controller) volumeFiles(ctx context.Context, rec *PodRecord, v *manifest.Volume) ([]volumeFile, error) {
	mode := func(def *int32) os.FileMode {
		if def != nil {
			return os.FileMode(*def) & 0o777
		}
		return defaultVolumeFileMode
	}
	switch {
	case v.ConfigMap != nil:
		s := v.ConfigMap
		return c.configMapFiles(ctx, rec, s.Name, s.Items, s.Optional, mode(s.DefaultMode))
	case v.Secret != nil:
		s := v.Secret
		return c.secretFiles(ctx, rec, s.SecretName, s.Items, s.Optional, mode(s.DefaultMode))
	case v.DownwardAPI != nil:
		return c.downwardFiles(ctx, rec, v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode))
	case v.Projected != nil:
		def := mode(v.Projected.DefaultMode)
		var all []volumeFile
		for _, src := range v.Projected.Sources {
			var fs []volumeFile
			var err error
			switch {
			case src.ConfigMap != nil:
				fs, err = c.configMapFiles(ctx, rec, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, def)
			case src.Secret != nil:
				fs, err = c.secretFiles(ctx, rec, src.Secret.Name, src.Secret.Items, src.Secret.Optional, def)
			case src.DownwardAPI != nil:
				fs, err = c.downwardFiles(ctx, rec, src.DownwardAPI.Items, def)
			default:
				err = errors.New("projected source not supported by localjobs (only configMap, secret and downwardAPI)")
			}
			if err != nil {
				return nil, err
			}
			all = append(all, fs...)
		}
		return all, nil
	}
	return nil, errors.New("volume source not supported by localjobs")
}

func keyFiles(kind, ns, name string, data map[string][]byte, items []manifest.KeyToPath, optional bool, def os.FileMode) ([]volumeFile, error) {
	var out []volumeFile
	if len(items) == 0 {
		for _, k := range slices.Sorted(maps.Keys(data)) {
			out = append(out, volumeFile{path: k, data: data[k], mode: def})
		}
		return out, nil
	}
	for _, it := range items {
		d, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("%s references non-existent %s key: %s", strings.ToLower(kind), map[string]string{"ConfigMap": "config", "Secret": "secret"}[kind], it.Key)
		}
		m := def
		if it.Mode != nil {
			m = os.FileMode(*it.Mode) & 0o777
		}
		out = append(out, volumeFile{path: it.Path, data: d, mode: m})
	}
	return out, nil
}

func (c *Controller) configMapFiles(ctx context.Context, rec *PodRecord, name string, items []manifest.KeyToPath, optional *bool, def os.FileMode) ([]volumeFile, error) {
	ns := rec.Pod.Namespace
	cm, err := c.Store.ConfigMap(ctx, ns, name)
	if errors.Is(err, ErrObjectNotFound) {
		if optional != nil && *optional {
			return nil, nil
		}
		return nil, fmt.Errorf("configmap %q not found", name)
	}
	if err != nil {
		return nil, err
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	maps.Copy(data, cm.BinaryData)
	return keyFiles("ConfigMap", ns, name, data, items, optional != nil && *optional, def)
}

func (c *Controller) secretFiles(ctx context.Context, rec *PodRecord, name string, items []manifest.KeyToPath, optional *bool, def os.FileMode) ([]volumeFile, error) {
	ns := rec.Pod.Namespace
	s, err := c.Store.Secret(ctx, ns, name)
	if errors.Is(err, ErrObjectNotFound) {
		if optional != nil && *optional {
			return nil, nil
		}
		return nil, fmt.Errorf("secret %q not found", name)
	}
	if err != nil {
		return nil, err
	}
	return keyFiles("Secret", ns, name, secretData(s), items, optional != nil && *optional, def)
}

// secretData is a Secret's data with stringData merged over it.
func secretData(s *manifest.Secret) map[string][]byte {
	data := maps.Clone(s.Data)
	if data == nil {
		data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return data
}

func (c *Controller) downwardFiles(ctx context.Context, rec *PodRecord, items []manifest.DownwardAPIVolumeFile, def os.FileMode) ([]volumeFile, error) {
	var out []volumeFile
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = c.fieldValue(ctx, rec, it.FieldRef.FieldPath, true)
		case it.ResourceFieldRef != nil:
			v, err = c.resourceValue(ctx, &rec.Pod, nil, it.ResourceFieldRef)
		}
		if err != nil {
			return nil, err
		}
		m := def
		if it.Mode != nil {
			m = os.FileMode(*it.Mode) & 0o777
		}
		out = append(out, volumeFile{path: it.Path, data: []byte(v), mode: m})
	}
	return out, nil
}

// writeVolumeFiles writes files under dir (created 0755), each with its
// mode regardless of the umask. Files of an earlier write that are no
// longer part of the volume are removed.
func writeVolumeFiles(dir string, files []volumeFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("invalid path %q", f.path)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil {
			return err
		}
		keep[p] = true
	}
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || keep[p] {
			return err
		}
		return os.Remove(p)
	})
}

// containerMounts maps a container's volumeMounts (and its termination
// message file) onto engine mounts.
func containerMounts(spec *manifest.Container, vols map[string]hostVolume, env map[string]string) ([]Mount, error) {
	var out []Mount
	for _, vm := range spec.VolumeMounts {
		hv, ok := vols[vm.Name]
		if !ok {
			return nil, &ConfigError{Msg: fmt.Sprintf("volumeMount %q: no volume of that name", vm.Name)}
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			sub = expand(vm.SubPathExpr, env)
		}
		m := Mount{Target: vm.MountPath, ReadOnly: vm.ReadOnly || hv.readOnly}
		switch {
		case hv.engine != "":
			m.Volume, m.Tmpfs, m.SubPath = hv.engine, true, sub
		case hv.tmpfs:
			m.Tmpfs = true
		default:
			m.Source = hv.path
			if sub != "" {
				m.Source = filepath.Join(hv.path, filepath.FromSlash(sub))
				if !strings.HasPrefix(m.Source, filepath.Clean(hv.path)+string(filepath.Separator)) {
					return nil, &ConfigError{Msg: fmt.Sprintf("volumeMount %q: subPath %q escapes the volume", vm.Name, sub)}
				}
				if hv.emptyDir {
					if _, err := os.Stat(m.Source); os.IsNotExist(err) {
						if err := os.MkdirAll(m.Source, 0o777); err != nil {
							return nil, &ConfigError{Msg: fmt.Sprintf("volumeMount %q: create subPath: %v", vm.Name, err)}
						}
						_ = os.Chmod(m.Source, 0o777)
					}
				}
			}
		}
		m.Size = hv.size
		out = append(out, m)
	}
	return out, nil
}
