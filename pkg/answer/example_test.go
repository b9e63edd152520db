package answer_test

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/answer"
)

// An economy system's endpoint for answers: verify, decode, record once per
// webhook-id, answer 2xx. A 4xx other than 408 and 429 tells efaktura the
// answer is refused for good; a 5xx makes it try again later, and a 429 or
// 503 with Retry-After says when.
func ExampleVerifyWebhook_handler() {
	// The secrets the economy system knows: one, or the old and the new
	// one while a secret is rotated.
	secrets := []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	http.HandleFunc("POST /answers", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if err := answer.VerifyWebhook(secrets, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var a answer.Answer
		if err := json.Unmarshal(body, &a); err != nil {
			http.Error(w, "not an answer", http.StatusBadRequest)
			return
		}
		// Record a once under r.Header.Get(answer.HeaderWebhookID), which
		// is a.AnswerID; a repeat is acknowledged the same way.
		w.WriteHeader(http.StatusNoContent)
	})
}
