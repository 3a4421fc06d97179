package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/localjobs/localjobs/localapi"
)

// exec runs a command in a running container through the daemon, like
// kubectl exec POD [-c C] -- CMD…, and exits with the command's exit code.
func (e *env) exec(ctx context.Context, args []string) error {
	fs := e.flags("exec", "exec POD [-c CONTAINER] -- COMMAND [ARG...]")
	container := fs.StringP("container", "c", "", "container name (default: the default-container annotation, else the first)")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	stdin := fs.BoolP("stdin", "i", false, "not supported yet: the command gets no stdin")
	tty := fs.BoolP("tty", "t", false, "not supported yet: the command gets no TTY")
	if err := parse(fs, args); err != nil {
		return err
	}
	dash := fs.ArgsLenAtDash()
	if fs.NArg() < 2 || dash != 1 {
		return &usageError{msg: "exec needs a pod and a command after --", hint: "localjobs exec mypod -- ls /"}
	}
	pod := fs.Arg(0)
	if kind, name, ok := strings.Cut(pod, "/"); ok {
		if resourceAliases[kind] != "pods" {
			return &usageError{msg: fmt.Sprintf("exec works on pods, not %q", kind), hint: "localjobs exec mypod -- ls /"}
		}
		pod = name
	}
	if *stdin || *tty {
		fmt.Fprintln(e.stderr, "Warning: localjobs exec does not pass stdin or a TTY yet; the command runs without them")
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	if c == nil {
		return &exitError{code: exitFailed, err: errors.New("no localjobs daemon is running: exec needs one (localjobs up)")}
	}
	rec, err := c.PodRecord(ctx, *ns, pod)
	if err != nil {
		return lookupErr(err, "pods", pod)
	}
	name, err := pickContainer(&rec.Pod, *container, e)
	if err != nil {
		return err
	}
	code, err := c.Exec(ctx, localapi.ExecRequest{Namespace: *ns, Pod: pod, Container: name, Command: fs.Args()[1:]}, e.stdout, e.stderr)
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code, err: fmt.Errorf("command terminated with exit code %d", code)}
	}
	return nil
}
