package decide

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

// storeOn returns a store with an index of its own that no watcher feeds,
// over kv and an archive on the same server: the index holds only what the
// test puts there, as a replica's whose watcher lags.
func storeOn(t *testing.T, kv jetstream.KeyValue, js jetstream.JetStream) *store {
	t.Helper()
	arch, err := newArchive(t.Context(), js, 1, jetstream.FileStorage, DefaultArchiveRetention, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &store{kv: kv, attempts: 3, idx: newIndex(slog.New(slog.DiscardHandler)), arch: arch, markerTTL: time.Hour, now: time.Now}
}

// bucket returns a records bucket that takes purge markers with a TTL, as
// New creates it, on a new server, and the server's JetStream.
func bucket(t *testing.T) (jetstream.KeyValue, jetstream.JetStream) {
	t.Helper()
	js, err := jetstream.New(natstest.Connect(t, natstest.Start(t)))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "docs", History: 1, LimitMarkerTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return kv, js
}

func TestChangeFromAStaleIndexStartsOverFromTheBucket(t *testing.T) {
	ctx := context.Background()
	kv, js := bucket(t)
	a, b := storeOn(t, kv, js), storeOn(t, kv, js)
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
	c := storeOn(t, kv, js)
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

// Archiving is three steps (stream, archive bucket, purge), each of which
// a retry repeats harmlessly: a stop after any of them leaves the record
// open, and archiving again finishes the job with one copy in each store.
func TestArchiveFinishesAfterAStopBetweenItsSteps(t *testing.T) {
	ctx := t.Context()
	kv, js := bucket(t)
	s := storeOn(t, kv, js)
	at := t1.Add(time.Hour)
	answered := func(id string) string {
		t.Helper()
		k := key("0101", id)
		r := &Record{ID: id, Kommune: "0101", State: StateApproved, CreatedAt: t1, UpdatedAt: at,
			Verdict: &Verdict{Decision: "approve", By: "cw", At: at},
			Answer:  Answer{Status: StatusDelivered, DeliveredAt: &at}}
		if err := s.change(ctx, k, func(*Record) (*Record, error) { return r, nil }); err != nil {
			t.Fatal(err)
		}
		return k
	}
	streamHolds := func() uint64 {
		t.Helper()
		st, err := js.Stream(ctx, ArchiveStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	gone := func(k string) {
		t.Helper()
		if r, _, err := s.get(ctx, k); err != nil || r != nil {
			t.Errorf("record %s = %v, %v after archiving, want it gone", k, r, err)
		}
		if a, err := s.arch.get(ctx, k); err != nil || a == nil || !a.Archived {
			t.Errorf("archived %s = %+v, %v, want its summary", k, a, err)
		}
	}

	// Stopped after the stream: the retry's append is a duplicate.
	k1 := answered("a")
	r1, _ := s.idx.get(k1)
	data, _ := json.Marshal(r1.Audit())
	if _, err := js.Publish(ctx, ArchiveSubject("0101", StateApproved), data, jetstream.WithMsgID(k1)); err != nil {
		t.Fatal(err)
	}
	if err := s.archive(ctx, k1); err != nil {
		t.Fatal(err)
	}
	gone(k1)
	if n := streamHolds(); n != 1 {
		t.Errorf("archive stream holds %d messages, want 1", n)
	}

	// Stopped after the archive bucket: the retry skips the stream, whose
	// duplicate window may be long past.
	k2 := answered("b")
	if err := s.arch.put(ctx, k2, mustGet(t, s, k2).Audit()); err != nil {
		t.Fatal(err)
	}
	if err := s.archive(ctx, k2); err != nil {
		t.Fatal(err)
	}
	gone(k2)
	if n := streamHolds(); n != 2 {
		t.Errorf("archive stream holds %d messages, want 2", n)
	}

	// Stopped after both, answered just now: the bucket is not read
	// first, the stream drops the retry's copy within its duplicate
	// window, and the bucket keeps the summary it has.
	at = time.Now().UTC()
	k4 := answered("d")
	if err := s.arch.put(ctx, k4, mustGet(t, s, k4).Audit()); err != nil {
		t.Fatal(err)
	}
	if err := s.archive(ctx, k4); err != nil {
		t.Fatal(err)
	}
	gone(k4)
	if n := streamHolds(); n != 3 {
		t.Errorf("archive stream holds %d messages, want 3", n)
	}

	// Done: again changes nothing. Not delivered: nothing to archive.
	if err := s.archive(ctx, k2); err != nil {
		t.Errorf("archiving again = %v", err)
	}
	k3 := key("0101", "c")
	if err := s.change(ctx, k3, func(*Record) (*Record, error) {
		return &Record{ID: "c", Kommune: "0101", State: StateAwaitingVerdict}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.archive(ctx, k3); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := s.get(ctx, k3); r == nil {
		t.Error("an open document without an answer was archived")
	}
	if n := streamHolds(); n != 3 {
		t.Errorf("archive stream holds %d messages, want 3", n)
	}
	// An event for an archived document finds it archived.
	err := s.change(ctx, k2, func(r *Record) (*Record, error) {
		if r == nil {
			return nil, ErrUnknownDocument
		}
		return nil, nil
	})
	if !errors.Is(err, ErrArchived) {
		t.Errorf("change of an archived document = %v, want ErrArchived", err)
	}
}

func mustGet(t *testing.T, s *store, k string) *Record {
	t.Helper()
	r, _, err := s.get(t.Context(), k)
	if err != nil || r == nil {
		t.Fatalf("get %s = %v, %v", k, r, err)
	}
	return r
}
