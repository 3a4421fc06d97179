package cli

import (
	"errors"
	"fmt"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/state"
)

// openStore opens the state read-only for the read verbs. ok is false when
// no localjobs has ever run with this state dir.
func (e *env) openStore() (db *state.DB, ok bool, err error) {
	dir, err := daemon.StateDir(e.stateDir)
	if err != nil {
		return nil, false, err
	}
	db, err = state.Open(dir, state.Options{ReadOnly: true})
	switch {
	case errors.Is(err, state.ErrNoState):
		return nil, false, nil
	case errors.Is(err, state.ErrLocked):
		return nil, false, fmt.Errorf("state dir %s is held by a running localjobs run; try again when it has finished: %w", dir, err)
	case err != nil:
		return nil, false, err
	}
	return db, true, nil
}

// lookupErr turns a failed lookup into kubectl's NotFound message when the
// object does not exist, and passes any other error through.
func lookupErr(err error, resource, name string) error {
	if errors.Is(err, runner.ErrObjectNotFound) {
		return notFound(resource, name)
	}
	return err
}

// notFound is kubectl's message for a missing object.
func notFound(resource, name string) error {
	return fmt.Errorf("Error from server (NotFound): %s %q not found", resource, name)
}
