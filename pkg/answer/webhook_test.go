package answer_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/answer"
)

// The Standard Webhooks test vectors: the secret, message id, timestamp,
// payload and signature every reference library of
// github.com/standard-webhooks/standard-webhooks checks (libraries/go,
// javascript, python, java, php, csharp: TestWebhookSign and the cases of
// TestWebhook).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	// a well-formed signature of something else, from the same tests
	vectorWrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
)

func vectorHeaders(sig string) http.Header {
	h := http.Header{}
	h.Set(answer.HeaderWebhookID, vectorID)
	h.Set(answer.HeaderWebhookTimestamp, fmt.Sprint(vectorTimestamp))
	h.Set(answer.HeaderWebhookSignature, sig)
	return h
}

func TestSignWebhookTestVector(t *testing.T) {
	got, err := answer.SignWebhook([]string{vectorSecret}, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if err != nil || got != vectorSignature {
		t.Errorf("SignWebhook = %q, %v; want %q", got, err, vectorSignature)
	}
}

func TestSignWebhookWithEverySecret(t *testing.T) {
	other := answer.SecretFromRaw("a second secret, the new one")
	got, err := answer.SignWebhook([]string{vectorSecret, other}, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if err != nil {
		t.Fatal(err)
	}
	sigs := strings.Split(got, " ")
	if len(sigs) != 2 || sigs[0] != vectorSignature || !strings.HasPrefix(sigs[1], "v1,") || sigs[1] == sigs[0] {
		t.Fatalf("SignWebhook with two secrets = %q; want the vector's signature, a space and another v1 signature", got)
	}
	now := time.Unix(vectorTimestamp+10, 0)
	for _, secrets := range [][]string{{vectorSecret}, {other}, {answer.SecretFromRaw("unrelated"), other}} {
		if err := answer.VerifyWebhook(secrets, vectorHeaders(got), []byte(vectorPayload), now, 0); err != nil {
			t.Errorf("a receiver knowing %d secret(s), one of them current: %v", len(secrets), err)
		}
	}
	if err := answer.VerifyWebhook([]string{answer.SecretFromRaw("unrelated")}, vectorHeaders(got), []byte(vectorPayload), now, 0); !errors.Is(err, answer.ErrSignature) {
		t.Errorf("a receiver knowing neither secret: %v, want ErrSignature", err)
	}
}

func TestVerifyWebhookTestVectors(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	for _, tc := range []struct {
		name   string
		edit   func(h http.Header)
		body   string
		now    time.Time
		secret string
		want   error
	}{
		{name: "valid signature is valid"},
		{name: "missing id", edit: func(h http.Header) { h.Del(answer.HeaderWebhookID) }, want: answer.ErrSignature},
		{name: "missing timestamp", edit: func(h http.Header) { h.Del(answer.HeaderWebhookTimestamp) }, want: answer.ErrTimestamp},
		{name: "missing signature", edit: func(h http.Header) { h.Del(answer.HeaderWebhookSignature) }, want: answer.ErrSignature},
		{name: "invalid signature", edit: func(h http.Header) { h.Set(answer.HeaderWebhookSignature, vectorWrong) }, want: answer.ErrSignature},
		{name: "partial signature", edit: func(h http.Header) { h.Set(answer.HeaderWebhookSignature, "v1,") }, want: answer.ErrSignature},
		{name: "not base64", edit: func(h http.Header) { h.Set(answer.HeaderWebhookSignature, "v1,dawfeoifkpqwoekfpqoekf") }, want: answer.ErrSignature},
		{name: "valid multi sig is valid", edit: func(h http.Header) {
			h.Set(answer.HeaderWebhookSignature, strings.Join([]string{vectorWrong, "v2," + vectorWrong[3:], vectorSignature, vectorWrong}, " "))
		}},
		{name: "the right signature under another version", edit: func(h http.Header) {
			h.Set(answer.HeaderWebhookSignature, "v1a,"+vectorSignature[3:])
		}, want: answer.ErrSignature},
		{name: "id changed", edit: func(h http.Header) { h.Set(answer.HeaderWebhookID, vectorID+"x") }, want: answer.ErrSignature},
		{name: "timestamp changed", edit: func(h http.Header) { h.Set(answer.HeaderWebhookTimestamp, fmt.Sprint(vectorTimestamp+1)) }, want: answer.ErrSignature},
		{name: "body changed", body: `{"test": 2432232315}`, want: answer.ErrSignature},
		{name: "old timestamp fails", now: at.Add(answer.DefaultTolerance + time.Second), want: answer.ErrTimestamp},
		{name: "new timestamp fails", now: at.Add(-answer.DefaultTolerance - time.Second), want: answer.ErrTimestamp},
		{name: "timestamp not a number", edit: func(h http.Header) { h.Set(answer.HeaderWebhookTimestamp, "2021-02-25") }, want: answer.ErrTimestamp},
		{name: "wrong secret", secret: answer.SecretFromRaw("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), want: answer.ErrSignature},
		// The reference libraries take a secret without the prefix as
		// base64 too; efaktura does not, so a raw secret is never read as
		// base64 by mistake.
		{name: "secret without prefix", secret: strings.TrimPrefix(vectorSecret, answer.SecretPrefix), want: answer.ErrSecret},
		{name: "empty secret", secret: answer.SecretPrefix, want: answer.ErrSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := vectorHeaders(vectorSignature)
			if tc.edit != nil {
				tc.edit(h)
			}
			body, now, secret := vectorPayload, at, vectorSecret
			if tc.body != "" {
				body = tc.body
			}
			if !tc.now.IsZero() {
				now = tc.now
			}
			if tc.secret != "" {
				secret = tc.secret
			}
			err := answer.VerifyWebhook([]string{secret}, h, []byte(body), now, 0)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("VerifyWebhook = %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), strings.TrimPrefix(secret, answer.SecretPrefix)) && len(secret) > len(answer.SecretPrefix) {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
}

func TestSecretFromRaw(t *testing.T) {
	// The key stays the raw secret's bytes: "s3cret" is czNjcmV0 in base64.
	if got := answer.SecretFromRaw("s3cret"); got != "whsec_czNjcmV0" {
		t.Errorf("SecretFromRaw(s3cret) = %q, want whsec_czNjcmV0", got)
	}
	if got := answer.SecretFromRaw(vectorSecret); got != vectorSecret {
		t.Errorf("SecretFromRaw of a whsec_ secret = %q, want it unchanged", got)
	}
	key, err := answer.ParseSecret(answer.SecretFromRaw("s3cret"))
	if err != nil || string(key) != "s3cret" {
		t.Errorf("ParseSecret(SecretFromRaw(s3cret)) = %q, %v", key, err)
	}
}

func TestSignWebhookRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secrets []string
		id      string
	}{
		{"no secret", nil, vectorID},
		{"raw secret", []string{"s3cret"}, vectorID},
		{"id with a full stop", []string{vectorSecret}, "a.b"},
		{"no id", []string{vectorSecret}, ""},
	} {
		if got, err := answer.SignWebhook(tc.secrets, tc.id, time.Unix(vectorTimestamp, 0), nil); err == nil {
			t.Errorf("%s: SignWebhook = %q, want an error", tc.name, got)
		}
	}
}

// A receiver verifies the exact body it read with the secrets it knows.
func ExampleVerifyWebhook() {
	secrets := []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	body := []byte(`{"test": 2432232314}`)
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	now := time.Unix(1614265330+30, 0)
	fmt.Println(answer.VerifyWebhook(secrets, h, body, now, 0))
	fmt.Println(errors.Is(answer.VerifyWebhook(secrets, h, []byte(`{"test": 1}`), now, 0), answer.ErrSignature))
	// Output:
	// <nil>
	// true
}
