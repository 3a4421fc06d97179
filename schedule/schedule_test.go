package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func mustParse(t *testing.T, expr string, loc *time.Location, p Policy) *Schedule {
	t.Helper()
	s, err := Parse(expr, loc, p)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return s
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestParseVectorsH is table H of cron-vectors.md (robfig ParseStandard as
// Kubernetes validation wraps it).
func TestParseVectorsH(t *testing.T) {
	tests := []struct {
		expr    string
		wantErr string // substring; "" = ok
	}{
		{"@every 5m", ""},
		// Kubernetes' create validation rejects any schedule containing TZ.
		{"CRON_TZ=UTC 0 * * * *", "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"},
		{"0 0 * * 7", "end of range (7) above maximum (6): 7"},
		{"* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"},
		{"@reboot", "unrecognized descriptor: @reboot"},
		{"0 0 ? * MON", ""},
		{"*/61 * * * *", ""},
		{"61 * * * *", "end of range (61) above maximum (59): 61"},
		{"", "empty schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Parse(tt.expr, time.UTC, PolicyLocaljobs)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Parse(%q) = %v, want ok", tt.expr, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Parse(%q) = %v, want error containing %q", tt.expr, err, tt.wantErr)
			}
		})
	}
}

func TestParseExplains(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"0 0 * * 7", `day-of-week field "7"`},
		{"0 0 * * 7", "Sunday is 0"},
		{"0 24 * * *", `hour field "24"`},
		{"0 0 0 * *", `day-of-month field "0"`},
		{"0 0 * foo *", `month field "foo"`},
		{"* * * * * *", "there is no seconds field"},
		{"@every soon", "@every needs a Go duration"},
		{"@reboot", "localjobs.io/run-on-start"},
		{"TZ=Europe/Berlin 0 9 * * *", "use timeZone field"},
		{"TZ=", "use timeZone field"},
		{"CRON_TZ=", "use timeZone field"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.expr, time.UTC, PolicyLocaljobs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tt.expr, err, tt.want)
		}
	}
}

// TestParseNeverPanics feeds robfig inputs known to panic it (a TZ= prefix
// without a space) and odd shapes.
func TestParseNeverPanics(t *testing.T) {
	for _, expr := range []string{"TZ=", "CRON_TZ=Europe", "@every", "@every -1s", "@every 0s", "-", "*/0 * * * *", "1-2-3 * * * *", "5-1 * * * *", ",,, * * * *", "@", "\x00"} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("Parse(%q) panicked: %v", expr, r)
				}
			}()
			Parse(expr, time.UTC, PolicyLocaljobs)
		}()
	}
}

func TestFixedTime(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{"30 2 * * *", true},
		{"0,30 2,3 * * 1-5", true},
		{"@daily", true},
		{"@weekly", true},
		{"@hourly", false},
		{"*/15 * * * *", false},
		{"30 * * * *", false},
		{"30 1-3 * * *", false},
		{"0 */2 * * *", false},
		{"0 ? * * *", false},
		{"@every 1h", false},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.expr, time.UTC, PolicyLocaljobs).FixedTime(); got != tt.want {
			t.Errorf("Parse(%q).FixedTime() = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

// TestDST walks schedules across both transitions of five zones. A trailing
// "*" marks a run the DST rule adjusted. Kubernetes-policy rows show the
// behaviour the localjobs.io/dst-policy: kubernetes annotation restores
// (robfig: gap slots skipped, repeated hour twice).
func TestDST(t *testing.T) {
	const L, K = PolicyLocaljobs, PolicyKubernetes
	tests := []struct {
		name   string
		zone   string
		expr   string
		policy Policy
		from   string
		want   []string
	}{
		// America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
		{"NY spring fixed", "America/New_York", "30 2 * * *", L, "2026-03-07T00:00:00-05:00",
			[]string{"2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00*", "2026-03-09T02:30:00-04:00"}},
		{"NY spring fixed kubernetes", "America/New_York", "30 2 * * *", K, "2026-03-07T00:00:00-05:00",
			[]string{"2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00"}},
		{"NY spring gap slots collapse", "America/New_York", "0,15,30,45 2 * * *", L, "2026-03-08T01:00:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00*", "2026-03-09T02:00:00-04:00"}},
		{"NY spring gap end is a real slot", "America/New_York", "0 2,3 * * *", L, "2026-03-08T00:00:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00", "2026-03-09T03:00:00-04:00"}},
		{"NY spring wildcard", "America/New_York", "*/30 * * * *", L, "2026-03-08T01:00:00-05:00",
			[]string{"2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"}},
		{"NY spring hourly", "America/New_York", "@hourly", L, "2026-03-08T00:30:00-05:00",
			[]string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}},
		{"NY fall fixed", "America/New_York", "30 1 * * *", L, "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00*", "2026-11-02T01:30:00-05:00"}},
		{"NY fall fixed kubernetes", "America/New_York", "30 1 * * *", K, "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-02T01:30:00-05:00"}},
		{"NY fall fixed from inside the repeat", "America/New_York", "30 1 * * *", L, "2026-11-01T01:10:00-05:00",
			[]string{"2026-11-02T01:30:00-05:00"}},
		{"NY fall wildcard", "America/New_York", "*/30 * * * *", L, "2026-11-01T00:45:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"}},
		// Europe/Berlin: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
		{"Berlin spring fixed", "Europe/Berlin", "30 2 * * *", L, "2026-03-28T12:00:00+01:00",
			[]string{"2026-03-29T03:00:00+02:00*", "2026-03-30T02:30:00+02:00"}},
		{"Berlin spring fixed kubernetes", "Europe/Berlin", "30 2 * * *", K, "2026-03-28T12:00:00+01:00",
			[]string{"2026-03-30T02:30:00+02:00"}},
		{"Berlin fall fixed", "Europe/Berlin", "30 2 * * *", L, "2026-10-24T12:00:00+02:00",
			[]string{"2026-10-25T02:30:00+02:00*", "2026-10-26T02:30:00+01:00"}},
		{"Berlin fall fixed kubernetes", "Europe/Berlin", "30 2 * * *", K, "2026-10-24T12:00:00+02:00",
			[]string{"2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-26T02:30:00+01:00"}},
		{"Berlin fall wildcard", "Europe/Berlin", "15 * * * *", L, "2026-10-25T01:30:00+02:00",
			[]string{"2026-10-25T02:15:00+02:00", "2026-10-25T02:15:00+01:00", "2026-10-25T03:15:00+01:00"}},
		// Australia/Sydney: 2026-04-05 03:00 AEDT → 02:00 AEST; 2026-10-04 02:00 AEST → 03:00 AEDT.
		{"Sydney fall fixed", "Australia/Sydney", "30 2 * * *", L, "2026-04-04T12:00:00+11:00",
			[]string{"2026-04-05T02:30:00+11:00*", "2026-04-06T02:30:00+10:00"}},
		{"Sydney spring fixed", "Australia/Sydney", "30 2 * * *", L, "2026-10-03T12:00:00+10:00",
			[]string{"2026-10-04T03:00:00+11:00*", "2026-10-05T02:30:00+11:00"}},
		{"Sydney spring wildcard", "Australia/Sydney", "*/20 * * * *", L, "2026-10-04T01:30:00+10:00",
			[]string{"2026-10-04T01:40:00+10:00", "2026-10-04T03:00:00+11:00", "2026-10-04T03:20:00+11:00"}},
		// Australia/Lord_Howe shifts by 30 minutes: 2026-04-05 02:00 (+11) → 01:30 (+10:30);
		// 2026-10-04 02:00 (+10:30) → 02:30 (+11).
		{"Lord Howe fall fixed", "Australia/Lord_Howe", "45 1 * * *", L, "2026-04-04T12:00:00+11:00",
			[]string{"2026-04-05T01:45:00+11:00*", "2026-04-06T01:45:00+10:30"}},
		{"Lord Howe fall fixed kubernetes", "Australia/Lord_Howe", "45 1 * * *", K, "2026-04-04T12:00:00+11:00",
			[]string{"2026-04-05T01:45:00+11:00", "2026-04-05T01:45:00+10:30", "2026-04-06T01:45:00+10:30"}},
		{"Lord Howe spring fixed", "Australia/Lord_Howe", "15 2 * * *", L, "2026-10-03T12:00:00+10:30",
			[]string{"2026-10-04T02:30:00+11:00*", "2026-10-05T02:15:00+11:00"}},
		{"Lord Howe spring wildcard", "Australia/Lord_Howe", "*/15 * * * *", L, "2026-10-04T01:40:00+10:30",
			[]string{"2026-10-04T01:45:00+10:30", "2026-10-04T02:30:00+11:00", "2026-10-04T02:45:00+11:00"}},
		{"Lord Howe fall wildcard", "Australia/Lord_Howe", "*/20 * * * *", L, "2026-04-05T01:30:00+11:00",
			[]string{"2026-04-05T01:40:00+11:00", "2026-04-05T01:40:00+10:30", "2026-04-05T02:00:00+10:30"}},
		// America/Santiago changes at midnight: 2026-04-05 00:00 (-03) → 2026-04-04 23:00 (-04);
		// 2026-09-06 00:00 (-04) → 01:00 (-03), so @daily is affected.
		{"Santiago spring daily", "America/Santiago", "@daily", L, "2026-09-04T12:00:00-04:00",
			[]string{"2026-09-05T00:00:00-04:00", "2026-09-06T01:00:00-03:00*", "2026-09-07T00:00:00-03:00"}},
		{"Santiago spring daily kubernetes", "America/Santiago", "@daily", K, "2026-09-04T12:00:00-04:00",
			[]string{"2026-09-05T00:00:00-04:00", "2026-09-07T00:00:00-03:00"}},
		{"Santiago fall daily", "America/Santiago", "@daily", L, "2026-04-03T12:00:00-03:00",
			[]string{"2026-04-04T00:00:00-03:00", "2026-04-05T00:00:00-04:00", "2026-04-06T00:00:00-04:00"}},
		{"Santiago fall fixed 23:30", "America/Santiago", "30 23 * * *", L, "2026-04-04T12:00:00-03:00",
			[]string{"2026-04-04T23:30:00-03:00*", "2026-04-05T23:30:00-04:00"}},
		{"Santiago fall fixed 23:30 kubernetes", "America/Santiago", "30 23 * * *", K, "2026-04-04T12:00:00-03:00",
			[]string{"2026-04-04T23:30:00-03:00", "2026-04-04T23:30:00-04:00", "2026-04-05T23:30:00-04:00"}},
		{"Santiago spring wildcard", "America/Santiago", "30 * * * *", L, "2026-09-05T23:00:00-04:00",
			[]string{"2026-09-05T23:30:00-04:00", "2026-09-06T01:30:00-03:00"}},
		// @every follows elapsed time under both policies.
		{"NY every 90m", "America/New_York", "@every 90m", L, "2026-03-08T00:00:00-05:00",
			[]string{"2026-03-08T01:30:00-05:00", "2026-03-08T04:00:00-04:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustZone(t, tt.zone)
			s := mustParse(t, tt.expr, loc, tt.policy)
			from := mustTime(t, tt.from)
			var got []string
			for range tt.want {
				f := s.NextFire(from)
				v := f.Time.In(loc).Format(time.RFC3339)
				if f.Adjusted {
					v += "*"
					if f.Reason == "" {
						t.Errorf("adjusted run %s has no reason", v)
					}
				}
				got = append(got, v)
				from = f.Time
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("%s in %s from %s:\n got %v\nwant %v", tt.expr, tt.zone, tt.from, got, tt.want)
			}
		})
	}
}

// TestDSTNextIsStrictlyIncreasing checks, minute by minute across both New
// York transitions and Lord Howe's, that Next never returns a time at or
// before its input and that fixed-time schedules never run one wall-clock
// slot twice.
func TestDSTNextIsStrictlyIncreasing(t *testing.T) {
	for _, zone := range []string{"America/New_York", "Australia/Lord_Howe", "America/Santiago"} {
		loc := mustZone(t, zone)
		for _, expr := range []string{"30 1 * * *", "0,30 2 * * *", "*/7 * * * *", "@daily", "45 23 * * *"} {
			s := mustParse(t, expr, loc, PolicyLocaljobs)
			for _, start := range []string{"2026-03-07T00:00:00Z", "2026-10-31T00:00:00Z", "2026-04-03T00:00:00Z", "2026-10-02T00:00:00Z", "2026-09-04T00:00:00Z"} {
				from := mustTime(t, start)
				seen := map[string]bool{}
				for i := 0; i < 300; i++ {
					next, _ := s.Next(from)
					if !next.After(from) {
						t.Fatalf("%s %s: Next(%v) = %v, not after", zone, expr, from, next)
					}
					wall := next.In(loc).Format("2006-01-02 15:04")
					if s.FixedTime() && seen[wall] {
						t.Fatalf("%s %s: wall-clock slot %s ran twice", zone, expr, wall)
					}
					seen[wall] = true
					from = next
				}
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"30 2 * * 1-5", "At 02:30 on every day-of-week from Monday through Friday."},
		{"* * * * *", "At every minute."},
		{"*/5 * * * *", "At every 5th minute."},
		{"0 * * * *", "At minute 0."},
		{"@hourly", "At minute 0."},
		{"@daily", "At 00:00."},
		{"@weekly", "At 00:00 on Sunday."},
		{"@monthly", "At 00:00 on day-of-month 1."},
		{"@yearly", "At 00:00 on day-of-month 1 in January."},
		{"5 4 * * sun", "At 04:05 on Sunday."},
		{"0 22 * * MON-FRI", "At 22:00 on every day-of-week from Monday through Friday."},
		{"23 0-20/2 * * *", "At minute 23 past every 2nd hour from 0 through 20."},
		{"0 0,12 1 */2 *", "At minute 0 past hour 0 and 12 on day-of-month 1 in every 2nd month."},
		{"0 4 8-14 * *", "At 04:00 on every day-of-month from 8 through 14."},
		{"0 0 1,15 * 3", "At 00:00 on day-of-month 1 and 15 and on Wednesday."},
		{"5 0 * 8 *", "At 00:05 in August."},
		{"1,2,3 * * * *", "At minute 1, 2, and 3."},
		{"* 3 * * *", "At every minute past hour 3."},
		{"5/15 * * * *", "At every 15th minute from 5 through 59."},
		{"*/15 9-17 * * *", "At every 15th minute past every hour from 9 through 17."},
		{"0 12 ? * 1,5", "At 12:00 on Monday and Friday."},
		{"0 9 * jan-mar *", "At 09:00 in every month from January through March."},
		{"@every 90m", "Every 1 hour 30 minutes, counted from the last scheduled run (or the CronJob's creation), not aligned to the clock."},
	}
	for _, tt := range tests {
		if got := Describe(tt.expr); got != tt.want {
			t.Errorf("Describe(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}
