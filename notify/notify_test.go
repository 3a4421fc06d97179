package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/notify"
)

func TestResolve(t *testing.T) {
	global := history.Target{URL: "https://hooks.example/global", Format: "slack", On: "failure"}
	tests := []struct {
		name        string
		job, cron   map[string]string
		global      history.Target
		want        history.Target
		wantsFailed bool
	}{
		{"GlobalOnly", nil, nil, global, global, true},
		{"NothingAnywhere", nil, nil, history.Target{}, history.Target{Format: "json", On: "failure"}, false},
		{"CronJobURLKeepsItsFormat", nil, map[string]string{manifest.AnnotationNotifyURL: "http://cj/"}, global,
			history.Target{URL: "http://cj/", Format: "json", On: "failure"}, true},
		{"JobBeatsCronJob", map[string]string{manifest.AnnotationNotifyURL: "http://job/", manifest.AnnotationNotifyFormat: "slack"},
			map[string]string{manifest.AnnotationNotifyURL: "http://cj/"}, global, history.Target{URL: "http://job/", Format: "slack", On: "failure"}, true},
		{"OptOut", map[string]string{manifest.AnnotationNotifyOn: "never"}, nil, global,
			history.Target{URL: global.URL, Format: "slack", On: "never"}, false},
		{"CronJobAlways", nil, map[string]string{manifest.AnnotationNotifyOn: "always"}, global,
			history.Target{URL: global.URL, Format: "slack", On: "always"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := notify.Resolve(tt.job, tt.cron, tt.global)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got.Wants(history.OutcomeFailed) != tt.wantsFailed {
				t.Errorf("Wants(Failed) = %v", !tt.wantsFailed)
			}
		})
	}
}

func testNote(format string) *history.Notification {
	code := int32(2)
	return &history.Notification{
		UID: "uid-1", State: history.NotifyPending, Target: history.Target{URL: "http://hook.test/x", Format: format, On: "failure"},
		Run: history.Run{UID: "uid-1", Namespace: "default", Job: "backup-29000000", CronJob: "backup", Outcome: "Failed",
			Reason: "BackoffLimitExceeded", ExitCode: &code, AttemptCount: 3,
			Attempts: []history.Attempt{{Pod: "backup-29000000-abcde", LogTail: "pg_dump: connection refused\n"}}},
	}
}

func TestBody(t *testing.T) {
	b, err := notify.Body(testNote("json"), "box")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"event": "failed", "job": "backup-29000000", "cronJob": "backup", "reason": "BackoffLimitExceeded",
		"exitCode": 2.0, "attempts": 3.0, "logTail": "pg_dump: connection refused\n", "host": "box", "namespace": "default"} {
		if m[k] != want {
			t.Errorf("json body %s = %v, want %v", k, m[k], want)
		}
	}
	b, err = notify.Body(testNote("slack"), "box")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Text   string
		Blocks []map[string]any
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Text, "job default/backup-29000000 (cronjob backup) failed on box") || len(s.Blocks) != 3 {
		t.Errorf("slack body %s", b)
	}
}

// memOutbox is an in-memory notify.Outbox.
type memOutbox struct {
	mu    sync.Mutex
	notes map[string]*history.Notification
}

func (o *memOutbox) PendingNotifications(context.Context) ([]*history.Notification, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*history.Notification
	for _, n := range o.notes {
		if n.State == history.NotifyPending {
			c := *n
			out = append(out, &c)
		}
	}
	return out, nil
}

func (o *memOutbox) SaveNotification(_ context.Context, n *history.Notification) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := *n
	o.notes[n.UID] = &c
	return nil
}

func (o *memOutbox) get(uid string) history.Notification {
	o.mu.Lock()
	defer o.mu.Unlock()
	return *o.notes[uid]
}

// handlerTransport serves requests with a handler in memory, so the worker
// runs inside a synctest bubble (no sockets, fake time).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { defer close(done); t.h.ServeHTTP(rec, r) }()
	select {
	case <-done:
		return rec.Result(), nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// hook answers with the codes given in turn (the last one after) and
// records when each request came and what it carried.
type hook struct {
	mu    sync.Mutex
	codes []int
	times []time.Time
	keys  []string
	hang  bool
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	h.mu.Lock()
	h.times = append(h.times, time.Now())
	h.keys = append(h.keys, r.Header.Get("Idempotency-Key"))
	code := h.codes[min(len(h.times)-1, len(h.codes)-1)]
	hang := h.hang
	h.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	w.WriteHeader(code)
}

func (h *hook) gaps() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(h.times); i++ {
		out = append(out, h.times[i].Sub(h.times[i-1]))
	}
	return out
}

func runWorker(t *testing.T, h *hook, maxAttempts int) (*memOutbox, *int) {
	t.Helper()
	out := &memOutbox{notes: map[string]*history.Notification{"uid-1": testNote("json")}}
	failed := new(int)
	w := &notify.Worker{Outbox: out, Client: &http.Client{Transport: handlerTransport{h}}, MaxAttempts: maxAttempts,
		Timeout: 10 * time.Second, Backoff: time.Second, MaxBackoff: 8 * time.Second,
		OnFailed: func(context.Context, *history.Notification) { *failed++ }}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go w.Run(ctx)
	return out, failed
}

// TestWorkerRetry: a 500 is retried after the back-off and the 200 that
// follows marks the notification Sent; it is never sent again.
func TestWorkerRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hook{codes: []int{500, 200}}
		out, failed := runWorker(t, h, 10)
		time.Sleep(time.Hour) // fake time: every retry is long due
		synctest.Wait()
		n := out.get("uid-1")
		if n.State != history.NotifySent || n.Attempts != 2 || *failed != 0 {
			t.Errorf("notification %+v, failed %d: want Sent after 2 attempts", n, *failed)
		}
		if g := h.gaps(); len(g) != 1 || g[0] != time.Second {
			t.Errorf("requests %d apart %v, want 2 requests 1s apart", len(g)+1, g)
		}
		if h.keys[0] != "uid-1" {
			t.Errorf("Idempotency-Key %q", h.keys[0])
		}
		if !notify.FallbackRootsSet() {
			t.Error("a webhook was sent before the fallback CA roots were handed to crypto/x509")
		}
	})
}

// TestWorkerGivesUp: always 503: doubling back-off capped at MaxBackoff,
// then Failed and OnFailed once.
func TestWorkerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hook{codes: []int{503}}
		out, failed := runWorker(t, h, 6)
		time.Sleep(time.Hour)
		synctest.Wait()
		want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
		if g := h.gaps(); len(g) != len(want) || g[0] != want[0] || g[3] != want[3] || g[4] != want[4] {
			t.Errorf("gaps %v, want %v", g, want)
		}
		if n := out.get("uid-1"); n.State != history.NotifyFailed || n.Attempts != 6 || !strings.Contains(n.LastError, "503") || *failed != 1 {
			t.Errorf("notification %+v, OnFailed %d times", n, *failed)
		}
	})
}

// TestWorkerPermanent: a 404 is not retried.
func TestWorkerPermanent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hook{codes: []int{404}}
		out, failed := runWorker(t, h, 6)
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := out.get("uid-1"); n.State != history.NotifyFailed || n.Attempts != 1 || *failed != 1 {
			t.Errorf("notification %+v, OnFailed %d", n, *failed)
		}
	})
}

// TestWorkerTimeout: an endpoint that never answers is cut off at Timeout
// and retried.
func TestWorkerTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hook{codes: []int{200}, hang: true}
		out, _ := runWorker(t, h, 2)
		time.Sleep(time.Hour)
		synctest.Wait()
		n := out.get("uid-1")
		if n.State != history.NotifyFailed || n.Attempts != 2 || !strings.Contains(n.LastError, "deadline exceeded") || strings.Contains(n.LastError, "/x") {
			t.Errorf("notification %+v", n)
		}
		if g := h.gaps(); len(g) != 1 || g[0] != 10*time.Second+time.Second {
			t.Errorf("gaps %v, want the 10s timeout plus the 1s back-off", g)
		}
	})
}
