package state

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ReadOptions selects what ReadLog prints, as kubectl logs' flags do.
type ReadOptions struct {
	// Timestamps prefixes each line with its RFC 3339 timestamp (nanoseconds,
	// UTC) and a space, as --timestamps does.
	Timestamps bool
	// Tail is how many of the last lines to print; -1 prints all, 0 none.
	Tail int
	// Since, when not zero, skips lines older than it.
	Since time.Time
	// Last, if set, receives the timestamp of the last record in the file
	// (a follower goes on from there).
	Last *time.Time
}

// ReadLog prints the log file at path (a file OpenLog wrote) to w as plain
// text, one line per log line: partial (P) records are joined with the rest
// of their line on the same stream, and a line carries the timestamp of its
// first record. Malformed lines are skipped. Since applies before Tail.
func ReadLog(path string, w io.Writer, o ReadOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	defer f.Close()

	bw := bufio.NewWriter(w)
	var ring [][]byte // the last o.Tail lines when o.Tail >= 0
	next := 0
	var werr error
	emit := func(ts time.Time, text []byte) {
		if !o.Since.IsZero() && ts.Before(o.Since) {
			return
		}
		if o.Tail == 0 {
			return
		}
		var out []byte
		if o.Tail > 0 {
			if len(ring) < o.Tail {
				ring = append(ring, nil)
			}
			out = ring[next][:0]
		}
		if o.Timestamps {
			out = ts.UTC().AppendFormat(out, time.RFC3339Nano)
			out = append(out, ' ')
		}
		out = append(out, text...)
		out = append(out, '\n')
		if o.Tail > 0 {
			ring[next] = out
			next = (next + 1) % o.Tail
			return
		}
		if werr == nil {
			_, werr = bw.Write(out)
		}
	}

	type fragments struct {
		ts   time.Time
		text []byte
	}
	pending := map[string]*fragments{} // partial records per stream
	br := bufio.NewReaderSize(f, 64<<10)
	var scratch []byte
	for {
		var line []byte
		line, scratch, err = readLine(br, scratch)
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		if rec, ok := parseRecord(line); ok {
			if o.Last != nil && rec.ts.After(*o.Last) {
				*o.Last = rec.ts
			}
			p := pending[rec.stream]
			switch {
			case rec.partial && p == nil:
				pending[rec.stream] = &fragments{ts: rec.ts, text: append([]byte(nil), rec.text...)}
			case rec.partial:
				p.text = append(p.text, rec.text...)
			case p != nil:
				delete(pending, rec.stream)
				emit(p.ts, append(p.text, rec.text...))
			default:
				emit(rec.ts, rec.text)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read log %s: %w", path, err)
		}
	}
	// Lines still partial at the end (output still being written, or a
	// container that ended mid-line) are printed as they are, oldest first.
	for len(pending) > 0 {
		var first string
		for s, p := range pending {
			if first == "" || p.ts.Before(pending[first].ts) || p.ts.Equal(pending[first].ts) && s < first {
				first = s
			}
		}
		emit(pending[first].ts, pending[first].text)
		delete(pending, first)
	}
	if o.Tail > 0 {
		for i := range ring {
			if werr != nil {
				break
			}
			_, werr = bw.Write(ring[(next+i)%len(ring)])
		}
	}
	if werr == nil {
		werr = bw.Flush()
	}
	if werr != nil {
		return fmt.Errorf("read log: %w", werr)
	}
	return nil
}
