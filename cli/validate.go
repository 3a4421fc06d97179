package cli

import (
	"fmt"
	"strings"
)

// validate checks files as the apiserver would and prints every problem;
// it exits 1 if there was any.
func (e *env) validate(args []string) error {
	fs := e.flags("validate", "validate PATH...")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{msg: "validate needs at least one file or directory", hint: "localjobs validate specs/"}
	}
	objs, bad, err := loadManifests(fs.Args(), "", e.stdin, e.stderr)
	if err != nil {
		return err
	}
	for _, o := range objs {
		fmt.Fprintf(e.stdout, "%s:%d: %s/%s valid\n", o.File, o.Line, strings.ToLower(o.Kind), o.Meta().Name)
	}
	if bad {
		return &exitError{code: exitFailed, err: fmt.Errorf("some objects are invalid")}
	}
	return nil
}
