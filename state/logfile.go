package state

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/localjobs/localjobs/runner"
)

// LogsDir is the directory of the container logs inside the state dir.
const LogsDir = "logs"

// markerPrefix starts the text of the line that stands for elided output.
const markerPrefix = "[localjobs: "

// logFile is one container log in CRI format, capped in size.
//
// # Cap: head, marker, rolling tail
//
// A file has at most cap bytes. While it is smaller, lines are appended. The
// head is the lines that fit in the first cap/2 bytes; it is never rewritten.
// When an append would pass the cap, the file is compacted: it is rebuilt as
//
//	head | marker line | newest lines fitting in cap/4 (the incoming one included)
//
// in <n>.log.tmp, fsynced and renamed over <n>.log, so a crash leaves either
// the old or the new file, never a mix. The marker is a stderr F line
// "[localjobs: N bytes of log elided here; head and tail kept]" where N
// counts all bytes of log lines dropped so far; its timestamp is that of the
// first line after it, so the file stays in time order. After a compaction
// there is room for at least cap/4 more bytes, so compaction copies at most
// 3/4 cap per cap/4 appended. Single lines longer than cap/8 are split into
// partial (P) records, so every record fits and the file never exceeds cap.
//
// A reader following the file must expect it to be replaced (a new inode)
// after each compaction. A reopened file (daemon restart) recovers its
// head end, marker, elided count and last timestamp by scanning it, and drops
// an incomplete last line left by a crash.
type logFile struct {
	mu        sync.Mutex
	f         *os.File
	path      string
	cap       int64
	size      int64
	headEnd   int64 // end of the head: a record boundary <= cap/2
	tailStart int64 // where the rolling tail begins: headEnd, or after the marker
	compacted bool  // a marker line follows the head
	elided    int64 // bytes of log lines dropped so far
	last      time.Time
	buf       []byte
	release   func()
	closed    bool
	// checkedAt is when the file was last found still at path; checkEvery
	// how often to look (ensureLinked).
	checkedAt  time.Time
	checkEvery time.Duration
}

var _ runner.LogFile = (*logFile)(nil)

// LogPath returns the path of the log file of one container instance:
// <dir>/logs/<ns>_<pod>_<uid>/<container>/<restart>.log.
func (db *DB) LogPath(ns, pod, uid, container string, restart int32) string {
	return logPath(db.dir, ns, pod, uid, container, restart)
}

func logPath(dir, ns, pod, uid, container string, restart int32) string {
	return filepath.Join(containerLogDir(dir, ns, pod, uid, container), strconv.Itoa(int(restart))+".log")
}

func containerLogDir(dir, ns, pod, uid, container string) string {
	return filepath.Join(podLogDir(dir, ns, pod, uid), container)
}

func podLogDir(dir, ns, pod, uid string) string {
	return filepath.Join(dir, LogsDir, ns+"_"+pod+"_"+uid)
}

func (db *DB) podLogDir(ns, pod, uid string) string { return podLogDir(db.dir, ns, pod, uid) }

// OpenLog opens the log file of one container instance for writing,
// creating it (directories 0700, file 0600) or appending to it after a
// restart with its LastTimestamp recovered. It deletes the container's
// older restart files so that only the two newest remain. A file can be
// open only once at a time.
func (db *DB) OpenLog(ns, pod, uid, container string, restart int32) (runner.LogFile, error) {
	if db.readOnly {
		return nil, fmt.Errorf("open log: %w", ErrReadOnly)
	}
	for _, s := range []string{ns, pod, uid, container} {
		if s == "" || s == "." || s == ".." || strings.ContainsRune(s, '/') {
			return nil, fmt.Errorf("open log %s/%s %s: bad path element %q", ns, pod, container, s)
		}
	}
	if restart < 0 {
		return nil, fmt.Errorf("open log %s/%s %s: negative restart %d", ns, pod, container, restart)
	}
	path := db.LogPath(ns, pod, uid, container, restart)
	db.mu.Lock()
	if db.openLogs[path] {
		db.mu.Unlock()
		return nil, fmt.Errorf("open log %s: already open", path)
	}
	db.openLogs[path] = true
	db.mu.Unlock()
	release := func() {
		db.mu.Lock()
		delete(db.openLogs, path)
		db.mu.Unlock()
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		release()
		return nil, fmt.Errorf("open log: %w", err)
	}
	if err := pruneRestarts(filepath.Dir(path), restart); err != nil {
		release()
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	l, err := openLogFile(path, db.logCap)
	if err != nil {
		release()
		return nil, err
	}
	l.release = release
	return l, nil
}

// pruneRestarts deletes <n>.log files in dir other than the two newest,
// counting restart (about to be opened) and never deleting it.
func pruneRestarts(dir string, restart int32) error {
	nums, err := restartNumbers(dir)
	if err != nil {
		return err
	}
	if !slices.Contains(nums, int(restart)) {
		nums = append(nums, int(restart))
	}
	slices.Sort(nums)
	for _, n := range nums[:max(0, len(nums)-2)] {
		if n == int(restart) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, strconv.Itoa(n)+".log")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove old log: %w", err)
		}
	}
	return nil
}

// restartNumbers returns the n of every <n>.log in dir, unsorted; none if dir
// does not exist.
func restartNumbers(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var nums []int
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || e.IsDir() {
			continue
		}
		if n, err := strconv.Atoi(base); err == nil && n >= 0 && strconv.Itoa(n) == base {
			nums = append(nums, n)
		}
	}
	return nums, nil
}

// LogFiles returns the restart log files of one container in the state dir
// dir, oldest restart first (at most two are kept: the last is the current
// instance, the one before it is what --previous shows). It returns none,
// without error, when the container has no logs.
func LogFiles(dir, ns, pod, uid, container string) ([]string, error) {
	cdir := containerLogDir(dir, ns, pod, uid, container)
	nums, err := restartNumbers(cdir)
	if err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	slices.Sort(nums)
	paths := make([]string, len(nums))
	for i, n := range nums {
		paths[i] = filepath.Join(cdir, strconv.Itoa(n)+".log")
	}
	return paths, nil
}

// openLogFile opens or creates path and recovers its state.
func openLogFile(path string, capBytes int64) (*logFile, error) {
	if err := os.Remove(path + ".tmp"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	l := &logFile{f: f, path: path, cap: capBytes, checkEvery: time.Second, checkedAt: time.Now()}
	if err := l.recover(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	return l, nil
}

// recover scans the file for the end of its head, its marker and its last
// timestamp, and truncates an incomplete last line.
func (l *logFile) recover() error {
	headCap := l.cap / 2
	br := bufio.NewReaderSize(io.NewSectionReader(l.f, 0, 1<<62), 64<<10)
	var off int64
	var scratch []byte
	for {
		var line []byte
		var err error
		line, scratch, err = readLine(br, scratch)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break // a final line without newline is dropped below
			}
			return err
		}
		start, end := off, off+int64(len(line))
		off = end
		rec, ok := parseRecord(line[:len(line)-1])
		if !ok {
			continue
		}
		l.last = rec.ts
		if l.compacted {
			continue
		}
		if n, ok := parseMarker(rec); ok && start <= headCap {
			l.compacted, l.headEnd, l.tailStart, l.elided = true, start, end, n
			continue
		}
		if end <= headCap {
			l.headEnd = end
		}
	}
	if !l.compacted {
		l.tailStart = l.headEnd
	}
	if err := l.f.Truncate(off); err != nil { // drop an incomplete last line
		return err
	}
	l.size = off
	return nil
}

// LastTimestamp returns the timestamp of the last line written, zero if none.
func (l *logFile) LastTimestamp() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Close syncs and closes the file.
func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.release != nil {
		l.release()
	}
	serr := l.f.Sync()
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close log: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("close log: %w", serr)
	}
	return nil
}

// maxText is the longest text one record carries; longer lines are split
// into partial records.
func (l *logFile) maxText() int { return max(16, int(l.cap/8)-64) }

// WriteLine appends line as one or more CRI records. Embedded newlines end
// records (one trailing newline is ignored); text longer than cap/8 is split
// into partial records.
func (l *logFile) WriteLine(ts time.Time, stream string, line []byte, partial bool) error {
	if stream != "stdout" && stream != "stderr" {
		return fmt.Errorf("write log: bad stream %q", stream)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("write log %s: closed", l.path)
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	for {
		part, rest, more := bytes.Cut(line, []byte{'\n'})
		for {
			chunk := part
			if len(chunk) > l.maxText() {
				chunk = chunk[:l.maxText()]
			}
			part = part[len(chunk):]
			p := partial && !more
			if len(part) > 0 {
				p = true
			}
			if err := l.append(ts, stream, chunk, p); err != nil {
				return fmt.Errorf("write log %s: %w", l.path, err)
			}
			if len(part) == 0 {
				break
			}
		}
		if !more {
			return nil
		}
		line = rest
	}
}

// recreatedMarker is the text of the line that starts a log file
// re-created after it was deleted under a running container.
const recreatedMarker = markerPrefix + "log file was deleted while the container ran; re-created here, earlier output lost]"

// ensureLinked re-creates the file if it was deleted (or replaced) since
// it was opened, at most once per checkEvery: the output would otherwise
// go on into a file nobody can read. The new file starts with a marker
// line, stamped ts.
func (l *logFile) ensureLinked(ts time.Time) error {
	now := time.Now()
	if now.Sub(l.checkedAt) < l.checkEvery {
		return nil
	}
	l.checkedAt = now
	st, err := os.Stat(l.path)
	switch {
	case err == nil:
		if fst, ferr := l.f.Stat(); ferr != nil || os.SameFile(st, fst) {
			return nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil // cannot tell; keep writing where we are
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return fmt.Errorf("re-create deleted log: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("re-create deleted log: %w", err)
	}
	_ = l.f.Close()
	l.f, l.size, l.headEnd, l.tailStart, l.compacted, l.elided = f, 0, 0, 0, false, 0
	l.buf = appendRecord(l.buf[:0], ts, "stderr", false, []byte(recreatedMarker))
	return l.writeRecord(ts)
}

// append writes one record, compacting first if it would pass the cap.
func (l *logFile) append(ts time.Time, stream string, text []byte, partial bool) error {
	if err := l.ensureLinked(ts); err != nil {
		return err
	}
	l.buf = appendRecord(l.buf[:0], ts, stream, partial, text)
	n := int64(len(l.buf))
	if l.size+n > l.cap {
		if err := l.compact(ts, n); err != nil {
			return err
		}
	}
	return l.writeRecord(ts)
}

// writeRecord writes the record in l.buf, stamped ts, at the end.
func (l *logFile) writeRecord(ts time.Time) error {
	if _, err := l.f.WriteAt(l.buf, l.size); err != nil {
		// A short write (a full disk) must not leave half a record for
		// the next one to follow.
		_ = l.f.Truncate(l.size)
		return err
	}
	l.size += int64(len(l.buf))
	l.last = ts
	if !l.compacted && l.size <= l.cap/2 {
		l.headEnd, l.tailStart = l.size, l.size
	}
	return nil
}

// compact rebuilds the file as head, marker and the newest lines, leaving
// room for an incoming record of n bytes with timestamp ts.
func (l *logFile) compact(ts time.Time, n int64) error {
	keep := max(0, l.cap/4-n)
	start := max(l.tailStart, l.size-keep)
	readFrom := max(l.tailStart, start-1)
	kept := make([]byte, l.size-readFrom)
	if _, err := l.f.ReadAt(kept, readFrom); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if start > l.tailStart { // align to a record boundary
		i := bytes.IndexByte(kept, '\n')
		kept = kept[i+1:] // i >= 0: the file ends with a newline
	}
	dropped := l.size - int64(len(kept)) - l.tailStart
	if dropped <= 0 {
		return nil // nothing to drop (cap changed since the file was written)
	}
	markerTS := ts
	if rec, ok := parseRecord(kept[:max(0, bytes.IndexByte(kept, '\n'))]); ok {
		markerTS = rec.ts
	}
	elided := l.elided + dropped
	marker := appendRecord(nil, markerTS, "stderr", false,
		fmt.Appendf(nil, "%s%d bytes of log elided here; head and tail kept]", markerPrefix, elided))

	tmp := l.path + ".tmp"
	tf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	err = func() error {
		if _, err := io.Copy(tf, io.NewSectionReader(l.f, 0, l.headEnd)); err != nil {
			return err
		}
		if _, err := tf.Write(marker); err != nil {
			return err
		}
		if _, err := tf.Write(kept); err != nil {
			return err
		}
		if err := tf.Sync(); err != nil {
			return err
		}
		return os.Rename(tmp, l.path)
	}()
	if err != nil {
		_ = tf.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("compact: %w", err)
	}
	_ = l.f.Close() // the old inode is unlinked; nothing more to flush
	l.f = tf
	l.compacted = true
	l.elided = elided
	l.tailStart = l.headEnd + int64(len(marker))
	l.size = l.tailStart + int64(len(kept))
	return nil
}

// appendRecord appends one CRI log line: `<RFC3339Nano UTC> <stream> <P|F> <text>\n`.
func appendRecord(b []byte, ts time.Time, stream string, partial bool, text []byte) []byte {
	b = ts.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, stream...)
	if partial {
		b = append(b, " P "...)
	} else {
		b = append(b, " F "...)
	}
	b = append(b, text...)
	return append(b, '\n')
}

// record is one parsed CRI log line. text aliases the line it came from.
type record struct {
	ts      time.Time
	stream  string
	partial bool
	text    []byte
}

// parseRecord parses one CRI log line without its newline.
func parseRecord(line []byte) (record, bool) {
	tsb, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return record{}, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(tsb))
	if err != nil {
		return record{}, false
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || len(stream) == 0 {
		return record{}, false
	}
	tag, text, _ := bytes.Cut(rest, []byte{' '})
	if len(tag) == 0 {
		return record{}, false
	}
	// A tag is P or F, possibly followed by more ':'-separated tags (CRI).
	return record{ts: ts, stream: string(stream), partial: tag[0] == 'P', text: text}, true
}

// parseMarker reports whether rec is a marker line and returns its count.
func parseMarker(rec record) (int64, bool) {
	if rec.stream != "stderr" || rec.partial {
		return 0, false
	}
	rest, ok := bytes.CutPrefix(rec.text, []byte(markerPrefix))
	if !ok {
		return 0, false
	}
	num, rest, ok := bytes.Cut(rest, []byte(" bytes of log elided here"))
	if !ok || !bytes.HasPrefix(rest, []byte(";")) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// readLine returns the next line of br including its newline, using scratch
// for lines longer than br's buffer; the line is valid until the next call.
// A final line without newline is returned with io.EOF.
func readLine(br *bufio.Reader, scratch []byte) (line, newScratch []byte, err error) {
	line, err = br.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, scratch, err
	}
	scratch = append(scratch[:0], line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		line, err = br.ReadSlice('\n')
		scratch = append(scratch, line...)
	}
	return scratch, scratch, err
}
