package state

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/runner"
)

// ms returns baseTime plus i milliseconds.
func ms(i int) time.Time { return baseTime.Add(time.Duration(i) * time.Millisecond) }

type line struct {
	ts      time.Time
	stream  string
	text    string
	partial bool
}

func mustOpenLog(tb testing.TB, db *DB, restart int32) runner.LogFile {
	tb.Helper()
	lf, err := db.OpenLog("default", "simple-task", "uid-1", "main", restart)
	if err != nil {
		tb.Fatalf("OpenLog: %v", err)
	}
	tb.Cleanup(func() { _ = lf.Close() })
	return lf
}

func mustWrite(tb testing.TB, lf runner.LogFile, lines ...line) {
	tb.Helper()
	for _, l := range lines {
		if err := lf.WriteLine(l.ts, l.stream, []byte(l.text), l.partial); err != nil {
			tb.Fatalf("WriteLine(%q): %v", l.text, err)
		}
	}
}

func mustRead(tb testing.TB, path string, o ReadOptions) string {
	tb.Helper()
	var b bytes.Buffer
	if err := ReadLog(path, &b, o); err != nil {
		tb.Fatalf("ReadLog(%+v): %v", o, err)
	}
	return b.String()
}

func mustReadFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestLog_FileFormatAndModes(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	lf := mustOpenLog(t, db, 0)
	mustWrite(t, lf,
		line{ms(0), "stdout", "hello", false},
		line{ms(1), "stderr", "par", true},
		line{ms(2), "stderr", "tial", false},
		line{ms(3), "stdout", "", false},
	)
	if err := lf.Close(); err != nil {
		t.Fatal(err)
	}
	path := db.LogPath("default", "simple-task", "uid-1", "main", 0)
	if want := filepath.Join(db.Dir(), "logs", "default_simple-task_uid-1", "main", "0.log"); path != want {
		t.Errorf("LogPath = %q, want %q", path, want)
	}
	want := "2025-03-30T01:02:03Z stdout F hello\n" +
		"2025-03-30T01:02:03.001Z stderr P par\n" +
		"2025-03-30T01:02:03.002Z stderr F tial\n" +
		"2025-03-30T01:02:03.003Z stdout F \n"
	if got := mustReadFile(t, path); got != want {
		t.Errorf("file =\n%s\nwant\n%s", got, want)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Join(db.Dir(), "logs"), 0o700 | os.ModeDir},
		{filepath.Dir(filepath.Dir(path)), 0o700 | os.ModeDir},
		{filepath.Dir(path), 0o700 | os.ModeDir},
		{path, 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("mode of %s = %v, want %v", c.path, fi.Mode(), c.mode)
		}
	}
	if err := lf.WriteLine(ms(4), "stdout", []byte("x"), false); err == nil {
		t.Error("WriteLine after Close succeeded, want an error")
	}
}

func TestLog_WriteRejects(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	lf := mustOpenLog(t, db, 0)
	if err := lf.WriteLine(ms(0), "stdin", []byte("x"), false); err == nil {
		t.Error("WriteLine on stream stdin succeeded, want an error")
	}
	if _, err := db.OpenLog("default", "simple-task", "uid-1", "main", 0); err == nil {
		t.Error("second OpenLog of an open file succeeded, want an error")
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if _, err := db.OpenLog("default", "p", "u", bad, 0); err == nil {
			t.Errorf("OpenLog with container %q succeeded, want an error", bad)
		}
	}
	if _, err := db.OpenLog("default", "p", "u", "c", -1); err == nil {
		t.Error("OpenLog with restart -1 succeeded, want an error")
	}
}

func TestReadLog(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	lf := mustOpenLog(t, db, 0)
	mustWrite(t, lf,
		line{ms(0), "stdout", "one", false},
		line{ms(10), "stdout", "two-a ", true},
		line{ms(11), "stderr", "err", false}, // interleaved with stdout's partial line
		line{ms(12), "stdout", "two-b ", true},
		line{ms(13), "stdout", "two-c", false},
		line{ms(20), "stderr", "three", false},
		line{ms(30), "stdout", "four-unfinished", true},
	)
	path := db.LogPath("default", "simple-task", "uid-1", "main", 0)
	tests := []struct {
		name string
		o    ReadOptions
		want string
	}{
		{"All", ReadOptions{Tail: -1}, "one\nerr\ntwo-a two-b two-c\nthree\nfour-unfinished\n"},
		{"Timestamps", ReadOptions{Tail: -1, Timestamps: true},
			"2025-03-30T01:02:03Z one\n" +
				"2025-03-30T01:02:03.011Z err\n" +
				"2025-03-30T01:02:03.01Z two-a two-b two-c\n" +
				"2025-03-30T01:02:03.02Z three\n" +
				"2025-03-30T01:02:03.03Z four-unfinished\n"},
		{"Tail2", ReadOptions{Tail: 2}, "three\nfour-unfinished\n"},
		{"Tail0", ReadOptions{Tail: 0}, ""},
		{"TailMoreThanLines", ReadOptions{Tail: 50}, "one\nerr\ntwo-a two-b two-c\nthree\nfour-unfinished\n"},
		{"SinceMidLine", ReadOptions{Tail: -1, Since: ms(11)}, "err\nthree\nfour-unfinished\n"},
		{"SinceExact", ReadOptions{Tail: -1, Since: ms(10)}, "err\ntwo-a two-b two-c\nthree\nfour-unfinished\n"},
		{"SinceAndTail", ReadOptions{Tail: 1, Since: ms(1), Timestamps: true}, "2025-03-30T01:02:03.03Z four-unfinished\n"},
		{"SinceAfterAll", ReadOptions{Tail: -1, Since: ms(31)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustRead(t, path, tt.o); got != tt.want {
				t.Errorf("ReadLog(%+v) =\n%q\nwant\n%q", tt.o, got, tt.want)
			}
		})
	}
	if err := ReadLog(filepath.Join(t.TempDir(), "none.log"), &bytes.Buffer{}, ReadOptions{Tail: -1}); err == nil {
		t.Error("ReadLog of a missing file succeeded, want an error")
	}
}

func TestReadLog_SkipsMalformedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	data := "2025-03-30T01:02:03Z stdout F ok\n" +
		"garbage\n" +
		"notatime stdout F x\n" +
		"2025-03-30T01:02:04Z stdout\n" +
		"2025-03-30T01:02:05Z stderr F also ok\n" +
		"2025-03-30T01:02:06Z stdout F no newline"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := mustRead(t, path, ReadOptions{Tail: -1}), "ok\nalso ok\nno newline\n"; got != want {
		t.Errorf("ReadLog = %q, want %q", got, want)
	}
}

func TestLog_EmbeddedNewlinesAndLongLines(t *testing.T) {
	const logCap = 4096
	db := mustOpen(t, t.TempDir(), Options{LogCap: logCap})
	lf := mustOpenLog(t, db, 0)
	long := strings.Repeat("0123456789", 150) // longer than cap/8
	mustWrite(t, lf,
		line{ms(0), "stdout", "a\nb\n", false},
		line{ms(1), "stdout", long, false},
		line{ms(2), "stdout", "c", false},
	)
	path := db.LogPath("default", "simple-task", "uid-1", "main", 0)
	if got, want := mustRead(t, path, ReadOptions{Tail: -1}), "a\nb\n"+long+"\nc\n"; got != want {
		t.Errorf("ReadLog = %q, want %q", got, want)
	}
	for l := range strings.Lines(mustReadFile(t, path)) {
		if len(l) > logCap/8 {
			t.Errorf("record of %d bytes, want at most cap/8 = %d", len(l), logCap/8)
		}
	}
}

func TestLog_CapKeepsHeadMarkerAndNewestTail(t *testing.T) {
	const logCap = 4096
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{LogCap: logCap})
	path := db.LogPath("default", "simple-task", "uid-1", "main", 0)
	lf := mustOpenLog(t, db, 0)

	var written []string // every record written, as in the file
	write := func(i int) {
		t.Helper()
		text := fmt.Sprintf("line-%05d %s", i, strings.Repeat("x", i%40))
		mustWrite(t, lf, line{ms(i), "stdout", text, false})
		written = append(written, string(appendRecord(nil, ms(i), "stdout", false, []byte(text))))
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > logCap {
			t.Fatalf("after line %d the file has %d bytes, cap %d", i, fi.Size(), logCap)
		}
	}
	for i := range 1000 {
		write(i)
	}
	checkCapped(t, path, logCap, written)

	// A daemon restart: reopen, append, and the layout still holds.
	if err := lf.Close(); err != nil {
		t.Fatal(err)
	}
	lf = mustOpenLog(t, db, 0)
	if got := lf.LastTimestamp(); !got.Equal(ms(999)) {
		t.Errorf("LastTimestamp after reopen = %v, want %v", got, ms(999))
	}
	for i := 1000; i < 1300; i++ {
		write(i)
	}
	checkCapped(t, path, logCap, written)
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: stat err = %v", err)
	}
}

// checkCapped checks that the log at path is: a prefix of written within
// cap/2, one marker counting exactly the bytes missing, then a suffix of
// written that ends with the newest line.
func checkCapped(t *testing.T, path string, logCap int, written []string) {
	t.Helper()
	data := mustReadFile(t, path)
	lines := slices.Collect(strings.Lines(data))
	var marker int = -1
	for i, l := range lines {
		if strings.Contains(l, "stderr F [localjobs: ") {
			if marker >= 0 {
				t.Fatalf("two marker lines: %d and %d", marker, i)
			}
			marker = i
		}
	}
	if marker < 0 {
		t.Fatalf("no marker line in capped file:\n%s", data)
	}
	head, tail := lines[:marker], lines[marker+1:]
	if !slices.Equal(head, written[:len(head)]) {
		t.Errorf("head is not the first %d lines written", len(head))
	}
	if n := len(strings.Join(head, "")); n > logCap/2 || n < logCap/2-200 {
		t.Errorf("head has %d bytes, want close to cap/2 = %d", n, logCap/2)
	}
	if !slices.Equal(tail, written[len(written)-len(tail):]) {
		t.Errorf("tail is not the last %d lines written", len(tail))
	}
	if n := len(strings.Join(tail, "")); n < logCap/4-100 {
		t.Errorf("tail has %d bytes, want at least about cap/4 = %d", n, logCap/4)
	}
	var elided int
	for _, l := range written[len(head) : len(written)-len(tail)] {
		elided += len(l)
	}
	wantMarker := fmt.Sprintf("[localjobs: %d bytes of log elided here; head and tail kept]\n", elided)
	if !strings.HasSuffix(lines[marker], wantMarker) {
		t.Errorf("marker = %q, want suffix %q", lines[marker], wantMarker)
	}
	// The marker reads as a line of its own, in time order.
	out := mustRead(t, path, ReadOptions{Tail: 3})
	if want := strings.TrimSuffix(wantMarker, "\n"); strings.Contains(out, want) {
		t.Errorf("tail 3 shows the marker, want only newest lines: %q", out)
	}
	all := mustRead(t, path, ReadOptions{Tail: -1, Timestamps: true})
	if !strings.Contains(all, "[localjobs: ") {
		t.Errorf("ReadLog does not show the marker")
	}
}

func TestLog_LastTimestampRecovered(t *testing.T) {
	tests := []struct {
		name    string
		lines   []line
		garbage string // appended raw after closing, as a crash mid-write would
		want    time.Time
	}{
		{"Empty", nil, "", time.Time{}},
		{"Lines", []line{{ms(0), "stdout", "a", false}, {ms(7), "stderr", "b", false}}, "", ms(7)},
		{"IncompleteLastLine", []line{{ms(0), "stdout", "a", false}, {ms(5), "stdout", "b", false}},
			"2025-03-30T01:02:09Z stdout F cut sho", ms(5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mustOpen(t, t.TempDir(), Options{})
			lf, err := db.OpenLog("default", "simple-task", "uid-1", "main", 0)
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, lf, tt.lines...)
			if got := lf.LastTimestamp(); !got.Equal(tt.want) && tt.garbage == "" {
				t.Errorf("LastTimestamp before reopen = %v, want %v", got, tt.want)
			}
			if err := lf.Close(); err != nil {
				t.Fatal(err)
			}
			path := db.LogPath("default", "simple-task", "uid-1", "main", 0)
			if tt.garbage != "" {
				f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString(tt.garbage)
				f.Close()
			}
			lf = mustOpenLog(t, db, 0)
			if got := lf.LastTimestamp(); !got.Equal(tt.want) {
				t.Errorf("LastTimestamp after reopen = %v, want %v", got, tt.want)
			}
			mustWrite(t, lf, line{ms(100), "stdout", "after", false})
			out := mustRead(t, path, ReadOptions{Tail: 1})
			if out != "after\n" {
				t.Errorf("last line after reopen and write = %q, want %q", out, "after\n")
			}
		})
	}
}

func TestLog_KeepsTwoRestartFiles(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	files := func() []string {
		t.Helper()
		paths, err := LogFiles(dir, "default", "simple-task", "uid-1", "main")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range paths {
			names = append(names, filepath.Base(p))
		}
		return names
	}
	if got := files(); len(got) != 0 {
		t.Errorf("LogFiles before any log = %v, want none", got)
	}
	tests := []struct {
		restart int32
		want    []string
	}{
		{0, []string{"0.log"}},
		{1, []string{"0.log", "1.log"}},
		{2, []string{"1.log", "2.log"}},
		{3, []string{"2.log", "3.log"}},
		{10, []string{"3.log", "10.log"}}, // numeric, not lexical, order
		{11, []string{"10.log", "11.log"}},
	}
	for _, tt := range tests {
		lf := mustOpenLog(t, db, tt.restart)
		mustWrite(t, lf, line{ms(int(tt.restart)), "stdout", fmt.Sprint("run ", tt.restart), false})
		if err := lf.Close(); err != nil {
			t.Fatal(err)
		}
		if got := files(); !slices.Equal(got, tt.want) {
			t.Errorf("after restart %d LogFiles = %v, want %v", tt.restart, got, tt.want)
		}
	}
	paths, err := LogFiles(dir, "default", "simple-task", "uid-1", "main")
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, paths[0], ReadOptions{Tail: -1}); got != "run 10\n" {
		t.Errorf("previous log = %q, want %q", got, "run 10\n")
	}
}

func TestLog_RecordLongerThanReadBuffer(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{}) // default cap: one 200 KiB record
	lf := mustOpenLog(t, db, 0)
	long := strings.Repeat("y", 200<<10)
	mustWrite(t, lf, line{ms(0), "stdout", "short", false}, line{ms(1), "stdout", long, false})
	if err := lf.Close(); err != nil {
		t.Fatal(err)
	}
	lf = mustOpenLog(t, db, 0)
	if got := lf.LastTimestamp(); !got.Equal(ms(1)) {
		t.Errorf("LastTimestamp after reopen = %v, want %v", got, ms(1))
	}
	mustWrite(t, lf, line{ms(2), "stdout", "end", false})
	path := db.LogPath("default", "simple-task", "uid-1", "main", 0)
	if got, want := mustRead(t, path, ReadOptions{Tail: -1}), "short\n"+long+"\nend\n"; got != want {
		t.Errorf("ReadLog returned %d bytes, want %d", len(got), len(want))
	}
}

// TestLog_RecreatedAfterDelete: a log file deleted (with its folder) while
// its container runs is re-created at the next write, which a marker line
// notes (issue #10 item 9c).
func TestLog_RecreatedAfterDelete(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	lf := mustOpenLog(t, db, 0)
	defer lf.Close()
	mustWrite(t, lf, line{ms(0), "stdout", "one", false})
	path := db.LogPath("default", "simple-task", "uid-1", "main", 0)
	if err := os.RemoveAll(filepath.Dir(filepath.Dir(path))); err != nil {
		t.Fatal(err)
	}
	lf.(*logFile).checkEvery = 0 // check at once rather than within a second
	mustWrite(t, lf, line{ms(1), "stdout", "two", false})
	got := mustRead(t, path, ReadOptions{Tail: -1})
	if want := "[localjobs: log file was deleted while the container ran; re-created here, earlier output lost]\ntwo\n"; got != want {
		t.Errorf("log after delete = %q, want %q", got, want)
	}
}
