package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// runPrinter writes the output of run and up: a kubectl-watch row whenever
// a pod's READY, STATUS or RESTARTS changes (up: a `pod/NAME STATUS` line
// whenever its STATUS changes), and container output prefixed with its
// pod, compose-style. Both feed it from the daemon's watch of pods and
// logs, so a pod's lines come before the row of its exit.
type runPrinter struct {
	mu          sync.Mutex
	ours        func(*manifest.Pod) bool // nil = every pod
	out         io.Writer
	statusLines bool // up's form
	header      bool
	last        map[string]string
	widths      [4]int
	partial     map[string][]byte
	pods        map[string]*manifest.Pod // by UID: what log lines belong to
}

func (p *runPrinter) setOurs(f func(*manifest.Pod) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ours = f
}

func (p *runPrinter) podChanged(pod *manifest.Pod) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pods == nil {
		p.pods = map[string]*manifest.Pod{}
	}
	p.pods[pod.UID] = pod
	if p.ours != nil && !p.ours(pod) {
		return
	}
	if p.last == nil {
		p.last = map[string]string{}
	}
	row := podRow(pod, time.Now())
	k := row.Ready + "|" + row.Status + "|" + row.Restarts
	if p.statusLines {
		k = row.Status
	}
	if p.last[pod.Name] == k {
		return
	}
	p.last[pod.Name] = k
	if p.statusLines {
		fmt.Fprintf(p.out, "pod/%s %s\n", pod.Name, row.Status)
		return
	}
	cols := []string{row.Name, row.Ready, row.Status, row.Restarts}
	if !p.header {
		p.header = true
		for i, h := range []string{"NAME", "READY", "STATUS", "RESTARTS"} {
			p.widths[i] = max(len(h), len(cols[i]))
		}
		p.widths[2] = max(p.widths[2], len("ContainerCreating"))
		fmt.Fprintf(p.out, "%-*s   %-*s   %-*s   %-*s   %s\n", p.widths[0], "NAME", p.widths[1], "READY", p.widths[2], "STATUS", p.widths[3], "RESTARTS", "AGE")
	}
	fmt.Fprintf(p.out, "%-*s   %-*s   %-*s   %-*s   %s\n", p.widths[0], cols[0], p.widths[1], cols[1], p.widths[2], cols[2], p.widths[3], cols[3], row.Age)
}

// podDeleted forgets a pod's last row, so a pod of the same name created
// again prints from the start.
func (p *runPrinter) podDeleted(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.last, name)
}

func (p *runPrinter) logLine(l *localapi.LogLine) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pod := p.pods[l.PodUID]
	if pod == nil || p.ours != nil && !p.ours(pod) {
		return
	}
	if p.partial == nil {
		p.partial = map[string][]byte{}
	}
	k := l.PodUID + "/" + l.Container
	if l.Partial {
		p.partial[k] = append(p.partial[k], l.Line...)
		return
	}
	full := append(p.partial[k], l.Line...)
	delete(p.partial, k)
	prefix := pod.Name
	if len(pod.Spec.Containers)+len(pod.Spec.InitContainers) > 1 {
		prefix += "/" + l.Container
	}
	fmt.Fprintf(p.out, "%s | %s\n", prefix, full)
}
