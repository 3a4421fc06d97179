// Package cli implements the localjobs command line: one file per verb,
// each with its own pflag FlagSet, printing kubectl-shaped tables and
// objects. Main is the whole program minus the process: main.go only builds
// the context and calls it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/localjobs/localjobs/localapi"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitTimeout = 124
)

// Version is set at build time with -ldflags "-X github.com/localjobs/localjobs/cli.Version=…".
var Version = "dev"

// env is what every verb gets.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stateDir       string
	// starter starts daemons in this process (main's).
	starter localapi.Starter
}

// usageError is a command-line mistake: printed with a hint, exit 2.
type usageError struct{ msg, hint string }

func (e *usageError) Error() string { return e.msg }

// exitError carries a specific exit code for an error already reported.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

const usage = `localjobs runs Kubernetes Pods and Jobs as Docker containers, without a cluster.

Usage:
  localjobs up [DIR|FILE...]                                run the daemon; keep specs/ applied as files change
  localjobs run -f FILE|DIR [-o json] [--timeout D]         run until done; exit 0 only if all succeeded
  localjobs apply -f FILE|DIR                               apply to the running daemon
  localjobs delete pod|job NAME | -f FILE [--grace-period N] [--force]   stop and delete
  localjobs events [--for KIND/NAME]                        events, oldest first
  localjobs history [cronjob/NAME|job/NAME] [-n NS|-A] [-o json]   runs kept after their Jobs, newest first
  localjobs wait --for=condition=complete|failed|delete job/NAME [--timeout D]
  localjobs get pods|jobs|cronjobs|all [NAME] [-n NS|-A] [-l SEL] [--field-selector S]
               [-o wide|json|yaml|name|jsonpath=…|custom-columns=…] [-w]
  localjobs describe pod|job|cronjob NAME                   details and events
  localjobs logs POD|job/NAME|-l SEL [-c C|--all-containers] [-f] [--previous] [--tail N] [--since D] [--timestamps]
  localjobs exec POD [-c CONTAINER] -- COMMAND [ARG...]    run a command in a running container
  localjobs create job NAME --from=cronjob/CJ [--force] | --image IMG [-- CMD...]
  localjobs suspend|resume cronjob|job NAME                 stop or restart scheduling / a Job's pods
  localjobs validate PATH...                                check YAML as the apiserver would
  localjobs schedule "EXPR" [--time-zone TZ] [--from T] [-n N]   the schedule in English and its next fire times
  localjobs import crontab [FILE|-] [--image IMG] [--system]     a crontab as CronJob YAML (default: crontab -l)
  localjobs version

Global flags:
  --state-dir DIR   state directory (default $LOCALJOBS_STATE_DIR, $XDG_STATE_HOME/localjobs,
                    ~/.local/state/localjobs)
`

// Main runs the command line args (without the program name) and returns
// the process exit code. start starts daemons in this process (up, and
// run, delete or the read verbs when no daemon runs).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, start localapi.Starter) int {
	e := &env{stdin: os.Stdin, stdout: stdout, stderr: stderr, starter: start}
	args = e.globalFlags(args)
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	verb, rest := args[0], args[1:]
	var err error
	switch verb {
	case "run":
		err = e.run(ctx, rest)
	case "up":
		err = e.up(ctx, rest)
	case "apply":
		err = e.apply(ctx, rest)
	case "delete":
		err = e.del(ctx, rest)
	case "events":
		err = e.events(ctx, rest)
	case "history":
		err = e.history(ctx, rest)
	case "wait":
		err = e.wait(ctx, rest)
	case "get":
		err = e.get(ctx, rest)
	case "describe":
		err = e.describe(ctx, rest)
	case "logs":
		err = e.logs(ctx, rest)
	case "create":
		err = e.create(ctx, rest)
	case "suspend", "resume":
		err = e.suspendResume(ctx, verb, rest)
	case "exec":
		err = e.exec(ctx, rest)
	case "schedule":
		err = e.scheduleCmd(rest)
	case "validate":
		err = e.validate(rest)
	case "import":
		err = e.importCmd(ctx, rest)
	case "version":
		err = e.version(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = &usageError{msg: fmt.Sprintf("unknown command %q", verb), hint: "run 'localjobs help' for the commands"}
	}
	return e.report(err)
}

func (e *env) report(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "localjobs: %s\n", ue.msg)
		if ue.hint != "" {
			fmt.Fprintf(e.stderr, "hint: %s\n", ue.hint)
		}
		return exitUsage
	}
	var xe *exitError
	if errors.As(err, &xe) {
		if xe.err != nil && xe.err.Error() != "" {
			fmt.Fprintf(e.stderr, "localjobs: %s\n", xe.err)
		}
		return xe.code
	}
	fmt.Fprintf(e.stderr, "localjobs: %s\n", err)
	return exitFailed
}

// globalFlags takes --state-dir from anywhere in args.
func (e *env) globalFlags(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--state-dir" && i+1 < len(args):
			e.stateDir = args[i+1]
			i++
		case strings.HasPrefix(a, "--state-dir="):
			e.stateDir = strings.TrimPrefix(a, "--state-dir=")
		default:
			out = append(out, a)
		}
	}
	return out
}

// flags returns a FlagSet for a verb that reports to stderr.
func (e *env) flags(name, use string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: localjobs %s\n\nFlags:\n%s", use, fs.FlagUsages())
	}
	return fs
}

// parse parses flags, turning a flag error into a usage error.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return &exitError{code: exitUsage, err: errors.New("")}
	}
	return nil
}

// version prints the CLI's version and, when one runs, the daemon's;
// --daemon fails unless a daemon answers.
func (e *env) version(ctx context.Context, args []string) error {
	fs := e.flags("version", "version [--daemon]")
	needDaemon := fs.Bool("daemon", false, "fail unless a daemon answers")
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Client Version: %s\n", Version)
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	if c == nil {
		if *needDaemon {
			return &exitError{code: exitFailed, err: errors.New("no localjobs daemon is running")}
		}
		return nil
	}
	fmt.Fprintf(e.stdout, "Daemon Version: %s\n", c.DaemonVersion)
	return nil
}
