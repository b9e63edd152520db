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
	c := claim{store: r.store, bundleID: id, key: "bundle/" + k.String()}
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

// claim is a duplicate-bundle key held for one intake.
type claim struct {
	store    idem.Store
	bundleID string
	key      string
	token    string // empty when nothing is held
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

// commit completes an accepted bundle's key until a week into the next
// Danish year, once its events are out. It retries: a bundle whose key is
// lost would let a later bundle with the same key through as if new.
func (w *Worker) commit(ctx context.Context, c claim, receivedAt time.Time) {
	ttl := untilNextYear(receivedAt)
	ctx = context.WithoutCancel(ctx)
	var err error
	for _, wait := range []time.Duration{0, 100 * time.Millisecond, time.Second, 5 * time.Second} {
		time.Sleep(wait)
		if err = c.complete(ctx, ttl); err == nil || errors.Is(err, idem.ErrNotOwner) {
			break
		}
	}
	if err != nil {
		w.log.ErrorContext(ctx, "duplicate-bundle key not kept; a resent bundle may be taken in twice", "bundle_id", c.bundleID, "err", err)
	}
}

var copenhagen = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		panic(err)
	}
	return loc
}()

func danishYear(t time.Time) int { return t.In(copenhagen).Year() }

// untilNextYear is how long a duplicate key must live: to the end of the
// Danish year it was accepted in, plus a week for clocks and late retries.
func untilNextYear(t time.Time) time.Duration {
	dk := t.In(copenhagen)
	next := time.Date(dk.Year()+1, time.January, 1, 0, 0, 0, 0, copenhagen)
	return next.Sub(t) + 7*24*time.Hour
}
