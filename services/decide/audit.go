package decide

import (
	"slices"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/cpr"
)

// AuditSummary is what is kept of a document once its answer is delivered:
// the audit trail an accountant asks for (who sent what, for how much, who
// decided what and when, and that the municipality got the answer), with
// no CPR number. It is JSON in the archive bucket under the key
// "<kommune>.<document id>" and in the archive stream (see archive.go),
// and GET /v1/documents/{id} serves it, with "archived": true, once the
// record is gone.
//
// Its fields keep the names a [Record] has in JSON, so a client reading
// state, verdict or answer reads an archived document the same way. Left
// out: the bill-to name, the bundle's reference, the caseworker's note and
// the answer's error texts (free texts that may name a person), and the
// findings' messages and paths (only their rule ids are kept). Every other
// free text (receipt and document number, the sender's id, reasons,
// history) has its CPR-shaped numbers masked with [cpr.Mask].
type AuditSummary struct {
	// Archived is always true: the document is served from the archive.
	Archived bool `json:"archived"`
	// ID is the document id, Kommune the municipality's 4-digit code,
	// BundleID the id of the bundle it came in and Index its 1-based
	// position there.
	ID       string `json:"id"`
	Kommune  string `json:"kommune"`
	BundleID string `json:"bundle_id"`
	Index    int    `json:"index,omitempty"`
	// ReceiptNo, DocumentNo and DocumentType are the document's, masked.
	ReceiptNo    string              `json:"receipt_no"`
	DocumentNo   string              `json:"document_no"`
	DocumentType events.DocumentType `json:"document_type"`
	// Sender is the document's sender, its id masked.
	Sender events.Sender `json:"sender"`
	// State is approved or rejected.
	State State `json:"state"`
	// TraceID is the W3C trace id of the document's first event.
	TraceID string `json:"trace_id,omitempty"`
	// Ruleset is the version of the rules validate applied.
	Ruleset string `json:"ruleset,omitempty"`
	// Summary holds the amounts and dates of a validated document; nil for
	// one rejected as technically invalid.
	Summary *Amounts `json:"summary,omitempty"`
	// FindingRules are the rule ids of validate's findings, in order, each
	// once.
	FindingRules []string `json:"finding_rules,omitempty"`
	// Verdict is the decision: decision, reasons (texts masked), who and
	// when; never the note.
	Verdict *Verdict `json:"verdict"`
	// Answer is the answer's final status: delivered, when, after how many
	// attempts, under which answer id.
	Answer Answer `json:"answer"`
	// History lists what happened, oldest first, details masked.
	History []Entry `json:"history"`
	// The times of the record, as in [Record].
	ReceivedAt time.Time  `json:"received_at,omitzero"`
	JudgedAt   time.Time  `json:"judged_at,omitzero"`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Amounts is the part of a document's summary ([events.Summary]) that an
// audit keeps: no bill-to name.
type Amounts struct {
	// Currency is CURRENCY/CURRENCY_CODE, e.g. "DKK".
	Currency string `json:"currency"`
	// TotalAmountInclVAT is TOTALAMOUNT/TOTAL_AMOUNT_INCL_VAT as written,
	// with a decimal comma.
	TotalAmountInclVAT string `json:"total_amount_incl_vat"`
	// DocumentDate is DOCUMENT_HEAD/DOCUMENT_DATE, "YYYY-MM-DD".
	DocumentDate string `json:"document_date"`
	// Lines is the number of LINE elements.
	Lines int `json:"lines"`
}

// Audit returns r's audit summary. It depends on r alone, so archiving the
// same record twice writes the same summary.
func (r *Record) Audit() *AuditSummary {
	a := &AuditSummary{
		Archived: true,
		ID:       r.ID, Kommune: r.Kommune, BundleID: r.BundleID, Index: r.Index,
		ReceiptNo: cpr.Mask(r.ReceiptNo), DocumentNo: cpr.Mask(r.DocumentNo), DocumentType: r.DocumentType,
		Sender:  events.Sender{Type: cpr.Mask(r.Sender.Type), ID: cpr.Mask(r.Sender.ID)},
		State:   r.State,
		TraceID: r.TraceID, Ruleset: r.Ruleset,
		Answer: Answer{
			Status: r.Answer.Status, Attempts: r.Answer.Attempts, AnswerID: r.Answer.AnswerID,
			ReportedAt: r.Answer.ReportedAt,
		},
		History:    make([]Entry, len(r.History)),
		ReceivedAt: r.ReceivedAt, JudgedAt: r.JudgedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.Answer.DeliveredAt != nil {
		t := *r.Answer.DeliveredAt
		a.Answer.DeliveredAt = &t
	}
	if r.DecidedAt != nil {
		t := *r.DecidedAt
		a.DecidedAt = &t
	}
	if s := r.Summary; s != nil {
		a.Summary = &Amounts{Currency: cpr.Mask(s.Currency), TotalAmountInclVAT: cpr.Mask(s.TotalAmountInclVAT),
			DocumentDate: cpr.Mask(s.DocumentDate), Lines: s.Lines}
	}
	for _, f := range r.Findings {
		if rule := cpr.Mask(f.Rule); !slices.Contains(a.FindingRules, rule) {
			a.FindingRules = append(a.FindingRules, rule)
		}
	}
	if v := r.Verdict; v != nil {
		a.Verdict = &Verdict{ID: v.ID, Decision: v.Decision, By: cpr.Mask(v.By), At: v.At}
		for _, reason := range v.Reasons {
			a.Verdict.Reasons = append(a.Verdict.Reasons, events.Reason{Code: reason.Code, Text: cpr.Mask(reason.Text)})
		}
	}
	for i, e := range r.History {
		// Field by field: a text added to Entry later is not archived
		// unmasked by accident.
		a.History[i] = Entry{At: e.At, What: e.What, State: e.State, By: cpr.Mask(e.By), Detail: cpr.Mask(e.Detail),
			Attempt: e.Attempt, StatusCode: e.StatusCode}
	}
	return a
}

// normalized returns s with an empty history as [] rather than null, for
// the API.
func (s *AuditSummary) normalized() *AuditSummary {
	if s.History != nil {
		return s
	}
	c := *s
	c.History = []Entry{}
	return &c
}
