package schedule

import (
	"sync"
	"testing"
	"time"
)

// fuzzZones caches time.LoadLocation, which reads the zone database on
// every call.
var fuzzZones sync.Map // name → *time.Location or nil

func fuzzZone(name string) *time.Location {
	if v, ok := fuzzZones.Load(name); ok {
		loc, _ := v.(*time.Location)
		return loc
	}
	loc, err := LoadZone(name)
	if err != nil {
		loc = nil
	}
	fuzzZones.Store(name, loc)
	return loc
}

// fuzzNextBudget is how long a few Next calls may take before the fuzzer
// calls it a hang: a CronJob controller computes Next on every sync.
const fuzzNextBudget = 2 * time.Second

// FuzzParse checks that no expression, zone and start time make Parse,
// Next or Describe panic or spin, and that Next moves strictly forward.
func FuzzParse(f *testing.F) {
	// cron-vectors.md: the schedules of tables A–C and F–H at their T.
	const vecT = 1463652000 // 2016-05-19T10:00:00Z, a Thursday
	for _, expr := range []string{
		"0 * * * *", "30 6-16/4 * * 1-5", "30 10,11,12 * * 1-5", "@every 1h", "59 23 31 2 *",
		"*/5 * * * *", "0 * * * ?", "0 12 * * 4", "0 12 * * 5", "obvious error schedule",
		"TZ=UTC 0 * * * ?", "30 * * * *", "*/1 * * * *", "@every 1m", "@every 3m", "@every 5m",
		"CRON_TZ=UTC 0 * * * *", "0 0 * * 7", "* * * * * *", "@reboot", "0 0 ? * MON",
		"*/61 * * * *", "61 * * * *", "",
	} {
		for _, zone := range []string{"", "UTC", "America/New_York", "Europe/Rome", "bad timezone"} {
			f.Add(expr, zone, int64(vecT), false)
		}
	}
	// Impossible dates, DST transitions, macros, odd shapes and extreme times.
	for _, s := range []struct {
		expr, zone string
		unix       int64
		kube       bool
	}{
		{"0 0 30 2 *", "UTC", vecT, false},
		{"0 0 31 4,6,9,11 *", "Europe/Berlin", vecT, true},
		{"0 0 29 2 *", "UTC", vecT, false},
		{"0 0 29 2 1", "UTC", vecT, false},
		{"30 2 * * *", "America/New_York", 1772938800, false}, // 2026-03-08, spring forward
		{"30 1 * * *", "America/New_York", 1793491200, false}, // 2026-11-01, fall back
		{"30 1 * * *", "America/New_York", 1793491200, true},
		{"0,30 2 * * *", "Australia/Lord_Howe", 1775000000, false},
		{"*/7 * * * *", "America/Santiago", 1775000000, false},
		{"@yearly", "Pacific/Apia", vecT, false},
		{"@monthly", "Asia/Kathmandu", vecT, false},
		{"@weekly", "UTC", vecT, false},
		{"@daily", "Local", vecT, false},
		{"@every 1ns", "UTC", vecT, false},
		{"@every 2562047h", "UTC", vecT, false},
		{"@every -1s", "UTC", vecT, false},
		{"0 0 1 jan-dec/5 sun,sat", "UTC", vecT, false},
		{"5-1 * * * *", "UTC", vecT, false},
		{"*/0 * * * *", "UTC", vecT, false},
		{"0 0 * * *", "UTC", 0, false},
		{"0 0 * * *", "UTC", -62135596800, false},        // 0001-01-01
		{"0 0 * * *", "UTC", 253402300799, false},        // 9999-12-31T23:59:59Z
		{"0 0 * * *", "UTC", 1 << 62, false},             // far beyond year 9999
		{"0 0 * * *", "UTC", -1 << 62, false},            // far before year 1
		{"0 0 * * *", "America/New_York", 1 << 40, true}, // year ~36812
		{"@every 1h", "UTC", 1<<63 - 1, false},
	} {
		f.Add(s.expr, s.zone, s.unix, s.kube)
	}
	f.Fuzz(func(t *testing.T, expr, zone string, unix int64, kube bool) {
		loc := time.UTC
		if zone != "" {
			if l := fuzzZone(zone); l != nil {
				loc = l
			}
		}
		policy := PolicyLocaljobs
		if kube {
			policy = PolicyKubernetes
		}
		s, err := Parse(expr, loc, policy)
		if err != nil {
			if err.Error() == "" {
				t.Errorf("Parse(%q): empty error", expr)
			}
			return
		}
		_ = s.FixedTime()
		_ = s.Every()
		if Describe(expr) == "" {
			t.Errorf("Describe(%q) is empty", expr)
		}
		after := time.Unix(unix, 0)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range 4 {
				f := s.NextFire(after)
				if f.Time.IsZero() {
					return
				}
				if !f.Time.After(after) {
					t.Errorf("Parse(%q) in %s: Next(%v) = %v, not after it", expr, loc, after, f.Time)
					return
				}
				if f.Adjusted && f.Reason == "" {
					t.Errorf("Parse(%q) in %s: Next(%v) adjusted without a reason", expr, loc, after)
				}
				after = f.Time
			}
		}()
		select {
		case <-done:
		case <-time.After(fuzzNextBudget):
			t.Fatalf("Parse(%q) in %s: 4 Next calls from %v took more than %v", expr, loc, time.Unix(unix, 0), fuzzNextBudget)
		}
	})
}
