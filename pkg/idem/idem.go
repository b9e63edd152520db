package idem

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// State is what [Store.Claim] found for a key.
type State uint8

const (
	// Claimed means the caller now holds the lease and must Complete or
	// Release the key with the token Claim returned.
	Claimed State = iota + 1
	// Done means the key was completed earlier: skip the side effect.
	Done
	// Busy means another owner holds a live lease: retry later.
	Busy
)

// String returns the state's name, such as "Claimed".
func (s State) String() string {
	switch s {
	case Claimed:
		return "Claimed"
	case Done:
		return "Done"
	case Busy:
		return "Busy"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Store records leases and completions of idempotency keys. Implementations
// are safe for concurrent use by many goroutines and processes.
//
// Every method returns an error wrapping [ErrInvalid] for an invalid
// argument, and the context's error when ctx is done before the store
// answered. Any other error is the store's: the outcome is then unknown, so
// treat it as "retry later". A Claim that failed this way may still have
// taken the key; the key frees itself when the lease expires.
type Store interface {
	// Claim tries to take key for lease. On [Claimed] it returns the owner
	// token to pass to Complete or Release; on [Done] and [Busy] the token
	// is empty. A key whose lease expired, whose done record outlived its
	// ttl, or that was released is claimed afresh.
	Claim(ctx context.Context, key string, lease time.Duration) (token string, st State, err error)

	// Complete marks key done for ttl, only while token still holds the
	// lease; otherwise it returns [ErrNotOwner]. A lease that expired is
	// lost even when nobody took over since: the late completion is
	// refused, and the side effect it reports may be repeated by the next
	// owner. (A store may notice an expiry somewhat late, never early; see
	// [KVStore].) Completing again with the same token returns nil and
	// leaves the first completion's ttl in place.
	Complete(ctx context.Context, key, token string, ttl time.Duration) error

	// Release frees key so the next Claim gets it at once, only while token
	// holds the lease; otherwise it returns [ErrNotOwner], also when the
	// key is gone because the lease expired, and when it was completed.
	// Callers on a failure path may log ErrNotOwner and go on: the key is
	// free, done or someone else's either way. Release is for failures; a
	// crashed owner needs none, its lease runs out.
	Release(ctx context.Context, key, token string) error
}

// Record values: "p:<token>" while a lease is held, "d:<token>" once done.
const (
	pendingPrefix = "p:"
	donePrefix    = "d:"
)

// newToken returns 128 random bits in hex.
func newToken() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

// stateOf maps a stored value to Done or Busy.
func stateOf(v string) (State, error) {
	switch {
	case strings.HasPrefix(v, donePrefix):
		return Done, nil
	case strings.HasPrefix(v, pendingPrefix):
		return Busy, nil
	}
	return 0, fmt.Errorf("unexpected record of %d bytes, not written by package idem", len(v))
}

func checkClaim(ctx context.Context, key string, lease time.Duration) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if lease <= 0 {
		return fmt.Errorf("%w: lease %v is not positive", ErrInvalid, lease)
	}
	return ctx.Err()
}

func checkComplete(ctx context.Context, key, token string, ttl time.Duration) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if token == "" {
		return fmt.Errorf("%w: empty token", ErrInvalid)
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: ttl %v is not positive", ErrInvalid, ttl)
	}
	return ctx.Err()
}

func checkRelease(ctx context.Context, key, token string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if token == "" {
		return fmt.Errorf("%w: empty token", ErrInvalid)
	}
	return ctx.Err()
}
