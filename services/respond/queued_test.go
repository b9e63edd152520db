package respond

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/kvwatch"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

func TestQueuedFollowsTheParkingBucket(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc, kv := natstest.Bucket(t, "parked")
	put := func(k string) uint64 {
		t.Helper()
		rev, err := kv.Put(ctx, k, []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	at := func(i int) time.Time { return time.Unix(int64(i), 0) }
	a, b, c := ParkKey("0101", at(1), "a"), ParkKey("0101", at(2), "b"), ParkKey("0202", at(3), "c")
	put(b)
	put(a)
	put(failedPrefix + c) // set aside: in no queue

	q := newQueued()
	if _, loaded := q.of("0101"); loaded {
		t.Fatal("of before the watcher loaded: loaded, want not")
	}
	followCtx, stopFollowing := context.WithCancel(ctx)
	stopped := make(chan struct{})
	quiet := slog.New(slog.DiscardHandler)
	go func() { kvwatch.Follow(followCtx, nc, kv, q, "test", quiet, jetstream.MetaOnly()); close(stopped) }()
	want := func(kommune string, keys ...string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, loaded := q.of(kommune)
			if loaded && slices.Equal(got, keys) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("queue of %s = %v (loaded %v), want %v", kommune, got, loaded, keys)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	want("0101", a, b) // decision order, not the order of writing
	want("0202")

	rev := put(c)
	want("0202", c)
	if err := kv.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	want("0202")
	q.parked(c, rev) // a late report of this replica's own, older write
	if got, _ := q.of("0202"); len(got) != 0 {
		t.Errorf("queue of 0202 = %v after a stale own write, want empty", got)
	}

	// A new watcher loads afresh: a key deleted while none watched is gone.
	stopFollowing()
	<-stopped
	if err := kv.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	go kvwatch.Follow(ctx, nc, kv, q, "test", quiet, jetstream.MetaOnly())
	want("0101", b)
}
