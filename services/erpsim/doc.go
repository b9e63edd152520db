// Package erpsim simulates a municipality's economy system for tests and
// demos: it receives answers, verifies their signatures and records them.
//
// A [Simulator] is an http.Handler: POST /erp-sim/answers takes an answer
// as respond.HTTPDeliverer sends it (JSON, Idempotency-Key, signed as
// Standard Webhooks specify) and verifies it with answer.VerifyWebhook, as
// an integrator would; GET /erp-sim/answers lists the recorded answers as JSON,
// and PUT /erp-sim/config makes it fail a share of requests or answer
// slowly. It records each answer once per Idempotency-Key and counts the
// repeats, as a real economy system must. Injected failures depend only on
// the seed, the key and how often the key was sent, so tests are stable
// however requests interleave. The command cmd/erpsim serves it on its
// own; the all-in-one can mount it too.
package erpsim
