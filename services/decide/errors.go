package decide

import (
	"errors"
	"strings"
)

// Errors.
var (
	// ErrUnknownDocument: decide does not know the document (in that
	// municipality). For a bus event it is transient: the document's own
	// events may still be on their way, so the bus retries, and finally
	// dead-letters the event (replayable with "efaktura dlq replay").
	ErrUnknownDocument = errors.New("decide: unknown document")
	// ErrNotValidated: the document is known but not judged by validate
	// yet, so a verdict cannot apply. Transient, as ErrUnknownDocument.
	ErrNotValidated = errors.New("decide: document not validated yet")
	// ErrArchived: the document's answer was delivered and its record
	// archived (see [AuditSummary]); no event or verdict changes it any
	// more. The bus handlers treat an event for it as done.
	ErrArchived = errors.New("decide: document archived")
	// ErrInvalidVerdict: a verdict breaks the rules of [CheckVerdict]; the
	// error is an [*InvalidVerdictError] listing every problem.
	ErrInvalidVerdict = errors.New("decide: invalid verdict")
	// ErrInvalidEvent: an input event lacks what decide needs (a usable
	// document id, a 4-digit kommune, a verdict id); no retry can fix it.
	ErrInvalidEvent = errors.New("decide: invalid event")
	// ErrConflict: the record kept changing under a read-modify-write for
	// Config.Attempts attempts; transient.
	ErrConflict = errors.New("decide: document changed concurrently")
	// ErrConfig: a [Config] is invalid.
	ErrConfig = errors.New("decide: invalid configuration")
	// ErrOption: an [Option] got a bad argument.
	ErrOption = errors.New("decide: invalid option")
)

// InvalidVerdictError lists every problem of a verdict, for a 400 response
// or a verdict.refused event. It matches [ErrInvalidVerdict] with errors.Is.
type InvalidVerdictError struct {
	// Problems are one sentence each, with no payload data but the codes.
	Problems []string
}

func (e *InvalidVerdictError) Error() string {
	return ErrInvalidVerdict.Error() + ": " + strings.Join(e.Problems, "; ")
}

// Is makes errors.Is(err, ErrInvalidVerdict) true.
func (e *InvalidVerdictError) Is(target error) bool { return target == ErrInvalidVerdict }
