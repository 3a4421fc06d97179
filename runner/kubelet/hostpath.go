package kubelet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Host paths that a pod names (hostPath volumes, subPaths) are resolved on
// the host without following a symbolic link out of their folder, and what
// was resolved is what gets mounted (DESIGN §9b; the kubelet's fix for
// CVE-2017-1002101). A container can plant links in any folder it may
// write (an emptyDir, an allowed hostPath), and can swap a folder for a
// link while localjobs looks, so a check of the path's text, or a check
// followed by handing the engine the same path, is not enough.
//
// Two ways, chosen per kubelet (stagingDir):
//   - staged (Linux, this process may mount, the engine shares its mount
//     namespace): the path is opened beneath its folder with openat2
//     (links that stay inside are followed, as Kubernetes allows), and the
//     opened object is bind-mounted through /proc/self/fd at a fresh entry
//     of MountDir; the engine mounts that entry, whose every component is
//     ours, and the entry is detached once the container has started.
//   - checked (otherwise: a daemon that is not root, an engine in a VM or
//     on another machine): every component is looked up without following
//     links and any link is refused; the checked path is then handed to
//     the engine. A container of the same pod that swaps a folder for a
//     link in the instant between the check and the engine's mount could
//     still win that race; the README says so.

// stagingDir is the folder for staged mounts, or "" to check paths only.
func (k *Kubelet) stagingDir() string {
	dir := k.Settings.MountDir()
	if dir == "" || !canStage() {
		return ""
	}
	if hm, ok := k.Runtime.(runner.HostMounts); !ok || !hm.SharesMountNamespace() {
		return ""
	}
	return dir
}

// prepareHostPath checks (or creates) a hostPath as its type asks. Under
// baseline the path must resolve inside an allowed folder, and creating
// it or looking at it follows no link from there.
func (k *Kubelet) prepareHostPath(h *manifest.HostPathVolume) error {
	sec := k.Settings.Security()
	if !sec.confined() {
		return prepareHostPathFollowing(h)
	}
	typ := ""
	if h.Type != nil {
		typ = *h.Type
	}
	root, rel, err := sec.hostPathRoot(h.Path)
	if err != nil {
		return err
	}
	dir, err := openResolved(root)
	if err != nil {
		return err
	}
	defer dir.Close()
	switch typ {
	case "DirectoryOrCreate":
		err = mkdirBeneath(dir, rel, 0o755)
	case "FileOrCreate":
		if err = mkdirBeneath(dir, filepath.Dir(rel), 0o755); err == nil {
			err = createBeneath(dir, rel, 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", h.Path, err)
	}
	mode, err := statBeneath(dir, rel)
	if errors.Is(err, fs.ErrNotExist) && typ == "" {
		return nil // no type: no check (the engine reports a missing path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return hostPathTypeError(h.Path, typ)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", h.Path, err)
	}
	return checkHostPathType(h.Path, typ, mode)
}

// prepareHostPathFollowing is prepareHostPath at the privileged level,
// where any host path may be used: links are followed.
func prepareHostPathFollowing(h *manifest.HostPathVolume) error {
	typ := ""
	if h.Type != nil {
		typ = *h.Type
	}
	fi, err := os.Stat(h.Path)
	switch typ {
	case "":
		return nil
	case "DirectoryOrCreate":
		if os.IsNotExist(err) {
			return os.MkdirAll(h.Path, 0o755)
		}
	case "FileOrCreate":
		if os.IsNotExist(err) {
			if err := os.MkdirAll(filepath.Dir(h.Path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
	}
	if os.IsNotExist(err) {
		return hostPathTypeError(h.Path, typ)
	}
	if err != nil {
		return err
	}
	return checkHostPathType(h.Path, typ, fi.Mode())
}

func hostPathTypeError(path, typ string) error {
	return fmt.Errorf("hostPath type check failed: %s is not a %s", path, strings.ToLower(strings.TrimSuffix(typ, "OrCreate")))
}

func checkHostPathType(path, typ string, mode fs.FileMode) error {
	ok := true
	switch typ {
	case "Directory", "DirectoryOrCreate":
		ok = mode.IsDir()
	case "File", "FileOrCreate":
		ok = mode.IsRegular()
	case "Socket":
		ok = mode&os.ModeSocket != 0
	case "CharDevice":
		ok = mode&os.ModeCharDevice != 0
	case "BlockDevice":
		ok = mode&os.ModeDevice != 0 && mode&os.ModeCharDevice == 0
	}
	if !ok {
		return hostPathTypeError(path, typ)
	}
	return nil
}

// subPathError is a subPath that cannot be mounted safely; the container
// waits in CreateContainerConfigError, as with the kubelet.
type subPathError struct {
	create            bool // creating the missing folder failed
	volume, container string
	err               error
}

func (e *subPathError) Error() string {
	if e.create {
		return fmt.Sprintf("failed to create subPath directory for volumeMount %q of container %q: %v", e.volume, e.container, e.err)
	}
	return fmt.Sprintf("failed to prepare subPath for volumeMount %q of container %q: %v", e.volume, e.container, e.err)
}

// bindSource resolves the host side of one bind mount of volume hv, with
// sub its subPath ("" for none): the path to hand the engine and, when it
// was staged, the function to call once the container has started (or
// failed to).
func (k *Kubelet) bindSource(hv hostVolume, sub string) (src string, unstage func(), err error) {
	var sec Security
	if hv.hostPath {
		sec = k.Settings.Security()
	}
	confined := hv.hostPath && sec.confined()
	if sub == "" && !confined {
		return hv.path, nil, nil // our own folder, or a privileged hostPath as given
	}
	root, rel := hv.path, ""
	if confined {
		if root, rel, err = sec.hostPathRoot(hv.path); err != nil {
			return "", nil, err
		}
	}
	open := os.Open // our own folder (emptyDir…), or a privileged hostPath
	if confined {
		open = openResolved
	}
	dir, err := open(root)
	if err != nil {
		return "", nil, err
	}
	defer dir.Close()
	if stage := k.stagingDir(); stage != "" {
		return stagedSource(dir, rel, sub, stage)
	}
	return checkedSource(dir, root, rel, sub)
}

// stagedSource opens the volume's folder rel (no links) and sub beneath it
// (links that stay inside are followed), creating a missing sub, and
// stages what was opened.
func stagedSource(dir *os.File, rel, sub, stage string) (string, func(), error) {
	var nop func()
	vol, err := openBeneath(dir, rel, false)
	if err != nil {
		return "", nop, err
	}
	defer vol.Close()
	target := vol
	if sub != "" {
		target, err = openBeneath(vol, sub, true)
		if errors.Is(err, fs.ErrNotExist) {
			if err = mkdirBeneath(vol, sub, folderPerm(vol)); err != nil {
				return "", nop, &subPathError{create: true, err: err}
			}
			target, err = openBeneath(vol, sub, true)
		}
		if err != nil {
			return "", nop, &subPathError{err: err}
		}
		defer target.Close()
	}
	path, unstage, err := stageMount(target, stage)
	if err != nil {
		return "", nop, err
	}
	return path, unstage, nil
}

// checkedSource checks that rel and rel/sub beneath dir (at root) contain
// no link, creating a missing sub, and returns the checked path.
func checkedSource(dir *os.File, root, rel, sub string) (string, func(), error) {
	var nop func()
	mode, err := statBeneath(dir, rel)
	if err != nil {
		return "", nop, err
	}
	if sub == "" {
		return filepath.Join(root, rel), nop, nil
	}
	if _, err := splitBeneath(sub); err != nil {
		return "", nop, &subPathError{err: err}
	}
	full := filepath.Join(rel, sub)
	_, err = statBeneath(dir, full)
	if errors.Is(err, fs.ErrNotExist) {
		if err = mkdirBeneath(dir, full, mode.Perm()); err != nil {
			return "", nop, &subPathError{create: true, err: err}
		}
		_, err = statBeneath(dir, full)
	}
	if err != nil {
		return "", nop, &subPathError{err: err}
	}
	return filepath.Join(root, full), nop, nil
}

// openResolved opens the folder at path, a path with its links resolved
// (an allowed hostPath folder), without following any link on the way: a
// folder swapped for a link since it was resolved is refused.
func openResolved(path string) (*os.File, error) {
	rootDir, err := os.Open(string(filepath.Separator))
	if err != nil {
		return nil, err
	}
	defer rootDir.Close()
	return openDirBeneath(rootDir, strings.TrimPrefix(filepath.Clean(path), string(filepath.Separator)))
}

// folderPerm is the permission bits of an opened folder (0755 if unknown):
// a created subPath folder gets its volume's, as with the kubelet.
func folderPerm(f *os.File) fs.FileMode {
	if fi, err := f.Stat(); err == nil {
		return fi.Mode().Perm()
	}
	return 0o755
}
