// Package answer is what an economy system needs to receive efaktura's
// answers: the [Answer] it is sent for each decided invoice, credit note or
// reminder, and [VerifyWebhook], which checks the request's signature.
//
// It is a module of its own, with nothing but the standard library, so an
// integrator imports it without the rest of efaktura:
//
//	go get github.com/kp-efaktura/efaktura/pkg/answer
//
// An answer arrives as an HTTP POST of the [Answer] as JSON, signed as
// Standard Webhooks (https://www.standardwebhooks.com/) specify, with the
// headers [HeaderWebhookID] and [HeaderIdempotencyKey] (both the answer
// id: a repeat is the same answer), [HeaderWebhookTimestamp] and
// [HeaderWebhookSignature]: "v1," and the base64 HMAC-SHA256 of
// id.timestamp.body, one per current secret of the economy system,
// separated by spaces. Secrets have the form "whsec_" and the base64 of
// the key; [SecretFromRaw] turns a secret given as plain text into it.
// Any Standard Webhooks library verifies an answer too. See the example of
// [VerifyWebhook] for a receiving handler.
package answer
