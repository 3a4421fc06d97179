package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// damage is one way to damage a copy of a good localjobs.db.
type damage struct {
	name string
	do   func(db string) error
	undo func(db string) // before the copy is removed
}

var damages = []damage{
	{"0-byte", func(db string) error { return os.Truncate(db, 0) }, nil},
	{"truncated", func(db string) error {
		fi, err := os.Stat(db)
		if err != nil {
			return err
		}
		return os.Truncate(db, fi.Size()/2)
	}, nil},
	{"overwritten", func(db string) error {
		f, err := os.OpenFile(db, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, _ := f.Stat()
		junk := make([]byte, 16<<10)
		for i := range junk {
			junk[i] = byte(i*7 + 13)
		}
		_, err = f.WriteAt(junk, fi.Size()/3&^4095)
		return err
	}, nil},
	// chmod means nothing to root: the immutable attribute makes the file
	// read-only for everyone.
	{"read-only", func(db string) error {
		if out, err := exec.Command("chattr", "+i", db).CombinedOutput(); err != nil {
			return fmt.Errorf("chattr +i: %v %s", err, out)
		}
		return nil
	}, func(db string) { exec.Command("chattr", "-i", db).Run() }},
}

// damagedDB: a state dir with a real history, its database damaged four
// ways. `up` and `get pods` must each fail with a clear error (no panic,
// naming the file or the damage) and leave the file as it was.
func damagedDB(ctx context.Context, e *env) outcome {
	t0 := time.Now()
	o := outcome{Scenario: "damaged localjobs.db (0-byte, truncated, overwritten, read-only)", Pass: true}
	good, specs := filepath.Join(e.tmp, "g"), filepath.Join(e.tmp, "gs")
	os.MkdirAll(specs, 0o755)
	os.WriteFile(filepath.Join(specs, "job.yaml"), []byte(engineJob("hist", e.image, 2)), 0o644)
	d, err := startUp(e, good, specs)
	if err == nil {
		err = d.dial(ctx, good, 30*time.Second)
	}
	if err == nil {
		err = waitJob(ctx, d, "hist", 2*time.Minute)
	}
	if d != nil {
		d.stop()
	}
	removeOurs(e, good, "")
	if err != nil {
		o.fail("a state dir to damage: %v", err)
		return done(o, t0)
	}
	empty := filepath.Join(e.tmp, "empty")
	os.MkdirAll(empty, 0o755)
	for _, dm := range damages {
		dir := filepath.Join(e.tmp, "db-"+dm.name)
		if err := copyFile(filepath.Join(good, "localjobs.db"), filepath.Join(dir, "localjobs.db")); err != nil {
			o.fail("%s: %v", dm.name, err)
			continue
		}
		db := filepath.Join(dir, "localjobs.db")
		if err := dm.do(db); err != nil {
			o.fail("%s: %v", dm.name, err)
			continue
		}
		before := sum(db)
		for _, args := range [][]string{{"up", empty}, {"get", "pods"}} {
			out, code := runFor(ctx, e, dir, 20*time.Second, args...)
			verdict := clearError(out, code)
			if args[0] == "get" && code == 0 && !goPanic(out) {
				// A reader that finds what it needs (a read-only file is
				// readable; a damaged page it never visits) may answer.
				verdict = ""
			}
			logf("db %s: localjobs %s: exit %d: %s", dm.name, args[0], code, tail(strings.TrimSpace(out), 400))
			if verdict != "" {
				o.fail("%s db, %s: %s", dm.name, args[0], verdict)
			}
		}
		if after := sum(db); after != before {
			o.fail("%s db: the file was changed (sha256 %s → %s)", dm.name, before[:12], after[:12])
		}
		if dm.undo != nil {
			dm.undo(db)
		}
	}
	return done(o, t0)
}

// clearError is "" when a run on a damaged database ended as it should:
// a non-zero exit, no panic, a message naming the database or the damage.
func clearError(out string, code int) string {
	low := strings.ToLower(out)
	switch {
	case code == 0:
		return "exit 0 on a damaged database"
	case code == -1:
		return "still running after 20 s (killed)"
	case goPanic(out):
		return "panicked: " + firstLine(out)
	case !strings.Contains(low, "localjobs.db") && !strings.Contains(low, "corrupt") && !strings.Contains(low, "damaged") && !strings.Contains(low, "read-only"):
		return "unclear error: " + firstLine(out)
	}
	return ""
}

// goPanic reports whether out holds a Go panic's trace (a panic recovered
// into an error message is not one).
func goPanic(out string) bool { return panicTrace.MatchString(out) }

var panicTrace = regexp.MustCompile(`(?m)^(panic: |goroutine \d+ \[)`)

// runFor runs localjobs on stateDir for at most d; the exit code is -1 if
// it was still running.
func runFor(ctx context.Context, e *env, stateDir string, d time.Duration, args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"--state-dir", stateDir}, args...)...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), -1
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		return string(out) + err.Error(), 1
	}
	return string(out), 0
}

// twoDaemons: two `up` started at once on one fresh state dir, five
// times: exactly one must run, the other exit with an error naming the
// holder's PID.
func twoDaemons(ctx context.Context, e *env) outcome {
	t0 := time.Now()
	o := outcome{Scenario: "two daemons racing for one state dir (×5)", Pass: true}
	empty := filepath.Join(e.tmp, "empty2")
	os.MkdirAll(empty, 0o755)
	for i := range 5 {
		dir := filepath.Join(e.tmp, fmt.Sprintf("two%d", i))
		a, errA := startUp(e, dir, empty)
		b, errB := startUp(e, dir, empty)
		if errA != nil || errB != nil {
			o.fail("start: %v %v", errA, errB)
			return done(o, t0)
		}
		time.Sleep(5 * time.Second)
		var winners, losers []*daemon
		for _, d := range []*daemon{a, b} {
			if d.alive() {
				winners = append(winners, d)
			} else {
				losers = append(losers, d)
			}
		}
		if len(winners) != 1 {
			o.fail("race %d: %d daemons running after 5 s, want 1", i+1, len(winners))
		} else {
			w, l := winners[0], losers[0]
			if err := w.dial(ctx, dir, 10*time.Second); err != nil {
				o.fail("race %d: the winner does not answer: %v", i+1, err)
			}
			if l.err == nil {
				o.fail("race %d: the loser exited with status 0", i+1)
			}
			pid := strconv.Itoa(w.cmd.Process.Pid)
			if !strings.Contains(l.out.String(), pid) {
				o.fail("race %d: the loser does not name the holder (pid %s): %s", i+1, pid, firstLine(l.out.String()))
			}
			logf("race %d: loser said: %s", i+1, firstLine(l.out.String()))
		}
		for _, d := range []*daemon{a, b} {
			d.stop()
		}
	}
	return done(o, t0)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}

func sum(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}
