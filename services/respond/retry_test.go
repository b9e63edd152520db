package respond_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
	"github.com/kp-efaktura/efaktura/services/erpsim"
	"github.com/kp-efaktura/efaktura/services/respond"
)

// The backoff doubles from the first pause up to the longest, and each
// pause lies within the jitter of its step, never outside, and varies.
func TestBackoffIsExponentialWithBoundedJitter(t *testing.T) {
	cfg := respond.Config{BackoffInitial: time.Second, BackoffMax: 5 * time.Minute}
	for attempt, step := range map[int]time.Duration{
		1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 16 * time.Second,
		9: 256 * time.Second, 10: 5 * time.Minute, 1000: 5 * time.Minute,
	} {
		lo := time.Duration(float64(step) * (1 - respond.BackoffJitter))
		hi := time.Duration(float64(step)*(1+respond.BackoffJitter)) + 1
		seen := map[time.Duration]bool{}
		var below, above bool
		for range 300 {
			d := respond.Backoff(cfg, attempt)
			if d < lo || d > hi {
				t.Fatalf("attempt %d: pause %v outside [%v, %v]", attempt, d, lo, hi)
			}
			seen[d] = true
			below = below || d < step*8/10
			above = above || d > step*12/10
		}
		if len(seen) < 100 || !below || !above {
			t.Errorf("attempt %d: %d distinct pauses in 300, some below 0.8 step %v, some above 1.2 step %v; want jitter across the range", attempt, len(seen), below, above)
		}
	}
	if d := respond.Backoff(respond.Config{}, 1); d < 500*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("default first pause %v, want 1s with jitter", d)
	}
}

// An economy system that answers 503 with Retry-After: 1 is not asked
// again sooner, although the backoff would come back within tens of
// milliseconds; answer.failed says when the next attempt comes, and it
// comes then.
func TestRetryAfterIsHonoured(t *testing.T) {
	e := newEnv(t, erpsim.Config{FailRatio: 1, RetryAfter: time.Second})
	e.cfg = respond.Config{BackoffInitial: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond, RetryAfterMax: time.Minute}
	e.put(kommune, tenant.Approved, esID, secret)
	e.start()
	id := e.decide(kommune, 1)
	failed := bustest.Payloads[events.AnswerFailed](t, e.rec.Wait(t, events.TypeAnswerFailed, 2))
	e.sim.SetFailRatio(0)
	if got := e.recorded(1); got[0] != id {
		t.Fatalf("economy system got %v, want %s", got, id)
	}
	posts := e.postTimes()
	if len(posts) < 3 {
		t.Fatalf("%d requests, want two refused and one taken", len(posts))
	}
	const tolerance = 10 * time.Millisecond // the wall clock's and the server's rounding
	for i := 1; i < len(posts); i++ {
		if gap := posts[i].Sub(posts[i-1]); gap < time.Second-tolerance {
			t.Errorf("request %d came %v after the one before, which asked for Retry-After: 1", i+1, gap)
		}
	}
	for i, f := range failed[:2] {
		if f.StatusCode != 503 || f.Permanent || f.NextAttemptAt == nil {
			t.Fatalf("answer.failed %d = %+v, want a transient 503 with the next attempt's time", i+1, f)
		}
		if d := f.NextAttemptAt.Sub(f.FailedAt); d != time.Second {
			t.Errorf("answer.failed %d: next attempt %v after the failure, want the 1s asked for", i+1, d)
		}
		if posts[i+1].Before(f.NextAttemptAt.Add(-tolerance)) {
			t.Errorf("request %d at %v came before answer.failed's next_attempt_at %v", i+2, posts[i+1], *f.NextAttemptAt)
		}
	}
}

// Without Retry-After, answer.failed's next_attempt_at is the jittered
// backoff the worker naks with: within the jitter of the attempt's step,
// and the next request comes no sooner.
func TestNextAttemptAtIsTheBackoffUsed(t *testing.T) {
	e := newEnv(t, erpsim.Config{FailRatio: 1})
	e.cfg = respond.Config{BackoffInitial: 200 * time.Millisecond, BackoffMax: 400 * time.Millisecond}
	e.put(kommune, tenant.Approved, esID, secret)
	e.start()
	e.decide(kommune, 1)
	failed := bustest.Payloads[events.AnswerFailed](t, e.rec.Wait(t, events.TypeAnswerFailed, 3))
	e.sim.SetFailRatio(0)
	e.recorded(1)
	posts := e.postTimes()
	const tolerance = 10 * time.Millisecond
	for i, f := range failed[:3] {
		step := min(200*time.Millisecond<<i, 400*time.Millisecond)
		if f.Attempts != i+1 || f.NextAttemptAt == nil {
			t.Fatalf("answer.failed %d = %+v, want attempt %d with the next attempt's time", i+1, f, i+1)
		}
		d := f.NextAttemptAt.Sub(f.FailedAt)
		if d < step/2 || d > step*3/2+time.Millisecond {
			t.Errorf("answer.failed %d: next attempt in %v, want within the jitter of %v", i+1, d, step)
		}
		if len(posts) <= i+1 || posts[i+1].Before(f.NextAttemptAt.Add(-tolerance)) {
			t.Errorf("request %d: %v, before answer.failed's next_attempt_at %v", i+2, fmt.Sprint(posts), *f.NextAttemptAt)
		}
	}
}

// Retry-After is a floor: an economy system that asks for a second while
// the backoff has grown longer gets the backoff, so it is not tried every
// second for ever.
func TestRetryAfterShorterThanTheBackoffIsAFloor(t *testing.T) {
	e := newEnv(t, erpsim.Config{FailRatio: 1, RetryAfter: time.Second})
	e.cfg = respond.Config{BackoffInitial: 4 * time.Second, BackoffMax: 4 * time.Second, RetryAfterMax: time.Minute}
	e.put(kommune, tenant.Approved, esID, secret)
	e.start()
	e.decide(kommune, 1)
	f := bustest.Payloads[events.AnswerFailed](t, e.rec.Wait(t, events.TypeAnswerFailed, 1))[0]
	if f.NextAttemptAt == nil {
		t.Fatalf("answer.failed %+v without next_attempt_at", f)
	}
	if d := f.NextAttemptAt.Sub(f.FailedAt); d < 2*time.Second {
		t.Errorf("next attempt %v after the failure; want the backoff (4s, jittered to 2s–6s), not the 1s Retry-After asked for", d)
	}
}
