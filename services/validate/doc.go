// Package validate applies the e-faktura 2.1.0 document rules (V11 to V50)
// to each received document, with its municipality's sender register, and
// publishes document.validated or document.rejected with the findings and
// the rule-set version. A document.received carries no XML: validate reads
// the document by its reference from the stream of raw documents that
// ingest keeps (with pkg/rawdoc), and dead-letters the event when the
// document is gone.
package validate
