package events

import (
	"fmt"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/types"
)

// StreamSubjects returns the subjects of the event stream, which holds
// every event but the queued answers: efaktura.*.<entity>.<action> for each
// of those types. The second token is reserved for kommune codes; subjects
// of other kinds (dead letters, KV, raw documents: [RawSubjects]) must not
// start with "efaktura.".
func StreamSubjects() []string {
	var out []string
	for _, en := range catalogue {
		if !en.queued {
			out = append(out, subjectPrefix+".*."+en.subject)
		}
	}
	return out
}

// AnswerQueueSubjects is the subject filter of respond's answer queue
// stream: [TypeAnswerQueued] of every municipality. JetStream lets no two
// streams share a subject, hence the event stream's explicit list.
const AnswerQueueSubjects = subjectPrefix + ".*.answer.queued"

// subjectPrefix is the first token of every event subject.
const subjectPrefix = "efaktura"

// Subject returns the NATS subject of an event of eventType for a kommune,
// e.g. efaktura.0101.document.received. It returns an error wrapping
// [ErrUnknownType] or [ErrKommune].
func Subject(kommune, eventType string) (string, error) {
	en, err := lookup(eventType)
	if err != nil {
		return "", fmt.Errorf("subject: %w", err)
	}
	if !ValidKommune(kommune) {
		return "", fmt.Errorf("subject of %s: %w: %q", eventType, ErrKommune, kommune)
	}
	return subjectPrefix + "." + kommune + "." + en.subject, nil
}

// SubjectOf returns the NATS subject of e from its type and its kommune
// extension; it fits the bus runtime's subject option. It returns an error
// wrapping [ErrUnknownType] or [ErrKommune].
func SubjectOf(e cloudevents.Event) (string, error) {
	k, err := KommuneOf(e)
	if err != nil {
		return "", err
	}
	return Subject(k, e.Type())
}

// KommuneOf returns the kommune extension of e; an error wrapping
// [ErrKommune] when it is missing or not 4 digits.
func KommuneOf(e cloudevents.Event) (string, error) {
	var v any
	found := false
	if e.Context != nil {
		// Not Extensions, which copies the map on every call.
		var err error
		v, err = e.Context.GetExtension(ExtensionKommune)
		found = err == nil
	}
	if !found {
		return "", fmt.Errorf("event %s (%s): %w: no %s extension", e.ID(), e.Type(), ErrKommune, ExtensionKommune)
	}
	k, err := types.ToString(v)
	if err != nil || !ValidKommune(k) {
		return "", fmt.Errorf("event %s (%s): %w: %s extension %v", e.ID(), e.Type(), ErrKommune, ExtensionKommune, v)
	}
	return k, nil
}

// Filter returns the subject filter that matches eventType for every
// kommune, e.g. efaktura.*.document.received for [TypeDocumentReceived]:
// the filter of a consumer that serves all municipalities. For a single
// municipality, use [Subject].
//
// Filter panics on an unknown type, as regexp.MustCompile does on a bad
// pattern: its argument is one of the Type constants, and an empty filter
// would make a JetStream consumer receive every event.
func Filter(eventType string) string {
	en, err := lookup(eventType)
	if err != nil {
		panic(fmt.Sprintf("events.Filter: %v", err))
	}
	return subjectPrefix + ".*." + en.subject
}

// ValidKommune reports whether k is a kommune code: exactly 4 ASCII digits.
func ValidKommune(k string) bool {
	if len(k) != 4 {
		return false
	}
	for i := range len(k) {
		if k[i] < '0' || k[i] > '9' {
			return false
		}
	}
	return true
}

// SubjectTemplate returns the low-cardinality form of a subject, for span
// names and the messaging.destination.template attribute of the
// OpenTelemetry messaging conventions: the kommune code and other ids
// replaced by named placeholders, e.g. efaktura.{kommune}.document.received
// and efaktura_bundle.{kommune}.{bundle_id}.{index}. A subject of another
// kind is returned as it is, so it must not hold ids.
func SubjectTemplate(subject string) string {
	tokens := strings.Split(subject, ".")
	switch {
	case len(tokens) >= 3 && tokens[0] == subjectPrefix && ValidKommune(tokens[1]):
		tokens[1] = "{kommune}"
	case len(tokens) == 4 && tokens[0] == rawPrefix && ValidKommune(tokens[1]):
		tokens[1], tokens[2], tokens[3] = "{kommune}", "{bundle_id}", "{index}"
	default:
		return subject
	}
	return strings.Join(tokens, ".")
}
