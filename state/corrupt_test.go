package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// seedDB makes a state dir holding some records and returns its dir and
// the database file's bytes.
func seedDB(t *testing.T) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var recs []*runner.PodRecord
	for i := range 300 {
		recs = append(recs, &runner.PodRecord{Pod: manifest.Pod{ObjectMeta: manifest.ObjectMeta{
			Name: "pod-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Namespace: "default", UID: "u"}}})
	}
	if err := db.SavePods(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	return dir, b
}

// TestDamagedDatabase: an empty, truncated or partly overwritten database
// is refused with ErrCorrupt and a hint, by the daemon (read-write) and by
// the read verbs (read-only), without a panic and without a byte of the
// file changing.
func TestDamagedDatabase(t *testing.T) {
	_, good := seedDB(t)
	garbage := bytes.Repeat([]byte{0xa5}, 4096)
	tests := []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"truncated inside the meta pages", func(b []byte) []byte { return b[:5000] }},
		{"data pages overwritten", func(b []byte) []byte {
			c := bytes.Clone(b)
			copy(c[len(c)/2:], garbage)
			return c
		}},
		{"both meta pages overwritten", func(b []byte) []byte {
			c := bytes.Clone(b)
			copy(c[:8192], bytes.Repeat(garbage, 2))
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, DBFile)
			damaged := tt.damage(good)
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, ro := range []bool{false, true} {
				db, err := Open(dir, Options{ReadOnly: ro})
				if err == nil {
					// bbolt may only find the damage when it reads the
					// damaged pages: then the read is the error.
					_, err = db.Pods(context.Background(), "")
					db.Close()
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("read-only %v: err %v, want ErrCorrupt", ro, err)
					continue
				}
				if !bytes.Contains([]byte(err.Error()), []byte("move it aside")) {
					t.Errorf("read-only %v: error %q has no hint", ro, err)
				}
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after, damaged) {
				t.Errorf("the damaged file was written to (%d bytes → %d)", len(damaged), len(after))
			}
		})
	}
}

// TestAbsentDatabaseIsNew: only an absent file starts a new state.
func TestAbsentDatabaseIsNew(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.InstanceID() == "" {
		t.Error("no instance id")
	}
}

// TestAddEventFolds: a repeat of an object's event within the fold window
// raises the count of the stored one; another message, or a repeat after
// the window, is an event of its own.
func TestAddEventFolds(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	ev := func(reason, msg string, at time.Time) *manifest.Event {
		return &manifest.Event{ObjectMeta: manifest.ObjectMeta{Name: "p." + at.String(), Namespace: "default"},
			InvolvedObject: manifest.ObjectReference{Kind: "Pod", Name: "p", Namespace: "default", UID: "pod-uid"},
			Type:           "Warning", Reason: reason, Message: msg, Count: 1,
			FirstTimestamp: manifest.Time{Time: at}, LastTimestamp: manifest.Time{Time: at}}
	}
	for i, e := range []*manifest.Event{
		ev("Failed", "Error: ErrImagePull", t0),
		ev("BackOff", `Back-off pulling image "nope"`, t0.Add(time.Second)),
		ev("Failed", "Error: ErrImagePull", t0.Add(20*time.Second)),
		ev("BackOff", `Back-off pulling image "nope"`, t0.Add(21*time.Second)),
		ev("Failed", "Error: ErrImagePull", t0.Add(60*time.Second)),
		ev("Failed", "Error: ErrImagePull", t0.Add(60*time.Second+runner.EventFoldWindow+time.Second)),
	} {
		if err := db.AddEvent(ctx, e); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	evs, err := db.Events(ctx, "default", "pod-uid")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s x%d %s..%s", e.Reason, e.Count, e.FirstTimestamp.Format("15:04:05"), e.LastTimestamp.Format("15:04:05")))
	}
	want := []string{"Failed x3 09:00:00..09:01:00", "BackOff x2 09:00:01..09:00:21", "Failed x1 09:11:01..09:11:01"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDamagedRunHistory: the run-history reads, like every other read,
// turn a damaged page into ErrCorrupt rather than a panic.
func TestDamagedRunHistory(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 300 {
		r := testRun("default", fmt.Sprintf("job-%03d", i), "", baseTime.Add(time.Duration(i)*time.Second), "Failed")
		r.Message = strings.Repeat("m", 200)
		if _, err := db.RecordRun(ctx, r, nil, history.Retention{Limit: 1000}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DBFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the header of every page holding a run record.
	for off := 8192; off+4096 <= len(b); off += 4096 {
		if bytes.Contains(b[off:off+4096], []byte(`"job":"job-`)) {
			copy(b[off:off+16], bytes.Repeat([]byte{0xa5}, 16))
		}
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err) // a read-only open reads no run page
	}
	defer ro.Close()
	if _, err := ro.Runs(ctx, history.Query{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Runs: %v, want ErrCorrupt", err)
	}
}
