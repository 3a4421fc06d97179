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
// logs, so a pod's lines come before the row of its exit. A container's
// first lines can arrive before the change that says it runs: lines of a
// pod whose last row still says it is starting wait for its next row, and
// come after it when that row says Running, before it when the pod has
// already finished.
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
	status      map[string]string        // by UID: the STATUS of the last row printed
	held        map[string][]string      // by UID: lines waiting for the pod's next row
	heldOrder   []string                 // UIDs with held lines, first held first
}

// starting reports whether a pod STATUS says no container has started yet,
// so the pod's output cannot be explained by its row.
func starting(status string) bool {
	switch status {
	case "", "Pending", "ContainerCreating", "PodInitializing":
		return true
	}
	return false
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
		if !starting(row.Status) {
			p.release(pod.UID)
		}
		return
	}
	p.last[pod.Name] = k
	if p.status == nil {
		p.status = map[string]string{}
	}
	p.status[pod.UID] = row.Status
	// Held lines: after a row that says the pod runs, before one that says
	// it has finished (its output came first).
	after := !starting(row.Status) && !podTerminal(pod)
	if !after && !starting(row.Status) {
		p.release(pod.UID)
	}
	defer func() {
		if after {
			p.release(pod.UID)
		}
	}()
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
	line := fmt.Sprintf("%s | %s\n", prefix, full)
	if starting(p.status[l.PodUID]) {
		if p.held == nil {
			p.held = map[string][]string{}
		}
		if len(p.held[l.PodUID]) == 0 {
			p.heldOrder = append(p.heldOrder, l.PodUID)
		}
		p.held[l.PodUID] = append(p.held[l.PodUID], line)
		return
	}
	p.release(l.PodUID)
	fmt.Fprint(p.out, line)
}

// release prints the lines held for a pod.
func (p *runPrinter) release(uid string) {
	for _, l := range p.held[uid] {
		fmt.Fprint(p.out, l)
	}
	delete(p.held, uid)
}

// flush prints every line still held (the run or up is ending).
func (p *runPrinter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, uid := range p.heldOrder {
		p.release(uid)
	}
	p.heldOrder = nil
}
