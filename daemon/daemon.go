// Package daemon wires localjobs together: the state dir and its store, the
// Docker runtime and the controllers. It is the only package that knows
// every other one; `localjobs run` starts it in-process for its duration.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker"
	"github.com/localjobs/localjobs/state"
)

// Config is the daemon's configuration.
type Config struct {
	// StateDir holds localjobs.db, logs/ and the socket; see StateDir.
	StateDir string
	Log      *slog.Logger
}

// StateDir resolves the state dir (DESIGN §5): the flag, else
// $LOCALJOBS_STATE_DIR, else $XDG_STATE_HOME/localjobs, else
// ~/.local/state/localjobs.
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

// Daemon is an open state dir with a runtime and a controller ready to Run.
type Daemon struct {
	DB         *state.DB
	Runtime    *docker.Runtime
	Controller *runner.Controller
}

// Open opens the state dir for writing and connects to the Docker engine.
func Open(ctx context.Context, cfg Config) (*Daemon, error) {
	db, err := state.Open(cfg.StateDir, state.Options{})
	if err != nil {
		if errors.Is(err, state.ErrLocked) {
			return nil, fmt.Errorf("state dir %s is in use by another localjobs: %w", cfg.StateDir, err)
		}
		return nil, err
	}
	rt, err := docker.New(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("docker engine: %w", err)
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	ctrl := &runner.Controller{Store: db, Runtime: rt, Log: cfg.Log, NodeName: host}
	return &Daemon{DB: db, Runtime: rt, Controller: ctrl}, nil
}

// Close closes the store. Call it after the controller's Run returned.
func (d *Daemon) Close() error {
	return d.DB.Close()
}
