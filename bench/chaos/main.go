// Command chaos is localjobs' reliability harness (make chaos): it drives the
// built binary against real Docker engines — the environment's, and a private
// second dockerd it starts and removes itself — through faults (kill -9 of
// the daemon, the engine killed and restarted, the engine down at start, a
// full state dir, a damaged database, two daemons racing), and prints one
// table: each scenario, PASS or FAIL, what was lost or duplicated (must be
// nothing) and how long it took. Details and evidence go to stderr.
//
//	go run ./bench/chaos [-bin ./localjobs] [-kills 100] [-only REGEXP]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

// env is what every scenario gets.
type env struct {
	bin   string // the localjobs binary, absolute
	image string // the busybox test image on the environment's engine
	tmp   string // removed at the end
	kills int
	rnd   *rand.Rand
}

// scenario is a group of rows run together (the engine ones share a
// private dockerd; the kill run also checks the Forbid CronJob).
type scenario struct {
	name string
	run  func(ctx context.Context, e *env) []outcome
}

var scenarios = []scenario{
	{"kill", func(ctx context.Context, e *env) []outcome { k, f := killDaemon(ctx, e); return []outcome{k, f} }},
	{"engine", func(ctx context.Context, e *env) []outcome { d, r := engineScenarios(ctx, e); return []outcome{r, d} }},
	{"disk", func(ctx context.Context, e *env) []outcome { return []outcome{fullDisk(ctx, e)} }},
	{"db", func(ctx context.Context, e *env) []outcome { return []outcome{damagedDB(ctx, e)} }},
	{"race", func(ctx context.Context, e *env) []outcome { return []outcome{twoDaemons(ctx, e)} }},
}

func main() {
	bin := flag.String("bin", "./localjobs", "the localjobs binary to test")
	kills := flag.Int("kills", 100, "kill -9 moments in the first scenario")
	only := flag.String("only", "", "run only the scenario groups whose name matches this regexp ("+names()+")")
	seed := flag.Uint64("seed", 0, "random seed (0: from the clock; printed)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, *bin, *kills, *only, *seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// run runs the scenarios and prints the table; ok is false if any row failed.
func run(ctx context.Context, bin string, kills int, only string, seed uint64) (ok bool, err error) {
	re, err := regexp.Compile(only)
	if err != nil {
		return false, fmt.Errorf("-only: %w", err)
	}
	if os.Geteuid() != 0 {
		return false, errors.New("make chaos needs root: it starts a private dockerd, creates a bridge, mounts a tmpfs")
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	logf("seed %d (rerun with -seed %d)", seed, seed)
	abs, err := filepath.Abs(bin)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(abs); err != nil {
		return false, fmt.Errorf("%w (make chaos builds it first)", err)
	}
	// Short paths: unix sockets allow 107 bytes.
	tmp, err := os.MkdirTemp("", "ljc")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	e := &env{bin: abs, tmp: tmp, kills: kills, rnd: rand.New(rand.NewPCG(seed, seed>>1))}
	if e.image, err = dockertest.BuildBusybox(ctx); err != nil {
		return false, err
	}
	var rows []outcome
	t0 := time.Now()
	for _, s := range scenarios {
		if !re.MatchString(s.name) {
			continue
		}
		logf("=== %s", s.name)
		rows = append(rows, s.run(ctx, e)...)
		if ctx.Err() != nil {
			break
		}
	}
	printTable(os.Stdout, rows)
	fmt.Printf("wall time %s\n", time.Since(t0).Round(time.Second))
	for _, r := range rows {
		if !r.Pass {
			return false, nil
		}
	}
	return true, nil
}

func names() string {
	var s []string
	for _, g := range scenarios {
		s = append(s, g.name)
	}
	return strings.Join(s, ", ")
}

// logf prints one timestamped line of evidence to stderr.
func logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), strings.TrimRight(msg, "\n"))
}
