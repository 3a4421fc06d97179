package localapi

import (
	"context"
	"net/http"
	"net/url"
)

// RunBackend is what `run -f` needs beyond Backend when it runs through a
// daemon: stopping its own pods without deleting their records.
type RunBackend interface {
	// TerminatePod stops a pod's containers with its grace period, or at
	// once with kill; the pod ends Failed and stays recorded.
	TerminatePod(ctx context.Context, ns, name string, kill bool) error
}

func (s *Server) registerRun(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/pods/{name}/terminate", s.terminatePod)
}

func (s *Server) terminatePod(w http.ResponseWriter, r *http.Request) {
	rb, ok := s.Backend.(RunBackend)
	if !ok {
		writeError(w, &BadRequestError{Msg: "this daemon cannot terminate pods"})
		return
	}
	if err := rb.TerminatePod(r.Context(), ns(r), r.PathValue("name"), r.URL.Query().Get("kill") == "true"); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, Status{APIVersion: "v1", Kind: "Status", Status: "Success", Code: 200})
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
