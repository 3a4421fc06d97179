// Command bench measures localjobs next to its anchors on this machine and
// prints one table (make bench): each row's localjobs figure, its anchor
// measured in the same run, and their ratio. It uses only the project, the
// Docker engine of the environment and a busybox image built locally.
//
//	go run ./bench [-rows REGEXP] [-n N]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/localjobs/localjobs/runner/docker"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

// env is what every row gets.
type env struct {
	bin   string // the localjobs binary
	image string // local busybox image
	rt    *docker.Runtime
	tmp   string
	n     int // repetitions for per-attempt rows
	log   func(format string, args ...any)
}

// result is one printed row.
type result struct {
	measure   string
	localjobs string
	anchor    string
	ratio     string
	target    string
}

type row struct {
	name string
	run  func(ctx context.Context, e *env) ([]result, error)
}

var rows = []row{
	{"overhead", runOverhead},
	{"throughput", throughput},
	{"cron", cronLatency},
	{"footprint", footprint},
	{"logs", logCapture},
}

func main() {
	only := flag.String("rows", "", "run only the rows whose name matches this regexp ("+names()+")")
	n := flag.Int("n", 20, "repetitions of per-attempt measurements")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *only, *n); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func names() string {
	var s []string
	for _, r := range rows {
		s = append(s, r.name)
	}
	return strings.Join(s, ", ")
}

func run(ctx context.Context, only string, n int) error {
	re, err := regexp.Compile(only)
	if err != nil {
		return fmt.Errorf("-rows: %w", err)
	}
	tmp, err := os.MkdirTemp("", "ljbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	e := &env{bin: filepath.Join(tmp, "localjobs"), tmp: tmp, n: n, log: logf}
	logf("building localjobs")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", e.bin, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	if e.rt, err = docker.New(ctx); err != nil {
		return fmt.Errorf("docker engine: %w", err)
	}
	if e.image, err = dockertest.BuildBusybox(ctx); err != nil {
		return err
	}
	var all []result
	failed := false
	for _, r := range rows {
		if !re.MatchString(r.name) {
			continue
		}
		logf("row %s", r.name)
		res, err := r.run(ctx, e)
		if err != nil {
			// One row's failure (an engine call of an anchor timing out)
			// does not cost the others their numbers: it is a row too.
			logf("row %s failed: %v", r.name, err)
			res = append(res, result{measure: r.name, localjobs: "FAILED", anchor: "-", ratio: "-", target: err.Error()})
			failed = true
		}
		all = append(all, res...)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, " measure\t localjobs\t anchor\t ratio\t target\t")
	for _, r := range all {
		fmt.Fprintf(tw, " %s\t %s\t %s\t %s\t %s\t\n", r.measure, r.localjobs, r.anchor, r.ratio, r.target)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed {
		return fmt.Errorf("a row failed (see the table and the log above)")
	}
	return nil
}

// pct is the nearest-rank percentile of ds.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s) + 99) / 100
	return s[max(i-1, 0)]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

// commandContext is exec.CommandContext (one place to add the bench's
// environment if ever needed).
func commandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}
