package notify

import (
	"crypto/x509"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// fallbackRoots hands crypto/x509 the CA roots built into the binary, for
// a machine without its own (a FROM scratch image), before the first
// webhook is sent; the system's roots, where there are any, still come
// first. The x509roots/fallback package would parse them when any command
// starts — 4 ms of every CLI command, which never verifies a certificate.
var fallbackRoots = sync.OnceFunc(func() {
	p := x509.NewCertPool()
	for c := range bundle.Roots() {
		cert, err := x509.ParseCertificate(c.Certificate)
		if err != nil {
			continue // the bundle is tested upstream; one bad root is not worth a panic
		}
		if c.Constraint == nil {
			p.AddCert(cert)
		} else {
			p.AddCertWithConstraint(cert, c.Constraint)
		}
	}
	x509.SetFallbackRoots(p)
	fallbackRootsSet.Store(true)
})

// fallbackRootsSet records that fallbackRoots ran (tests).
var fallbackRootsSet atomic.Bool
