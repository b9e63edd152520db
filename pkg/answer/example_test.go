package answer_test

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/answer"
)

// An economy system's endpoint for answers: verify, decode, record once per
// Idempotency-Key, answer 2xx. A 4xx other than 408 and 429 tells efaktura
// the answer is refused for good; a 5xx makes it try again later.
func ExampleVerify_handler() {
	const secret = "the economy system's signing secret"
	http.HandleFunc("POST /answers", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		err = answer.Verify(secret, r.Header.Get(answer.HeaderSignature), r.Header.Get(answer.HeaderTimestamp), body, time.Now(), 0)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var a answer.Answer
		if err := json.Unmarshal(body, &a); err != nil {
			http.Error(w, "not an answer", http.StatusBadRequest)
			return
		}
		// Record a once under r.Header.Get(answer.HeaderIdempotencyKey),
		// which is a.AnswerID; a repeat is acknowledged the same way.
		w.WriteHeader(http.StatusNoContent)
	})
}
