package daemon

import (
	"context"
	"time"

	"github.com/localjobs/localjobs/apply"
	"github.com/localjobs/localjobs/manifest"
)

// target is apply.Target over the daemon's controllers.
type target struct{ d *Daemon }

var _ apply.Target = target{}

func (t target) CheckPodSpec(meta *manifest.ObjectMeta, spec *manifest.PodSpec) error {
	return t.d.Controller.CheckPodSpec(meta, spec)
}

func (t target) ApplyPod(ctx context.Context, p *manifest.Pod) (*manifest.Pod, error) {
	return t.d.Controller.ApplyPod(ctx, p)
}

func (t target) ApplyJob(ctx context.Context, j *manifest.Job) (*manifest.Job, error) {
	return t.d.Controller.ApplyJob(ctx, j)
}

func (t target) UpdateJob(ctx context.Context, j *manifest.Job) error {
	return t.d.Controller.UpdateJob(ctx, j)
}

func (t target) Job(ctx context.Context, ns, name string) (*manifest.Job, error) {
	return t.d.DB.Job(ctx, ns, name)
}

func (t target) ApplyCronJob(ctx context.Context, cj *manifest.CronJob) (string, bool, error) {
	got, created, err := t.d.cron.applyCronJob(ctx, cj)
	if err != nil {
		return "", false, err
	}
	return got.UID, created, nil
}

func (t target) CronJob(ctx context.Context, ns, name string) (*manifest.CronJob, error) {
	return t.d.DB.CronJob(ctx, ns, name)
}

func (t target) ApplyConfigMap(ctx context.Context, cm *manifest.ConfigMap) error {
	return t.d.Controller.ApplyConfigMap(ctx, cm)
}

func (t target) ApplySecret(ctx context.Context, s *manifest.Secret) error {
	return t.d.Controller.ApplySecret(ctx, s)
}

func (t target) DeletePod(ctx context.Context, ns, name string, grace *time.Duration) error {
	return t.d.Controller.DeletePodWithGrace(ctx, ns, name, grace)
}

func (t target) DeleteJob(ctx context.Context, ns, name string) error {
	return t.d.Controller.DeleteJob(ctx, ns, name)
}

func (t target) DeleteCronJob(ctx context.Context, ns, name string) error {
	return t.d.cron.deleteCronJob(ctx, ns, name)
}
