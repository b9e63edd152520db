package respond

import (
	"cmp"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// AnswerFindings maps a document's error findings to the answer's
// structured reasons, in order; nil when there is none. A finding from an
// event written before findings had both languages has its one message in
// both fields.
func AnswerFindings(fs []events.Finding) []answer.Finding {
	var out []answer.Finding
	for _, f := range fs {
		if f.Severity != events.SeverityError {
			continue
		}
		out = append(out, answer.Finding{
			Code: efaktura.ReasonCode(f.Rule), Rule: f.Rule, Path: f.Path, Line: f.Line, Column: f.Column,
			MessageDA: cmp.Or(f.MessageDA, f.Message), MessageEN: cmp.Or(f.MessageEN, f.Message),
		})
	}
	return out
}
