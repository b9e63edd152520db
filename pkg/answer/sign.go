package answer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors of [Verify].
var (
	// ErrSignature: the signature is missing, malformed or does not match
	// the body.
	ErrSignature = errors.New("answer: bad signature")
	// ErrTimestamp: the signature's timestamp is missing, malformed or
	// outside the tolerance.
	ErrTimestamp = errors.New("answer: bad signature timestamp")
)

// Headers of an answer delivery.
const (
	// HeaderIdempotencyKey carries the answer id; the receiver records an
	// answer once per key.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderTimestamp carries the signing time as Unix seconds in decimal,
	// e.g. "1767225600". It is part of the signed string.
	HeaderTimestamp = "X-Efaktura-Timestamp"
	// HeaderSignature carries "sha256=" and the lower-case hex HMAC-SHA256 of
	// the signing string (see [Sign]).
	HeaderSignature = "X-Efaktura-Signature"
)

// DefaultTolerance is how far a signature's timestamp may lie from the
// receiver's clock, either way, when [Verify] is given no tolerance.
const DefaultTolerance = 5 * time.Minute

const signaturePrefix = "sha256="

// Timestamp formats t as the value of [HeaderTimestamp]: Unix seconds in
// decimal.
func Timestamp(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// Sign returns the value of [HeaderSignature] for a body sent at timestamp
// (the value of [HeaderTimestamp]):
//
//	"sha256=" + hex(HMAC-SHA256(key = secret, message = timestamp + "." + body))
//
// body is the exact bytes of the request body. Signing the timestamp with
// the body stops a captured request from being replayed later than the
// receiver's tolerance; within it, the Idempotency-Key makes a replay a
// repeat of the same answer. Any language reproduces the signature from
// this description.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a received body against the values of [HeaderSignature]
// and [HeaderTimestamp]: the signature must be [Sign] of the secret, the
// timestamp and the body (compared in constant time), and the timestamp
// within tolerance of now (0 means [DefaultTolerance]). It returns an error
// wrapping [ErrTimestamp] or [ErrSignature]; the error never quotes the
// body.
func Verify(secret, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not Unix seconds", ErrTimestamp, HeaderTimestamp, timestamp)
	}
	if skew := now.Sub(time.Unix(sec, 0)).Abs(); skew > tolerance {
		return fmt.Errorf("%w: %s is %v away from now; at most %v allowed", ErrTimestamp, HeaderTimestamp, skew.Truncate(time.Second), tolerance)
	}
	got, ok := strings.CutPrefix(signature, signaturePrefix)
	if !ok {
		return fmt.Errorf("%w: %s must start with %q", ErrSignature, HeaderSignature, signaturePrefix)
	}
	gotMAC, err := hex.DecodeString(got)
	if err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrSignature, HeaderSignature)
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(secret, timestamp, body), signaturePrefix))
	if !hmac.Equal(gotMAC, want) {
		return fmt.Errorf("%w: HMAC-SHA256 of timestamp and body does not match", ErrSignature)
	}
	return nil
}
