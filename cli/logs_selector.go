package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// selectorLogs prints the logs of every pod of ns matching sel, as kubectl
// logs -l does: each pod's default (or -c) container, or all of them with
// --all-containers; with -f the pods are followed at once, at most
// maxReqs of them.
func (e *env) selectorLogs(ctx context.Context, src source, ns, sel, container string, allContainers, prefix bool, maxReqs int, base localapi.LogRequest) error {
	s, err := labels.Parse(sel)
	if err != nil {
		return &usageError{msg: fmt.Sprintf("invalid label selector %q: %v", sel, err), hint: "-l app=web"}
	}
	all, err := src.ListPods(ctx, ns, localapi.ListOptions{LabelSelector: s.String()})
	if err != nil {
		return err
	}
	var pods []*manifest.Pod
	for _, p := range all {
		if s.Matches(labels.Set(p.Labels)) {
			pods = append(pods, p)
		}
	}
	if len(pods) == 0 {
		fmt.Fprintf(e.stderr, "No resources found in %s namespace.\n", ns)
		return nil
	}
	objs := anys(pods)
	sortByName(objs)
	type stream struct {
		req localapi.LogRequest
		w   io.Writer
	}
	var streams []stream
	out := &lockedWriter{w: e.stdout}
	for _, o := range objs {
		p := o.(*manifest.Pod)
		var names []string
		if allContainers {
			for _, c := range p.Spec.InitContainers {
				names = append(names, c.Name)
			}
			for _, c := range p.Spec.Containers {
				names = append(names, c.Name)
			}
		} else {
			c, err := pickContainer(p, container, e)
			if err != nil {
				return err
			}
			names = []string{c}
		}
		for _, c := range names {
			req := base
			req.Namespace, req.Pod, req.Container = p.Namespace, p.Name, c
			var w io.Writer = out
			if prefix {
				w = &prefixWriter{w: out, prefix: fmt.Sprintf("[pod/%s/%s] ", p.Name, c)}
			}
			streams = append(streams, stream{req, w})
		}
	}
	if !base.Follow {
		for _, st := range streams {
			if err := src.Logs(ctx, st.w, st.req); err != nil {
				fmt.Fprintf(e.stderr, "error: %s/%s: %v\n", st.req.Pod, st.req.Container, err)
			}
		}
		return nil
	}
	if len(streams) > maxReqs {
		return fmt.Errorf("you are attempting to follow %d log streams, but maximum allowed concurrency is %d, use --max-log-requests to increase the limit", len(streams), maxReqs)
	}
	var wg sync.WaitGroup
	for _, st := range streams {
		wg.Go(func() {
			if err := src.Logs(ctx, st.w, st.req); err != nil && ctx.Err() == nil {
				fmt.Fprintf(e.stderr, "error: %s/%s: %v\n", st.req.Pod, st.req.Container, err)
			}
		})
	}
	wg.Wait()
	return nil
}

// lockedWriter serialises writes of concurrently followed logs.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter prefixes every line with prefix (kubectl logs --prefix),
// writing whole lines only so concurrent streams do not interleave.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := append([]byte(p.prefix), p.buf[:i+1]...)
		if _, err := p.w.Write(line); err != nil {
			return 0, err
		}
		p.buf = p.buf[i+1:]
	}
}
