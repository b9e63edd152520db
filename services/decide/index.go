package decide

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// index is this replica's in-memory copy of the open records in the bucket
// (received, awaiting a verdict, or decided with the answer not delivered
// yet: a record is archived and purged from the bucket once its answer is
// delivered, see archive.go), kept by one long-lived KV watcher
// ([kvwatch.Follow]) and serving GET /v1/documents, so a list costs no
// temporary consumer and no decoding (issue 4: the per-request watch over
// every record of the municipality was a quarter of a benchmark run's CPU).
// It also gives [store.change] its first read; the bucket stays the only
// authority: compare-and-set checks every write, and GET
// /v1/documents/{id} reads the bucket.
//
// It is eventually consistent: a write shows in lists once the watcher
// delivers it, in milliseconds as a rule. Writes of this replica
// ([store.change]) are put into the index at once, so a caseworker who
// just posted a verdict here sees the new state in the next list. Every
// entry carries its KV revision and an older revision never replaces a
// newer one, whichever of the watcher and the writer comes first; a write
// of this replica whose revision the watcher has passed already is left
// out, since the watcher applied it and whatever followed it (a purge
// included), so deleted keys need no tombstones.
//
// Memory: one decoded, immutable *Record per open document (a few KB
// each), which buys lists that only mask and encode their page; nothing
// per archived document (issue 10: every document ever received, 1.6–1.75
// KB of live heap each, ran a 1 GiB pod out of memory after 250–300 k).
// Records are never changed in place: a new revision replaces the pointer,
// so readers may use a record after releasing the lock.
type index struct {
	log       *slog.Logger
	ready     chan struct{} // closed once the watcher delivered every record present at its start
	readyOnce sync.Once

	mu sync.RWMutex
	// revs holds the current record and its revision per key.
	revs map[string]indexed
	// watched is the highest revision the watcher has delivered.
	watched uint64
	// gen counts the watchers started; an entry neither delivered by the
	// current one nor written since it started is gone from the bucket
	// once it has loaded (see [index.Loaded]).
	gen uint64
	// live holds the current records by kommune, state and key.
	live map[string]map[State]map[string]*Record
	// pending holds the decided records whose answer respond has not
	// reported on, by key: what [Worker.reannounce] looks at, without
	// scanning every decision made.
	pending map[string]*Record
	// delivered holds the records whose answer is delivered but which are
	// still open, by key: what [Worker.sweep] archives, should the
	// answer.delivered handler not have.
	delivered map[string]*Record
	// writing holds this replica's writes in flight, by key: the watcher
	// often delivers a write before its writer has its revision, and then
	// takes the record from here instead of decoding it again.
	writing map[string]*write
}

// write is a record as encoded for the bucket.
type write struct {
	data []byte
	rec  *Record
}

type indexed struct {
	rev uint64
	gen uint64
	rec *Record
}

func newIndex(log *slog.Logger) *index {
	return &index{
		log:       log,
		ready:     make(chan struct{}),
		revs:      map[string]indexed{},
		live:      map[string]map[State]map[string]*Record{},
		pending:   map[string]*Record{},
		delivered: map[string]*Record{},
		writing:   map[string]*write{},
	}
}

// put records r (nil: deleted) as the value of k at revision rev, unless
// the index holds k at rev or a later revision already. It reports whether
// it changed the index. r must not be changed afterwards. The caller holds
// x.mu.
func (x *index) put(k string, rev uint64, r *Record) bool {
	old, ok := x.revs[k]
	if ok && old.rev >= rev {
		if old.gen != x.gen {
			old.gen = x.gen
			x.revs[k] = old
		}
		return false
	}
	x.remove(k)
	if r == nil {
		return ok
	}
	x.revs[k] = indexed{rev: rev, gen: x.gen, rec: r}
	if awaitsAnswer(r) {
		x.pending[k] = r
	}
	if r.Answer.Status == StatusDelivered {
		x.delivered[k] = r
	}
	kommune, _, _ := strings.Cut(k, ".")
	byState := x.live[kommune]
	if byState == nil {
		byState = map[State]map[string]*Record{}
		x.live[kommune] = byState
	}
	byKey := byState[r.State]
	if byKey == nil {
		byKey = map[string]*Record{}
		byState[r.State] = byKey
	}
	byKey[k] = r
	return true
}

// remove takes k out of the index. The caller holds x.mu.
func (x *index) remove(k string) {
	old, ok := x.revs[k]
	if !ok {
		return
	}
	delete(x.revs, k)
	delete(x.pending, k)
	delete(x.delivered, k)
	kommune, _, _ := strings.Cut(k, ".")
	byState := x.live[kommune]
	delete(byState[old.rec.State], k)
	if len(byState[old.rec.State]) == 0 {
		delete(byState, old.rec.State)
	}
	if len(byState) == 0 {
		delete(x.live, kommune)
	}
}

// wrote puts a write of this replica into the index: r at revision rev of
// k, unless the watcher has delivered that revision already (it put it in
// then, and applied anything after it, a purge too) or the index holds a
// later one. r must not be changed afterwards.
func (x *index) wrote(k string, rev uint64, r *Record) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if rev <= x.watched {
		return
	}
	x.put(k, rev, r)
}

// start notes that this replica writes w to k, until done(k, w).
func (x *index) start(k string, w *write) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.writing[k] = w
}

// done forgets the write w to k, unless a later one took its place.
func (x *index) done(k string, w *write) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.writing[k] == w {
		delete(x.writing, k)
	}
}

// decoded returns the record that data, a value of k, encodes: the one a
// write in flight encoded to the same bytes, else the decoded data.
func (x *index) decoded(k string, data []byte) (*Record, error) {
	x.mu.RLock()
	w := x.writing[k]
	x.mu.RUnlock()
	if w != nil && bytes.Equal(w.data, data) {
		return w.rec, nil
	}
	r := new(Record)
	if err := json.Unmarshal(data, r); err != nil {
		return nil, err
	}
	return r, nil
}

// get returns the record of k and its revision as the index has them: nil
// and 0 when it has none. The record must not be changed.
func (x *index) get(k string) (*Record, uint64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := x.revs[k]
	return e.rec, e.rev
}

// has reports whether the index holds k at revision rev or a later one.
func (x *index) has(k string, rev uint64) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.revs[k].rev >= rev
}

// len returns the number of records the index holds.
func (x *index) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.revs)
}

// unanswered returns the decided records whose answer is still pending and
// that last changed before before, in no particular order.
func (x *index) unanswered(before time.Time) []*Record {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []*Record
	for _, r := range x.pending {
		if r.UpdatedAt.Before(before) {
			out = append(out, r)
		}
	}
	return out
}

// answered returns the open records whose answer was delivered, as
// respond reported, before before, in no particular order.
func (x *index) answered(before time.Time) []*Record {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []*Record
	for _, r := range x.delivered {
		if r.Answer.DeliveredAt == nil || r.Answer.DeliveredAt.Before(before) {
			out = append(out, r)
		}
	}
	return out
}

// awaitsAnswer reports whether r is decided and respond has not reported
// on its answer yet.
func awaitsAnswer(r *Record) bool {
	return r != nil && r.Verdict != nil && r.State.Decided() && r.Answer.Status == StatusPending
}

// list returns the records of kommune (every municipality's when empty) in
// state (every state when empty), sorted by created_at, oldest first, ties
// by id and kommune. It costs time in proportion to the records it returns.
// Before the watcher has delivered the bucket's contents once, it waits,
// until ctx is done.
func (x *index) list(ctx context.Context, kommune string, state State) ([]*Record, error) {
	out, err := x.records(ctx, kommune, state, nil)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *Record) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Kommune, b.Kommune))
	})
	return out, nil
}

// records returns the records of kommune (every municipality's when empty)
// in state (every state when empty) that keep keeps (all when nil), in no
// particular order. keep runs under the index's read lock, so it must be
// quick and must not call the index. It costs time in proportion to the
// records of kommune in state. Before the watcher has delivered the
// bucket's contents once, it waits, until ctx is done.
func (x *index) records(ctx context.Context, kommune string, state State, keep func(*Record) bool) ([]*Record, error) {
	select {
	case <-x.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("list documents: the index is not loaded yet: %w", ctx.Err())
	}
	var out []*Record
	addAll := func(byKey map[string]*Record) {
		for _, r := range byKey {
			if keep == nil || keep(r) {
				out = append(out, r)
			}
		}
	}
	add := func(byState map[State]map[string]*Record) {
		if state != "" {
			addAll(byState[state])
			return
		}
		for _, byKey := range byState {
			addAll(byKey)
		}
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if kommune != "" {
		add(x.live[kommune])
	} else {
		for _, byState := range x.live {
			add(byState)
		}
	}
	return out, nil
}

// Reset is [kvwatch.View]'s: a new watcher starts. The index keeps what
// it holds, so lists stay whole meanwhile, and drops at [index.Loaded]
// whatever the new watcher did not deliver: a deletion while no watcher
// ran (its marker may have expired, see [markerTTL]) is never delivered.
func (x *index) Reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.gen++
}

// Loaded is [kvwatch.View]'s: the watcher has delivered every entry present
// at its start, so a key it did not deliver, and that this replica has not
// written since, is gone from the bucket. Lists may be served now.
func (x *index) Loaded() {
	x.mu.Lock()
	for k, e := range x.revs {
		if e.gen != x.gen {
			x.remove(k)
		}
	}
	x.mu.Unlock()
	x.readyOnce.Do(func() { close(x.ready) })
}

// loaded reports whether the watcher has loaded the bucket once.
func (x *index) loaded() bool {
	select {
	case <-x.ready:
		return true
	default:
		return false
	}
}

// Apply is [kvwatch.View]'s: it puts one watched entry into the index.
func (x *index) Apply(e jetstream.KeyValueEntry) {
	var r *Record
	if e.Operation() == jetstream.KeyValuePut && !x.has(e.Key(), e.Revision()) {
		// Not a write of this replica that store.change put in already.
		var err error
		if r, err = x.decoded(e.Key(), e.Value()); err != nil {
			x.log.Error("document index: undecodable record left out", "key", e.Key(), "revision", e.Revision(), "err", err)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.watched = max(x.watched, e.Revision())
	switch {
	case e.Operation() != jetstream.KeyValuePut:
		if cur, ok := x.revs[e.Key()]; ok && cur.rev < e.Revision() {
			x.remove(e.Key())
		}
	case r != nil:
		x.put(e.Key(), e.Revision(), r)
	default:
		// Held at this revision or a later one (or undecodable): only
		// mark it as delivered by this watcher.
		x.put(e.Key(), e.Revision(), nil)
	}
}

// gatedView holds the index's Loaded back until gate is closed, so a test
// sees a replica whose index is still loading.
type gatedView struct {
	*index
	gate <-chan struct{}
}

func (g gatedView) Loaded() {
	<-g.gate
	g.index.Loaded()
}
