package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckLines(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       int
		whole      bool
		says       string
	}{
		{"whole", "i3 1\ni3 2\ni3 3\n", 3, true, "whole"},
		{"lost in the middle", "i3 1\ni3 3\n", 3, false, "1 lines lost (2)"},
		{"lost at the end", "i3 1\n", 3, false, "2 lines lost (2-3)"},
		{"doubled after a resume", "i3 1\ni3 2\ni3 2\ni3 3\n", 3, false, "1 lines doubled (2)"},
		{"a stopped pod's prefix is whole", "i3 1\ni3 2\n", 0, true, "whole"},
		{"a gap in a prefix", "i3 1\ni3 4\n", 0, false, "2 lines lost (2-3)"},
		{"another pod's line", "i3 1\ni4 2\n", 0, false, `1 foreign lines (first "i4 2")`},
		{"a marker", "c 1\n[localjobs: 10 bytes of log elided here; head and tail kept]\nc 2\n", 2, false, "1 elision markers"},
		{"empty", "", 2, false, "2 lines lost (1-2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tag := "i3"
			if strings.HasPrefix(tc.text, "c ") {
				tag = "c"
			}
			c := checkLines(tc.text, tag, tc.want)
			if c.whole(false) != tc.whole || c.String() != tc.says {
				t.Errorf("checkLines(%q) = whole %v %q, want %v %q", tc.text, c.whole(false), c, tc.whole, tc.says)
			}
		})
	}
	if c := checkLines("c 1\n[localjobs: x]\nc 2\n", "c", 2); !c.whole(true) {
		t.Errorf("a marker with every line kept is whole when markers are allowed: %s", c)
	}
}

func TestRanges(t *testing.T) {
	if got := ranges([]int{1, 2, 3, 7, 9, 10}); got != "1-3,7,9-10" {
		t.Errorf("ranges = %q", got)
	}
}

func TestMissingLines(t *testing.T) {
	got := missingLines("a\nb\nb\nc\n", "a\nb\n")
	if !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("missingLines = %q, want [b c]", got)
	}
}

func TestPrintTable(t *testing.T) {
	var b bytes.Buffer
	printTable(&b, []outcome{
		{Scenario: "kill", Pass: true, Took: 61500 * time.Millisecond},
		{Scenario: "engine", Lost: []string{"a", "b", "c", "d", strings.Repeat("x", 100)}, Took: time.Second},
	})
	want := ` scenario | result | lost / duplicated | time |
 kill     | PASS   | nothing           | 1m2s |
 engine   | FAIL   | a; b; c; +2 more  | 1s   |
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	long := outcome{Lost: []string{strings.Repeat("x", 100)}}
	if got := long.lostColumn(); len(got) != 70 || !strings.HasSuffix(got, "...") {
		t.Errorf("a long problem is cut to 70 bytes: %q", got)
	}
}

func TestEngineArgs(t *testing.T) {
	p := newPrivateEngine("/tmp/ljcX/e")
	if err := validateEngineArgs(p.args()); err != nil {
		t.Fatalf("the harness's own dockerd arguments: %v", err)
	}
	args := strings.Join(p.args(), " ")
	for _, want := range []string{"--data-root /tmp/ljcX/e/data", "--exec-root /tmp/ljcX/e/x", "-H unix:///tmp/ljcX/e/docker.sock",
		"--pidfile /tmp/ljcX/e/docker.pid", "--iptables=false", "--bridge=" + engineBridge} {
		if !strings.Contains(args, want) {
			t.Errorf("dockerd args %q lack %q", args, want)
		}
	}
	ok := func(extra ...string) []string {
		return append([]string{"--data-root", "/d", "--exec-root", "/x", "-H", "unix:///s.sock", "--pidfile", "/p"}, extra...)
	}
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"bridge none deletes docker0", ok("--iptables=false", "--bridge=none"), "--bridge=none"},
		{"docker0 is not ours", ok("--iptables=false", "--bridge=docker0"), "docker0"},
		{"no bridge", ok("--iptables=false"), "--bridge=NAME"},
		{"iptables on", ok("--bridge=b"), "--iptables=false"},
		{"the default data root", []string{"--data-root", "/var/lib/docker", "--exec-root", "/x", "-H", "unix:///s", "--pidfile", "/p", "--iptables=false", "--bridge=b"}, "--data-root /var/lib/docker"},
		{"the default socket", []string{"--data-root", "/d", "--exec-root", "/x", "-H", "unix:///var/run/docker.sock", "--pidfile", "/p", "--iptables=false", "--bridge=b"}, "--host"},
		{"a TCP socket", []string{"--data-root", "/d", "--exec-root", "/x", "-H", "tcp://0.0.0.0:2375", "--pidfile", "/p", "--iptables=false", "--bridge=b"}, "only a unix socket"},
		{"no exec root", []string{"--data-root", "/d", "-H", "unix:///s", "--pidfile", "/p", "--iptables=false", "--bridge=b"}, "--exec-root is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateEngineArgs(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("validateEngineArgs(%q) = %v, want an error saying %q", tc.args, err, tc.says)
			}
		})
	}
}

func TestMountsUnderIsDeepestFirst(t *testing.T) {
	// Only the order logic: /proc/self/mounts holds nothing under a fresh dir.
	if ms := mountsUnder(filepath.Join(t.TempDir(), "none")); len(ms) != 0 {
		t.Errorf("mounts under a fresh dir: %v", ms)
	}
}

func TestTwice(t *testing.T) {
	cs := parsePS(strings.Join([]string{
		"idx-1-0-a|main|idx-1|0|",
		"idx-1-0-b|main|idx-1|0|", // a second pod for index 0
		"idx-1-1-a|main|idx-1|1|",
		"idx-1-1-a||idx-1|1|", // a sandbox: not a container of the pod
		"p|main|||",
		"p|main|||", // the same pod's container twice
		"garbage",
	}, "\n"))
	if len(cs) != 6 {
		t.Fatalf("parsePS: %d containers, want 6", len(cs))
	}
	got := twice(cs)
	slices.Sort(got)
	want := []string{"job idx-1 index 0 ×2", "pod p/main ×2"}
	if !slices.Equal(got, want) {
		t.Errorf("twice = %q, want %q", got, want)
	}
}

func TestClearError(t *testing.T) {
	for _, tc := range []struct {
		out  string
		code int
		bad  bool
	}{
		{"error: corrupt state database /s/localjobs.db (truncated)", 1, false},
		{"error: corrupt state database /s/localjobs.db (consistency check: panic: assertion failed)", 1, false},
		{"panic: assertion failed\n\ngoroutine 1 [running]:\n", 2, true},
		{"error: something", 1, true},
		{"NAME READY", 0, true},
		{"", -1, true},
	} {
		if got := clearError(tc.out, tc.code); (got != "") != tc.bad {
			t.Errorf("clearError(%q, %d) = %q, want bad=%v", tc.out, tc.code, got, tc.bad)
		}
	}
}

func TestFailManyIsOneTableLine(t *testing.T) {
	o := outcome{Pass: true}
	o.failMany("2 pod logs not whole", []string{"log a: 1 lines lost (3)", "log b: 2 lines lost (4-5)"})
	o.failMany("never shown", nil)
	if o.Pass || o.lostColumn() != "2 pod logs not whole" {
		t.Errorf("failMany: pass %v, column %q", o.Pass, o.lostColumn())
	}
}
