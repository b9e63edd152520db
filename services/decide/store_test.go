package decide

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

// storeOn returns a store with an index of its own that no watcher feeds,
// over kv: the index holds only what the test puts there, as a replica's
// whose watcher lags.
func storeOn(kv jetstream.KeyValue) *store {
	return &store{kv: kv, attempts: 3, idx: newIndex(slog.New(slog.DiscardHandler))}
}

func TestChangeFromAStaleIndexStartsOverFromTheBucket(t *testing.T) {
	ctx := context.Background()
	_, kv := natstest.Bucket(t, "docs")
	a, b := storeOn(kv), storeOn(kv)
	const k = "0101.doc"
	setState := func(s State) func(*Record) (*Record, error) {
		return func(r *Record) (*Record, error) {
			if r == nil {
				return &Record{ID: "doc", Kommune: "0101", State: s}, nil
			}
			n := r.clone()
			n.State = s
			n.History = append(n.History, Entry{What: string(s)})
			return n, nil
		}
	}
	if err := a.change(ctx, k, setState(StateReceived)); err != nil {
		t.Fatal(err)
	}

	// b has not seen the record: its first write (a Create) fails, and it
	// reads the bucket.
	if err := b.change(ctx, k, setState(StateAwaitingVerdict)); err != nil {
		t.Fatal(err)
	}
	// a's copy is now stale: its Update fails on the revision.
	if err := a.change(ctx, k, setState(StateApproved)); err != nil {
		t.Fatal(err)
	}
	r, _, err := a.get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != StateApproved || len(r.History) != 2 {
		t.Errorf("record %s with %d history entries, want approved with 2 (no change lost)", r.State, len(r.History))
	}

	// A transition that finds nothing in a lagging index (an unknown
	// document, or nothing to do) is asked again with the bucket's record.
	c := storeOn(kv)
	var saw []*Record
	err = c.change(ctx, k, func(r *Record) (*Record, error) {
		saw = append(saw, r)
		if r == nil {
			return nil, ErrUnknownDocument
		}
		return nil, nil
	})
	if err != nil {
		t.Fatalf("change = %v, want nil: the bucket knows the document", err)
	}
	if len(saw) != 2 || saw[0] != nil || saw[1] == nil || saw[1].State != StateApproved {
		t.Errorf("transition saw %v, want nil from the index, then the approved record from the bucket", saw)
	}
	if err := c.change(ctx, "0101.unknown", func(r *Record) (*Record, error) { return nil, ErrUnknownDocument }); !errors.Is(err, ErrUnknownDocument) {
		t.Errorf("change of an unknown document = %v, want ErrUnknownDocument", err)
	}
}
