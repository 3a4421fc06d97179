package daemon

import (
	"context"
	"fmt"
	"io"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

var _ localapi.ExecBackend = (*Daemon)(nil)

// Exec implements localapi.ExecBackend: it runs a command in the running
// instance of a pod's container, as kubectl exec does.
func (d *Daemon) Exec(ctx context.Context, req localapi.ExecRequest, stdout, stderr io.Writer) (int, error) {
	ex, ok := d.Runtime.(runner.Execer)
	if !ok {
		return 0, &localapi.BadRequestError{Msg: "this container runtime cannot exec"}
	}
	rec, err := d.DB.Pod(ctx, req.Namespace, req.Pod)
	if err != nil {
		return 0, err
	}
	if p := rec.Pod.Status.Phase; p == manifest.PodSucceeded || p == manifest.PodFailed {
		return 0, &localapi.BadRequestError{Msg: fmt.Sprintf("cannot exec into a container in a completed pod; current phase is %s", p)}
	}
	cr, err := pickContainer(rec, req.Container)
	if err != nil {
		return 0, err
	}
	if cr.Current == nil || cr.Current.ID == "" || cr.Current.Step != runner.StepStarted {
		return 0, &localapi.BadRequestError{Msg: fmt.Sprintf("unable to upgrade connection: container not found (%q)", cr.Name)}
	}
	return ex.Exec(ctx, cr.Current.ID, req.Command, stdout, stderr)
}
