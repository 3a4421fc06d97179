package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/localjobs/localjobs/runner"
)

// execRuntime adds runner.Execer to the scripts' fake runtime: in a running
// container, `echo WORDS` prints them, `echo-err WORDS` prints them to
// stderr, and `exit N` exits with N.
type execRuntime struct{ runner.Runtime }

func (r execRuntime) Exec(ctx context.Context, id string, cmd []string, stdout, stderr io.Writer) (int, error) {
	info, err := r.Inspect(ctx, id)
	if err != nil {
		return 0, err
	}
	if !info.Running {
		return 0, fmt.Errorf("container %s is not running", id)
	}
	switch cmd[0] {
	case "echo":
		fmt.Fprintln(stdout, strings.Join(cmd[1:], " "))
	case "echo-err":
		fmt.Fprintln(stderr, strings.Join(cmd[1:], " "))
	case "exit":
		if len(cmd) > 1 {
			return strconv.Atoi(cmd[1])
		}
	default:
		fmt.Fprintf(stdout, "OCI runtime exec failed: exec failed: unable to start container process: exec: %q: executable file not found in $PATH: unknown\n", cmd[0])
		return 126, nil
	}
	return 0, nil
}

// EnsureImage makes images under missing/ absent from every registry, as
// the Docker engine reports a misspelled image; others are pulled as the
// fake runtime pulls them.
func (r execRuntime) EnsureImage(ctx context.Context, image, policy string) (runner.ImageResult, error) {
	if repo, ok := strings.CutPrefix(image, "missing/"); ok {
		repo, _, _ = strings.Cut(repo, ":")
		return runner.ImageResult{}, &runner.ImageError{Reason: runner.ReasonErrImagePull, Message: fmt.Sprintf(
			"Failed to pull image %q: pull access denied for missing/%s, repository does not exist or may require 'docker login': denied: requested access to the resource is denied", image, repo)}
	}
	return r.Runtime.EnsureImage(ctx, image, policy)
}

var (
	// Values that differ from run to run, in JSON ("key": "value") and
	// YAML (key: value) output.
	volatileJSON = regexp.MustCompile(`"(uid|creationTimestamp|startTime|startedAt|finishedAt|lastTransitionTime|lastProbeTime|completionTime|containerID|imageID|podIP|hostIP|ip|nodeName|controller-uid|batch.kubernetes.io/controller-uid|resourceVersion)": "[^"]+"`)
	volatileYAML = regexp.MustCompile(`^(\s*(?:- )?)(uid|creationTimestamp|startTime|startedAt|finishedAt|lastTransitionTime|lastProbeTime|completionTime|containerID|imageID|podIP|hostIP|ip|nodeName|controller-uid|batch.kubernetes.io/controller-uid|resourceVersion): (?:"[^"]+"|[^"\s].*)$`)
	uuid         = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	durationCell = regexp.MustCompile(`^(\d+[smhdy])+$`)
	restartsAgo  = regexp.MustCompile(` \(.* ago\)$`)
	columnSep    = regexp.MustCompile(` {3,}`)
)

// normalizeOutput (the scripts' `ljnorm` command) rewrites the previous
// command's stdout so golden blocks do not depend on time or identity:
// uids, timestamps, addresses and node names become <key>, and in tables
// the AGE, DURATION and LAST SCHEDULE cells become <age> and RESTARTS
// loses its "(… ago)"; tables are then re-aligned as kubectl aligns them.
// Matches of each REGEXP argument (generated names) become <name>.
func normalizeOutput(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: ljnorm [REGEXP...]")
	}
	in := ts.ReadFile("stdout")
	in = uuid.ReplaceAllString(in, "<uid>")
	for _, a := range args {
		in = regexp.MustCompile(a).ReplaceAllString(in, "<name>")
	}
	var out strings.Builder
	lines := strings.Split(strings.TrimSuffix(in, "\n"), "\n")
	if in == "" {
		lines = nil
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if isTableHeader(l) {
			// The table runs to the next blank line.
			j := i + 1
			for j < len(lines) && lines[j] != "" {
				j++
			}
			out.WriteString(normalizeTable(lines[i:j]))
			i = j - 1
			continue
		}
		l = volatileJSON.ReplaceAllString(l, `"$1": "<$1>"`)
		l = volatileYAML.ReplaceAllString(l, `$1$2: <$2>`)
		out.WriteString(l + "\n")
	}
	fmt.Fprint(ts.Stdout(), out.String())
}

func isTableHeader(l string) bool {
	return (strings.HasPrefix(l, "NAME ") || strings.HasPrefix(l, "NAMESPACE ")) && strings.Contains(l, "   ")
}

func normalizeTable(lines []string) string {
	head := columnSep.Split(strings.TrimRight(lines[0], " "), -1)
	var b strings.Builder
	tw := newTable(&b)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, l := range lines[1:] {
		cells := columnSep.Split(strings.TrimRight(l, " "), -1)
		if len(cells) != len(head) {
			fmt.Fprintln(tw, l) // an empty cell: leave the row alone
			continue
		}
		for k, h := range head {
			switch h {
			case "AGE", "DURATION", "LAST SCHEDULE":
				if durationCell.MatchString(cells[k]) {
					cells[k] = "<age>"
				}
			case "RESTARTS":
				cells[k] = restartsAgo.ReplaceAllString(cells[k], "")
			case "NODE", "IP":
				if cells[k] != "<none>" {
					cells[k] = "<" + strings.ToLower(h) + ">"
				}
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	return b.String()
}

// until (`until REGEXP ARGS...`) runs `localjobs ARGS...` in-process until
// its stdout matches REGEXP, failing after 10 s.
func until(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: until REGEXP LOCALJOBS-ARGS...")
	}
	re := regexp.MustCompile(args[0])
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out, errb strings.Builder
		ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(time.Second))
		Main(ctx, append([]string{"--state-dir", ts.Getenv("LOCALJOBS_STATE_DIR")}, args[1:]...), &out, &errb, scriptStarter)
		cancel()
		if re.MatchString(out.String()) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("localjobs %s: stdout %q did not match %q within 10s (stderr %q)", strings.Join(args[1:], " "), out.String(), args[0], errb.String())
		}
		<-time.After(20 * time.Millisecond) // polling the daemon, bounded by the deadline
	}
}
