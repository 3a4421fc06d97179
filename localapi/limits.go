package localapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/localjobs/localjobs/apply"
)

// Limits of one apply (DESIGN §9b). Kubernetes bounds one object (1.5 MiB,
// manifest.MaxObjectBytes) and one request body (3 MiB); kubectl sends a
// folder object by object. localjobs sends a folder in one request, so it
// bounds the request instead: beyond these an apply is refused whole, with
// 413 and the file that crossed the limit, before anything is applied.
const (
	// MaxApplyObjects is the most objects (List items included) one apply
	// may carry.
	MaxApplyObjects = apply.MaxObjects
	// MaxApplyBytes is the most manifest bytes (all files together) one
	// apply may carry.
	MaxApplyBytes = 32 << 20
	// maxApplyBody is the request body that carries MaxApplyBytes: the
	// files travel base64-encoded in JSON.
	maxApplyBody = MaxApplyBytes/3*4 + 1<<20
	// maxBody bounds the body of every other request: at most one object
	// (a Job for create job), of at most 1.5 MiB.
	maxBody = 2 << 20
)

// DefaultReadTimeout is how long a client may take to send a request body
// when Server.ReadTimeout is not set.
const DefaultReadTimeout = 30 * time.Second

// TooLargeError is an apply over one of the limits above; the server
// answers it with 413 Request Entity Too Large.
type TooLargeError = apply.TooLargeError

// applyPath is the apply endpoint, whose body may be larger than others'.
const applyPath = "/localjobs/v1/apply"

// CheckApplySize returns a *TooLargeError naming the file with which the
// files' bytes cross MaxApplyBytes, or nil.
func CheckApplySize(files []File) error {
	total := 0
	for _, f := range files {
		total += len(f.Data)
		if total > MaxApplyBytes {
			return &TooLargeError{Msg: fmt.Sprintf("%s: too large: one apply may carry at most %d MiB of manifests, and the files add up to %.1f MiB with this one; apply them in parts",
				f.Name, MaxApplyBytes>>20, float64(total)/(1<<20))}
		}
	}
	return nil
}

// limitBodies bounds the size of what a request may send: the apply's
// limit, or maxBody. (Server.ReadTimeout bounds the time it may take.)
func limitBodies(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			limit := int64(maxBody)
			if r.URL.Path == applyPath {
				limit = maxApplyBody
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		h.ServeHTTP(w, r)
	})
}
