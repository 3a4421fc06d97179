package localapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/localjobs/localjobs/runner"
)

// What a watch can follow.
const (
	kindPods     = "pods"
	kindJobs     = "jobs"
	kindCronJobs = "cronjobs"
	kindEvents   = "events"
	kindLogs     = "logs"
)

// Watch event types beyond Kubernetes' MODIFIED and DELETED: a line of
// container output (Object is a LogLine), an event (ADDED, Object is the
// Event), and the end of a watch that fell behind (ERROR, Object is a
// Status with code 410).
const (
	WatchModified = "MODIFIED"
	WatchDeleted  = "DELETED"
	WatchAdded    = "ADDED"
	WatchLog      = "LOG"
	WatchError    = "ERROR"
)

// WatchEvent is one line of a watch stream.
type WatchEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// watchAll serves /localjobs/v1/watch?kinds=pods,jobs,logs,events&namespace=NS:
// the changes of several kinds in one ordered stream (a pod's log lines
// come before the change that records its container's exit).
func (s *Server) watchAll(w http.ResponseWriter, r *http.Request) {
	kinds := map[string]bool{}
	for _, k := range strings.Split(r.URL.Query().Get("kinds"), ",") {
		switch k {
		case kindPods, kindJobs, kindEvents, kindLogs:
			kinds[k] = true
		case "":
		default:
			writeError(w, &BadRequestError{Msg: fmt.Sprintf("kinds: %q cannot be watched (pods, jobs, events, logs)", k)})
			return
		}
	}
	if len(kinds) == 0 {
		writeError(w, &BadRequestError{Msg: "kinds: name what to watch (pods, jobs, events, logs)"})
		return
	}
	s.watch(w, r, kinds, r.URL.Query().Get("namespace"))
}

// watch streams the changes of kinds in namespace ns ("" = all) as
// newline-delimited WatchEvents until the client goes away.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, kinds map[string]bool, ns string) {
	if s.Control == nil {
		writeError(w, fmt.Errorf("%w: watches need one (localjobs up)", ErrNoDaemon))
		return
	}
	if kinds[kindCronJobs] {
		writeError(w, &BadRequestError{Msg: "watching cronjobs is not supported yet; watch jobs, or poll get cronjobs"})
		return
	}
	sub := s.Control.Subscribe(func(ch *runner.Change) bool {
		typ, objNS, _ := watchObject(ch, kinds)
		return typ != "" && (ns == "" || objNS == ns)
	})
	defer sub.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		ch, err := sub.Next(r.Context())
		if errors.Is(err, runner.ErrSlowSubscriber) {
			st := Status{APIVersion: "v1", Kind: "Status", Status: "Failure", Message: err.Error(), Reason: "Expired", Code: http.StatusGone}
			b, _ := json.Marshal(st)
			enc.Encode(WatchEvent{Type: WatchError, Object: b})
			return
		}
		if err != nil {
			return
		}
		typ, _, obj := watchObject(&ch, kinds)
		b, err := json.Marshal(obj)
		if err != nil {
			continue
		}
		if err := enc.Encode(WatchEvent{Type: typ, Object: b}); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

// watchObject says how a change is sent on a watch of kinds: its event
// type ("" = not sent), namespace and object.
func watchObject(ch *runner.Change, kinds map[string]bool) (typ, ns string, obj any) {
	typ = WatchModified
	if ch.Deleted {
		typ = WatchDeleted
	}
	switch {
	case kinds[kindPods] && ch.Pod != nil:
		p := ch.Pod
		if p.Kind == "" { // a deletion carries only the name
			c := *p
			c.APIVersion, c.Kind = "v1", "Pod"
			p = &c
		}
		return typ, p.Namespace, p
	case kinds[kindJobs] && ch.Job != nil:
		j := ch.Job
		if j.Kind == "" {
			c := *j
			c.APIVersion, c.Kind = "batch/v1", "Job"
			j = &c
		}
		return typ, j.Namespace, j
	case kinds[kindEvents] && ch.Event != nil:
		return WatchAdded, ch.Event.Namespace, ch.Event
	case kinds[kindLogs] && ch.Log != nil:
		return WatchLog, ch.Log.Namespace, ch.Log
	}
	return "", "", nil
}
