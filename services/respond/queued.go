package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// queued is this replica's view of which answers are parked, by
// municipality, kept by one watcher over the parking bucket (headers only).
// Every decision asks whether its municipality has parked answers, to
// queue behind them; listing the bucket's keys for that cost a temporary
// consumer per decision, a tenth of the CPU at full load (issue 4).
//
// The view lags the bucket by the watcher's delay, milliseconds as a rule.
// A key parked by this replica shows at once. A lag can only make a
// decision see answers that were released meanwhile, and park behind
// nothing: the release that follows the parking sends it straight away.
// The other way, an answer parked by another replica in the last
// milliseconds, is the same race as between two listings of the bucket.
type queued struct {
	mu     sync.Mutex
	loaded bool                           // the watcher delivered the keys present at its start
	seen   uint64                         // the last revision the watcher delivered
	keys   map[string]map[string]struct{} // kommune -> parked keys
}

func newQueued() *queued {
	return &queued{keys: map[string]map[string]struct{}{}}
}

// of returns the parked keys of kommune in decision order, and false while
// the view is not loaded.
func (q *queued) of(kommune string) ([]string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.loaded {
		return nil, false
	}
	keys := make([]string, 0, len(q.keys[kommune]))
	for k := range q.keys[kommune] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, true
}

// parked records a key this replica parked at revision rev, unless the
// watcher has delivered that revision (and so whatever followed it).
func (q *queued) parked(key string, rev uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if rev > q.seen {
		q.add(key)
	}
}

func (q *queued) add(key string) {
	kommune := kommuneOfKey(key)
	if q.keys[kommune] == nil {
		q.keys[kommune] = map[string]struct{}{}
	}
	q.keys[kommune][key] = struct{}{}
}

func (q *queued) apply(e jetstream.KeyValueEntry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seen = max(q.seen, e.Revision())
	key := e.Key()
	if strings.HasPrefix(key, failedPrefix) {
		return
	}
	if e.Operation() == jetstream.KeyValuePut {
		q.add(key)
		return
	}
	kommune := kommuneOfKey(key)
	delete(q.keys[kommune], key)
	if len(q.keys[kommune]) == 0 {
		delete(q.keys, kommune)
	}
}

// run follows the bucket until ctx is done, with a new watcher after a
// pause of up to 5 s should one end.
func (q *queued) run(ctx context.Context, kv jetstream.KeyValue, log *slog.Logger) {
	pause := 100 * time.Millisecond
	for {
		err := q.follow(ctx, kv)
		if ctx.Err() != nil {
			return
		}
		log.WarnContext(ctx, "view of parked answers: watcher stopped; restarting", "err", err, "in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// follow loads the view afresh from a new watcher, which delivers the keys
// present now but not those deleted since an earlier one ended, and keeps
// it current until the watcher or ctx ends.
func (q *queued) follow(ctx context.Context, kv jetstream.KeyValue) error {
	q.mu.Lock()
	q.loaded, q.seen, q.keys = false, 0, map[string]map[string]struct{}{}
	q.mu.Unlock()
	w, err := kv.WatchAll(ctx, jetstream.MetaOnly())
	if err != nil {
		return fmt.Errorf("watch parked answers: %w", err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return errors.New("watch parked answers: watcher closed")
			case e == nil:
				q.mu.Lock()
				q.loaded = true
				q.mu.Unlock()
			default:
				q.apply(e)
			}
		}
	}
}
