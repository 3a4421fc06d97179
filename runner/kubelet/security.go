package kubelet

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Pod Security Standards levels (DESIGN §3).
const (
	PodSecurityBaseline   = "baseline"
	PodSecurityPrivileged = "privileged"
)

// baselineCaps are the capabilities the baseline level allows adding.
var baselineCaps = []string{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}

const privilegedHint = " (run localjobs with --pod-security=privileged to allow it)"

// Security is the Pod Security admission of this machine (DESIGN §3).
type Security struct {
	// Level is PodSecurityBaseline (the default when empty) or
	// PodSecurityPrivileged.
	Level string
	// AllowHostPath lists the host directories hostPath volumes may use at
	// the baseline level; nil means DefaultAllowHostPath().
	AllowHostPath []string
	// ProtectedPaths are folders that no hostPath volume may be in or hold
	// under baseline: the daemon's state dir, whose database a pod could
	// otherwise rewrite (a privileged pod restored at the next start).
	ProtectedPaths []string
}

// Check admits a pod at the Pod Security level: baseline (the default)
// refuses privileged containers, host namespaces (hostNetwork, hostPID,
// hostIPC, and a localjobs.io/network annotation that would share the
// host's or another container's network), capabilities beyond baseline's,
// unconfined seccomp, unmasked /proc and hostPath volumes outside
// AllowHostPath; privileged allows everything. Refusals name the field and
// the flag that lifts them.
func (s Security) Check(meta *manifest.ObjectMeta, spec *manifest.PodSpec) error {
	if s.Level == PodSecurityPrivileged {
		return nil
	}
	if err := checkNetworkAnnotation(meta.Annotations); err != nil {
		return err
	}
	switch {
	case spec.HostNetwork:
		return errors.New("spec.hostNetwork: Forbidden: host namespaces are not allowed by the baseline pod security level" + privilegedHint)
	case spec.HostPID:
		return errors.New("spec.hostPID: Forbidden: host namespaces are not allowed by the baseline pod security level" + privilegedHint)
	case spec.HostIPC:
		return errors.New("spec.hostIPC: Forbidden: host namespaces are not allowed by the baseline pod security level" + privilegedHint)
	}
	if psc := spec.SecurityContext; psc != nil && psc.SeccompProfile != nil && psc.SeccompProfile.Type == "Unconfined" {
		return errors.New("spec.securityContext.seccompProfile.type: Forbidden: Unconfined is not allowed by the baseline pod security level" + privilegedHint)
	}
	for i, v := range spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		if _, _, err := s.hostPathRoot(v.HostPath.Path); err != nil {
			return fmt.Errorf("spec.volumes[%d].hostPath.path: Forbidden: %v", i, err)
		}
	}
	if err := checkContainerSecurity("initContainers", spec.InitContainers); err != nil {
		return err
	}
	return checkContainerSecurity("containers", spec.Containers)
}

// checkContainerSecurity admits the securityContext of each container of
// the list spec.<field> at the baseline level.
func checkContainerSecurity(field string, list []manifest.Container) error {
	for i, ct := range list {
		sc := ct.SecurityContext
		if sc == nil {
			continue
		}
		path := fmt.Sprintf("spec.%s[%d].securityContext", field, i)
		if sc.Privileged != nil && *sc.Privileged {
			return fmt.Errorf("%s.privileged: Forbidden: privileged containers are not allowed by the baseline pod security level%s", path, privilegedHint)
		}
		if sc.Capabilities != nil {
			for _, cp := range sc.Capabilities.Add {
				if !slices.Contains(baselineCaps, normCap(cp)) {
					return fmt.Errorf("%s.capabilities.add: Forbidden: capability %s is not allowed by the baseline pod security level%s", path, cp, privilegedHint)
				}
			}
		}
		if sc.ProcMount != nil && *sc.ProcMount == "Unmasked" {
			return fmt.Errorf("%s.procMount: Forbidden: Unmasked is not allowed by the baseline pod security level%s", path, privilegedHint)
		}
		if sc.SeccompProfile != nil && sc.SeccompProfile.Type == "Unconfined" {
			return fmt.Errorf("%s.seccompProfile.type: Forbidden: Unconfined is not allowed by the baseline pod security level%s", path, privilegedHint)
		}
	}
	return nil
}

// networkName is what Docker accepts as the name of a network.
var networkName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// checkNetworkAnnotation admits the localjobs.io/network annotation under
// baseline: a named network (a user-defined one, or bridge, default or
// none — none takes the network away, which is less, not more), never the
// host's network namespace or another container's ("container:ID"), which
// is a host namespace or a way around the pod's own sandbox.
func checkNetworkAnnotation(annotations map[string]string) error {
	n, ok := annotations[runner.AnnotationNetwork]
	if !ok {
		return nil
	}
	field := "metadata.annotations[" + runner.AnnotationNetwork + "]"
	switch {
	case strings.EqualFold(n, "host"):
		return fmt.Errorf("%s: Forbidden: host namespaces are not allowed by the baseline pod security level (network %q is the host's)%s", field, n, privilegedHint)
	case strings.HasPrefix(strings.ToLower(n), "container:"):
		return fmt.Errorf("%s: Forbidden: joining another container's namespaces is not allowed by the baseline pod security level (network %q)%s", field, n, privilegedHint)
	case !networkName.MatchString(n):
		return fmt.Errorf("%s: Forbidden: %q is not the name of a network; the baseline pod security level allows only a named network%s", field, n, privilegedHint)
	}
	return nil
}

func normCap(s string) string { return strings.TrimPrefix(strings.ToUpper(s), "CAP_") }

// allowedHostPaths is AllowHostPath, or DefaultAllowHostPath() when nil.
func (s Security) allowedHostPaths() []string {
	if s.AllowHostPath == nil {
		return DefaultAllowHostPath()
	}
	return s.AllowHostPath
}

// confined reports whether hostPath volumes are confined to the allowed
// folders (baseline).
func (s Security) confined() bool { return s.Level != PodSecurityPrivileged }

// DefaultAllowHostPath is the default of --allow-host-path: the given
// folders (the manifests') and the user's home, except any that is, or
// holds, a home directory of uid 0 (or is /). A pod that can write root's
// home (.ssh/authorized_keys, .docker/config.json) is root on the host, so
// a daemon running as root allows no home by default (DESIGN §9b).
func DefaultAllowHostPath(folders ...string) []string {
	home, _ := os.UserHomeDir()
	rootHome := "/root"
	if u, err := user.LookupId("0"); err == nil && u.HomeDir != "" {
		rootHome = u.HomeDir
	}
	return defaultAllowHostPath(folders, os.Getuid(), home, rootHome)
}

func defaultAllowHostPath(folders []string, uid int, home, rootHome string) []string {
	if uid != 0 && home != "" {
		folders = append(folders, home)
	}
	rh := resolvePath(rootHome)
	out := []string{}
	for _, f := range folders {
		if r := resolvePath(f); r == "/" || within(rh, r) || slices.Contains(out, f) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// resolvePath cleans p and resolves its symbolic links; a path that does
// not exist yet has its nearest existing parent resolved.
func resolvePath(p string) string {
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	if dir := filepath.Dir(p); dir != p {
		return filepath.Join(resolvePath(dir), filepath.Base(p))
	}
	return p
}

// within reports whether p is dir or below it (both clean).
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

// hostPathRoot finds the allowed folder that holds p once links are
// resolved; it returns that folder (resolved) and p's resolved path below
// it. Check uses it to admit a hostPath; it is checked again, without
// following links out of the folder, each time the path is mounted (see
// hostpath.go).
func (s Security) hostPathRoot(p string) (root, rel string, err error) {
	allowed := s.allowedHostPaths()
	rp := resolvePath(p)
	for _, prot := range s.ProtectedPaths {
		if rprot := resolvePath(prot); within(rp, rprot) || within(rprot, rp) {
			return "", "", fmt.Errorf("%s would give the pod localjobs' own state in %s, and with it control of the daemon; mount a folder that neither holds nor is inside it%s", p, prot, privilegedHint)
		}
	}
	for _, a := range allowed {
		ra := resolvePath(a)
		if within(rp, ra) {
			rel, err := filepath.Rel(ra, rp)
			return ra, rel, err
		}
	}
	list := strings.Join(allowed, ", ")
	if list == "" {
		list = "none"
	}
	return "", "", fmt.Errorf("%s is outside the directories allowed for hostPath volumes (%s); allow it with --allow-host-path=%s or run localjobs with --pod-security=privileged",
		p, list, filepath.Dir(filepath.Clean(p)))
}
