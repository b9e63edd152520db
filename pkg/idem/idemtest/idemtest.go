// Package idemtest checks that an [idem.Store] keeps its contract, as
// testing/fstest checks an fs.FS: every implementation runs the same suite
// against a real backend.
package idemtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/idem"
)

// Durations of the suite. Short enough to keep it fast; stores with a
// coarser clock (JetStream KV counts whole seconds) round them up, and the
// suite polls with a deadline instead of assuming an exact expiry.
const (
	lease    = 400 * time.Millisecond  // short lease for the expiry subtests
	ttl      = 400 * time.Millisecond  // short done ttl for the expiry subtest
	long     = time.Minute             // lease or ttl that does not run out during a subtest
	deadline = 15 * time.Second        // how long an expiry may take to show
	settle   = 2500 * time.Millisecond // past lease, rounded to seconds, and an expiry timer's tick
)

// TestStore runs the contract suite: one subtest per rule, each with its own
// keys, all running concurrently. newStore is called from those subtests,
// once or twice each (two workers); every store it returns must use the same
// backend (the same Redis, the same bucket), so one store sees what another
// wrote. Close what a store holds with t.Cleanup.
func TestStore(t *testing.T, newStore func(t *testing.T) idem.Store) {
	t.Helper()
	tests := []struct {
		name string
		f    func(t *testing.T, newStore func(t *testing.T) idem.Store)
	}{
		{"ClaimComplete", testClaimComplete},
		{"ClaimRelease", testClaimRelease},
		{"Busy", testBusy},
		{"ClaimConcurrentSafe", testClaimConcurrentSafe},
		{"ExactlyOnceConcurrentSafe", testExactlyOnceConcurrentSafe},
		{"LeaseExpiryTakeover", testLeaseExpiryTakeover},
		{"CompletionVisibleToLoser", testCompletionVisibleToLoser},
		{"DoneTTLExpiry", testDoneTTLExpiry},
		{"RecordOutlivesOldLease", testRecordOutlivesOldLease},
		{"WrongToken", testWrongToken},
		{"InvalidArguments", testInvalidArguments},
		{"ContextDone", testContextDone},
		{"Keys", testKeys},
	}
	// The subtests mostly wait for leases and ttls to run out, so they run
	// all at once from their own goroutines (t.Run allows it) rather than
	// with t.Parallel, which -parallel would limit to GOMAXPROCS at a time.
	var wg sync.WaitGroup
	for _, tt := range tests {
		wg.Go(func() {
			t.Run(tt.name, func(t *testing.T) { tt.f(t, newStore) })
		})
	}
	wg.Wait()
}

// newKey returns a key unique to this test and run.
func newKey(t *testing.T, name string) string {
	var b [6]byte
	rand.Read(b[:])
	return "idemtest/" + strings.ReplaceAll(t.Name(), " ", "_") + "/" + name + "/" + hex.EncodeToString(b[:])
}

func mustClaim(t *testing.T, s idem.Store, key string, d time.Duration) string {
	t.Helper()
	token, st, err := s.Claim(t.Context(), key, d)
	if err != nil || st != idem.Claimed || token == "" {
		t.Fatalf("Claim(%q, %v) = %q, %v, %v, want a token, Claimed, nil", key, d, token, st, err)
	}
	return token
}

func wantState(t *testing.T, s idem.Store, key string, want idem.State) {
	t.Helper()
	token, st, err := s.Claim(t.Context(), key, long)
	if err != nil || st != want || token != "" {
		t.Fatalf("Claim(%q) = %q, %v, %v, want \"\", %v, nil", key, token, st, err, want)
	}
}

func wantErr(t *testing.T, op string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s = %v, want %v", op, err, want)
	}
}

// pollClaim claims key until it gets Claimed, within deadline, and returns
// the token and when it succeeded.
func pollClaim(t *testing.T, s idem.Store, key string, d time.Duration) (string, time.Time) {
	t.Helper()
	stop := time.Now().Add(deadline)
	for {
		token, st, err := s.Claim(t.Context(), key, d)
		if err != nil {
			t.Fatalf("Claim(%q) = %v while waiting for expiry", key, err)
		}
		if st == idem.Claimed {
			return token, time.Now()
		}
		if time.Now().After(stop) {
			t.Fatalf("Claim(%q) = %v after %v, want Claimed once the record expired", key, st, deadline)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Claim, then Complete: later claims find the key Done.
func testClaimComplete(t *testing.T, newStore func(t *testing.T) idem.Store) {
	s, ctx, key := newStore(t), t.Context(), newKey(t, "k")
	token := mustClaim(t, s, key, long)
	if err := s.Complete(ctx, key, token, long); err != nil {
		t.Fatalf("Complete = %v, want nil", err)
	}
	wantState(t, s, key, idem.Done)
	wantState(t, newStore(t), key, idem.Done)
	if err := s.Complete(ctx, key, token, long); err != nil {
		t.Errorf("Complete again with the same token = %v, want nil", err)
	}
	wantErr(t, "Release after Complete", s.Release(ctx, key, token), idem.ErrNotOwner)
	wantState(t, s, key, idem.Done)
}

// Claim, then Release: the next claim gets the key with a new token, and the
// old token is dead.
func testClaimRelease(t *testing.T, newStore func(t *testing.T) idem.Store) {
	s, ctx, key := newStore(t), t.Context(), newKey(t, "k")
	first := mustClaim(t, s, key, long)
	if err := s.Release(ctx, key, first); err != nil {
		t.Fatalf("Release = %v, want nil", err)
	}
	wantErr(t, "Release again", s.Release(ctx, key, first), idem.ErrNotOwner)
	second := mustClaim(t, newStore(t), key, long)
	if second == first {
		t.Fatalf("second Claim returned the first token %q again", first)
	}
	wantErr(t, "Complete with the released token", s.Complete(ctx, key, first, long), idem.ErrNotOwner)
	wantErr(t, "Release with the released token", s.Release(ctx, key, first), idem.ErrNotOwner)
	if err := s.Complete(ctx, key, second, long); err != nil {
		t.Fatalf("Complete with the second token = %v, want nil", err)
	}
	wantState(t, s, key, idem.Done)
}

// A live lease makes every other claim Busy, from any store.
func testBusy(t *testing.T, newStore func(t *testing.T) idem.Store) {
	a, b, key := newStore(t), newStore(t), newKey(t, "k")
	mustClaim(t, a, key, long)
	wantState(t, b, key, idem.Busy)
	wantState(t, a, key, idem.Busy)
}

// Many workers race for one key: exactly one wins.
func testClaimConcurrentSafe(t *testing.T, newStore func(t *testing.T) idem.Store) {
	const n = 16
	stores := []idem.Store{newStore(t), newStore(t)}
	key := newKey(t, "k")
	var (
		start  = make(chan struct{})
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[idem.State]int{}
	)
	for i := range n {
		wg.Go(func() {
			<-start
			_, st, err := stores[i%len(stores)].Claim(t.Context(), key, long)
			if err != nil {
				t.Errorf("Claim = %v", err)
				return
			}
			mu.Lock()
			counts[st]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if counts[idem.Claimed] != 1 || counts[idem.Busy] != n-1 {
		t.Fatalf("%d racing claims: %d Claimed, %d Busy, %d Done; want 1, %d, 0",
			n, counts[idem.Claimed], counts[idem.Busy], counts[idem.Done], n-1)
	}
}

// Workers process the same keys with the two-phase pattern, the first
// attempts failing and releasing: every side effect succeeds exactly once.
func testExactlyOnceConcurrentSafe(t *testing.T, newStore func(t *testing.T) idem.Store) {
	const (
		workers  = 8
		nkeys    = 4
		failures = 2 // attempts per key that fail and release
	)
	stores := []idem.Store{newStore(t), newStore(t)}
	var keys [nkeys]string
	for i := range keys {
		keys[i] = newKey(t, "k")
	}
	var (
		attempts [nkeys]atomic.Int32
		effects  [nkeys]atomic.Int32
		start    = make(chan struct{})
		wg       sync.WaitGroup
	)
	stop := time.Now().Add(deadline)
	for w := range workers {
		wg.Go(func() {
			s, ctx := stores[w%len(stores)], t.Context()
			<-start
			for i, key := range keys {
				for {
					token, st, err := s.Claim(ctx, key, long)
					if err != nil {
						t.Errorf("Claim = %v", err)
						return
					}
					if st == idem.Done {
						break
					}
					if st == idem.Busy {
						if time.Now().After(stop) {
							t.Errorf("key %d still Busy after %v", i, deadline)
							return
						}
						time.Sleep(time.Millisecond)
						continue
					}
					if attempts[i].Add(1) <= failures {
						if err := s.Release(ctx, key, token); err != nil {
							t.Errorf("Release = %v, want nil", err)
							return
						}
						continue
					}
					effects[i].Add(1)
					if err := s.Complete(ctx, key, token, long); err != nil {
						t.Errorf("Complete = %v, want nil", err)
						return
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range keys {
		if got, want := effects[i].Load(), int32(1); got != want {
			t.Errorf("key %d: %d side effects, want %d", i, got, want)
		}
		if got, want := attempts[i].Load(), int32(failures+1); got != want {
			t.Errorf("key %d: %d claims, want %d", i, got, want)
		}
	}
}

// A lease that runs out lets another worker take over, never earlier; the
// old owner can then neither complete nor release, even once the new owner
// released.
func testLeaseExpiryTakeover(t *testing.T, newStore func(t *testing.T) idem.Store) {
	a, b, ctx, key := newStore(t), newStore(t), t.Context(), newKey(t, "k")
	start := time.Now()
	old := mustClaim(t, a, key, lease)
	if _, st, err := b.Claim(ctx, key, long); err != nil || (st != idem.Busy && time.Since(start) < lease) {
		t.Fatalf("Claim during the lease = %v, %v, want Busy", st, err)
	}
	token, at := pollClaim(t, b, key, long)
	if took := at.Sub(start); took < lease {
		t.Fatalf("another worker took over after %v, before the lease of %v ran out", took, lease)
	}
	t.Logf("lease of %v taken over after %v", lease, at.Sub(start))
	wantErr(t, "old owner's Complete", a.Complete(ctx, key, old, long), idem.ErrNotOwner)
	wantErr(t, "old owner's Release", a.Release(ctx, key, old), idem.ErrNotOwner)
	wantState(t, a, key, idem.Busy)
	if err := b.Release(ctx, key, token); err != nil {
		t.Fatalf("new owner's Release = %v, want nil", err)
	}
	wantErr(t, "old owner's Complete on a free key", a.Complete(ctx, key, old, long), idem.ErrNotOwner)
	wantErr(t, "old owner's Release on a free key", a.Release(ctx, key, old), idem.ErrNotOwner)
	token = mustClaim(t, b, key, long)
	if err := b.Complete(ctx, key, token, long); err != nil {
		t.Fatalf("new owner's Complete = %v, want nil", err)
	}
	wantState(t, a, key, idem.Done)
}

// The worker that lost the race sees Done once the winner completed.
func testCompletionVisibleToLoser(t *testing.T, newStore func(t *testing.T) idem.Store) {
	winner, loser, key := newStore(t), newStore(t), newKey(t, "k")
	token := mustClaim(t, winner, key, long)
	wantState(t, loser, key, idem.Busy)
	if err := winner.Complete(t.Context(), key, token, long); err != nil {
		t.Fatalf("Complete = %v, want nil", err)
	}
	wantState(t, loser, key, idem.Done)
}

// A done record is forgotten after its ttl, never earlier.
func testDoneTTLExpiry(t *testing.T, newStore func(t *testing.T) idem.Store) {
	s, key := newStore(t), newKey(t, "k")
	token := mustClaim(t, s, key, long)
	start := time.Now()
	if err := s.Complete(t.Context(), key, token, ttl); err != nil {
		t.Fatalf("Complete = %v, want nil", err)
	}
	if _, st, err := s.Claim(t.Context(), key, long); err != nil || (st != idem.Done && time.Since(start) < ttl) {
		t.Fatalf("Claim within the ttl = %v, %v, want Done", st, err)
	}
	token, at := pollClaim(t, s, key, long)
	if took := at.Sub(start); took < ttl {
		t.Fatalf("done record forgotten after %v, before its ttl of %v", took, ttl)
	}
	t.Logf("done record with ttl %v forgotten after %v", ttl, at.Sub(start))
	if err := s.Complete(t.Context(), key, token, long); err != nil {
		t.Fatalf("Complete after the ttl = %v, want nil", err)
	}
}

// The short lease a record started with ends nothing once the key was
// completed, or released and claimed again with a longer lease.
func testRecordOutlivesOldLease(t *testing.T, newStore func(t *testing.T) idem.Store) {
	s, ctx := newStore(t), t.Context()
	done, reclaimed := newKey(t, "done"), newKey(t, "reclaimed")
	token := mustClaim(t, s, done, lease)
	if err := s.Complete(ctx, done, token, long); err != nil {
		t.Fatalf("Complete = %v, want nil", err)
	}
	token = mustClaim(t, s, reclaimed, lease)
	if err := s.Release(ctx, reclaimed, token); err != nil {
		t.Fatalf("Release = %v, want nil", err)
	}
	token = mustClaim(t, s, reclaimed, long)
	// Watch both keys until well past the first lease: nothing may change.
	for stop := time.Now().Add(settle); time.Now().Before(stop); time.Sleep(50 * time.Millisecond) {
		wantState(t, s, done, idem.Done)
		wantState(t, s, reclaimed, idem.Busy)
	}
	if err := s.Complete(ctx, reclaimed, token, long); err != nil {
		t.Fatalf("Complete of the reclaimed key = %v, want nil", err)
	}
}

// Tokens that do not hold the lease are refused, and do not disturb it.
func testWrongToken(t *testing.T, newStore func(t *testing.T) idem.Store) {
	s, ctx := newStore(t), t.Context()
	key, other, never := newKey(t, "k"), newKey(t, "other"), newKey(t, "never")
	token := mustClaim(t, s, key, long)
	otherToken := mustClaim(t, s, other, long)
	for _, wrong := range []string{"not-a-token", strings.Repeat("0", len(token)), otherToken, "p:" + token, token + "x"} {
		wantErr(t, "Complete with token "+wrong, s.Complete(ctx, key, wrong, long), idem.ErrNotOwner)
		wantErr(t, "Release with token "+wrong, s.Release(ctx, key, wrong), idem.ErrNotOwner)
	}
	wantErr(t, "Complete of a key never claimed", s.Complete(ctx, never, token, long), idem.ErrNotOwner)
	wantErr(t, "Release of a key never claimed", s.Release(ctx, never, token), idem.ErrNotOwner)
	wantState(t, s, key, idem.Busy)
	if err := s.Complete(ctx, key, token, long); err != nil {
		t.Fatalf("Complete with the right token = %v, want nil", err)
	}
	wantState(t, s, key, idem.Done)
	mustClaim(t, s, never, long)
}

// Invalid arguments wrap ErrInvalid and leave the store alone.
func testInvalidArguments(t *testing.T, newStore func(t *testing.T) idem.Store) {
	s, ctx, key := newStore(t), t.Context(), newKey(t, "k")
	token := mustClaim(t, s, key, long)
	claims := []struct {
		key   string
		lease time.Duration
	}{{"", long}, {key, 0}, {key, -time.Second}}
	for _, c := range claims {
		tok, st, err := s.Claim(ctx, c.key, c.lease)
		if !errors.Is(err, idem.ErrInvalid) || tok != "" {
			t.Errorf("Claim(%q, %v) = %q, %v, %v, want an error wrapping ErrInvalid", c.key, c.lease, tok, st, err)
		}
	}
	completes := []struct {
		key, token string
		ttl        time.Duration
	}{{"", token, long}, {key, "", long}, {key, token, 0}, {key, token, -time.Second}}
	for _, c := range completes {
		if err := s.Complete(ctx, c.key, c.token, c.ttl); !errors.Is(err, idem.ErrInvalid) {
			t.Errorf("Complete(%q, %q, %v) = %v, want an error wrapping ErrInvalid", c.key, c.token, c.ttl, err)
		}
	}
	releases := []struct{ key, token string }{{"", token}, {key, ""}}
	for _, c := range releases {
		if err := s.Release(ctx, c.key, c.token); !errors.Is(err, idem.ErrInvalid) {
			t.Errorf("Release(%q, %q) = %v, want an error wrapping ErrInvalid", c.key, c.token, err)
		}
	}
	wantState(t, s, key, idem.Busy)
	if err := s.Complete(ctx, key, token, long); err != nil {
		t.Fatalf("Complete after the invalid calls = %v, want nil", err)
	}
}

// A done context fails the call with its error and changes nothing.
func testContextDone(t *testing.T, newStore func(t *testing.T) idem.Store) {
	s, key := newStore(t), newKey(t, "k")
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	for _, c := range []struct {
		ctx  context.Context
		want error
	}{{canceled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		if tok, st, err := s.Claim(c.ctx, key, long); !errors.Is(err, c.want) {
			t.Errorf("Claim with a done context = %q, %v, %v, want %v", tok, st, err, c.want)
		}
	}
	token := mustClaim(t, s, key, long)
	for _, c := range []struct {
		ctx  context.Context
		want error
	}{{canceled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		wantErr(t, "Complete with a done context", s.Complete(c.ctx, key, token, long), c.want)
		wantErr(t, "Release with a done context", s.Release(c.ctx, key, token), c.want)
	}
	wantState(t, s, key, idem.Busy)
	if err := s.Complete(t.Context(), key, token, long); err != nil {
		t.Fatalf("Complete with a live context = %v, want nil", err)
	}
}

// Keys of any text are distinct keys, however a store has to encode them.
func testKeys(t *testing.T, newStore func(t *testing.T) idem.Store) {
	s, ctx := newStore(t), t.Context()
	base := newKey(t, "k")
	keys := []string{
		base + "/plain-id_0=",
		base + "/a b", base + "/a_b", base + "/a.b", base + "/a..b", base + "/a.",
		base + "/urn:uuid:7c1e0b8e-4f3a-4c55-9e2b-0d6f1b2a9c11",
		base + "/faktura æøå 🧾",
		base + "/*", base + "/>", base + "/\x00\n",
		base + "/" + strings.Repeat("x", 1000),
		base + "/" + strings.Repeat("x", 1001),
	}
	tokens := make([]string, len(keys))
	for i, k := range keys {
		tokens[i] = mustClaim(t, s, k, long)
	}
	for i, k := range keys {
		wantState(t, s, k, idem.Busy)
		if err := s.Complete(ctx, k, tokens[i], long); err != nil {
			t.Fatalf("Complete(%q) = %v, want nil", k, err)
		}
	}
	for _, k := range keys {
		wantState(t, s, k, idem.Done)
	}
	mustClaim(t, s, base+"/a:b", long)
}
