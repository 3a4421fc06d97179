package kubelet

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// openBeneath opens rel beneath the folder dir as an O_PATH descriptor,
// with openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS): links are followed
// only while they stay beneath dir (absolute links are refused), and not at
// all unless links is set. Kernels without openat2 (before 5.6, or behind a
// seccomp filter) get a walk that follows no link.
func openBeneath(dir *os.File, rel string, links bool) (*os.File, error) {
	parts, err := splitBeneath(rel)
	if err != nil {
		return nil, err
	}
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
	if !links {
		how.Resolve |= unix.RESOLVE_NO_SYMLINKS
	}
	name := filepath.Join(parts...)
	if name == "" {
		name = "."
	}
	for range 64 {
		fd, err := unix.Openat2(int(dir.Fd()), name, &how)
		runtime.KeepAlive(dir)
		switch err {
		case nil:
			return os.NewFile(uintptr(fd), filepath.Join(dir.Name(), name)), nil
		case unix.EINTR, unix.EAGAIN: // EAGAIN: a rename raced the lookup
			continue
		case unix.ENOSYS, unix.EPERM:
			return openWalk(dir, parts)
		case unix.EXDEV:
			return nil, fmt.Errorf("%s resolves outside the volume", rel)
		case unix.ELOOP:
			if links {
				return nil, fmt.Errorf("%s: too many levels of symbolic links", rel)
			}
			return nil, fmt.Errorf("%s passes through a symbolic link", rel)
		default:
			return nil, &fs.PathError{Op: "open", Path: rel, Err: err}
		}
	}
	return nil, fmt.Errorf("%s: the folder kept changing while it was looked up", rel)
}

// openWalk is openBeneath without openat2: no link is followed.
func openWalk(dir *os.File, parts []string) (*os.File, error) {
	if len(parts) == 0 {
		fd, err := unix.Openat(int(dir.Fd()), ".", unix.O_PATH|unix.O_CLOEXEC, 0)
		runtime.KeepAlive(dir)
		if err != nil {
			return nil, err
		}
		return os.NewFile(uintptr(fd), dir.Name()), nil
	}
	rel := filepath.Join(parts...)
	f, err := openInParent(dir, parts, func(pfd int, name string) (int, error) {
		fd, err := unix.Openat(pfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: rel, Err: err}
		}
		return fd, nil
	})
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
		f.Close()
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s %w", rel, errLink)
	}
	return f, nil
}

// canStage reports whether this process may bind-mount (it needs
// CAP_SYS_ADMIN; root is the practical test).
func canStage() bool { return os.Geteuid() == 0 }

// stageMount bind-mounts the opened file f (through /proc/self/fd, so the
// object that was checked, not a path that could have changed since) at a
// fresh entry of dir, which only this process can reach, and returns that
// path for the engine. This is the kubelet's fix for CVE-2017-1002101
// (doBindSubPath): the engine bind-mounts a path whose every component is
// ours. unstage detaches the mount and removes the entry; once the
// container has started it keeps its own copy of the mount.
func stageMount(f *os.File, dir string) (path string, unstage func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("staging folder: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return "", nil, err
	}
	var b [8]byte
	rand.Read(b[:])
	path = filepath.Join(dir, hex.EncodeToString(b[:]))
	if fi.IsDir() {
		err = os.Mkdir(path, 0o700)
	} else {
		var e *os.File
		if e, err = os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			err = e.Close()
		}
	}
	if err != nil {
		return "", nil, fmt.Errorf("staging mount point: %w", err)
	}
	src := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	err = unix.Mount(src, path, "", unix.MS_BIND|unix.MS_REC, "")
	runtime.KeepAlive(f)
	if err != nil {
		os.Remove(path)
		return "", nil, fmt.Errorf("bind-mount the checked path: %w", err)
	}
	return path, func() { unmountEntry(path) }, nil
}

// unmountEntry detaches a staging mount and removes its mount point; it is
// never removed recursively, so a mount that stayed can never lead a
// removal into the volume.
func unmountEntry(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// cleanStaging removes what a crash left in the staging folder dir.
func cleanStaging(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		errs = append(errs, unmountEntry(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

// searchFlags opens the folders of a walk: O_PATH needs only search
// permission on them.
const searchFlags = unix.O_PATH
