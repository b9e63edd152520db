package ingest

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// limits are the per-token limits of the HTTP API: requests in progress
// (Config.MaxUploadsPerToken) and requests per second (Config.RatePerToken,
// Config.BurstPerToken). A token is known by its principal, the
// municipality and the economy system's id, never by the token itself; the
// ingest tokens of one economy system share their limits. Entries are never
// dropped: there is one per registered economy system that ever sent.
type limits struct {
	max   int
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	byToken map[string]*tokenLimits
}

type tokenLimits struct {
	uploads int // in progress; guarded by limits.mu
	rate    *rate.Limiter
}

func newLimits(c Config) *limits {
	return &limits{max: c.MaxUploadsPerToken, rate: rate.Limit(c.RatePerToken), burst: c.BurstPerToken,
		byToken: map[string]*tokenLimits{}}
}

// busyRetry is the Retry-After for a token at its limit of uploads in
// progress: when one ends is not known.
const busyRetry = 5 * time.Second

// admit lets a request of p in at now, or says how long it should wait.
// When ok, the caller must call done once the request is answered.
func (l *limits) admit(p tenant.Principal, now time.Time) (done func(), retryAfter time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := p.Kommune + "/" + p.Name
	t := l.byToken[key]
	if t == nil {
		t = &tokenLimits{rate: rate.NewLimiter(l.rate, l.burst)}
		l.byToken[key] = t
	}
	if t.uploads >= l.max {
		return nil, busyRetry, false
	}
	r := t.rate.ReserveN(now, 1)
	if d := r.DelayFrom(now); !r.OK() || d > 0 {
		r.CancelAt(now)
		return nil, max(d, time.Second), false
	}
	t.uploads++
	return func() {
		l.mu.Lock()
		t.uploads--
		l.mu.Unlock()
	}, 0, true
}
