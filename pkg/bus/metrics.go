package bus

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// metrics are the runtime's instruments. Labels are the service, the
// consumer, the event type and the outcome: all bounded, none personal.
type metrics struct {
	service    attribute.KeyValue
	processedC metric.Int64Counter
	failedC    metric.Int64Counter
	retriedC   metric.Int64Counter
	deadC      metric.Int64Counter
	publishedC metric.Int64Counter
	durationH  metric.Float64Histogram

	routes func() []*route // those consuming, for the pending gauge
	// deadLetters is the number of this service's messages in the
	// dead-letter stream as last sampled; -1 before the first sample.
	deadLetters atomic.Int64
	dlq         metric.MeasurementOption // service and dead-letter stream
	// sets caches attribute sets: building one per event cost 8 % of a
	// pipeline's CPU.
	sets sync.Map // setKey -> metric.MeasurementOption
}

// setKey names a cached attribute set; empty fields are left out.
type setKey struct{ consumer, eventType, outcome string }

// set returns the cached measurement option for k.
func (m *metrics) set(k setKey) metric.MeasurementOption {
	if o, ok := m.sets.Load(k); ok {
		return o.(metric.MeasurementOption)
	}
	kvs := []attribute.KeyValue{m.service, attribute.String("event_type", k.eventType)}
	if k.consumer != "" {
		kvs = append(kvs, attribute.String("consumer", k.consumer))
	}
	if k.outcome != "" {
		kvs = append(kvs, attribute.String("outcome", k.outcome))
	}
	o := metric.WithAttributeSet(attribute.NewSet(kvs...))
	m.sets.Store(k, o)
	return o
}

func newMetrics(mp metric.MeterProvider, service string, routes func() []*route, dlqStream string) (*metrics, error) {
	m := &metrics{service: attribute.String("service", service), routes: routes,
		dlq: metric.WithAttributes(attribute.String("service", service), attribute.String("stream", dlqStream))}
	meter := mp.Meter("github.com/kp-efaktura/efaktura/pkg/bus")
	var err error
	counter := func(name, desc string) metric.Int64Counter {
		c, e := meter.Int64Counter(name, metric.WithDescription(desc))
		if err == nil {
			err = e
		}
		return c
	}
	m.processedC = counter("efaktura.events.processed", "Events a consumer finished: outcome ok, or duplicate when the idempotency store already knew the event.")
	m.failedC = counter("efaktura.events.failed", "Handler or publish failures, whether retried or dead-lettered.")
	m.retriedC = counter("efaktura.events.retried", "Events nak'ed for another attempt after a failure.")
	m.deadC = counter("efaktura.events.dead_lettered", "Events moved to the dead-letter stream.")
	m.publishedC = counter("efaktura.events.published", "Events JetStream acked on publish.")
	if err != nil {
		return nil, fmt.Errorf("bus: metrics: %w", err)
	}
	m.durationH, err = meter.Float64Histogram("efaktura.handler.duration", metric.WithUnit("s"),
		metric.WithDescription("Time a handler took, without publishing its outputs."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	if err != nil {
		return nil, fmt.Errorf("bus: metrics: %w", err)
	}
	// The gauges' callbacks are registered with RegisterCallback, not
	// given to the instruments: several buses share one MeterProvider in
	// efaktura up, and the SDK keeps only the callbacks of an observable
	// instrument's first creation, so every bus but the first (up's admin
	// bus, which consumes nothing) went unobserved (issue 12).
	pending, err := meter.Int64ObservableGauge("efaktura.consumer.pending",
		metric.WithDescription("Events a consumer has not acked yet: waiting plus in flight."))
	if err != nil {
		return nil, fmt.Errorf("bus: metrics: %w", err)
	}
	dead, err := meter.Int64ObservableGauge("efaktura.dead_letters",
		metric.WithDescription("Messages in the dead-letter stream from this service, waiting for an operator (efaktura dlq list)."))
	if err != nil {
		return nil, fmt.Errorf("bus: metrics: %w", err)
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, r := range m.routes() {
			o.ObserveInt64(pending, r.pending.Load(), metric.WithAttributes(m.service, attribute.String("consumer", r.durable)))
		}
		if n := m.deadLetters.Load(); n >= 0 {
			o.ObserveInt64(dead, n, m.dlq)
		}
		return nil
	}, pending, dead)
	if err != nil {
		return nil, fmt.Errorf("bus: metrics: %w", err)
	}
	m.deadLetters.Store(-1) // unknown until sampled
	return m, nil
}

// declare makes r's counters exist at 0 for each event type it consumes,
// so a rate or an alert on failures has a series from start-up rather than
// from the first failure.
func (m *metrics) declare(r *route, eventTypes []string) {
	ctx := context.Background()
	for _, t := range eventTypes {
		for _, outcome := range []string{"ok", "duplicate"} {
			m.processedC.Add(ctx, 0, m.set(setKey{r.durable, t, outcome}))
		}
		m.failedC.Add(ctx, 0, m.attrs(r, t))
		m.retriedC.Add(ctx, 0, m.attrs(r, t))
		m.deadC.Add(ctx, 0, m.attrs(r, t))
	}
}

func (m *metrics) attrs(r *route, eventType string) metric.MeasurementOption {
	return m.set(setKey{consumer: r.durable, eventType: eventType})
}

func (m *metrics) processed(ctx context.Context, r *route, eventType, outcome string) {
	m.processedC.Add(ctx, 1, m.set(setKey{r.durable, eventType, outcome}))
}

func (m *metrics) duration(ctx context.Context, r *route, eventType string, took time.Duration) {
	m.durationH.Record(ctx, took.Seconds(), m.attrs(r, eventType))
}

func (m *metrics) retried(ctx context.Context, r *route, eventType string) {
	m.failedC.Add(ctx, 1, m.attrs(r, eventType))
	m.retriedC.Add(ctx, 1, m.attrs(r, eventType))
}

func (m *metrics) deadLettered(ctx context.Context, r *route, eventType string) {
	m.failedC.Add(ctx, 1, m.attrs(r, eventType))
	m.deadC.Add(ctx, 1, m.attrs(r, eventType))
}

func (m *metrics) published(ctx context.Context, eventType string) {
	m.publishedC.Add(ctx, 1, m.set(setKey{eventType: eventType}))
}
