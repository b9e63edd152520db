package idem

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/pkg/redistest"
)

// TestRedisRecords checks what the store writes: values and expiries.
func TestRedisRecords(t *testing.T) {
	ctx := t.Context()
	c := redis.NewClient(&redis.Options{Addr: redistest.Start(t).Addr})
	t.Cleanup(func() { c.Close() })
	s := NewRedis(c, "")
	check := func(key, wantVal string, maxTTL time.Duration) {
		t.Helper()
		val, err := c.Get(ctx, DefaultRedisPrefix+key).Result()
		if err != nil || val != wantVal {
			t.Fatalf("GET %s = %q, %v, want %q", DefaultRedisPrefix+key, val, err, wantVal)
		}
		pttl, err := c.PTTL(ctx, DefaultRedisPrefix+key).Result()
		if err != nil || pttl <= 0 || pttl > maxTTL {
			t.Errorf("PTTL %s = %v, %v, want in (0, %v]", DefaultRedisPrefix+key, pttl, err, maxTTL)
		}
	}

	token, _, err := s.Claim(ctx, "k", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 32 {
		t.Errorf("token %q has %d characters, want 32 hex digits", token, len(token))
	}
	check("k", "p:"+token, time.Minute)
	if err := s.Complete(ctx, "k", token, time.Hour); err != nil {
		t.Fatal(err)
	}
	check("k", "d:"+token, time.Hour)

	token, _, err = s.Claim(ctx, "r", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, "r", token); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(ctx, DefaultRedisPrefix+"r").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS after Release = %d, %v, want 0", n, err)
	}
}

func TestMillis(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want int64
	}{{time.Nanosecond, 1}, {time.Millisecond, 1}, {1500 * time.Microsecond, 2}, {time.Minute, 60000}}
	for _, tt := range tests {
		if got := millis(tt.in); got != tt.want {
			t.Errorf("millis(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
