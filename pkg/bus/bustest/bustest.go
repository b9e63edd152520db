// Package bustest runs a bus in the background for a test and waits on what
// it does: events stored in a stream, a consumer that has caught up, a
// condition that comes true. Like net/http/httptest, it is for tests only.
//
// Waits are on real signals, never a fixed sleep: to show that something
// did not happen, wait until the consumer that would have done it has acked
// the input ([Settled]), or until every consumer of the streams is done
// ([Quiet]), then look.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

// Within is how long the waits below wait before they fail the test: long
// enough for a loaded CI machine, short enough to fail a hung test.
const Within = 30 * time.Second

// Run runs b.Run in the background until the test ends, failing the test
// if Run returns an error. stop ends it earlier and returns Run's result.
func Run(t testing.TB, b *bus.Bus) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var (
		once sync.Once
		err  error
	)
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(Within):
				err = errors.New("bustest: Run did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("bus Run: %v", err)
		}
	})
	return stop
}

// Eventually calls cond every 10 ms until it returns nil, and fails the
// test with what and cond's last error after [Within].
func Eventually(t testing.TB, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(Within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %v", Within, what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Settled waits until the durable consumer of stream has delivered at
// least n events and acked every one it has: all it was given is done.
func Settled(t testing.TB, js jetstream.JetStream, stream, durable string, n uint64) {
	t.Helper()
	Eventually(t, "consumer "+durable+" to settle", func() error {
		info, err := consumerInfo(js, stream, durable)
		if err != nil {
			return err
		}
		if info.NumPending > 0 || info.NumAckPending > 0 || info.AckFloor.Consumer < n {
			return fmt.Errorf("%d waiting, %d unacked, %d acked of %d", info.NumPending, info.NumAckPending, info.AckFloor.Consumer, n)
		}
		return nil
	})
}

// Delivered waits until the durable consumer of stream has delivered at
// least n events, redeliveries included: a handler that fails has been
// tried n times, say.
func Delivered(t testing.TB, js jetstream.JetStream, stream, durable string, n uint64) {
	t.Helper()
	Eventually(t, fmt.Sprintf("consumer %s to deliver %d", durable, n), func() error {
		info, err := consumerInfo(js, stream, durable)
		if err != nil {
			return err
		}
		if info.Delivered.Consumer < n {
			return fmt.Errorf("%d delivered", info.Delivered.Consumer)
		}
		return nil
	})
}

// consumerInfo asks the server for the state of a durable consumer.
func consumerInfo(js jetstream.JetStream, stream, durable string) (*jetstream.ConsumerInfo, error) {
	c, err := js.Consumer(context.Background(), stream, durable)
	if err != nil {
		return nil, err
	}
	return c.Info(context.Background())
}

// Quiet waits until nothing is left to do on streams: every durable
// consumer of them has acked all it was given, and none of the streams
// stored a message while that was checked. A handler acks its input only
// once its outputs are stored, so then no handler of these streams works
// or will work, unless something else publishes: what it would have done
// twice, say, it has not. Only the consumers that exist are waited for:
// call it once the handlers have started. A paused consumer with events
// waiting is never quiet; use [Settled] on the others.
func Quiet(t testing.TB, js jetstream.JetStream, streams ...string) {
	t.Helper()
	Eventually(t, fmt.Sprintf("the consumers of %v to be quiet", streams), func() error {
		before, err := lastSeqs(js, streams)
		if err != nil {
			return err
		}
		for _, name := range streams {
			s, err := js.Stream(context.Background(), name)
			if err != nil {
				return err
			}
			lister := s.ListConsumers(context.Background())
			for info := range lister.Info() {
				if info.Config.Durable == "" {
					continue // an ordered consumer, a watcher: no work of a handler
				}
				if info.NumPending > 0 || info.NumAckPending > 0 {
					return fmt.Errorf("%s: %d waiting, %d unacked", info.Name, info.NumPending, info.NumAckPending)
				}
			}
			if err := lister.Err(); err != nil {
				return err
			}
		}
		after, err := lastSeqs(js, streams)
		if err != nil {
			return err
		}
		if !slices.Equal(before, after) {
			return fmt.Errorf("the streams grew from %v to %v meanwhile", before, after)
		}
		return nil
	})
}

// lastSeqs returns the last sequence of each stream.
func lastSeqs(js jetstream.JetStream, streams []string) ([]uint64, error) {
	out := make([]uint64, len(streams))
	for i, name := range streams {
		s, err := js.Stream(context.Background(), name)
		if err != nil {
			return nil, err
		}
		info, err := s.Info(context.Background())
		if err != nil {
			return nil, err
		}
		out[i] = info.State.LastSeq
	}
	return out, nil
}

// Recorder keeps the events a stream stores on some subjects, in stream
// order: what was published and not dropped as a duplicate.
type Recorder struct {
	mu     sync.Mutex
	events []cloudevents.Event
}

// Record starts recording the events stored on subjects of stream, from
// the stream's start, until the test ends.
func Record(t testing.TB, js jetstream.JetStream, stream string, subjects ...string) *Recorder {
	t.Helper()
	ctx := context.Background()
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: subjects})
	if err != nil {
		t.Fatalf("bustest: record %s %v: %v", stream, subjects, err)
	}
	r := &Recorder{}
	cc, err := c.Consume(func(m jetstream.Msg) {
		e, err := bus.Decode(ctx, m.Headers(), m.Data())
		if err != nil {
			t.Errorf("bustest: %s holds a message that is no CloudEvent: %v", m.Subject(), err)
			return
		}
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
	})
	if err != nil {
		t.Fatalf("bustest: record %s %v: %v", stream, subjects, err)
	}
	t.Cleanup(cc.Stop)
	return r
}

// Events returns the events recorded so far of the given types, or of
// every type when none is given.
func (r *Recorder) Events(types ...string) []cloudevents.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []cloudevents.Event
	for _, e := range r.events {
		if len(types) == 0 || slices.Contains(types, e.Type()) {
			out = append(out, e)
		}
	}
	return out
}

// Wait waits until at least n events of type typ are recorded and returns
// them all.
func (r *Recorder) Wait(t testing.TB, typ string, n int) []cloudevents.Event {
	t.Helper()
	var got []cloudevents.Event
	Eventually(t, fmt.Sprintf("%d %s", n, typ), func() error {
		if got = r.Events(typ); len(got) < n {
			return fmt.Errorf("%d recorded", len(got))
		}
		return nil
	})
	return got
}

// Payloads decodes the JSON data of events into T, failing the test on an
// event that does not decode.
func Payloads[T any](t testing.TB, events []cloudevents.Event) []T {
	t.Helper()
	out := make([]T, len(events))
	for i, e := range events {
		if err := e.DataAs(&out[i]); err != nil {
			t.Fatalf("bustest: decode %s %s: %v", e.Type(), e.ID(), err)
		}
	}
	return out
}

// Traced starts telemetry for a test, named service, whose spans go to
// the returned in-memory exporter; it shuts down when the test ends.
func Traced(t testing.TB, service string) (*telemetry.Providers, *tracetest.InMemoryExporter) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tel, err := telemetry.Start(context.Background(), telemetry.Config{ServiceName: service}, func(string) string { return "" },
		telemetry.WithSpanExporter(spans))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tel.Shutdown(context.Background()) })
	return tel, spans
}
