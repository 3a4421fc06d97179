// Package apply is localjobs' desired state: what `up`, `apply -f`, `run
// -f` and `delete` mean for the objects of a state dir, in one place.
//
// Every applied object has a Record: its source (the file it came from and
// whether `up` watches it or `apply -f` sent it once) and the hash of the
// spec as applied. Only a changed spec re-applies an object: mutable Job
// fields (parallelism, suspend, activeDeadlineSeconds, labels) and any
// CronJob field change in place; another Job change replaces the Job, with
// a notice; a changed Pod is replaced. An object deleted by its
// ttlSecondsAfterFinished or a CronJob history limit keeps its record (a
// tombstone), so an unchanged file does not run it again; a user's delete
// clears the record, so the next apply of the same file creates it anew,
// as kubectl users re-run Jobs.
//
// Objects that `up` applied are pruned when their file has been gone for
// the settle time (a save by rename or a git checkout that removes a file
// for a moment prunes nothing). `run -f` objects are fresh runs and keep
// no record. The package does no I/O of its own: the controllers are a
// Target and the records a Records store, both interfaces the daemon
// fills; file existence is asked through Applier.Exists.
package apply
