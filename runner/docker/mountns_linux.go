package docker

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// engineSharesMounts reports whether the engine at host (a DOCKER_HOST
// value) is a process in this process's mount namespace: the peer of its
// unix socket (SO_PEERCRED) has the same /proc/<pid>/ns/mnt. Only then is
// a bind mount made here visible to the engine (runner.HostMounts). An
// engine behind TCP or SSH, in a VM (Docker Desktop), rootless (in its own
// namespaces) or seen from inside a container answers false; so does a
// process that may not read the engine's namespace (not root).
func engineSharesMounts(host string) bool {
	path, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return false
	}
	conn, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	cerr := raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if cerr != nil || err != nil || cred.Pid <= 0 {
		return false
	}
	theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", cred.Pid))
	if err != nil {
		return false
	}
	ours, err := os.Readlink("/proc/self/ns/mnt")
	return err == nil && theirs == ours
}
