package decide

import (
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

// index is this replica's in-memory copy of every record in the bucket,
// kept by one long-lived KV watcher ([kvwatch.Follow]) and serving GET
// /v1/documents, so a list costs no temporary consumer and no decoding
// (issue 4: the per-request watch over every record of the municipality
// was a quarter of a benchmark run's CPU, and grew with every document
// ever received). It also gives [store.change] its first read; the bucket
// stays the only authority: compare-and-set checks every write, and GET
// /v1/documents/{id} reads the bucket.
//
// It is eventually consistent: a write shows in lists once the watcher
// delivers it, in milliseconds as a rule. Writes of this replica
// ([store.change]) are put into the index at once, so a caseworker who
// just posted a verdict here sees the new state in the next list. Every
// entry carries its KV revision and an older revision never replaces a
// newer one, whichever of the watcher and the writer comes first.
//
// Memory: one decoded, immutable *Record per document ever received (a few
// KB each), which buys lists that only mask and encode their page. Records
// are never changed in place: a new revision replaces the pointer, so
// readers may use a record after releasing the lock.
type index struct {
	log       *slog.Logger
	ready     chan struct{} // closed once the watcher delivered every record present at its start
	readyOnce sync.Once

	mu sync.RWMutex
	// revs holds the latest revision seen per key, deletions included, so
	// a late write of an older revision cannot bring a record back.
	revs map[string]indexed
	// live holds the current records by kommune, state and key.
	live map[string]map[State]map[string]*Record
	// pending holds the decided records whose answer respond has not
	// reported on, by key: what [Worker.reannounce] looks at, without
	// scanning every decision ever made.
	pending map[string]*Record
}

type indexed struct {
	rev uint64
	rec *Record // nil once deleted
}

func newIndex(log *slog.Logger) *index {
	return &index{
		log:     log,
		ready:   make(chan struct{}),
		revs:    map[string]indexed{},
		live:    map[string]map[State]map[string]*Record{},
		pending: map[string]*Record{},
	}
}

// put records r (nil: deleted) as the value of k at revision rev, unless
// the index holds k at rev or a later revision already. It reports whether
// it changed the index. r must not be changed afterwards.
func (x *index) put(k string, rev uint64, r *Record) bool {
	kommune, _, _ := strings.Cut(k, ".")
	x.mu.Lock()
	defer x.mu.Unlock()
	old, ok := x.revs[k]
	if ok && old.rev >= rev {
		return false
	}
	if old.rec != nil {
		byState := x.live[kommune]
		delete(byState[old.rec.State], k)
		if len(byState[old.rec.State]) == 0 {
			delete(byState, old.rec.State)
		}
		if len(byState) == 0 {
			delete(x.live, kommune)
		}
	}
	x.revs[k] = indexed{rev: rev, rec: r}
	delete(x.pending, k)
	if awaitsAnswer(r) {
		x.pending[k] = r
	}
	if r != nil {
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
	}
	return true
}

// get returns the record of k and its revision as the index has them: nil
// and 0 when it has none (or a deletion). The record must not be changed.
func (x *index) get(k string) (*Record, uint64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := x.revs[k]
	if e.rec == nil {
		return nil, 0
	}
	return e.rec, e.rev
}

// has reports whether the index holds k at revision rev or a later one.
func (x *index) has(k string, rev uint64) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.revs[k].rev >= rev
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
	select {
	case <-x.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("list documents: the index is not loaded yet: %w", ctx.Err())
	}
	var out []*Record
	add := func(byState map[State]map[string]*Record) {
		if state != "" {
			for _, r := range byState[state] {
				out = append(out, r)
			}
			return
		}
		for _, byKey := range byState {
			for _, r := range byKey {
				out = append(out, r)
			}
		}
	}
	x.mu.RLock()
	if kommune != "" {
		add(x.live[kommune])
	} else {
		for _, byState := range x.live {
			add(byState)
		}
	}
	x.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Record) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Kommune, b.Kommune))
	})
	return out, nil
}

// Reset is [kvwatch.View]'s: it keeps the index, since records are never
// deleted and a new watcher's revisions replace older ones.
func (x *index) Reset() {}

// Loaded is [kvwatch.View]'s: lists may be served now.
func (x *index) Loaded() { x.readyOnce.Do(func() { close(x.ready) }) }

// Apply is [kvwatch.View]'s: it puts one watched entry into the index.
func (x *index) Apply(e jetstream.KeyValueEntry) {
	switch {
	case e.Operation() != jetstream.KeyValuePut:
		x.put(e.Key(), e.Revision(), nil)
		return
	case x.has(e.Key(), e.Revision()):
		return // this replica's own write, put in by store.change
	}
	var r Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		x.log.Error("document index: undecodable record left out", "key", e.Key(), "revision", e.Revision(), "err", err)
		return
	}
	x.put(e.Key(), e.Revision(), &r)
}
