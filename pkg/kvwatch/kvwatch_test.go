package kvwatch_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/kvwatch"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

// calls records what Follow calls on a view.
type calls struct {
	mu  sync.Mutex
	got []string
}

func (c *calls) add(s string) { c.mu.Lock(); c.got = append(c.got, s); c.mu.Unlock() }
func (c *calls) Reset()       { c.add("reset") }
func (c *calls) Loaded()      { c.add("loaded") }
func (c *calls) Apply(e jetstream.KeyValueEntry) {
	c.add(e.Operation().String() + " " + e.Key())
}
func (c *calls) snapshot() []string { c.mu.Lock(); defer c.mu.Unlock(); return slices.Clone(c.got) }

func TestFollowFeedsTheView(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc, kv := natstest.Bucket(t, "b")
	if _, err := kv.Put(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	v := &calls{}
	done := make(chan struct{})
	go func() { kvwatch.Follow(ctx, nc, kv, v, "test", slog.New(slog.DiscardHandler)); close(done) }()
	waitFor := func(want []string) {
		t.Helper()
		bustest.Eventually(t, fmt.Sprintf("calls %q", want), func() error {
			if got := v.snapshot(); !slices.Equal(got, want) {
				return fmt.Errorf("calls %q", got)
			}
			return nil
		})
	}
	waitFor([]string{"reset", "KeyValuePutOp a", "loaded"})
	if _, err := kv.Put(ctx, "b", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	waitFor([]string{"reset", "KeyValuePutOp a", "loaded", "KeyValuePutOp b", "KeyValueDeleteOp a"})

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not return after its context ended")
	}
}
