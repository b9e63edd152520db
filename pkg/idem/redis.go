package idem

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix is the key prefix [NewRedis] uses when given "".
const DefaultRedisPrefix = "efaktura:idem:"

var _ Store = (*RedisStore)(nil)

// RedisStore is a [Store] in Redis. Each key is one Redis string under the
// store's prefix, holding "p:<token>" while leased and "d:<token>" once
// done; Redis expires it itself (PX, on the server's clock), so a lease or
// done record ends exactly when its duration has passed. Every operation is
// one Lua script on one key, hence atomic, and fine in Redis Cluster
// without hash tags: a script never touches two keys, so it never spans two
// slots.
//
// A RedisStore is safe for concurrent use. See the package documentation
// for what asynchronous replication means for a failover.
type RedisStore struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedis returns a store that keeps its keys in c under prefix, such as
// "efaktura:idem:"; "" means [DefaultRedisPrefix]. Use one prefix per
// deployment so keys of unrelated systems never collide. c may be a plain,
// Sentinel (failover) or Cluster client and must not be nil; the store does
// not close it.
func NewRedis(c redis.UniversalClient, prefix string) *RedisStore {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &RedisStore{c: c, prefix: prefix}
}

// Ping reports whether Redis answers, for readiness probes.
func (s *RedisStore) Ping(ctx context.Context) error {
	return s.c.Ping(ctx).Err()
}

// Scripts run with EVALSHA; go-redis falls back to EVAL on NOSCRIPT (after a
// restart or failover the script cache is empty).
var (
	// KEYS[1] key; ARGV[1] "p:<token>", ARGV[2] lease in ms.
	// Returns 1 when claimed, else the current value.
	redisClaim = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
	return v
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)
	// KEYS[1] key; ARGV[1] "p:<token>", ARGV[2] "d:<token>", ARGV[3] ttl in ms.
	// Returns 1 when done (now or by the same token before), else 0.
	redisComplete = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
	redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
	return 1
end
if v == ARGV[2] then
	return 1
end
return 0
`)
	// KEYS[1] key; ARGV[1] "p:<token>". Returns 1 when deleted, else 0.
	redisRelease = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)
)

// Claim implements [Store.Claim] with one script: if the key is absent,
// SET it to "p:<token>" with PX lease (rounded up to whole milliseconds);
// otherwise report Done or Busy from the value found. It returns an error
// wrapping [ErrInvalid] for an empty key or a lease that is not positive,
// ctx's error, or Redis's error.
func (s *RedisStore) Claim(ctx context.Context, key string, lease time.Duration) (string, State, error) {
	if err := checkClaim(ctx, key, lease); err != nil {
		return "", 0, err
	}
	token := newToken()
	res, err := redisClaim.Run(ctx, s.c, []string{s.prefix + key}, pendingPrefix+token, millis(lease)).Result()
	if err != nil {
		return "", 0, fmt.Errorf("idem: claim %q: %w", key, err)
	}
	switch v := res.(type) {
	case int64:
		return token, Claimed, nil
	case string:
		st, err := stateOf(v)
		if err != nil {
			return "", 0, fmt.Errorf("idem: claim %q: %w", key, err)
		}
		return "", st, nil
	}
	return "", 0, fmt.Errorf("idem: claim %q: unexpected script result %T", key, res)
}

// Complete implements [Store.Complete]: if the key holds "p:<token>", it
// becomes "d:<token>" with PX ttl (rounded up to whole milliseconds), in one
// script; it returns nil when the key already holds "d:<token>". It returns
// [ErrNotOwner] when the key holds anything else or nothing, an error wrapping [ErrInvalid] for an empty key or token or a ttl
// that is not positive, ctx's error, or Redis's error.
func (s *RedisStore) Complete(ctx context.Context, key, token string, ttl time.Duration) error {
	if err := checkComplete(ctx, key, token, ttl); err != nil {
		return err
	}
	n, err := redisComplete.Run(ctx, s.c, []string{s.prefix + key}, pendingPrefix+token, donePrefix+token, millis(ttl)).Int()
	if err != nil {
		return fmt.Errorf("idem: complete %q: %w", key, err)
	}
	if n == 0 {
		return ErrNotOwner
	}
	return nil
}

// Release implements [Store.Release]: it deletes the key if it holds
// "p:<token>", in one script. It returns [ErrNotOwner] when the key holds
// anything else or nothing (the lease expired), an error wrapping
// [ErrInvalid] for an empty key or token, ctx's error, or Redis's error.
func (s *RedisStore) Release(ctx context.Context, key, token string) error {
	if err := checkRelease(ctx, key, token); err != nil {
		return err
	}
	n, err := redisRelease.Run(ctx, s.c, []string{s.prefix + key}, pendingPrefix+token).Int()
	if err != nil {
		return fmt.Errorf("idem: release %q: %w", key, err)
	}
	if n == 0 {
		return ErrNotOwner
	}
	return nil
}

// millis rounds d up to whole milliseconds, Redis's PX unit, so a short
// duration never becomes 0 (which Redis rejects) and a lease never shrinks.
func millis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
