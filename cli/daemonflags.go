package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/runner"
)

// daemonFlags are the flags shared by the verbs that run a daemon (up, run).
type daemonFlags struct {
	podSecurity   string
	allowHostPath []string
	maxPods       int
}

func addDaemonFlags(fs *pflag.FlagSet) *daemonFlags {
	f := &daemonFlags{}
	fs.StringVar(&f.podSecurity, "pod-security", runner.PodSecurityBaseline,
		"Pod Security level: baseline refuses privileged pods, host namespaces, added capabilities and hostPath outside --allow-host-path; privileged allows them")
	fs.StringArrayVar(&f.allowHostPath, "allow-host-path", nil,
		"directory hostPath volumes may use under baseline (repeatable; default: the manifests' folders and your home, never root's home)")
	fs.IntVar(&f.maxPods, "max-pods", runner.DefaultMaxPods, "pods that run at once; more wait Pending/Unschedulable")
	return f
}

// apply fills cfg; manifestPaths are the files or folders the user named,
// whose folders are allowed for hostPath by default.
func (f *daemonFlags) apply(cfg *daemon.Config, manifestPaths []string) error {
	switch f.podSecurity {
	case runner.PodSecurityBaseline, runner.PodSecurityPrivileged:
	default:
		return &usageError{msg: fmt.Sprintf("--pod-security=%s: want baseline or privileged", f.podSecurity), hint: "--pod-security=privileged"}
	}
	if f.maxPods < 1 {
		return &usageError{msg: "--max-pods must be at least 1", hint: "--max-pods=110"}
	}
	cfg.PodSecurity, cfg.MaxPods = f.podSecurity, f.maxPods
	allow := f.allowHostPath
	if len(allow) == 0 {
		var folders []string
		for _, p := range manifestPaths {
			if p == "-" {
				continue
			}
			abs, err := filepath.Abs(p)
			if err != nil {
				continue
			}
			if st, err := os.Stat(abs); err == nil && !st.IsDir() {
				abs = filepath.Dir(abs)
			}
			folders = append(folders, abs)
		}
		allow = runner.DefaultAllowHostPath(folders...)
	}
	for i, p := range allow {
		if abs, err := filepath.Abs(p); err == nil {
			allow[i] = abs
		}
	}
	cfg.AllowHostPath = allow
	return nil
}
