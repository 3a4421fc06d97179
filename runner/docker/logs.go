package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/localjobs/localjobs/runner"
)

// Stream numbers in the engine's multiplexed log stream (stdcopy).
const (
	streamStdin  = 0
	streamStdout = 1
	streamStderr = 2
	streamSystem = 3
)

// maxFrame bounds one multiplexed frame; the json-file driver writes at
// most 16 KiB of text per message.
const maxFrame = 64 << 20

// Logs copies the container's output lines with timestamps strictly after
// since into sink, following the output until the container stops (follow)
// or up to the present (!follow). The engine keeps the output (json-file),
// so lines written before the first call are not lost.
//
// Each line reaches the sink without its newline. A line the engine split
// (longer than 16 KiB) arrives as several calls, all but the last with
// partial set; text without a final newline at the end of the output is
// delivered as a full line.
func (r *Runtime) Logs(ctx context.Context, id string, since time.Time, follow bool, sink runner.LogSink) error {
	tty, err := r.hasTTY(ctx, id)
	if err != nil {
		return err
	}

	w := &lineWriter{sink: sink, since: since}
	if err := r.copyLogs(ctx, id, tty, follow, since, w); err != nil {
		return err
	}
	if !follow {
		return nil
	}
	// The engine can end a follow before the last lines of a container that
	// just stopped have reached it (seen on 20.10 under load): read once
	// more, without following, what came after the last line seen.
	if w.last.After(w.since) {
		w.since = w.last
	}
	return r.copyLogs(ctx, id, tty, false, w.since, w)
}

// hasTTY reports whether the container has a TTY, asking the engine once
// per container.
func (r *Runtime) hasTTY(ctx context.Context, id string) (bool, error) {
	if v, ok := r.ttys.Load(id); ok {
		return v.(bool), nil
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ins, err := r.api.ContainerInspect(cctx, id, client.ContainerInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return false, fmt.Errorf("logs of container %s: %w", id, runner.ErrNotFound)
		}
		return false, fmt.Errorf("logs of container %s: %w", id, err)
	}
	tty := ins.Container.Config != nil && ins.Container.Config.Tty
	r.ttys.Store(id, tty)
	return tty, nil
}

// copyLogs reads the container's log once into w.
func (r *Runtime) copyLogs(ctx context.Context, id string, tty, follow bool, since time.Time, w *lineWriter) error {
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Follow: follow}
	if !since.IsZero() {
		opts.Since = since.UTC().Format(time.RFC3339Nano)
	}
	rc, err := r.api.ContainerLogs(ctx, id, opts)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("logs of container %s: %w", id, runner.ErrNotFound)
		}
		return fmt.Errorf("logs of container %s: %w", id, err)
	}
	defer closeQuietly(rc)
	if tty {
		err = copyRawLines(rc, w)
	} else {
		err = copyFrames(rc, w)
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", id, err)
	}
	return nil
}

// lineWriter delivers parsed lines to a sink, dropping those at or before
// since and holding back each stream's partial chunk until it knows whether
// more of the line follows.
type lineWriter struct {
	sink    runner.LogSink
	since   time.Time
	last    time.Time // newest timestamp seen
	pending [3]*chunk // by stream number
}

type chunk struct {
	ts   time.Time
	text []byte
}

func streamName(s byte) string {
	if s == streamStderr {
		return "stderr"
	}
	return "stdout"
}

// message handles one log message of stream s: a timestamp, a space and
// the text, which ends in a newline unless the engine split the line.
func (w *lineWriter) message(s byte, msg []byte) error {
	ts, text := splitTimestamp(msg)
	if ts.After(w.last) {
		w.last = ts
	}
	if p := w.pending[s]; p != nil {
		w.pending[s] = nil
		if err := w.write(p.ts, s, p.text, true); err != nil {
			return err
		}
	}
	for len(text) > 0 {
		line, rest, full := bytes.Cut(text, []byte("\n"))
		if !full {
			w.pending[s] = &chunk{ts: ts, text: bytes.Clone(line)}
			return nil
		}
		if err := w.write(ts, s, bytes.Clone(line), false); err != nil {
			return err
		}
		text = rest
	}
	return nil
}

// flush delivers held chunks as full lines: the output has ended.
func (w *lineWriter) flush() error {
	for s, p := range w.pending {
		if p == nil {
			continue
		}
		w.pending[s] = nil
		if err := w.write(p.ts, byte(s), p.text, false); err != nil {
			return err
		}
	}
	return nil
}

func (w *lineWriter) write(ts time.Time, s byte, line []byte, partial bool) error {
	if !w.since.IsZero() && !ts.After(w.since) {
		return nil
	}
	return w.sink.WriteLine(ts, streamName(s), line, partial)
}

// splitTimestamp splits the engine's "<RFC3339Nano> " prefix off msg. A
// message without a valid timestamp keeps its text and gets the current
// time.
func splitTimestamp(msg []byte) (time.Time, []byte) {
	if i := bytes.IndexByte(msg, ' '); i > 0 {
		if ts, err := time.Parse(time.RFC3339Nano, string(msg[:i])); err == nil {
			return ts, msg[i+1:]
		}
	}
	return time.Now(), msg
}

// copyFrames reads the engine's multiplexed stream: frames of an 8-byte
// header (stream, 3 zero bytes, big-endian length) and one log message.
func copyFrames(r io.Reader, w *lineWriter) error {
	br := bufio.NewReaderSize(r, 32<<10)
	var hdr [8]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return w.flush()
			}
			return err
		}
		s, n := hdr[0], binary.BigEndian.Uint32(hdr[4:])
		if n > maxFrame {
			return fmt.Errorf("log frame of %d bytes: stream corrupt", n)
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return err
		}
		switch s {
		case streamStdout, streamStderr:
			if err := w.message(s, buf); err != nil {
				return err
			}
		case streamSystem:
			return fmt.Errorf("engine: %s", bytes.TrimSpace(buf))
		case streamStdin:
		default:
			return fmt.Errorf("log frame for unknown stream %d: stream corrupt", s)
		}
	}
}

// copyRawLines reads the output of a container with a TTY, which the
// engine sends unframed: one "<timestamp> <text>\r\n" per line.
func copyRawLines(r io.Reader, w *lineWriter) error {
	br := bufio.NewReaderSize(r, 32<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
			ts, text := splitTimestamp(line)
			if ts.After(w.last) {
				w.last = ts
			}
			if werr := w.write(ts, streamStdout, bytes.Clone(text), false); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
