// Package notify delivers webhook notifications of Job runs: a generic JSON
// body or a Slack-compatible one, POSTed from the outbox that package state
// keeps (history.Notification), with retries, a capped back-off and a
// timeout per request. It is one of the optional packages allowed to import
// net/http (DESIGN §1).
//
// Where to send is configured per object by annotation
// (manifest.AnnotationNotifyURL, …Format, …On, on a Job or on the CronJob
// whose Jobs inherit it) and globally by `up --notify-url`,
// `--notify-format`, `--notify-on` (Resolve).
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/manifest"
)

// Resolve is where and how a Job's run is notified: the URL and its format
// from the first of the Job's annotations, its CronJob's, and the global
// flags that names a URL (a format travels with its URL); notify-on from the
// first that sets it. job and cronJob are the objects' annotations (cronJob
// nil for a Job of its own).
func Resolve(job, cronJob map[string]string, global history.Target) history.Target {
	var t history.Target
	levels := []map[string]string{job, cronJob, {
		manifest.AnnotationNotifyURL:    global.URL,
		manifest.AnnotationNotifyFormat: global.Format,
		manifest.AnnotationNotifyOn:     global.On,
	}}
	for _, a := range levels {
		if u := strings.TrimSpace(a[manifest.AnnotationNotifyURL]); u != "" {
			t.URL, t.Format = u, strings.TrimSpace(a[manifest.AnnotationNotifyFormat])
			break
		}
	}
	for _, a := range levels {
		if on := strings.TrimSpace(a[manifest.AnnotationNotifyOn]); on != "" {
			t.On = on
			break
		}
	}
	if t.Format == "" {
		t.Format = history.DefaultFormat
	}
	if t.On == "" {
		t.On = history.DefaultOn
	}
	return t
}

// Message is the generic JSON body of a notification (format json). It is
// a wire format of its own, not history.Run: receivers see a flat run
// summary (kind, event, host, the last attempt's pod and log tail) whose
// fields stay put if the stored record changes, and "attempts" here is a
// count where Run's is the list.
type Message struct {
	Kind string `json:"kind"` // "JobRun"
	// Event is "failed" or "succeeded".
	Event     string    `json:"event"`
	Job       string    `json:"job"`
	Namespace string    `json:"namespace"`
	UID       string    `json:"uid"`
	CronJob   string    `json:"cronJob,omitempty"`
	Scheduled time.Time `json:"scheduledTime,omitzero"`
	Started   time.Time `json:"startTime,omitzero"`
	Finished  time.Time `json:"completionTime,omitzero"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	Message   string    `json:"message,omitempty"`
	ExitCode  *int32    `json:"exitCode,omitempty"`
	Attempts  int       `json:"attempts"`
	Pod       string    `json:"pod,omitempty"`
	LogTail   string    `json:"logTail,omitempty"`
	Host      string    `json:"host"`
}

// NewMessage is the generic body of a run's notification.
func NewMessage(r *history.Run, host string) Message {
	m := Message{
		Kind: "JobRun", Event: "succeeded", Job: r.Job, Namespace: r.Namespace, UID: r.UID, CronJob: r.CronJob,
		Scheduled: r.Scheduled, Started: r.Started, Finished: r.Finished,
		Outcome: r.Outcome, Reason: r.Reason, Message: r.Message, ExitCode: r.ExitCode,
		Attempts: r.AttemptCount, Host: host,
	}
	if r.Outcome != history.OutcomeComplete {
		m.Event = "failed"
	}
	if a := r.LastAttempt(); a != nil {
		m.Pod, m.LogTail = a.Pod, a.LogTail
	}
	return m
}

// Body is the request body of a notification in its target's format.
func Body(n *history.Notification, host string) ([]byte, error) {
	m := NewMessage(&n.Run, host)
	if n.Target.Format == history.FormatSlack {
		return json.Marshal(slackBody(&m))
	}
	return json.Marshal(&m)
}

// slackBody is Slack's incoming-webhook form: text (the fallback and what
// notifications show) and blocks.
func slackBody(m *Message) map[string]any {
	what := "job " + m.Namespace + "/" + m.Job
	if m.CronJob != "" {
		what += " (cronjob " + m.CronJob + ")"
	}
	head := fmt.Sprintf(":white_check_mark: %s succeeded on %s", what, m.Host)
	if m.Event == "failed" {
		head = fmt.Sprintf(":x: %s failed on %s", what, m.Host)
	}
	var details []string
	if m.Reason != "" {
		details = append(details, "*Reason:* "+m.Reason)
	}
	if m.ExitCode != nil {
		details = append(details, "*Exit code:* "+strconv.Itoa(int(*m.ExitCode)))
	}
	details = append(details, "*Attempts:* "+strconv.Itoa(m.Attempts))
	if !m.Scheduled.IsZero() {
		details = append(details, "*Scheduled:* "+m.Scheduled.UTC().Format(time.RFC3339))
	}
	if !m.Started.IsZero() && !m.Finished.Before(m.Started) {
		details = append(details, "*Took:* "+m.Finished.Sub(m.Started).Round(time.Second).String())
	}
	text := head
	if m.Message != "" {
		text += ": " + m.Message
	}
	blocks := []any{
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}},
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": strings.Join(details, "   ")}},
	}
	if m.LogTail != "" {
		// Slack caps a text block at 3000 characters; the tail is ≤ 2 KiB.
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{
			"type": "mrkdwn", "text": "```" + strings.ReplaceAll(m.LogTail, "```", "'''") + "```"}})
	}
	return map[string]any{"text": text, "blocks": blocks}
}

// Outbox is where the Worker finds notifications and records how they went
// (state.DB).
type Outbox interface {
	PendingNotifications(ctx context.Context) ([]*history.Notification, error)
	SaveNotification(ctx context.Context, n *history.Notification) error
}

// StopGrace is how long a delivery in flight may go on once the worker is
// stopped.
const StopGrace = 2 * time.Second

// Defaults of the Worker.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultBackoff     = time.Second
	DefaultMaxBackoff  = 5 * time.Minute
	DefaultMaxAttempts = 10
)

// Worker delivers the outbox's pending notifications, in its own goroutine
// (Run): each is POSTed until an endpoint answers 2xx, then marked Sent; a
// network error, a timeout, 408, 429 or 5xx is retried after a back-off that
// doubles from Backoff up to MaxBackoff, at most MaxAttempts times in all
// (counted across restarts); any other answer, or the last failed try,
// marks it Failed and calls OnFailed. One slow endpoint never holds the
// others beyond one request's Timeout, and nothing here ever blocks the
// caller of Kick.
//
// Each request carries the header Idempotency-Key: <Job UID>. A crash
// between an endpoint's 2xx and the Sent mark being written would deliver
// it again at the next start; receivers that must never see a duplicate
// can drop repeats of a key.
type Worker struct {
	Outbox Outbox
	// Client sends the requests (nil = http.DefaultClient); Timeout bounds
	// each request.
	Client      *http.Client
	Timeout     time.Duration
	Backoff     time.Duration
	MaxBackoff  time.Duration
	MaxAttempts int
	// Host is the machine's name in the bodies; Version goes in User-Agent.
	Host, Version string
	Log           *slog.Logger
	// OnFailed, if set, is called (in the worker's goroutine) when a
	// notification is given up.
	OnFailed func(ctx context.Context, n *history.Notification)
	// OnSent, if set, is called when one was delivered.
	OnSent func(n *history.Notification)

	once sync.Once
	kick chan struct{}
}

func (w *Worker) init() {
	w.once.Do(func() { w.kick = make(chan struct{}, 1) })
}

// Kick tells the worker that a notification may be pending. It never
// blocks.
func (w *Worker) Kick() {
	w.init()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Worker) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}

// Run delivers until ctx is done: what is pending at once (a restart
// delivers what the last run left), then whatever Kick announces.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	backoff := w.or(w.Backoff, DefaultBackoff)
	maxBackoff := w.or(w.MaxBackoff, DefaultMaxBackoff)
	maxAttempts := w.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	waiting := map[string]time.Time{} // when a notification may be tried again
	// done remembers what was delivered or given up whose mark could not
	// be saved yet: it is never sent again by this process.
	done := map[string]*history.Notification{}
	readFailures := 0
	for {
		var next time.Time
		for uid, n := range done {
			if err := w.Outbox.SaveNotification(ctx, n); err == nil {
				delete(done, uid)
			} else {
				next = time.Now().Add(backoff)
			}
		}
		pending, err := w.Outbox.PendingNotifications(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Never act on a failed read: try again after a capped
			// back-off.
			readFailures++
			w.log().Error("read pending notifications", "error", err)
			next = time.Now().Add(min(backoff<<min(readFailures, 16), maxBackoff))
			pending = nil
		} else {
			readFailures = 0
		}
		for _, n := range pending {
			if ctx.Err() != nil {
				return
			}
			if done[n.UID] != nil {
				continue
			}
			if at, ok := waiting[n.UID]; ok && time.Now().Before(at) {
				if next.IsZero() || at.Before(next) {
					next = at
				}
				continue
			}
			err := w.send(ctx, n)
			if err != nil && ctx.Err() != nil {
				return // stopped mid-request: still pending, the next start sends it
			}
			// What happened is recorded even when the stop came meanwhile:
			// an endpoint that took it must never get it again. (The
			// daemon waits for this goroutine before it closes the store.)
			octx := context.WithoutCancel(ctx)
			n.Attempts++
			now := time.Now()
			switch {
			case err == nil:
				n.State, n.Done, n.LastError = history.NotifySent, now, ""
				delete(waiting, n.UID)
				w.log().Info("notification sent", "job", n.Run.Namespace+"/"+n.Run.Job, "url", Redact(n.Target.URL), "attempts", n.Attempts)
				if w.OnSent != nil {
					w.OnSent(n)
				}
			case isPermanent(err) || n.Attempts >= maxAttempts:
				n.State, n.Done, n.LastError = history.NotifyFailed, now, err.Error()
				delete(waiting, n.UID)
				w.log().Error("notification failed", "job", n.Run.Namespace+"/"+n.Run.Job, "url", Redact(n.Target.URL), "attempts", n.Attempts, "error", err)
				if w.OnFailed != nil {
					w.OnFailed(octx, n)
				}
			default:
				n.LastError = err.Error()
				at := now.Add(min(backoff<<min(n.Attempts-1, 16), maxBackoff))
				waiting[n.UID] = at
				if next.IsZero() || at.Before(next) {
					next = at
				}
				w.log().Warn("notification will be retried", "job", n.Run.Namespace+"/"+n.Run.Job, "url", Redact(n.Target.URL), "attempts", n.Attempts, "in", at.Sub(now), "error", err)
			}
			if err := w.Outbox.SaveNotification(octx, n); err != nil {
				w.log().Error("save notification", "job", n.Run.Namespace+"/"+n.Run.Job, "error", err)
				if n.State != history.NotifyPending {
					done[n.UID] = n
					if next.IsZero() || now.Add(backoff).Before(next) {
						next = now.Add(backoff)
					}
				}
			}
		}
		if !w.wait(ctx, next) {
			return
		}
	}
}

// wait waits for a Kick, until next (zero: no time), or the end.
func (w *Worker) wait(ctx context.Context, next time.Time) bool {
	var timer <-chan time.Time
	if !next.IsZero() {
		t := time.NewTimer(time.Until(next))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-w.kick:
	case <-timer:
	}
	return true
}

func (w *Worker) or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// statusError is an endpoint's answer other than 2xx.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("webhook answered %d %s", e.code, http.StatusText(e.code))
	}
	return fmt.Sprintf("webhook answered %d %s: %s", e.code, http.StatusText(e.code), e.body)
}

// permanentError is a failure that retrying cannot mend.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// isPermanent reports whether retrying cannot help: a bad request, or a
// 4xx answer other than 408 (timeout) and 429 (too many requests).
func isPermanent(err error) bool {
	var se *statusError
	var pe *permanentError
	return errors.As(err, &pe) ||
		errors.As(err, &se) && se.code >= 400 && se.code < 500 && se.code != http.StatusRequestTimeout && se.code != http.StatusTooManyRequests
}

// send makes one delivery attempt.
func (w *Worker) send(ctx context.Context, n *history.Notification) error {
	body, err := Body(n, w.Host)
	if err != nil {
		return &permanentError{fmt.Errorf("encode notification: %w", err)}
	}
	// A stop lets a request in flight finish for StopGrace (within its
	// timeout), so an endpoint that is answering is not left unrecorded.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.or(w.Timeout, DefaultTimeout))
	defer cancel()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(StopGrace, cancel) })()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, n.Target.URL, bytes.NewReader(body))
	if err != nil {
		return &permanentError{fmt.Errorf("webhook URL %s: %w", Redact(n.Target.URL), err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "localjobs/"+w.Version)
	req.Header.Set("Idempotency-Key", n.UID)
	c := w.Client
	if c == nil {
		c = http.DefaultClient
	}
	fallbackRoots()
	resp, err := c.Do(req)
	if err != nil {
		// *url.Error repeats the whole URL, secret path included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post to %s: %w", Redact(n.Target.URL), err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return &statusError{code: resp.StatusCode, body: strings.TrimSpace(string(snippet))}
	}
	return nil
}

// Redact is the form of a webhook URL that logs and events show: its path
// and query, which for Slack and many others hold the secret, are hidden.
func Redact(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "<invalid URL>"
	}
	host, _, _ := strings.Cut(rest, "/")
	if _, h, ok := strings.Cut(host, "@"); ok {
		host = h
	}
	return scheme + "://" + host + "/…"
}
