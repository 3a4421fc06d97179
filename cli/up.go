package cli

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// testRuntime, when set (by the CLI script tests), replaces Docker.
var testRuntime runner.Runtime

// up runs the daemon in the foreground and keeps the given folders'
// manifests applied: a file change re-applies that file, a removed file
// deletes what it had applied, one broken file does not stop the others.
func (e *env) up(ctx context.Context, args []string) error {
	fs := e.flags("up", "up [DIR|FILE...] [--socket-group G]")
	group := fs.String("socket-group", "", "make the control socket 0660 owned by this group")
	poll := fs.Duration("poll", 500*time.Millisecond, "how often to look for file changes")
	df := addDaemonFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"specs"}
	}
	for i, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return &usageError{msg: fmt.Sprintf("%s: no such file or directory", p), hint: "localjobs up specs/"}
		}
		paths[i] = abs
	}
	dir, err := daemon.StateDir(e.stateDir)
	if err != nil {
		return err
	}
	out := &syncWriter{w: e.stdout}
	var sub *runner.Subscription
	w := &specWatcher{paths: paths, out: out, errw: e.stderr, files: map[string]fileState{}}
	cfg := daemon.Config{
		StateDir: dir, SocketGroup: *group, Version: Version, OnLog: (&runPrinter{out: out}).logLine, Runtime: e.runtime,
		BeforeServe: func(d *daemon.Daemon) {
			// Subscribe before the first apply so no transition is missed.
			sub = d.Controller.Subscribe()
			w.d = d
			w.scan(ctx, true)
		},
	}
	if err := df.apply(&cfg, paths); err != nil {
		return err
	}
	d, err := daemon.Start(ctx, cfg)
	if err != nil {
		return err
	}
	st := d.Restored
	fmt.Fprintf(e.stderr, "localjobs %s: state %s, socket %s\n", Version, dir, d.Socket)
	fmt.Fprintln(e.stderr, socketBanner(d, dir))
	fmt.Fprintln(e.stderr, hostPathBanner(&cfg))
	if st.Pods+st.Jobs > 0 {
		fmt.Fprintf(e.stderr, "resumed %d pods and %d jobs in %s (%d containers adopted, %d started, %d created, %d exited while down, %d vanished)\n",
			st.Pods, st.Jobs, d.RestoreTime.Round(time.Millisecond), st.Adopted, st.Started, st.Recreated, st.ExitedWhileDown, st.Vanished)
	}

	// Print pod status transitions, compose-style.
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer sub.Close()
		last := map[string]string{}
		for {
			ch, err := sub.Next(watchCtx)
			if err != nil {
				return
			}
			switch {
			case ch.Pod != nil && ch.Deleted:
				fmt.Fprintf(out, "pod/%s deleted\n", ch.Pod.Name)
				delete(last, ch.Pod.Name)
			case ch.Pod != nil:
				s := podRow(ch.Pod, time.Now()).Status
				if last[ch.Pod.Name] != s {
					last[ch.Pod.Name] = s
					fmt.Fprintf(out, "pod/%s %s\n", ch.Pod.Name, s)
				}
			case ch.Job != nil && ch.Deleted:
				fmt.Fprintf(out, "job.batch/%s deleted\n", ch.Job.Name)
			case ch.Job != nil && runner.IsJobFinished(ch.Job):
				k := "job/" + ch.Job.Name
				if s := jobStatus(ch.Job); last[k] != s {
					last[k] = s
					fmt.Fprintf(out, "job.batch/%s %s%s\n", ch.Job.Name, s, jobReason(ch.Job))
				}
			}
		}
	}()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	tick := time.NewTicker(*poll)
	defer tick.Stop()
loop:
	for {
		select {
		case <-sigs:
			break loop
		case <-ctx.Done():
			break loop
		case <-tick.C:
			w.scan(ctx, false)
		}
	}
	signal.Stop(sigs) // a second signal now ends the process at once
	n := d.Stop()
	stopWatch()
	wg.Wait()
	fmt.Fprintf(e.stderr, "localjobs stopped; %d containers left running (the next localjobs up adopts them)\n", n)
	return nil
}

// syncWriter serialises writes from the printer goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  interface{ Write([]byte) (int, error) }
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

type fileState struct {
	size    int64
	mtime   time.Time
	hash    [32]byte
	changed time.Time // when a change was first seen (debounce)
	pending bool
}

// specWatcher polls the up folders. A file is applied once it has been
// unchanged for debounce, so an editor's save-by-rename is one change.
type specWatcher struct {
	paths []string
	d     *daemon.Daemon
	out   *syncWriter
	errw  interface{ Write([]byte) (int, error) }
	files map[string]fileState
}

const debounce = 300 * time.Millisecond

func (w *specWatcher) list() map[string]os.FileInfo {
	found := map[string]os.FileInfo{}
	for _, p := range w.paths {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !st.IsDir() {
			found[p] = st
			continue
		}
		filepath.WalkDir(p, func(path string, de os.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if de.IsDir() {
				if path != p && strings.HasPrefix(de.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if isManifestName(de.Name()) {
				if fi, err := de.Info(); err == nil {
					found[path] = fi
				}
			}
			return nil
		})
	}
	return found
}

func (w *specWatcher) scan(ctx context.Context, initial bool) {
	now := time.Now()
	found := w.list()
	var apply []string
	for path, fi := range found {
		old, known := w.files[path]
		if known && old.size == fi.Size() && old.mtime.Equal(fi.ModTime()) && !old.pending {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		h := sha256.Sum256(data)
		switch {
		case known && h == old.hash && !old.pending:
			old.size, old.mtime = fi.Size(), fi.ModTime()
			w.files[path] = old
		case initial:
			w.files[path] = fileState{size: fi.Size(), mtime: fi.ModTime(), hash: h}
			apply = append(apply, path)
		case !old.pending || h != old.hash || old.size != fi.Size():
			w.files[path] = fileState{size: fi.Size(), mtime: fi.ModTime(), hash: h, changed: now, pending: true}
		case now.Sub(old.changed) >= debounce:
			old.pending = false
			w.files[path] = old
			apply = append(apply, path)
		}
	}
	sort.Strings(apply)
	for _, path := range apply {
		w.apply(ctx, path)
	}
	var gone []string
	for path := range w.files {
		if _, ok := found[path]; !ok {
			gone = append(gone, path)
		}
	}
	sort.Strings(gone)
	for _, path := range gone {
		delete(w.files, path)
		w.prune(ctx, path)
	}
}

func (w *specWatcher) apply(ctx context.Context, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(w.errw, "error: %s: %v\n", path, err)
		return
	}
	name := w.rel(path)
	resp, err := w.d.Apply(ctx, localapi.ApplyRequest{Files: []localapi.File{{Name: name, Data: data}}})
	var tl *localapi.TooLargeError
	switch {
	case errors.As(err, &tl):
		fmt.Fprintf(w.errw, "error: %v\n", err) // it names the file
		return
	case err != nil:
		fmt.Fprintf(w.errw, "error: %s: %v\n", name, err)
		return
	}
	printApply(w.out, w.errw, resp)
}

// prune deletes what a removed file had applied (only what this up applied).
func (w *specWatcher) prune(ctx context.Context, path string) {
	name := w.rel(path)
	all, err := w.d.DB.AppliedObjects(ctx)
	if err != nil {
		return
	}
	for _, a := range all {
		if a.File != name {
			continue
		}
		switch a.Kind {
		case manifest.KindJob:
			err = w.d.Controller.DeleteJob(ctx, a.Namespace, a.Name)
		case manifest.KindPod:
			err = w.d.Controller.DeletePod(ctx, a.Namespace, a.Name)
		case manifest.KindCronJob:
			err = w.d.DeleteCronJob(ctx, a.Namespace, a.Name)
		}
		if err != nil && !isNotFound(err) {
			fmt.Fprintf(w.errw, "error: deleting %s/%s: %v\n", strings.ToLower(a.Kind), a.Name, err)
			continue
		}
		w.d.DB.DeleteApplied(ctx, a.Kind, a.Namespace, a.Name)
		fmt.Fprintf(w.out, "%s/%s pruned (%s was removed)\n", resourceName(a.Kind), a.Name, name)
	}
}

// rel names a file as the user would: relative to the working directory
// when it is below it.
func (w *specWatcher) rel(path string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return path
}

func resourceName(kind string) string {
	switch kind {
	case manifest.KindJob, manifest.KindCronJob:
		return strings.ToLower(kind) + ".batch"
	}
	return strings.ToLower(kind)
}

func printApply(out, errw interface{ Write([]byte) (int, error) }, resp localapi.ApplyResponse) {
	for _, w := range resp.Warnings {
		fmt.Fprintf(errw, "Warning: %s\n", w)
	}
	for _, e := range resp.Errors {
		fmt.Fprintf(errw, "error: %s\n", e)
	}
	for _, r := range resp.Results {
		line := fmt.Sprintf("%s/%s %s", resourceName(r.Kind), r.Name, r.Action)
		if r.Notice != "" {
			line += " (" + r.Notice + ")"
		}
		fmt.Fprintln(out, line)
	}
}

// socketBanner says who may use the socket (DESIGN §9b): whoever may use it
// controls the daemon.
func socketBanner(d *daemon.Daemon, stateDir string) string {
	if d.SocketGroup != "" {
		return fmt.Sprintf("socket access: you, root and members of group %s (socket 0660; they reach it through %s, mode 0750)", d.SocketGroup, filepath.Dir(d.Socket))
	}
	where := "the state dir, mode 0700"
	if !localapi.InStateDir(stateDir) {
		where = filepath.Dir(d.Socket) + ", mode 0700 (the state dir's path is too long for a socket)"
	}
	return fmt.Sprintf("socket access: you and root only (socket 0600 in %s)", where)
}

// hostPathBanner says which host paths pods may mount.
func hostPathBanner(cfg *daemon.Config) string {
	switch {
	case cfg.PodSecurity == runner.PodSecurityPrivileged:
		return "host paths pods may mount: any (--pod-security=privileged)"
	case len(cfg.AllowHostPath) == 0:
		return "host paths pods may mount: none (allow a folder with --allow-host-path DIR)"
	}
	return "host paths pods may mount: " + strings.Join(cfg.AllowHostPath, ", ") + " and below (--allow-host-path)"
}
