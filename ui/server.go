package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// ResolveAddr turns a --ui-addr into the address to listen on. A bare
// port (":8089") and "localhost" mean 127.0.0.1. A non-loopback address is
// listened on only when it is written out as an IP address (0.0.0.0:8089,
// 192.168.1.5:8089): a host name is refused, since what it resolves to
// could be an address the user never meant to expose.
func ResolveAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", errors.New("want HOST:PORT or :PORT, e.g. :8089 (= 127.0.0.1:8089)")
	}
	if port == "" {
		return "", errors.New("no port, e.g. :8089")
	}
	switch {
	case host == "" || strings.EqualFold(host, "localhost"):
		host = "127.0.0.1"
	case net.ParseIP(host) == nil:
		return "", fmt.Errorf("give an IP address, not a host name: 127.0.0.1 (loopback, as :%s is), or an interface's address to expose the dashboard beyond this machine", port)
	}
	return net.JoinHostPort(host, port), nil
}

// Listen listens on the address ResolveAddr makes of addr.
func Listen(addr string) (net.Listener, error) {
	a, err := ResolveAddr(addr)
	if err != nil {
		return nil, err
	}
	return net.Listen("tcp", a)
}

// Loopback reports whether a listener's address is a loopback address.
func Loopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// URL is the address of a dashboard listening on a.
func URL(a net.Addr) string {
	return "http://" + a.String() + "/"
}

// Banner is what `up` prints about a dashboard listening on a: where, and
// who can see it.
func Banner(a net.Addr) string {
	if Loopback(a) {
		return fmt.Sprintf("dashboard: %s (read-only; anyone who can reach it, on loopback every user and process of this machine, sees everything the socket owner sees, logs included)", URL(a))
	}
	return fmt.Sprintf("dashboard: %s (read-only, NOT loopback: anyone who can reach this address over the network sees everything the socket owner sees, logs included; there is no password)", URL(a))
}

// Server timeouts: pages are small and quick; a whole log (at most a few
// tens of MiB on disk) gets a minute.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = time.Minute
	idleTimeout       = time.Minute
	shutdownTimeout   = 5 * time.Second
)

// Serve serves h on ln until ctx ends, then shuts the server down (within
// 5 s). A dashboard on a loopback address answers only requests whose Host
// is a loopback name or address, so a web page cannot reach it through a
// rebound DNS name.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	if Loopback(ln.Addr()) {
		h = loopbackHostOnly(h)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done // Shutdown has drained the requests in flight
	return nil
}

// loopbackHostOnly refuses requests whose Host header names something
// other than this machine (DNS rebinding).
func loopbackHostOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hst, _, err := net.SplitHostPort(host); err == nil {
			host = hst
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		ip := net.ParseIP(host)
		if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "the dashboard answers only to localhost and loopback addresses", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}
