package respond

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/kp-efaktura/efaktura/pkg/bus"
)

// Outcomes of a delivery, the outcome label of
// efaktura_delivery_duration_seconds.
const (
	// OutcomeDelivered: the economy system took the answer (2xx).
	OutcomeDelivered = "delivered"
	// OutcomeRetried: it could not take it now (a network error, 408,
	// 429, 5xx); the answer is tried again.
	OutcomeRetried = "retried"
	// OutcomeRefused: it refused this answer (another 4xx); the answer is
	// set aside in the dead-letter stream.
	OutcomeRefused = "refused"
	// OutcomeHeld: it refused efaktura itself (401, 403, 404, 410, a
	// redirect, no endpoint or secret); the queue pauses.
	OutcomeHeld = "held"
)

// Outcomes are every outcome of a delivery, each a series at 0 from
// start-up.
var Outcomes = []string{OutcomeDelivered, OutcomeRetried, OutcomeRefused, OutcomeHeld}

// DeliveryBuckets are the bucket boundaries, in seconds, of
// efaktura_delivery_duration_seconds, up to the default HTTP timeout.
var DeliveryBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// sampleEvery is how often the queues and the dead letters are read for
// the gauges.
const sampleEvery = 5 * time.Second

// metrics are respond's own instruments (issue 12). The gauges are fed
// from what JetStream keeps: each municipality's queue (its consumer's
// pending count and paused state) and respond's messages in the
// dead-letter stream, read every [sampleEvery].
type metrics struct {
	duration metric.Float64Histogram
	outcomes map[string]metric.MeasurementOption

	mu      sync.Mutex
	sampled bool
	queues  map[string]queueSample // by kommune
}

// queueSample is one municipality's answers as last read.
type queueSample struct {
	parked    int64   // waiting in a paused queue
	oldestAge float64 // seconds since the head of a paused queue was queued; 0 when none is parked
	setAside  int64   // dead-lettered, waiting for "efaktura dlq replay"
}

// Instrument measures the worker with mp and, until ctx ends, samples the
// queues for the gauges; call it once, before the bus runs. Without it
// the worker measures nothing.
//
//   - efaktura_answers_parked{kommune}: answers waiting in a paused queue
//     (the agreements do not allow answers, or the economy system refused
//     efaktura itself);
//   - efaktura_answers_parked_oldest_age_seconds{kommune}: how long the
//     oldest of them has waited since it was queued;
//   - efaktura_answers_set_aside{kommune}: answers the economy system
//     refused, dead-lettered and waiting for an operator;
//   - efaktura_delivery_duration_seconds{outcome}: one attempt's POST;
//   - efaktura_municipalities_ready and efaktura_municipalities_not_ready:
//     how many municipalities' agreements allow answers
//     ([tenant.Tenant.AnswersAllowed]) and how many not, from the
//     registry at each scrape, from start-up (issue 15);
//   - efaktura_agreements_deadline_timestamp_seconds: the rollout's
//     deadline (Config.AgreementsDeadline) as a Unix time, when set, for
//     the alert on municipalities not ready near it.
//
// Every replica reads the same queues, so each reports the same gauges:
// aggregate them with max, not sum.
func (w *Worker) Instrument(ctx context.Context, mp metric.MeterProvider) error {
	meter := mp.Meter("github.com/kp-efaktura/efaktura/services/respond")
	m := &metrics{outcomes: map[string]metric.MeasurementOption{}, queues: map[string]queueSample{}}
	var err error
	m.duration, err = meter.Float64Histogram("efaktura.delivery.duration", metric.WithUnit("s"),
		metric.WithDescription("Time one attempt to deliver an answer to an economy system took, by outcome."),
		metric.WithExplicitBucketBoundaries(DeliveryBuckets...))
	if err != nil {
		return fmt.Errorf("respond: metrics: %w", err)
	}
	for _, o := range Outcomes {
		m.outcomes[o] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", o)))
	}
	parked, err := meter.Int64ObservableGauge("efaktura.answers.parked",
		metric.WithDescription("Answers waiting in a paused queue: the agreements do not allow answers, or the economy system refused efaktura."))
	if err != nil {
		return fmt.Errorf("respond: metrics: %w", err)
	}
	oldest, err := meter.Float64ObservableGauge("efaktura.answers.parked.oldest_age", metric.WithUnit("s"),
		metric.WithDescription("How long the oldest parked answer has waited since it was queued; 0 when none is parked."))
	if err != nil {
		return fmt.Errorf("respond: metrics: %w", err)
	}
	setAside, err := meter.Int64ObservableGauge("efaktura.answers.set_aside",
		metric.WithDescription("Answers the economy system refused, dead-lettered until an operator replays them."))
	if err != nil {
		return fmt.Errorf("respond: metrics: %w", err)
	}
	ready, err := meter.Int64ObservableGauge("efaktura.municipalities.ready",
		metric.WithDescription("Municipalities whose two service agreements are approved and name their economy system: answers reach it."))
	if err != nil {
		return fmt.Errorf("respond: metrics: %w", err)
	}
	notReady, err := meter.Int64ObservableGauge("efaktura.municipalities.not_ready",
		metric.WithDescription("Municipalities whose service agreements do not allow answers yet: their answers are parked."))
	if err != nil {
		return fmt.Errorf("respond: metrics: %w", err)
	}
	deadline, err := meter.Int64ObservableGauge("efaktura.agreements.deadline_timestamp", metric.WithUnit("s"),
		metric.WithDescription("The rollout's deadline for approving the service agreements, as a Unix time (--agreements-deadline); absent when none is set."))
	if err != nil {
		return fmt.Errorf("respond: metrics: %w", err)
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		var nReady, nNot int64
		for _, t := range w.tenants.List() {
			if ok, _, _ := t.AnswersAllowed(); ok {
				nReady++
			} else {
				nNot++
			}
		}
		o.ObserveInt64(ready, nReady)
		o.ObserveInt64(notReady, nNot)
		if !w.cfg.AgreementsDeadline.IsZero() {
			o.ObserveInt64(deadline, w.cfg.AgreementsDeadline.Unix())
		}
		return nil
	}, ready, notReady, deadline)
	if err != nil {
		return fmt.Errorf("respond: metrics: %w", err)
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		if !m.sampled {
			return nil
		}
		for k, q := range m.queues {
			attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("kommune", k)))
			o.ObserveInt64(parked, q.parked, attrs)
			o.ObserveFloat64(oldest, q.oldestAge, attrs)
			o.ObserveInt64(setAside, q.setAside, attrs)
		}
		return nil
	}, parked, oldest, setAside)
	if err != nil {
		return fmt.Errorf("respond: metrics: %w", err)
	}
	w.metrics = m
	go w.sample(ctx)
	return nil
}

// sample reads the queues and the dead letters every sampleEvery until
// ctx ends.
func (w *Worker) sample(ctx context.Context) {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		if err := w.sampleOnce(ctx); err != nil && ctx.Err() == nil {
			w.log.DebugContext(ctx, "answer queues not sampled for the metrics", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maxSetAside bounds the dead letters read per sample.
const maxSetAside = 10000

func (w *Worker) sampleOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, sampleEvery)
	defer cancel()
	bc := w.bus.Config()
	qs, err := Queues(ctx, w.bus.JetStream(), w.cfg.Stream, bc.Service)
	if err != nil {
		return err
	}
	dls, err := bus.OpenDeadLetters(w.bus.JetStream(), bc).List(ctx, bc.Service, maxSetAside)
	if err != nil {
		return err
	}
	now := time.Now()
	samples := map[string]queueSample{}
	for _, q := range qs {
		s := queueSample{}
		if q.Paused {
			s.parked = int64(q.Waiting)
			if q.Waiting > 0 && !q.HeadQueuedAt.IsZero() {
				s.oldestAge = max(0, now.Sub(q.HeadQueuedAt).Seconds())
			}
		}
		samples[q.Kommune] = s
	}
	queue := bc.Service + "-" + QueueHandler("")
	for _, dl := range dls {
		if !strings.HasPrefix(dl.Consumer, queue) {
			continue // a decision respond could not queue: a dead letter, not an answer
		}
		k := strings.TrimPrefix(dl.Consumer, queue)
		s := samples[k]
		s.setAside++
		samples[k] = s
	}
	m := w.metrics
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.queues {
		if _, ok := samples[k]; !ok {
			samples[k] = queueSample{} // falls to 0 rather than vanishing
		}
	}
	m.queues, m.sampled = samples, true
	return nil
}

// delivered records one delivery attempt; a nil m records nothing.
func (m *metrics) delivered(ctx context.Context, took time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := OutcomeDelivered
	switch {
	case err == nil:
	case holdsQueue(err):
		outcome = OutcomeHeld
	case permanentDelivery(err):
		outcome = OutcomeRefused
	default:
		outcome = OutcomeRetried
	}
	m.duration.Record(ctx, took.Seconds(), m.outcomes[outcome])
}
