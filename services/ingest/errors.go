package ingest

import "errors"

// ErrRetry is wrapped by intake errors that say "not now": the
// duplicate-bundle register or the sender register could not answer, or
// the same bundle is being taken in right now. The submission should be
// sent again later; it is not a duplicate.
var ErrRetry = errors.New("ingest: try again later")
