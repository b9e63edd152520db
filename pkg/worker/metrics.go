package worker

import (
	"strings"

	"github.com/kp-efaktura/efaktura/events"
)

// eventTypes returns the event types of the catalogue a consumer's
// subject filter matches, e.g. dk.kp.efaktura.document.received.v1 for
// efaktura.*.document.received and for efaktura.0101.document.received:
// the bus declares each handler's counters at 0 for them
// (bus.WithEventTypes), so failure counters exist from start-up.
func eventTypes(subject string) []string {
	var out []string
	for _, t := range events.Types() {
		if subjectsOverlap(events.Filter(t), subject) {
			out = append(out, t)
		}
	}
	return out
}

// subjectsOverlap reports whether some subject matches both NATS subject
// filters a and b ("*" one token, ">" the rest).
func subjectsOverlap(a, b string) bool {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(at) && i < len(bt); i++ {
		switch {
		case at[i] == ">" || bt[i] == ">":
			return true
		case at[i] == "*" || bt[i] == "*" || at[i] == bt[i]:
		default:
			return false
		}
	}
	return len(at) == len(bt)
}
