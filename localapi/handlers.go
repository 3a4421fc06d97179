package localapi

import (
	"fmt"
	"net/http"
	"strconv"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

func ns(r *http.Request) string   { return r.PathValue("ns") }
func name(r *http.Request) string { return r.PathValue("name") }

// list returns a Kubernetes-shaped list.
func listOf[T any](apiVersion, kind string, items []T) map[string]any {
	if items == nil {
		items = []T{}
	}
	return map[string]any{"apiVersion": apiVersion, "kind": kind, "items": items}
}

func podsOf(recs []*runner.PodRecord) []*manifest.Pod {
	out := make([]*manifest.Pod, 0, len(recs))
	for _, r := range recs {
		out = append(out, &r.Pod)
	}
	return out
}

// labelSelector parses a list's labelSelector parameter, as the apiserver
// names it; a selector that does not parse is a bad request.
func labelSelector(r *http.Request) (labels.Selector, error) {
	q := r.URL.Query().Get("labelSelector")
	sel, err := labels.Parse(q)
	if err != nil {
		return nil, &BadRequestError{Msg: fmt.Sprintf("unable to parse requirement: labelSelector %q: %v", q, err)}
	}
	return sel, nil
}

// indexable picks the selector's first requirement the label index can
// answer: key=value, key==value or key in (values).
func indexable(sel labels.Selector) (key string, values []string, ok bool) {
	reqs, _ := sel.Requirements()
	for _, q := range reqs {
		switch q.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
			return q.Key(), q.Values().List(), true
		}
	}
	return "", nil, false
}

// selected keeps the objects whose labels match sel.
func selected[T any](objs []T, meta func(T) *manifest.ObjectMeta, sel labels.Selector) []T {
	if sel.Empty() {
		return objs
	}
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if sel.Matches(labels.Set(meta(o).Labels)) {
			out = append(out, o)
		}
	}
	return out
}

// listPods answers the pods of a namespace, those the labelSelector
// selects: through the label index when one of its requirements is an
// equality, so `-l batch.kubernetes.io/job-name=X` decodes X's pods and
// not every pod.
func (s *Server) listPods(r *http.Request) (any, error) {
	sel, err := labelSelector(r)
	if err != nil {
		return nil, err
	}
	var recs []*runner.PodRecord
	if key, values, ok := indexable(sel); ok {
		recs, err = s.Read.PodsLabelled(r.Context(), ns(r), key, values)
	} else {
		recs, err = s.Read.Pods(r.Context(), ns(r))
	}
	if err != nil {
		return nil, err
	}
	return listOf("v1", "PodList", selected(podsOf(recs), func(p *manifest.Pod) *manifest.ObjectMeta { return &p.ObjectMeta }, sel)), nil
}

// getPod answers the pod, or with ?record=1 localjobs' record of it.
func (s *Server) getPod(r *http.Request) (any, error) {
	rec, err := s.Read.Pod(r.Context(), ns(r), name(r))
	if err != nil {
		return nil, err
	}
	if r.URL.Query().Get("record") != "" {
		return rec, nil
	}
	return &rec.Pod, nil
}

func (s *Server) deletePod(c Controller, r *http.Request) (any, error) {
	var grace *int64
	if g := r.URL.Query().Get("gracePeriodSeconds"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return nil, &BadRequestError{Msg: "gracePeriodSeconds: " + err.Error()}
		}
		grace = &n
	}
	return success, c.DeletePod(r.Context(), ns(r), name(r), grace)
}

func (s *Server) terminatePod(c Controller, r *http.Request) (any, error) {
	return success, c.TerminatePod(r.Context(), ns(r), name(r), r.URL.Query().Get("kill") == "true")
}

func (s *Server) listJobs(r *http.Request) (any, error) {
	sel, err := labelSelector(r)
	if err != nil {
		return nil, err
	}
	jobs, err := s.Read.Jobs(r.Context(), ns(r))
	if err != nil {
		return nil, err
	}
	return listOf("batch/v1", "JobList", selected(jobs, func(j *manifest.Job) *manifest.ObjectMeta { return &j.ObjectMeta }, sel)), nil
}

func (s *Server) getJob(r *http.Request) (any, error) {
	return s.Read.Job(r.Context(), ns(r), name(r))
}

// jobPods lists the pods of a Job through the store's index.
func (s *Server) jobPods(r *http.Request) (any, error) {
	j, err := s.Read.Job(r.Context(), ns(r), name(r))
	if err != nil {
		return nil, err
	}
	recs, err := s.Read.PodsOfJob(r.Context(), j.UID)
	if err != nil {
		return nil, err
	}
	return listOf("v1", "PodList", podsOf(recs)), nil
}

func (s *Server) deleteJob(c Controller, r *http.Request) (any, error) {
	return success, c.DeleteJob(r.Context(), ns(r), name(r))
}

type suspendBody struct {
	Suspend bool `json:"suspend"`
}

func (s *Server) suspendJob(c Controller, r *http.Request) (any, error) {
	var body suspendBody
	if err := decode(r, &body); err != nil {
		return nil, err
	}
	return success, c.SetSuspend(r.Context(), ns(r), name(r), body.Suspend)
}

func (s *Server) createJob(c Controller, r *http.Request) (any, error) {
	var j manifest.Job
	if err := decode(r, &j); err != nil {
		return nil, err
	}
	if j.Namespace == "" {
		j.Namespace = ns(r)
	}
	if j.Namespace != ns(r) {
		return nil, &BadRequestError{Msg: "the namespace of the Job does not match the namespace of the request"}
	}
	got, err := c.CreateJob(r.Context(), &j)
	if err != nil {
		return nil, err
	}
	return created{got}, nil
}

func (s *Server) listCronJobs(r *http.Request) (any, error) {
	sel, err := labelSelector(r)
	if err != nil {
		return nil, err
	}
	cjs, err := s.Read.CronJobs(r.Context(), ns(r))
	if err != nil {
		return nil, err
	}
	return listOf("batch/v1", "CronJobList", selected(cjs, func(cj *manifest.CronJob) *manifest.ObjectMeta { return &cj.ObjectMeta }, sel)), nil
}

func (s *Server) getCronJob(r *http.Request) (any, error) {
	return s.Read.CronJob(r.Context(), ns(r), name(r))
}

func (s *Server) deleteCronJob(c Controller, r *http.Request) (any, error) {
	return success, c.DeleteCronJob(r.Context(), ns(r), name(r))
}

func (s *Server) suspendCronJob(c Controller, r *http.Request) (any, error) {
	var body suspendBody
	if err := decode(r, &body); err != nil {
		return nil, err
	}
	return success, c.SetCronJobSuspend(r.Context(), ns(r), name(r), body.Suspend)
}

func (s *Server) instantiateCronJob(c Controller, r *http.Request) (any, error) {
	var req InstantiateRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	j, err := c.InstantiateCronJob(r.Context(), ns(r), name(r), req.Name, req.Force)
	if err != nil {
		return nil, err
	}
	return created{j}, nil
}

func (s *Server) listEvents(r *http.Request) (any, error) {
	evs, err := s.Read.Events(r.Context(), ns(r), r.URL.Query().Get("uid"))
	if err != nil {
		return nil, err
	}
	return listOf("v1", "EventList", evs), nil
}

func (s *Server) applied(r *http.Request) (any, error) {
	recs, err := s.Read.AppliedObjects(r.Context())
	if err != nil {
		return nil, err
	}
	return listOf("localjobs/v1", "AppliedList", recs), nil
}

// history answers recorded runs: ?namespace=NS (none: all), and
// optionally kind=cronjob|job with name=NAME, limit=N.
func (s *Server) history(r *http.Request) (any, error) {
	q := r.URL.Query()
	hq := HistoryQuery{Namespace: q.Get("namespace"), Kind: q.Get("kind"), Name: q.Get("name")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return nil, &BadRequestError{Msg: "limit: want a number ≥ 0"}
		}
		hq.Limit = n
	}
	switch {
	case hq.Kind == "" && hq.Name == "":
	case hq.Kind != "cronjob" && hq.Kind != "job":
		return nil, &BadRequestError{Msg: fmt.Sprintf("kind %q: want cronjob or job", hq.Kind)}
	case hq.Name == "" || hq.Namespace == "":
		return nil, &BadRequestError{Msg: "a history of one " + hq.Kind + " needs its name and namespace"}
	}
	runs, err := s.Read.History(r.Context(), hq)
	if err != nil {
		return nil, err
	}
	return listOf("localjobs/v1", "RunList", runs), nil
}

func (s *Server) apply(c Controller, r *http.Request) (any, error) {
	var req ApplyRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return c.Apply(r.Context(), req)
}

// podLog streams a container's log as text.
func (s *Server) podLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := LogRequest{
		Namespace: ns(r), Pod: name(r), Container: q.Get("container"),
		Previous: q.Get("previous") == "true", Follow: q.Get("follow") == "true",
		Timestamps: q.Get("timestamps") == "true", TailLines: -1,
	}
	if t := q.Get("tailLines"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			writeError(w, &BadRequestError{Msg: "tailLines: " + err.Error()})
			return
		}
		req.TailLines = n
	}
	if t := q.Get("sinceSeconds"); t != "" {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			writeError(w, &BadRequestError{Msg: "sinceSeconds: " + err.Error()})
			return
		}
		req.SinceSeconds = n
	}
	// Errors found before the first byte is written get a status code;
	// the backend reports them by returning before writing.
	fw := &firstWrite{w: w}
	if err := s.Read.Logs(r.Context(), fw, req); err != nil && !fw.wrote {
		writeError(w, err)
	}
}

// firstWrite remembers whether anything was written, and flushes each write
// so a followed log streams.
type firstWrite struct {
	w     http.ResponseWriter
	wrote bool
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if !f.wrote {
		f.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		f.wrote = true
	}
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}
