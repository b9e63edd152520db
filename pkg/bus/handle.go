package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"
)

// Effect declares what a handler does besides returning events. The
// runtime's delivery policy follows from it: only [CallsOut] handlers are
// claimed in the idempotency store.
type Effect uint8

const (
	// EmitsOnly: the handler only returns events, with ids derived from its
	// input. A redelivery publishes the same ids again, which JetStream
	// drops within the duplicate window, so nothing is claimed.
	EmitsOnly Effect = iota + 1
	// WritesState: the handler also writes state the system owns (a KV
	// record by compare-and-set, a consumer's pause), in a way a redelivery
	// finds done and leaves alone. Nothing is claimed: the write is its own
	// guard.
	WritesState
	// CallsOut: the handler acts on the outside world (an HTTP request),
	// which a redelivery must not repeat. Each event is claimed in the
	// idempotency store before the handler runs and the claim completed once
	// its outputs are published; a redelivery of a completed event is acked
	// without running the handler.
	CallsOut
)

func (e Effect) String() string {
	switch e {
	case EmitsOnly:
		return "emits-only"
	case WritesState:
		return "writes-state"
	case CallsOut:
		return "calls-out"
	}
	return fmt.Sprintf("Effect(%d)", uint8(e))
}

// HandleOption configures one handler.
type HandleOption func(*route) error

// WithConcurrency sets how many events the handler works on at once in
// this process; default 1.
func WithConcurrency(n int) HandleOption {
	return func(r *route) error {
		if n < 1 {
			return fmt.Errorf("%w: concurrency %d < 1", ErrOption, n)
		}
		r.concurrency = n
		return nil
	}
}

// InOrder hands the consumer's events out one at a time across every
// replica (MaxAckPending 1): the next is delivered only once the one
// before is acked or dead-lettered. A failed event is retried before any
// later one, so the events are handled in stream order.
func InOrder() HandleOption {
	return func(r *route) error {
		r.inOrder = true
		return nil
	}
}

// AlsoOn adds subjects to the consumer's filter, for a handler of several
// event types that must see them in one order.
func AlsoOn(subjects ...string) HandleOption {
	return func(r *route) error {
		r.subjects = append(r.subjects, subjects...)
		return nil
	}
}

// OnStream consumes from another stream than Config.Stream, e.g. a work
// queue a worker provisions for itself. The stream must exist when the
// consumer is created.
func OnStream(name string) HandleOption {
	return func(r *route) error {
		if name == "" {
			return fmt.Errorf("%w: empty stream name", ErrOption)
		}
		r.stream = name
		return nil
	}
}

// RetryForever retries a failing event, with the backoff, until it
// succeeds or fails [Permanent]ly, instead of dead-lettering it after
// Config.MaxDeliver attempts. Use it with [InOrder] for a queue that must
// keep its order: the failing event holds the ones behind it.
func RetryForever() HandleOption {
	return func(r *route) error {
		r.forever = true
		return nil
	}
}

// WithFailureEvents makes the runtime publish the events f returns each
// time the handler's input fails: on every retry (final false) and when
// the input is dead-lettered (final true), e.g. a notice that an answer
// was not delivered, so others learn of it from the bus. f gets the input
// (a zero Event when the message was no CloudEvent), the cause and the
// attempt, counted from 1.
func WithFailureEvents(f func(in cloudevents.Event, cause error, attempt int, final bool) []cloudevents.Event) HandleOption {
	return func(r *route) error {
		if f == nil {
			return fmt.Errorf("%w: nil failure events function", ErrOption)
		}
		r.onFailure = f
		return nil
	}
}

// route is a registered handler and its durable consumer.
type route struct {
	name, durable, stream string
	subjects              []string
	effect                Effect
	h                     Handler
	concurrency           int
	inOrder, forever      bool
	onFailure             func(cloudevents.Event, error, int, bool) []cloudevents.Event

	pending  atomic.Int64 // the consumer's backlog, for metrics
	beats    heartbeats
	consumer jetstream.Consumer // set once the consumer exists
	stop     func()             // ends consuming; nil until it began
}

// consumerConfig is the durable consumer of r under cfg.
func (r *route) consumerConfig(cfg Config) jetstream.ConsumerConfig {
	maxDeliver := cfg.MaxDeliver + 1
	if r.forever {
		maxDeliver = -1
	}
	pending := max(1000, 4*r.concurrency)
	if r.inOrder {
		pending = 1
	}
	cc := jetstream.ConsumerConfig{
		Durable:   r.durable,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   cfg.AckWait,
		// One delivery more than MaxDeliver: the extra one finds an event
		// whose handler kept crashing the worker and dead-letters it, so
		// no event silently stops being delivered.
		MaxDeliver:    maxDeliver,
		MaxAckPending: pending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      cfg.Replicas,
	}
	if len(r.subjects) == 1 {
		cc.FilterSubject = r.subjects[0]
	} else {
		cc.FilterSubjects = r.subjects
	}
	return cc
}

// Handle registers h for the events on subject (wildcards allowed) under
// the durable consumer Service+"-"+name; effect declares what h does
// besides returning events (see [Effect]). Renaming name creates a new
// consumer that starts from the stream's beginning: treat it like a schema
// change.
//
// Handlers registered before [Bus.Run] start with it. One registered while
// Run runs, e.g. for a municipality added meanwhile, starts at once: its
// consumer is created in the background, tried again until it exists or
// Run ends. Handle panics, as http.ServeMux does for a conflicting pattern,
// when name is registered twice, on a bad name, effect or option, or after
// Run has returned.
func (b *Bus) Handle(name, subject string, effect Effect, h Handler, opts ...HandleOption) {
	r := &route{name: name, durable: b.cfg.Service + "-" + name, stream: b.cfg.Stream,
		subjects: []string{subject}, effect: effect, h: h, concurrency: 1}
	for _, opt := range opts {
		if err := opt(r); err != nil {
			panic(fmt.Sprintf("bus: Handle %s: %v", name, err))
		}
	}
	switch {
	case name == "" || strings.ContainsAny(name, ". *>") || h == nil:
		panic(fmt.Sprintf("bus: Handle %q: name must be a plain token and the handler not nil", name))
	case effect < EmitsOnly || effect > CallsOut:
		panic(fmt.Sprintf("bus: Handle %s: %v is not an Effect", name, effect))
	case r.inOrder && r.concurrency > 1:
		panic(fmt.Sprintf("bus: Handle %s: InOrder handles one event at a time; concurrency %d", name, r.concurrency))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		panic("bus: Handle " + name + " after Run returned")
	}
	if b.route(name) != nil {
		panic("bus: handler " + name + " registered twice")
	}
	b.handlers = append(b.handlers, r)
	b.metrics.declare(r, b.eventTypes(r.subjects))
	if b.running {
		go b.startLate(r)
	}
}

// eventTypes returns the event types subjects match, for the counters
// declared at 0 (see [WithEventTypes]).
func (b *Bus) eventTypes(subjects []string) []string {
	var out []string
	for _, s := range subjects {
		switch {
		case b.types != nil:
			out = append(out, b.types(s)...)
		case !strings.ContainsAny(s, "*>"):
			out = append(out, s)
		}
	}
	return out
}

// Handles reports whether a handler is registered under name.
func (b *Bus) Handles(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.route(name) != nil
}

// route returns the handler registered under name, or nil; b.mu is held.
func (b *Bus) route(name string) *route {
	for _, r := range b.handlers {
		if r.name == name {
			return r
		}
	}
	return nil
}

// Pause stops JetStream delivering the events of handler name, to every
// replica, until until or [Bus.Resume]; they wait in the stream, in order.
// The pause is the server's (the consumer pause API of NATS 2.11 and
// later), so it outlives the workers. It returns an error wrapping
// ErrNoHandler for a name not registered here.
func (b *Bus) Pause(ctx context.Context, name string, until time.Time) error {
	r, err := b.ensureConsumer(ctx, name)
	if err != nil {
		return err
	}
	if _, err := b.js.PauseConsumer(ctx, r.stream, r.durable, until); err != nil {
		return fmt.Errorf("bus: pause %s: %w", r.durable, err)
	}
	return nil
}

// Resume ends a [Bus.Pause] of handler name; resuming a consumer that is
// not paused does nothing. The server hands a resumed consumer's events
// out only at a replica's next pull request, up to the 5 s pull expiry
// later, so Resume also tells every replica of the service, over core
// NATS, to pull again at once; should that word be lost, the next pull
// comes all the same. It returns an error wrapping ErrNoHandler for a
// name not registered here.
func (b *Bus) Resume(ctx context.Context, name string) error {
	b.mu.Lock()
	r := b.route(name)
	b.mu.Unlock()
	if r == nil {
		return fmt.Errorf("%w: %s", ErrNoHandler, name)
	}
	c, err := b.createConsumer(ctx, r)
	if err != nil {
		return err
	}
	if !c.CachedInfo().Paused {
		return nil // nothing to resume, and no replica to disturb
	}
	if _, err := b.js.ResumeConsumer(ctx, r.stream, r.durable); err != nil {
		return fmt.Errorf("bus: resume %s: %w", r.durable, err)
	}
	if err := b.nc.Publish(b.cfg.resumedSubject(name), nil); err != nil {
		b.log.WarnContext(ctx, "replicas not told of a resume; they pull again within 5 s", "consumer", r.durable, "err", err)
	}
	return nil
}

// ErrNoHandler is returned for a handler name that is not registered.
var ErrNoHandler = errors.New("bus: no such handler")

// ensureConsumer returns the route of name with its consumer created, so a
// pause can precede the first delivery.
func (b *Bus) ensureConsumer(ctx context.Context, name string) (*route, error) {
	b.mu.Lock()
	r := b.route(name)
	b.mu.Unlock()
	if r == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoHandler, name)
	}
	if _, err := b.createConsumer(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// createConsumer creates or updates r's durable consumer. An update keeps
// a pause: the pause is not part of the configuration sent.
func (b *Bus) createConsumer(ctx context.Context, r *route) (jetstream.Consumer, error) {
	c, err := b.js.CreateOrUpdateConsumer(ctx, r.stream, r.consumerConfig(b.cfg))
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s: %w", r.durable, err)
	}
	return c, nil
}

// heartbeats tells JetStream that messages whose handlers are still running
// are in progress, so it does not redeliver them after AckWait. One loop per
// consumer serves all its messages; a goroutine per message cost more than
// the handlers it watched.
type heartbeats struct {
	mu      sync.Mutex
	running map[jetstream.Msg]time.Time
}

func (h *heartbeats) add(m jetstream.Msg) {
	h.mu.Lock()
	if h.running == nil {
		h.running = make(map[jetstream.Msg]time.Time)
	}
	h.running[m] = time.Now()
	h.mu.Unlock()
}

func (h *heartbeats) remove(m jetstream.Msg) {
	h.mu.Lock()
	delete(h.running, m)
	h.mu.Unlock()
}

// loop sends InProgress, every period, for each message running longer
// than one period.
func (h *heartbeats) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.mu.Lock()
			var due []jetstream.Msg
			for m, since := range h.running {
				if now.Sub(since) >= every {
					due = append(due, m)
				}
			}
			h.mu.Unlock()
			for _, m := range due {
				m.InProgress()
			}
		}
	}
}

// Typed adapts a function of the decoded JSON payload to a Handler, as
// Watermill's cqrs.NewEventHandler does. A payload that does not decode is a
// permanent error: retrying cannot fix it.
func Typed[T any](f func(ctx context.Context, in cloudevents.Event, payload T) ([]cloudevents.Event, error)) Handler {
	return func(ctx context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
		var p T
		if err := in.DataAs(&p); err != nil {
			return nil, Permanent(fmt.Errorf("decode %s payload: %w", in.Type(), err))
		}
		return f(ctx, in, p)
	}
}

// attemptKey carries the delivery count into a handler's context.
type attemptKey struct{}

// Attempt returns which attempt at its event a handler's run is, counted
// from 1: JetStream's delivery count, so it goes on across replicas and
// restarts. It is 0 outside a handler.
func Attempt(ctx context.Context) int {
	n, _ := ctx.Value(attemptKey{}).(int)
	return n
}
