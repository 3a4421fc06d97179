package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
)

// Pod security levels and the default pod cap (the kubelet's --max-pods).
const (
	podSecurityBaseline   = "baseline"
	podSecurityPrivileged = "privileged"
	defaultMaxPods        = 110
)

// daemonFlags are the flags shared by the verbs that run a daemon (up, run).
type daemonFlags struct {
	fs            *pflag.FlagSet
	podSecurity   string
	allowHostPath []string
	maxPods       int
	logLevel      string
	logFormat     string
	logTo         io.Writer
	keepExited    bool
}

// addDaemonFlags adds the daemon flags to fs; the daemon logs to logTo
// (the verb's stderr), from logLevel up unless --log-level says otherwise.
func addDaemonFlags(fs *pflag.FlagSet, logTo io.Writer, logLevel string) *daemonFlags {
	f := &daemonFlags{fs: fs, logTo: logTo}
	fs.StringVar(&f.podSecurity, "pod-security", podSecurityBaseline,
		"Pod Security level: baseline refuses privileged pods, host namespaces, added capabilities and hostPath outside --allow-host-path; privileged allows them")
	fs.StringArrayVar(&f.allowHostPath, "allow-host-path", nil,
		"directory hostPath volumes may use under baseline (repeatable; default: the manifests' folders and your home, never root's home)")
	fs.IntVar(&f.maxPods, "max-pods", defaultMaxPods, "pods that run at once; more wait Pending/Unschedulable")
	fs.StringVar(&f.logLevel, "log-level", logLevel, "the daemon's own log on stderr: debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "the daemon's own log format: text (key=value) or json (one object a line)")
	fs.BoolVar(&f.keepExited, "keep-exited", false,
		"keep exited containers in the engine for debugging (by default they are removed once their exit and logs are recorded)")
	return f
}

// logger is the daemon's log of the flags: log/slog on the verb's stderr.
func (f *daemonFlags) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--log-level=%s: want debug, info, warn or error", f.logLevel), hint: "--log-level=info"}
	}
	o := &slog.HandlerOptions{Level: level}
	switch f.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(f.logTo, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(f.logTo, o)), nil
	}
	return nil, &usageError{msg: fmt.Sprintf("--log-format=%s: want text or json", f.logFormat), hint: "--log-format=json"}
}

// options are the daemon settings of the flags; manifestPaths are the
// files or folders the user named, whose folders are allowed for hostPath
// by default.
func (f *daemonFlags) options(manifestPaths []string) (DaemonOptions, error) {
	switch f.podSecurity {
	case podSecurityBaseline, podSecurityPrivileged:
	default:
		return DaemonOptions{}, &usageError{msg: fmt.Sprintf("--pod-security=%s: want baseline or privileged", f.podSecurity), hint: "--pod-security=privileged"}
	}
	if f.maxPods < 1 {
		return DaemonOptions{}, &usageError{msg: "--max-pods must be at least 1", hint: "--max-pods=110"}
	}
	log, err := f.logger()
	if err != nil {
		return DaemonOptions{}, err
	}
	o := DaemonOptions{PodSecurity: f.podSecurity, MaxPods: f.maxPods, Log: log, KeepExited: f.keepExited}
	for _, p := range f.allowHostPath {
		abs, err := filepath.Abs(p)
		if err != nil {
			return DaemonOptions{}, err
		}
		o.AllowHostPath = append(o.AllowHostPath, abs)
	}
	// Unless told: the folders of the manifests (and the user's home, never
	// root's; the daemon decides).
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
		o.ManifestDirs = append(o.ManifestDirs, abs)
	}
	return o, nil
}
