package respond

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// locks are per-municipality leases in a JetStream KV bucket whose TTL is
// the lease: a worker that dies holding one loses it after the TTL. Only
// one release of a municipality's parked answers runs at a time, across
// every replica.
type locks struct {
	kv jetstream.KeyValue
}

// lock is a held lease.
type lock struct {
	kv    jetstream.KeyValue
	key   string
	token []byte
	rev   uint64
}

// tryLock takes kommune's lease; false when another worker holds it.
func (l *locks) tryLock(ctx context.Context, kommune string) (*lock, bool, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := []byte(hex.EncodeToString(b[:]))
	rev, err := l.kv.Create(ctx, kommune, token)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("take release lock of %s: %w", kommune, err)
	}
	return &lock{kv: l.kv, key: kommune, token: token, rev: rev}, true, nil
}

// wait takes kommune's lease once its holder lets go or the lease runs
// out, polling; it gives up after limit with errLockBusy, which the bus
// retries.
func (l *locks) wait(ctx context.Context, kommune string, limit time.Duration) (*lock, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s held for %v: %w", errLockBusy, kommune, limit, ctx.Err())
		case <-tick.C:
		}
		lk, got, err := l.tryLock(ctx, kommune)
		if err != nil || got {
			return lk, err
		}
	}
}

// refresh renews the lease; it returns errLockLost when the lease ran out
// and someone else took it.
func (lk *lock) refresh(ctx context.Context) error {
	rev, err := lk.kv.Update(ctx, lk.key, lk.token, lk.rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("%w: %s", errLockLost, lk.key)
	}
	if err != nil {
		return fmt.Errorf("renew release lock of %s: %w", lk.key, err)
	}
	lk.rev = rev
	return nil
}

// unlock gives the lease up, unless it was lost already.
func (lk *lock) unlock(ctx context.Context) error {
	err := lk.kv.Delete(context.WithoutCancel(ctx), lk.key, jetstream.LastRevision(lk.rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("release lock of %s: %w", lk.key, err)
	}
	return nil
}
