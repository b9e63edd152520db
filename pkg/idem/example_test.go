package idem_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/pkg/idem"
)

// errBusy asks for a redelivery later (NakWithDelay): another worker holds
// the key's lease.
var errBusy = errors.New("another worker is handling this event")

// once runs effect at most once per key, however often the event is
// delivered: it claims the key, runs effect, and completes the key only
// after effect succeeded; on failure it releases the key so a redelivery
// can try again at once.
func once(ctx context.Context, s idem.Store, key string, effect func(context.Context) error) error {
	const (
		lease = 2 * time.Minute    // longer than effect takes; a Busy delivery comes back after it
		ttl   = 7 * 24 * time.Hour // longer than any redelivery or resend
	)
	token, st, err := s.Claim(ctx, key, lease)
	if err != nil {
		return err // outcome unknown: retry the delivery
	}
	switch st {
	case idem.Done:
		return nil // done before: ack without acting
	case idem.Busy:
		return errBusy
	}
	if err := effect(ctx); err != nil {
		// Release even when ctx was cancelled; ErrNotOwner only means the
		// lease ran out first.
		if rerr := s.Release(context.WithoutCancel(ctx), key, token); rerr != nil && !errors.Is(rerr, idem.ErrNotOwner) {
			slog.WarnContext(ctx, "idempotency key not released; it frees itself when the lease expires", "key", key, "err", rerr)
		}
		return err
	}
	if err := s.Complete(ctx, key, token, ttl); err != nil {
		// The effect happened but is not recorded: a redelivery repeats it.
		// With ErrNotOwner the lease ran out and another worker may be
		// repeating it now; the receiver's own idempotency must absorb that.
		return fmt.Errorf("record %s as done: %w", key, err)
	}
	return nil
}

// This example shows the claim, side effect, complete-or-release pattern a
// consumer runs for each delivery, here with a Redis store; a [idem.KVStore]
// from [idem.NewKV] works the same.
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"})
	defer rdb.Close()
	store := idem.NewRedis(rdb, "efaktura:idem:")

	eventID := "0b8e4f3a-4c55-4e2b-9d6f-1b2a9c117c1e" // CloudEvent id of the delivery
	err := once(ctx, store, "respond/"+eventID, func(ctx context.Context) error {
		// Deliver the verdict to the ERP, passing eventID as its idempotency key.
		return nil
	})
	switch {
	case errors.Is(err, errBusy):
		// Nak with a delay of the lease: the holder finishes or its lease runs out.
	case err != nil:
		// Nak with backoff; Term if the error is permanent.
	default:
		// Ack.
	}
}
