package localapi

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
)

// SocketName is the socket's file name inside the state dir.
const SocketName = "localjobs.sock"

// maxSocketPath is the longest unix socket path Linux accepts (sun_path is
// 108 bytes including the terminating NUL).
const maxSocketPath = 107

// SocketPath is where the daemon of stateDir listens: inside the state dir,
// or, when that path is too long for a unix socket, a short path under
// $XDG_RUNTIME_DIR (else the temp dir) derived from the state dir, so
// daemon and clients agree without asking each other.
func SocketPath(stateDir string) string {
	p := filepath.Join(stateDir, SocketName)
	if len(p) <= maxSocketPath {
		return p
	}
	base := os.Getenv("XDG_RUNTIME_DIR")
	if base == "" {
		base = filepath.Join(os.TempDir(), fmt.Sprintf("localjobs-%d", os.Getuid()))
	}
	sum := sha256.Sum256([]byte(stateDir))
	return filepath.Join(base, fmt.Sprintf("localjobs-%x.sock", sum[:6]))
}

// StateDir resolves the state dir (DESIGN §5): the flag, else
// $LOCALJOBS_STATE_DIR, else $XDG_STATE_HOME/localjobs, else
// ~/.local/state/localjobs. Daemon and clients find each other through it.
func StateDir(flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if d := os.Getenv("LOCALJOBS_STATE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "localjobs"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state dir: set --state-dir or LOCALJOBS_STATE_DIR: %w", err)
	}
	return filepath.Join(home, ".local", "state", "localjobs"), nil
}
