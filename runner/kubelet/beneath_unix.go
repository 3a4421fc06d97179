//go:build unix

package kubelet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Paths beneath a volume's folder are looked up one component at a time
// from an open descriptor of the folder, never following a symbolic link
// (O_NOFOLLOW), as the kubelet's doSafeOpen and doSafeMakeDir do: a link
// that a container planted, or swaps in while localjobs looks, ends the
// lookup instead of leading it out of the volume (CVE-2017-1002101).

// errLink is a path component that is a symbolic link.
var errLink = errors.New("is a symbolic link")

// splitBeneath checks that rel is a relative path that stays below its
// folder by its text (no "..", not absolute) and returns its components
// ("" for the folder itself).
func splitBeneath(rel string) ([]string, error) {
	if filepath.IsAbs(rel) {
		return nil, fmt.Errorf("%q must be a relative path", rel)
	}
	clean := filepath.Clean(rel)
	if clean == "." {
		return nil, nil
	}
	parts := strings.Split(clean, string(filepath.Separator))
	for _, p := range parts {
		if p == ".." {
			return nil, fmt.Errorf("%q must not contain '..'", rel)
		}
	}
	return parts, nil
}

// openDir opens the folder name beneath the folder fd without following a
// link; a link or a non-folder is an error naming path.
// It opens with searchFlags (O_PATH on Linux: only search permission is
// needed), or O_RDONLY when read is set.
func openDir(fd int, name, path string, read bool) (int, error) {
	flags := searchFlags
	if read {
		flags = unix.O_RDONLY
	}
	for {
		nfd, err := unix.Openat(fd, name, flags|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ELOOP || err == unix.ENOTDIR || err == unix.EMLINK: // EMLINK: FreeBSD's O_NOFOLLOW
			var st unix.Stat_t
			if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				return -1, fmt.Errorf("%s %w", path, errLink)
			}
			return -1, fmt.Errorf("%s is not a folder", path)
		case err != nil:
			return -1, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return nfd, nil
	}
}

// walkParent opens, without following links, the folder that holds the
// last of parts beneath dir; the caller closes the descriptor.
func walkParent(dir *os.File, parts []string) (int, error) {
	fd, err := unix.Dup(int(dir.Fd()))
	if err != nil {
		return -1, err
	}
	for i, p := range parts[:len(parts)-1] {
		nfd, err := openDir(fd, p, filepath.Join(parts[:i+1]...), false)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = nfd
	}
	return fd, nil
}

// statBeneath returns the type and mode of rel beneath dir, refusing any
// symbolic link on the way or at the end.
func statBeneath(dir *os.File, rel string) (fs.FileMode, error) {
	parts, err := splitBeneath(rel)
	if err != nil {
		return 0, err
	}
	if len(parts) == 0 {
		fi, err := dir.Stat()
		if err != nil {
			return 0, err
		}
		return fi.Mode(), nil
	}
	fd, err := walkParent(dir, parts)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstatat(fd, parts[len(parts)-1], &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return 0, &fs.PathError{Op: "stat", Path: rel, Err: err}
	}
	mode := fileMode(&st)
	if mode&fs.ModeSymlink != 0 {
		return 0, fmt.Errorf("%s %w", rel, errLink)
	}
	return mode, nil
}

// openDirBeneath opens the folder rel beneath dir, following no link.
func openDirBeneath(dir *os.File, rel string) (*os.File, error) {
	parts, err := splitBeneath(rel)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		fd, err := unix.Dup(int(dir.Fd()))
		if err != nil {
			return nil, err
		}
		return os.NewFile(uintptr(fd), dir.Name()), nil
	}
	return openInParent(dir, parts, func(pfd int, name string) (int, error) {
		return openDir(pfd, name, rel, false)
	})
}

// openInParent opens the last of parts (at least one) with open, from the
// folder that holds it beneath dir, reached without following a link.
func openInParent(dir *os.File, parts []string, open func(parent int, name string) (int, error)) (*os.File, error) {
	pfd, err := walkParent(dir, parts)
	if err != nil {
		return nil, err
	}
	defer unix.Close(pfd)
	fd, err := open(pfd, parts[len(parts)-1])
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir.Name(), filepath.Join(parts...))), nil
}

// fileMode converts a stat result's mode.
func fileMode(st *unix.Stat_t) fs.FileMode {
	m := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	}
	return m
}

// mkdirBeneath creates rel and its missing parents beneath dir with mode
// perm (set with fchmod on the created folder, past the umask), never
// following a link: a component that is a link, or is swapped for one
// between mkdir and open, is an error and nothing is chmodded through it.
// Existing folders are left as they are.
func mkdirBeneath(dir *os.File, rel string, perm fs.FileMode) error {
	parts, err := splitBeneath(rel)
	if err != nil || len(parts) == 0 {
		return err
	}
	fd, err := unix.Dup(int(dir.Fd()))
	if err != nil {
		return err
	}
	defer func() { unix.Close(fd) }()
	for i, p := range parts {
		path := filepath.Join(parts[:i+1]...)
		nfd, err := openDir(fd, p, path, false)
		if errors.Is(err, fs.ErrNotExist) {
			if err := unix.Mkdirat(fd, p, uint32(perm)); err != nil && err != unix.EEXIST {
				return &fs.PathError{Op: "mkdir", Path: path, Err: err}
			}
			// Opened for reading, which fchmod needs; with no link followed,
			// so a link swapped in since mkdir is never chmodded.
			if nfd, err = openDir(fd, p, path, true); err == nil {
				err = unix.Fchmod(nfd, uint32(perm))
			}
		}
		if err != nil {
			if nfd >= 0 {
				unix.Close(nfd)
			}
			return err
		}
		unix.Close(fd)
		fd = nfd
	}
	return nil
}

// createBeneath creates the regular file rel (mode perm) beneath dir if
// nothing is there; its parent must exist.
func createBeneath(dir *os.File, rel string, perm fs.FileMode) error {
	parts, err := splitBeneath(rel)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("%q is the folder itself", rel)
	}
	fd, err := walkParent(dir, parts)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// O_EXCL: whatever is there already (a file, a device, a link) is not
	// opened at all; the caller checks its type.
	ffd, err := unix.Openat(fd, parts[len(parts)-1], unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm))
	if err == unix.EEXIST {
		return nil
	}
	if err != nil {
		return &fs.PathError{Op: "create", Path: rel, Err: err}
	}
	return unix.Close(ffd)
}
