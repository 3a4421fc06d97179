package manifest

import (
	"net/url"
	"strings"
)

// Annotations of localjobs' webhook notifications (issue #13): on a Job, or
// on a CronJob whose Jobs inherit them. They are localjobs' own
// (localjobs.io/…), which Kubernetes accepts and ignores, so the YAML still
// applies to a cluster.
const (
	// AnnotationNotifyURL is the http or https URL a Job's run is POSTed
	// to.
	AnnotationNotifyURL = "localjobs.io/notify-url"
	// AnnotationNotifyFormat is the body: "json" (default) or "slack".
	AnnotationNotifyFormat = "localjobs.io/notify-format"
	// AnnotationNotifyOn is when to notify: "failure" (default), "always"
	// or "never" (to opt out of the global --notify-url).
	AnnotationNotifyOn = "localjobs.io/notify-on"
)

// CheckNotifyURL reports what is wrong with a webhook URL, or "".
func CheckNotifyURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case err != nil:
		return "must be a URL: " + err.Error()
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http or https URL"
	case u.Host == "":
		return "must name a host"
	}
	return ""
}

// validateNotify checks the notify annotations of an object's metadata.
func validateNotify(e *errs, ann map[string]string, p fieldPath) {
	if v, ok := ann[AnnotationNotifyURL]; ok {
		if msg := CheckNotifyURL(v); msg != "" {
			e.invalid(p.key(AnnotationNotifyURL), v, msg)
		}
	}
	if v, ok := ann[AnnotationNotifyFormat]; ok {
		if v := strings.TrimSpace(v); v != "json" && v != "slack" {
			e.notSupported(p.key(AnnotationNotifyFormat), v, "json", "slack")
		}
	}
	if v, ok := ann[AnnotationNotifyOn]; ok {
		if v := strings.TrimSpace(v); v != "failure" && v != "always" && v != "never" {
			e.notSupported(p.key(AnnotationNotifyOn), v, "failure", "always", "never")
		}
	}
}
