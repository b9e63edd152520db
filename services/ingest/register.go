package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/idem"
)

// bundleRegistry is V10's register of accepted bundles on the idempotency
// store, for one intake. Validation claims the bundle's key (Register); the
// claim is completed for the rest of the year once the bundle's events are
// out ([Worker.commit]), and released when the bundle is not taken in, so a
// bundle that failed can be sent again.
type bundleRegistry struct {
	store idem.Store
	lease time.Duration
	// claim is the key Register took; for a duplicate it names the
	// accepted bundle and holds no token.
	claim claim
	// err is set when the register could not say: the store failed, or the
	// same bundle is being taken in right now and may yet fail.
	err error
}

var _ efaktura.BundleRegistry = (*bundleRegistry)(nil)

// errInProgress: the same bundle is being taken in by another request.
var errInProgress = errors.New("the same bundle is being taken in right now")

// Register implements [efaktura.BundleRegistry].
func (r *bundleRegistry) Register(ctx context.Context, k efaktura.BundleKey) (bool, error) {
	id := events.BundleID(k.ServiceProvider, k.SenderType, k.SenderID, k.Reference, k.Year)
	c := claim{store: r.store, bundleID: id, key: keyName(id), expires: time.Now().Add(r.lease)}
	token, st, err := r.store.Claim(ctx, c.key, r.lease)
	switch {
	case err != nil:
		r.err = fmt.Errorf("claim the duplicate-bundle key: %w", err)
		return false, r.err
	case st == idem.Busy:
		r.err = errInProgress
		return false, r.err
	case st == idem.Claimed:
		c.token = token
	}
	r.claim = c
	return st == idem.Done, nil
}

// keyName is a bundle's key in the idempotency store: "bundle/" and the
// bundle id, a UUID v5 (a SHA-1 hash) of the duplicate key's parts. It never
// holds REFERENCE itself, which economy systems may fill with a CPR number
// (issue 9); idem's errors quote the key, so they stay free of it too.
func keyName(bundleID string) string { return "bundle/" + bundleID }

// claim is a duplicate-bundle key held for one intake.
type claim struct {
	store    idem.Store
	bundleID string
	key      string
	token    string    // empty when nothing is held
	expires  time.Time // the lease's end, after which completing is refused
}

// complete keeps the key for ttl.
func (c claim) complete(ctx context.Context, ttl time.Duration) error {
	if err := c.store.Complete(ctx, c.key, c.token, ttl); err != nil {
		return fmt.Errorf("complete the duplicate-bundle key of bundle %s: %w", c.bundleID, err)
	}
	return nil
}

// release frees the key for a resend. A failure needs no handling: the
// claim's lease runs out on its own.
func (c claim) release(ctx context.Context) {
	if c.token != "" {
		_ = c.store.Release(context.WithoutCancel(ctx), c.key, c.token)
	}
}

// Completion retries: the first after completeFirstWait, each next one
// twice as long after, up to completeMaxWait, while the lease lasts.
const (
	completeFirstWait = 100 * time.Millisecond
	completeMaxWait   = 5 * time.Second
	completeTimeout   = 5 * time.Second // per try
)

// commit completes an accepted bundle's key until a week into the next
// Danish year, once its events are out. It tries once, in the request: an
// HTTP request never sleeps on it. Should that fail, the worker keeps trying
// in the background while the claim's lease lasts, and [Worker.Close] waits
// for those tries. The tries matter: a bundle whose key is lost would be
// taken in again, as new, when it is sent again.
func (w *Worker) commit(ctx context.Context, c claim, receivedAt time.Time) {
	ttl := untilNextYear(receivedAt)
	err := c.complete(ctx, ttl)
	if err == nil {
		return
	}
	if !errors.Is(err, idem.ErrNotOwner) && w.later(func(stop <-chan struct{}) { w.completeLater(ctx, c, ttl, stop) }) {
		w.log.WarnContext(ctx, "duplicate-bundle key not completed yet; trying again in the background", "bundle_id", c.bundleID, "err", err)
		return
	}
	w.log.ErrorContext(ctx, "duplicate-bundle key not kept; the same bundle sent again would be taken in twice", "bundle_id", c.bundleID, "err", err)
}

// later runs f in a goroutine that [Worker.Close] stops (closing stop) and
// waits for. It reports false, and does not run f, once Close was called.
func (w *Worker) later(f func(stop <-chan struct{})) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.background.Go(func() { f(w.stop) })
	return true
}

// completeLater retries completing c until it succeeds, the lease ends, or
// stop is closed, which brings one last try at once.
func (w *Worker) completeLater(ctx context.Context, c claim, ttl time.Duration, stop <-chan struct{}) {
	ctx = context.WithoutCancel(ctx)
	for wait := completeFirstWait; ; wait = min(2*wait, completeMaxWait) {
		// A try must reach the store before the lease ends.
		left := time.Until(c.expires) - time.Second
		last := left <= wait
		timer := time.NewTimer(max(min(wait, left), 0))
		select {
		case <-timer.C:
		case <-stop:
			timer.Stop()
			last = true
		}
		tctx, cancel := context.WithTimeout(ctx, completeTimeout)
		err := c.complete(tctx, ttl)
		cancel()
		switch {
		case err == nil:
			w.log.InfoContext(ctx, "duplicate-bundle key completed after a retry", "bundle_id", c.bundleID)
			return
		case last || errors.Is(err, idem.ErrNotOwner):
			w.log.ErrorContext(ctx, "duplicate-bundle key not kept; the same bundle sent again would be taken in twice", "bundle_id", c.bundleID, "err", err)
			return
		}
	}
}

var copenhagen = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		panic(err)
	}
	return loc
}()

// untilNextYear is how long a duplicate key must live: to the end of the
// Danish year it was accepted in, plus a week for clocks and late retries.
func untilNextYear(t time.Time) time.Duration {
	dk := t.In(copenhagen)
	next := time.Date(dk.Year()+1, time.January, 1, 0, 0, 0, 0, copenhagen)
	return next.Sub(t) + 7*24*time.Hour
}
