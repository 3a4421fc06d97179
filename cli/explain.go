package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/localjobs/localjobs/manifest"
)

// explainKinds maps what explain accepts to a kind.
var explainKinds = map[string]string{
	"pod": manifest.KindPod, "pods": manifest.KindPod, "po": manifest.KindPod,
	"job": manifest.KindJob, "jobs": manifest.KindJob, "job.batch": manifest.KindJob, "jobs.batch": manifest.KindJob,
	"cronjob": manifest.KindCronJob, "cronjobs": manifest.KindCronJob, "cj": manifest.KindCronJob,
	"cronjob.batch": manifest.KindCronJob, "cronjobs.batch": manifest.KindCronJob,
	"configmap": manifest.KindConfigMap, "configmaps": manifest.KindConfigMap, "cm": manifest.KindConfigMap,
	"secret": manifest.KindSecret, "secrets": manifest.KindSecret,
}

// explain describes a kind or field as kubectl explain does (KIND,
// VERSION, FIELD, DESCRIPTION, FIELDS), with what localjobs does with each
// field: acted on, accepted with a warning (not acted on), rejected, or
// set by localjobs.
func (e *env) explain(args []string) error {
	fs := e.flags("explain", "explain KIND[.FIELD...] [--recursive]")
	recursive := fs.Bool("recursive", false, "print every field below, by name and type")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &usageError{msg: "explain needs one KIND[.FIELD...]", hint: "localjobs explain pod.spec.containers"}
	}
	parts := strings.Split(fs.Arg(0), ".")
	// Accept group-qualified kinds: jobs.batch.spec.
	if len(parts) > 1 && parts[1] == "batch" {
		parts = append([]string{parts[0] + ".batch"}, parts[2:]...)
	}
	kind, ok := explainKinds[strings.ToLower(parts[0])]
	if !ok {
		return &usageError{msg: fmt.Sprintf("the server doesn't have a resource type %q", parts[0]), hint: "localjobs explain pod|job|cronjob|configmap|secret"}
	}
	ex, err := manifest.Explain(kind, parts[1:])
	if err != nil {
		return err
	}
	printExplanation(e.stdout, ex, parts[1:], *recursive)
	return nil
}

func printExplanation(w io.Writer, ex *manifest.Explanation, path []string, recursive bool) {
	if ex.Group != "" {
		fmt.Fprintf(w, "GROUP:      %s\n", ex.Group)
	}
	fmt.Fprintf(w, "KIND:       %s\n", ex.Kind)
	fmt.Fprintf(w, "VERSION:    %s\n\n", ex.Version)
	if f := ex.Field; f != nil {
		fmt.Fprintf(w, "FIELD: %s <%s>%s\n\n", f.Name, f.Type, required(*f))
	}
	fmt.Fprintln(w, "DESCRIPTION:")
	desc := ex.Description
	if f := ex.Field; f != nil && f.Description != "" && f.Description != desc {
		desc = strings.TrimSpace(f.Description + " " + desc)
	}
	fmt.Fprint(w, wrapIndent(orDefault(desc, "<empty>"), 4, 80))
	fmt.Fprintln(w)
	if f := ex.Field; f != nil {
		fmt.Fprintln(w, "LOCALJOBS:")
		fmt.Fprint(w, wrapIndent(f.LocalJobs, 4, 80))
		fmt.Fprintln(w)
	}
	if len(ex.Fields) == 0 {
		return
	}
	fmt.Fprintln(w, "FIELDS:")
	if recursive {
		printFieldTree(w, ex.Kind, path, 1, map[string]bool{})
		return
	}
	for _, f := range ex.Fields {
		fmt.Fprintf(w, "  %s\t<%s>%s\n", f.Name, f.Type, required(f))
		fmt.Fprint(w, wrapIndent(orDefault(f.Description, "<no description>"), 4, 80))
		fmt.Fprint(w, wrapIndent("LOCALJOBS: "+f.LocalJobs, 4, 80))
		fmt.Fprintln(w)
	}
}

// printFieldTree prints the fields below path as kubectl explain
// --recursive does, names and types indented by depth, with what
// localjobs does where it is not "acted on".
func printFieldTree(w io.Writer, kind string, path []string, depth int, seen map[string]bool) {
	ex, err := manifest.Explain(kind, path)
	if err != nil {
		return
	}
	for _, f := range ex.Fields {
		note := ""
		if f.LocalJobs != manifest.ActedOn && !strings.HasPrefix(f.LocalJobs, manifest.ActedOn+";") {
			note = "  # " + strings.SplitN(f.LocalJobs, ":", 2)[0]
		}
		fmt.Fprintf(w, "%s%s\t<%s>%s%s\n", strings.Repeat("  ", depth), f.Name, f.Type, required(f), note)
		sub := append(path[:len(path):len(path)], f.Name)
		// Recursive types (JSONSchemaProps-like) would not end; ours do
		// not recur, but stop at a type met on the way down anyway.
		if !seen[f.Type] {
			seen[f.Type] = true
			printFieldTree(w, kind, sub, depth+1, seen)
			delete(seen, f.Type)
		}
	}
}

func required(f manifest.Field) string {
	if f.Required {
		return " -required-"
	}
	return ""
}

// wrapIndent wraps text at width columns, each line indented by indent
// spaces, as kubectl explain wraps descriptions.
func wrapIndent(text string, indent, width int) string {
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	line := pad
	for _, word := range strings.Fields(text) {
		if len(line) > indent && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = pad
		}
		if len(line) > indent {
			line += " "
		}
		line += word
	}
	if len(line) > indent {
		b.WriteString(line + "\n")
	}
	return b.String()
}

// explainCandidates completes an explain argument: kinds, then the
// fields below what is typed (pod.spec.con → pod.spec.containers).
func explainCandidates(cur string) []string {
	parts := strings.Split(cur, ".")
	if len(parts) == 1 {
		return []string{"pod", "job", "cronjob", "configmap", "secret"}
	}
	kind, ok := explainKinds[strings.ToLower(parts[0])]
	if !ok {
		return nil
	}
	dir := strings.Join(parts[:len(parts)-1], ".")
	var out []string
	for _, n := range manifest.FieldNames(kind, parts[1:len(parts)-1]) {
		out = append(out, dir+"."+n)
	}
	return out
}
