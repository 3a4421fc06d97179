// Package cli implements the localjobs command line: one file per verb
// (a large verb's parts in files named after it: get_tables.go,
// describe_pod.go), each verb with its own pflag FlagSet, printing
// kubectl-shaped tables and objects. kinds.go holds the resource kinds and
// argument forms the verbs share. Main is the whole program minus the
// process: main.go only builds the context and calls it.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
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
	// verb is the command being run, for "See 'localjobs VERB --help'".
	verb string
	// probe, when set, receives the verb's FlagSet (completion asks a
	// verb for its flags by running it with -h).
	probe **pflag.FlagSet
}

// usageError is a command-line mistake: printed as kubectl prints one
// (error: …, then where the usage is), with an optional hint; exit 2.
type usageError struct{ msg, hint string }

func (e *usageError) Error() string { return e.msg }

// exitError carries a specific exit code for an error already reported.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

// apiError is an error as kubectl prints the API server's, without the
// "error: " of client-side errors: Error from server (NotFound): ….
type apiError struct{ reason, msg string }

func (e *apiError) Error() string { return fmt.Sprintf("Error from server (%s): %s", e.reason, e.msg) }

const usage = `localjobs runs Kubernetes Pods, Jobs and CronJobs as Docker containers, without a cluster.

Usage:
  localjobs up [DIR|FILE...]                 run the daemon; keep the manifests applied as files change (default specs/)
  localjobs run -f FILE|DIR [-o json|yaml] [--timeout D] [--dry-run]
                                             run Pods and Jobs until done; exit 0 only if all succeeded
  localjobs apply -f FILE|DIR [-n NS] [--dry-run=client]
                                             apply to the running daemon
  localjobs get pods|jobs|cronjobs|events|all [NAME...] [-n NS|-A] [-l SEL] [--field-selector S]
               [-o wide|json|yaml|name|jsonpath=…|custom-columns=…] [-w] [--no-headers] [--show-labels] [--sort-by F]
  localjobs history [cronjob/NAME|job/NAME] [-n NS|-A] [-o json]
                                             runs kept after their Jobs, newest first
  localjobs describe pod|job|cronjob [NAME...] [-l SEL]
                                             details and events (all of the kind without a NAME)
  localjobs logs POD|job/NAME|-l SEL [-c C|--all-containers] [-f] [--previous] [--tail N] [--since D] [--timestamps]
  localjobs events [--for KIND/NAME] [--types Warning] [-w]
                                             events, oldest first
  localjobs wait --for=condition=C|jsonpath='{…}'=V|delete pod/NAME|job/NAME… [--timeout D]
  localjobs delete pod|job|cronjob NAME...|-l SEL|--all | -f FILE [--grace-period N] [--force]
                                             stop and delete (works without a running daemon)
  localjobs create job NAME --from=cronjob/CJ [--force] | --image IMG [-- CMD...]
  localjobs suspend|resume cronjob|job NAME  stop or restart scheduling / a Job's pods
  localjobs exec POD [-c CONTAINER] -- COMMAND [ARG...]
                                             run a command in a running container
  localjobs validate PATH...                 check manifests as the API server would
  localjobs explain KIND[.FIELD...]          the fields of Pod, Job, CronJob, ConfigMap, Secret, and what localjobs does with each
  localjobs schedule "EXPR" [--time-zone TZ] [--from T] [-n N]
                                             the schedule in English and its next fire times
  localjobs import crontab [FILE|-] [--image IMG] [--system]
                                             a crontab as CronJob YAML (default: crontab -l)
  localjobs completion bash|zsh|fish         shell completion script
  localjobs version [--client] [-o json|yaml]

Global flags:
` + globalFlagUsage + `
Run 'localjobs VERB --help' for a verb's flags.
`

// globalFlagUsage is the help of the flags every verb takes.
const globalFlagUsage = `      --state-dir DIR   state directory (default $LOCALJOBS_STATE_DIR, else $XDG_STATE_HOME/localjobs,
                        else ~/.local/state/localjobs)
`

// verbs are the commands, for the unknown-command suggestion and
// completion.
var verbs = []string{"apply", "completion", "create", "delete", "describe", "events", "exec", "explain", "get", "logs",
	"resume", "run", "schedule", "suspend", "up", "validate", "version", "wait"}

// Main runs the command line args (without the program name) and returns
// the process exit code. start starts daemons in this process (up, and
// run, delete or the read verbs when no daemon runs).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, start localapi.Starter) int {
	e := &env{stdin: os.Stdin, stdout: stdout, stderr: stderr, starter: start}
	args, err := e.globalFlags(args)
	if err != nil {
		return e.report(err)
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	verb, rest := args[0], args[1:]
	if verb == "help" && len(rest) > 0 && slices.Contains(verbs, rest[0]) {
		// localjobs help get = localjobs get --help
		verb, rest = rest[0], []string{"--help"}
	}
	e.verb = verb
	switch verb {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	case completeVerb:
		err = e.complete(ctx, rest)
	default:
		var known bool
		if known, err = e.dispatch(ctx, verb, rest); !known {
			e.verb = ""
			msg := fmt.Sprintf("unknown command %q for \"localjobs\"", verb)
			if s := suggest(verb, verbs); s != "" {
				msg += "\n\nDid you mean this?\n\t" + s + "\n"
			}
			err = &usageError{msg: msg}
		}
	}
	return e.report(err)
}

// dispatch runs a verb; known is false for a verb there is none of.
func (e *env) dispatch(ctx context.Context, verb string, rest []string) (known bool, err error) {
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
	case "explain":
		err = e.explain(rest)
	case "completion":
		err = e.completion(rest)
	case "version":
		err = e.version(ctx, rest)
	default:
		return false, nil
	}
	return true, err
}

// suggest returns the verb closest to a mistyped one (edit distance at
// most 2, or a prefix), as cobra's "Did you mean this?" does, or "".
func suggest(typed string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := manifest.EditDistance(typed, c)
		if len(typed) >= 2 && strings.HasPrefix(c, typed) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// report prints err the way kubectl prints errors and returns the exit
// code: "error: …" for the CLI's own errors (usage errors add where the
// help is, and exit 2), "Error from server (Reason): …" as is for what the
// daemon refused.
func (e *env) report(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "error: %s\n", ue.msg)
		if ue.hint != "" {
			fmt.Fprintf(e.stderr, "hint: %s\n", ue.hint)
		}
		if e.verb != "" {
			fmt.Fprintf(e.stderr, "See 'localjobs %s --help' for usage.\n", e.verb)
		} else {
			fmt.Fprintln(e.stderr, "Run 'localjobs --help' for usage.")
		}
		return exitUsage
	}
	code := exitFailed
	var xe *exitError
	if errors.As(err, &xe) {
		code = xe.code
		if xe.err == nil || xe.err.Error() == "" {
			return code
		}
		err = xe.err
	}
	fmt.Fprintln(e.stderr, errorLine(err))
	return code
}

// errorLine is err as kubectl prints it: the API server's refusals as
// "Error from server (Reason): message", anything else after "error: ".
func errorLine(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	var se *localapi.StatusError
	if errors.As(err, &se) && se.Status.Reason != "" && err.Error() == se.Error() {
		return fmt.Sprintf("Error from server (%s): %s", se.Status.Reason, se.Status.Message)
	}
	return "error: " + err.Error()
}

// lastError prints every error but the last on stderr and returns the
// last (nil for none), as kubectl reports the objects it could not find.
func (e *env) lastError(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, err := range errs[:len(errs)-1] {
		fmt.Fprintln(e.stderr, errorLine(err))
	}
	return errs[len(errs)-1]
}

// globalFlags takes --state-dir from anywhere in args (before a "--").
func (e *env) globalFlags(args []string) ([]string, error) {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...), nil
		case a == "--state-dir":
			if i+1 >= len(args) {
				return nil, &usageError{msg: "flag needs an argument: --state-dir"}
			}
			e.stateDir = args[i+1]
			i++
		case strings.HasPrefix(a, "--state-dir="):
			e.stateDir = strings.TrimPrefix(a, "--state-dir=")
		default:
			out = append(out, a)
		}
	}
	return out, nil
}

// flags returns the FlagSet of a verb: -h/--help prints the verb's usage,
// its flags and the global flags to stdout; use is the synopsis after
// "localjobs ".
func (e *env) flags(name, use string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = true
	if e.probe != nil {
		*e.probe = fs
	}
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage:\n  localjobs %s\n", use)
		if u := fs.FlagUsages(); u != "" {
			fmt.Fprintf(e.stdout, "\nFlags:\n%s", u)
		}
		fmt.Fprintf(e.stdout, "\nGlobal flags:\n%s", globalFlagUsage)
	}
	return fs
}

// parse parses a verb's flags. A flag the verb does not have, or a value
// that does not parse, is a usage error named as pflag (and so kubectl)
// names it: "unknown flag: --no-headers", `invalid argument "5" for
// "--timeout" flag: time: missing unit in duration "5"`.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error()}
	}
	return nil
}

// version prints the CLI's version and, when one runs, the daemon's, as
// kubectl version prints the client's and the server's; --client leaves
// the daemon out, --daemon fails unless one answers.
func (e *env) version(ctx context.Context, args []string) error {
	fs := e.flags("version", "version [--client] [--daemon] [-o json|yaml]")
	client := fs.Bool("client", false, "print only the client version; do not look for a daemon")
	needDaemon := fs.Bool("daemon", false, "fail unless a daemon answers")
	output := fs.StringP("output", "o", "", "json or yaml")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	switch *output {
	case "", "json", "yaml":
	default:
		return &usageError{msg: fmt.Sprintf("--output must be 'yaml' or 'json', not %q", *output)}
	}
	if *client && *needDaemon {
		return &usageError{msg: "--client and --daemon cannot be used together"}
	}
	type info struct {
		GitVersion string `json:"gitVersion"`
	}
	v := struct {
		Client *info `json:"clientVersion"`
		Server *info `json:"serverVersion,omitempty"`
	}{Client: &info{Version}}
	var daemonErr error
	if !*client {
		c, err := e.dial(ctx)
		switch {
		case err != nil:
			daemonErr = err
		case c != nil:
			v.Server = &info{c.DaemonVersion}
		case *needDaemon:
			daemonErr = errors.New("no localjobs daemon is running")
		}
	}
	switch *output {
	case "json", "yaml":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if *output == "yaml" {
			if b, err = yaml.JSONToYAML(b); err != nil {
				return err
			}
			e.stdout.Write(b)
		} else {
			fmt.Fprintf(e.stdout, "%s\n", b)
		}
	default:
		fmt.Fprintf(e.stdout, "Client Version: %s\n", Version)
		if v.Server != nil {
			fmt.Fprintf(e.stdout, "Daemon Version: %s\n", v.Server.GitVersion)
		}
	}
	if daemonErr != nil {
		return &exitError{code: exitFailed, err: daemonErr}
	}
	return nil
}
