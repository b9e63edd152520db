package answer

import (
	"errors"
	"strconv"
	"time"
)

// Errors of [VerifyWebhook].
var (
	// ErrSignature: the signature or the webhook-id is missing or
	// malformed, or no signature matches the id, timestamp and body.
	ErrSignature = errors.New("answer: bad signature")
	// ErrTimestamp: the signature's timestamp is missing, malformed or
	// outside the tolerance.
	ErrTimestamp = errors.New("answer: bad signature timestamp")
)

// HeaderIdempotencyKey carries the answer id, as [HeaderWebhookID] does;
// the receiver records an answer once per key.
const HeaderIdempotencyKey = "Idempotency-Key"

// DefaultTolerance is how far a signature's timestamp may lie from the
// receiver's clock, either way, when [VerifyWebhook] is given no tolerance
// (the Standard Webhooks libraries' tolerance too).
const DefaultTolerance = 5 * time.Minute

// Timestamp formats t as the value of [HeaderWebhookTimestamp]: Unix
// seconds in decimal.
func Timestamp(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
