package decide

import (
	"context"
	"errors"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/kp-efaktura/efaktura/pkg/bus"
)

// maxReannounce bounds the document.decided events of one sweep, so a long
// respond outage does not turn into one huge burst.
const maxReannounce = 1000

// announcement is the schedule of one decision's re-announcements.
type announcement struct {
	at     time.Time     // when it is due again
	gap    time.Duration // the pause before that
	warned bool          // its horizon passed, and that was logged
}

// reannounce publishes document.decided again for decisions respond has not
// reported on (their answer is still pending) Config.Reannounce after they
// were written, then after twice as long each time, until ctx is done.
//
// It is what makes a verdict given over HTTP safe to write before it is
// announced: a process that stops between the two leaves a decided record
// and no event, and this sweep, in any replica, announces it.
//
// A copy must never be answered twice, so announcing again stops at the
// horizon, nine tenths of the stream's duplicate window after the decision
// was written: until then JetStream drops any copy of a decision that went
// out (the event id comes from the document), past it a copy would be
// stored and answered again once respond's idempotency store has forgotten
// the first. A decision still pending then is logged once, for an operator
// to look at: respond down for that long, or decide unable to record
// respond's reports.
func (w *Worker) reannounce(ctx context.Context) {
	tick := time.NewTicker(max(w.cfg.Reannounce/4, time.Second))
	defer tick.Stop()
	due := map[string]*announcement{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := w.now()
		evs, keys := w.dueAnnouncements(due, now)
		if len(evs) == 0 {
			continue
		}
		if err := w.bus.Publish(ctx, evs...); err != nil {
			if !errors.Is(err, bus.ErrClosed) {
				w.log.WarnContext(ctx, "announce decisions again", "count", len(evs), "err", err)
			}
			continue // due as they were: tried again at the next tick
		}
		for _, k := range keys {
			a := due[k]
			a.gap = max(w.cfg.Reannounce, 2*a.gap)
			a.at = now.Add(a.gap)
		}
		w.log.InfoContext(ctx, "decisions announced again: respond has not reported on their answers", "count", len(evs))
	}
}

// announceHorizon is how long after its decision was written a
// document.decided may be published again, for a stream whose duplicate
// window is window; see [Worker.reannounce].
func announceHorizon(window time.Duration) time.Duration {
	return window - window/10
}

// dueAnnouncements returns the document.decided events due at now, at most
// maxReannounce, with the keys of their records, and keeps due, the
// schedule by record key, to the decisions still waiting.
func (w *Worker) dueAnnouncements(due map[string]*announcement, now time.Time) ([]cloudevents.Event, []string) {
	waiting := w.store.idx.unanswered(now.Add(-w.cfg.Reannounce))
	horizon := now.Add(-announceHorizon(w.bus.Config().DuplicateWindow))
	var evs []cloudevents.Event
	var keys []string
	live := make(map[string]bool, len(waiting))
	for _, r := range waiting {
		k := key(r.Kommune, r.ID)
		live[k] = true
		a := due[k]
		if a == nil {
			a = &announcement{at: now}
			due[k] = a
		}
		switch {
		case r.UpdatedAt.Before(horizon):
			if !a.warned {
				a.warned = true
				w.log.Warn("a decision has had no answer report for most of the duplicate window; it is not announced again, as a copy could now be answered twice",
					"document_id", r.ID, "kommune", r.Kommune, "decided_at", r.DecidedAt)
			}
			continue
		case now.Before(a.at) || len(evs) == maxReannounce:
			continue
		}
		e, err := decidedEvent(r)
		if err != nil {
			w.log.Error("announce decision again", "document_id", r.ID, "kommune", r.Kommune, "err", err)
			continue
		}
		evs, keys = append(evs, e), append(keys, k)
	}
	for k := range due {
		if !live[k] {
			delete(due, k)
		}
	}
	return evs, keys
}
