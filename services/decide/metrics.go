package decide

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// metrics are decide's own instruments (issue 12), fed from what the
// worker holds already: the in-memory index of the open documents, and
// the record an answer.delivered completes. Labels are municipality codes
// only, never a document id or a CPR number.
type metrics struct {
	timeToAnswer metric.Float64Histogram
	decided      metric.Int64Counter
	decidedBy    map[string]metric.AddOption // by label value → its attribute set

	mu   sync.Mutex
	seen map[string]bool // every kommune observed, so a gauge falls to 0 instead of vanishing
}

// TimeToAnswerBuckets are the bucket boundaries, in seconds, of
// efaktura_document_time_to_answer_seconds: from seconds (approved at
// once, delivered at once) to a month (agreements long pending).
var TimeToAnswerBuckets = []float64{
	1, 5, 15, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600,
	86400, 2 * 86400, 3 * 86400, 5 * 86400, 7 * 86400, 14 * 86400, 30 * 86400,
}

// Instrument measures the worker with mp; call it once, before the bus
// runs. Without it the worker measures nothing.
//
//   - efaktura_documents_awaiting_verdict{kommune}: open documents in
//     state awaiting_verdict;
//   - efaktura_documents_awaiting_verdict_oldest_age_seconds{kommune}: how
//     long the oldest of them has been waiting since it was received, 0
//     when none waits;
//   - efaktura_document_time_to_answer_seconds: from ingest's receipt of a
//     document to its answer's delivery, once per document;
//   - efaktura_documents_decided_total{by}: decisions this replica made,
//     by caseworker, rule or automatic (issue 14), each at 0 from the
//     start.
//
// Every replica holds every open document, so each reports the same
// gauges: aggregate them with max, not sum.
func (w *Worker) Instrument(mp metric.MeterProvider) error {
	meter := mp.Meter("github.com/kp-efaktura/efaktura/services/decide")
	m := &metrics{seen: map[string]bool{}}
	var err error
	m.timeToAnswer, err = meter.Float64Histogram("efaktura.document.time_to_answer", metric.WithUnit("s"),
		metric.WithDescription("Time from the receipt of a document to the delivery of its answer to the economy system."),
		metric.WithExplicitBucketBoundaries(TimeToAnswerBuckets...))
	if err != nil {
		return fmt.Errorf("decide: metrics: %w", err)
	}
	m.decided, err = meter.Int64Counter("efaktura.documents.decided",
		metric.WithDescription("Documents decided, by who decided: a caseworker, a straight-through rule, or automatically (technically invalid)."))
	if err != nil {
		return fmt.Errorf("decide: metrics: %w", err)
	}
	m.decidedBy = map[string]metric.AddOption{}
	for _, by := range []string{"caseworker", "rule", "automatic"} {
		m.decidedBy[by] = metric.WithAttributeSet(attribute.NewSet(attribute.String("by", by)))
		m.decided.Add(context.Background(), 0, m.decidedBy[by]) // at 0 from start-up
	}
	awaiting, err := meter.Int64ObservableGauge("efaktura.documents.awaiting_verdict",
		metric.WithDescription("Open documents awaiting a caseworker's verdict."))
	if err != nil {
		return fmt.Errorf("decide: metrics: %w", err)
	}
	oldest, err := meter.Float64ObservableGauge("efaktura.documents.awaiting_verdict.oldest_age", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest document awaiting a verdict, from its receipt; 0 when none waits."))
	if err != nil {
		return fmt.Errorf("decide: metrics: %w", err)
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if !w.store.idx.loaded() {
			return nil // a partial index would under-count
		}
		now := w.now()
		counts, since := w.store.idx.awaitingVerdict()
		for _, k := range m.kommunes(counts, w.auth) {
			attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("kommune", k)))
			o.ObserveInt64(awaiting, int64(counts[k]), attrs)
			age := 0.0
			if t, ok := since[k]; ok {
				age = max(0, now.Sub(t).Seconds())
			}
			o.ObserveFloat64(oldest, age, attrs)
		}
		return nil
	}, awaiting, oldest)
	if err != nil {
		return fmt.Errorf("decide: metrics: %w", err)
	}
	w.metrics = m
	return nil
}

// kommunes returns the municipalities to report: those with documents
// now, those registered (when auth is the registry), and those reported
// before.
func (m *metrics) kommunes(counts map[string]int, auth Authenticator) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range counts {
		m.seen[k] = true
	}
	if l, ok := auth.(interface{ List() []tenant.Tenant }); ok {
		for _, t := range l.List() {
			m.seen[t.Kommune] = true
		}
	}
	out := make([]string, 0, len(m.seen))
	for k := range m.seen {
		out = append(out, k)
	}
	return out
}

// decide counts a decision by who ([decidedBy]); a nil m counts nothing.
func (m *metrics) decide(ctx context.Context, who string) {
	if m != nil {
		m.decided.Add(ctx, 1, m.decidedBy[decidedBy(who)])
	}
}

// answered records a document's time to answer; a nil m records nothing.
func (m *metrics) answered(ctx context.Context, took time.Duration) {
	if m != nil {
		m.timeToAnswer.Record(ctx, took.Seconds())
	}
}

// awaitingVerdict returns, per kommune, the number of open documents
// awaiting a verdict and the receipt time of the oldest of them. It costs
// time in proportion to those documents.
func (x *index) awaitingVerdict() (counts map[string]int, oldest map[string]time.Time) {
	counts, oldest = map[string]int{}, map[string]time.Time{}
	x.mu.RLock()
	defer x.mu.RUnlock()
	for kommune, byState := range x.live {
		recs := byState[StateAwaitingVerdict]
		if len(recs) == 0 {
			continue
		}
		counts[kommune] = len(recs)
		for _, r := range recs {
			t := r.ReceivedAt
			if t.IsZero() {
				t = r.CreatedAt
			}
			if o, ok := oldest[kommune]; !ok || t.Before(o) {
				oldest[kommune] = t
			}
		}
	}
	return counts, oldest
}
