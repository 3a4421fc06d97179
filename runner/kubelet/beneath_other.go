//go:build unix && !linux

package kubelet

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// searchFlags opens the folders of a walk.
const searchFlags = unix.O_RDONLY

// Off Linux the engine runs in a VM (Docker Desktop), which cannot see this
// process's mounts or descriptors: subPaths are checked (statBeneath), not
// staged.

var errNoStaging = errors.New("staged mounts need Linux")

func openBeneath(*os.File, string, bool) (*os.File, error) { return nil, errNoStaging }

func canStage() bool { return false }

func stageMount(*os.File, string) (string, func(), error) { return "", nil, errNoStaging }

func cleanStaging(string) error { return nil }
