package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/localjobs/localjobs/crontab"
	"github.com/localjobs/localjobs/schedule"
)

const importUse = `import crontab [FILE|-] [--image IMG] [--time-zone TZ] [--namespace NS] [--name-prefix P] [--system]

Prints each line of a crontab as a CronJob, in a YAML stream for localjobs apply -f -.
FILE defaults to the current user's crontab (crontab -l); - reads standard input.
Lines it cannot convert faithfully are listed on stderr as FILE:LINE: why, and the
command exits 1; warnings name what differs in lines it converted.

Every command runs as SHELL -c COMMAND in --image, which must contain the commands
the crontab calls (and bash, if the crontab sets SHELL=/bin/bash). The container
sees the image's files, not the host's: add volumes to the YAML for host paths.`

// importCmd is `localjobs import crontab`.
func (e *env) importCmd(ctx context.Context, args []string) error {
	fs := e.flags("import", importUse)
	image := fs.String("image", crontab.DefaultImage, "image to run every command in; it must contain the commands the crontab calls")
	tz := fs.String("time-zone", "", "spec.timeZone of entries without CRON_TZ (default: unset, the daemon's local zone, as cron uses the system's)")
	ns := fs.StringP("namespace", "n", "", "metadata.namespace of the CronJobs (default: unset)")
	prefix := fs.String("name-prefix", "", "start every CronJob name with this, e.g. host1-")
	system := fs.Bool("system", false, "read the /etc/crontab format, with a user field (the default for /etc/crontab and /etc/cron.d/*)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 || fs.Arg(0) != "crontab" {
		return &usageError{msg: "import needs what to import: crontab", hint: "localjobs import crontab [FILE] > cronjobs.yaml"}
	}
	if fs.NArg() > 2 {
		return &usageError{msg: "import crontab takes at most one FILE", hint: "localjobs import crontab /etc/crontab"}
	}
	if *tz != "" {
		if _, err := schedule.LoadZone(*tz); err != nil {
			return &usageError{msg: fmt.Sprintf("--time-zone %q: %v", *tz, err), hint: "--time-zone Europe/Berlin"}
		}
	}
	if *prefix != "" && !namePrefixRE.MatchString(*prefix) {
		return &usageError{msg: fmt.Sprintf("--name-prefix %q: want lower-case letters, digits and '-', starting with a letter or digit", *prefix), hint: "--name-prefix host1-"}
	}
	if len(*prefix) > 12 {
		return &usageError{msg: fmt.Sprintf("--name-prefix %q: at most 12 characters (CronJob names have 52)", *prefix), hint: "--name-prefix host1-"}
	}

	file := fs.Arg(1)
	var (
		name string
		data []byte
		err  error
	)
	switch file {
	case "":
		name = "crontab -l"
		data, err = userCrontab(ctx)
	case "-":
		name = "<stdin>"
		data, err = io.ReadAll(os.Stdin)
	default:
		name = file
		data, err = os.ReadFile(file)
		if isSystemCrontab(file) {
			*system = true
		}
	}
	if err != nil {
		return err
	}

	res := crontab.Convert(data, crontab.Options{
		System: *system, Image: *image, TimeZone: *tz, Namespace: *ns, NamePrefix: *prefix,
	})
	out, err := res.YAML(name)
	if err != nil {
		return err
	}
	if len(res.CronJobs) > 0 {
		fmt.Fprintf(e.stdout, "# Converted by localjobs import crontab from %s. Commands run in %s, which\n# must contain them; host paths need volumes.\n", crontab.Comment(name), crontab.Comment(*image))
		e.stdout.Write(out)
	}
	failed := 0
	for _, p := range res.Problems {
		fmt.Fprintln(e.stderr, p.String(name))
		if !p.Warning {
			failed++
		}
	}
	switch {
	case failed > 0:
		return &exitError{code: exitFailed, err: fmt.Errorf("%d %s not converted; %d CronJob%s printed", failed, plural(failed, "line was", "lines were"), len(res.CronJobs), plural(len(res.CronJobs), "", "s"))}
	case len(res.CronJobs) == 0:
		fmt.Fprintf(e.stderr, "%s: no entries to convert\n", name)
	}
	return nil
}

// isSystemCrontab reports whether file is /etc/crontab or in /etc/cron.d,
// whose lines have a user field.
func isSystemCrontab(file string) bool {
	abs, err := filepath.Abs(file)
	return err == nil && (abs == "/etc/crontab" || filepath.Dir(abs) == "/etc/cron.d")
}

var namePrefixRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// crontabCommand lists the current user's crontab (tests replace it).
var crontabCommand = []string{"crontab", "-l"}

// userCrontab returns the output of crontab -l, or says why there is none.
func userCrontab(ctx context.Context) ([]byte, error) {
	path, err := exec.LookPath(crontabCommand[0])
	if err != nil {
		return nil, fmt.Errorf("crontab is not installed, so there is no user crontab to read: give a FILE, or - for standard input")
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, crontabCommand[1:]...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		msg := strings.TrimSpace(stderr.String())
		if strings.HasPrefix(msg, "no crontab for") {
			return nil, fmt.Errorf("you have no crontab (crontab -l: %s)", msg)
		}
		return nil, fmt.Errorf("crontab -l: %v: %s", err, msg)
	case err != nil:
		return nil, fmt.Errorf("crontab -l: %w", err)
	}
	return out, nil
}
