// Package localapi is localjobs' control API: HTTP/JSON over the daemon's
// unix socket, with Kubernetes-style paths, watches as newline-delimited
// JSON events, and errors mapped to status codes in one place (writeError).
// Server serves a Reader (and, when a daemon runs, a Controller); Client is
// what the CLI uses, and the only way the CLI reaches a daemon or a state
// dir.
package localapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/localjobs/localjobs/runner"
)

// Status is a Kubernetes-style error body.
type Status struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Status     string `json:"status"`
	Message    string `json:"message"`
	Reason     string `json:"reason"`
	Code       int    `json:"code"`
}

// Server serves the API on a listener.
type Server struct {
	// Read is required. Control is nil for a read-only server (no daemon
	// runs): what needs a daemon is answered 503 with ErrNoDaemon.
	Read    Reader
	Control Controller
	Version string
	Log     *slog.Logger
	// Ready, if set, holds every request but /version until it is closed
	// (up serves its socket before it has applied its folders; a client
	// that asks meanwhile waits rather than seeing a half-applied state).
	Ready <-chan struct{}
	// ReadTimeout is how long a client may take to send a request, body
	// included; 0 means DefaultReadTimeout. Responses are not bounded:
	// watches and log follows last as long as they need.
	ReadTimeout time.Duration
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", s.object(func(*http.Request) (any, error) {
		return map[string]any{"version": s.Version, "readOnly": s.Control == nil}, nil
	}))
	for _, p := range []string{"/api/v1/pods", "/api/v1/namespaces/{ns}/pods"} {
		mux.HandleFunc("GET "+p, s.list(kindPods, s.listPods))
	}
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}", s.object(s.getPod))
	mux.HandleFunc("DELETE /api/v1/namespaces/{ns}/pods/{name}", s.control(s.deletePod))
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/log", s.podLog)
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/pods/{name}/exec", s.exec)
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/pods/{name}/terminate", s.control(s.terminatePod))
	for _, p := range []string{"/apis/batch/v1/jobs", "/apis/batch/v1/namespaces/{ns}/jobs"} {
		mux.HandleFunc("GET "+p, s.list(kindJobs, s.listJobs))
	}
	mux.HandleFunc("GET /apis/batch/v1/namespaces/{ns}/jobs/{name}", s.object(s.getJob))
	mux.HandleFunc("GET /apis/batch/v1/namespaces/{ns}/jobs/{name}/pods", s.object(s.jobPods))
	mux.HandleFunc("DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}", s.control(s.deleteJob))
	mux.HandleFunc("POST /apis/batch/v1/namespaces/{ns}/jobs/{name}/suspend", s.control(s.suspendJob))
	mux.HandleFunc("POST /apis/batch/v1/namespaces/{ns}/jobs", s.control(s.createJob))
	for _, p := range []string{"/apis/batch/v1/cronjobs", "/apis/batch/v1/namespaces/{ns}/cronjobs"} {
		mux.HandleFunc("GET "+p, s.list(kindCronJobs, s.listCronJobs))
	}
	mux.HandleFunc("GET /apis/batch/v1/namespaces/{ns}/cronjobs/{name}", s.object(s.getCronJob))
	mux.HandleFunc("DELETE /apis/batch/v1/namespaces/{ns}/cronjobs/{name}", s.control(s.deleteCronJob))
	mux.HandleFunc("POST /apis/batch/v1/namespaces/{ns}/cronjobs/{name}/suspend", s.control(s.suspendCronJob))
	mux.HandleFunc("POST /apis/batch/v1/namespaces/{ns}/cronjobs/{name}/instantiate", s.control(s.instantiateCronJob))
	for _, p := range []string{"/api/v1/events", "/api/v1/namespaces/{ns}/events"} {
		mux.HandleFunc("GET "+p, s.list(kindEvents, s.listEvents))
	}
	mux.HandleFunc("GET /localjobs/v1/applied", s.object(s.applied))
	mux.HandleFunc("GET /localjobs/v1/history", s.object(s.history))
	mux.HandleFunc("POST "+applyPath, s.control(s.apply))
	mux.HandleFunc("GET /localjobs/v1/watch", s.watchAll)
	if s.Ready == nil {
		return limitBodies(mux)
	}
	return limitBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			select {
			case <-s.Ready:
			case <-r.Context().Done():
				writeError(w, r.Context().Err())
				return
			}
		}
		mux.ServeHTTP(w, r)
	}))
}

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
	case errors.Is(err, ErrNoDaemon):
		st.Code, st.Reason = http.StatusServiceUnavailable, "NoDaemon"
	case errors.Is(err, context.Canceled):
		st.Code, st.Reason = http.StatusServiceUnavailable, "ServiceUnavailable"
	default:
		st.Code, st.Reason = http.StatusInternalServerError, "InternalError"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st.Code)
	json.NewEncoder(w).Encode(st)
}

// created marks a value answered with 201 Created.
type created struct{ v any }

// success is the body of a request that returns no object.
var success = Status{APIVersion: "v1", Kind: "Status", Status: "Success", Code: 200}

// object adapts a JSON endpoint: h returns the value to answer or an error.
func (s *Server) object(h func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := h(r)
		if err != nil {
			writeError(w, err)
			return
		}
		code := http.StatusOK
		if c, ok := v.(created); ok {
			v, code = c.v, http.StatusCreated
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
}

// control adapts an endpoint that needs a running daemon.
func (s *Server) control(h func(c Controller, r *http.Request) (any, error)) http.HandlerFunc {
	return s.object(func(r *http.Request) (any, error) {
		if s.Control == nil {
			return nil, fmt.Errorf("%w: start one with `localjobs up`", ErrNoDaemon)
		}
		return h(s.Control, r)
	})
}

// list adapts a list endpoint, which answers ?watch=true with a watch of
// its kind.
func (s *Server) list(kind string, h func(r *http.Request) (any, error)) http.HandlerFunc {
	get := s.object(h)
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") == "true" {
			kinds := map[string]bool{kind: true}
			if r.URL.Query().Get("logs") == "true" {
				kinds[kindLogs] = true
			}
			s.watch(w, r, kinds, r.PathValue("ns"))
			return
		}
		get(w, r)
	}
}

// decode reads a JSON body (limitBodies bounds its size).
func decode(r *http.Request, v any) error {
	err := json.NewDecoder(r.Body).Decode(v)
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb) && r.URL.Path == applyPath:
		return &TooLargeError{Msg: fmt.Sprintf("request too large: one apply may carry at most %d MiB of manifests; apply the files in parts", MaxApplyBytes>>20)}
	case errors.As(err, &mb):
		return err
	case err != nil:
		return &BadRequestError{Msg: "body: " + err.Error()}
	}
	return nil
}
