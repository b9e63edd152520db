package decide

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// entry is a jetstream.KeyValueEntry as a watcher delivers it.
type entry struct {
	key string
	rev uint64
	op  jetstream.KeyValueOp
	val []byte
}

func (e entry) Bucket() string                  { return "docs" }
func (e entry) Key() string                     { return e.key }
func (e entry) Value() []byte                   { return e.val }
func (e entry) Revision() uint64                { return e.rev }
func (e entry) Created() time.Time              { return time.Time{} }
func (e entry) Delta() uint64                   { return 0 }
func (e entry) Operation() jetstream.KeyValueOp { return e.op }

var t1 = time.Date(2025, 8, 4, 9, 0, 0, 0, time.UTC)

func rec(id string, s State) *Record {
	return &Record{ID: id, Kommune: "0101", State: s, CreatedAt: t1}
}

// watched returns what the watcher delivers for r at rev.
func watched(t *testing.T, k string, rev uint64, r *Record) entry {
	t.Helper()
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return entry{key: k, rev: rev, op: jetstream.KeyValuePut, val: raw}
}

func purged(k string, rev uint64) entry { return entry{key: k, rev: rev, op: jetstream.KeyValuePurge} }

// ids lists the ids of the index's records of kommune 0101 in state s.
func ids(t *testing.T, x *index, s State) string {
	t.Helper()
	rs, err := x.list(context.Background(), "0101", s)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return strings.Join(out, " ")
}

func loadedIndex() *index {
	x := newIndex(slog.New(slog.DiscardHandler))
	x.Reset()
	x.Loaded()
	return x
}

func TestIndexOlderRevisionNeverOverwritesNewer(t *testing.T) {
	x := loadedIndex()
	x.wrote("0101.a", 5, rec("a", StateApproved))
	x.wrote("0101.a", 4, rec("a", StateAwaitingVerdict))
	x.Apply(watched(t, "0101.a", 4, rec("a", StateAwaitingVerdict)))
	if got := ids(t, x, StateAwaitingVerdict); got != "" {
		t.Errorf("awaiting = %q after older revisions, want none", got)
	}
	if got := ids(t, x, StateApproved); got != "a" {
		t.Errorf("approved = %q, want a", got)
	}
	// The watcher delivers rev 5, then a purge at rev 6: a late write of
	// rev 5 (this replica's, reported after the watcher passed it) does
	// not bring it back, although the index keeps no tombstone.
	x.Apply(watched(t, "0101.a", 5, rec("a", StateApproved)))
	x.Apply(purged("0101.a", 6))
	x.wrote("0101.a", 5, rec("a", StateApproved))
	if got := ids(t, x, ""); got != "" {
		t.Errorf("after the purge = %q, want none", got)
	}
	if n := x.len(); n != 0 {
		t.Errorf("index holds %d entries after the purge, want 0", n)
	}
	// A new record under the same key, written here before the watcher
	// delivers it.
	x.wrote("0101.a", 7, rec("a", StateReceived))
	if got := ids(t, x, StateReceived); got != "a" {
		t.Errorf("received = %q after a new revision, want a", got)
	}
}

func TestIndexListSortedAndFiltered(t *testing.T) {
	x := loadedIndex()
	x.wrote("0101.c", 1, &Record{ID: "c", Kommune: "0101", State: StateAwaitingVerdict, CreatedAt: t1.Add(2 * time.Second)})
	x.wrote("0101.a", 2, &Record{ID: "a", Kommune: "0101", State: StateAwaitingVerdict, CreatedAt: t1})
	x.wrote("0101.b", 3, &Record{ID: "b", Kommune: "0101", State: StateApproved, CreatedAt: t1.Add(time.Second)})
	x.wrote("0202.d", 4, &Record{ID: "d", Kommune: "0202", State: StateAwaitingVerdict, CreatedAt: t1})
	for _, tc := range []struct {
		kommune string
		state   State
		want    string
	}{
		{"0101", StateAwaitingVerdict, "a c"},
		{"0101", "", "a b c"},
		{"", StateAwaitingVerdict, "a d c"},
		{"", "", "a d b c"},
		{"0303", "", ""},
	} {
		rs, err := x.list(context.Background(), tc.kommune, tc.state)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.ID)
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("list(%q, %q) = %q, want %q", tc.kommune, tc.state, g, tc.want)
		}
	}
}

func TestIndexListWaitsForLoad(t *testing.T) {
	x := newIndex(slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := x.list(ctx, "0101", ""); err == nil {
		t.Error("list before the index is loaded = nil error, want the context's")
	}
	if x.loaded() {
		t.Error("loaded() = true before the watcher loaded the bucket")
	}
}

// A watcher that starts again after its predecessor ended does not deliver
// the deletions in between, once their markers expired: the index drops,
// when the new watcher has loaded, what it did not deliver and what this
// replica did not write meanwhile.
func TestIndexForgetsWhatANewWatcherDoesNotDeliver(t *testing.T) {
	x := newIndex(slog.New(slog.DiscardHandler))
	x.Reset()
	x.Apply(watched(t, "0101.a", 1, rec("a", StateAwaitingVerdict)))
	x.Apply(watched(t, "0101.b", 2, rec("b", StateAwaitingVerdict)))
	x.Apply(watched(t, "0101.c", 3, rec("c", StateAwaitingVerdict)))
	x.Loaded()
	if got := ids(t, x, ""); got != "a b c" {
		t.Fatalf("loaded = %q, want a b c", got)
	}
	// The watcher ends; b is archived meanwhile and its marker expires.
	x.Reset()
	x.Apply(watched(t, "0101.a", 1, rec("a", StateAwaitingVerdict)))
	x.wrote("0101.d", 9, rec("d", StateReceived)) // this replica's write, not delivered yet
	if got := ids(t, x, ""); got != "a b c d" {
		t.Errorf("while loading = %q, want the old view and the new write, a b c d", got)
	}
	x.Apply(watched(t, "0101.c", 4, rec("c", StateApproved)))
	x.Loaded()
	if got := ids(t, x, ""); got != "a c d" {
		t.Errorf("after the new watcher loaded = %q, want a c d (b gone)", got)
	}
	if x.len() != 3 {
		t.Errorf("index holds %d entries, want 3", x.len())
	}
}

// The index holds decided records until they are archived: awaiting an
// answer report (pending), or answered (delivered).
func TestIndexTracksAnswers(t *testing.T) {
	x := loadedIndex()
	now := t1.Add(time.Hour)
	decided := func(id string, s AnswerStatus, at time.Time) *Record {
		r := rec(id, StateApproved)
		r.Verdict = &Verdict{Decision: "approve", By: "cw", At: at}
		r.UpdatedAt = at
		r.Answer.Status = s
		if s == StatusDelivered {
			r.Answer.DeliveredAt = &at
		}
		return r
	}
	x.wrote("0101.p", 1, decided("p", StatusPending, now.Add(-time.Minute)))
	x.wrote("0101.d", 2, decided("d", StatusDelivered, now.Add(-time.Minute)))
	x.wrote("0101.e", 3, decided("e", StatusDelivered, now))
	if got := x.unanswered(now); len(got) != 1 || got[0].ID != "p" {
		t.Errorf("unanswered = %v, want p", got)
	}
	if got := x.answered(now); len(got) != 1 || got[0].ID != "d" {
		t.Errorf("answered before now = %v, want d", got)
	}
	x.Apply(purged("0101.d", 4))
	if got := x.answered(now.Add(time.Hour)); len(got) != 1 || got[0].ID != "e" {
		t.Errorf("answered after d's purge = %v, want e", got)
	}
}
