// Command localjobs runs Kubernetes Pods, Jobs and CronJobs on one machine
// with Docker, without a cluster. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	_ "time/tzdata" // every IANA zone, also in a FROM scratch image

	"github.com/localjobs/localjobs/cli"
	"github.com/localjobs/localjobs/daemon"
)

func main() {
	// The first SIGINT/SIGTERM cancels ctx; verbs that need a graceful stop
	// (run, up) watch the signals themselves.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }() // after the first signal a second one kills, unless a verb catches it
	// The CLI reaches daemons only through localapi; it gets the means to
	// start one in this process from here.
	stopProfile := profile()
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, daemon.Starter{Version: cli.Version})
	stop()
	stopProfile()
	os.Exit(code)
}

// profile writes a CPU profile of the whole run to $LOCALJOBS_CPUPROFILE
// when it is set (make bench's investigations: go tool pprof localjobs FILE).
func profile() func() {
	path := os.Getenv("LOCALJOBS_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		os.Stderr.WriteString("localjobs: LOCALJOBS_CPUPROFILE: " + err.Error() + "\n")
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
