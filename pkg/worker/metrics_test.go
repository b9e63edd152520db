package worker

import (
	"slices"
	"testing"

	"github.com/kp-efaktura/efaktura/events"
)

func TestEventTypes(t *testing.T) {
	for _, tc := range []struct {
		subject string
		want    []string
	}{
		{events.Filter(events.TypeDocumentReceived), []string{events.TypeDocumentReceived}},
		{"efaktura.0101.answer.queued", []string{events.TypeAnswerQueued}},
		{"efaktura.*.answer.*", []string{events.TypeAnswerQueued, events.TypeAnswerParked, events.TypeAnswerDelivered, events.TypeAnswerFailed}},
		{"dlq.efaktura.decide", nil},
	} {
		got := eventTypes(tc.subject)
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("eventTypes(%q) = %q, want %q", tc.subject, got, tc.want)
		}
	}
}
