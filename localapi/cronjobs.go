package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/localjobs/localjobs/manifest"
)

// CronJobBackend is what the CronJob and create-job endpoints need from the
// daemon. A Backend without it answers them with 501.
type CronJobBackend interface {
	CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error)
	CronJob(ctx context.Context, ns, name string) (*manifest.CronJob, error)
	// DeleteCronJob deletes a CronJob and the Jobs it controls.
	DeleteCronJob(ctx context.Context, ns, name string) error
	SetCronJobSuspend(ctx context.Context, ns, name string, suspend bool) error
	// InstantiateCronJob creates Job job from the CronJob's jobTemplate
	// (`create job NAME --from=cronjob/CJ`); a *ConflictError when the
	// CronJob's Forbid policy refuses it and force is unset, or the name
	// is taken.
	InstantiateCronJob(ctx context.Context, ns, cronJob, job string, force bool) (*manifest.Job, error)
	// CreateJob creates a Job (`create job NAME --image`); a
	// *ConflictError when the name is taken.
	CreateJob(ctx context.Context, j *manifest.Job) (*manifest.Job, error)
}

// ConflictError is a request refused because of the current state (an
// existing name, a Forbid policy); it matches ErrConflict and is answered
// with 409.
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }

// Is makes a ConflictError match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// InstantiateRequest is the body of a create-job-from-cronjob request.
type InstantiateRequest struct {
	Name  string `json:"name"`
	Force bool   `json:"force,omitempty"`
}

// registerCronJobs adds the CronJob and create-job routes.
func (s *Server) registerCronJobs(mux *http.ServeMux) {
	mux.HandleFunc("GET /apis/batch/v1/cronjobs", s.listCronJobs)
	mux.HandleFunc("GET /apis/batch/v1/namespaces/{ns}/cronjobs", s.listCronJobs)
	mux.HandleFunc("GET /apis/batch/v1/namespaces/{ns}/cronjobs/{name}", s.getCronJob)
	mux.HandleFunc("DELETE /apis/batch/v1/namespaces/{ns}/cronjobs/{name}", s.deleteCronJob)
	mux.HandleFunc("POST /apis/batch/v1/namespaces/{ns}/cronjobs/{name}/suspend", s.suspendCronJob)
	mux.HandleFunc("POST /apis/batch/v1/namespaces/{ns}/cronjobs/{name}/instantiate", s.instantiateCronJob)
	mux.HandleFunc("POST /apis/batch/v1/namespaces/{ns}/jobs", s.createJob)
}

var errNoCronJobs = errors.New("this daemon does not run CronJobs")

func (s *Server) cronBackend(w http.ResponseWriter) (CronJobBackend, bool) {
	b, ok := s.Backend.(CronJobBackend)
	if !ok {
		st := Status{APIVersion: "v1", Kind: "Status", Status: "Failure", Message: errNoCronJobs.Error(), Reason: "NotImplemented", Code: http.StatusNotImplemented}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st.Code)
		json.NewEncoder(w).Encode(st)
	}
	return b, ok
}

func (s *Server) listCronJobs(w http.ResponseWriter, r *http.Request) {
	b, ok := s.cronBackend(w)
	if !ok {
		return
	}
	cjs, err := b.CronJobs(r.Context(), ns(r))
	if err != nil {
		writeError(w, err)
		return
	}
	if cjs == nil {
		cjs = []*manifest.CronJob{}
	}
	writeJSON(w, map[string]any{"apiVersion": "batch/v1", "kind": "CronJobList", "items": cjs})
}

func (s *Server) getCronJob(w http.ResponseWriter, r *http.Request) {
	b, ok := s.cronBackend(w)
	if !ok {
		return
	}
	cj, err := b.CronJob(r.Context(), ns(r), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, cj)
}

func (s *Server) deleteCronJob(w http.ResponseWriter, r *http.Request) {
	b, ok := s.cronBackend(w)
	if !ok {
		return
	}
	if err := b.DeleteCronJob(r.Context(), ns(r), r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, Status{APIVersion: "v1", Kind: "Status", Status: "Success", Code: 200})
}

func (s *Server) suspendCronJob(w http.ResponseWriter, r *http.Request) {
	b, ok := s.cronBackend(w)
	if !ok {
		return
	}
	var body struct {
		Suspend bool `json:"suspend"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, &BadRequestError{Msg: "body: " + err.Error()})
		return
	}
	if err := b.SetCronJobSuspend(r.Context(), ns(r), r.PathValue("name"), body.Suspend); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, Status{APIVersion: "v1", Kind: "Status", Status: "Success", Code: 200})
}

func (s *Server) instantiateCronJob(w http.ResponseWriter, r *http.Request) {
	b, ok := s.cronBackend(w)
	if !ok {
		return
	}
	var req InstantiateRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, &BadRequestError{Msg: "body: " + err.Error()})
		return
	}
	j, err := b.InstantiateCronJob(r.Context(), ns(r), r.PathValue("name"), req.Name, req.Force)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(j)
}

func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	b, ok := s.cronBackend(w)
	if !ok {
		return
	}
	var j manifest.Job
	if err := json.NewDecoder(r.Body).Decode(&j); err != nil {
		writeError(w, &BadRequestError{Msg: "body: " + err.Error()})
		return
	}
	if j.Namespace == "" {
		j.Namespace = ns(r)
	}
	if j.Namespace != ns(r) {
		writeError(w, &BadRequestError{Msg: "the namespace of the Job does not match the namespace of the request"})
		return
	}
	got, err := b.CreateJob(r.Context(), &j)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(got)
}

// ---- client ----

// CronJobs lists the CronJobs of ns ("" = all).
func (c *Client) CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error) {
	var l struct{ Items []*manifest.CronJob }
	err := c.get(ctx, nsPath("batch", ns, "cronjobs"), &l)
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
