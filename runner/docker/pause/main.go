// Command pause holds a pod sandbox's namespaces for localjobs (DESIGN §2):
// it sleeps until SIGTERM or SIGINT, reaping any zombie children re-parented
// to it meanwhile. It is built static for linux/amd64 and linux/arm64 by
// `go generate ./runner/docker` and embedded in localjobs.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
