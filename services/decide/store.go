package decide

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
)

// store keeps records in a JetStream KV bucket and changes them only by
// compare-and-set: Create for a new key, Update at the revision read
// otherwise. Two replicas changing the same document at once cannot lose
// each other's change: the second write fails on the revision, and the
// loser reads again and re-applies its (pure) transition to the new record.
//
// Every successful write is also put into idx, so this replica's lists
// show its own writes at once (see [index]).
//
// A record leaves the bucket for arch once its answer is delivered
// ([store.archive]); change never brings an archived document back.
type store struct {
	kv       jetstream.KeyValue
	attempts int
	idx      *index
	arch     *archive
	// markerTTL is how long the purge marker of an archived record stays
	// in the bucket; see [markerTTL].
	markerTTL time.Duration
	// now is the worker's clock, which stamps the records.
	now func() time.Time
}

// get returns the record under k and its revision; nil and 0 when there is
// none.
func (s *store) get(ctx context.Context, k string) (*Record, uint64, error) {
	return getJSON[Record](ctx, s.kv, "document", k)
}

// getJSON reads the JSON value under k of one of decide's buckets, what
// it holds naming it in errors, and its revision; nil and 0 when there is
// none.
func getJSON[T any](ctx context.Context, kv jetstream.KeyValue, what, k string) (*T, uint64, error) {
	e, err := kv.Get(ctx, k)
	if absent(err) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read %s %s: %w", what, k, err)
	}
	v := new(T)
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return nil, 0, fmt.Errorf("read %s %s: revision %d: %w", what, k, e.Revision(), err)
	}
	return v, e.Revision(), nil
}

// change reads the record under k (nil when there is none), passes it to f
// and writes what f returns by compare-and-set; a nil result writes
// nothing. On a revision conflict it starts over, up to s.attempts times,
// then returns an error wrapping [ErrConflict]. f may run several times and
// must therefore be pure; it sees its own earlier result only through the
// store. change returns f's error as is, except that it returns
// [ErrArchived] when the document is archived: then f found no record (an
// event for a document whose story is over, e.g. an answer.failed after
// the delivery, or a document.received that lagged behind the rest), and
// whatever f made of that is void.
//
// A record f creates is checked against the archive after its Create, and
// purged again should the document be archived, so a late or replayed
// event cannot put an answered document back in the caseworkers' queue.
// Checking after the Create, not before, leaves no gap: archiving writes
// the archive before it purges the record, so a Create that succeeded
// came after that write. It costs one archive read per new document.
//
// The first read comes from the index, which saves a round trip and a
// decoding per change (in the all-in-one, every one): a write based on a
// stale copy fails its compare-and-set and starts over from the bucket. A
// stale copy can also make f decide there is nothing to do or fail (a
// document the watcher has not delivered yet), and nothing checks those, so
// they are confirmed against the bucket before they count.
func (s *store) change(ctx context.Context, k string, f func(*Record) (*Record, error)) error {
	cached := true
	for attempt := 0; attempt < s.attempts; {
		var cur *Record
		var rev uint64
		if cached {
			cur, rev = s.idx.get(k)
		} else {
			var err error
			if cur, rev, err = s.get(ctx, k); err != nil {
				return err
			}
		}
		next, err := f(cur)
		if err != nil || next == nil {
			if cached {
				cached = false
				continue
			}
			if cur == nil && err != nil {
				if archived, aerr := s.arch.has(ctx, k); aerr != nil {
					return aerr
				} else if archived {
					return fmt.Errorf("%w: %s", ErrArchived, k)
				}
			}
			return err
		}
		data, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("write document %s: %w", k, err)
		}
		w := &write{data: data, rec: next.clone()}
		s.idx.start(k, w)
		var written uint64
		if cur == nil {
			written, err = s.kv.Create(ctx, k, data)
			if err == nil {
				err = s.unlessArchived(ctx, k, written)
			}
		} else {
			written, err = s.kv.Update(ctx, k, data, rev)
		}
		s.idx.done(k, w)
		switch {
		case err == nil:
			// Read-your-writes for lists: do not wait for the watcher.
			s.idx.wrote(k, written, w.rec)
			return nil
		case errors.Is(err, ErrArchived):
			return err
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			// Someone else wrote first, or the copy was stale: read again.
			// Only a race lost on the bucket's own record counts.
			if !cached {
				attempt++
			}
			cached = false
		default:
			return fmt.Errorf("write document %s: %w", k, err)
		}
	}
	return fmt.Errorf("%w: %s, %d attempts", ErrConflict, k, s.attempts)
}

// unlessArchived checks the record just created under k at revision rev
// against the archive: when the document is archived, it purges the record
// and returns [ErrArchived]. Should the archive not answer, it takes the
// record back too (best effort) and returns the error, so the retry
// creates it, and checks, again.
func (s *store) unlessArchived(ctx context.Context, k string, rev uint64) error {
	archived, err := s.arch.has(ctx, k)
	switch {
	case err != nil:
		_ = s.kv.Purge(ctx, k, jetstream.LastRevision(rev), jetstream.PurgeTTL(s.markerTTL))
		return err
	case !archived:
		return nil
	}
	// Whatever was written to the key since is as void: no revision check.
	if err := s.kv.Purge(ctx, k, jetstream.PurgeTTL(s.markerTTL)); err != nil {
		return fmt.Errorf("purge document %s again: %w", k, err)
	}
	return fmt.Errorf("%w: %s", ErrArchived, k)
}

// verdict applies v to the record of its document ([ApplyVerdict]) in one
// read-modify-write, which decides, refuses or repeats; only an applied
// verdict writes. On an error, the result still holds what ApplyVerdict
// returned with it (the record, for [ErrNotValidated]).
func (s *store) verdict(ctx context.Context, v events.VerdictSubmitted, m Meta) (VerdictResult, error) {
	var res VerdictResult
	err := s.change(ctx, key(v.Kommune, v.DocumentID), func(r *Record) (*Record, error) {
		var err error
		res, err = ApplyVerdict(r, v, m)
		if err != nil || res.Outcome != VerdictApplied {
			return nil, err
		}
		return res.Record, nil
	})
	return res, err
}

// list returns the latest record of every key matching filter (a KV key
// pattern such as "*.<document id>"), sorted by created_at, oldest first,
// ties by id. It reads the bucket through a temporary watcher, so it is
// authoritative but costs a consumer per call: an admin's GET
// /v1/documents/{id} uses it; GET /v1/documents uses the [index].
func (s *store) list(ctx context.Context, filter string, keep func(*Record) bool) ([]*Record, error) {
	w, err := s.kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list documents: %w", err)
	}
	defer w.Stop()
	var out []*Record
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list documents: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("list documents: watcher closed")
			}
			if e == nil { // every current value has been delivered
				slices.SortFunc(out, func(a, b *Record) int {
					return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Kommune, b.Kommune))
				})
				return out, nil
			}
			var r Record
			if err := json.Unmarshal(e.Value(), &r); err != nil {
				return nil, fmt.Errorf("list documents: %s revision %d: %w", e.Key(), e.Revision(), err)
			}
			if keep(&r) {
				out = append(out, &r)
			}
		}
	}
}

// absent reports whether err says a KV key holds no value: never written,
// or deleted or purged.
func absent(err error) bool {
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)
}
