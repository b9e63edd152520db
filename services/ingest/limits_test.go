package ingest

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// retryAfterSeconds is the Retry-After of a 429, which must be a whole
// number of seconds, at least 1.
func retryAfterSeconds(t *testing.T, h http.Header) int {
	t.Helper()
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Errorf("Retry-After = %q; want whole seconds, at least 1", h.Get("Retry-After"))
	}
	return n
}

// TestUploadsPerToken: a token with MaxUploadsPerToken uploads in progress
// gets 429 with Retry-After for one more; another token goes on; once an
// upload ends, the token may send again.
func TestUploadsPerToken(t *testing.T) {
	f := setup(t, Config{MaxUploadsPerToken: 2, UploadWindow: time.Minute})
	bundle := example(t, "valid-invoice.xml")
	var hanging []*rawUpload
	for range 2 {
		u := f.startUpload(t, "erp-token", "application/xml", int64(len(bundle)))
		if err := u.send(bundle[:100]); err != nil {
			t.Fatal(err)
		}
		hanging = append(hanging, u)
	}
	waitFor(t, func() bool { return f.inProgress("0101") == 2 })

	code, h, _ := f.postFull(t, "erp-token", bundle)
	if code != http.StatusTooManyRequests {
		t.Fatalf("a third upload of the token: %d, want 429", code)
	}
	retryAfterSeconds(t, h)
	if code, body := f.post(t, "erp2-token", bundle); code != http.StatusAccepted {
		t.Errorf("another token meanwhile: %d %v, want 202", code, body)
	}

	if err := hanging[0].send(bundle[100:]); err != nil {
		t.Fatal(err)
	}
	if code, _, body := hanging[0].response(); code != http.StatusAccepted {
		t.Errorf("the first upload, finished: %d %v, want 202", code, body)
	}
	waitFor(t, func() bool { return f.inProgress("0101") == 1 })
	if code, body := f.post(t, "erp-token", example(t, "valid-creditnote.xml")); code != http.StatusAccepted {
		t.Errorf("a bundle once an upload ended: %d %v, want 202", code, body)
	}
}

// TestRatePerToken: a token past its burst gets 429 with a Retry-After
// that says when the rate allows the next request; another token does not.
func TestRatePerToken(t *testing.T) {
	f := setup(t, Config{RatePerToken: 0.01, BurstPerToken: 2}) // one request per 100 s
	for _, name := range []string{"valid-invoice.xml", "valid-creditnote.xml"} {
		if code, body := f.post(t, "erp-token", example(t, name)); code != http.StatusAccepted {
			t.Fatalf("%s within the burst: %d %v, want 202", name, code, body)
		}
	}
	code, h, _ := f.postFull(t, "erp-token", example(t, "valid-reminder.xml"))
	if code != http.StatusTooManyRequests {
		t.Fatalf("past the burst: %d, want 429", code)
	}
	if s := retryAfterSeconds(t, h); s < 90 || s > 100 {
		t.Errorf("Retry-After = %d s; want about 100 s at 0.01 requests a second", s)
	}
	if code, body := f.post(t, "erp2-token", example(t, "valid-reminder.xml")); code != http.StatusAccepted {
		t.Errorf("another token: %d %v, want 202", code, body)
	}
}
