package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// Defaults of up's run history flags (package history's).
const (
	defaultHistoryLimit = 100
	defaultHistoryAge   = 30 * 24 * time.Hour
)

// observeFlags are up's flags for the run history, the metrics and the
// webhook notifications (issue #13).
type observeFlags struct {
	historyLimit int
	historyAge   daysValue
	metricsAddr  string
	notifyURL    string
	notifyFormat string
	notifyOn     string
}

func addObserveFlags(fs *pflag.FlagSet) *observeFlags {
	f := &observeFlags{historyAge: daysValue(defaultHistoryAge)}
	fs.IntVar(&f.historyLimit, "history-limit", defaultHistoryLimit, "runs kept in the history per CronJob or Job name (localjobs history)")
	fs.Var(&f.historyAge, "history-age", "runs older than this leave the history (e.g. 30d, 72h)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on /metrics at this address (:9464 means 127.0.0.1:9464; off unless given)")
	fs.StringVar(&f.notifyURL, "notify-url", "", "POST a notification of every failed Job to this http(s) URL (annotation localjobs.io/notify-url overrides)")
	fs.StringVar(&f.notifyFormat, "notify-format", "json", "notification body: json or slack")
	fs.StringVar(&f.notifyOn, "notify-on", "failure", "when to notify: failure, always or never")
	return f
}

// apply checks the flags and sets them on o.
func (f *observeFlags) apply(o *localapi.DaemonOptions) error {
	if f.historyLimit < 1 {
		return &usageError{msg: "--history-limit must be at least 1", hint: "--history-limit=100"}
	}
	if f.notifyURL != "" {
		if msg := manifest.CheckNotifyURL(f.notifyURL); msg != "" {
			return &usageError{msg: fmt.Sprintf("--notify-url %q: %s", f.notifyURL, msg), hint: "--notify-url=https://hooks.example.com/localjobs"}
		}
	}
	switch f.notifyFormat {
	case "json", "slack":
	default:
		return &usageError{msg: fmt.Sprintf("--notify-format=%s: want json or slack", f.notifyFormat), hint: "--notify-format=slack"}
	}
	switch f.notifyOn {
	case "failure", "always", "never":
	default:
		return &usageError{msg: fmt.Sprintf("--notify-on=%s: want failure, always or never", f.notifyOn), hint: "--notify-on=always"}
	}
	o.HistoryLimit, o.HistoryMaxAge = f.historyLimit, time.Duration(f.historyAge)
	o.MetricsAddr, o.NotifyURL, o.NotifyFormat, o.NotifyOn = f.metricsAddr, f.notifyURL, f.notifyFormat, f.notifyOn
	return nil
}

// daysValue is a duration flag that also takes whole days ("30d").
type daysValue time.Duration

func (d *daysValue) String() string {
	v := time.Duration(*d)
	if v%(24*time.Hour) == 0 && v > 0 {
		return strconv.Itoa(int(v/(24*time.Hour))) + "d"
	}
	return v.String()
}

func (d *daysValue) Set(s string) error {
	var v time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("want whole days (30d) or a duration (72h)")
		}
		v = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if v, err = time.ParseDuration(s); err != nil {
			return fmt.Errorf("want whole days (30d) or a duration (72h)")
		}
	}
	if v <= 0 {
		return fmt.Errorf("must be more than 0")
	}
	*d = daysValue(v)
	return nil
}

func (d *daysValue) Type() string { return "duration" }
