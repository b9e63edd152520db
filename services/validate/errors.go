package validate

import "errors"

var (
	// ErrDocumentGone is wrapped by the error of a document.received whose
	// document is no longer stored: it expired after ingest's raw retention
	// (INGEST_RAW_RETENTION), or was purged. Nothing brings it back, so the
	// event is dead-lettered at once (bus.Permanent), not retried.
	ErrDocumentGone = errors.New("validate: the received document is no longer stored")

	// ErrReference is wrapped by the error of a document.received whose
	// reference names no document (no stream or subject, a wildcard), or
	// whose stored document is not the one referred to (its size or
	// SHA-256 differ). Permanent, as ErrDocumentGone.
	ErrReference = errors.New("validate: the document's reference does not hold")
)
