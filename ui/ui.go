// Package ui is localjobs' dashboard: server-rendered HTML pages over the
// daemon's API (`localjobs up --ui-addr`). It shows CronJobs with their
// schedules in English, next fire times and run history (an inline SVG
// chart with a table beside it), Jobs, pods with kubectl's STATUS, and each
// pod's containers, events and log.
//
// The dashboard is a client of the same API as the CLI, through API: a
// read-only subset of *localapi.Client, so it cannot change anything by
// construction. Pages are html/template with an embedded stylesheet and
// one small embedded script that refreshes the page's main content every
// few seconds; without JavaScript a meta refresh does it. No page needs a
// script, an external resource or a write request.
package ui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// Reader is what the dashboard reads from the daemon: the read methods of
// *localapi.Client it calls, and nothing that writes.
type Reader interface {
	Pods(ctx context.Context, ns string) ([]*manifest.Pod, error)
	Pod(ctx context.Context, ns, name string) (*manifest.Pod, error)
	PodsOfJob(ctx context.Context, ns, job string) ([]*manifest.Pod, error)
	Jobs(ctx context.Context, ns string) ([]*manifest.Job, error)
	Job(ctx context.Context, ns, name string) (*manifest.Job, error)
	CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error)
	CronJob(ctx context.Context, ns, name string) (*manifest.CronJob, error)
	// Events lists the events of the object with uid ("" = all of ns).
	Events(ctx context.Context, ns, uid string) ([]*manifest.Event, error)
	// Logs copies a container's log to w (the dashboard never follows).
	Logs(ctx context.Context, w io.Writer, req localapi.LogRequest) error
}

var _ Reader = (*localapi.Client)(nil)

// API is what the dashboard shows: the Reader and the run history of
// CronJobs. JobHistory makes one of a Reader.
type API interface {
	Reader
	// History returns the runs of the CronJob owner in ns, oldest first;
	// owner "" asks for the runs of every CronJob, ns "" in every
	// namespace (the overview asks once for all).
	History(ctx context.Context, ns, owner string) ([]Run, error)
}

// Options tune the dashboard.
type Options struct {
	// Version is shown in the footer.
	Version string
	// Location is the zone times are shown in, and the zone of a CronJob
	// without timeZone (nil = time.Local, the daemon's).
	Location *time.Location
	// Refresh is how often pages refresh their content (0 = 5 s).
	Refresh time.Duration
	// Now returns the current time (nil = time.Now).
	Now func() time.Time
	// Log receives errors of the API (nil = slog.Default()).
	Log *slog.Logger
}

// DefaultRefresh is how often pages refresh by default.
const DefaultRefresh = 5 * time.Second

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// contentSecurityPolicy allows the page's own stylesheet and script and
// nothing else: no inline script or style, no other origin, no forms, no
// framing.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type handler struct {
	api   API
	o     Options
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New returns the dashboard's handler over api. It answers GET and HEAD
// only.
func New(api API, o Options) http.Handler {
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	h := &handler{api: api, o: o, pages: parseTemplates(), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.overview)
	h.mux.HandleFunc("GET /cronjobs/{ns}/{name}", h.cronJob)
	h.mux.HandleFunc("GET /jobs/{ns}/{name}", h.job)
	h.mux.HandleFunc("GET /pods/{ns}/{name}", h.pod)
	h.mux.HandleFunc("GET /pods/{ns}/{name}/log", h.podLog)
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	h.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "No such page.", nil)
	})
	return h
}

// ServeHTTP sets the security headers and refuses every method but GET and
// HEAD: the dashboard has no write endpoint.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "the dashboard is read-only", http.StatusMethodNotAllowed)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func parseTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"add":             func(a, b int) int { return a + b },
		"suspendedStatus": func() status { return status{Text: "True", Class: "warn", Glyph: glyphs["warn"]} },
	}
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html"))
	pages := map[string]*template.Template{}
	for _, p := range []string{"overview", "cronjob", "job", "pod", "error"} {
		pages[p] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+p+".html"))
	}
	return pages
}

// page is what every page has.
type page struct {
	Title   string
	Version string
	Zone    string
	Updated timeView
	Refresh int // seconds
	// Crumbs lead from the overview to this page.
	Crumbs []link
}

type link struct{ Text, URL string }

func (h *handler) page(title string, now time.Time, crumbs ...link) page {
	return page{Title: title, Version: h.o.Version, Zone: localZone(h.o.Location, now), Updated: h.at(now, now),
		Refresh: int(h.o.Refresh / time.Second), Crumbs: crumbs}
}

// render executes a page into a buffer and sends it: the whole document,
// or with ?fragment=1 only its main content (what the live refresh
// fetches).
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	tmpl := "layout"
	if r.URL.Query().Get("fragment") == "1" {
		tmpl = "content"
	}
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, tmpl, data); err != nil {
		h.o.Log.Error("dashboard: render", "page", name, "error", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorPage struct {
	page
	Status  int
	Message string
	Detail  string
}

// fail answers with an error page: 404 for an object that does not exist,
// 502 when the daemon's API failed.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	now := h.o.Now()
	p := errorPage{page: h.page(http.StatusText(status), now, link{"Overview", "/"}), Status: status, Message: msg}
	if err != nil {
		p.Detail = err.Error()
		if status >= 500 {
			h.o.Log.Warn("dashboard: the API failed", "path", r.URL.Path, "error", err)
		}
	}
	h.render(w, r, status, "error", p)
}

// apiError answers for an error of the API about what.
func (h *handler) apiError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, localapi.ErrNotFound) {
		h.fail(w, r, http.StatusNotFound, fmt.Sprintf("There is no %s.", what), err)
		return
	}
	h.fail(w, r, http.StatusBadGateway, fmt.Sprintf("The daemon's API failed to give %s.", what), err)
}
