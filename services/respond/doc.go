// Package respond sends each decided document's answer to the
// municipality's economy system, in decision order, once both of the
// municipality's service agreements allow it.
//
// # One queue per municipality, kept by JetStream
//
// Every part of the delivery is a JetStream primitive rather than state
// respond keeps itself:
//
//   - document.decided is turned into answer.queued, the answer itself
//     (package answer), by a handler that only emits events
//     ([HandlerDecided]). It runs one event at a time across replicas, and
//     tries one it cannot publish until it can, so the answers are queued
//     in the order the decisions were announced. When
//     the agreements do not allow answers, it emits answer.parked as well,
//     with the reason: agreement_missing, agreement_not_approved or
//     economy_system_mismatch.
//   - answer.queued lives in a stream of its own, EFAKTURA_ANSWERS
//     ([DefaultStream]): a work queue with no age limit, which keeps an
//     answer until it is delivered or dead-lettered, however long the
//     agreements take.
//   - Each municipality has one durable consumer of it,
//     respond-answers-<kommune> ([QueueHandler]), with MaxAckPending 1: one
//     answer at a time across every replica, and a failed one tried again
//     before the next. Every replica consumes every municipality's queue,
//     adding the queue of a municipality created while it runs.
//   - A queue is paused with JetStream's consumer pause while the
//     municipality may not be answered, and resumed by the next version of
//     the municipality's record that allows answers: every replica follows
//     the tenants' bucket (tenant.Registry) and acts on each new version it
//     sees, so no change is missed, whether or not its event was published.
//     The pause is the server's: it survives restarts of respond and of the
//     server, and an operator can see and change it with the nats CLI
//     (docs/operations.md).
//
// # Delivery and failures
//
// A [Deliverer] sends answers; [HTTPDeliverer] POSTs them as JSON, signed
// as package answer describes, with the answer id as Idempotency-Key. The
// answer at the head of a municipality's queue:
//
//   - is delivered (2xx): answer.delivered is published, then the queue
//     goes on;
//   - finds the agreements not allowing answers: the queue pauses with the
//     answer at its head;
//   - is refused for efaktura itself (401, 403, 404, 410, a redirect, or no
//     endpoint or secret to send with): every answer would fail alike, so
//     the queue pauses, answer.failed (permanent) says an operator must act,
//     and the next change of the municipality's record (a corrected secret
//     or endpoint) resumes it;
//   - is refused for itself (another 4xx): it is dead-lettered with
//     answer.failed (permanent) and the queue goes on; "efaktura dlq
//     replay" puts it back at the end of its queue;
//   - cannot be taken now (a network error, 408, 429, 5xx): answer.failed
//     (transient) is published, with the time of the next attempt, and it
//     is tried again after an exponential backoff with jitter ([Backoff]),
//     or after the Retry-After of a 429 or 503 when that is longer
//     (bounded by [Config].RetryAfterMax), for as long as it takes, holding the answers
//     behind it in order.
//
// The attempts in answer.delivered and answer.failed are JetStream's
// delivery count of the queued answer, so they go on across replicas and
// restarts; a delivery that found the queue's agreements not allowing
// answers counts too, and so does one handed back unhandled when a replica
// restarts its fetching after a resume.
//
// No answer is lost: it stays in the work queue until it is acked, which
// happens only after answer.delivered is stored, or after its dead letter
// and answer.failed are. None is recorded twice: the queue's handler
// claims every answer in the idempotency store (bus.CallsOut), acks it
// once answer.delivered is stored and then completes the claim, so a
// redelivery, which needs the ack lost, finds it done. A replica that stops
// after sending an answer, before JetStream has its ack and the store its
// completion, leaves the claim to run out (EFAKTURA_LEASE); then the
// answer is sent again, with the same Idempotency-Key, which the
// economy system must take as the repeat it is, and the same
// answer.delivered id, which JetStream drops within its duplicate window.
//
// # Serviceplatformen
//
// The SF1590_D (FakturaInformationSvarAfsend) adapter through
// Serviceplatformen needs the service's WSDL, which is not public. It will
// be another [Deliverer]; until then nothing imitates it, and answers go
// over HTTP with [HTTPDeliverer].
package respond
