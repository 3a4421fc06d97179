package controller_test

import (
	"context"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/controller"
	"github.com/localjobs/localjobs/runner/runnertest"
)

func failingJob() *manifest.Job {
	return &manifest.Job{
		ObjectMeta: manifest.ObjectMeta{Name: "migrate", Namespace: "default"},
		Spec: manifest.JobSpec{Template: manifest.PodTemplateSpec{Spec: manifest.PodSpec{
			RestartPolicy: "Never",
			Containers:    []manifest.Container{{Name: "main", Image: "busybox", ImagePullPolicy: manifest.PullIfNotPresent}},
		}}},
	}
}

// startDaemon runs a Controller over store and rt (which outlive it, as
// the state dir and the engine outlive a daemon), with the failpoint if
// not nil. sub sees everything it publishes; stop ends Run and waits for
// it.
func startDaemon(store runner.Store, rt *runnertest.Runtime, failpoint func(string)) (c *controller.Controller, sub *runner.Subscription, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	c = &controller.Controller{Store: store, Runtime: rt, NodeName: "n", Failpoint: failpoint}
	sub = c.Subscribe()
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	return c, sub, func() { cancel(); <-done }
}

// crashingDaemon starts a daemon over a new store and engine (busybox
// containers that run for a second) whose workers end at the failpoint
// step, as a crash of the daemon there would end them. crashed waits
// until n have, then stops the daemon.
func crashingDaemon(step string, n int) (store *runnertest.Store, rt *runnertest.Runtime, c *controller.Controller, crashed func()) {
	store = runnertest.NewStore()
	rt = runnertest.NewRuntime("busybox")
	rt.Script = runFor(time.Second)
	ends := make(chan struct{}, n)
	c, _, stop := startDaemon(store, rt, func(s string) {
		if s == step {
			ends <- struct{}{}
			runtime.Goexit()
		}
	})
	return store, rt, c, func() {
		for range n {
			<-ends
		}
		stop()
	}
}

// TestRestoreAfterIntent: the daemon dies between recording a pod's
// container intent and creating the container; the restarted daemon
// creates that container (nothing ran, so it is not a failure) and the Job
// completes with no failure counted.
func TestRestoreAfterIntent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// First daemon: crashes (its worker goroutine ends) right after the intent.
		store, rt, c1, crashed := crashingDaemon("after-intent", 1)
		job, err := c1.ApplyJob(context.Background(), failingJob())
		if err != nil {
			t.Fatal(err)
		}
		crashed()
		if len(rt.Created) != 0 {
			t.Fatalf("%d containers created before the crash, want 0", len(rt.Created))
		}

		// Second daemon on the same store and engine.
		c2, sub, stop2 := startDaemon(store, rt, nil)
		defer stop2()
		st, err := c2.Restore(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Recreated != 1 || st.Pods != 1 || st.Jobs != 1 {
			t.Errorf("restore stats %+v, want 1 pod, 1 job, 1 recreated", st)
		}
		for {
			ch, err := sub.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ch.Job != nil && runner.IsJobFinished(ch.Job) {
				if ch.Job.Status.Succeeded != 1 || ch.Job.Status.Failed != 0 {
					t.Errorf("job status %+v, want succeeded 1, failed 0", ch.Job.Status)
				}
				break
			}
		}
		pods, _ := store.PodsOfJob(context.Background(), job.UID)
		if len(pods) != 1 || len(rt.Created) != 1 {
			t.Errorf("%d pods, %d containers; want the one pod's container created once", len(pods), len(rt.Created))
		}
		if r := pods[0].Containers[0]; r.RestartCount != 0 || r.Current.Restart != 0 {
			t.Errorf("restart count %d, want 0 (the intent was not a failure)", r.RestartCount)
		}
		stop2()
		rt.KillAll()
	})
}

// TestRestoreAdoptsAndRecordsExits: a daemon stops while one pod runs and
// another's container exits while it is down; the next daemon adopts the
// running one (no new container) and records the real exit of the other.
func TestRestoreAdoptsAndRecordsExits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := runnertest.NewStore()
		rt := runnertest.NewRuntime("busybox")
		rt.Script = func(spec runner.ContainerSpec) runnertest.Behavior {
			if spec.Labels[runner.LabelPod] == "short" {
				return runnertest.Behavior{RunFor: 5 * time.Second, ExitCode: 3, Lines: []string{"short"}}
			}
			return runnertest.Behavior{RunFor: 60 * time.Second, Lines: []string{"long"}}
		}
		c1, sub1, stop1 := startDaemon(store, rt, nil)
		for _, name := range []string{"short", "long"} {
			if _, err := c1.ApplyPod(context.Background(), pod(name, "busybox", "Never")); err != nil {
				t.Fatal(err)
			}
		}
		running := map[string]bool{}
		for len(running) < 2 {
			ch, _ := sub1.Next(context.Background())
			if ch.Record != nil && ch.Record.Containers[0].Current != nil && ch.Record.Containers[0].Current.Step == runner.StepStarted {
				running[ch.Record.Pod.Name] = true
			}
		}
		stop1()
		time.Sleep(10 * time.Second) // fake time: the daemon is down while "short" exits
		synctest.Wait()

		c2, _, stop2 := startDaemon(store, rt, nil)
		st, err := c2.Restore(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Adopted != 1 || st.ExitedWhileDown != 1 || st.Vanished != 0 {
			t.Errorf("restore stats %+v, want 1 adopted, 1 exited while down", st)
		}
		synctest.Wait() // the resumed workers record what Restore found
		short, _ := store.Pod(context.Background(), "default", "short")
		if term := short.Pod.Status.ContainerStatuses[0].State.Terminated; short.Pod.Status.Phase != manifest.PodFailed || term == nil || term.ExitCode != 3 {
			t.Errorf("short: phase %s, terminated %+v; want Failed with exit 3", short.Pod.Status.Phase, term)
		}
		time.Sleep(60 * time.Second) // fake time: "long" finishes
		synctest.Wait()
		long, _ := store.Pod(context.Background(), "default", "long")
		if long.Pod.Status.Phase != manifest.PodSucceeded {
			t.Errorf("long: phase %s, want Succeeded (adopted and waited for)", long.Pod.Status.Phase)
		}
		if len(rt.Created) != 2 {
			t.Errorf("%d containers created, want 2 (nothing re-created)", len(rt.Created))
		}
		if got := store.LogLines("default", "long", long.Pod.UID, "main", 0); len(got) != 1 {
			t.Errorf("long's log %q, want its one line exactly once", got)
		}
		stop2()
	})
}

// TestRestoreRecreatesStagedContainer: a daemon dies between creating a
// container and starting it. A container whose bind sources were staged
// (hostpath.go) is created again, since its staged entries are gone; one
// without is started as it is.
func TestRestoreRecreatesStagedContainer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, rt, c1, crashed := crashingDaemon("after-created", 2)
		// The staged label stands in for real staged mounts, which the
		// fake runtime cannot have.
		staged := pod("staged", "busybox", "Never")
		staged.Labels = map[string]string{runner.LabelStagedMounts: "true"}
		for _, p := range []*manifest.Pod{staged, pod("plain", "busybox", "Never")} {
			if _, err := c1.ApplyPod(context.Background(), p); err != nil {
				t.Fatal(err)
			}
		}
		crashed()

		c2, sub, stop2 := startDaemon(store, rt, nil)
		st, err := c2.Restore(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Recreated != 1 || st.Started != 1 {
			t.Errorf("restore stats %+v, want 1 recreated (staged) and 1 started (plain)", st)
		}
		finished := map[string]bool{}
		for len(finished) < 2 {
			ch, err := sub.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ch.Pod != nil && runner.IsTerminalPhase(ch.Pod.Status.Phase) {
				if ch.Pod.Status.Phase != manifest.PodSucceeded {
					t.Errorf("%s: %s", ch.Pod.Name, ch.Pod.Status.Phase)
				}
				finished[ch.Pod.Name] = true
			}
		}
		created := map[string]int{}
		for _, cs := range rt.Created {
			created[cs.Labels[runner.LabelPod]]++
		}
		if created["staged"] != 2 || created["plain"] != 1 {
			t.Errorf("containers created per pod %v, want staged twice and plain once", created)
		}
		stop2()
		rt.KillAll()
	})
}

// TestRunReturnsWithActiveJob: stopping the controller while a Job's pod
// runs ends Run. (The job worker used to read the store's "context
// canceled" as "no pods", create a replacement, fail, and loop forever, so
// a daemon never exited on SIGTERM while a Job ran.)
func TestRunReturnsWithActiveJob(t *testing.T) {
	store := ctxStore{runnertest.NewStore()}
	rt := runnertest.NewRuntime("busybox")
	rt.Script = runFor(time.Hour)
	defer rt.KillAll()
	ctx, stop := context.WithCancel(context.Background())
	c := &controller.Controller{Store: store, Runtime: rt, NodeName: "n"}
	sub := c.Subscribe()
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	if _, err := c.ApplyJob(context.Background(), failingJob()); err != nil {
		t.Fatal(err)
	}
	for {
		ch, err := sub.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r := ch.Record; r != nil && r.Containers[0].Current != nil && r.Containers[0].Current.Step == runner.StepStarted {
			break
		}
	}
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of its context ending")
	}
}

// ctxStore fails reads once their context has ended, as state.DB does.
type ctxStore struct{ *runnertest.Store }

func (s ctxStore) PodsOfJob(ctx context.Context, uid string) ([]*runner.PodRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.Store.PodsOfJob(ctx, uid)
}
