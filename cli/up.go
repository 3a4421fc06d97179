package cli

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/localjobs/localjobs/kubectl"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// up runs the daemon in the foreground and keeps the given folders'
// manifests applied: a file change re-applies that file, a removed file
// deletes what it had applied (package apply, after a settle time), one
// broken file does not stop the others. Everything it shows comes through
// the daemon's API, as any client's would.
func (e *env) up(ctx context.Context, args []string) error {
	fs := e.flags("up", "up [DIR|FILE...] [--socket-group G] [--ui-addr ADDR]")
	group := fs.String("socket-group", "", "make the control socket 0660 owned by this group")
	poll := fs.Duration("poll", 500*time.Millisecond, "how often to look for file changes")
	uiAddr := fs.String("ui-addr", "", "serve the read-only dashboard on this address (:8089 = 127.0.0.1:8089; a non-loopback IP exposes it, logs included, to whoever reaches it); off by default")
	df := addDaemonFlags(fs, e.stderr, "info")
	of := addObserveFlags(fs)
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
	o, err := df.options(paths)
	if err != nil {
		return err
	}
	if err := of.apply(&o); err != nil {
		return err
	}
	if o.StateDir, err = localapi.StateDir(e.stateDir); err != nil {
		return err
	}
	o.SocketGroup = *group
	o.UIAddr = *uiAddr
	if e.starter == nil {
		return errors.New("this localjobs cannot start a daemon")
	}
	d, err := e.starter.Start(ctx, o)
	if err != nil {
		return err
	}
	c := d.Client()
	fmt.Fprintf(e.stderr, "localjobs %s: state %s, socket %s\n", Version, o.StateDir, d.SocketPath())
	for _, l := range d.Summary() {
		fmt.Fprintln(e.stderr, l)
	}

	// Print pod transitions and output, compose-style, from the daemon's
	// watch (opened before the first apply, so nothing is missed).
	out := &syncWriter{w: e.stdout}
	bg := context.WithoutCancel(ctx)
	stream, err := c.Watch(bg, "", "pods", "jobs", "logs")
	if err != nil {
		d.Stop()
		return err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		printUp(stream, &runPrinter{out: out, statusLines: true}, out, e.stderr)
	}()

	// Scans complete even when a signal ends up meanwhile.
	w := &specWatcher{paths: paths, c: c, out: out, errw: e.stderr, files: map[string]fileState{}}
	w.scan(bg, true)
	// Once the folders are applied: other clients get in, and CronJobs
	// (those just applied too) get their run-on-start run.
	d.Open()
	d.StartCronJobs()
	fmt.Fprintf(e.stderr, "localjobs is up; in another terminal: %s get pods (Ctrl-C here stops it)\n", e.selfCommand())

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
			w.scan(bg, false)
		}
	}
	signal.Stop(sigs) // a second signal now ends the process at once
	n, err := d.Stop()
	stream.Close()
	wg.Wait()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "localjobs stopped; %d %s left running (the next localjobs up adopts them)\n", n, plural(n, "container", "containers"))
	return nil
}

// selfCommand is how to run this localjobs again, from another terminal:
// the program as it was started (./localjobs under make up), with
// --state-dir when one was given.
func (e *env) selfCommand() string {
	cmd := "localjobs"
	if len(os.Args) > 0 && strings.Contains(os.Args[0], "/") && !strings.HasSuffix(os.Args[0], ".test") {
		cmd = os.Args[0]
		if !filepath.IsAbs(cmd) && !strings.HasPrefix(cmd, ".") {
			cmd = "./" + cmd
		}
	}
	if e.stateDir != "" {
		cmd += " --state-dir " + e.stateDir
	}
	return cmd
}

// printUp prints what the daemon's watch shows: pod rows and output (as
// run does, for every pod), Jobs that finish, and deletions.
func printUp(stream *localapi.WatchStream, p *runPrinter, out, errw io.Writer) {
	defer p.flush()
	lastJob := map[string]string{}
	for {
		ev, err := stream.Next()
		if errors.Is(err, localapi.ErrWatchExpired) {
			fmt.Fprintln(errw, "localjobs: the output fell behind and some of it was skipped")
			return
		}
		if err != nil {
			return
		}
		if ev.Type == localapi.WatchLog {
			var l localapi.LogLine
			if decodeObject(ev, &l) {
				p.logLine(&l)
			}
			continue
		}
		var k struct {
			Kind     string
			Metadata manifest.ObjectMeta
		}
		if !decodeObject(ev, &k) {
			continue
		}
		switch {
		case ev.Type == localapi.WatchDeleted && k.Kind == manifest.KindJob:
			fmt.Fprintf(out, "job.batch/%s deleted\n", k.Metadata.Name)
			delete(lastJob, k.Metadata.Name)
		case ev.Type == localapi.WatchDeleted:
			fmt.Fprintf(out, "pod/%s deleted\n", k.Metadata.Name)
			p.podDeleted(k.Metadata.Name)
		case k.Kind == manifest.KindPod:
			var pod manifest.Pod
			if decodeObject(ev, &pod) {
				p.podChanged(&pod)
			}
		case k.Kind == manifest.KindJob:
			var j manifest.Job
			if decodeObject(ev, &j) && jobFinished(&j) {
				if s := kubectl.JobStatus(&j); lastJob[j.Name] != s {
					lastJob[j.Name] = s
					fmt.Fprintf(out, "job.batch/%s %s%s\n", j.Name, s, jobReason(&j))
				}
			}
		}
	}
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
	retries int // applies in a row that failed for no fault of the file's
}

// backingOff reports whether the file waits out the back-off of a failed
// apply (retryLater): unless it changes, there is nothing to read until then.
func (st fileState) backingOff(now time.Time) bool {
	return st.pending && st.retries > 0 && now.Sub(st.changed) < debounce
}

// specWatcher polls the up folders. A file is applied once it has been
// unchanged for debounce, so an editor's save-by-rename is one change.
type specWatcher struct {
	paths []string
	c     *localapi.Client
	out   *syncWriter
	errw  interface{ Write([]byte) (int, error) }
	files map[string]fileState
	// goneUntil: a file went away, so the daemon is asked to sync (prune
	// after its settle time) on every scan until then; lastSync is the
	// last time it was asked at all.
	goneUntil, lastSync time.Time
}

// Between changes the daemon is asked to sync now and then (objects whose
// source lies elsewhere may have lost their file), every scan for a while
// after a file of ours went away (pruning waits for the settle time).
const (
	syncEvery = 10 * time.Second
	syncAfter = 10 * time.Second
)

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
	read := map[string][]byte{} // what is applied is what was hashed
	for path, fi := range found {
		old, known := w.files[path]
		if known && old.size == fi.Size() && old.mtime.Equal(fi.ModTime()) && (!old.pending || old.backingOff(now)) {
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
			apply, read[path] = append(apply, path), data
		case !old.pending || h != old.hash || old.size != fi.Size():
			w.files[path] = fileState{size: fi.Size(), mtime: fi.ModTime(), hash: h, changed: now, pending: true}
		case now.Sub(old.changed) >= debounce:
			old.pending = false
			w.files[path] = old
			apply, read[path] = append(apply, path), data
		}
	}
	for path := range w.files {
		if _, ok := found[path]; !ok {
			// Gone: package apply prunes what it applied once it has
			// been gone for the settle time; if it comes back it is a
			// change like any other.
			delete(w.files, path)
			w.goneUntil = now.Add(syncAfter)
		}
	}
	// An idle up asks the daemon nothing most of the time.
	if len(apply) == 0 && !initial && now.After(w.goneUntil) && now.Sub(w.lastSync) < syncEvery {
		return
	}
	w.lastSync = now
	sort.Strings(apply)
	req := localapi.ApplyRequest{Source: "up", Sync: true, Roots: w.paths}
	for _, path := range apply {
		req.Files = append(req.Files, localapi.File{Name: w.rel(path), Path: path, Data: read[path]})
	}
	resp, err := w.c.Apply(ctx, req)
	if err != nil {
		fmt.Fprintf(w.errw, "error: %v\n", err)
		for _, f := range req.Files {
			resp.Retry = append(resp.Retry, f.Name)
		}
		w.retryLater(apply, resp.Retry, now)
		return
	}
	if initial {
		w.announce(resp.Elsewhere)
	}
	printApply(w.out, w.errw, resp, w.rel)
	w.retryLater(apply, resp.Retry, now)
}

// Back-off of a file to apply again: it failed for a reason other than its
// content (a full disk, a daemon error), so waiting for it to change would
// leave it unapplied for good.
const (
	retryFirst = 5 * time.Second
	retryMax   = 5 * time.Minute
)

// retryLater marks the applied paths whose names the daemon returned in
// Retry to be applied again after their back-off, as if they had changed;
// the others start their back-off afresh.
func (w *specWatcher) retryLater(applied, retry []string, now time.Time) {
	for _, path := range applied {
		st, ok := w.files[path]
		if !ok {
			continue
		}
		if !slices.Contains(retry, w.rel(path)) {
			st.retries = 0
			w.files[path] = st
			continue
		}
		delay := retryMax
		if st.retries < 6 {
			delay = min(retryFirst<<st.retries, retryMax)
		}
		st.retries++
		st.pending, st.changed = true, now.Add(delay-debounce)
		w.files[path] = st
	}
}

// announce names, at start, what the state dir runs from elsewhere (another
// folder's up, apply -f) and how to stop it.
func (w *specWatcher) announce(recs []localapi.AppliedRecord) {
	if len(recs) == 0 {
		return
	}
	fmt.Fprintf(w.errw, "this state dir also runs %d object(s) from elsewhere:\n", len(recs))
	for _, r := range recs {
		from := "stdin"
		if r.File != "" {
			from = w.rel(r.File)
		}
		how := "localjobs delete " + strings.ToLower(r.Kind) + " " + r.Name
		if r.Source == "up" {
			how = "remove " + from + ", or " + how
		}
		fmt.Fprintf(w.errw, "  %s/%s from %s (stop it: %s)\n", resourceName(r.Kind), r.Name, from, how)
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

func printApply(out, errw interface{ Write([]byte) (int, error) }, resp localapi.ApplyResponse, rel func(string) string) {
	for _, w := range resp.Warnings {
		fmt.Fprintf(errw, "Warning: %s\n", w)
	}
	for _, e := range resp.Errors {
		fmt.Fprintf(errw, "error: %s\n", e)
	}
	for _, r := range resp.Results {
		line := fmt.Sprintf("%s/%s %s", resourceName(r.Kind), r.Name, r.Action)
		if r.Action == "pruned" && rel != nil {
			line += fmt.Sprintf(" (%s was removed)", rel(r.File))
		}
		if r.Notice != "" {
			line += " (" + r.Notice + ")"
		}
		fmt.Fprintln(out, line)
	}
}
