package localapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
)

// execFrame is one line of an exec response: output of a stream, or, last,
// the exit code or an error.
type execFrame struct {
	Stream   string `json:"stream,omitempty"` // stdout, stderr
	Data     []byte `json:"data,omitempty"`
	ExitCode *int   `json:"exitCode,omitempty"`
	Error    string `json:"error,omitempty"`
}

// frameWriter writes one stream's output as execFrames, starting the 200
// response on the first write.
type frameWriter struct {
	mu      *sync.Mutex
	w       http.ResponseWriter
	enc     *json.Encoder
	stream  string
	started *bool
}

func (f frameWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.start()
	if err := f.enc.Encode(execFrame{Stream: f.stream, Data: p}); err != nil {
		return 0, err
	}
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return len(p), nil
}

func (f frameWriter) start() {
	if !*f.started {
		*f.started = true
		f.w.Header().Set("Content-Type", "application/x-ndjson")
		f.w.WriteHeader(http.StatusOK)
	}
}

func (s *Server) exec(w http.ResponseWriter, r *http.Request) {
	if s.Control == nil {
		writeError(w, fmt.Errorf("%w: exec needs one (localjobs up)", ErrNoDaemon))
		return
	}
	var req ExecRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if len(req.Command) == 0 {
		writeError(w, &BadRequestError{Msg: "you must specify at least one command for the container"})
		return
	}
	req.Namespace, req.Pod = ns(r), r.PathValue("name")
	var mu sync.Mutex
	started := false
	enc := json.NewEncoder(w)
	out := frameWriter{mu: &mu, w: w, enc: enc, stream: "stdout", started: &started}
	errw := out
	errw.stream = "stderr"
	code, err := s.Control.Exec(r.Context(), req, out, errw)
	mu.Lock()
	defer mu.Unlock()
	if err != nil && !started {
		writeError(w, err)
		return
	}
	out.start()
	final := execFrame{ExitCode: &code}
	if err != nil {
		final = execFrame{Error: err.Error()}
	}
	enc.Encode(final)
}

// Exec runs a command in a pod's container through the daemon, copying its
// output to stdout and stderr, and returns its exit code.
func (c *Client) Exec(ctx context.Context, req ExecRequest, stdout, stderr io.Writer) (int, error) {
	resp, err := c.do(ctx, http.MethodPost, nsPath("", req.Namespace, "pods/"+url.PathEscape(req.Pod)+"/exec"), req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var f execFrame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			return 0, fmt.Errorf("exec: %w", err)
		}
		switch {
		case f.Error != "":
			return 0, errors.New(f.Error)
		case f.ExitCode != nil:
			return *f.ExitCode, nil
		case f.Stream == "stderr":
			if _, err := stderr.Write(f.Data); err != nil {
				return 0, err
			}
		default:
			if _, err := stdout.Write(f.Data); err != nil {
				return 0, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	return 0, errors.New("exec: the daemon ended the stream without an exit code")
}
