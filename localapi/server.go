// Package localapi is localjobs' control API: HTTP/JSON over the daemon's
// unix socket, with Kubernetes-style paths, watches as newline-delimited
// JSON events, and errors mapped to status codes in one place (writeError).
// Server serves a Backend; Client is what the CLI uses.
package localapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Backend is what the server needs from the daemon.
type Backend interface {
	Store() runner.Store
	// Apply decodes and applies one file's worth of manifests.
	Apply(ctx context.Context, req ApplyRequest) (ApplyResponse, error)
	DeletePod(ctx context.Context, ns, name string, grace *int64) error
	DeleteJob(ctx context.Context, ns, name string) error
	SetSuspend(ctx context.Context, ns, name string, suspend bool) error
	Subscribe() *runner.Subscription
	// Logs writes a container's log to w as the request asks, following it
	// while the container runs when req.Follow is set.
	Logs(ctx context.Context, w io.Writer, req LogRequest) error
}

// LogRequest selects a container's log, as kubectl logs' flags do.
type LogRequest struct {
	Namespace, Pod, Container    string
	Previous, Follow, Timestamps bool
	TailLines                    int // -1 = all
	SinceSeconds                 int64
}

// ApplyRequest carries manifest files to apply, as `apply -f` reads them.
type ApplyRequest struct {
	Files []File `json:"files"`
	// Fresh makes every Pod and Job a fresh run, replacing one of the same
	// name even if unchanged, without recording it as applied (run -f).
	Fresh bool `json:"fresh,omitempty"`
}

// File is one manifest file.
type File struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// ApplyResponse says what happened to each object and what was wrong.
type ApplyResponse struct {
	Results  []ApplyResult `json:"results"`
	Warnings []string      `json:"warnings,omitempty"`
	Errors   []string      `json:"errors,omitempty"`
}

// ApplyResult is one object's outcome, printed like kubectl
// ("job.batch/x created", "pod/y unchanged").
type ApplyResult struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Action    string `json:"action"` // created, configured, unchanged, replaced
	Notice    string `json:"notice,omitempty"`
}

// Status is a Kubernetes-style error body.
type Status struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Status     string `json:"status"`
	Message    string `json:"message"`
	Reason     string `json:"reason"`
	Code       int    `json:"code"`
}

// WatchEvent is one line of a watch stream.
type WatchEvent struct {
	Type   string          `json:"type"` // ADDED, MODIFIED, DELETED
	Object json.RawMessage `json:"object"`
}

// Server serves the API on a listener.
type Server struct {
	Backend Backend
	Version string
	Log     *slog.Logger
	// ReadTimeout is how long a client may take to send a request, body
	// included; 0 means DefaultReadTimeout. Responses are not bounded:
	// watches and log follows last as long as they need.
	ReadTimeout time.Duration
}

// ErrConflict is returned by a Backend for a request that conflicts with
// the current state.
var ErrConflict = errors.New("conflict")

// BadRequestError is a request that cannot be served as asked.
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return e.Msg }

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", s.version)
	mux.HandleFunc("GET /api/v1/pods", s.listPods)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods", s.listPods)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}", s.getPod)
	mux.HandleFunc("DELETE /api/v1/namespaces/{ns}/pods/{name}", s.deletePod)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/log", s.podLog)
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/pods/{name}/exec", s.exec)
	mux.HandleFunc("GET /apis/batch/v1/jobs", s.listJobs)
	mux.HandleFunc("GET /apis/batch/v1/namespaces/{ns}/jobs", s.listJobs)
	mux.HandleFunc("GET /apis/batch/v1/namespaces/{ns}/jobs/{name}", s.getJob)
	mux.HandleFunc("DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}", s.deleteJob)
	mux.HandleFunc("POST /apis/batch/v1/namespaces/{ns}/jobs/{name}/suspend", s.suspendJob)
	mux.HandleFunc("GET /api/v1/events", s.listEvents)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/events", s.listEvents)
	mux.HandleFunc("POST "+applyPath, s.apply)
	s.registerCronJobs(mux)
	s.registerRun(mux)
	return limitBodies(mux)
}

const applyPath = "/localjobs/v1/apply"

// Serve serves on ln until ctx is done, then shuts down within 5 s.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Covers headers and body. It does not cut long responses: the
		// deadline is lifted once the request is read (watches and log
		// follows stream for as long as they last).
		ReadTimeout: cmp.Or(s.ReadTimeout, DefaultReadTimeout),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return nil
	}
}

// Listen creates the unix socket at path with mode 0600 (or 0660 and the
// given group), removing a stale socket but never another kind of file.
func Listen(path string, gid int) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("socket path exists but is not a socket: %s", path)
		}
		os.Remove(path)
	}
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on unix socket: %w", err)
	}
	mode := os.FileMode(0o600)
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("chown socket: %w", err)
		}
		mode = 0o660
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return ln, nil
}

// writeError maps an error to a status code: the one place that does.
func writeError(w http.ResponseWriter, err error) {
	st := Status{APIVersion: "v1", Kind: "Status", Status: "Failure", Message: err.Error()}
	var br *BadRequestError
	var tl *TooLargeError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &tl):
		st.Code, st.Reason = http.StatusRequestEntityTooLarge, "RequestEntityTooLarge"
	case errors.As(err, &mb):
		st.Code, st.Reason = http.StatusRequestEntityTooLarge, "RequestEntityTooLarge"
		st.Message = fmt.Sprintf("request too large: the body exceeds %d bytes", mb.Limit)
	case errors.Is(err, runner.ErrObjectNotFound):
		st.Code, st.Reason = http.StatusNotFound, "NotFound"
	case errors.Is(err, ErrConflict):
		st.Code, st.Reason = http.StatusConflict, "Conflict"
	case errors.As(err, &br):
		st.Code, st.Reason = http.StatusBadRequest, "BadRequest"
	case errors.Is(err, context.Canceled):
		st.Code, st.Reason = http.StatusServiceUnavailable, "ServiceUnavailable"
	default:
		st.Code, st.Reason = http.StatusInternalServerError, "InternalError"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st.Code)
	json.NewEncoder(w).Encode(st)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"version": s.Version})
}

func ns(r *http.Request) string { return r.PathValue("ns") }

func (s *Server) listPods(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("watch") != "" {
		s.watch(w, r, "Pod")
		return
	}
	recs, err := s.Backend.Store().Pods(r.Context(), ns(r))
	if err != nil {
		writeError(w, err)
		return
	}
	items := make([]*manifest.Pod, 0, len(recs))
	for _, rec := range recs {
		items = append(items, &rec.Pod)
	}
	writeJSON(w, map[string]any{"apiVersion": "v1", "kind": "PodList", "items": items})
}

func (s *Server) getPod(w http.ResponseWriter, r *http.Request) {
	rec, err := s.Backend.Store().Pod(r.Context(), ns(r), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	if r.URL.Query().Get("record") != "" {
		writeJSON(w, rec)
		return
	}
	writeJSON(w, &rec.Pod)
}

func (s *Server) deletePod(w http.ResponseWriter, r *http.Request) {
	var grace *int64
	if g := r.URL.Query().Get("gracePeriodSeconds"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			writeError(w, &BadRequestError{Msg: "gracePeriodSeconds: " + err.Error()})
			return
		}
		grace = &n
	}
	if err := s.Backend.DeletePod(r.Context(), ns(r), r.PathValue("name"), grace); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, Status{APIVersion: "v1", Kind: "Status", Status: "Success", Code: 200})
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("watch") != "" {
		s.watch(w, r, "Job")
		return
	}
	jobs, err := s.Backend.Store().Jobs(r.Context(), ns(r))
	if err != nil {
		writeError(w, err)
		return
	}
	if jobs == nil {
		jobs = []*manifest.Job{}
	}
	writeJSON(w, map[string]any{"apiVersion": "batch/v1", "kind": "JobList", "items": jobs})
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.Backend.Store().Job(r.Context(), ns(r), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, j)
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	if err := s.Backend.DeleteJob(r.Context(), ns(r), r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, Status{APIVersion: "v1", Kind: "Status", Status: "Success", Code: 200})
}

func (s *Server) suspendJob(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Suspend bool `json:"suspend"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, &BadRequestError{Msg: "body: " + err.Error()})
		return
	}
	if err := s.Backend.SetSuspend(r.Context(), ns(r), r.PathValue("name"), body.Suspend); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, Status{APIVersion: "v1", Kind: "Status", Status: "Success", Code: 200})
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	evs, err := s.Backend.Store().Events(r.Context(), ns(r), r.URL.Query().Get("uid"))
	if err != nil {
		writeError(w, err)
		return
	}
	if evs == nil {
		evs = []*manifest.Event{}
	}
	writeJSON(w, map[string]any{"apiVersion": "v1", "kind": "EventList", "items": evs})
}

func (s *Server) apply(w http.ResponseWriter, r *http.Request) {
	var req ApplyRequest
	err := json.NewDecoder(r.Body).Decode(&req)
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		writeError(w, &TooLargeError{Msg: fmt.Sprintf("request too large: one apply may carry at most %d MiB of manifests; apply the files in parts", MaxApplyBytes>>20)})
		return
	case err != nil:
		writeError(w, &BadRequestError{Msg: "body: " + err.Error()})
		return
	}
	resp, err := s.Backend.Apply(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, resp)
}

// watch streams changes of one kind as newline-delimited WatchEvents until
// the client goes away.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, kind string) {
	sub := s.Backend.Subscribe()
	defer sub.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	enc := json.NewEncoder(w)
	want := ns(r)
	for {
		ch, err := sub.Next(r.Context())
		if err != nil {
			return
		}
		var obj any
		var objNS string
		switch {
		case kind == "Pod" && ch.Pod != nil:
			obj, objNS = ch.Pod, ch.Pod.Namespace
		case kind == "Job" && ch.Job != nil:
			obj, objNS = ch.Job, ch.Job.Namespace
		default:
			continue
		}
		if want != "" && objNS != want {
			continue
		}
		b, _ := json.Marshal(obj)
		typ := "MODIFIED"
		if ch.Deleted {
			typ = "DELETED"
		}
		if err := enc.Encode(WatchEvent{Type: typ, Object: b}); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

func (s *Server) podLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := LogRequest{
		Namespace: ns(r), Pod: r.PathValue("name"), Container: q.Get("container"),
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
	err := s.Backend.Logs(r.Context(), fw, req)
	if err != nil && !fw.wrote {
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
