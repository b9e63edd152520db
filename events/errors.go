package events

import "errors"

// Errors. Every function that fails wraps one of these, so a caller can
// branch with [errors.Is]. All of them describe an event that no retry can
// fix: a consumer should dead-letter it, not retry it.
var (
	// ErrUnknownType is returned for an event type that is not in [Types].
	ErrUnknownType = errors.New("events: unknown event type")
	// ErrKommune is returned for a kommune code that is not 4 digits, or an
	// event without the kommune extension.
	ErrKommune = errors.New("events: kommune must be 4 digits")
	// ErrPayloadType is returned when a payload's Go type is not the one
	// registered for the event type, e.g. a [DocumentValidated] given to
	// [New] with [TypeDocumentRejected], or a Decode into the wrong type.
	ErrPayloadType = errors.New("events: payload type does not match the event type")
	// ErrContentType is returned when the datacontenttype is not the one the
	// event type carries.
	ErrContentType = errors.New("events: unexpected data content type")
	// ErrDecode is returned by [Decode] for a payload that is not valid JSON
	// for its type.
	ErrDecode = errors.New("events: payload does not decode")
	// ErrInvalid is returned by [New] and [Check] for an event that breaks
	// the CloudEvents spec or the catalogue's rules (schema, subject, key),
	// and by [RawSubject] for a bundle id or index that names no document.
	ErrInvalid = errors.New("events: invalid event")
)
