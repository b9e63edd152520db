package answer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (https://www.standardwebhooks.com/, version 1.0.0):
// every answer is sent with these three headers. The signed content is
// webhook-id + "." + webhook-timestamp + "." + body.
const (
	// HeaderWebhookID carries the answer id, the same value as
	// [HeaderIdempotencyKey]: it stays the same on every retry.
	HeaderWebhookID = "webhook-id"
	// HeaderWebhookTimestamp carries the attempt's time as Unix seconds in
	// decimal, e.g. "1767225600"; each retry has its own.
	HeaderWebhookTimestamp = "webhook-timestamp"
	// HeaderWebhookSignature carries one or more signatures separated by
	// spaces, each "v1," and the base64 HMAC-SHA256 of the signed content
	// keyed with one of the economy system's current secrets.
	HeaderWebhookSignature = "webhook-signature"
)

// SecretPrefix starts a signing secret in the Standard Webhooks form:
// "whsec_" and the standard base64 of the key's bytes.
const SecretPrefix = "whsec_"

// ErrSecret: a signing secret is not "whsec_" and the base64 of a
// non-empty key.
var ErrSecret = errors.New("answer: bad signing secret")

// signatureVersion identifies an HMAC-SHA256 signature in
// [HeaderWebhookSignature]; asymmetric ones ("v1a") are not used.
const signatureVersion = "v1"

// ParseSecret returns the key of a secret in the "whsec_<base64>" form.
// The error wraps [ErrSecret] and never quotes the secret.
func ParseSecret(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: it must start with %q", ErrSecret, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: what follows %q is not standard base64", ErrSecret, SecretPrefix)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: the key is empty", ErrSecret)
	}
	return key, nil
}

// SecretFromRaw returns the "whsec_" form of a secret given as plain text,
// as efaktura's economy systems had before Standard Webhooks: the key is
// the text's bytes, so the HMAC key stays the same. A raw secret that
// already starts with "whsec_" is taken to be in that form and returned
// as it is.
func SecretFromRaw(raw string) string {
	if strings.HasPrefix(raw, SecretPrefix) {
		return raw
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString([]byte(raw))
}

// SignWebhook returns the value of [HeaderWebhookSignature] for a body
// sent with webhook-id id at time ts: one "v1,<base64 signature>" per
// secret, in the order given, separated by spaces. Signing with every
// current secret lets a receiver that knows any of them verify, which is
// how a secret is rotated without downtime. id must not contain a full
// stop.
func SignWebhook(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", fmt.Errorf("%w: no secret to sign with", ErrSecret)
	}
	if id == "" || strings.Contains(id, ".") {
		return "", fmt.Errorf("%w: webhook-id %q must be non-empty and hold no full stop", ErrSignature, id)
	}
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := ParseSecret(s)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, signatureVersion+","+base64.StdEncoding.EncodeToString(webhookMAC(key, id, Timestamp(ts), body)))
	}
	return strings.Join(sigs, " "), nil
}

func webhookMAC(key []byte, id, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifyWebhook checks a received answer against its Standard Webhooks
// headers: webhook-id, webhook-timestamp and webhook-signature must be
// present, the timestamp within tolerance of now either way (0 means
// [DefaultTolerance]), and one of the "v1" signatures in webhook-signature
// must be the HMAC-SHA256 of id.timestamp.body keyed with one of secrets
// (compared in constant time; other versions are skipped). secrets are in
// the "whsec_<base64>" form; list several while a secret is rotated.
//
// It returns nil or an error wrapping [ErrTimestamp], [ErrSignature] or
// [ErrSecret]; the error never quotes the body or a secret. It does not
// check that webhook-id equals [HeaderIdempotencyKey] or the answer's
// answer_id: a receiver records the answer once per webhook-id.
func VerifyWebhook(secrets []string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		key, err := ParseSecret(s)
		if err != nil {
			return err
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: no secret to verify with", ErrSecret)
	}
	id, ts, sig := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" {
		return fmt.Errorf("%w: %s is missing", ErrSignature, HeaderWebhookID)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not Unix seconds", ErrTimestamp, HeaderWebhookTimestamp, ts)
	}
	if skew := now.Sub(time.Unix(sec, 0)).Abs(); skew > tolerance {
		return fmt.Errorf("%w: %s is %v away from now; at most %v allowed", ErrTimestamp, HeaderWebhookTimestamp, skew.Truncate(time.Second), tolerance)
	}
	if sig == "" {
		return fmt.Errorf("%w: %s is missing", ErrSignature, HeaderWebhookSignature)
	}
	want := make([][]byte, len(keys))
	for i, key := range keys {
		want[i] = webhookMAC(key, id, ts, body)
	}
	for _, versioned := range strings.Fields(sig) {
		version, b64, ok := strings.Cut(versioned, ",")
		if !ok || version != signatureVersion {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		for _, w := range want {
			if hmac.Equal(got, w) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: no v1 signature in %s matches id, timestamp and body under any of the %d secrets", ErrSignature, HeaderWebhookSignature, len(keys))
}
