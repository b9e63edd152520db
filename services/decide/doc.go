// Package decide holds each valid document until a caseworker's verdict
// arrives and rejects technically invalid documents automatically.
//
// # State
//
// Every open document has one [Record], JSON in the JetStream KV bucket
// Config.Bucket ("EFAKTURA_documents") under the key
// "<kommune>.<document id>". Its state only moves forward:
//
//	received ──▶ awaiting_verdict ──▶ approved | rejected
//	    └──────────────────────────────▶ rejected  (technically invalid, at once)
//
// Records change only through the pure transitions of handle.go
// ([Received], [Validated], [TechnicallyRejected], [ApplyVerdict],
// [AnswerParked], [AnswerDelivered], [AnswerFailed], and
// [PersonalDataRead], the access log of reveals) and are written only by
// compare-and-set (kv.Create for a new key, kv.Update at the revision read
// otherwise; a conflict re-reads and re-applies), so any number of decide
// replicas may run at once.
//
// # Archive
//
// A document is open while it is received, awaits a verdict, or is
// decided with its answer not delivered yet. Once respond reports the
// answer delivered (its final state), decide archives the document
// (archive.go): it appends its [AuditSummary], which holds no CPR number,
// to the stream [ArchiveStream] ("EFAKTURA_ARCHIVE", subject
// "efaktura_archive.<kommune>.<state>"), creates it in the bucket
// [ArchiveBucket] ("EFAKTURA_archive", same key), and purges the record.
// Both keep summaries for Config.ArchiveRetention, 6 years by default
// (Bogføringsloven §10). The records bucket, and each replica's in-memory
// index of it, thus hold open work only: memory and restarts cost in
// proportion to open documents, not to history (issue 10). A replica is
// ready ([Worker.Ready]) once its index has loaded them.
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
// reason per error finding, coded with its rule's closest Peppol reason
// ([AutomaticReasons]), and the findings in full. Events may arrive in any order; see handle.go. An event for an
// archived document changes nothing; a verdict on one is a repeat, or is
// refused.
//
// # HTTP
//
// [Worker.Routes] serves the caseworkers' API: GET /v1/me, who the token
// is and whether the municipality's answers can reach its economy system;
// GET /v1/documents, the open documents from the replica's index as
// [Item]s (the queue, with state=awaiting_verdict: supplier, amount, due
// date, overdue in Danish bank days; filtered by q, document_type and
// overdue, sorted by due date, receipt or amount, paginated, CPR numbers
// masked); GET /v1/documents/{id}, an open document's item or an archived
// one's summary; GET /v1/documents/{id}/invoice and /original, the
// document's content read from the raw store (pkg/rawdoc) for as long as
// it keeps it, CPR numbers masked unless revealed, and every reveal in the
// document's history; POST /v1/documents/{id}/verdict and POST
// /v1/verdicts, one verdict on one document or on up to 1000, through the
// same path; and GET /v1/archive, the archived documents from the archive
// stream, oldest first, a page at a time with a cursor. A caseworker sees
// only their own municipality's documents; another's answer 404 or are
// left out of lists.
//
// The caseworkers' desk, a web UI that uses only this public API, is
// package desk; decide's [Command] serves it on the same mux, at /.
package decide
