// Command localjobs runs Kubernetes Pods, Jobs and CronJobs on one machine
// with Docker, without a cluster. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/localjobs/localjobs/cli"
)

func main() {
	// The first SIGINT/SIGTERM cancels ctx; verbs that need a graceful stop
	// (run) watch the signals themselves.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }() // after the first signal a second one kills, unless a verb catches it
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
