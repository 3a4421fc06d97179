package main

import (
	"context"
	"strings"
	"time"

	"github.com/localjobs/localjobs/state"
)

// removeOurs force-removes every container of the localjobs instance of
// stateDir (its daemon has stopped: up leaves containers running by design)
// on the engine of dockerHost ("" = the environment's). Only containers
// carrying this instance's label are touched.
func removeOurs(e *env, stateDir, dockerHost string) {
	db, err := state.Open(stateDir, state.Options{ReadOnly: true})
	if err != nil {
		logf("cleanup %s: %v", stateDir, err)
		return
	}
	inst := db.InstanceID()
	db.Close()
	removeInstance(inst, dockerHost)
}

// removeInstance removes the containers labelled with instance inst.
func removeInstance(inst, dockerHost string) {
	if inst == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := docker(ctx, dockerHost, "ps", "-aq", "--filter", "label=io.localjobs.instance="+inst)
	ids := strings.Fields(out)
	if err != nil || len(ids) == 0 {
		return
	}
	if _, err := docker(ctx, dockerHost, append([]string{"rm", "-f"}, ids...)...); err != nil {
		logf("cleanup: %v", err)
	}
}
