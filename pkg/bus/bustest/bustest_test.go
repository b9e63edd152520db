package bustest_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

func newBus(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.New(t.Context(), natstest.Connect(t, natstest.Start(t)), bus.Config{
		Service: "q", Stream: "T", Subjects: []string{"t.>"}, Storage: "memory", MaxDeliver: 5, Backoff: []time.Duration{10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func event(t *testing.T, id, typ string, n int) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource("/bustest")
	if err := e.SetData(cloudevents.ApplicationJSON, map[string]int{"n": n}); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestQuietWaitsForRetriesAndOutputs: Quiet returns only once an input
// held back for a retry has been handled and its output has been handled
// in turn, so an absence checked afterwards is checked for real.
func TestQuietWaitsForRetriesAndOutputs(t *testing.T) {
	b := newBus(t)
	var first, second atomic.Int32
	b.Handle("first", "t.in", bus.EmitsOnly, func(ctx context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
		if first.Add(1) == 1 {
			return nil, bus.RetryAfter(errors.New("not yet"), 300*time.Millisecond)
		}
		return []cloudevents.Event{event(t, in.ID()+"/out", "t.out", 1)}, nil
	})
	b.Handle("second", "t.out", bus.EmitsOnly, func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) {
		second.Add(1)
		return nil, nil
	})
	bustest.Run(t, b)
	if err := b.Publish(t.Context(), event(t, "e1", "t.in", 1)); err != nil {
		t.Fatal(err)
	}
	// Quiet waits for the consumers there are: let the first one exist.
	bustest.Delivered(t, b.JetStream(), "T", "q-first", 1)
	bustest.Quiet(t, b.JetStream(), "T")
	if f, s := first.Load(), second.Load(); f != 2 || s != 1 {
		t.Errorf("after Quiet: first handled %d times, second %d; want 2 and 1", f, s)
	}
	bustest.Settled(t, b.JetStream(), "T", "q-first", 2)
}

// TestDeliveredCountsRedeliveries: Delivered counts every attempt at an
// event, not the events.
func TestDeliveredCountsRedeliveries(t *testing.T) {
	b := newBus(t)
	var calls atomic.Int32
	b.Handle("h", "t.in", bus.EmitsOnly, func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) {
		calls.Add(1)
		return nil, errors.New("never")
	})
	bustest.Run(t, b)
	if err := b.Publish(t.Context(), event(t, "e1", "t.in", 1)); err != nil {
		t.Fatal(err)
	}
	bustest.Delivered(t, b.JetStream(), "T", "q-h", 3)
	if n := calls.Load(); n < 3 {
		t.Errorf("handler ran %d times after 3 deliveries", n)
	}
}

func TestRecordAndPayloads(t *testing.T) {
	b := newBus(t)
	stop := bustest.Run(t, b)
	rec := bustest.Record(t, b.JetStream(), "T", "t.>")
	if err := b.Publish(t.Context(), event(t, "e1", "t.a", 1), event(t, "e2", "t.b", 2), event(t, "e3", "t.a", 3)); err != nil {
		t.Fatal(err)
	}
	got := bustest.Payloads[struct{ N int }](t, rec.Wait(t, "t.a", 2))
	if len(got) != 2 || got[0].N != 1 || got[1].N != 3 {
		t.Errorf("t.a payloads = %+v, want n 1 and 3 in stream order", got)
	}
	bustest.Eventually(t, "all three recorded", func() error {
		if n := len(rec.Events()); n != 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Errorf("stop = %v, want nil", err)
	}
}
