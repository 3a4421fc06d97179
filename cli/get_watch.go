package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/localjobs/localjobs/localapi"
)

// watchKind prints the current objects (unless --watch-only), then every
// change that matches, as kubectl get -w does: the table header once, then
// one row per change; structured formats print each changed object.
func (e *env) watchKind(ctx context.Context, src source, k *resourceKind, initial []any, names []string, opts getOptions) error {
	isClient := !src.ReadOnly
	if !isClient {
		fmt.Fprintln(e.stderr, "Warning: no localjobs daemon is running; nothing will change")
	}
	tw := newTable(e.stdout)
	header := true
	emit := func(objs []any) error {
		if len(objs) == 0 {
			return nil
		}
		if opts.out.structured() && opts.out.kind != "custom-columns" {
			for _, o := range objs {
				if err := printStructured(e.stdout, opts.out, []any{o}, false, objectName); err != nil {
					return err
				}
			}
			return nil
		}
		writeTable(tw, k, objs, time.Now(), opts, header)
		header = false
		return tw.Flush()
	}
	// last holds the last printed state of each object, so repeated saves
	// of an unchanged object print nothing.
	last := map[string][]byte{}
	keyOf := func(o any) string { m := metaOf(o); return m.Namespace + "/" + m.Name }
	remember := func(o any) bool {
		b, _ := json.Marshal(o)
		if string(last[keyOf(o)]) == string(b) {
			return false
		}
		last[keyOf(o)] = b
		return true
	}
	if !isClient {
		if opts.watchOnly {
			return nil
		}
		return emit(initial)
	}
	// The watch is opened before the list is read again, so no change
	// between the two is missed.
	stream, err := src.OpenWatch(ctx, k.resource, opts.namespace)
	if err != nil {
		return err
	}
	defer stream.Close()
	if !opts.watchOnly {
		objs, err := k.list(ctx, src, opts.namespace, opts.labels.String())
		if err != nil {
			return err
		}
		objs = filterObjects(k, objs, opts)
		if len(names) > 0 {
			objs = byName(objs, names)
		}
		sortByName(objs)
		for _, o := range objs {
			remember(o)
		}
		if err := emit(objs); err != nil {
			return err
		}
	}
	events := make(chan localapi.WatchEvent)
	errc := make(chan error, 1)
	go func() {
		for {
			ev, err := stream.Next()
			if err != nil {
				errc <- err
				return
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case ev := <-events:
			o, err := k.decode(ev.Object)
			if err != nil {
				continue
			}
			if ev.Type == "DELETED" {
				// The event carries only the name: print the last state
				// seen, as kubectl prints the deleted object.
				prev, seen := last[keyOf(o)]
				if !seen {
					continue
				}
				delete(last, keyOf(o))
				if o, err = k.decode(prev); err != nil {
					continue
				}
			} else if !matches(k, o, opts) || (len(names) > 0 && len(byName([]any{o}, names)) == 0) || !remember(o) {
				continue
			}
			if err := emit([]any{o}); err != nil {
				return err
			}
		}
	}
}

func byName(objs []any, names []string) []any {
	var out []any
	for _, o := range objs {
		for _, n := range names {
			if metaOf(o).Name == n {
				out = append(out, o)
			}
		}
	}
	return out
}
