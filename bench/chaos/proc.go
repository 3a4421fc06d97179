package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/localjobs/localjobs/localapi"
)

// daemon is one `localjobs up` process.
type daemon struct {
	cmd    *exec.Cmd
	out    *lockedBuffer // stdout and stderr
	done   chan struct{}
	err    error // exit status, once done
	client *localapi.Client
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startUp starts `localjobs --state-dir stateDir up specs` with extra
// environment (DOCKER_HOST=…); it does not wait for the socket.
func startUp(e *env, stateDir, specs string, environ ...string) (*daemon, error) {
	d := &daemon{cmd: exec.Command(e.bin, "--state-dir", stateDir, "up", specs), out: &lockedBuffer{}, done: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.Env = append(os.Environ(), environ...)
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	return d, nil
}

// dial waits up to timeout for the daemon's socket to answer; it fails at
// once if the process exits.
func (d *daemon) dial(ctx context.Context, stateDir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := localapi.Dial(ctx, localapi.SocketPath(stateDir), "dev")
		if c != nil {
			d.client = c
			return nil
		}
		select {
		case <-d.done:
			return fmt.Errorf("localjobs up exited (%v): %s", d.err, tail(d.out.String(), 600))
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("localjobs up did not answer within %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // bounded polling of the socket
	}
}

// alive reports whether the process still runs.
func (d *daemon) alive() bool { return alive(d.done) }

// kill9 sends SIGKILL and waits for the exit.
func (d *daemon) kill9() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// stop sends SIGTERM and waits (SIGKILL after 30 s); it returns the exit
// status.
func (d *daemon) stop() error {
	if !d.alive() {
		return d.err
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.kill9()
		return errors.New("did not exit within 30s of SIGTERM")
	}
	return d.err
}

// lj runs the localjobs CLI on stateDir with a timeout and returns its
// combined output.
func lj(ctx context.Context, e *env, stateDir string, environ []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"--state-dir", stateDir}, args...)...)
	cmd.Env = append(os.Environ(), environ...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// container is one running container of ours, from docker ps.
type container struct {
	Pod, Name, Job, Index, CronJob string
}

// psFormat asks docker ps for the labels a container is matched by.
const psFormat = `{{.Label "io.localjobs.pod"}}|{{.Label "io.localjobs.container"}}|{{.Label "io.localjobs.job"}}|{{.Label "batch.kubernetes.io/job-completion-index"}}|{{.Label "io.localjobs.cronjob"}}`

// dockerPS lists the running containers with the label filter (e.g.
// io.localjobs.instance=…) on the engine of dockerHost ("" = the
// environment's).
func dockerPS(ctx context.Context, dockerHost, label string) ([]container, error) {
	out, err := docker(ctx, dockerHost, "ps", "--no-trunc", "--filter", "label="+label, "--format", psFormat)
	if err != nil {
		return nil, err
	}
	return parsePS(out), nil
}

func parsePS(out string) []container {
	var cs []container
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(l, "|")
		if len(f) != 5 {
			continue
		}
		cs = append(cs, container{Pod: f[0], Name: f[1], Job: f[2], Index: f[3], CronJob: f[4]})
	}
	return cs
}

// byPod lists, with one docker ps -a on the engine of dockerHost, every
// container that carries a pod-uid label: the value of the Go template
// field (e.g. {{.ID}}) of each, by pod UID.
func byPod(ctx context.Context, dockerHost, field string) (map[string][]string, error) {
	out, err := docker(ctx, dockerHost, "ps", "-a", "--no-trunc", "--filter", "label=io.localjobs.pod-uid",
		"--format", `{{.Label "io.localjobs.pod-uid"}}|`+field)
	if err != nil {
		return nil, err
	}
	m := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if uid, v, ok := strings.Cut(l, "|"); ok && uid != "" {
			m[uid] = append(m[uid], v)
		}
	}
	return m, nil
}

// twice returns the keys that more than one running container holds: the
// same container of one pod, or the same index of one Job.
func twice(cs []container) []string {
	n := map[string]int{}
	for _, c := range cs {
		if c.Name == "" { // a pod's sandbox
			continue
		}
		n["pod "+c.Pod+"/"+c.Name]++
		if c.Job != "" && c.Index != "" {
			n["job "+c.Job+" index "+c.Index]++
		}
	}
	var out []string
	for k, v := range n {
		if v > 1 {
			out = append(out, fmt.Sprintf("%s ×%d", k, v))
		}
	}
	return out
}

// docker runs the docker CLI against dockerHost ("" = the environment's).
func docker(ctx context.Context, dockerHost string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = os.Environ()
	if dockerHost != "" {
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+dockerHost)
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
