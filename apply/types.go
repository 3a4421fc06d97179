package apply

import (
	"context"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// Sources of a record.
const (
	// SourceUp marks an object from a file `up` watches: pruned once the
	// file has been gone for the settle time.
	SourceUp = "up"
	// SourceApply marks an object sent once (`apply -f`, stdin): it stays
	// until deleted, as in Kubernetes.
	SourceApply = "apply"
)

// Record is what the state dir remembers about one applied object.
type Record struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Source is SourceUp or SourceApply ("" in records of older versions:
	// treated as SourceApply).
	Source string `json:"source,omitempty"`
	// File is the absolute path of the source file ("" for stdin); records
	// of older versions may hold a path relative to where up ran.
	File string `json:"file"`
	Hash string `json:"hash"`
	UID  string `json:"uid,omitempty"`
}

// Records stores Records; state.DB implements it. Lookups of a missing
// record return an error wrapping runner.ErrObjectNotFound.
type Records interface {
	Applied(ctx context.Context, kind, ns, name string) (*Record, error)
	SaveApplied(ctx context.Context, r *Record) error
	DeleteApplied(ctx context.Context, kind, ns, name string) error
	AppliedObjects(ctx context.Context) ([]*Record, error)
}

// Target is what applying acts on: the controllers. Lookups of a missing
// object return an error wrapping runner.ErrObjectNotFound.
type Target interface {
	// CheckPodSpec admits a pod (pod security: its spec and annotations)
	// without running it.
	CheckPodSpec(meta *manifest.ObjectMeta, spec *manifest.PodSpec) error
	// ApplyPod and ApplyJob start a fresh run, replacing a previous object
	// of the same name; they return the stored object.
	ApplyPod(ctx context.Context, p *manifest.Pod) (*manifest.Pod, error)
	ApplyJob(ctx context.Context, j *manifest.Job) (*manifest.Job, error)
	// UpdateJob changes a Job's mutable fields in place.
	UpdateJob(ctx context.Context, j *manifest.Job) error
	Job(ctx context.Context, ns, name string) (*manifest.Job, error)
	// ApplyCronJob creates a CronJob or changes it in place.
	ApplyCronJob(ctx context.Context, cj *manifest.CronJob) (uid string, created bool, err error)
	CronJob(ctx context.Context, ns, name string) (*manifest.CronJob, error)
	ApplyConfigMap(ctx context.Context, cm *manifest.ConfigMap) error
	ApplySecret(ctx context.Context, s *manifest.Secret) error
	// DeletePod stops a pod (grace nil = its own period) and deletes it.
	DeletePod(ctx context.Context, ns, name string, grace *time.Duration) error
	DeleteJob(ctx context.Context, ns, name string) error
	DeleteCronJob(ctx context.Context, ns, name string) error
}

// File is one manifest file to apply.
type File struct {
	// Name is how messages name the file (as the user typed it).
	Name string `json:"name"`
	// Path is its absolute path, "" for stdin; records keep it.
	Path string `json:"path,omitempty"`
	Data []byte `json:"data"`
}

// Request is one apply.
type Request struct {
	Files []File `json:"files"`
	// Source is SourceUp or SourceApply (the default).
	Source string `json:"source,omitempty"`
	// Fresh makes every Pod and Job a fresh run, replacing one of the same
	// name even if unchanged, without a record (run -f). Every object is
	// admitted before any runs, so a refusal leaves nothing behind.
	// CronJobs are skipped (the client warns that up runs them).
	Fresh bool `json:"fresh,omitempty"`
	// Sync (up) also prunes the up objects whose file has been gone for
	// the settle time; Roots are up's watched paths, so objects from
	// elsewhere can be announced (Response.Elsewhere).
	Sync  bool     `json:"sync,omitempty"`
	Roots []string `json:"roots,omitempty"`
	// Namespace (apply -n) is the namespace of objects that name none;
	// an object naming another is refused (manifest.DecodeIn).
	Namespace string `json:"namespace,omitempty"`
}

// Response says what happened to each object and what was wrong.
type Response struct {
	Results  []Result `json:"results"`
	Warnings []string `json:"warnings,omitempty"`
	Errors   []string `json:"errors,omitempty"`
	// Retry names the files (File.Name) with an object that failed for a
	// reason other than its content (a full disk, a failed read): up
	// applies them again after a back-off, as nothing in them changed.
	Retry []string `json:"retry,omitempty"`
	// Elsewhere lists, on a Sync, the objects of the state dir whose source
	// is not below Roots: another folder's up, or apply -f.
	Elsewhere []Record `json:"elsewhere,omitempty"`
}

// Actions of a Result.
const (
	Created    = "created"
	Configured = "configured"
	Unchanged  = "unchanged"
	Replaced   = "replaced"
	Pruned     = "pruned"
	Deleted    = "deleted"
)

// Result is one object's outcome, printed like kubectl ("job.batch/x
// created", "pod/y unchanged").
type Result struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// UID is the object's UID after the apply (a fresh run's new one).
	UID    string `json:"uid,omitempty"`
	Action string `json:"action"`
	Notice string `json:"notice,omitempty"`
	// File is the source file's name (Pruned: the file that was removed).
	File string `json:"file,omitempty"`
}
