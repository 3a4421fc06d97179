// Package crontab reads crontab files as cron reads them (Debian's vixie
// cron, with cronie's CRON_TZ) and converts their entries to localjobs
// CronJobs: what `localjobs import crontab` prints. It does no I/O; the
// caller reads the file.
//
// Parse splits a crontab into entries, each with the environment settings
// in effect for it; Convert turns entries into CronJobs and says which
// lines it could not convert faithfully, and why.
package crontab

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/localjobs/localjobs/schedule"
)

// Problem is a line cron would run differently from its conversion.
type Problem struct {
	// Line is the 1-based line number.
	Line int
	// Msg says what is wrong.
	Msg string
	// Warning is set when the line was converted all the same, with the
	// difference Msg names (mail is not sent, a user name is not mapped).
	// Otherwise the line was not converted.
	Warning bool
}

// String renders the problem as FILE:LINE: [warning: ]msg.
func (p Problem) String(file string) string {
	if p.Warning {
		return fmt.Sprintf("%s:%d: warning: %s", file, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", file, p.Line, p.Msg)
}

// EnvVar is an environment setting of a crontab.
type EnvVar struct {
	Name, Value string
}

// DefaultShell is the shell cron runs commands with when SHELL is not set.
const DefaultShell = "/bin/sh"

// Entry is one command line of a crontab, with the settings in effect for
// it (cron applies an environment line to the entries after it).
type Entry struct {
	// Line is the 1-based line number; Text the line as written, without
	// surrounding white space.
	Line int
	Text string
	// Fields are the five time fields as written, or one macro such as
	// "@daily" or "@reboot".
	Fields []string
	// User is the user field of a system crontab (/etc/crontab,
	// /etc/cron.d/*); empty in a user's crontab.
	User string
	// Command is what cron hands to the shell: the text before the first
	// unescaped %, with \% read as %.
	Command string
	// Input is what cron writes to the command's standard input: the text
	// after the first unescaped %, each further % read as a newline. HasInput
	// says whether there was a %.
	Input    string
	HasInput bool
	// Shell is SHELL as set before the entry (DefaultShell when unset).
	Shell string
	// Env holds the other environment settings before the entry, in the
	// order first set, each with its latest value. SHELL, CRON_TZ and the
	// mail settings are not in it.
	Env []EnvVar
	// TimeZone is CRON_TZ as set before the entry ("" when unset), and
	// TimeZoneLine the line that set it.
	TimeZone     string
	TimeZoneLine int
}

// Options say how to read a crontab and what to make of it.
type Options struct {
	// System reads the format of /etc/crontab and /etc/cron.d/*: a user
	// field between the schedule and the command.
	System bool
	// Image is the container image every CronJob runs its command in.
	Image string
	// TimeZone is spec.timeZone of entries without CRON_TZ; "" leaves it
	// unset (the daemon's local zone, as cron uses the system's zone).
	TimeZone string
	// Namespace is metadata.namespace; "" leaves it unset.
	Namespace string
	// NamePrefix starts every CronJob name.
	NamePrefix string
}

// mailVars are settings about mail, which localjobs does not send.
var mailVars = map[string]bool{"MAILTO": true, "MAILFROM": true, "CONTENT_TYPE": true, "CONTENT_TRANSFER_ENCODING": true}

// macros are cron's @ schedules; all but @reboot are Kubernetes' too.
var macros = map[string]bool{
	"@reboot": true, "@yearly": true, "@annually": true, "@monthly": true,
	"@weekly": true, "@daily": true, "@midnight": true, "@hourly": true,
}

// Parse reads a crontab: comments and blank lines are skipped, NAME=value
// lines set the environment of the entries after them, and every other
// line is an entry. Lines that are not valid crontab syntax come back as
// problems.
func Parse(data []byte, opts Options) ([]Entry, []Problem) {
	p := &parser{opts: opts, shell: DefaultShell}
	text := string(data)
	lines := strings.Split(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else if strings.TrimSpace(lines[len(lines)-1]) != "" {
		p.warnf(len(lines), "the last line has no newline at its end: cron ignores it and crontab(1) refuses the file; converted all the same")
	}
	for i, l := range lines {
		p.line(i+1, strings.TrimSuffix(l, "\r"))
	}
	slices.SortStableFunc(p.problems, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	return p.entries, p.problems
}

type parser struct {
	opts     Options
	entries  []Entry
	problems []Problem

	shell    string
	env      []EnvVar
	tz       string
	tzLine   int
	tzBad    bool // the CRON_TZ in effect is not a known zone
	mailSeen bool // the mail warning was given
}

func (p *parser) errorf(line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{Line: line, Msg: fmt.Sprintf(format, args...), Warning: true})
}

func (p *parser) line(n int, l string) {
	t := strings.TrimLeft(l, " \t")
	if t == "" || t[0] == '#' {
		return
	}
	if !utf8.ValidString(t) {
		p.errorf(n, "the line is not valid UTF-8")
		return
	}
	if strings.Contains(t, "\x00") {
		p.errorf(n, "the line holds a NUL byte, which no command line can")
		return
	}
	if name, value, ok, err := envLine(t); ok {
		if err != "" {
			p.errorf(n, "environment setting %s: %s", name, err)
			return
		}
		p.setEnv(n, name, value)
		return
	}
	p.entry(n, strings.TrimRight(t, " \t"), t)
}

// isBlank reports whether c is a blank as cron reads fields.
func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// envLine reads a NAME=value line as cron's load_env does: the name and
// the value may be quoted (single or double, matching); white space around
// = is ignored, and so is white space after an unquoted value. ok is false
// when the line is not an environment setting; err says why a line that is
// one is malformed.
func envLine(t string) (name, value string, ok bool, err string) {
	i := 0
	if t[0] == '"' || t[0] == '\'' {
		end := strings.IndexByte(t[1:], t[0])
		if end < 0 {
			return "", "", false, ""
		}
		name, i = t[1:1+end], end+2
		if strings.Contains(name, "=") {
			return "", "", false, ""
		}
	} else {
		for i < len(t) && !isBlank(t[i]) && t[i] != '=' {
			i++
		}
		name = t[:i]
	}
	for i < len(t) && isBlank(t[i]) {
		i++
	}
	if name == "" || i >= len(t) || t[i] != '=' {
		return "", "", false, ""
	}
	v := strings.TrimLeft(t[i+1:], " \t")
	if v != "" && (v[0] == '"' || v[0] == '\'') {
		end := strings.IndexByte(v[1:], v[0])
		if end < 0 {
			return name, "", true, "the value's quote is not closed"
		}
		if rest := strings.TrimSpace(v[end+2:]); rest != "" {
			return name, "", true, fmt.Sprintf("text after the closing quote: %s", rest)
		}
		return name, v[1 : 1+end], true, ""
	}
	return name, strings.TrimRight(v, " \t"), true, ""
}

func (p *parser) setEnv(n int, name, value string) {
	switch {
	case name == "SHELL":
		if !strings.HasPrefix(value, "/") {
			p.errorf(n, "SHELL=%s: want an absolute path such as /bin/bash; the entries after it keep %s", value, p.shell)
			return
		}
		p.shell = value
		return
	case name == "CRON_TZ":
		p.tz, p.tzLine, p.tzBad = value, n, false
		if value == "" {
			return
		}
		if _, err := schedule.LoadZone(value); err != nil {
			p.tzBad = true
			p.errorf(n, "CRON_TZ=%s: not a known time zone (want an IANA name such as Europe/Berlin); the entries it applies to are not converted", value)
		}
		return
	case mailVars[name]:
		if value != "" && !p.mailSeen {
			p.mailSeen = true
			p.warnf(n, "%s=%s: cron mails the output of jobs; localjobs sends no mail: read it with `localjobs logs job/NAME`, and failed runs with `localjobs get jobs` and `localjobs events`", name, value)
		}
		return
	case name == "TZ" && p.tz == "":
		p.warnf(n, "TZ=%s is set in the environment of the commands only: cron reads the schedule in the system's time zone (CRON_TZ= or --time-zone set spec.timeZone)", value)
	}
	for i := range p.env {
		if p.env[i].Name == name {
			p.env[i].Value = value
			return
		}
	}
	p.env = append(p.env, EnvVar{name, value})
}

// entry reads a command line: five time fields or a macro, the user field
// of a system crontab, and the command.
func (p *parser) entry(n int, text, t string) {
	e := Entry{Line: n, Text: text, Shell: p.shell, Env: slices.Clone(p.env), TimeZone: p.tz, TimeZoneLine: p.tzLine}
	nFields := 5
	if strings.HasPrefix(t, "@") {
		nFields = 1
	}
	rest := t
	for range nFields {
		f, r := nextField(rest)
		if f == "" {
			p.errorf(n, "want %s, then a command", want(nFields, p.opts.System))
			return
		}
		e.Fields = append(e.Fields, f)
		rest = r
	}
	if nFields == 1 && !macros[strings.ToLower(e.Fields[0])] {
		p.errorf(n, "unknown macro %s (cron has @reboot, @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly)", e.Fields[0])
		return
	}
	if p.opts.System {
		e.User, rest = nextField(rest)
	}
	cmd := strings.TrimLeft(rest, " \t")
	if cmd == "" {
		p.errorf(n, "want %s, then a command", want(nFields, p.opts.System))
		return
	}
	if p.tzBad {
		p.errorf(n, "CRON_TZ=%s (line %d) is not a known time zone", p.tz, p.tzLine)
		return
	}
	e.Command, e.Input, e.HasInput = splitPercent(cmd)
	if strings.TrimSpace(e.Command) == "" {
		p.errorf(n, "the command before the first %% is empty")
		return
	}
	p.entries = append(p.entries, e)
}

func want(nFields int, system bool) string {
	s := "five time fields (minute hour day-of-month month day-of-week) or a macro such as @daily"
	if nFields == 1 {
		s = "a macro"
	}
	if system {
		s += ", a user"
	}
	return s
}

// nextField returns the first blank-separated field of s and what follows.
func nextField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// splitPercent reads % in a command as cron does: the first unescaped %
// ends the command and the rest is its standard input, in which each
// unescaped % is a newline; \% is a literal % in both parts, and any other
// backslash is kept.
func splitPercent(s string) (cmd, input string, hasInput bool) {
	var b strings.Builder
	escaped := false
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if escaped {
			escaped = false
			if c == '%' {
				// Replace the backslash written before it.
				str := b.String()
				b.Reset()
				b.WriteString(str[:len(str)-1])
			}
			b.WriteByte(c)
			continue
		}
		if c == '%' {
			break
		}
		escaped = c == '\\'
		b.WriteByte(c)
	}
	if i == len(s) {
		return b.String(), "", false
	}
	cmd = b.String()
	// The input, as cron writes it to the pipe.
	b.Reset()
	escaped = false
	for _, c := range []byte(s[i+1:]) {
		if escaped {
			if c != '%' {
				b.WriteByte('\\')
			}
		} else if c == '%' {
			c = '\n'
		}
		escaped = c == '\\'
		if !escaped {
			b.WriteByte(c)
		}
	}
	if escaped {
		b.WriteByte('\\')
	}
	return cmd, b.String(), true
}
