package crontab

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/schedule"
)

// DefaultImage is the image of converted CronJobs unless told otherwise.
const DefaultImage = "busybox:1.36"

// CronJob is one converted entry.
type CronJob struct {
	Entry  Entry
	Object *manifest.CronJob
	// Notes explain choices the YAML cannot show; they are printed as
	// comments above it.
	Notes []string
}

// Result is a converted crontab.
type Result struct {
	CronJobs []CronJob
	// Problems are in line order; those without Warning are lines that
	// were not converted.
	Problems []Problem
}

// Failed reports whether some line was not converted.
func (r Result) Failed() bool {
	return slices.ContainsFunc(r.Problems, func(p Problem) bool { return !p.Warning })
}

// Convert parses a crontab and converts each entry to a CronJob that runs
// its command the way cron would: SHELL -c COMMAND in opts.Image, with the
// crontab's environment, every run allowed to overlap the previous one
// (concurrencyPolicy Allow) and never retried (backoffLimit 0). Entries it
// cannot convert faithfully are problems, with the reason.
func Convert(data []byte, opts Options) Result {
	if opts.Image == "" {
		opts.Image = DefaultImage
	}
	entries, problems := Parse(data, opts)
	r := Result{Problems: problems}
	used := map[string]bool{}
	for _, e := range entries {
		cj, warns, err := convertEntry(e, opts)
		if err != nil {
			r.Problems = append(r.Problems, Problem{Line: e.Line, Msg: err.Error()})
			continue
		}
		for _, w := range warns {
			r.Problems = append(r.Problems, Problem{Line: e.Line, Msg: w, Warning: true})
		}
		cj.Object.Name = uniqueName(opts.NamePrefix+baseName(e.Command), used)
		// The YAML must pass validation; anything else is a bug here, said
		// as a problem rather than printed.
		if err := check(cj); err != nil {
			r.Problems = append(r.Problems, Problem{Line: e.Line, Msg: err.Error()})
			continue
		}
		r.CronJobs = append(r.CronJobs, cj)
	}
	slices.SortStableFunc(r.Problems, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	return r
}

func convertEntry(e Entry, opts Options) (CronJob, []string, error) {
	var warns []string
	tz := opts.TimeZone
	if e.TimeZone != "" {
		tz = e.TimeZone
	}
	loc := time.UTC
	if tz != "" {
		l, err := schedule.LoadZone(tz)
		if err != nil {
			return CronJob{}, nil, fmt.Errorf("time zone %q: %v", tz, err)
		}
		loc = l
	}
	sched, err := convertSchedule(e.Fields, loc)
	if err != nil {
		return CronJob{}, nil, err
	}

	names := map[string]bool{}
	for _, v := range e.Env {
		names[v.Name] = true
	}
	c := manifest.Container{
		Name:    "job",
		Image:   opts.Image,
		Command: []string{e.Shell, "-c", escapeRefs(shellScript(e), names)},
	}
	for _, v := range e.Env {
		if err := envNameOK(v.Name); err != nil {
			return CronJob{}, nil, fmt.Errorf("environment variable %q: %v", v.Name, err)
		}
		c.Env = append(c.Env, manifest.EnvVar{Name: v.Name, Value: escapeRefs(v.Value, names)})
		if v.Name == "HOME" && path.IsAbs(v.Value) {
			c.WorkingDir = v.Value // cron starts commands in $HOME
		}
	}
	switch u := e.User; {
	case u == "":
	case u == "root":
		c.SecurityContext = &manifest.SecurityContext{RunAsUser: ptr(int64(0))}
	case isUID(u):
		n, _ := strconv.ParseInt(u, 10, 64)
		c.SecurityContext = &manifest.SecurityContext{RunAsUser: ptr(n)}
	default:
		warns = append(warns, fmt.Sprintf("user %s: runs as the image's default user; a user name cannot be mapped to a uid inside an image (set securityContext.runAsUser)", u))
	}

	obj := &manifest.CronJob{}
	obj.APIVersion, obj.Kind = "batch/v1", manifest.KindCronJob
	obj.Namespace = opts.Namespace
	obj.Spec.Schedule = sched
	if tz != "" {
		obj.Spec.TimeZone = ptr(tz)
	}
	obj.Spec.ConcurrencyPolicy = manifest.ConcurrencyAllow
	obj.Spec.JobTemplate.Spec.BackoffLimit = ptr(int32(0))
	pod := &obj.Spec.JobTemplate.Spec.Template.Spec
	pod.RestartPolicy = manifest.RestartPolicyNever
	pod.Containers = []manifest.Container{c}

	cj := CronJob{Entry: e, Object: obj}
	if strings.EqualFold(e.Fields[0], "@reboot") {
		obj.Annotations = map[string]string{schedule.AnnotationRunOnStart: "true"}
		cj.Notes = append(cj.Notes,
			"@reboot: runs once each time the localjobs daemon starts (localjobs.io/run-on-start).",
			"The schedule, "+RebootSchedule+" (February 31st), never comes, so it never runs on a timer.")
	}
	if e.HasInput {
		cj.Notes = append(cj.Notes, "The text after % in the crontab line is the command's standard input, piped in with printf.")
	}
	return cj, warns, nil
}

func ptr[T any](v T) *T { return &v }

func isUID(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n >= 0 && n <= 2147483647
}

// envNameOK checks a name as Kubernetes does: printable ASCII but =.
func envNameOK(name string) error {
	for _, r := range name {
		if r < 32 || r > 126 || r == '=' {
			return fmt.Errorf("kubernetes allows only printable ASCII characters other than '=' in environment variable names")
		}
	}
	return nil
}

// shellScript is the script cron's shell runs: the command, with its
// standard input piped in when the line has a %.
func shellScript(e Entry) string {
	if !e.HasInput {
		return e.Command
	}
	// A subshell, so that all of the command reads the input, as all of it
	// does under cron; the newlines keep a # comment in the command from
	// swallowing the closing parenthesis.
	return "printf '%s' " + shQuote(e.Input) + " | (\n" + e.Command + "\n)"
}

// shQuote quotes s for a POSIX shell.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// escapeRefs protects s from Kubernetes' expansion of command and env
// values, which cron does not do: $$ becomes $, and $(NAME) becomes NAME's
// value when the container defines NAME.
func escapeRefs(s string, names map[string]bool) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		k := i
		for k < len(s) && s[k] == '$' {
			k++
		}
		run := s[i:k]
		switch {
		case len(run) > 1:
			run += run
		case strings.HasPrefix(s[k:], "("):
			if end := strings.IndexByte(s[k:], ')'); end >= 0 && names[s[k+1:k+end]] {
				run = "$$"
			}
		}
		b.WriteString(run)
		i = k
	}
	return b.String()
}

// shellWords are commands that set up rather than do the job: a name
// comes from the command after them.
var shellWords = map[string]bool{
	"cd": true, "test": true, "[": true, "[[": true, "true": true, ":": true, "sleep": true,
	"export": true, "set": true, "umask": true, "{": true, "(": true, "if": true, "then": true,
	"nice": true, "ionice": true, "nohup": true, "exec": true, "sudo": true, "env": true,
	"time": true, "command": true, "chronic": true, "flock": true, "timeout": true,
}

var (
	splitRE   = regexp.MustCompile(`&&|\|\||[;|&(){}]`)
	nonNameRE = regexp.MustCompile(`[^a-z0-9]+`)
)

// baseName derives a CronJob name from a command: the base name of the
// first command that does the work (run-parts: of its directory), without
// extension, as a DNS-1123 label.
func baseName(cmd string) string {
	for _, seg := range splitRE.Split(cmd, -1) {
		words := strings.Fields(seg)
		for i := 0; i < len(words); i++ {
			w := strings.Trim(words[i], `"'`)
			switch {
			case strings.Contains(w, "=") && !strings.HasPrefix(w, "="), // VAR=value
				strings.HasPrefix(w, "-"), isUID(w):
				continue
			case shellWords[path.Base(w)]:
				if w == "cd" || w == "test" || w == "[" || w == "[[" || w == "export" || w == "set" || w == "sleep" || w == "umask" {
					i = len(words) // the rest of this segment is theirs
				}
				continue
			case path.Base(w) == "run-parts":
				for _, a := range slices.Backward(words[i+1:]) {
					if !strings.HasPrefix(a, "-") {
						if n := label(path.Base(a)); n != "" {
							return n
						}
					}
				}
			}
			if n := label(strings.TrimSuffix(path.Base(w), path.Ext(w))); n != "" {
				return n
			}
		}
	}
	return "cron"
}

// label turns s into a DNS-1123 label of at most 40 characters (a CronJob
// name may have 52: room for a prefix and a counter).
func label(s string) string {
	s = strings.Trim(nonNameRE.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	return s
}

// uniqueName returns name, or name-2, name-3… when it is taken.
func uniqueName(name string, used map[string]bool) string {
	if len(name) > 48 {
		name = strings.TrimRight(name[:48], "-")
	}
	n := name
	for i := 2; used[n]; i++ {
		n = name + "-" + strconv.Itoa(i)
	}
	used[n] = true
	return n
}

// check decodes the CronJob's YAML as `localjobs validate` does.
func check(cj CronJob) error {
	y, err := objectYAML(cj.Object)
	if err != nil {
		return err
	}
	res := manifest.Decode("converted", y)
	if len(res.Errors) > 0 || len(res.Objects) != 1 {
		return fmt.Errorf("the conversion does not validate: %v", res.Err())
	}
	return nil
}

// YAML renders the CronJobs as a multi-document YAML stream. Each document
// starts with comments: the crontab line it came from, then its notes.
func (r Result) YAML(file string) ([]byte, error) {
	var b bytes.Buffer
	for i, cj := range r.CronJobs {
		if i > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, "# %s:%d: %s\n", Comment(file), cj.Entry.Line, Comment(cj.Entry.Text))
		for _, n := range cj.Notes {
			fmt.Fprintf(&b, "# %s\n", n)
		}
		y, err := objectYAML(cj.Object)
		if err != nil {
			return nil, err
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

// Comment returns s fit for a YAML comment: quoted as a Go string when it
// holds a character that is not printable (a YAML line break among them).
func Comment(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != '\t' }) {
		return strconv.Quote(s)
	}
	return s
}

// objectYAML renders an object as block YAML with the fields in the
// order of the Kubernetes types, leaving out empty ones.
func objectYAML(obj any) ([]byte, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(j, &doc); err != nil {
		return nil, err
	}
	prune(&doc)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// prune drops null values and empty mappings, and resets the JSON styles
// (flow collections, double quotes) so the encoder writes block YAML and
// quotes only what needs it.
func prune(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && !strings.Contains(n.Value, "\n") && !plainString(n.Value) {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		prune(c)
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	var kept []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := n.Content[i+1]
		if (v.Kind == yaml.ScalarNode && v.Tag == "!!null") || (v.Kind == yaml.MappingNode && len(v.Content) == 0) {
			continue
		}
		kept = append(kept, n.Content[i], v)
	}
	n.Content = kept
}

// plainString reports whether s written plain reads back as the string s
// the way kubectl reads YAML (YAML 1.1: on, yes, 0777 and ~ are not
// strings there, as they are in the YAML 1.2 that the encoder follows).
func plainString(s string) bool {
	var v any
	if err := sigsyaml.Unmarshal([]byte(s), &v); err != nil {
		return false
	}
	got, ok := v.(string)
	return ok && got == s
}
