// Package decide holds each valid document until a caseworker's verdict
// arrives and rejects technically invalid documents automatically.
//
// # State
//
// Every document has one [Record], JSON in the JetStream KV bucket
// Config.Bucket ("EFAKTURA_documents") under the key
// "<kommune>.<document id>". Its state only moves forward:
//
//	received ──▶ awaiting_verdict ──▶ approved | rejected
//	    └──────────────────────────────▶ rejected  (technically invalid, at once)
//
// Records change only through the pure transitions of handle.go
// ([Received], [Validated], [TechnicallyRejected], [ApplyVerdict],
// [AnswerParked], [AnswerDelivered], [AnswerFailed]) and are written only by
// compare-and-set (kv.Create for a new key, kv.Update at the revision read
// otherwise; a conflict re-reads and re-applies), so any number of decide
// replicas may run at once.
//
// # Events
//
// Consumed, for every municipality: document.received, document.validated,
// document.rejected, verdict.submitted, answer.parked, answer.delivered and
// answer.failed. Published: document.decided (once per document, id from
// the document id; published again while respond has not reported on the
// answer, see [Worker.reannounce]) and verdict.refused for a verdict from
// the bus that cannot apply (id from the verdict id). A verdict given over
// HTTP is written, then announced; a refusal is its 409.
//
// Exactly one verdict wins. The same verdict again (same decision, same
// reasons) is a no-op; a different one is refused with verdict.refused. A
// technically rejected document is decided by the system at once, with one
// OTH reason per error finding ([AutomaticReasons]) and the findings in
// full. Events may arrive in any order; see handle.go.
//
// # HTTP
//
// [Worker.Routes] serves the caseworkers' API: POST
// /v1/documents/{id}/verdict, GET /v1/documents (the queue, with
// state=awaiting_verdict, newest last, paginated, CPR numbers masked) and GET
// /v1/documents/{id}. A caseworker sees only their own municipality's
// documents; another's answer 404.
package decide
