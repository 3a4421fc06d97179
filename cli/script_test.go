package cli

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
)

var update = flag.Bool("update", false, "rewrite the golden blocks of testdata/script/*.txtar")

// TestMain lets the CLI scripts run `localjobs` as a subprocess of the test
// binary, with the fake runtime in place of Docker.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"localjobs": func() {

			// As main.go: the first SIGINT/SIGTERM cancels ctx.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			go func() { <-ctx.Done(); stop() }()
			os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr, scriptStarter))
		},
	})
}

// scriptRuntime is the fake runtime of the CLI scripts: image "busybox" is
// present; a container's command decides what it does — `echo WORDS`
// prints them, `sleep N` runs N seconds, `trap` ignores SIGTERM, `exit N` exits with N, and
// `ecoh` cannot start.
// scriptStarter starts the scripts' daemons with the fake runtime.
var scriptStarter = daemon.Starter{Version: Version, Runtime: execRuntime{scriptRuntime()}}

func scriptRuntime() runner.Runtime {
	rt := runnertest.NewRuntime("busybox")
	rt.Script = func(spec runner.ContainerSpec) runnertest.Behavior {
		var b runnertest.Behavior
		words := append(append([]string{}, spec.Entrypoint...), spec.Cmd...)
		if len(words) >= 2 && words[0] == "sh" && words[1] == "-c" {
			words = strings.Fields(strings.Join(words[2:], " "))
		}
		for i := 0; i < len(words); i++ {
			switch strings.TrimSuffix(words[i], ";") {
			case "trap":
				b.IgnoreTerm = true
			case "ecoh":
				b.StartErr = `exec: "ecoh": executable file not found in $PATH`
			case "echo":
				var out []string
				for i+1 < len(words) && !strings.HasSuffix(words[i], ";") {
					i++
					out = append(out, strings.TrimSuffix(words[i], ";"))
				}
				b.Lines = append(b.Lines, strings.Join(out, " "))
			case "sleep":
				if i+1 < len(words) {
					i++
					n, _ := strconv.ParseFloat(strings.TrimSuffix(words[i], ";"), 64)
					b.RunFor += time.Duration(n * float64(time.Second))
				}
			case "exit":
				if i+1 < len(words) {
					i++
					b.ExitCode, _ = strconv.Atoi(strings.TrimSuffix(words[i], ";"))
				}
			}
		}
		return b
	}
	return rt
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "../testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			// Keep the socket path short (unix sockets allow 107 bytes).
			dir, err := os.MkdirTemp("", "ljs")
			if err != nil {
				return err
			}
			env.Defer(func() { os.RemoveAll(dir) })
			env.Setenv("LOCALJOBS_STATE_DIR", dir)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitsock": waitSock,
			"ljnorm":   normalizeOutput,
			"until":    until,
		},
	})
}

// waitsock waits until the daemon of $LOCALJOBS_STATE_DIR answers.
func waitSock(ts *testscript.TestScript, neg bool, args []string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out, errb strings.Builder
		ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(time.Second))
		code := Main(ctx, []string{"--state-dir", ts.Getenv("LOCALJOBS_STATE_DIR"), "version", "--daemon"}, &out, &errb, scriptStarter)
		cancel()
		if code == 0 {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("daemon did not answer within 10s: %s", errb.String())
		}
		<-time.After(20 * time.Millisecond) // polling the socket, bounded by the deadline
	}
}
