package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// chattyLines is how many numbered lines the full-disk pod prints
// (about 2 MB of log: far more than the space left).
const chattyLines = 40000

// fullDisk: the state dir is a small tmpfs that fills up while a pod
// writes its log. Records must be kept (the pod's exit), the loss marked
// in the log, the daemon alive and saying so (a Warning event), a Job
// applied on the full disk must show a pod or say why, and all must
// recover once space is freed.
func fullDisk(ctx context.Context, e *env) outcome {
	t0 := time.Now()
	o := outcome{Scenario: "state dir on a full tmpfs", Pass: true}
	stateDir, specs := filepath.Join(e.tmp, "f"), filepath.Join(e.tmp, "fs")
	os.MkdirAll(stateDir, 0o700)
	os.MkdirAll(specs, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "ljchaos", stateDir).CombinedOutput(); err != nil {
		o.fail("mount tmpfs: %v %s", err, out)
		return done(o, t0)
	}
	defer func() {
		removeOurs(e, stateDir, "")
		if err := syscall.Unmount(stateDir, syscall.MNT_DETACH); err != nil {
			logf("umount %s: %v", stateDir, err)
		}
	}()
	d, err := startUp(e, stateDir, specs)
	if err == nil {
		err = d.dial(ctx, stateDir, 30*time.Second)
	}
	if err != nil {
		o.fail("start: %v", err)
		return done(o, t0)
	}
	defer func() {
		if err := d.stop(); err != nil {
			o.fail("stop: %v", err)
		}
	}()
	filler := filepath.Join(stateDir, "filler")
	if err := fill(filler, 64<<10); err != nil {
		o.fail("fill: %v", err)
		return done(o, t0)
	}
	write := func(name, script string) {
		os.WriteFile(filepath.Join(specs, name+".yaml"), []byte(fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: %s
        command: ["sh", "-c", %q]
`, name, e.image, script)), 0o644)
	}
	write("chatty", fmt.Sprintf("for n in $(seq 1 %d); do echo c $n; done", chattyLines))
	if err := waitJob(ctx, d, "chatty", 2*time.Minute); err != nil {
		o.fail("on a full disk: %v", err)
	}
	write("after", "for n in 1 2 3; do echo a $n; done")
	time.Sleep(10 * time.Second)
	if !d.alive() {
		o.fail("localjobs exited on a full disk: %s", tail(d.out.String(), 300))
		return done(o, t0)
	}
	diskEvidence(ctx, d.client, d.out.String(), &o)
	os.Remove(filler)
	if err := waitJob(ctx, d, "after", 60*time.Second); err != nil {
		o.fail("once space was freed, after.yaml (applied while full) did not run: %v", err)
	} else if r := checkJob(ctx, cliJob(e, stateDir), d.client, "after", 1, 3, func(_ *manifest.Pod) string { return "a" }); len(r.problems) > 0 {
		for _, p := range r.problems {
			o.fail("after freeing space: %s", p)
		}
	}
	logf("disk: localjobs printed:\n%s", tail(d.out.String(), 1500))
	return done(o, t0)
}

// diskEvidence: the chatty pod's record and log, a Warning event naming
// the full disk, and the Job applied on the full disk visible.
func diskEvidence(ctx context.Context, c *localapi.Client, out string, o *outcome) {
	pods, err := c.PodsOfJob(ctx, "default", "chatty")
	if err != nil || len(pods) != 1 {
		o.fail("chatty: %d pods (%v), want its one pod's record kept", len(pods), err)
	} else {
		p := pods[0]
		if p.Status.Phase != "Succeeded" {
			o.fail("chatty pod %s: phase %q, want its exit (Succeeded) recorded", p.Name, p.Status.Phase)
		}
		var b strings.Builder
		if err := c.Logs(ctx, &b, localapi.LogRequest{Namespace: "default", Pod: p.Name, Container: "main", TailLines: -1}); err != nil {
			o.fail("logs chatty: %v", err)
		}
		lc := checkLines(b.String(), "c", chattyLines)
		logf("disk: chatty log: %d lines up to %d, %s", strings.Count(b.String(), "\n"), lc.Max, lc)
		if len(lc.Lost) > 0 && lc.Markers == 0 {
			o.fail("chatty log: %d lines lost with no marker (log ends at line %d)", len(lc.Lost), lc.Max)
		}
		if len(lc.Doubled) > 0 {
			o.fail("chatty log: %d lines doubled (%s)", len(lc.Doubled), ranges(lc.Doubled))
		}
		if len(lc.Foreign) > 0 {
			o.fail("chatty log: a cut or foreign line %q", lc.Foreign[0])
		}
	}
	evs, err := c.Events(ctx, "default", "")
	if err != nil {
		o.fail("events: %v", err)
	}
	full := false
	for _, ev := range evs {
		if ev.Type == "Warning" && strings.Contains(strings.ToLower(ev.Message), "space") {
			full = true
		}
	}
	if !full {
		o.fail("no Warning event names the full disk")
	}
	j, err := c.Job(ctx, "default", "after")
	if err != nil {
		// Refused whole with an error on the daemon's output is fine.
		if !strings.Contains(out, "after") || !strings.Contains(out, "no space left") {
			o.fail("job applied on the full disk: %v, and localjobs said nothing", err)
		}
		return
	}
	ps, _ := c.PodsOfJob(ctx, "default", "after")
	said := false
	for _, ev := range evs {
		if ev.InvolvedObject.Name == "after" || strings.HasPrefix(ev.InvolvedObject.Name, "after-") {
			said = true
		}
	}
	if len(ps) == 0 && !said {
		o.fail("job applied on the full disk: active %d, no pod, no event", j.Status.Active)
	}
}

// fill writes a file that leaves about free bytes on its file system.
func fill(path string, free int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		return err
	}
	n := int64(st.Bavail)*st.Bsize - free
	if n <= 0 {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := f.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return f.Sync()
}
