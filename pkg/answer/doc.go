// Package answer is what an economy system needs to receive efaktura's
// answers: the [Answer] it is sent for each decided invoice, credit note or
// reminder, and [Verify], which checks the request's signature.
//
// It is a module of its own, with nothing but the standard library, so an
// integrator imports it without the rest of efaktura:
//
//	go get github.com/kp-efaktura/efaktura/pkg/answer
//
// An answer arrives as an HTTP POST of the [Answer] as JSON, with the
// headers [HeaderIdempotencyKey] (the answer id: a repeat is the same
// answer), [HeaderTimestamp] and [HeaderSignature]; see [Sign] for how the
// signature is made. See the example of [Verify] for a receiving handler.
package answer
