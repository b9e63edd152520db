package ingest

import "errors"

var (
	// ErrConfig is wrapped by the errors of [Config.Validate] and [New] for
	// an invalid configuration.
	ErrConfig = errors.New("ingest: invalid configuration")

	// ErrRetry is wrapped by intake errors that say "not now": the
	// duplicate-bundle register or the sender register could not answer, or
	// the same bundle is being taken in right now. The submission should be
	// sent again later; it is not a duplicate.
	ErrRetry = errors.New("ingest: try again later")

	// errSpool is wrapped by the errors of the spool files: the disk is
	// full or SpoolDir is gone, a matter for the operator.
	errSpool = errors.New("ingest: spool")

	// errTooSlow: an HTTP body did not arrive at Config.MinUploadRate.
	errTooSlow = errors.New("ingest: the upload is slower than the minimum rate")
)
