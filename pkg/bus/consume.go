package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

// Consuming reports whether Run has provisioned its consumers and is
// fetching from them: what a readiness probe asks.
func (b *Bus) Consuming() bool { return b.consuming.Load() }

// Run creates or updates the durable consumers and consumes until ctx is
// done. Then it stops fetching, gives handlers in flight up to Drain to
// finish, naks the rest for prompt redelivery elsewhere, and returns nil
// after a clean drain. Run may be called once.
func (b *Bus) Run(ctx context.Context) error {
	// Handlers run on a context that outlives ctx by the drain period, so
	// a shutdown lets work in flight finish.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	b.mu.Lock()
	if b.running || b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.running, b.work = true, work
	routes := b.handlers
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
	}()

	for _, r := range routes {
		c, err := b.createConsumer(ctx, r)
		if err != nil {
			if ctx.Err() != nil {
				return nil // shut down before consuming began: nothing to drain
			}
			return err
		}
		r.consumer = c
	}
	for _, r := range routes {
		if err := b.consume(work, r); err != nil {
			b.stopAll()
			return err
		}
	}
	go b.watchPending(work)
	resumed, err := b.nc.Subscribe(b.cfg.resumedSubject("*"), func(m *nats.Msg) {
		b.restart(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:])
	})
	if err != nil {
		b.stopAll()
		return fmt.Errorf("bus: subscribe to resumes: %w", err)
	}
	defer resumed.Unsubscribe()
	b.log.InfoContext(ctx, "consuming", "consumers", len(routes))
	b.consuming.Store(true)

	<-ctx.Done()
	b.consuming.Store(false)
	b.log.InfoContext(ctx, "draining", "within", b.cfg.Drain)
	b.stopAll()
	done := make(chan struct{})
	go func() { b.workers.Wait(); close(done) }()
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

// startLate creates the consumer of a handler registered while Run runs,
// trying again until it exists or Run stops, and consumes from it.
func (b *Bus) startLate(r *route) {
	b.mu.Lock()
	work := b.work
	b.mu.Unlock()
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		c, err := b.createConsumer(work, r)
		if err == nil {
			r.consumer = c
			break
		}
		b.log.WarnContext(work, "consumer not created; trying again", "consumer", r.durable, "err", err, "in", wait)
		select {
		case <-work.Done():
			return
		case <-time.After(wait):
		}
	}
	if err := b.consume(work, r); err != nil {
		b.log.ErrorContext(work, "handler registered late does not consume", "consumer", r.durable, "err", err)
	}
}

// consumingRoutes returns the routes whose consumers exist and are
// fetching.
func (b *Bus) consumingRoutes() []*route {
	b.mu.Lock()
	defer b.mu.Unlock()
	var rs []*route
	for _, r := range b.handlers {
		if r.stop != nil {
			rs = append(rs, r)
		}
	}
	return rs
}

// restart fetches again for the route of handler name, so a resumed
// consumer's events come at once rather than at the next pull.
func (b *Bus) restart(name string) {
	b.mu.Lock()
	r := b.route(name)
	if r == nil || r.stop == nil || b.stopping {
		b.mu.Unlock()
		return
	}
	stop := r.stop
	r.stop = nil
	work := b.work
	b.mu.Unlock()
	stop()
	if err := b.consume(work, r); err != nil {
		b.log.ErrorContext(work, "consuming again after a resume", "consumer", r.durable, "err", err)
	}
}

// stopAll ends fetching for every route consuming and keeps later ones
// from starting.
func (b *Bus) stopAll() {
	b.mu.Lock()
	b.stopping = true
	var stops []func()
	for _, r := range b.handlers {
		if r.stop != nil {
			stops = append(stops, r.stop)
		}
	}
	b.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
}

// consume starts fetching for r and its workers, and sets r.stop, which
// ends fetching and, once buffered messages are handed back, lets the
// workers run dry.
func (b *Bus) consume(ctx context.Context, r *route) error {
	jobs := make(chan jetstream.Msg)
	stopping := make(chan struct{})
	var closing atomic.Bool
	// An in-order consumer gets one message at a time whatever it asks
	// for; asking for 2 was seen to stall such a consumer for 5 s about
	// once in 100 000 messages when it ran flat out (nats.go's pull loop
	// stops asking, nats-io/nats.go#1622), and asking for 100 never did.
	batch := 2 * r.concurrency
	if r.inOrder {
		batch = 100
	}
	cc, err := r.consumer.Consume(func(m jetstream.Msg) {
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
		jetstream.PullMaxMessages(batch),
		// Short pull expiries: long ones were seen to stall consumers for
		// 30 s (shared/research/ceilings.md), and a resumed consumer
		// delivers at the next pull.
		jetstream.PullExpiry(5*time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			b.log.WarnContext(ctx, "consume", "consumer", r.durable, "err", err)
		}))
	if err != nil {
		return fmt.Errorf("bus: consume %s: %w", r.durable, err)
	}
	beats, stopBeats := context.WithCancel(ctx)
	go r.beats.loop(beats, b.cfg.AckWait/3)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopping {
		// No worker takes from jobs: a message already handed to the
		// callback goes back at once rather than wait for the ack wait.
		closing.Store(true)
		close(stopping)
		cc.Stop()
		stopBeats()
		return nil
	}
	for range r.concurrency {
		b.workers.Go(func() {
			for m := range jobs {
				b.deliver(ctx, r, m)
			}
		})
	}
	r.stop = func() {
		closing.Store(true)
		close(stopping)
		cc.Drain()
		<-cc.Closed()
		close(jobs)
		stopBeats()
	}
	return nil
}

// deliver runs the fixed delivery steps for one message: decode, claim,
// handle with heartbeats, publish outputs, ack, complete; or release and
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
	ctx = context.WithValue(ctx, attemptKey{}, int(deliveries))

	if !r.forever && deliveries > uint64(b.cfg.MaxDeliver) {
		b.deadLetter(ctx, r, m, e, deliveries, Permanent(fmt.Errorf("delivered %d times without an ack: the worker stopped while handling it", deliveries)))
		return
	}
	key := r.durable + "/" + e.ID()
	token, state, err := b.claim(ctx, r, key)
	switch {
	case err != nil:
		// The handler did not run: no failure events, only a retry.
		b.retry(ctx, r, m, e, deliveries, fmt.Errorf("claim %s: %w", key, err), span, false)
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
		if IsPermanent(err) || (!r.forever && deliveries >= uint64(b.cfg.MaxDeliver)) {
			b.deadLetter(ctx, r, m, e, deliveries, err)
		} else {
			b.retry(ctx, r, m, e, deliveries, err, span, true)
		}
		return
	}
	if b.beforeAck != nil && b.beforeAck(e) {
		return
	}
	// Ack, then complete the claim: the completion only serves a
	// redelivery, which needs the ack lost, and a worker that dies between
	// the two leaves a claim that runs out, as one dying before either
	// does. Acked first, an in-order consumer's next event is on its way
	// while the idempotency store answers: a fifth of each answer's time
	// in respond's queue (issue 17).
	b.metrics.processed(ctx, r, e.Type(), "ok")
	b.ack(ctx, r, m, e, deliveries)
	if err := b.complete(ctx, r, key, token); err != nil {
		// The outputs are out; a worker that took the claim over publishes
		// the same ids again, which JetStream drops.
		b.eventLog(r, e, deliveries).WarnContext(ctx, "complete claim", "err", err)
	}
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
	return telemetry.StartProcess(ctx, b.tracer, b.destination(m.Subject()), r.durable, e, deliveries)
}

// claim, complete and release use the idempotency store for handlers that
// call out; the others need no claim (see [Effect]).
func (b *Bus) claim(ctx context.Context, r *route, key string) (string, idem.State, error) {
	if r.effect != CallsOut {
		return "", idem.Claimed, nil
	}
	return b.store.Claim(ctx, key, b.cfg.Lease)
}

func (b *Bus) complete(ctx context.Context, r *route, key, token string) error {
	if r.effect != CallsOut {
		return nil
	}
	return b.store.Complete(ctx, key, token, b.cfg.Remember)
}

func (b *Bus) release(ctx context.Context, r *route, key, token string) error {
	if r.effect != CallsOut {
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

// retry naks with the delay the error asks for ([RetryAfter]) or the
// backoff step of this delivery, after the handler's failure events when
// the handler ran and failed.
func (b *Bus) retry(ctx context.Context, r *route, m jetstream.Msg, e cloudevents.Event, deliveries uint64, err error, span trace.Span, handled bool) {
	delay, asked := retryDelay(err)
	if !asked {
		delay = b.cfg.Backoff[min(int(deliveries)-1, len(b.cfg.Backoff)-1)]
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, "retry")
	log := b.eventLog(r, e, deliveries)
	log.WarnContext(ctx, "handler failed; retrying", "err", err, "in", delay)
	b.metrics.retried(ctx, r, e.Type())
	if handled && r.onFailure != nil {
		if perr := b.publish(ctx, r.onFailure(e, err, int(deliveries), false)); perr != nil {
			log.WarnContext(ctx, "failure events not published", "err", perr)
		}
	}
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

// watchPending samples each consumer's backlog for the pending gauge, and
// the service's messages in the dead-letter stream for the dead letters
// gauge.
func (b *Bus) watchPending(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	subject := b.cfg.dlqSubject(b.cfg.Service)
	for {
		for _, r := range b.consumingRoutes() {
			if info, err := r.consumer.Info(ctx); err == nil {
				r.pending.Store(int64(info.NumPending + uint64(info.NumAckPending)))
			}
		}
		if s, err := b.js.Stream(ctx, b.cfg.dlqStream()); err == nil {
			if info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject)); err == nil {
				b.metrics.deadLetters.Store(int64(info.State.Subjects[subject]))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
