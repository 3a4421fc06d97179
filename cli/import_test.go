package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestImportUserCrontab: without FILE, import reads crontab -l, and says
// clearly when there is no crontab command or no crontab.
func TestImportUserCrontab(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake crontab is a shell script")
	}
	dir := t.TempDir()
	tests := []struct {
		name, script string
		code         int
		stdout       string
		stderr       string
	}{
		{"has one", "#!/bin/sh\n[ \"$1\" = -l ] || exit 2\necho '@hourly /usr/bin/tick'\n", 0, "name: tick", ""},
		{"has none", "#!/bin/sh\necho 'no crontab for tester' >&2\nexit 1\n", 1, "", "error: you have no crontab (crontab -l: no crontab for tester)"},
		{"broken", "#!/bin/sh\necho 'crontab: cannot open' >&2\nexit 1\n", 1, "", "error: crontab -l: exit status 1: crontab: cannot open"},
		{"not installed", "", 1, "", "error: crontab is not installed, so there is no user crontab to read: give a FILE, or - for standard input"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := filepath.Join(dir, "missing-crontab")
			if tt.script != "" {
				cmd = writeFile(t, dir, "crontab"+string(rune('a'+i)), tt.script)
				if err := os.Chmod(cmd, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			old := crontabCommand
			crontabCommand = []string{cmd, "-l"}
			t.Cleanup(func() { crontabCommand = old })
			r := runCLI(t, t.TempDir(), "import", "crontab")
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestImportSystemByPath: /etc/crontab and /etc/cron.d/* are read with a
// user field without --system.
func TestImportSystemByPath(t *testing.T) {
	for _, p := range []string{"/etc/crontab", "/etc/cron.d/x"} {
		if !isSystemCrontab(p) {
			t.Errorf("isSystemCrontab(%q) = false", p)
		}
	}
	for _, p := range []string{"/etc/crontab.bak", "/etc/cron.daily/x", "crontab"} {
		if isSystemCrontab(p) {
			t.Errorf("isSystemCrontab(%q) = true", p)
		}
	}
}
