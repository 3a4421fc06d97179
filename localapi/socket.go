package localapi

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
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

// InStateDir reports whether SocketPath(stateDir) is inside the state dir
// (false: the path was too long and the socket falls back elsewhere).
func InStateDir(stateDir string) bool {
	return filepath.Dir(SocketPath(stateDir)) == filepath.Clean(stateDir)
}

// owner returns the uid and gid that own fi.
func owner(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}

// PrepareSocketDir makes dir fit to hold the daemon's socket (DESIGN §9b):
// a directory (never a symbolic link) owned by this process's uid, with
// mode 0700, or 0750 and group gid when gid >= 0. A missing dir is
// created with os.Mkdir, so a folder someone else made first is never
// adopted. An existing one must already be exactly so when strict (the
// fallback folder under $XDG_RUNTIME_DIR or the temp dir); otherwise (the
// state dir) it is tightened to that mode, unless others could write to it.
func PrepareSocketDir(dir string, gid int, strict bool) error {
	want := fs.FileMode(0o700)
	if gid >= 0 {
		want = 0o750
	}
	created := false
	if err := os.Mkdir(dir, want); err == nil {
		created = true
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("socket folder: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket folder: %w", err)
	}
	uid, dgid := owner(fi)
	mode := fi.Mode()
	refuse := func(found, fix string) error {
		return fmt.Errorf("refusing the socket folder %s: it %s; localjobs needs it to be a folder of its own (uid %d, mode %04o) so that no other user can replace the socket: %s",
			dir, found, os.Getuid(), want, fix)
	}
	const other = "another user may be trying to intercept localjobs' socket; remove the folder (as root if need be), or set XDG_RUNTIME_DIR, or use a shorter --state-dir"
	switch {
	case mode&fs.ModeSymlink != 0:
		return refuse("is a symbolic link", "remove the link")
	case !mode.IsDir():
		return refuse("is not a folder", "remove it")
	case uid != os.Getuid():
		return refuse(fmt.Sprintf("is owned by uid %d (mode %04o)", uid, mode.Perm()), other)
	case mode.Perm() == want && (gid < 0 || dgid == gid):
		return nil
	case strict && !created:
		return refuse(fmt.Sprintf("has mode %04o", mode.Perm()), other)
	case mode.Perm()&0o022 != 0 && !created:
		return refuse(fmt.Sprintf("has mode %04o, so other users could have put files in it", mode.Perm()), fmt.Sprintf("check its contents and chmod %04o %s", want, dir))
	}
	if gid >= 0 && dgid != gid {
		if err := os.Chown(dir, -1, gid); err != nil {
			return fmt.Errorf("socket folder: give it to the socket group: %w", err)
		}
	}
	if err := os.Chmod(dir, want); err != nil {
		return fmt.Errorf("socket folder: %w", err)
	}
	return nil
}

// CheckGroupReach reports the first folder on the way to dir (dir included)
// that members of group gid cannot search, with its mode; nil if they can
// reach dir.
func CheckGroupReach(dir string, gid int) error {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		_, dgid := owner(fi)
		perm := fi.Mode().Perm()
		if perm&0o001 == 0 && (dgid != gid || perm&0o010 == 0) {
			return fmt.Errorf("members of the socket group cannot reach %s: %s has mode %04o and group %d, so they cannot enter it (chmod o+x %s, or choose a --state-dir they can reach, e.g. /var/lib/localjobs)",
				dir, d, perm, dgid, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// checkSocket refuses a socket that another user could have put there (the
// client's side of DESIGN §9b): it must be a socket owned by this user or
// by root, in a folder owned by this user or by root that no one else may
// write to (a sticky folder such as /tmp is fine: others cannot replace
// what is ours in it). A missing socket is ErrNoDaemon.
func checkSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoDaemon
	}
	if err != nil {
		return err
	}
	me := os.Getuid()
	trusted := func(uid int) bool { return uid == me || uid == 0 }
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("refusing to talk to %s: %s; another user may be impersonating the localjobs daemon", path, fmt.Sprintf(format, args...))
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return refuse("it is not a socket (%s)", fi.Mode().Type())
	}
	if uid, _ := owner(fi); !trusted(uid) {
		return refuse("it is owned by uid %d, not by you (uid %d) or root", uid, me)
	}
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return err
	}
	uid, _ := owner(di)
	switch {
	case !trusted(uid):
		return refuse("its folder %s is owned by uid %d, not by you (uid %d) or root", dir, uid, me)
	case di.Mode().Perm()&0o022 != 0 && di.Mode()&fs.ModeSticky == 0:
		return refuse("its folder %s has mode %04o: other users may replace the socket", dir, di.Mode().Perm())
	}
	return nil
}
