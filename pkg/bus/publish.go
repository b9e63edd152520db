package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

// publishAttempts bounds retries of a publish that JetStream did not ack,
// e.g. while a stream leader is elected; the event id makes them safe.
var publishAttempts = []time.Duration{0, 100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second}

// Publish sends events in binary mode, with Nats-Msg-Id set to each event's
// id, and returns once JetStream has acked every one; a repeated event
// within the duplicate window is acked and dropped. Publishes go out
// asynchronously, at most Config.MaxPending at a time. It returns ErrClosed
// after Run has returned, and wraps ErrSubject when an event has no subject.
func (b *Bus) Publish(ctx context.Context, events ...cloudevents.Event) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return b.publish(ctx, events)
}

type pending struct {
	event   cloudevents.Event
	subject string
	span    trace.Span
	future  jetstream.PubAckFuture
	err     error
}

func (b *Bus) publish(ctx context.Context, events []cloudevents.Event) error {
	if len(events) == 0 {
		return nil
	}
	ps := make([]*pending, len(events))
	for i, e := range events {
		subject, err := b.subjects(e)
		if err != nil {
			return fmt.Errorf("%w: %s %s: %w", ErrSubject, e.Type(), e.ID(), err)
		}
		p := &pending{event: e, subject: subject}
		if b.tracer != nil {
			_, p.span = telemetry.StartPublish(ctx, b.tracer, b.destination(subject), &p.event)
		} else {
			telemetry.InjectEvent(ctx, &p.event)
			p.span = trace.SpanFromContext(ctx)
		}
		ps[i] = p
	}
	defer func() {
		if b.tracer == nil {
			return // the spans are the caller's
		}
		for _, p := range ps {
			if p.err != nil {
				p.span.RecordError(p.err)
				p.span.SetStatus(codes.Error, "publish failed")
			}
			p.span.End()
		}
	}()
	todo := ps
	for attempt, wait := range publishAttempts {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		for _, p := range todo {
			p.err = b.send(p)
		}
		var failed []*pending
		for _, p := range todo {
			if p.err == nil {
				p.err = b.await(ctx, p)
			}
			if p.err != nil {
				failed = append(failed, p)
			} else {
				b.metrics.published(ctx, p.event.Type())
			}
		}
		if len(failed) == 0 {
			return nil
		}
		if ctx.Err() != nil || attempt == len(publishAttempts)-1 {
			return fmt.Errorf("publish %s %s to %s: %w", failed[0].event.Type(), failed[0].event.ID(), failed[0].subject, failed[0].err)
		}
		todo = failed
	}
	return nil
}

func (b *Bus) send(p *pending) error {
	msg, err := encode(p.subject, p.event)
	if err != nil {
		return err
	}
	p.future, err = b.js.PublishMsgAsync(msg, jetstream.WithStallWait(5*time.Second))
	return err
}

func (b *Bus) await(ctx context.Context, p *pending) error {
	select {
	case ack := <-p.future.Ok():
		if ack.Duplicate {
			p.span.SetAttributes(attribute.Bool("messaging.nats.duplicate", true))
		}
		return nil
	case err := <-p.future.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errHandlerPanic wraps a handler's panic, which is permanent: the same
// input would panic again.
var errHandlerPanic = errors.New("handler panicked")
