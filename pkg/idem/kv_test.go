package idem

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

// validKVKey is nats.go's rule for KV keys (jetstream/kv.go, keyValid).
var validKVKey = regexp.MustCompile(`^[-/_=\.a-zA-Z0-9]+$`)

func TestKVKey(t *testing.T) {
	plain := []string{"a", "validate/4f1c0b8e-4f3a-4c55-9e2b-0d6f1b2a9c11", "A-b_c=d.e/f", strings.Repeat("x", maxPlainKey)}
	for _, k := range plain {
		if got, want := kvKey(k), "k."+k; got != want {
			t.Errorf("kvKey(%q) = %q, want %q", k, got, want)
		}
	}
	hashed := []string{"a b", "a:b", ".a", "a.", "a..b", "æ", "*", ">", "a\x00", strings.Repeat("x", maxPlainKey+1)}
	seen := map[string]string{}
	for _, k := range append(plain, hashed...) {
		got := kvKey(k)
		if !validKVKey.MatchString(got) || strings.Contains(got, "..") || strings.HasSuffix(got, ".") {
			t.Errorf("kvKey(%q) = %q, not a valid KV key", k, got)
		}
		if prev, ok := seen[got]; ok {
			t.Errorf("kvKey(%q) = kvKey(%q) = %q", k, prev, got)
		}
		seen[got] = k
	}
	for _, k := range hashed {
		if got := kvKey(k); !strings.HasPrefix(got, "h.") || len(got) != 2+64 {
			t.Errorf("kvKey(%q) = %q, want h. and a hex SHA-256", k, got)
		}
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct{ in, want time.Duration }{
		{time.Nanosecond, time.Second},
		{300 * time.Millisecond, time.Second},
		{time.Second, time.Second},
		{1001 * time.Millisecond, 2 * time.Second},
		{7 * 24 * time.Hour, 7 * 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := seconds(tt.in); got != tt.want {
			t.Errorf("seconds(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestWritePrefix(t *testing.T) {
	tests := []struct {
		o    jetstream.JetStreamOptions
		want string
	}{
		{jetstream.JetStreamOptions{}, "$KV.b."},
		{jetstream.JetStreamOptions{APIPrefix: "$JS.API"}, "$KV.b."},
		{jetstream.JetStreamOptions{APIPrefix: "$JS.API."}, "$KV.b."},
		{jetstream.JetStreamOptions{APIPrefix: "other.API"}, "other.API.$KV.b."},
		{jetstream.JetStreamOptions{Domain: "hub"}, "$JS.hub.API.$KV.b."},
	}
	for _, tt := range tests {
		if got := writePrefix(tt.o, "b"); got != tt.want {
			t.Errorf("writePrefix(%+v) = %q, want %q", tt.o, got, tt.want)
		}
	}
}

func TestKVConfigValidate(t *testing.T) {
	for _, c := range []KVConfig{{}, {Bucket: "EFAKTURA_idem-2", Replicas: 3, Storage: jetstream.MemoryStorage}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v, want nil", c, err)
		}
	}
	err := KVConfig{Replicas: 7, Storage: 9}.Validate()
	if !errors.Is(err, ErrInvalid) || strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("Validate of two bad fields = %v, want two errors wrapping ErrInvalid", err)
	}
}

func TestNewKVUpdatesBucket(t *testing.T) {
	ctx := t.Context()
	js, err := jetstream.New(natstest.Connect(t, natstest.Start(t)))
	if err != nil {
		t.Fatal(err)
	}
	// A bucket made without per-key TTLs, as an older release may have left it.
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: DefaultBucket, History: 5}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := NewKV(ctx, js, KVConfig{}); err != nil {
			t.Fatalf("NewKV = %v, want nil", err)
		}
	}
	str, err := js.Stream(ctx, "KV_"+DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	c := str.CachedInfo().Config
	if !c.AllowMsgTTL || c.SubjectDeleteMarkerTTL != markerTTL || c.MaxMsgsPerSubject != 1 {
		t.Errorf("bucket stream: AllowMsgTTL %v, SubjectDeleteMarkerTTL %v, MaxMsgsPerSubject %d; want true, %v, 1",
			c.AllowMsgTTL, c.SubjectDeleteMarkerTTL, c.MaxMsgsPerSubject, markerTTL)
	}
	if _, err := NewKV(ctx, js, KVConfig{Bucket: "no.dots"}); !errors.Is(err, jetstream.ErrInvalidBucketName) {
		t.Errorf("NewKV with bucket no.dots = %v, want jetstream.ErrInvalidBucketName", err)
	}
}

// TestKVRecords checks what the store writes, message by message: the
// subject nats.go's KV reads, the values and the Nats-TTL headers.
func TestKVRecords(t *testing.T) {
	ctx := t.Context()
	js, err := jetstream.New(natstest.Connect(t, natstest.Start(t)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewKV(ctx, js, KVConfig{Bucket: "records"})
	if err != nil {
		t.Fatal(err)
	}
	str, err := js.Stream(ctx, "KV_records")
	if err != nil {
		t.Fatal(err)
	}
	last := func(key string) (val, ttl, op string) {
		t.Helper()
		m, err := str.GetLastMsgForSubject(ctx, "$KV.records."+kvKey(key))
		if err != nil {
			t.Fatalf("last message of %q: %v", key, err)
		}
		return string(m.Data), m.Header.Get(jetstream.MsgTTLHeader), m.Header.Get("KV-Operation")
	}
	check := func(key, wantVal, wantTTL, wantOp string) {
		t.Helper()
		if val, ttl, op := last(key); val != wantVal || ttl != wantTTL || op != wantOp {
			t.Errorf("last message of %q = %q, TTL %q, op %q; want %q, %q, %q", key, val, ttl, op, wantVal, wantTTL, wantOp)
		}
	}

	token, _, err := s.Claim(ctx, "a b", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	check("a b", "p:"+token, "1s", "")
	if err := s.Complete(ctx, "a b", token, 36*time.Hour); err != nil {
		t.Fatal(err)
	}
	check("a b", "d:"+token, "36h0m0s", "")

	token, _, err = s.Claim(ctx, "c", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	check("c", "p:"+token, "1m0s", "")
	if err := s.Release(ctx, "c", token); err != nil {
		t.Fatal(err)
	}
	check("c", "", markerTTL.String(), "PURGE")

	info, err := str.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Msgs; got != 2 {
		t.Errorf("bucket holds %d messages, want 2: one per key", got)
	}
}
