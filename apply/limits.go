package apply

import (
	"fmt"

	"github.com/localjobs/localjobs/manifest"
)

// MaxObjects is the most objects (List items included) one apply may
// carry (DESIGN §9b). Kubernetes bounds one object (1.5 MiB,
// manifest.MaxObjectBytes); kubectl sends a folder object by object,
// localjobs in one request, so it bounds the request.
const MaxObjects = 1000

// TooLargeError is an apply over one of the limits; nothing of it was
// applied. The API answers it with 413 Request Entity Too Large.
type TooLargeError struct{ Msg string }

func (e *TooLargeError) Error() string { return e.Msg }

func tooMany(file string, n int) error {
	return &TooLargeError{Msg: fmt.Sprintf("%s: too many objects: one apply may carry at most %d objects, and the files hold %d with this one; apply them in parts",
		file, MaxObjects, n)}
}

// checkDocuments refuses an apply whose files hold more than MaxObjects
// documents, before any is parsed.
func checkDocuments(files []File) error {
	docs := 0
	for _, f := range files {
		if docs += manifest.Documents(f.Data); docs > MaxObjects {
			return tooMany(f.Name, docs)
		}
	}
	return nil
}
