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

// reannounceAfterMax bounds the pause between two announcements of the
// same decision.
const reannounceAfterMax = time.Hour

// retry is when a decision is announced again, and the pause after that.
type retry struct {
	at  time.Time
	gap time.Duration
}

// reannounce publishes document.decided again for decisions respond has not
// reported on (their answer is still pending) Config.Reannounce after they
// were made, then after twice as long each time, up to an hour, until ctx
// is done.
//
// It is what makes a verdict given over HTTP safe to write before it is
// announced: a process that stops between the two leaves a decided record
// and no event, and this sweep, in any replica, announces it. Announcing a
// decision twice is harmless: the event id comes from the document, so
// JetStream drops a copy within its duplicate window, and respond's
// idempotency store remembers the answer id longer than that. The only
// cost is an event per waiting decision while respond is down.
func (w *Worker) reannounce(ctx context.Context) {
	tick := time.NewTicker(max(w.cfg.Reannounce/4, time.Second))
	defer tick.Stop()
	due := map[string]retry{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		evs := w.dueAnnouncements(due, w.now())
		if len(evs) == 0 {
			continue
		}
		if err := w.bus.Publish(ctx, evs...); err != nil {
			if !errors.Is(err, bus.ErrClosed) {
				w.log.WarnContext(ctx, "announce decisions again", "count", len(evs), "err", err)
			}
			continue
		}
		w.log.InfoContext(ctx, "decisions announced again: respond has not reported on their answers", "count", len(evs))
	}
}

// dueAnnouncements returns the document.decided events due at now, at most
// maxReannounce, and keeps due, the schedule by record key, to the
// decisions still waiting.
func (w *Worker) dueAnnouncements(due map[string]retry, now time.Time) []cloudevents.Event {
	waiting := w.store.idx.unanswered(now.Add(-w.cfg.Reannounce))
	var evs []cloudevents.Event
	live := make(map[string]bool, len(waiting))
	for _, r := range waiting {
		k := key(r.Kommune, r.ID)
		live[k] = true
		d, seen := due[k]
		if seen && now.Before(d.at) || len(evs) == maxReannounce {
			continue
		}
		gap := w.cfg.Reannounce
		if seen {
			gap = min(2*d.gap, reannounceAfterMax)
		}
		e, err := decidedEvent(r)
		if err != nil {
			w.log.Error("announce decision again", "document_id", r.ID, "kommune", r.Kommune, "err", err)
			continue
		}
		due[k] = retry{at: now.Add(gap), gap: gap}
		evs = append(evs, e)
	}
	for k := range due {
		if !live[k] {
			delete(due, k)
		}
	}
	return evs
}
