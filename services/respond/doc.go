// Package respond sends each decided document's answer to the
// municipality's economy system once both service agreements allow it.
//
// # Answers
//
// For every document.decided event respond builds an [Answer] (kommune,
// economy system, the bundle's REFERENCE, the sender, RECEIPT_NO,
// DOCUMENT_NO, the decision, its reasons, when it was made and the rule
// set) whose id is the id of the decided event. The answer goes out only
// when the municipality's two SF1590_D agreements for
// FakturaInformationAfsendSvar, "forside" and "bagside", are approved and
// both name the municipality's economy system (tenant.Tenant's
// AnswersAllowed).
//
// # Parking
//
// Otherwise the answer is parked: written to the JetStream KV bucket
// "EFAKTURA_parked" ([Config].Bucket) under [ParkKey],
//
//	<kommune>.<decided at, Unix nanoseconds, 20 digits>.<answer id>
//
// so that a municipality's keys sort in decision order, with a [Parked]
// record (the answer, the reason and its detail) as JSON; and
// answer.parked is published with the reason (agreement_missing,
// agreement_not_approved or economy_system_mismatch) and a detail that
// names the agreement, its state and, for a mismatch, both economy systems.
// Creating the key is idempotent, so a redelivered decision parks once.
// While any answer of a municipality is parked, its new answers are parked
// behind it, even when the agreements allow answers, so none overtakes an
// older one.
//
// agreement.changed and tenant.changed release a municipality's parked
// answers in key order when its agreements allow them: each is sent,
// answer.delivered is published, then its key is deleted. When they still
// do not allow them, each parked answer whose reason changed is updated and
// answer.parked is published again with the new reason (so an approval
// that names the wrong economy system is reported as
// economy_system_mismatch). Both events carry the version of the
// municipality's record; the release first waits, at most [Config].Settle,
// until the tenant registry has seen that version (WaitVersion), since the
// registry follows the tenants' bucket and may lag the event.
//
// Releases of one municipality never run at the same time, across all
// replicas: each holds a lease in the KV bucket "EFAKTURA_parked_locks"
// ([Config].LockBucket, TTL [Config].LockTTL, renewed before every answer).
// A release that finds the lease taken returns at once; the holder lists
// the queue again after it lets go, so an answer parked meanwhile is never
// left behind. [Worker.Run] sweeps every [Config].Sweep: it releases the
// queues of municipalities whose agreements allow answers, which catches an
// economy system that was down through every retry of a release.
//
// # Delivery and failures
//
// A [Deliverer] sends answers; [HTTPDeliverer] POSTs them as JSON, signed
// (see [Sign]): the header X-Efaktura-Signature is "sha256=" and the hex
// HMAC-SHA256, keyed with the economy system's secret, of
//
//	X-Efaktura-Timestamp + "." + body
//
// with the timestamp in Unix seconds, and Idempotency-Key is the answer id.
// A 2xx is a delivery; 408, 429, 5xx and network errors are transient;
// other statuses are permanent.
//
//   - Sent directly (nothing parked): a transient failure is returned to the
//     bus, which retries with backoff; a permanent one, or the last of
//     MaxDeliver attempts, dead-letters the decision, and answer.failed
//     (permanent) is published then (bus.WithDeadLetterEvents). A dead
//     letter is replayed with "efaktura dlq replay".
//   - Sent by a release: a transient failure stops the release (the answers
//     before it are sent and removed, it and those after stay parked),
//     counts an attempt on the parked record, publishes answer.failed (not
//     permanent) and is returned, so the bus retries the release; the sweep
//     keeps trying after that. A permanent failure about the economy system
//     (401, 403, 404, 410, a redirect) keeps the answer at the head of the
//     queue, marked blocked, and publishes answer.failed (permanent): the
//     municipality's later answers wait, in order, until a tenant.changed
//     or agreement.changed (e.g. a corrected secret or endpoint) tries it
//     again. Any other permanent failure is about the answer alone: it is
//     set aside (moved to "failed.<key>" in one atomic write, so it is
//     never both queued and set aside), answer.failed (permanent) is
//     published and the queue goes on; [SetAside] lists such answers and
//     [Resend] puts one back in its queue, again in one atomic write
//     ("efaktura answers set-aside|resend").
//
// answer.delivered's Attempts: for a released answer, the failed attempts
// recorded on its parked record plus one; for an answer sent directly, the
// attempts this process made, since the bus does not tell handlers the
// delivery count (a retry that moves to another replica starts at 1 there).
//
// No answer is lost: it is parked or the decision is unacknowledged until
// it is delivered, or it is dead-lettered with answer.failed. None is
// recorded twice: a crash between sending and acknowledging can send an
// answer again, with the same Idempotency-Key, which the economy system
// (and the ERP simulator, package erpsim) must treat as a repeat, and the
// same answer.delivered id, which JetStream drops within its duplicate
// window.
//
// # Serviceplatformen
//
// The SF1590_D (FakturaInformationSvarAfsend) adapter through
// Serviceplatformen needs the service's WSDL, which is not public. It will
// be another [Deliverer]; until then nothing imitates it, and answers go
// over HTTP with [HTTPDeliverer].
package respond
