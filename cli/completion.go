package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// completeVerb is the hidden verb the completion scripts call: the shell
// stays simple, and what can follow a word is decided here, from the same
// verbs and flags the command line has.
const completeVerb = "__complete"

// Directives, the last line of __complete --words: what the shell should
// do besides offering the candidates.
const (
	directiveNone   = 0 // the candidates only
	directiveFiles  = 1 // also file names
	directiveNoSpac = 2 // no space after the candidate (it continues: pod/)
)

// completion prints a shell completion script, as kubectl completion does.
func (e *env) completion(args []string) error {
	fs := e.flags("completion", "completion bash|zsh|fish")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &usageError{msg: "completion needs one shell: bash, zsh or fish", hint: "source <(localjobs completion bash)"}
	}
	switch fs.Arg(0) {
	case "bash":
		fmt.Fprint(e.stdout, bashCompletion)
	case "zsh":
		fmt.Fprint(e.stdout, zshCompletion)
	case "fish":
		fmt.Fprint(e.stdout, fishCompletion)
	default:
		return &usageError{msg: fmt.Sprintf("unsupported shell type %q", fs.Arg(0)), hint: "localjobs completion bash|zsh|fish"}
	}
	return nil
}

const bashCompletion = `# bash completion for localjobs.
# This shell:   source <(localjobs completion bash)
# Every shell:  localjobs completion bash > ~/.local/share/bash-completion/completions/localjobs
__localjobs_complete() {
    local cur=${COMP_WORDS[COMP_CWORD]} out line directive=0
    out=$("${COMP_WORDS[0]}" __complete --words "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
    COMPREPLY=()
    while IFS= read -r line; do
        case $line in
            :*) directive=${line#:} ;;
            ?*) COMPREPLY+=("$line") ;;
        esac
    done <<< "$out"
    case $directive in
        1) compopt -o filenames 2>/dev/null; while IFS= read -r line; do COMPREPLY+=("$line"); done < <(compgen -f -- "$cur") ;;
        2) compopt -o nospace 2>/dev/null ;;
    esac
}
complete -F __localjobs_complete localjobs
`

const zshCompletion = `#compdef localjobs
# zsh completion for localjobs.
# This shell:   source <(localjobs completion zsh)   (after compinit)
# Every shell:  localjobs completion zsh > "${fpath[1]}/_localjobs"
_localjobs() {
    local out directive
    local -a lines cands
    out=$("${words[1]}" __complete --words "${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
    lines=("${(@f)out}")
    directive=${${lines[-1]}#:}
    cands=("${(@)lines[1,-2]}")
    case $directive in
        1) _files ;;
        2) (( ${#cands} )) && compadd -Q -S '' -- "${cands[@]}"; return ;;
    esac
    (( ${#cands} )) && compadd -Q -- "${cands[@]}"
}
if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
    _localjobs "$@"
else
    compdef _localjobs localjobs
fi
`

const fishCompletion = `# fish completion for localjobs.
# This shell:   localjobs completion fish | source
# Every shell:  localjobs completion fish > ~/.config/fish/completions/localjobs.fish
function __localjobs_complete
    set -l args (commandline -opc) (commandline -ct)
    set -l cmd $args[1]
    set -e args[1]
    set -l out (command $cmd __complete --words $args 2>/dev/null)
    or return
    for line in $out
        switch $line
            case ':1'
                __fish_complete_path (commandline -ct)
            case ':*'
            case '*'
                echo $line
        end
    end
end
complete -c localjobs -f -a '(__localjobs_complete)'
`

// complete is the hidden verb of the completion scripts:
//
//	__complete KIND [-n NS|-A]   the names of the objects of a kind
//	__complete --words WORD...   what can follow: the words after
//	                             "localjobs", the last being the one under
//	                             the cursor ("" for a new word)
//
// Candidates go one a line, then (for --words) a directive line ":N". It
// never prints an error: a shell is not the place for one.
func (e *env) complete(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "--words" {
		cands, directive := e.completeWords(ctx, args[1:])
		for _, c := range cands {
			fmt.Fprintln(e.stdout, c)
		}
		fmt.Fprintf(e.stdout, ":%d\n", directive)
		return nil
	}
	fs := pflag.NewFlagSet(completeVerb, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ns := fs.StringP("namespace", "n", "default", "")
	all := fs.BoolP("all-namespaces", "A", false, "")
	if fs.Parse(args) != nil || fs.NArg() != 1 {
		return &exitError{code: exitUsage}
	}
	if *all {
		*ns = ""
	}
	for _, n := range e.objectNames(ctx, fs.Arg(0), *ns) {
		fmt.Fprintln(e.stdout, n)
	}
	return nil
}

// objectNames lists the names of a kind's objects in ns ("" = all), or
// the namespaces in use for "namespaces", from the daemon or the state
// read-only; nothing when neither can be read.
func (e *env) objectNames(ctx context.Context, kind, ns string) []string {
	src, err := e.openSource(ctx)
	if err != nil {
		return nil
	}
	defer src.Close()
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	switch strings.ToLower(kind) {
	case "namespaces", "namespace", "ns":
		for _, k := range allKinds {
			objs, _ := kinds[k].list(ctx, src, "", "")
			for _, o := range objs {
				add(metaOf(o).Namespace)
			}
		}
	default:
		k := kindNamed(kind)
		if k == nil {
			return nil
		}
		objs, _ := k.list(ctx, src, ns, "")
		for _, o := range objs {
			add(metaOf(o).Name)
		}
	}
	sort.Strings(out)
	return out
}

// verbKinds are the resource types each verb takes as its first argument.
var verbKinds = map[string][]string{
	"get":      {"pods", "jobs", "cronjobs", "events", "all"},
	"describe": {"pods", "jobs", "cronjobs"},
	"delete":   {"pods", "jobs", "cronjobs"},
	"wait":     {"pods", "jobs"},
	"suspend":  {"cronjob", "job"},
	"resume":   {"cronjob", "job"},
	"create":   {"job"},
}

// flagValues are the values offered for a flag's argument.
var flagValues = map[string][]string{
	"output":     {"json", "yaml", "wide", "name", "jsonpath=", "custom-columns="},
	"for":        {"condition=complete", "condition=failed", "condition=Ready", "jsonpath={.status.phase}=", "delete", "create"},
	"dry-run":    {"none", "client"},
	"types":      {"Normal", "Warning"},
	"dst-policy": {"localjobs", "kubernetes"},
	"time-zone":  {"UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"},
}

// completeWords returns what can complete the last of words.
func (e *env) completeWords(ctx context.Context, words []string) ([]string, int) {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	prefixed := func(cands []string, directive int) ([]string, int) {
		var out []string
		for _, c := range cands {
			if strings.HasPrefix(c, cur) {
				out = append(out, c)
			}
		}
		return out, directive
	}
	if len(words) == 1 {
		if strings.HasPrefix(cur, "-") {
			return prefixed([]string{"--state-dir", "--help"}, directiveNone)
		}
		return prefixed(verbs, directiveNone)
	}
	verb := words[0]
	fs := e.verbFlags(ctx, verb)
	if fs == nil {
		return nil, directiveNone
	}
	// Walk the words before the cursor: positional arguments, and the
	// flag whose value the cursor may be.
	var pos []string
	ns, allNS := "default", false
	var valueOf *pflag.Flag
	for _, w := range words[1 : len(words)-1] {
		if valueOf != nil {
			if valueOf.Name == "namespace" {
				ns = w
			}
			valueOf = nil
			continue
		}
		switch {
		case w == "--":
			valueOf = nil
		case strings.HasPrefix(w, "--"):
			name, val, hasVal := strings.Cut(w[2:], "=")
			f := fs.Lookup(name)
			if f == nil {
				continue
			}
			if name == "namespace" && hasVal {
				ns = val
			}
			if name == "all-namespaces" {
				allNS = true
			}
			if !hasVal && takesValue(f) {
				valueOf = f
			}
		case strings.HasPrefix(w, "-") && len(w) > 1:
			f := fs.ShorthandLookup(w[len(w)-1:])
			if f != nil && f.Name == "all-namespaces" {
				allNS = true
			}
			if f != nil && takesValue(f) && len(w) == 2 {
				valueOf = f
			}
		default:
			pos = append(pos, w)
		}
	}
	if allNS {
		ns = ""
	}
	if valueOf != nil {
		switch valueOf.Name {
		case "filename":
			return nil, directiveFiles
		case "namespace":
			return prefixed(e.objectNames(ctx, "namespaces", ""), directiveNone)
		case "state-dir", "allow-host-path":
			return nil, directiveFiles
		}
		return prefixed(flagValues[valueOf.Name], directiveNone)
	}
	if strings.HasPrefix(cur, "-") {
		var names []string
		fs.VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, "--"+f.Name)
			}
		})
		names = append(names, "--state-dir")
		sort.Strings(names)
		return prefixed(names, directiveNone)
	}
	return e.completeArg(ctx, verb, pos, cur, ns, prefixed)
}

// completeArg completes a positional argument of verb after pos.
func (e *env) completeArg(ctx context.Context, verb string, pos []string, cur, ns string, prefixed func([]string, int) ([]string, int)) ([]string, int) {
	names := func(kind string) []string { return e.objectNames(ctx, kind, ns) }
	// KIND/NAME arguments.
	if kind, _, ok := strings.Cut(cur, "/"); ok {
		switch verb {
		case "get", "describe", "delete", "wait", "logs", "exec", "suspend", "resume":
			var out []string
			for _, n := range names(kind) {
				out = append(out, kind+"/"+n)
			}
			return prefixed(out, directiveNone)
		}
		return nil, directiveNone
	}
	switch verb {
	case "run", "apply", "validate", "up":
		return nil, directiveFiles
	case "completion":
		if len(pos) == 0 {
			return prefixed([]string{"bash", "zsh", "fish"}, directiveNone)
		}
	case "explain":
		if len(pos) == 0 {
			return prefixed(explainCandidates(cur), directiveNoSpac)
		}
	case "logs", "exec":
		if len(pos) == 0 {
			return prefixed(append(names("pods"), "job/"), directiveNone)
		}
	case "create":
		if len(pos) == 0 {
			return prefixed([]string{"job"}, directiveNone)
		}
	default:
		ks := verbKinds[verb]
		if ks == nil {
			return nil, directiveNone
		}
		if len(pos) == 0 {
			return prefixed(ks, directiveNone)
		}
		if strings.Contains(pos[0], "/") || pos[0] == "all" || eventAliases[pos[0]] {
			return nil, directiveNone
		}
		return prefixed(names(pos[0]), directiveNone)
	}
	return nil, directiveNone
}

// takesValue reports whether a flag needs an argument (not a bool, and
// not one with an optional value such as --dry-run).
func takesValue(f *pflag.Flag) bool { return f.NoOptDefVal == "" }

// verbFlags returns the FlagSet of a verb, by running it with -h and
// nowhere to print.
func (e *env) verbFlags(ctx context.Context, verb string) *pflag.FlagSet {
	var fs *pflag.FlagSet
	probe := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, stateDir: e.stateDir, probe: &fs}
	if known, _ := probe.dispatch(ctx, verb, []string{"-h"}); !known {
		return nil
	}
	return fs
}
