package crontab

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/schedule"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestSplitPercent(t *testing.T) {
	tests := []struct {
		in, cmd, input string
		hasInput       bool
	}{
		{"echo hi", "echo hi", "", false},
		{`date +\%F`, "date +%F", "", false},
		{"cat%a%b", "cat", "a\nb", true},
		{"cat%a%b%", "cat", "a\nb\n", true},
		{"cat%", "cat", "", true},
		{`cat%50\% off`, "cat", "50% off", true},
		{`echo \\%x`, `echo \\`, "x", true},     // \\ does not escape the %
		{`echo a\b`, `echo a\b`, "", false},     // other backslashes stay
		{`cat%a\b\\c\`, "cat", `a\b\\c\`, true}, // other backslashes stay in the input too
		{`cat%x\\%y`, "cat", `x\%y`, true},      // cron's input loop: \\% writes \%
	}
	for _, tt := range tests {
		cmd, input, has := splitPercent(tt.in)
		if cmd != tt.cmd || input != tt.input || has != tt.hasInput {
			t.Errorf("splitPercent(%q) = %q, %q, %v; want %q, %q, %v", tt.in, cmd, input, has, tt.cmd, tt.input, tt.hasInput)
		}
	}
}

func TestEnvLine(t *testing.T) {
	tests := []struct {
		in          string
		name, value string
		ok          bool
		err         string
	}{
		{"A=b", "A", "b", true, ""},
		{"A = b c  ", "A", "b c", true, ""},
		{`A="  b "`, "A", "  b ", true, ""},
		{`A='x'`, "A", "x", true, ""},
		{`"A B"=x`, "A B", "x", true, ""},
		{"A=", "A", "", true, ""},
		{`A=""`, "A", "", true, ""},
		{"A=b=c", "A", "b=c", true, ""},
		{`A="x" y`, "A", "", true, "text after the closing quote: y"},
		{`A="x`, "A", "", true, "the value's quote is not closed"},
		{"* * * * * A=b", "", "", false, ""},
		{"0 1 * * * cmd", "", "", false, ""},
		{"@daily X=1 cmd", "", "", false, ""},
		{"=x", "", "", false, ""},
	}
	for _, tt := range tests {
		name, value, ok, err := envLine(tt.in)
		if name != tt.name || value != tt.value || ok != tt.ok || err != tt.err {
			t.Errorf("envLine(%q) = %q, %q, %v, %q; want %q, %q, %v, %q", tt.in, name, value, ok, err, tt.name, tt.value, tt.ok, tt.err)
		}
	}
}

func TestConvertSchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{"@daily", "@daily", ""},
		{"@MIDNIGHT", "@midnight", ""},
		{"@annually", "@annually", ""},
		{"@reboot", RebootSchedule, ""},
		{"*/5 9-17 * * 1-5", "*/5 9-17 * * 1-5", ""},
		{"0 0 1,15 jan-jun mon", "0 0 1,15 jan-jun mon", ""},
		// Sunday is 7 to cron, 0 only to Kubernetes.
		{"0 0 * * 7", "0 0 * * 0", ""},
		{"0 0 * * 5-7", "0 0 * * 0,5-6", ""},
		{"0 0 * * 1-7", "0 0 * * 0-6", ""},
		{"0 0 * * 1,7", "0 0 * * 0-1", ""},
		{"0 0 * * fri-7", "0 0 * * 0,5-6", ""},
		{"0 0 * * 1-7/2", "0 0 * * 0-1,3,5", ""},
		{"0 0 * * 0,7", "0 0 * * 0", ""},
		{"0 0 * * */2", "0 0 * * */2", ""}, // cron's 0-7 and Kubernetes' 0-6 step alike
		{"0 0 * * 8", "", "day-of-week field"},
		{"0 0 * * 7-5", "", "runs backwards"},
		// Both day fields restricted: either matches, in cron and Kubernetes.
		{"0 0 1 * 1", "0 0 1 * 1", ""},
		// A day field starting with * but restricting: cron wants both.
		{"0 0 */2 * 1", "", "match both"},
		{"0 0 1 * */2", "", "match both"},
		{"0 0 */2 * *", "0 0 */2 * *", ""},
		{"0 0 */1 * 1", "0 0 */1 * 1", ""},
		{"5/10 * * * *", "", "cron does not accept a step after a single value"},
		{"0 0 ? * *", "", "not cron syntax"},
		{"61 * * * *", "", `minute field "61"`},
		{"0 0 31 2 *", "0 0 31 2 *", ""},
	}
	for _, tt := range tests {
		fields := strings.Fields(tt.in)
		got, err := convertSchedule(fields, nil)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("convertSchedule(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("convertSchedule(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestRebootScheduleNeverFires: the @reboot schedule parses as Kubernetes
// parses schedules and never fires.
func TestRebootScheduleNeverFires(t *testing.T) {
	s, err := schedule.Parse(RebootSchedule, nil, schedule.PolicyLocaljobs)
	if err != nil {
		t.Fatal(err)
	}
	if next, _ := s.Next(mustTime(t, "2028-01-01T00:00:00Z")); !next.IsZero() {
		t.Errorf("Next = %v, want never", next)
	}
}

func TestBaseName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/usr/local/bin/backup.sh --full", "backup"},
		{"cd /srv && make weekend", "make"},
		{"cd / && run-parts --report /etc/cron.daily", "cron-daily"},
		{"test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.weekly )", "cron-weekly"},
		{"FOO=1 nice -n 10 /opt/Tool_X/run", "run"},
		{"[ -f /tmp/x ] && php /var/www/cron.php", "php"},
		{"sleep 30; curl -fsS https://example.com", "curl"},
		{"echo hi > /dev/null", "echo"},
		{"%%%", "cron"},
		{"./" + strings.Repeat("very-long-name-", 10), "very-long-name-very-long-name-very-long"},
	}
	for _, tt := range tests {
		if got := baseName(tt.in); got != tt.want {
			t.Errorf("baseName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestEscapeRefs: escapeRefs output expands (manifest.Expand, as the
// kubelet does) back to its input.
func TestEscapeRefs(t *testing.T) {
	names := map[string]bool{"HOME": true, "A": true}
	vars := map[string]string{"HOME": "/root", "A": "a"}
	tests := []struct{ in, want string }{
		{"echo $HOME", "echo $HOME"},
		{"echo $$", "echo $$$$"},
		{"echo $$$", "echo $$$$$$"},
		{"echo $(HOME)", "echo $$(HOME)"},
		{"echo $(date +%F)", "echo $(date +%F)"},
		{"echo $$(A) $(A $", "echo $$$$(A) $(A $"},
		{"$", "$"},
	}
	for _, tt := range tests {
		got := escapeRefs(tt.in, names)
		if got != tt.want {
			t.Errorf("escapeRefs(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if back := manifest.Expand(got, vars); back != tt.in {
			t.Errorf("expanding escapeRefs(%q) = %q gives %q", tt.in, got, back)
		}
	}
}

func TestConvertGolden(t *testing.T) {
	tests := []struct {
		file string
		opts Options
	}{
		{"user.crontab", Options{}},
		{"system.crontab", Options{System: true, Image: "debian:12", NamePrefix: "sys-", Namespace: "ops", TimeZone: "UTC"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			r := Convert(data, tt.opts)
			y, err := r.YAML(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var problems strings.Builder
			for _, p := range r.Problems {
				problems.WriteString(p.String(tt.file) + "\n")
			}
			golden(t, tt.file+".yaml", string(y))
			golden(t, tt.file+".problems", problems.String())

			// What import prints must pass `localjobs validate`, without
			// warnings.
			res := manifest.Decode(tt.file+".yaml", y)
			if len(res.Errors) > 0 || len(res.Warnings) > 0 {
				t.Errorf("validate: errors %v, warnings %v", res.Errors, res.Warnings)
			}
			if len(res.Objects) != len(r.CronJobs) {
				t.Errorf("validate found %d objects, want %d", len(res.Objects), len(r.CronJobs))
			}
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, got)
	}
}

func TestConvertEntries(t *testing.T) {
	const tab = "SHELL=/bin/bash\nX=1\n@hourly a\nX=2\nSHELL=relative\n0 1 * * * b%in\n"
	r := Convert([]byte(tab), Options{})
	if len(r.CronJobs) != 2 {
		t.Fatalf("got %d CronJobs: %+v", len(r.CronJobs), r.Problems)
	}
	a, b := r.CronJobs[0].Object, r.CronJobs[1].Object
	ca := a.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	cb := b.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	if !slices.Equal(ca.Command, []string{"/bin/bash", "-c", "a"}) || ca.Env[0] != (manifest.EnvVar{Name: "X", Value: "1"}) {
		t.Errorf("first: command %q env %+v", ca.Command, ca.Env)
	}
	// The bad SHELL line is a problem; the entry after it keeps bash.
	if !slices.Equal(cb.Command, []string{"/bin/bash", "-c", "printf '%s' 'in' | (\nb\n)"}) || cb.Env[0].Value != "2" {
		t.Errorf("second: command %q env %+v", cb.Command, cb.Env)
	}
	if !r.Failed() || len(r.Problems) != 1 || r.Problems[0].Line != 5 {
		t.Errorf("problems %+v", r.Problems)
	}
	if a.Name != "a" || b.Name != "b" || *a.Spec.JobTemplate.Spec.BackoffLimit != 0 || a.Spec.ConcurrencyPolicy != manifest.ConcurrencyAllow {
		t.Errorf("objects %+v %+v", a, b)
	}
}

func TestConvertNamesUnique(t *testing.T) {
	tab := strings.Repeat("@daily /bin/backup\n", 3) + "@daily backup-2\n"
	r := Convert([]byte(tab), Options{NamePrefix: "h-"})
	var names []string
	for _, cj := range r.CronJobs {
		names = append(names, cj.Object.Name)
	}
	if want := []string{"h-backup", "h-backup-2", "h-backup-3", "h-backup-2-2"}; !slices.Equal(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
}

func TestConvertLastLineWithoutNewline(t *testing.T) {
	r := Convert([]byte("@daily a"), Options{})
	if len(r.CronJobs) != 1 || r.Failed() || len(r.Problems) != 1 || !r.Problems[0].Warning {
		t.Errorf("cronjobs %d, problems %+v", len(r.CronJobs), r.Problems)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestStdinScriptRunsInSh runs the script that pipes a % input into the
// command, and checks the command reads exactly what cron would write.
func TestStdinScriptRunsInSh(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, line := range []string{
		`cat%Hi team,%It's Monday.%`,
		`cat%50\% off, 'quoted' "double" $HOME $(date) \n`,
		`cat # a comment%x`,
		`cat; echo second%line`,
		`cat%%`,
	} {
		cmd, input, _ := splitPercent(line)
		want := input
		if strings.HasPrefix(cmd, "cat;") {
			want += "second\n"
		}
		script := shellScript(Entry{Command: cmd, Input: input, HasInput: true})
		out, err := exec.Command(sh, "-c", script).Output()
		if err != nil || string(out) != want {
			t.Errorf("%q: sh -c %q printed %q (%v), want %q", line, script, out, err, want)
		}
	}
}
