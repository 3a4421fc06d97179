package localapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Client talks to a daemon over its unix socket, or to the read-only view
// of a state dir in the same process.
type Client struct {
	http *http.Client
	// DaemonVersion is the version the server reported when dialled.
	DaemonVersion string
	// ReadOnly is set when no daemon runs: the server is a read-only view
	// of the state, and what needs a daemon fails with ErrNoDaemon.
	ReadOnly bool
}

// Dial connects to the daemon listening on socketPath and checks its
// version: a mismatch is returned as *VersionMismatchError with the client.
// When nothing answers it returns ErrNoDaemon.
//
// Before sending anything it checks that the socket can only be the daemon
// of this user or of root (DESIGN §9b): a socket, or its folder, that
// another user owns or could replace is refused, so a secret is never sent
// to an impostor. Every later connection is checked the same way.
func Dial(ctx context.Context, socketPath, version string) (*Client, error) {
	if err := checkSocket(socketPath); err != nil {
		return nil, err
	}
	c, err := DialFunc(ctx, func(ctx context.Context) (net.Conn, error) {
		if err := checkSocket(socketPath); err != nil {
			return nil, err
		}
		var d net.Dialer
		return d.DialContext(ctx, "unix", socketPath)
	}, version)
	var ne *net.OpError
	if errors.As(err, &ne) {
		return nil, ErrNoDaemon
	}
	return c, err
}

// DialFunc is Dial over the connections dial makes (a PipeListener's).
func DialFunc(ctx context.Context, dial func(context.Context) (net.Conn, error), version string) (*Client, error) {
	c := &Client{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var v struct {
		Version  string
		ReadOnly bool
	}
	if err := c.get(ctx, "/version", &v); err != nil {
		return nil, err
	}
	c.DaemonVersion, c.ReadOnly = v.Version, v.ReadOnly
	if v.Version != version {
		return c, &VersionMismatchError{Client: version, Daemon: v.Version}
	}
	return c, nil
}

// VersionMismatchError says the CLI and the daemon are different builds.
type VersionMismatchError struct{ Client, Daemon string }

func (e *VersionMismatchError) Error() string {
	return fmt.Sprintf("localjobs %s talks to a daemon of version %s; restart the daemon with this version", e.Client, e.Daemon)
}

// StatusError is an error the daemon returned.
type StatusError struct{ Status Status }

func (e *StatusError) Error() string { return e.Status.Message }

// Is makes a 404 match ErrNotFound (runner.ErrObjectNotFound), a 409
// ErrConflict and a 503 from a read-only server ErrNoDaemon.
func (e *StatusError) Is(target error) bool {
	switch target {
	case runner.ErrObjectNotFound:
		return e.Status.Code == http.StatusNotFound
	case ErrConflict:
		return e.Status.Code == http.StatusConflict
	case ErrNoDaemon:
		return e.Status.Code == http.StatusServiceUnavailable && e.Status.Reason == "NoDaemon"
	}
	return false
}

func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://localjobs"+path, r)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var st Status
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Message == "" {
			return nil, fmt.Errorf("daemon answered %s", resp.Status)
		}
		return nil, &StatusError{Status: st}
	}
	return resp, nil
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

func nsPath(group, ns, resource string) string {
	prefix := "/api/v1"
	if group == "batch" {
		prefix = "/apis/batch/v1"
	}
	if ns == "" {
		return prefix + "/" + resource
	}
	return prefix + "/namespaces/" + url.PathEscape(ns) + "/" + resource
}

// ListOptions narrows a list, as the apiserver's list parameters do.
type ListOptions struct {
	// LabelSelector is a label selector (-l): "app=web,tier!=db".
	LabelSelector string
}

// query is the options as a URL query ("" or "?…").
func (o ListOptions) query() string {
	if o.LabelSelector == "" {
		return ""
	}
	return "?" + url.Values{"labelSelector": {o.LabelSelector}}.Encode()
}

// Pods lists pods of ns ("" = all).
func (c *Client) Pods(ctx context.Context, ns string) ([]*manifest.Pod, error) {
	return c.ListPods(ctx, ns, ListOptions{})
}

// ListPods lists the pods of ns ("" = all) that opts select.
func (c *Client) ListPods(ctx context.Context, ns string, opts ListOptions) ([]*manifest.Pod, error) {
	var l struct{ Items []*manifest.Pod }
	err := c.get(ctx, nsPath("", ns, "pods")+opts.query(), &l)
	return l.Items, err
}

// Pod returns one pod.
func (c *Client) Pod(ctx context.Context, ns, name string) (*manifest.Pod, error) {
	var p manifest.Pod
	if err := c.get(ctx, nsPath("", ns, "pods/"+url.PathEscape(name)), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// PodRecord returns one pod with localjobs' own record of its containers.
func (c *Client) PodRecord(ctx context.Context, ns, name string) (*runner.PodRecord, error) {
	var p runner.PodRecord
	if err := c.get(ctx, nsPath("", ns, "pods/"+url.PathEscape(name))+"?record=1", &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Jobs lists jobs of ns ("" = all).
func (c *Client) Jobs(ctx context.Context, ns string) ([]*manifest.Job, error) {
	return c.ListJobs(ctx, ns, ListOptions{})
}

// ListJobs lists the Jobs of ns ("" = all) that opts select.
func (c *Client) ListJobs(ctx context.Context, ns string, opts ListOptions) ([]*manifest.Job, error) {
	var l struct{ Items []*manifest.Job }
	err := c.get(ctx, nsPath("batch", ns, "jobs")+opts.query(), &l)
	return l.Items, err
}

// Job returns one job.
func (c *Client) Job(ctx context.Context, ns, name string) (*manifest.Job, error) {
	var j manifest.Job
	if err := c.get(ctx, nsPath("batch", ns, "jobs/"+url.PathEscape(name)), &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// Events lists the events of the object with uid ("" = all of ns).
func (c *Client) Events(ctx context.Context, ns, uid string) ([]*manifest.Event, error) {
	var l struct{ Items []*manifest.Event }
	p := nsPath("", ns, "events")
	if uid != "" {
		p += "?uid=" + url.QueryEscape(uid)
	}
	err := c.get(ctx, p, &l)
	return l.Items, err
}

// DeletePod deletes a pod, stopping its containers with grace (nil = the
// pod's own grace period).
func (c *Client) DeletePod(ctx context.Context, ns, name string, grace *int64) error {
	p := nsPath("", ns, "pods/"+url.PathEscape(name))
	if grace != nil {
		p += "?gracePeriodSeconds=" + strconv.FormatInt(*grace, 10)
	}
	resp, err := c.do(ctx, http.MethodDelete, p, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// DeleteJob deletes a job with its pods.
func (c *Client) DeleteJob(ctx context.Context, ns, name string) error {
	resp, err := c.do(ctx, http.MethodDelete, nsPath("batch", ns, "jobs/"+url.PathEscape(name)), nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// SetSuspend suspends or resumes a job.
func (c *Client) SetSuspend(ctx context.Context, ns, name string, suspend bool) error {
	resp, err := c.do(ctx, http.MethodPost, nsPath("batch", ns, "jobs/"+url.PathEscape(name)+"/suspend"), map[string]bool{"suspend": suspend})
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Apply applies manifest files.
func (c *Client) Apply(ctx context.Context, req ApplyRequest) (ApplyResponse, error) {
	var out ApplyResponse
	if err := CheckApplySize(req.Files); err != nil {
		return out, err
	}
	resp, err := c.do(ctx, http.MethodPost, applyPath, req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out, err
}

// Logs copies a container's log to w.
func (c *Client) Logs(ctx context.Context, w io.Writer, req LogRequest) error {
	q := url.Values{}
	if req.Container != "" {
		q.Set("container", req.Container)
	}
	for k, v := range map[string]bool{"previous": req.Previous, "follow": req.Follow, "timestamps": req.Timestamps} {
		if v {
			q.Set(k, "true")
		}
	}
	if req.TailLines >= 0 {
		q.Set("tailLines", strconv.Itoa(req.TailLines))
	}
	if req.SinceSeconds > 0 {
		q.Set("sinceSeconds", strconv.FormatInt(req.SinceSeconds, 10))
	}
	resp, err := c.do(ctx, http.MethodGet, nsPath("", req.Namespace, "pods/"+url.PathEscape(req.Pod)+"/log")+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// WatchStream is an open watch: every change after the watch was opened
// is delivered by Next, in order.
type WatchStream struct {
	body io.ReadCloser
	sc   *bufio.Scanner
}

// OpenWatch starts watching "pods" or "jobs" in ns ("" = all). It returns
// once the daemon has subscribed, so no later change is missed.
func (c *Client) OpenWatch(ctx context.Context, resource, ns string) (*WatchStream, error) {
	group := ""
	if resource == "jobs" {
		group = "batch"
	}
	return c.openWatch(ctx, nsPath(group, ns, resource)+"?watch=true")
}

// Watch starts one ordered watch of several kinds ("pods", "jobs",
// "events", "logs") in ns ("" = all): a pod's log lines come before the
// change that records its container's exit.
func (c *Client) Watch(ctx context.Context, ns string, kinds ...string) (*WatchStream, error) {
	q := url.Values{"kinds": {strings.Join(kinds, ",")}}
	if ns != "" {
		q.Set("namespace", ns)
	}
	return c.openWatch(ctx, "/localjobs/v1/watch?"+q.Encode())
}

func (c *Client) openWatch(ctx context.Context, path string) (*WatchStream, error) {
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	return &WatchStream{body: resp.Body, sc: sc}, nil
}

// ErrWatchExpired ends a watch that fell too far behind: list again and
// watch anew.
var ErrWatchExpired = errors.New("the watch fell too far behind and was cut off; list again")

// Next returns the next event; io.EOF when the daemon ended the stream,
// ErrWatchExpired when it cut the watch off.
func (w *WatchStream) Next() (WatchEvent, error) {
	var ev WatchEvent
	if !w.sc.Scan() {
		if err := w.sc.Err(); err != nil {
			return ev, err
		}
		return ev, io.EOF
	}
	if err := json.Unmarshal(w.sc.Bytes(), &ev); err != nil {
		return ev, fmt.Errorf("watch: %w", err)
	}
	if ev.Type == WatchError {
		return ev, ErrWatchExpired
	}
	return ev, nil
}

// Close ends the watch.
func (w *WatchStream) Close() error { return w.body.Close() }

// PodsOfJob lists the pods of a Job.
func (c *Client) PodsOfJob(ctx context.Context, ns, job string) ([]*manifest.Pod, error) {
	var l struct{ Items []*manifest.Pod }
	err := c.get(ctx, nsPath("batch", ns, "jobs/"+url.PathEscape(job)+"/pods"), &l)
	return l.Items, err
}

// AppliedObjects lists what apply remembers: each applied object's source.
func (c *Client) AppliedObjects(ctx context.Context) ([]*AppliedRecord, error) {
	var l struct{ Items []*AppliedRecord }
	err := c.get(ctx, "/localjobs/v1/applied", &l)
	return l.Items, err
}

// History lists recorded Job runs, newest first.
func (c *Client) History(ctx context.Context, q HistoryQuery) ([]*HistoryRun, error) {
	v := url.Values{}
	for k, s := range map[string]string{"namespace": q.Namespace, "kind": q.Kind, "name": q.Name} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var l struct{ Items []*HistoryRun }
	err := c.get(ctx, "/localjobs/v1/history?"+v.Encode(), &l)
	return l.Items, err
}

// CronJobs lists the CronJobs of ns ("" = all).
func (c *Client) CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error) {
	return c.ListCronJobs(ctx, ns, ListOptions{})
}

// ListCronJobs lists the CronJobs of ns ("" = all) that opts select.
func (c *Client) ListCronJobs(ctx context.Context, ns string, opts ListOptions) ([]*manifest.CronJob, error) {
	var l struct{ Items []*manifest.CronJob }
	err := c.get(ctx, nsPath("batch", ns, "cronjobs")+opts.query(), &l)
	return l.Items, err
}

// CronJob returns one CronJob.
func (c *Client) CronJob(ctx context.Context, ns, name string) (*manifest.CronJob, error) {
	var cj manifest.CronJob
	if err := c.get(ctx, nsPath("batch", ns, "cronjobs/"+url.PathEscape(name)), &cj); err != nil {
		return nil, err
	}
	return &cj, nil
}

// DeleteCronJob deletes a CronJob and the Jobs it controls.
func (c *Client) DeleteCronJob(ctx context.Context, ns, name string) error {
	resp, err := c.do(ctx, http.MethodDelete, nsPath("batch", ns, "cronjobs/"+url.PathEscape(name)), nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// SetCronJobSuspend suspends or resumes a CronJob.
func (c *Client) SetCronJobSuspend(ctx context.Context, ns, name string, suspend bool) error {
	resp, err := c.do(ctx, http.MethodPost, nsPath("batch", ns, "cronjobs/"+url.PathEscape(name)+"/suspend"), map[string]bool{"suspend": suspend})
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// InstantiateCronJob creates Job job from the CronJob cronJob's template.
func (c *Client) InstantiateCronJob(ctx context.Context, ns, cronJob, job string, force bool) (*manifest.Job, error) {
	resp, err := c.do(ctx, http.MethodPost, nsPath("batch", ns, "cronjobs/"+url.PathEscape(cronJob)+"/instantiate"), InstantiateRequest{Name: job, Force: force})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var j manifest.Job
	return &j, json.NewDecoder(resp.Body).Decode(&j)
}

// CreateJob creates a Job.
func (c *Client) CreateJob(ctx context.Context, j *manifest.Job) (*manifest.Job, error) {
	resp, err := c.do(ctx, http.MethodPost, nsPath("batch", j.Namespace, "jobs"), j)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out manifest.Job
	return &out, json.NewDecoder(resp.Body).Decode(&out)
}

// TerminatePod stops a pod (kill: at once) and keeps its record.
func (c *Client) TerminatePod(ctx context.Context, ns, name string, kill bool) error {
	p := nsPath("", ns, "pods/"+url.PathEscape(name)+"/terminate")
	if kill {
		p += "?kill=true"
	}
	resp, err := c.do(ctx, http.MethodPost, p, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
