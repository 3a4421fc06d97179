package kubelet

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
	"github.com/localjobs/localjobs/runner"
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
	hostPath bool   // path is the user's; under baseline, inside an allowed folder
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
func (k *Kubelet) ensurePodDir(pod *manifest.Pod) (string, error) {
	dir := k.Store.PodDir(pod.Namespace, pod.Name, pod.UID)
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
func (k *Kubelet) prepareVolumes(ctx context.Context, rec *runner.PodRecord, sandboxed bool) (map[string]hostVolume, error) {
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
		if podDir, err = k.ensurePodDir(pod); err != nil {
			return nil, fmt.Errorf("pod volume directory: %w", err)
		}
	}
	for _, v := range pod.Spec.Volumes {
		hv, err := k.prepareVolume(ctx, rec, podDir, &v, sandboxed)
		if err != nil {
			return nil, &mountError{volume: v.Name, err: err}
		}
		out[v.Name] = hv
	}
	return out, nil
}

func (k *Kubelet) prepareVolume(ctx context.Context, rec *runner.PodRecord, podDir string, v *manifest.Volume, sandboxed bool) (hostVolume, error) {
	pod := &rec.Pod
	switch {
	case v.EmptyDir != nil:
		if v.EmptyDir.Medium == "Memory" {
			hv := hostVolume{tmpfs: true}
			if v.EmptyDir.SizeLimit != nil {
				hv.size = v.EmptyDir.SizeLimit.Value()
			}
			if sandboxed {
				hv.engine = k.engineName(pod, v.Name, 0)
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
		return hostVolume{path: dir}, nil
	case v.HostPath != nil:
		return hostVolume{path: v.HostPath.Path, hostPath: true}, k.prepareHostPath(v.HostPath)
	}
	files, err := k.volumeFiles(ctx, rec, v)
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

// volumeFile is one file of a configMap, secret, downwardAPI or projected
// volume.
type volumeFile struct {
	path string
	data []byte
	mode os.FileMode
}

// volumeFiles computes the files of a content volume.
func (k *Kubelet) volumeFiles(ctx context.Context, rec *runner.PodRecord, v *manifest.Volume) ([]volumeFile, error) {
	mode := func(def *int32) os.FileMode {
		if def != nil {
			return os.FileMode(*def) & 0o777
		}
		return defaultVolumeFileMode
	}
	switch {
	case v.ConfigMap != nil:
		s := v.ConfigMap
		return k.configMapFiles(ctx, rec, s.Name, s.Items, s.Optional, mode(s.DefaultMode))
	case v.Secret != nil:
		s := v.Secret
		return k.secretFiles(ctx, rec, s.SecretName, s.Items, s.Optional, mode(s.DefaultMode))
	case v.DownwardAPI != nil:
		return k.downwardFiles(ctx, rec, v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode))
	case v.Projected != nil:
		def := mode(v.Projected.DefaultMode)
		var all []volumeFile
		for _, src := range v.Projected.Sources {
			var fs []volumeFile
			var err error
			switch {
			case src.ConfigMap != nil:
				fs, err = k.configMapFiles(ctx, rec, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, def)
			case src.Secret != nil:
				fs, err = k.secretFiles(ctx, rec, src.Secret.Name, src.Secret.Items, src.Secret.Optional, def)
			case src.DownwardAPI != nil:
				fs, err = k.downwardFiles(ctx, rec, src.DownwardAPI.Items, def)
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

func (k *Kubelet) configMapFiles(ctx context.Context, rec *runner.PodRecord, name string, items []manifest.KeyToPath, optional *bool, def os.FileMode) ([]volumeFile, error) {
	ns := rec.Pod.Namespace
	cm, err := getRef(ctx, k.Store.ConfigMap, "configmap", ns, name, isTrue(optional))
	if cm == nil || err != nil {
		return nil, err
	}
	data := map[string][]byte{}
	for key, v := range cm.Data {
		data[key] = []byte(v)
	}
	maps.Copy(data, cm.BinaryData)
	return keyFiles("ConfigMap", ns, name, data, items, isTrue(optional), def)
}

func (k *Kubelet) secretFiles(ctx context.Context, rec *runner.PodRecord, name string, items []manifest.KeyToPath, optional *bool, def os.FileMode) ([]volumeFile, error) {
	ns := rec.Pod.Namespace
	s, err := getRef(ctx, k.Store.Secret, "secret", ns, name, isTrue(optional))
	if s == nil || err != nil {
		return nil, err
	}
	return keyFiles("Secret", ns, name, SecretData(s), items, isTrue(optional), def)
}

// SecretData is a Secret's data with stringData merged over it.
func SecretData(s *manifest.Secret) map[string][]byte {
	data := maps.Clone(s.Data)
	if data == nil {
		data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return data
}

func (k *Kubelet) downwardFiles(ctx context.Context, rec *runner.PodRecord, items []manifest.DownwardAPIVolumeFile, def os.FileMode) ([]volumeFile, error) {
	var out []volumeFile
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = k.fieldValue(ctx, rec, it.FieldRef.FieldPath, true)
		case it.ResourceFieldRef != nil:
			v, err = k.resourceValue(ctx, &rec.Pod, nil, it.ResourceFieldRef)
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
// message file) onto engine mounts. Bind sources are resolved so that they
// stay inside their volume (hostpath.go); release undoes what that staged
// and must be called once the container has started, or failed to.
func (k *Kubelet) containerMounts(spec *manifest.Container, vols map[string]hostVolume, env map[string]string) (mounts []runner.Mount, staged bool, release func(), err error) {
	var releases []func()
	release = func() {
		for _, r := range releases {
			r()
		}
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	for _, vm := range spec.VolumeMounts {
		hv, ok := vols[vm.Name]
		if !ok {
			return nil, false, release, &ConfigError{Msg: fmt.Sprintf("volumeMount %q: no volume of that name", vm.Name)}
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			sub = manifest.Expand(vm.SubPathExpr, env)
		}
		m := runner.Mount{Target: vm.MountPath, ReadOnly: vm.ReadOnly || hv.readOnly, Size: hv.size}
		switch {
		case hv.engine != "":
			if _, err := splitBeneath(sub); err != nil {
				return nil, false, release, &ConfigError{Msg: (&subPathError{volume: vm.Name, container: spec.Name, err: err}).Error()}
			}
			m.Volume, m.Tmpfs, m.SubPath = hv.engine, true, sub
		case hv.tmpfs:
			m.Tmpfs = true
		default:
			src, unstage, err := k.bindSource(hv, sub)
			if unstage != nil {
				releases = append(releases, unstage)
				staged = true
			}
			var se *subPathError
			switch {
			case errors.As(err, &se):
				se.volume, se.container = vm.Name, spec.Name
				return nil, false, release, &ConfigError{Msg: se.Error()}
			case err != nil:
				return nil, false, release, fmt.Errorf("volume %q of container %q: %w", vm.Name, spec.Name, err)
			}
			m.Source = src
		}
		mounts = append(mounts, m)
	}
	return mounts, staged, release, nil
}
