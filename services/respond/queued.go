package respond

import (
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// queued is this replica's view of which answers are parked, by
// municipality, kept by one watcher over the parking bucket (headers only,
// [kvwatch.Follow]).
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

// Apply is [kvwatch.View]'s.
func (q *queued) Apply(e jetstream.KeyValueEntry) {
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

// Reset is [kvwatch.View]'s: a new watcher does not report the keys
// deleted since the last one ended, so the view is loaded afresh; until
// then, decisions list the bucket.
func (q *queued) Reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.loaded, q.seen, q.keys = false, 0, map[string]map[string]struct{}{}
}

// Loaded is [kvwatch.View]'s.
func (q *queued) Loaded() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.loaded = true
}
