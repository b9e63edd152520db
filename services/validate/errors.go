package validate

import "github.com/kp-efaktura/efaktura/pkg/rawdoc"

var (
	// ErrDocumentGone is wrapped by the error of a document.received whose
	// document is no longer stored: it expired after ingest's raw retention
	// (INGEST_RAW_RETENTION), or was purged. Nothing brings it back, so the
	// event is dead-lettered at once (bus.Permanent), not retried. It is
	// [rawdoc.ErrGone].
	ErrDocumentGone = rawdoc.ErrGone

	// ErrReference is wrapped by the error of a document.received whose
	// reference names no document (no stream or subject, a wildcard), or
	// whose stored document is not the one referred to (its size or
	// SHA-256 differ). Permanent, as ErrDocumentGone. It is
	// [rawdoc.ErrReference].
	ErrReference = rawdoc.ErrReference
)
