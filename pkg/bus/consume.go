package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

// HandleOption configures one handler.
type HandleOption func(*route) error

// WithConcurrency sets how many events the handler works on at once;
// default 1, which keeps a consumer's events in order.
func WithConcurrency(n int) HandleOption {
	return func(r *route) error {
		if n < 1 {
			return fmt.Errorf("%w: concurrency %d < 1", ErrOption, n)
		}
		r.concurrency = n
		return nil
	}
}

// Pure declares the handler pure: its outputs depend only on its input, with
// ids derived from the input's, and it has no effect outside the bus. The
// runtime then skips the idempotency store: a repeated delivery republishes
// the same output ids, which JetStream drops within the duplicate window,
// and consumers downstream are idempotent by event id. Handlers with an
// outside effect (an HTTP call, a database write) must not be Pure: for
// them each event is claimed before the handler runs and completed after.
func Pure() HandleOption {
	return func(r *route) error {
		r.pure = true
		return nil
	}
}

// WithDeadLetterEvents makes the runtime publish the events f returns when
// it dead-letters an input of this handler, e.g. a notice that an answer
// failed, so that others learn of the failure from the bus. f gets the
// input, the cause and the delivery count; the input may be a zero Event
// when the message was not a CloudEvent.
func WithDeadLetterEvents(f func(in cloudevents.Event, cause error, deliveries uint64) []cloudevents.Event) HandleOption {
	return func(r *route) error {
		if f == nil {
			return fmt.Errorf("%w: nil dead-letter events function", ErrOption)
		}
		r.onDead = f
		return nil
	}
}

// route is a registered handler and its durable consumer.
type route struct {
	name, subject, durable string
	h                      Handler
	concurrency            int
	pure                   bool
	onDead                 func(cloudevents.Event, error, uint64) []cloudevents.Event
	pending                atomic.Int64 // consumer's pending count, for metrics
	beats                  heartbeats
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

// Handle registers h for the events on subject (wildcards allowed) under
// the durable consumer Service+"-"+name. Renaming name creates a new
// consumer that starts from the stream's beginning: treat it like a schema
// change. Handle panics, as http.ServeMux does for a conflicting pattern,
// when name is registered twice, after Run has started, or on a bad option.
func (b *Bus) Handle(name, subject string, h Handler, opts ...HandleOption) {
	r := &route{name: name, subject: subject, durable: b.cfg.Service + "-" + name, h: h, concurrency: 1}
	for _, opt := range opts {
		if err := opt(r); err != nil {
			panic(fmt.Sprintf("bus: Handle %s: %v", name, err))
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running || b.closed {
		panic("bus: Handle " + name + " after Run")
	}
	for _, other := range b.handlers {
		if other.name == name {
			panic("bus: handler " + name + " registered twice")
		}
	}
	if name == "" || strings.ContainsAny(name, ". *>") || h == nil {
		panic(fmt.Sprintf("bus: Handle %q: name must be a plain token and the handler not nil", name))
	}
	b.handlers = append(b.handlers, r)
}

// Consuming reports whether Run has provisioned its consumers and is
// fetching from them: what a readiness probe asks.
func (b *Bus) Consuming() bool { return b.consuming.Load() }

// Run creates or updates the durable consumers and consumes until ctx is
// done. Then it stops fetching, gives handlers in flight up to Drain to
// finish, naks the rest for prompt redelivery elsewhere, and returns nil
// after a clean drain. Run may be called once.
func (b *Bus) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.running || b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.running = true
	routes := b.handlers
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
	}()

	consumers := make([]jetstream.Consumer, len(routes))
	for i, r := range routes {
		c, err := b.js.CreateOrUpdateConsumer(ctx, b.cfg.Stream, jetstream.ConsumerConfig{
			Durable:       r.durable,
			FilterSubject: r.subject,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       b.cfg.AckWait,
			// One delivery more than MaxDeliver: the extra one finds an
			// event whose handler kept crashing the worker and dead-letters
			// it, so no event silently stops being delivered.
			MaxDeliver:    b.cfg.MaxDeliver + 1,
			MaxAckPending: max(1000, 4*r.concurrency),
			DeliverPolicy: jetstream.DeliverAllPolicy,
			Replicas:      b.cfg.Replicas,
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil // shut down before consuming began: nothing to drain
			}
			return fmt.Errorf("bus: consumer %s: %w", r.durable, err)
		}
		consumers[i] = c
	}

	// Handlers run on a context that outlives ctx by the drain period, so
	// a shutdown lets work in flight finish.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var workers sync.WaitGroup
	stops := make([]func(), len(routes))
	for i, r := range routes {
		stop, err := b.consume(work, r, consumers[i], &workers)
		if err != nil {
			for _, s := range stops[:i] {
				s()
			}
			return err
		}
		stops[i] = stop
	}
	b.metrics.watch(routes)
	go b.watchPending(work, routes, consumers)
	b.log.InfoContext(ctx, "consuming", "consumers", len(routes))
	b.consuming.Store(true)

	<-ctx.Done()
	b.consuming.Store(false)
	b.log.InfoContext(ctx, "draining", "within", b.cfg.Drain)
	for _, stop := range stops {
		stop()
	}
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(b.cfg.Drain):
	}
	stopWork() // handlers still running see their context end and nak
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		return errors.New("bus: handlers did not stop within the drain period")
	}
	b.log.WarnContext(ctx, "drain period over; events in flight were nak'ed for redelivery")
	return nil
}

// consume starts fetching for r and its workers; stop ends fetching and,
// once buffered messages are handed back, lets the workers run dry.
func (b *Bus) consume(ctx context.Context, r *route, c jetstream.Consumer, workers *sync.WaitGroup) (stop func(), err error) {
	jobs := make(chan jetstream.Msg)
	stopping := make(chan struct{})
	var closing atomic.Bool
	cc, err := c.Consume(func(m jetstream.Msg) {
		if closing.Load() {
			m.Nak() // leave it to another worker
			return
		}
		select {
		case jobs <- m:
		case <-stopping:
			m.Nak()
		}
	},
		jetstream.PullMaxMessages(2*r.concurrency),
		// Short pull expiries: long ones were seen to stall consumers for
		// 30 s (shared/research/ceilings.md).
		jetstream.PullExpiry(5*time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			b.log.WarnContext(ctx, "consume", "consumer", r.durable, "err", err)
		}))
	if err != nil {
		return nil, fmt.Errorf("bus: consume %s: %w", r.durable, err)
	}
	go r.beats.loop(ctx, b.cfg.AckWait/3)
	for range r.concurrency {
		workers.Go(func() {
			for m := range jobs {
				b.deliver(ctx, r, m)
			}
		})
	}
	return func() {
		closing.Store(true)
		close(stopping)
		cc.Drain()
		<-cc.Closed()
		close(jobs)
	}, nil
}

// deliver runs the fixed delivery steps for one message: decode, claim,
// handle with heartbeats, publish outputs, complete, ack; or release and
// retry, or dead-letter.
func (b *Bus) deliver(ctx context.Context, r *route, m jetstream.Msg) {
	var deliveries uint64 = 1
	if md, err := m.Metadata(); err == nil {
		deliveries = md.NumDelivered
	}
	e, err := decode(ctx, m.Headers(), m.Data())
	if err != nil {
		b.deadLetter(ctx, r, m, e, deliveries, Permanent(err))
		return
	}
	ctx, span := b.startProcess(ctx, r, m, e, deliveries)
	defer span.End()

	if deliveries > uint64(b.cfg.MaxDeliver) {
		b.deadLetter(ctx, r, m, e, deliveries, Permanent(fmt.Errorf("delivered %d times without an ack: the worker stopped while handling it", deliveries)))
		return
	}
	key := r.durable + "/" + e.ID()
	token, state, err := b.claim(ctx, r, key)
	switch {
	case err != nil:
		b.retry(ctx, r, m, e, deliveries, fmt.Errorf("claim %s: %w", key, err), span)
		return
	case state == idem.Done:
		b.metrics.processed(ctx, r, e.Type(), "duplicate")
		b.ack(ctx, r, m, e, deliveries)
		return
	case state == idem.Busy:
		// Another worker holds the claim, or held it and stopped; try again
		// once its lease has run out.
		m.NakWithDelay(b.cfg.Lease)
		return
	}

	outs, err := b.handle(ctx, r, m, e)
	if err == nil {
		err = b.publish(ctx, outs)
	}
	if err != nil {
		if rerr := b.release(ctx, r, key, token); rerr != nil && !errors.Is(rerr, idem.ErrNotOwner) {
			b.eventLog(r, e, deliveries).WarnContext(ctx, "release claim", "err", rerr)
		}
		if IsPermanent(err) || deliveries >= uint64(b.cfg.MaxDeliver) {
			b.deadLetter(ctx, r, m, e, deliveries, err)
		} else {
			b.retry(ctx, r, m, e, deliveries, err, span)
		}
		return
	}
	if b.beforeAck != nil && b.beforeAck(e) {
		return
	}
	if err := b.complete(ctx, r, key, token); err != nil {
		// The outputs are out; a worker that took the claim over publishes
		// the same ids again, which JetStream drops.
		b.eventLog(r, e, deliveries).WarnContext(ctx, "complete claim", "err", err)
	}
	b.metrics.processed(ctx, r, e.Type(), "ok")
	b.ack(ctx, r, m, e, deliveries)
}

// eventLog is the logger for what goes wrong with one delivery; the log
// handler adds trace_id and span_id from the context. It is built only when
// there is something to log: With on the telemetry JSON handler formats and
// masks its attributes at once, some 2 µs and 13 allocations, which every
// delivery paid while the logger was built up front.
func (b *Bus) eventLog(r *route, e cloudevents.Event, deliveries uint64) *slog.Logger {
	return b.log.With("consumer", r.durable, "messaging.message.id", e.ID(), "event_type", e.Type(), "deliveries", deliveries)
}

// startProcess starts the CONSUMER span for a delivery; without telemetry it
// only carries the producer's trace context on, for the outputs.
func (b *Bus) startProcess(ctx context.Context, r *route, m jetstream.Msg, e cloudevents.Event, deliveries uint64) (context.Context, trace.Span) {
	if b.tracer == nil {
		ctx = telemetry.ExtractEvent(ctx, e)
		return ctx, trace.SpanFromContext(ctx)
	}
	return telemetry.StartProcess(ctx, b.tracer, m.Subject(), r.durable, e, deliveries)
}

// claim, complete and release use the idempotency store, except for pure
// handlers.
func (b *Bus) claim(ctx context.Context, r *route, key string) (string, idem.State, error) {
	if r.pure {
		return "", idem.Claimed, nil
	}
	return b.store.Claim(ctx, key, b.cfg.Lease)
}

func (b *Bus) complete(ctx context.Context, r *route, key, token string) error {
	if r.pure {
		return nil
	}
	return b.store.Complete(ctx, key, token, b.cfg.Remember)
}

func (b *Bus) release(ctx context.Context, r *route, key, token string) error {
	if r.pure {
		return nil
	}
	return b.store.Release(context.WithoutCancel(ctx), key, token)
}

// handle runs the handler, with progress heartbeats so JetStream does not
// redeliver while it works; a panic becomes a permanent error.
func (b *Bus) handle(ctx context.Context, r *route, m jetstream.Msg, e cloudevents.Event) (outs []cloudevents.Event, err error) {
	r.beats.add(m)
	defer r.beats.remove(m)
	defer func() {
		if p := recover(); p != nil {
			outs, err = nil, Permanent(fmt.Errorf("%w: %v", errHandlerPanic, p))
		}
	}()
	began := time.Now()
	outs, err = r.h(ctx, e)
	b.metrics.duration(ctx, r, e.Type(), time.Since(began))
	return outs, err
}

// retry naks with the backoff step for this delivery.
func (b *Bus) retry(ctx context.Context, r *route, m jetstream.Msg, e cloudevents.Event, deliveries uint64, err error, span trace.Span) {
	delay := b.cfg.Backoff[min(int(deliveries)-1, len(b.cfg.Backoff)-1)]
	span.RecordError(err)
	span.SetStatus(codes.Error, "retry")
	log := b.eventLog(r, e, deliveries)
	log.WarnContext(ctx, "handler failed; retrying", "err", err, "in", delay)
	b.metrics.retried(ctx, r, e.Type())
	if nerr := m.NakWithDelay(delay); nerr != nil {
		log.WarnContext(ctx, "nak", "err", nerr)
	}
}

func (b *Bus) ack(ctx context.Context, r *route, m jetstream.Msg, e cloudevents.Event, deliveries uint64) {
	if err := m.Ack(); err != nil {
		// Redelivery finds the claim done and acks then.
		b.eventLog(r, e, deliveries).WarnContext(ctx, "ack", "err", err)
	}
}

// watchPending samples each consumer's backlog for the pending gauge.
func (b *Bus) watchPending(ctx context.Context, routes []*route, consumers []jetstream.Consumer) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		for i, c := range consumers {
			if info, err := c.Info(ctx); err == nil {
				routes[i].pending.Store(int64(info.NumPending + uint64(info.NumAckPending)))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
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
