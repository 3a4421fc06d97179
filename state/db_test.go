package state

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// mustOpen opens dir and closes it when the test ends.
func mustOpen(tb testing.TB, dir string, opts Options) *DB {
	tb.Helper()
	db, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open(%q, %+v): %v", dir, opts, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

func TestOpen_CreatesStateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "state")
	db := mustOpen(t, dir, Options{})
	if got := db.Dir(); got != dir {
		t.Errorf("Dir() = %q, want %q", got, dir)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{dir, 0o700 | os.ModeDir},
		{filepath.Join(dir, DBFile), 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode(); got != c.mode {
			t.Errorf("mode of %s = %v, want %v", c.path, got, c.mode)
		}
	}
	id := db.InstanceID()
	if _, err := hex.DecodeString(id); err != nil || len(id) != 16 {
		t.Errorf("InstanceID() = %q, want 16 hex characters", id)
	}
	if db.ReadOnly() {
		t.Error("ReadOnly() = true for a read-write open")
	}
}

func TestOpen_InstanceIDStableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := db.InstanceID()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{}, {ReadOnly: true}} {
		db, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := db.InstanceID(); got != first {
			t.Errorf("InstanceID() after reopen %+v = %q, want %q", opts, got, first)
		}
		db.Close()
	}
	other := mustOpen(t, t.TempDir(), Options{})
	if other.InstanceID() == first {
		t.Errorf("two state dirs share instance id %q", first)
	}
}

func TestOpen_ReadOnly(t *testing.T) {
	ctx := context.Background()
	t.Run("Missing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "none")
		_, err := Open(dir, Options{ReadOnly: true})
		if !errors.Is(err, ErrNoState) {
			t.Fatalf("Open read-only of a missing dir: err = %v, want ErrNoState", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("read-only Open created %s (stat err %v)", dir, err)
		}
	})
	t.Run("Closed", func(t *testing.T) {
		dir := t.TempDir()
		rw, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := rw.SavePod(ctx, testPod("default", "p", "uid-p", "", 0)); err != nil {
			t.Fatal(err)
		}
		rw.Close()

		// Two readers at once share the file.
		ro := mustOpen(t, dir, Options{ReadOnly: true})
		ro2 := mustOpen(t, dir, Options{ReadOnly: true})
		for _, db := range []*DB{ro, ro2} {
			if _, err := db.Pod(ctx, "default", "p"); err != nil {
				t.Errorf("Pod on read-only DB: %v", err)
			}
		}
		if err := ro.SavePod(ctx, testPod("default", "q", "uid-q", "", 0)); !errors.Is(err, ErrReadOnly) {
			t.Errorf("SavePod on read-only DB: err = %v, want ErrReadOnly", err)
		}
		if _, err := ro.OpenLog("default", "p", "uid-p", "c", 0); !errors.Is(err, ErrReadOnly) {
			t.Errorf("OpenLog on read-only DB: err = %v, want ErrReadOnly", err)
		}
	})
}

func TestOpen_SchemaTooNew(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	rewriteDB(t, dir, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion+1)))
	})

	for _, opts := range []Options{{}, {ReadOnly: true}} {
		_, err := Open(dir, opts)
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Errorf("Open(%+v) of a newer schema: err = %v, want ErrSchemaTooNew", opts, err)
		}
	}
}

func TestOpen_LockedBySecondOpener(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir, Options{})
	for _, opts := range []Options{{}, {ReadOnly: true}} {
		start := time.Now()
		db, err := Open(dir, opts)
		elapsed := time.Since(start)
		if err == nil {
			db.Close()
			t.Fatalf("second Open(%+v) succeeded while the DB is held", opts)
		}
		if !errors.Is(err, ErrLocked) {
			t.Errorf("second Open(%+v): err = %v, want ErrLocked", opts, err)
		}
		if elapsed > 10*time.Second { // the lock timeout is 1 s; this tells "fails" from "hangs"
			t.Errorf("second Open(%+v) took %v, want about 1s", opts, elapsed)
		}
	}
}

func TestOpen_BadLogCap(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{LogCap: 100}); err == nil {
		t.Error("Open with LogCap 100 succeeded, want an error")
	}
}

func TestDB_CanceledContext(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.SavePod(ctx, testPod("default", "p", "u", "", 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("SavePod with canceled ctx: err = %v, want context.Canceled", err)
	}
	if _, err := db.Pods(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Pods with canceled ctx: err = %v, want context.Canceled", err)
	}
}

// testPod returns a pod record created at second sec of a fixed day; a
// non-empty jobUID makes that Job its controller.
func testPod(ns, name, uid, jobUID string, sec int) *runner.PodRecord {
	p := &runner.PodRecord{
		Pod: manifest.Pod{
			TypeMeta: manifest.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: manifest.ObjectMeta{
				Name: name, Namespace: ns, UID: uid,
				CreationTimestamp: manifest.Time{Time: baseTime.Add(time.Duration(sec) * time.Second)},
				Labels:            map[string]string{"app": name},
			},
			Spec: manifest.PodSpec{
				RestartPolicy: manifest.RestartPolicyNever,
				Containers:    []manifest.Container{{Name: "main", Image: "busybox"}},
			},
			Status: manifest.PodStatus{Phase: manifest.PodPending},
		},
		Containers: []*runner.ContainerRecord{{
			Name: "main",
			Current: &runner.Run{
				Restart: 0, EngineName: "lj_x_" + name, ID: "abc", Step: runner.StepStarted,
				StartedAt: baseTime.Add(time.Duration(sec) * time.Second),
			},
		}},
	}
	if jobUID != "" {
		yes := true
		p.Pod.OwnerReferences = []manifest.OwnerReference{{
			APIVersion: "batch/v1", Kind: "Job", Name: "job-" + jobUID, UID: jobUID, Controller: &yes,
		}}
	}
	return p
}

var baseTime = time.Date(2025, 3, 30, 1, 2, 3, 0, time.UTC)

// rewriteDB changes the closed database of dir behind Open's back, as
// another release or a damaged disk would have left it.
func rewriteDB(tb testing.TB, dir string, fn func(tx *bolt.Tx) error) {
	tb.Helper()
	b, err := bolt.Open(filepath.Join(dir, DBFile), 0o600, nil)
	if err != nil {
		tb.Fatal(err)
	}
	err = b.Update(fn)
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
}
