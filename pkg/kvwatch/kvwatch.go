// Package kvwatch keeps an in-memory view of a JetStream KV bucket current
// with one long-lived watcher, started again with backoff should it end.
//
// A view read on every event (decide's index of document records,
// respond's parked answers) saves a round trip, or a temporary consumer,
// per read; it lags the bucket by the watcher's delay, milliseconds as a
// rule, so its owner decides what it may trust it for.
package kvwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// View is what a watcher feeds. Its methods are called from one goroutine.
type View interface {
	// Reset is called before each watcher starts. A new watcher delivers
	// the entries present now, but not the deletions since an earlier one
	// ended: a view that keeps deleted keys must forget what it holds.
	Reset()
	// Apply is called with each entry the watcher delivers, in revision
	// order: puts, and deletions and purges (Operation tells which).
	Apply(jetstream.KeyValueEntry)
	// Loaded is called when the watcher has delivered every entry present
	// at its start.
	Loaded()
}

// Follow feeds v from a watcher over kv, with opts, until ctx is done or nc
// is closed. Should the watcher end, it starts a new one after a pause of
// 100 ms, doubling up to 5 s while watchers end before they loaded the
// bucket, logging each restart under name.
func Follow(ctx context.Context, nc *nats.Conn, kv jetstream.KeyValue, v View, name string, log *slog.Logger, opts ...jetstream.WatchOpt) {
	const first = 100 * time.Millisecond
	pause := first
	for {
		loaded, err := follow(ctx, kv, v, opts)
		if ctx.Err() != nil || nc.IsClosed() {
			return
		}
		if loaded {
			pause = first
		}
		log.WarnContext(ctx, name+": watcher stopped; restarting", "err", err, "in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// follow feeds v from one watcher until it or ctx ends, and reports
// whether the watcher got as far as loading the bucket.
func follow(ctx context.Context, kv jetstream.KeyValue, v View, opts []jetstream.WatchOpt) (loaded bool, err error) {
	v.Reset()
	w, err := kv.WatchAll(ctx, opts...)
	if err != nil {
		return false, fmt.Errorf("watch bucket %s: %w", kv.Bucket(), err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return loaded, ctx.Err()
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return loaded, fmt.Errorf("watch bucket %s: %w", kv.Bucket(), errClosed)
			case e == nil:
				loaded = true
				v.Loaded()
			default:
				v.Apply(e)
			}
		}
	}
}

var errClosed = errors.New("the watcher closed")
