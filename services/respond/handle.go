package respond

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// answersAllowed is [tenant.Tenant.AnswersAllowed] for a municipality that
// may be unknown.
func answersAllowed(t tenant.Tenant, found bool) (bool, events.ParkReason, string) {
	if !found {
		return false, events.ParkAgreementMissing, "the municipality is not registered with efaktura, so neither its service agreements nor its economy system are known"
	}
	ok, reason, detail := t.AnswersAllowed()
	return ok, events.ParkReason(reason), detail
}

// handleDecided answers a decided document: at once when the municipality's
// agreements allow it and none of its answers is parked, otherwise it parks
// the answer behind the others.
func (w *Worker) handleDecided(ctx context.Context, in cloudevents.Event, d events.DocumentDecided) ([]cloudevents.Event, error) {
	kommune, err := events.KommuneOf(in)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	if d.Kommune != kommune {
		return nil, bus.Permanent(fmt.Errorf("decision %s: payload kommune %q differs from the event's %q", in.ID(), d.Kommune, kommune))
	}
	answerID := in.ID()
	t, found := w.tenants.Get(kommune)
	a := BuildAnswer(d, answerID, t)
	ok, reason, detail := answersAllowed(t, found)
	if ok {
		// An empty queue in this replica's view is taken as it is; a
		// queue there is confirmed against the bucket, as the view may
		// still hold answers released a moment ago.
		queue, loaded := w.queued.of(kommune)
		if !loaded || len(queue) > 0 {
			if queue, err = w.parking.keys(ctx, kommune); err != nil {
				return nil, err
			}
		}
		if len(queue) == 0 {
			return w.deliverNow(ctx, t, a)
		}
		// Older answers are still parked: this one waits behind them, for
		// the reason they wait.
		head, found, err := w.parking.get(ctx, queue[0])
		if err != nil {
			return nil, err
		}
		if found {
			reason = head.Reason
		}
		detail = fmt.Sprintf("waits behind %d earlier answer(s) of the municipality that are not sent yet", len(queue))
	}
	p, created, err := w.parking.park(ctx, Parked{
		Key:      ParkKey(kommune, d.DecidedAt, answerID),
		Answer:   a,
		Reason:   reason,
		Detail:   detail,
		ParkedAt: time.Now().UTC(),
	})
	if errors.Is(err, errReleased) {
		return nil, nil // a redelivered decision whose answer was sent meanwhile
	}
	if err != nil {
		return nil, err
	}
	if created {
		w.queued.parked(p.Key, p.revision)
	}
	// Published here rather than returned, so answer.parked precedes the
	// answer.delivered of the release below. A retry publishes the same id.
	ev, err := parkedEvent(p, time.Now())
	if err != nil {
		return nil, bus.Permanent(err)
	}
	if err := w.bus.Publish(ctx, ev); err != nil {
		return nil, err
	}
	if ok {
		// The answer is parked durably; a failure here leaves it to the
		// next release or sweep.
		if err := w.release(ctx, kommune, false); err != nil {
			w.log.WarnContext(ctx, "release after parking", "kommune", kommune, "answer_id", answerID, "err", err)
		}
	}
	return nil, nil
}

// deliverNow sends an answer directly. A transient failure returns the
// error, for the bus to retry with backoff; a permanent one dead-letters
// the decision, and [Worker.decidedDeadLetter] publishes answer.failed.
func (w *Worker) deliverNow(ctx context.Context, t tenant.Tenant, a Answer) ([]cloudevents.Event, error) {
	n := w.attempts.next(a.AnswerID)
	rcpt, err := w.deliverer.Deliver(ctx, t.EconomySystem, a)
	if err != nil {
		if permanentDelivery(err) {
			w.attempts.done(a.AnswerID)
			return nil, bus.Permanent(err)
		}
		return nil, err
	}
	w.attempts.done(a.AnswerID)
	ev, err := deliveredEvent(a, n, rcpt.Status, time.Now())
	if err != nil {
		return nil, bus.Permanent(err)
	}
	return []cloudevents.Event{ev}, nil
}

// decidedDeadLetter publishes answer.failed when the runtime gives up on a
// decision: a permanent delivery error, or the last of MaxDeliver attempts.
func (w *Worker) decidedDeadLetter(in cloudevents.Event, cause error, deliveries uint64) []cloudevents.Event {
	if in.Type() != events.TypeDocumentDecided {
		return nil
	}
	d, err := events.Decode[events.DocumentDecided](in)
	if err != nil {
		return nil // not a decision we could have answered
	}
	w.attempts.done(in.ID())
	t, _ := w.tenants.Get(d.Kommune)
	a := BuildAnswer(d, in.ID(), t)
	ev, err := failedEvent(a, int(deliveries), true, cause, time.Now())
	if err != nil {
		w.log.Error("answer.failed not built", "answer_id", in.ID(), "err", err)
		return nil
	}
	return []cloudevents.Event{ev}
}

// handleAgreementChanged releases the municipality's parked answers when
// the change allows them, or records why they are still held.
func (w *Worker) handleAgreementChanged(ctx context.Context, in cloudevents.Event, ch events.AgreementChanged) ([]cloudevents.Event, error) {
	kommune, err := events.KommuneOf(in)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	return nil, w.releaseAfterChange(ctx, kommune, ch.Version)
}

// handleTenantChanged releases the municipality's parked answers when the
// change allows them: a corrected economy system, or a new secret for an
// answer the economy system refused.
func (w *Worker) handleTenantChanged(ctx context.Context, in cloudevents.Event, ch events.TenantChanged) ([]cloudevents.Event, error) {
	kommune, err := events.KommuneOf(in)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	return nil, w.releaseAfterChange(ctx, kommune, ch.Version)
}

// releaseAfterChange waits until the tenant registry shows the change (see
// [Worker.settle]) and releases the municipality's parked answers. A
// transient delivery failure is returned, so the bus retries the release.
func (w *Worker) releaseAfterChange(ctx context.Context, kommune string, version int64) error {
	keys, err := w.parking.keys(ctx, kommune)
	if err != nil || len(keys) == 0 {
		return err // nothing parked: nothing to release
	}
	w.settle(ctx, kommune, uint64(max(0, version)))
	return w.release(ctx, kommune, true)
}

// versionWaiter is a [Tenants] that can wait until it has seen a version
// of a municipality's record, as tenant.Registry can.
type versionWaiter interface {
	WaitVersion(ctx context.Context, kommune string, version uint64) error
}

// settle waits, at most Config.Settle, until the registry has seen the
// change an event announces: the registry follows the tenants' bucket and
// may lag behind the event. Both events carry the version of the
// municipality's record they describe (the store's revision, as
// tenant.Store publishes them); a registry with WaitVersion waits for it,
// any other is polled until its tenant's Version reaches it. Past the
// bound the release goes on with what the registry knows; a later event or
// the sweep catches up.
func (w *Worker) settle(ctx context.Context, kommune string, version uint64) {
	if w.cfg.Settle <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Settle)
	defer cancel()
	if r, ok := w.tenants.(versionWaiter); ok {
		if err := r.WaitVersion(ctx, kommune, version); err != nil {
			w.log.InfoContext(ctx, "tenant version not seen in time; releasing on what the registry knows", "kommune", kommune, "version", version, "err", err)
		}
		return
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if t, found := w.tenants.Get(kommune); found && t.Version >= version {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// release sends kommune's parked answers in decision order, holding the
// municipality's release lock. When another worker holds it, a release
// after a decision returns at once: the holder looks for answers parked
// meanwhile after it lets go (below), so none is left behind. A release
// after a tenant or agreement change (afterChange) waits for the lock
// instead, at most the lock's TTL: the holder may have stopped on the
// record as it was before the change, and would leave the answers to the
// sweep. afterChange also tries a first answer that was refused for good
// again; otherwise it is tried only when the municipality's record has
// changed since.
//
// A transient delivery failure stops the release and is returned; the
// answers sent before it are removed from the queue.
func (w *Worker) release(ctx context.Context, kommune string, afterChange bool) error {
	for {
		lk, got, err := w.locks.tryLock(ctx, kommune)
		if err == nil && !got && afterChange {
			lk, err = w.locks.wait(ctx, kommune, w.cfg.LockTTL)
			got = err == nil
		}
		if err != nil || !got {
			return err
		}
		emptied, err := w.drain(ctx, kommune, lk, afterChange)
		if uerr := lk.unlock(ctx); uerr != nil {
			w.log.WarnContext(ctx, "unlock; the lock expires by itself", "kommune", kommune, "err", uerr)
		}
		if err != nil || !emptied {
			return err
		}
		// Answers parked while the lock was held, by decisions that found
		// it taken, are this release's to send.
		keys, err := w.parking.keys(ctx, kommune)
		if err != nil || len(keys) == 0 {
			return err
		}
		afterChange = false
	}
}

// drain sends parked answers until the queue is empty (emptied true), the
// agreements no longer allow answers, the first answer is blocked, or a
// delivery fails.
func (w *Worker) drain(ctx context.Context, kommune string, lk *lock, retryBlocked bool) (emptied bool, err error) {
	for {
		keys, err := w.parking.keys(ctx, kommune)
		if err != nil {
			return false, err
		}
		if len(keys) == 0 {
			return true, nil
		}
		for _, key := range keys {
			t, found := w.tenants.Get(kommune)
			ok, reason, detail := answersAllowed(t, found)
			if !ok {
				return false, w.repark(ctx, kommune, reason, detail)
			}
			p, found, err := w.parking.get(ctx, key)
			if err != nil {
				return false, err
			}
			if !found {
				continue
			}
			if p.Blocked && !retryBlocked && p.BlockedVersion == t.Version {
				return false, nil
			}
			if err := lk.refresh(ctx); err != nil {
				return false, err
			}
			a := p.Answer
			a.EconomySystem = t.EconomySystem.ID
			rcpt, err := w.deliverer.Deliver(ctx, t.EconomySystem, a)
			if err != nil && permanentDelivery(err) && !holdsQueue(err) {
				// The economy system refused this answer itself: it must
				// not hold up the answers behind it.
				if err := w.deadLetterParked(ctx, &p, t, err); err != nil {
					return false, err
				}
				continue
			}
			if err != nil {
				return false, w.failParked(ctx, &p, t, err)
			}
			// Publish before removing: a crash in between sends the answer
			// once more (the economy system drops it by Idempotency-Key)
			// rather than losing the notice.
			ev, err := deliveredEvent(a, p.Attempts+1, rcpt.Status, time.Now())
			if err != nil {
				return false, err
			}
			if err := w.bus.Publish(ctx, ev); err != nil {
				return false, err
			}
			if err := w.parking.remove(ctx, key); err != nil {
				return false, err
			}
		}
	}
}

// failParked records a failed attempt on a parked answer and publishes
// answer.failed. A permanent failure blocks the answer at the head of the
// queue (see [Parked].Blocked) and ends the release without an error: the
// answer is kept, and the event says an operator must act. A transient one
// is returned.
func (w *Worker) failParked(ctx context.Context, p *Parked, t tenant.Tenant, cause error) error {
	permanent := permanentDelivery(cause)
	p.Attempts++
	p.LastError = cpr.Mask(cause.Error())
	p.Blocked = permanent
	p.BlockedVersion = 0
	if permanent {
		p.BlockedVersion = t.Version
	}
	a := p.Answer
	a.EconomySystem = t.EconomySystem.ID
	var errs []error
	if err := w.parking.update(ctx, p); err != nil {
		errs = append(errs, err)
	}
	ev, err := failedEvent(a, p.Attempts, permanent, cause, time.Now())
	if err == nil {
		err = w.bus.Publish(ctx, ev)
	}
	if err != nil {
		errs = append(errs, err)
	}
	if !permanent {
		errs = append([]error{cause}, errs...)
	} else if len(errs) == 0 {
		w.log.ErrorContext(ctx, "economy system refused a parked answer; the municipality's queue waits for a tenant or agreement change",
			"kommune", a.Kommune, "answer_id", a.AnswerID, "err", p.LastError)
	}
	return errors.Join(errs...)
}

// deadLetterParked takes an answer the economy system refused for good out
// of the queue (see failedPrefix) and publishes answer.failed.
func (w *Worker) deadLetterParked(ctx context.Context, p *Parked, t tenant.Tenant, cause error) error {
	p.Attempts++
	p.LastError = cpr.Mask(cause.Error())
	a := p.Answer
	a.EconomySystem = t.EconomySystem.ID
	ev, err := failedEvent(a, p.Attempts, true, cause, time.Now())
	if err != nil {
		return err
	}
	// Notice first, then move: a crash in between repeats the notice (its
	// id is the same) rather than losing it.
	if err := w.bus.Publish(ctx, ev); err != nil {
		return err
	}
	if err := w.parking.fail(ctx, p); err != nil {
		return err
	}
	w.log.ErrorContext(ctx, "economy system refused a parked answer; it is dead-lettered and the queue goes on",
		"kommune", a.Kommune, "answer_id", a.AnswerID, "err", p.LastError)
	return nil
}

// repark records a new reason on the parked answers of kommune and
// publishes answer.parked for each whose reason changed, e.g. from
// agreement_not_approved to economy_system_mismatch.
func (w *Worker) repark(ctx context.Context, kommune string, reason events.ParkReason, detail string) error {
	parked, err := w.parking.list(ctx, kommune)
	if err != nil {
		return err
	}
	for _, p := range parked {
		if p.Reason == reason && p.Detail == detail {
			continue
		}
		changed := p.Reason != reason
		p.Reason, p.Detail = reason, detail
		if err := w.parking.update(ctx, &p); err != nil {
			return err
		}
		if !changed {
			continue
		}
		ev, err := parkedEvent(p, time.Now())
		if err != nil {
			return err
		}
		if err := w.bus.Publish(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// parkedEvent is answer.parked for p; its id is derived from the answer id
// and the reason.
func parkedEvent(p Parked, at time.Time) (cloudevents.Event, error) {
	a := p.Answer
	return events.New(events.TypeAnswerParked, events.SourceRespond, a.Kommune, a.DocumentID,
		[]string{a.AnswerID, string(p.Reason)}, events.AnswerParked{
			AnswerID:   a.AnswerID,
			DocumentID: a.DocumentID,
			Kommune:    a.Kommune,
			Reason:     p.Reason,
			Detail:     p.Detail,
			ParkedAt:   p.ParkedAt.UTC(),
		}, at)
}

// deliveredEvent is answer.delivered for a; its id is derived from the
// answer id, so a second delivery of the same answer publishes a duplicate
// that JetStream drops.
func deliveredEvent(a Answer, attempts, status int, at time.Time) (cloudevents.Event, error) {
	return events.New(events.TypeAnswerDelivered, events.SourceRespond, a.Kommune, a.DocumentID,
		[]string{a.AnswerID}, events.AnswerDelivered{
			AnswerID:        a.AnswerID,
			DocumentID:      a.DocumentID,
			Kommune:         a.Kommune,
			EconomySystemID: a.EconomySystem,
			Attempts:        attempts,
			DeliveredAt:     at.UTC(),
			StatusCode:      status,
		}, at)
}

// failedEvent is answer.failed for attempt number attempts of a. The error
// text names the economy system and the status, never the answer's data;
// CPR numbers are masked all the same.
func failedEvent(a Answer, attempts int, permanent bool, cause error, at time.Time) (cloudevents.Event, error) {
	return events.New(events.TypeAnswerFailed, events.SourceRespond, a.Kommune, a.DocumentID,
		[]string{a.AnswerID, strconv.Itoa(attempts)}, events.AnswerFailed{
			AnswerID:        a.AnswerID,
			DocumentID:      a.DocumentID,
			Kommune:         a.Kommune,
			EconomySystemID: a.EconomySystem,
			Attempts:        attempts,
			Permanent:       permanent,
			Error:           cpr.Mask(cause.Error()),
			FailedAt:        at.UTC(),
		}, at)
}
