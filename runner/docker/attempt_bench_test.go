package docker_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/controller"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
	"github.com/localjobs/localjobs/state"
)

// BenchmarkPodAttempt measures one attempt over the real engine: from
// applying a one-container `true` pod to its Succeeded record (pull check,
// create, start, wait, log capture, exit recorded), one pod at a time. It
// also reports the median time from the container's exit (the engine's
// FinishedAt) to the exit recorded: the part log capture adds.
func BenchmarkPodAttempt(b *testing.B) {
	rt := dockertest.RequireDocker(b)
	image := dockertest.Busybox(b)
	db, err := state.Open(b.TempDir(), state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctrl := &controller.Controller{Store: db, Runtime: rt, NodeName: "bench"}
	sub := ctrl.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ctrl.Run(ctx); close(done) }()
	b.Cleanup(func() {
		cancel()
		<-done
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		dockertest.RemoveContainers(cctx, map[string]string{runner.LabelInstance: db.InstanceID()})
		db.Close()
	})
	var lags []time.Duration
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("attempt-%d", i)
		p := &manifest.Pod{
			ObjectMeta: manifest.ObjectMeta{Name: name, Namespace: "default"},
			Spec: manifest.PodSpec{RestartPolicy: manifest.RestartPolicyNever, Containers: []manifest.Container{
				{Name: "main", Image: image, Command: []string{"true"}, ImagePullPolicy: manifest.PullIfNotPresent},
			}},
		}
		if _, err := ctrl.ApplyPod(ctx, p); err != nil {
			b.Fatal(err)
		}
		for {
			ch, err := sub.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if ch.Pod != nil && ch.Pod.Name == name && runner.IsTerminalPhase(ch.Pod.Status.Phase) {
				if r := ch.Record; r != nil && r.Containers[0].Current != nil {
					lags = append(lags, time.Since(r.Containers[0].Current.FinishedAt))
				}
				break
			}
		}
	}
	b.StopTimer()
	if len(lags) > 0 {
		slices.Sort(lags)
		b.ReportMetric(float64(lags[len(lags)/2])/float64(time.Millisecond), "exit-to-recorded-ms")
	}
}
