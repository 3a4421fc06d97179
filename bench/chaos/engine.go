package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// privateEngine is a second dockerd the harness starts itself: its own data
// root, exec root, socket, pidfile and bridge, no iptables, so killing it
// touches nothing of the environment's engine or its containers.
type privateEngine struct {
	root   string // holds data/, x/ (exec root), docker.sock, docker.pid
	bridge string // created by the harness, passed as --bridge
	cidr   string // the bridge's address
	cmd    *exec.Cmd
	done   chan struct{}
	out    *lockedBuffer
}

// The private engine's bridge: a name of ours and a subnet nobody here uses.
const (
	engineBridge = "ljchaos0"
	engineCIDR   = "10.231.77.1/24"
)

func newPrivateEngine(root string) *privateEngine {
	return &privateEngine{root: root, bridge: engineBridge, cidr: engineCIDR}
}

// host is the DOCKER_HOST of the engine.
func (p *privateEngine) host() string { return "unix://" + filepath.Join(p.root, "docker.sock") }

// args are dockerd's arguments.
func (p *privateEngine) args() []string {
	return []string{
		"--config-file", filepath.Join(p.root, "daemon.json"), // not /etc/docker/daemon.json
		"--data-root", filepath.Join(p.root, "data"),
		"--exec-root", filepath.Join(p.root, "x"),
		"-H", p.host(),
		"--pidfile", filepath.Join(p.root, "docker.pid"),
		"--iptables=false",
		"--ip6tables=false",
		"--ip-forward=false",
		"--bridge=" + p.bridge,
	}
}

// validateEngineArgs refuses dockerd arguments that could touch the
// environment's engine: each of data root, exec root, socket and pidfile
// must be given and not the default one, iptables off, and a bridge of our
// own (never none, which deletes the host's docker0, nor docker0 itself).
func validateEngineArgs(args []string) error {
	vals := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return fmt.Errorf("unexpected argument %q", a)
		}
		k, v, ok := strings.Cut(a, "=")
		if !ok && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			v = args[i+1]
			i++
		}
		vals[strings.TrimLeft(k, "-")] = v
	}
	var errs []error
	need := func(k string, bad ...string) {
		v, ok := vals[k]
		switch {
		case !ok || v == "":
			errs = append(errs, fmt.Errorf("--%s is required", k))
		case slices.Contains(bad, filepath.Clean(strings.TrimPrefix(v, "unix://"))):
			errs = append(errs, fmt.Errorf("--%s %s is the environment's engine's", k, v))
		}
	}
	need("data-root", "/var/lib/docker")
	need("exec-root", "/var/run/docker", "/run/docker")
	need("pidfile", "/var/run/docker.pid", "/run/docker.pid")
	if h, ok := vals["H"]; ok {
		vals["host"] = h
	}
	need("host", "/var/run/docker.sock", "/run/docker.sock")
	if h := vals["host"]; h != "" && !strings.HasPrefix(h, "unix://") {
		errs = append(errs, fmt.Errorf("--host %s: only a unix socket", h))
	}
	if vals["iptables"] != "false" {
		errs = append(errs, errors.New("--iptables=false is required"))
	}
	switch b := vals["bridge"]; b {
	case "":
		errs = append(errs, errors.New("--bridge=NAME (a bridge of our own) is required"))
	case "none":
		errs = append(errs, errors.New("--bridge=none deletes the host's docker0: never"))
	case "docker0":
		errs = append(errs, errors.New("--bridge=docker0 is the environment's engine's"))
	}
	return errors.Join(errs...)
}

// setup creates the dirs and the bridge (a leftover of ours is replaced).
func (p *privateEngine) setup() error {
	if err := validateEngineArgs(p.args()); err != nil {
		return err
	}
	if err := os.MkdirAll(p.root, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.root, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		return err
	}
	exec.Command("ip", "link", "del", p.bridge).Run() // a leftover of a killed run
	for _, c := range [][]string{
		{"link", "add", p.bridge, "type", "bridge"},
		{"addr", "add", p.cidr, "dev", p.bridge},
		{"link", "set", p.bridge, "up"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	return nil
}

// start runs dockerd and waits (≤ 60 s) until it answers.
func (p *privateEngine) start(ctx context.Context) error {
	p.cmd = exec.Command("dockerd", p.args()...)
	p.out = &lockedBuffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.done = make(chan struct{})
	if err := p.cmd.Start(); err != nil {
		return err
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := docker(ctx, p.host(), "version", "--format", "{{.Server.Version}}"); err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("dockerd exited: %s", tail(p.out.String(), 800))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd did not answer within 60s: %s", tail(p.out.String(), 800))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill9 kills dockerd (not its containerd nor the shims: a crash).
func (p *privateEngine) kill9() {
	if p.cmd != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// stop stops dockerd with SIGTERM (it stops its containers) and waits.
func (p *privateEngine) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.kill9()
	}
}

// loadImage copies image from the environment's engine into this one.
func (p *privateEngine) loadImage(ctx context.Context, image string) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", `docker save "$1" | DOCKER_HOST="$2" docker load`, "sh", image, p.host())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker save | docker load: %v: %s", err, out)
	}
	return nil
}

// teardown stops dockerd (SIGTERM, then SIGKILL), ends what it left (its
// containerd and shims: processes whose command line names our root),
// unmounts what is under the root, deletes the bridge and the dirs.
func (p *privateEngine) teardown() {
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				p.kill9()
			}
		}
	}
	for _, pid := range pidsNaming(p.root) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	// Wait (≤ 5 s) until they are gone before unmounting and removing.
	for deadline := time.Now().Add(5 * time.Second); len(pidsNaming(p.root)) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	for _, m := range mountsUnder(p.root) {
		syscall.Unmount(m, syscall.MNT_DETACH)
	}
	if out, err := exec.Command("ip", "link", "del", p.bridge).CombinedOutput(); err != nil {
		logf("teardown: ip link del %s: %v %s", p.bridge, err, out)
	}
	if err := os.RemoveAll(p.root); err != nil {
		logf("teardown: %v", err)
	}
}

// pidsNaming lists the processes whose command line contains s.
func pidsNaming(s string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// mountsUnder lists the mount points under dir, deepest first.
func mountsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mounts")
	var ms []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			ms = append(ms, f[1])
		}
	}
	slices.SortFunc(ms, func(a, b string) int { return len(b) - len(a) })
	return ms
}
