package respond_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
	"github.com/kp-efaktura/efaktura/services/erpsim"
	"github.com/kp-efaktura/efaktura/services/respond"
)

var testAnswer = answer.Answer{AnswerID: "answer-1", Kommune: "0101", EconomySystem: "es-1", Decision: "approved", Reasons: []answer.Reason{}}

func TestHTTPDelivererSignsTheExactBody(t *testing.T) {
	now := time.Date(2026, 2, 9, 10, 0, 0, 0, time.UTC)
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	d := respond.NewHTTPDeliverer(5 * time.Second)
	d.Now = func() time.Time { return now }
	// A legacy plain secret: signed with its bytes as the key.
	rcpt, err := d.Deliver(context.Background(), tenant.EconomySystem{ID: "es-1", Endpoint: srv.URL + "/answers", Secret: "s3cret"}, testAnswer)
	if err != nil || rcpt.Status != http.StatusAccepted {
		t.Fatalf("Deliver = %+v, %v; want status 202", rcpt, err)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/answers" {
		t.Errorf("request %s %s, want POST /answers", got.Method, got.URL.Path)
	}
	for h, want := range map[string]string{
		"Content-Type":                "application/json",
		answer.HeaderIdempotencyKey:   "answer-1",
		answer.HeaderWebhookID:        "answer-1",
		answer.HeaderWebhookTimestamp: "1770631200",
	} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
	if err := answer.VerifyWebhook([]string{"whsec_czNjcmV0"}, got.Header, body, now, 0); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	for _, old := range []string{"X-Efaktura-Signature", "X-Efaktura-Timestamp"} {
		if v := got.Header.Get(old); v != "" {
			t.Errorf("the replaced header %s is still sent: %q", old, v)
		}
	}
}

// Rotation: every current secret signs, so a receiver that knows any one
// of them verifies; the official Standard Webhooks library verifies the
// same request, and efaktura's verifier agrees with the library.
func TestHTTPDelivererSignsWithEverySecret(t *testing.T) {
	oldS, newS := answer.SecretFromRaw("the old secret"), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	var got http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	es := tenant.EconomySystem{ID: "es-1", Endpoint: srv.URL, Secrets: []string{oldS, newS}}
	if _, err := respond.NewHTTPDeliverer(5*time.Second).Deliver(t.Context(), es, testAnswer); err != nil {
		t.Fatal(err)
	}
	sigs := strings.Fields(got.Get(answer.HeaderWebhookSignature))
	if len(sigs) != 2 {
		t.Fatalf("webhook-signature = %q, want two signatures", got.Get(answer.HeaderWebhookSignature))
	}
	for _, secret := range []string{oldS, newS} {
		if err := answer.VerifyWebhook([]string{secret}, got, body, time.Now(), 0); err != nil {
			t.Errorf("answer.VerifyWebhook with one of the secrets: %v", err)
		}
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, got); err != nil {
			t.Errorf("the Standard Webhooks library: %v", err)
		}
	}
	if err := answer.VerifyWebhook([]string{answer.SecretFromRaw("another")}, got, body, time.Now(), 0); !errors.Is(err, answer.ErrSignature) {
		t.Errorf("a receiver with neither secret: %v, want ErrSignature", err)
	}
	// Both implementations sign alike.
	ts, _ := strconv.ParseInt(got.Get(answer.HeaderWebhookTimestamp), 10, 64)
	ours, err := answer.SignWebhook([]string{oldS, newS}, testAnswer.AnswerID, time.Unix(ts, 0), body)
	if err != nil || ours != got.Get(answer.HeaderWebhookSignature) {
		t.Errorf("answer.SignWebhook = %q, %v; the library signed %q", ours, err, got.Get(answer.HeaderWebhookSignature))
	}
}

func TestHTTPDelivererReadsRetryAfter(t *testing.T) {
	now := time.Date(2026, 2, 9, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		status     int
		retryAfter string
		want       time.Duration
	}{
		{http.StatusServiceUnavailable, "1", time.Second},
		{http.StatusTooManyRequests, "120", 2 * time.Minute},
		{http.StatusServiceUnavailable, now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{http.StatusServiceUnavailable, now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{http.StatusServiceUnavailable, "soon", 0},
		{http.StatusServiceUnavailable, "-5", 0},
		{http.StatusServiceUnavailable, "", 0},
		{http.StatusInternalServerError, "30", 0}, // only 429 and 503 are read
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.retryAfter != "" {
				w.Header().Set("Retry-After", tc.retryAfter)
			}
			w.WriteHeader(tc.status)
		}))
		d := respond.NewHTTPDeliverer(time.Second)
		d.Now = func() time.Time { return now }
		_, err := d.Deliver(t.Context(), tenant.EconomySystem{ID: "es-1", Endpoint: srv.URL, Secret: "s"}, testAnswer)
		srv.Close()
		var de *respond.DeliveryError
		if !errors.As(err, &de) || de.Permanent || de.RetryAfter != tc.want {
			t.Errorf("%d with Retry-After %q: %#v, want a transient DeliveryError with RetryAfter %v", tc.status, tc.retryAfter, err, tc.want)
		}
	}
}

func TestHTTPDelivererClassifiesFailures(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{
		{http.StatusBadRequest, true},
		{http.StatusUnauthorized, true},
		{http.StatusNotFound, true},
		{http.StatusConflict, true},
		{http.StatusUnprocessableEntity, true},
		{http.StatusFound, true}, // redirects are not followed
		{http.StatusRequestTimeout, false},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusBadGateway, false},
		{http.StatusServiceUnavailable, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.status == http.StatusFound {
				w.Header().Set("Location", "/elsewhere")
			}
			w.WriteHeader(tc.status)
		}))
		_, err := respond.NewHTTPDeliverer(time.Second).Deliver(context.Background(), tenant.EconomySystem{ID: "es-1", Endpoint: srv.URL, Secret: "s"}, testAnswer)
		srv.Close()
		var de *respond.DeliveryError
		if !errors.As(err, &de) || de.Status != tc.status || de.Permanent != tc.permanent {
			t.Errorf("status %d: Deliver error = %#v, want a DeliveryError with Permanent %v", tc.status, err, tc.permanent)
		}
	}
}

func TestHTTPDelivererFailsWithoutResponse(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	closed := srv.URL
	srv.Close()
	unblock := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-unblock:
		}
	}))
	defer slow.Close()
	defer close(unblock)
	for _, tc := range []struct {
		name      string
		es        tenant.EconomySystem
		permanent bool
	}{
		{"connection refused", tenant.EconomySystem{ID: "es-1", Endpoint: closed, Secret: "s"}, false},
		{"timeout", tenant.EconomySystem{ID: "es-1", Endpoint: slow.URL, Secret: "s"}, false},
		{"no secret", tenant.EconomySystem{ID: "es-1", Endpoint: closed}, true},
		{"not a URL", tenant.EconomySystem{ID: "es-1", Endpoint: "erp.example/answers", Secret: "s"}, true},
		{"no endpoint", tenant.EconomySystem{ID: "es-1", Secret: "s"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := respond.NewHTTPDeliverer(200*time.Millisecond).Deliver(context.Background(), tc.es, testAnswer)
			var de *respond.DeliveryError
			if !errors.As(err, &de) || de.Status != 0 || de.Permanent != tc.permanent {
				t.Errorf("Deliver error = %v, want a DeliveryError without status, Permanent %v", err, tc.permanent)
			}
		})
	}
}

// The ERP simulator is the receiver the deliverer is tested against end to
// end: a repeat of an answer is recorded once.
func TestHTTPDelivererToTheSimulator(t *testing.T) {
	sim := erpsim.New(erpsim.Config{Secrets: map[string]string{"es-1": "s3cret"}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	d := respond.NewHTTPDeliverer(time.Second)
	es := tenant.EconomySystem{ID: "es-1", Endpoint: srv.URL + erpsim.PathAnswers, Secret: "s3cret"}
	for range 2 {
		if _, err := d.Deliver(t.Context(), es, testAnswer); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
	if got := sim.Answers(); len(got) != 1 || got[0].Deliveries != 2 {
		t.Errorf("Answers = %+v, want one answer delivered twice", got)
	}
}
