package decide

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

func TestIndexOlderRevisionNeverOverwritesNewer(t *testing.T) {
	x := newIndex(slog.New(slog.DiscardHandler))
	close(x.ready)
	t1 := time.Date(2025, 8, 4, 9, 0, 0, 0, time.UTC)
	rec := func(id string, s State) *Record {
		return &Record{ID: id, Kommune: "0101", State: s, CreatedAt: t1}
	}
	if !x.put("0101.a", 5, rec("a", StateApproved)) {
		t.Fatal("put(rev 5) = false, want true")
	}
	if x.put("0101.a", 4, rec("a", StateAwaitingVerdict)) {
		t.Error("put(rev 4) after rev 5 = true, want false")
	}
	if x.put("0101.a", 5, rec("a", StateAwaitingVerdict)) {
		t.Error("put(rev 5) again = true, want false")
	}
	state := func(s State) []string {
		t.Helper()
		rs, err := x.list(context.Background(), "0101", s)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if got := state(StateAwaitingVerdict); len(got) != 0 {
		t.Errorf("awaiting = %v, want none", got)
	}
	if got := state(StateApproved); len(got) != 1 {
		t.Errorf("approved = %v, want [a]", got)
	}
	// A deletion at rev 6 removes it; a late write of rev 5 does not bring it back.
	x.put("0101.a", 6, nil)
	x.put("0101.a", 5, rec("a", StateApproved))
	if got := state(""); len(got) != 0 {
		t.Errorf("after delete = %v, want none", got)
	}
	if x.put("0101.a", 7, rec("a", StateReceived)); len(state(StateReceived)) != 1 {
		t.Errorf("after a new revision = %v, want [a]", state(""))
	}
}

func TestIndexListSortedAndFiltered(t *testing.T) {
	x := newIndex(slog.New(slog.DiscardHandler))
	close(x.ready)
	t1 := time.Date(2025, 8, 4, 9, 0, 0, 0, time.UTC)
	x.put("0101.c", 1, &Record{ID: "c", Kommune: "0101", State: StateAwaitingVerdict, CreatedAt: t1.Add(2 * time.Second)})
	x.put("0101.a", 2, &Record{ID: "a", Kommune: "0101", State: StateAwaitingVerdict, CreatedAt: t1})
	x.put("0101.b", 3, &Record{ID: "b", Kommune: "0101", State: StateApproved, CreatedAt: t1.Add(time.Second)})
	x.put("0202.d", 4, &Record{ID: "d", Kommune: "0202", State: StateAwaitingVerdict, CreatedAt: t1})
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
		got := ""
		for i, r := range rs {
			if i > 0 {
				got += " "
			}
			got += r.ID
		}
		if got != tc.want {
			t.Errorf("list(%q, %q) = %q, want %q", tc.kommune, tc.state, got, tc.want)
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
}
