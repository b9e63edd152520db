package answer_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/answer"
)

// The vector was computed outside Go:
// python3 -c 'import hmac,hashlib; print(hmac.new(b"s3cret", b"1767225600." + b"{\"answer_id\":\"a-1\"}", hashlib.sha256).hexdigest())'
func TestSignKnownVector(t *testing.T) {
	got := answer.Sign("s3cret", "1767225600", []byte(`{"answer_id":"a-1"}`))
	want := "sha256=2778a9653a6fa25f834949561baec11cd89306906e5360abcfd6d8f22088fd31"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerifyRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	body := []byte(`{"answer_id":"a-1","decision":"approved"}`)
	ts := answer.Timestamp(now)
	sig := answer.Sign("s3cret", ts, body)
	if err := answer.Verify("s3cret", sig, ts, body, now.Add(time.Minute), 0); err != nil {
		t.Fatalf("Verify of a fresh signature = %v, want nil", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	body := []byte(`{"answer_id":"a-1","decision":"approved"}`)
	ts := answer.Timestamp(now)
	sig := answer.Sign("s3cret", ts, body)
	for _, tc := range []struct {
		name            string
		secret, sig, ts string
		body            []byte
		at              time.Time
		tolerance       time.Duration
		want            error
	}{
		{"tampered body", "s3cret", sig, ts, []byte(`{"answer_id":"a-1","decision":"rejected"}`), now, 0, answer.ErrSignature},
		{"wrong secret", "other", sig, ts, body, now, 0, answer.ErrSignature},
		{"timestamp changed", "s3cret", sig, answer.Timestamp(now.Add(time.Second)), body, now, 0, answer.ErrSignature},
		{"no prefix", "s3cret", sig[len("sha256="):], ts, body, now, 0, answer.ErrSignature},
		{"not hex", "s3cret", "sha256=zz", ts, body, now, 0, answer.ErrSignature},
		{"missing signature", "s3cret", "", ts, body, now, 0, answer.ErrSignature},
		{"missing timestamp", "s3cret", sig, "", body, now, 0, answer.ErrTimestamp},
		{"replayed later", "s3cret", sig, ts, body, now.Add(6 * time.Minute), 0, answer.ErrTimestamp},
		{"from the future", "s3cret", sig, ts, body, now.Add(-2 * time.Minute), time.Minute, answer.ErrTimestamp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := answer.Verify(tc.secret, tc.sig, tc.ts, tc.body, tc.at, tc.tolerance)
			if !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// A receiver checks the headers against the exact body it read.
func ExampleVerify() {
	body := []byte(`{"answer_id":"a-1"}`)
	ts := "1767225600"
	sig := answer.Sign("s3cret", ts, body) // what the sender put in X-Efaktura-Signature
	now := time.Unix(1767225630, 0)
	fmt.Println(answer.Verify("s3cret", sig, ts, body, now, 0))
	fmt.Println(answer.Verify("s3cret", sig, ts, []byte(`{"answer_id":"a-2"}`), now, 0) != nil)
	// Output:
	// <nil>
	// true
}
