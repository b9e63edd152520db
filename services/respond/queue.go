package respond

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// pausedUntil is how long a queue stays paused unless resumed: for good.
var pausedUntil = time.Date(9999, time.January, 1, 0, 0, 0, 0, time.UTC)

// errNotAllowed: an answer reached a queue whose municipality may not be
// answered now; the queue pauses and the answer waits at its head.
var errNotAllowed = errors.New("respond: the municipality's service agreements do not allow answers")

// queue answers a document.decided with answer.queued, and with
// answer.parked when the municipality's agreements do not allow answers
// now. It only emits events: a redelivery emits the same ids.
func (w *Worker) queue(_ context.Context, in cloudevents.Event, d events.DocumentDecided) ([]cloudevents.Event, error) {
	kommune, err := events.KommuneOf(in)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	if d.Kommune != kommune {
		return nil, bus.Permanent(fmt.Errorf("decision %s: payload kommune %q differs from the event's %q", in.ID(), d.Kommune, kommune))
	}
	a := BuildAnswer(d, in.ID())
	queued, err := events.New(events.TypeAnswerQueued, events.SourceRespond, kommune, a.DocumentID, []string{a.AnswerID}, a, d.DecidedAt)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	return append([]cloudevents.Event{queued}, w.parked(a)...), nil
}

// parked is answer.parked for a, when the municipality's agreements do not
// allow answers now; nothing when they do.
func (w *Worker) parked(a events.AnswerQueued) []cloudevents.Event {
	t, found := w.tenants.Get(a.Kommune)
	ok, reason, detail := answersAllowed(t, found)
	if ok {
		return nil
	}
	now := time.Now()
	e, err := events.New(events.TypeAnswerParked, events.SourceRespond, a.Kommune, a.DocumentID,
		[]string{a.AnswerID, string(reason)}, events.AnswerParked{
			AnswerID: a.AnswerID, DocumentID: a.DocumentID, Kommune: a.Kommune,
			Reason: reason, Detail: detail, ParkedAt: now.UTC(),
		}, now)
	if err != nil {
		w.log.Error("answer.parked not built", "answer_id", a.AnswerID, "err", err)
		return nil
	}
	return []cloudevents.Event{e}
}

// answersAllowed is tenant.Tenant's AnswersAllowed, for a municipality
// that may not be in the registry.
func answersAllowed(t tenant.Tenant, found bool) (bool, events.ParkReason, string) {
	if !found {
		return false, events.ParkAgreementMissing, "the municipality is not registered"
	}
	ok, reason, detail := t.AnswersAllowed()
	return ok, events.ParkReason(reason), detail
}

// deliver sends the answer at the head of a municipality's queue. The
// queue hands out one answer at a time across every replica and retries a
// failure before the next, so answers go in decision order:
//
//   - delivered: answer.delivered, and the next answer;
//   - the agreements do not allow answers, or the economy system refuses
//     efaktura itself (401, 403, 404, 410, a redirect, no endpoint or
//     secret): the queue pauses, with the answer at its head, until the
//     municipality's record changes;
//   - the economy system refuses this answer (another 4xx): it is
//     dead-lettered, with answer.failed, and the queue goes on;
//   - any other failure: tried again after the backoff (exponential, with
//     jitter; see [Config]), or after the Retry-After of a 429 or 503, for
//     as long as it takes.
func (w *Worker) deliver(ctx context.Context, _ cloudevents.Event, a events.AnswerQueued) ([]cloudevents.Event, error) {
	t, found := w.tenants.Get(a.Kommune)
	if ok, _, _ := answersAllowed(t, found); !ok {
		return nil, w.hold(ctx, a.Kommune, t.Version, errNotAllowed)
	}
	a.EconomySystem = t.EconomySystem.ID
	began := time.Now()
	rcpt, err := w.deliverer.Deliver(ctx, t.EconomySystem, a)
	w.metrics.delivered(ctx, time.Since(began), err)
	attempt := bus.Attempt(ctx)
	switch {
	case err == nil:
		now := time.Now()
		ev, err := events.New(events.TypeAnswerDelivered, events.SourceRespond, a.Kommune, a.DocumentID,
			[]string{a.AnswerID}, events.AnswerDelivered{
				AnswerID: a.AnswerID, DocumentID: a.DocumentID, Kommune: a.Kommune, EconomySystemID: a.EconomySystem,
				Attempts: max(1, attempt), DeliveredAt: now.UTC(), StatusCode: rcpt.Status,
			}, now)
		if err != nil {
			return nil, bus.Permanent(err)
		}
		return []cloudevents.Event{ev}, nil
	case holdsQueue(err):
		w.log.ErrorContext(ctx, "economy system refused efaktura; the municipality's answers wait until its record changes",
			"kommune", a.Kommune, "answer_id", a.AnswerID, "err", cpr.Mask(err.Error()))
		return nil, w.hold(ctx, a.Kommune, t.Version, err)
	case permanentDelivery(err):
		return nil, bus.Permanent(err)
	}
	delay := w.retryDelay(err, attempt)
	return nil, bus.RetryAfter(&retryIn{err: err, delay: delay}, delay)
}

// retryIn is a failed attempt with the delay chosen for the next, so
// answer.failed can tell when that is (see [Worker.failed]).
type retryIn struct {
	err   error
	delay time.Duration
}

func (r *retryIn) Error() string { return r.err.Error() }
func (r *retryIn) Unwrap() error { return r.err }

// retryDelay is how long the answer waits after a transient failure: the
// backoff of this attempt, or longer when the economy system asked for
// longer with Retry-After (a 429 or 503), bounded by Config.RetryAfterMax.
// Retry-After is a floor, not the delay: an economy system that keeps
// asking for a second is not tried every second for ever.
func (w *Worker) retryDelay(err error, attempt int) time.Duration {
	delay := Backoff(w.cfg, attempt)
	if de := (*DeliveryError)(nil); errors.As(err, &de) && de.RetryAfter > delay {
		return min(de.RetryAfter, max(w.cfg.RetryAfterMax, delay))
	}
	return delay
}

// Backoff is the pause after failed attempt number attempt (from 1):
// Config.BackoffInitial doubled for each attempt before it, up to
// Config.BackoffMax, then drawn at random within [BackoffJitter] of that
// step either way. It uses cenkalti/backoff's ExponentialBackOff, which
// keeps its step as state: the attempt number, which JetStream keeps
// across redeliveries and replicas, is replayed into a fresh one.
func Backoff(cfg Config, attempt int) time.Duration {
	cfg = cfg.withDefaults()
	b := &backoff.ExponentialBackOff{
		InitialInterval:     cfg.BackoffInitial,
		RandomizationFactor: BackoffJitter,
		Multiplier:          backoffMultiplier,
		MaxInterval:         cfg.BackoffMax,
	}
	b.Reset()
	// 64 doublings pass any maximum a Duration can hold.
	for range min(max(attempt, 1), 64) - 1 {
		b.NextBackOff()
	}
	return b.NextBackOff()
}

// hold pauses kommune's queue and asks for the answer to be tried again as
// soon as it resumes. A change this replica's view shows since version
// (read before the attempt) may have been acted on, by this replica or
// another, before the pause: then the queue is resumed at once, and the
// answer tried on the new record. A change the view shows only later is
// followTenants' to act on.
func (w *Worker) hold(ctx context.Context, kommune string, version uint64, cause error) error {
	name := QueueHandler(kommune)
	if err := w.bus.Pause(ctx, name, pausedUntil); err != nil {
		return fmt.Errorf("%w (and the queue could not be paused: %w)", cause, err)
	}
	if t, _ := w.tenants.Get(kommune); t.Version != version {
		if err := w.bus.Resume(ctx, name); err != nil {
			return fmt.Errorf("%w (and the queue could not be resumed after a change: %w)", cause, err)
		}
	}
	return bus.RetryAfter(cause, 0)
}

// failed is answer.failed for a failed attempt at a queued answer: final
// when it was dead-lettered, permanent as well when the economy system
// refused efaktura itself and the queue waits for an operator.
func (w *Worker) failed(in cloudevents.Event, cause error, attempt int, final bool) []cloudevents.Event {
	a, err := events.Decode[events.AnswerQueued](in)
	if err != nil {
		return nil // not an answer we could have sent
	}
	if errors.Is(cause, errNotAllowed) {
		// Not an attempt: the answer waits for the agreements. Say so,
		// should the change have come after the answer was queued (then
		// queue did not); the same id as queue's answer.parked otherwise.
		return w.parked(a)
	}
	t, _ := w.tenants.Get(a.Kommune)
	now := time.Now()
	p := events.AnswerFailed{
		AnswerID: a.AnswerID, DocumentID: a.DocumentID, Kommune: a.Kommune, EconomySystemID: t.EconomySystem.ID,
		Attempts: attempt, Permanent: final || holdsQueue(cause),
		// The text names the economy system and the status, never the
		// answer's data; CPR numbers are masked all the same.
		Error: cpr.Mask(cause.Error()), FailedAt: now.UTC(),
	}
	if de := (*DeliveryError)(nil); errors.As(cause, &de) {
		p.StatusCode = de.Status
	}
	if ri := (*retryIn)(nil); !p.Permanent && errors.As(cause, &ri) {
		// The caseworker sees when the next attempt comes (issue 12): the
		// delay deliver chose, which the runtime naks with. A failure that
		// is not a delivery's (the queue could not be paused, say) is
		// retried on the bus's own backoff, which respond does not know.
		next := p.FailedAt.Add(ri.delay)
		p.NextAttemptAt = &next
	}
	ev, err := events.New(events.TypeAnswerFailed, events.SourceRespond, a.Kommune, a.DocumentID,
		[]string{a.AnswerID, strconv.Itoa(attempt)}, p, now)
	if err != nil {
		w.log.Error("answer.failed not built", "answer_id", a.AnswerID, "err", err)
		return nil
	}
	return []cloudevents.Event{ev}
}

// BuildAnswer builds the answer to a decided document; answerID is the id
// of the document.decided event. Its economy system is left empty: it is
// set from the municipality's record when the answer is sent.
//
// An automatic rejection (decided by the system, for a technically invalid
// document) answers with structured findings: one per error finding, with
// the rule's closest Peppol reason code ([efaktura.ReasonCode]), its path,
// line and column and the message in Danish and English. Its reasons, which
// decide writes as OTH "<rule>: <message>", get the same rule's code, so an
// economy system that reads only reasons sees PRI for a wrong total rather
// than OTH; texts are kept. Warnings are no reason and are left out. The
// messages quote the document's values as the economy system sent them,
// with CPR numbers masked by the format library.
func BuildAnswer(d events.DocumentDecided, answerID string) answer.Answer {
	automatic := d.DecidedBy == events.DecidedBySystem && d.Decision == events.OutcomeRejected
	reasons := make([]answer.Reason, 0, len(d.Reasons))
	for _, r := range d.Reasons {
		code := string(r.Code)
		if automatic && r.Code == events.ReasonOther {
			if rule, _, ok := strings.Cut(r.Text, ": "); ok {
				if _, known := efaktura.Rule(rule); known {
					code = efaktura.ReasonCode(rule)
				}
			}
		}
		reasons = append(reasons, answer.Reason{Code: code, Text: r.Text})
	}
	var findings []answer.Finding
	if automatic {
		findings = AnswerFindings(d.Findings)
	}
	return answer.Answer{
		AnswerID:     answerID,
		DocumentID:   d.DocumentID,
		Kommune:      d.Kommune,
		Reference:    d.Reference,
		ReceiptNo:    d.ReceiptNo,
		DocumentNo:   d.DocumentNo,
		DocumentType: string(d.DocumentType),
		Sender:       answer.Sender{Type: d.Sender.Type, ID: d.Sender.ID},
		Decision:     string(d.Decision),
		Reasons:      reasons,
		Findings:     findings,
		DecidedAt:    d.DecidedAt.UTC(),
		Ruleset:      d.Ruleset,
	}
}
