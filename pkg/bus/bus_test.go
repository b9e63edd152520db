package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/redistest"
)

// testConfig keeps retries fast.
func testConfig(service string) Config {
	return Config{
		Service:    service,
		Stream:     "T",
		Subjects:   []string{"t.>"},
		MaxDeliver: 3,
		Backoff:    []time.Duration{20 * time.Millisecond},
		AckWait:    time.Second,
		Lease:      2 * time.Second,
		Drain:      5 * time.Second,
	}
}

func newEvent(t testing.TB, id, typ string, data any) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource("/test")
	if data != nil {
		if err := e.SetData(cloudevents.ApplicationJSON, data); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func newBus(t testing.TB, nc *nats.Conn, cfg Config, opts ...Option) *Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := New(ctx, nc, cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// run starts b.Run and returns a function that stops it and reports its
// result: bustest.Run's twin, for the same reason as eventually's.
func run(t testing.TB, b *Bus) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("Run did not return")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// count returns the number of messages stored on subject.
func count(t testing.TB, js jetstream.JetStream, stream, subject string) int {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Subjects[subject])
}

// eventually polls cond until it holds or the deadline passes. It is
// bustest.Eventually's twin: package bus's own tests cannot import bustest,
// which imports bus. Its sleep is the pause between polls, never a wait
// that asserts something did not happen.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// forward is a pure handler: one output per input, with an id derived from
// the input's, on subject "t.out".
func forward(outType string) Handler {
	return func(_ context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
		out := cloudevents.NewEvent()
		out.SetID(in.ID() + "/" + outType)
		out.SetType(outType)
		out.SetSource("/test")
		if err := out.SetData(cloudevents.ApplicationJSON, in.Data()); err != nil {
			return nil, err
		}
		return []cloudevents.Event{out}, nil
	}
}

func TestHeaderEncodingRoundTripsDanishLetters(t *testing.T) {
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	b := newBus(t, nc, testConfig("enc"))
	e := newEvent(t, "id-æøå 1", "t.in", map[string]string{"navn": "Kærholm Kommune, Bo Ørsted, ÆØÅ"})
	e.SetSubject(`Kærholm "Kommune" 100% æøå ÆØÅ`)
	e.SetExtension("kommune", "0101")
	e.SetExtension("note", "grå/blå\tfane")
	if err := b.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	raw, err := b.js.Stream(context.Background(), "T")
	if err != nil {
		t.Fatal(err)
	}
	m, err := raw.GetLastMsgForSubject(context.Background(), "t.in")
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range m.Header {
		if !strings.HasPrefix(name, headerPrefix) && name != headerContentType {
			continue // the binding's rule covers its own headers
		}
		for _, v := range values {
			for i := 0; i < len(v); i++ {
				if v[i] < 0x21 || v[i] > 0x7E {
					t.Errorf("header %s = %q holds byte %#x; binding values must be percent-encoded ASCII", name, v, v[i])
				}
			}
		}
	}
	if got := m.Header.Get("ce-subject"); got != "K%C3%A6rholm%20%22Kommune%22%20100%25%20%C3%A6%C3%B8%C3%A5%20%C3%86%C3%98%C3%85" {
		t.Errorf("ce-subject header = %q", got)
	}
	if got := m.Header.Get(headerMsgID); got != e.ID() {
		t.Errorf("Nats-Msg-Id = %q, want the event id %q", got, e.ID())
	}
	got, err := decode(context.Background(), m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject() != e.Subject() || got.ID() != e.ID() || got.Extensions()["kommune"] != "0101" || got.Extensions()["note"] != "grå/blå\tfane" || string(got.Data()) != string(e.Data()) {
		t.Errorf("decoded event differs:\n got %v\nwant %v", got, e)
	}
}

func TestDuplicatePublishIsDropped(t *testing.T) {
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	b := newBus(t, nc, testConfig("dup"))
	e := newEvent(t, "same-id", "t.in", map[string]int{"n": 1})
	for range 3 {
		if err := b.Publish(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, b.js, "T", "t.in"); n != 1 {
		t.Errorf("stored %d copies of one event published three times, want 1", n)
	}
}

// stores runs a test against both idempotency stores.
func stores(t *testing.T, f func(t *testing.T, nc *nats.Conn, opt []Option)) {
	t.Run("kv", func(t *testing.T) {
		nc := natstest.Connect(t, natstest.Start(t))
		f(t, nc, nil)
	})
	t.Run("redis", func(t *testing.T) {
		nc := natstest.Connect(t, natstest.Start(t))
		rs := redistest.Start(t)
		c := redis.NewClient(&redis.Options{Addr: rs.Addr})
		t.Cleanup(func() { c.Close() })
		f(t, nc, []Option{WithIdempotency(idem.NewRedis(c, "test:"))})
	})
}

// TestCrashBeforeAckGivesExactlyOneOutput lets a worker publish its output
// and then die before completing its claim and acking. JetStream redelivers;
// the claim runs out; a second worker handles the event again and publishes
// the same output id, which JetStream drops.
func TestCrashBeforeAckGivesExactlyOneOutput(t *testing.T) {
	stores(t, func(t *testing.T, nc *nats.Conn, opts []Option) {
		var calls atomic.Int32
		h := func(ctx context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
			calls.Add(1)
			return forward("t.out")(ctx, in)
		}
		first := newBus(t, nc, testConfig("crash"), opts...)
		var crashed atomic.Bool
		first.beforeAck = func(cloudevents.Event) bool { return crashed.CompareAndSwap(false, true) }
		first.Handle("h", "t.in", CallsOut, h)
		stop := run(t, first)
		if err := first.Publish(context.Background(), newEvent(t, "e1", "t.in", map[string]int{"n": 1})); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the first attempt", func() bool { return crashed.Load() })
		if err := stop(); err != nil {
			t.Fatalf("first worker: %v", err)
		}

		second := newBus(t, nc, testConfig("crash"), opts...)
		second.Handle("h", "t.in", CallsOut, h)
		run(t, second)
		c, err := second.js.Consumer(context.Background(), "T", "crash-h")
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the event acked", func() bool {
			info, err := c.Info(context.Background())
			return err == nil && info.NumAckPending == 0 && info.NumPending == 0 && calls.Load() >= 2
		})
		if n := count(t, second.js, "T", "t.out"); n != 1 {
			t.Errorf("outputs = %d after a crash and redelivery, want exactly 1", n)
		}
	})
}

func TestPoisonEventIsDeadLetteredAndReplayed(t *testing.T) {
	nc := natstest.Connect(t, natstest.Start(t))
	b := newBus(t, nc, testConfig("poison"))
	var healed atomic.Bool
	var calls atomic.Int32
	b.Handle("h", "t.in", CallsOut, func(ctx context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
		calls.Add(1)
		if !healed.Load() {
			return nil, errors.New("ERP unreachable for CPR 010100-1234")
		}
		return forward("t.out")(ctx, in)
	})
	b.Handle("perm", "t.perm", EmitsOnly, func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) {
		return nil, Permanent(errors.New("cannot ever work"))
	}, WithFailureEvents(func(in cloudevents.Event, cause error, attempt int, final bool) []cloudevents.Event {
		return []cloudevents.Event{newEvent(t, in.ID()+"/failed", "t.failed", map[string]any{"error": cause.Error(), "attempt": attempt, "final": final})}
	}))
	run(t, b)
	ctx := context.Background()
	if err := b.Publish(ctx, newEvent(t, "p1", "t.in", nil), newEvent(t, "p2", "t.perm", nil)); err != nil {
		t.Fatal(err)
	}
	// A message that is no CloudEvent at all.
	if _, err := b.js.Publish(ctx, "t.in", []byte("not an event")); err != nil {
		t.Fatal(err)
	}
	dlq := OpenDeadLetters(b.js, b.cfg)
	var letters []DeadLetter
	eventually(t, 10*time.Second, "three dead letters", func() bool {
		var err error
		letters, err = dlq.List(ctx, "poison", 10)
		return err == nil && len(letters) == 3
	})
	byID := map[string]DeadLetter{}
	for _, dl := range letters {
		byID[dl.Event.ID()] = dl
	}
	retried := byID["p1"]
	if retried.Deliveries != 3 || retried.Consumer != "poison-h" || retried.Subject != "t.in" || !strings.Contains(retried.Error, "ERP unreachable") {
		t.Errorf("dead letter after retries = %+v; want 3 deliveries, consumer poison-h, subject t.in, the error", retried)
	}
	if strings.Contains(retried.Error, "010100-1234") {
		t.Errorf("dead letter error %q carries a CPR number", retried.Error)
	}
	if calls.Load() != 3 {
		t.Errorf("handler ran %d times, want MaxDeliver = 3", calls.Load())
	}
	if perm := byID["p2"]; perm.Deliveries != 1 || !strings.Contains(perm.Error, "cannot ever work") {
		t.Errorf("permanent failure dead letter = %+v; want 1 delivery and its error", perm)
	}
	if n := count(t, b.js, "T", "t.failed"); n != 1 {
		t.Errorf("dead-letter events published = %d, want 1", n)
	}
	if bad := byID[""]; bad.EventErr == nil || bad.Consumer != "poison-h" {
		t.Errorf("malformed message dead letter = %+v; want a decode error", bad)
	}

	healed.Store(true)
	if err := dlq.Replay(ctx, retried.Seq); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the replayed event's output", func() bool { return count(t, b.js, "T", "t.out") == 1 })
	if _, err := dlq.Get(ctx, retried.Seq); !errors.Is(err, ErrNoDeadLetter) {
		t.Errorf("replayed dead letter still there: %v", err)
	}
	if err := dlq.Replay(ctx, retried.Seq); !errors.Is(err, ErrNoDeadLetter) {
		t.Errorf("second replay: %v, want ErrNoDeadLetter", err)
	}
}

// TestShutdownUnderLoadLosesNothing stops a busy worker halfway; a second
// one finishes the work. Every input yields exactly one output.
func TestShutdownUnderLoadLosesNothing(t *testing.T) {
	nc := natstest.Connect(t, natstest.Start(t))
	const n = 300
	var handled atomic.Int32
	h := func(ctx context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
		// A slow handler, so that the shutdown finds work in flight: part
		// of the scenario, not a wait.
		time.Sleep(2 * time.Millisecond)
		handled.Add(1)
		return forward("t.out")(ctx, in)
	}
	first := newBus(t, nc, testConfig("load"))
	first.Handle("h", "t.in", EmitsOnly, h, WithConcurrency(8))
	var events []cloudevents.Event
	for i := range n {
		events = append(events, newEvent(t, fmt.Sprintf("load-%d", i), "t.in", map[string]int{"i": i}))
	}
	if err := first.Publish(context.Background(), events...); err != nil {
		t.Fatal(err)
	}
	stop := run(t, first)
	eventually(t, 20*time.Second, "some work done", func() bool { return handled.Load() >= n/4 })
	if err := stop(); err != nil {
		t.Fatalf("first worker's Run: %v", err)
	}
	if handled.Load() >= n {
		t.Fatalf("all %d events were done before the shutdown; the test proves nothing", n)
	}
	if err := first.Publish(context.Background(), events[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Run returned: %v, want ErrClosed", err)
	}

	second := newBus(t, nc, testConfig("load"))
	second.Handle("h", "t.in", EmitsOnly, h, WithConcurrency(8))
	run(t, second)
	eventually(t, 30*time.Second, "all outputs", func() bool { return count(t, second.js, "T", "t.out") == n })
	c, err := second.js.Consumer(context.Background(), "T", "load-h")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "every input acked", func() bool {
		info, err := c.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
	if got := count(t, second.js, "T", "t.out"); got != n {
		t.Errorf("outputs = %d, want %d", got, n)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{},
		{Service: "a.b"},
		{Service: "ok", Replicas: 2},
		{Service: "ok", Storage: "disk"},
		{Service: "ok", Lease: time.Second, AckWait: time.Minute},
		{Service: "ok", MaxAge: 30 * time.Minute}, // under the 1 hour duplicate window
	}
	for _, c := range bad {
		if err := c.WithDefaults().Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrConfig", c, err)
		}
	}
	if err := (Config{Service: "ok"}).WithDefaults().Validate(); err != nil {
		t.Errorf("Validate(defaults) = %v", err)
	}
}

func TestHandlePanicsOnMisuse(t *testing.T) {
	nc := natstest.Connect(t, natstest.Start(t))
	b := newBus(t, nc, testConfig("misuse"))
	h := forward("t.out")
	b.Handle("h", "t.in", EmitsOnly, h)
	for name, f := range map[string]func(){
		"twice":               func() { b.Handle("h", "t.in", EmitsOnly, h) },
		"bad name":            func() { b.Handle("a.b", "t.in", EmitsOnly, h) },
		"nil handler":         func() { b.Handle("x", "t.in", EmitsOnly, nil) },
		"no effect":           func() { b.Handle("z", "t.in", 0, h) },
		"no concurrency":      func() { b.Handle("y", "t.in", EmitsOnly, h, WithConcurrency(0)) },
		"in order, in a mass": func() { b.Handle("w", "t.in", EmitsOnly, h, InOrder(), WithConcurrency(2)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Handle did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("x")
	if !IsPermanent(fmt.Errorf("wrapped: %w", Permanent(base))) || IsPermanent(base) || Permanent(nil) != nil {
		t.Error("Permanent/IsPermanent do not agree")
	}
	if !errors.Is(Permanent(base), base) {
		t.Error("Permanent hides the cause")
	}
}

// TestInOrderRetriesForeverHoldingTheQueue: an InOrder handler that fails
// holds the events behind it; RetryForever keeps trying past MaxDeliver,
// at the delay RetryAfter asks for, publishing a failure event each time
// with the attempt; Attempt counts deliveries.
func TestInOrderRetriesForeverHoldingTheQueue(t *testing.T) {
	nc := natstest.Connect(t, natstest.Start(t))
	b := newBus(t, nc, testConfig("order")) // MaxDeliver 3
	var mu sync.Mutex
	var seen []string
	var attempts []int
	b.Handle("h", "t.in", EmitsOnly, func(ctx context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, in.ID())
		if in.ID() == "first" && Attempt(ctx) < 6 {
			attempts = append(attempts, Attempt(ctx))
			return nil, RetryAfter(errors.New("not yet"), time.Millisecond)
		}
		return forward("t.out")(ctx, in)
	}, InOrder(), RetryForever(), WithFailureEvents(func(in cloudevents.Event, cause error, attempt int, final bool) []cloudevents.Event {
		return []cloudevents.Event{newEvent(t, fmt.Sprintf("%s/failed/%d", in.ID(), attempt), "t.failed", map[string]any{"final": final})}
	}))
	run(t, b)
	if err := b.Publish(context.Background(), newEvent(t, "first", "t.in", nil), newEvent(t, "second", "t.in", nil)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "both outputs", func() bool { return count(t, b.js, "T", "t.out") == 2 })
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"first", "first", "first", "first", "first", "first", "second"}; !slices.Equal(seen, want) {
		t.Errorf("handled %v, want the first five times failing, then it, then the second", seen)
	}
	if !slices.Equal(attempts, []int{1, 2, 3, 4, 5}) {
		t.Errorf("Attempt = %v, want 1 to 5", attempts)
	}
	if n := count(t, b.js, "T", "t.failed"); n != 5 {
		t.Errorf("failure events = %d, want one per failed attempt, 5", n)
	}
	if letters, err := OpenDeadLetters(b.js, b.cfg).List(context.Background(), "", 10); err != nil || len(letters) != 0 {
		t.Errorf("dead letters = %v, %v; want none past MaxDeliver with RetryForever", letters, err)
	}
}

// TestPauseHoldsEventsUntilResume: a paused handler gets nothing, in any
// replica, until Resume; a handler registered while Run runs starts at
// once.
func TestPauseHoldsEventsUntilResume(t *testing.T) {
	nc := natstest.Connect(t, natstest.Start(t))
	b := newBus(t, nc, testConfig("pause"))
	b.Handle("early", "t.early", EmitsOnly, forward("t.early.out"))
	run(t, b)
	ctx := context.Background()
	if err := b.Pause(ctx, "late", time.Now().Add(time.Hour)); !errors.Is(err, ErrNoHandler) {
		t.Errorf("Pause of an unknown handler = %v, want ErrNoHandler", err)
	}
	b.Handle("late", "t.late", EmitsOnly, forward("t.late.out"), InOrder())
	if !b.Handles("late") {
		t.Fatal("Handles(late) = false after Handle")
	}
	if err := b.Publish(ctx, newEvent(t, "l1", "t.late", nil)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the late handler's output", func() bool { return count(t, b.js, "T", "t.late.out") == 1 })

	if err := b.Pause(ctx, "late", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, newEvent(t, "l2", "t.late", nil), newEvent(t, "e1", "t.early", nil)); err != nil {
		t.Fatal(err)
	}
	// The other handler works on; the paused one's event waits.
	eventually(t, 10*time.Second, "the early handler's output", func() bool { return count(t, b.js, "T", "t.early.out") == 1 })
	c, err := b.js.Consumer(ctx, "T", "pause-late")
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil || !info.Paused || info.NumPending != 1 || count(t, b.js, "T", "t.late.out") != 1 {
		t.Fatalf("paused consumer = %+v, %v; want paused with the event waiting and not handled", info, err)
	}
	if err := b.Resume(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the output after Resume", func() bool { return count(t, b.js, "T", "t.late.out") == 2 })
}
