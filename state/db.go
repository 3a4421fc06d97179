// Package state is localjobs' durable state: a bbolt database of pods, jobs
// and events (with a schema version and an instance id), and the CRI-format
// container log files next to it. It is the only package that imports bbolt.
//
// Layout of the state dir (DESIGN §5):
//
//	localjobs.db                                   bbolt, 0600
//	logs/<ns>_<pod>_<uid>/<container>/<restart>.log   CRI log lines, 0600
//
// Buckets of localjobs.db:
//
//	meta       schema -> decimal schema version; instance -> 16 hex chars
//	pods       ns/name -> JSON runner.PodRecord
//	podsByJob  jobUID/ns/name -> empty (index kept by SavePod/DeletePod)
//	jobs       ns/name -> JSON manifest.Job
//	cronjobs   ns/name -> JSON manifest.CronJob (spec and status)
//	events     uid/<8-byte big-endian sequence> -> JSON manifest.Event
//
// Run history and the webhook outbox (history.go; issue #13). <t> is a
// finish time as 8 bytes of big-endian Unix nanoseconds, so prefix scans
// list oldest first; every run is filed under job/<its name>, and a
// CronJob's runs under cronjob/<its name> too:
//
//	runs           jobUID -> JSON history.Run (≤ 20 attempts, ≤ 2 KiB log tail each)
//	runsByOwner    ns/job/name/<t>jobUID, ns/cronjob/name/<t>jobUID -> empty
//	runsByTime     <t>jobUID -> empty (age pruning, newest-first listing)
//	runsLast       ns/cronjob -> JSON history.Last (newest success and failure)
//	notifications  jobUID -> JSON history.Notification (Pending, Sent, Failed)
//
// Retention (history.Retention): per owner the newest Limit runs, none older
// than MaxAge; a run whose Job is still stored or whose notification is
// pending is never pruned, which makes recording exactly-once. These buckets
// came without a schema change: a read-write open creates them, and a
// read-only open of an older database reads them as empty.
//
// Every Save commits (and fsyncs) before it returns, so the controllers can
// record each step before they take it.
package state

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// SchemaVersion is the schema this build writes. Open migrates older
// databases up to it and refuses newer ones.
const SchemaVersion = 2

// minReadSchema is the oldest schema a read-only Open reads as it is (a
// CLI with no daemon must not need one to migrate first): schema 1 lacks
// only the indexes, and their readers scan without them.
const minReadSchema = 1

// DBFile is the name of the database file inside the state dir.
const DBFile = "localjobs.db"

// DefaultLogCap is the size limit of one container log file (DESIGN §5).
const DefaultLogCap = 10 << 20

// MinLogCap is the smallest LogCap Open accepts; below it the head, the
// marker line and the tail no longer fit.
const MinLogCap = 1 << 10

// MaxEventsPerObject is how many events are kept per involved object; adding
// one more drops the oldest.
const MaxEventsPerObject = 200

var (
	// ErrLocked is returned by Open when another process (normally a running
	// daemon) holds the database and the lock was not released within a
	// second.
	ErrLocked = errors.New("state database is locked by another localjobs process")

	// ErrNoState is returned by Open in read-only mode when the state dir has
	// no database yet (no daemon has ever run with it).
	ErrNoState = errors.New("no localjobs state yet")

	// ErrSchemaTooNew is returned by Open when the database was written by a
	// newer localjobs with a schema this build does not know.
	ErrSchemaTooNew = errors.New("state database schema is newer than this localjobs supports")

	// ErrReadOnly is returned by methods that write when the DB was opened
	// with Options.ReadOnly.
	ErrReadOnly = errors.New("state opened read-only")

	// ErrCorrupt is returned (wrapped, with what was found and what to do)
	// by Open and every method when the database file is damaged: empty,
	// truncated, or with pages bbolt cannot read. A damaged file is never
	// written to.
	ErrCorrupt = errors.New("corrupt state database")
)

// corruptHint says what to do with a damaged database.
const corruptHint = "the file was left as it is; to start afresh, stop localjobs, move it aside (keep it to look at) and start again: " +
	"a new state has a new instance id, so containers the old one started keep running until removed " +
	"(docker ps -a --filter label=io.localjobs.instance)"

// corrupt wraps what was found wrong with the file at path.
func corrupt(path string, what any) error {
	return fmt.Errorf("%w %s (%v); %s", ErrCorrupt, path, what, corruptHint)
}

var (
	bucketMeta      = []byte("meta")
	bucketPods      = []byte("pods")
	bucketPodsByJob = []byte("podsByJob")
	// bucketPodsByLabel indexes pods by label (schema 2): key \x00 value
	// \x00 namespace \x00 name.
	bucketPodsByLabel = []byte("podsByLabel")
	// bucketPodsLive indexes the pods not in a terminal phase (schema 2):
	// namespace/name.
	bucketPodsLive = []byte("podsLive")
	// bucketJobsByOwner indexes Jobs by the UIDs of their owner references
	// (schema 2): ownerUID/namespace/name.
	bucketJobsByOwner = []byte("jobsByOwner")
	bucketJobs        = []byte("jobs")
	bucketEvents      = []byte("events")
	bucketConfigMap   = []byte("configmaps")
	bucketSecrets     = []byte("secrets")
	bucketApplied     = []byte("applied")
	bucketCronJobs    = []byte("cronjobs")

	bucketRuns          = []byte("runs")
	bucketRunsByOwner   = []byte("runsByOwner")
	bucketRunsByTime    = []byte("runsByTime")
	bucketRunsLast      = []byte("runsLast")
	bucketNotifications = []byte("notifications")

	keySchema   = []byte("schema")
	keyInstance = []byte("instance")

	allBuckets = [][]byte{bucketMeta, bucketPods, bucketPodsByJob, bucketPodsByLabel, bucketPodsLive, bucketJobs, bucketJobsByOwner, bucketEvents, bucketApplied, bucketConfigMap, bucketSecrets, bucketCronJobs,
		bucketRuns, bucketRunsByOwner, bucketRunsByTime, bucketRunsLast, bucketNotifications}
)

// migrations[i] upgrades a database from schema i+1 to schema i+2, inside
// the transaction Open runs. Append to it when SchemaVersion grows; never
// edit an entry that has shipped.
var migrations = []func(tx *bolt.Tx) error{
	addIndexes, // 1 → 2: the pods' label and live indexes, the Jobs' owner index
}

// Options configures Open. The zero value opens read-write with the default
// log cap.
type Options struct {
	// ReadOnly opens the database for reading only, as the CLI does when no
	// daemon runs. It shares the file with other readers but fails with
	// ErrLocked while a read-write opener holds it, and returns ErrNoState
	// if the database does not exist. It never creates anything.
	ReadOnly bool
	// LogCap is the size limit of one log file in bytes; 0 means
	// DefaultLogCap. Values below MinLogCap are rejected.
	LogCap int64
}

// DB is an open state dir. It implements runner.Store; all methods are safe
// for concurrent use.
type DB struct {
	path     string // the database file
	bolt     *bolt.DB
	dir      string
	instance string
	readOnly bool
	logCap   int64

	mu       sync.Mutex
	openLogs map[string]bool // paths of log files currently open for writing

	// Records decoded for the readers of shared records (decodeCache).
	podsOfJob      decodeCache[runner.PodRecord] // PodsOfJob's
	sharedJobs     decodeCache[manifest.Job]     // JobsShared's
	sharedCronJobs decodeCache[manifest.CronJob] // CronJobsShared's

	// schema is the database's schema: SchemaVersion, except in a
	// read-only view of an older one (minReadSchema).
	schema int

	commits committer // the queue of update (commit.go)
}

var _ runner.Store = (*DB)(nil)

// Open opens (read-write: creating) the state dir dir and its database.
// A read-write open creates dir with mode 0700 and localjobs.db with mode
// 0600, records the schema version and a random instance id on first use,
// and runs pending migrations. A second read-write opener fails after a
// second with an error wrapping ErrLocked.
func Open(dir string, opts Options) (*DB, error) {
	logCap := opts.LogCap
	if logCap == 0 {
		logCap = DefaultLogCap
	}
	if logCap < MinLogCap {
		return nil, fmt.Errorf("open state: log cap %d below minimum %d", logCap, MinLogCap)
	}
	path := filepath.Join(dir, DBFile)
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("open state %s: %w", dir, ErrNoState)
			}
			return nil, fmt.Errorf("open state: %w", err)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	// Only an absent file is a new state: an empty one is damage (a disk
	// that filled up, a copy that failed), and creating a database over it
	// would lose every record without a word.
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		return nil, corrupt(path, "the file is empty")
	}

	if !opts.ReadOnly {
		// Check the whole file before the first write, read-only: a
		// damaged database is never written to (and a read-write open
		// would load its freelist, where damage panics beyond recovery).
		if err := checkFile(path); err != nil {
			return nil, err
		}
	}
	bdb, err := openBolt(path, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	db := &DB{bolt: bdb, path: path, dir: dir, readOnly: opts.ReadOnly, logCap: logCap, openLogs: map[string]bool{}}
	if opts.ReadOnly {
		err = db.view(db.checkSchema)
	} else {
		err = db.update(db.initSchema)
	}
	if err != nil {
		_ = bdb.Close()
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// openBolt is bolt.Open of a file that may be damaged: bbolt's own damage
// errors and any panic become ErrCorrupt (closing the file, so its lock
// goes with it), and a file shorter than its own meta page says (a
// truncated copy, a full disk) is refused before any page beyond its end
// could be read.
func openBolt(path string, readOnly bool) (bdb *bolt.DB, err error) {
	var f *os.File
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true)) // a read past the file's end panics rather than kills
	defer func() {
		if r := recover(); r != nil {
			if f != nil {
				f.Close()
			}
			bdb, err = nil, corrupt(path, r)
		}
	}()
	bdb, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: readOnly,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err = os.OpenFile(name, flag, perm)
			return f, err
		}})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch),
		err != nil && strings.Contains(err.Error(), "file size too small"):
		return nil, corrupt(path, err)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = bdb.View(func(tx *bolt.Tx) error {
			if fi.Size() < tx.Size() {
				return corrupt(path, fmt.Sprintf("truncated: %d bytes, the database needs %d", fi.Size(), tx.Size()))
			}
			return nil
		})
	}
	if err != nil {
		bdb.Close()
		return nil, err
	}
	return bdb, nil
}

// checkFile opens an existing database read-only and runs bbolt's
// consistency check over every page (a damaged one panics rather than
// kills, and the handle is closed whatever happens).
func checkFile(path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil // a new state
	}
	bdb, err := openBolt(path, true)
	if err != nil {
		return err
	}
	defer bdb.Close()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db := &DB{bolt: bdb, path: path, readOnly: true}
	if err := db.view(checkTx); err != nil {
		if errors.Is(err, ErrCorrupt) {
			return err
		}
		return corrupt(path, err)
	}
	return nil
}

// checkTx runs bbolt's consistency check.
func checkTx(tx *bolt.Tx) error {
	var errs []error
	for err := range tx.Check() { // drained whole: the checker stops when done
		if len(errs) < 5 {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("consistency check: %w", errors.Join(errs...))
	}
	return nil
}

// checkSchema reads the schema version and instance id of a read-only DB.
func (db *DB) checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("no meta bucket: %w", ErrNoState)
	}
	v, err := schemaOf(meta)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("schema %d, supported %d: %w", v, SchemaVersion, ErrSchemaTooNew)
	}
	if v < minReadSchema {
		return fmt.Errorf("schema %d needs migrating to %d: start the daemon once to migrate it", v, SchemaVersion)
	}
	db.schema = v
	db.instance = string(meta.Get(keyInstance))
	return nil
}

// initSchema creates the buckets, checks and migrates the schema and makes
// sure an instance id exists.
func (db *DB) initSchema(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return fmt.Errorf("create bucket meta: %w", err)
	}
	v := SchemaVersion
	if meta.Get(keySchema) != nil {
		if v, err = schemaOf(meta); err != nil {
			return err
		}
	}
	if v > SchemaVersion {
		return fmt.Errorf("schema %d, supported %d: %w", v, SchemaVersion, ErrSchemaTooNew)
	}
	for ; v < SchemaVersion; v++ {
		if err := migrations[v-1](tx); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
	}
	if err := meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
		return fmt.Errorf("write schema: %w", err)
	}
	db.schema = SchemaVersion
	for _, b := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	if id := meta.Get(keyInstance); len(id) > 0 {
		db.instance = string(id)
		return nil
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("generate instance id: %w", err)
	}
	db.instance = hex.EncodeToString(b[:])
	if err := meta.Put(keyInstance, []byte(db.instance)); err != nil {
		return fmt.Errorf("write instance id: %w", err)
	}
	return nil
}

func schemaOf(meta *bolt.Bucket) (int, error) {
	raw := meta.Get(keySchema)
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 {
		return 0, fmt.Errorf("bad schema version %q", raw)
	}
	return v, nil
}

// Close closes the database. Log files opened with OpenLog stay open until
// they are closed themselves.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close state: %w", err)
	}
	return nil
}

// Dir returns the state dir the DB was opened in.
func (db *DB) Dir() string { return db.dir }

// InstanceID returns the 16-hex-character id of this state dir, generated on
// its first open and stable afterwards.
func (db *DB) InstanceID() string { return db.instance }

// ReadOnly reports whether the DB was opened with Options.ReadOnly.
func (db *DB) ReadOnly() bool { return db.readOnly }

// view runs fn in a read-only transaction; a bbolt panic (a damaged page)
// is returned as ErrCorrupt.
func (db *DB) view(fn func(tx *bolt.Tx) error) (err error) {
	defer db.recoverCorrupt(&err)
	return db.bolt.View(fn)
}

func (db *DB) recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = corrupt(db.path, r)
	}
}
