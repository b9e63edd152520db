package decide

import (
	"slices"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/cpr"
)

// State is where a document stands. It only moves forward:
//
//	received ──▶ awaiting_verdict ──▶ approved | rejected
//	    └──────────────────────────────▶ rejected (technically invalid)
type State string

const (
	// StateReceived: ingest accepted the document; validate has not judged it yet.
	StateReceived State = "received"
	// StateAwaitingVerdict: the document is valid and waits in the caseworkers' queue.
	StateAwaitingVerdict State = "awaiting_verdict"
	// StateApproved: a caseworker approved the document. Final.
	StateApproved State = "approved"
	// StateRejected: a caseworker rejected the document, or the system did
	// because it is technically invalid. Final.
	StateRejected State = "rejected"
)

// States lists every state in the order a document passes them.
var States = []State{StateReceived, StateAwaitingVerdict, StateApproved, StateRejected}

// Decided reports whether s is final.
func (s State) Decided() bool { return s == StateApproved || s == StateRejected }

// AnswerStatus is how far respond got with the answer to the municipality's
// economy system.
type AnswerStatus string

const (
	// StatusPending: no answer yet, either because the document is not
	// decided or because respond has not reported on it.
	StatusPending AnswerStatus = "pending"
	// StatusParked: respond holds the answer until both service agreements
	// allow it.
	StatusParked AnswerStatus = "parked"
	// StatusDelivered: the economy system accepted the answer. Final.
	StatusDelivered AnswerStatus = "delivered"
	// StatusFailed: the last attempt failed; Permanent says whether respond
	// gave up.
	StatusFailed AnswerStatus = "failed"
)

// Record is the state of one open document, kept as JSON in the KV bucket
// (Config.Bucket) under the key "<kommune>.<document id>", and served as is
// by GET /v1/documents/{id}. Only the pure transitions of this package
// change it, and the store writes it only by compare-and-set. Once its
// answer is delivered, the record gives way to its [AuditSummary].
type Record struct {
	// ID is the document id ([events.DocumentID]).
	ID string `json:"id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// BundleID is the id of the bundle the document came in.
	BundleID string `json:"bundle_id"`
	// Index is the 1-based position of the document in its bundle; 0 until
	// document.received is seen.
	Index int `json:"index,omitempty"`
	// Raw is where ingest stored the document's bytes (stream
	// EFAKTURA_BUNDLES), as document.received refers to it; nil until
	// document.received is seen, and for records of before issue 11, whose
	// document is found by [events.RawSubject] instead.
	Raw *events.RawRef `json:"raw,omitempty"`
	// ReceiptNo is HEADER/RECEIPT_NO.
	ReceiptNo string `json:"receipt_no"`
	// DocumentNo is DOCUMENT_HEAD/DOCUMENT_NO.
	DocumentNo string `json:"document_no"`
	// DocumentType is INVOICE, CREDIT_NOTE or REMINDER (as written, before
	// validation).
	DocumentType events.DocumentType `json:"document_type"`
	// State is where the document stands.
	State State `json:"state"`
	// TraceID is the W3C trace id (32 hex digits) of the first event that
	// told decide of the document, so an SRE can find the document's trace;
	// empty when that event carried no trace context.
	TraceID string `json:"trace_id,omitempty"`
	// TraceParent is that event's W3C traceparent: a verdict given over
	// HTTP continues the document's trace from it (issue 12).
	TraceParent string `json:"trace_parent,omitempty"`
	// Findings are validate's findings: warnings for a valid document, the
	// errors (and warnings) for a technically invalid one.
	Findings []events.Finding `json:"findings"`
	// Verdict is the decision in force; nil until the document is decided.
	Verdict *Verdict `json:"verdict"`
	// Answer is how far the answer to the economy system got.
	Answer Answer `json:"answer"`
	// History lists what happened to the document, oldest first.
	History []Entry `json:"history"`

	// Reference is the bundle's INVOICES/REFERENCE.
	Reference string `json:"reference"`
	// Sender is the document's sender.
	Sender events.Sender `json:"sender"`
	// Ruleset is the version of the rules validate applied; empty until
	// validated or rejected.
	Ruleset string `json:"ruleset,omitempty"`
	// Summary is the document at a glance (currency, total, date, bill-to
	// name); nil unless the document was validated.
	Summary *events.Summary `json:"summary,omitempty"`

	// ReceivedAt is when ingest received the bundle; zero until
	// document.received is seen.
	ReceivedAt time.Time `json:"received_at,omitzero"`
	// JudgedAt is when validate judged the document; zero before.
	JudgedAt time.Time `json:"judged_at,omitzero"`
	// DecidedAt is when the decision was made: the verdict's submission, or
	// validate's judgement for an automatic rejection.
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// CreatedAt is when decide first heard of the document: lists are sorted
	// by it, newest last.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when decide last changed the record.
	UpdatedAt time.Time `json:"updated_at"`

	// Assist is decision assistance (issue 14, rules.go): possible
	// duplicates and what the municipality's rules made of the document.
	Assist
}

// Verdict is a decision on a document.
type Verdict struct {
	// ID is the verdict id; empty for an automatic rejection.
	ID string `json:"id,omitempty"`
	// Decision is approve or reject.
	Decision events.Decision `json:"decision"`
	// Reasons are why; at least one with reject, none with approve.
	Reasons []events.Reason `json:"reasons,omitempty"`
	// Note is the caseworker's internal note; never sent to the
	// municipality.
	Note string `json:"note,omitempty"`
	// By is the caseworker, or [events.DecidedBySystem].
	By string `json:"by"`
	// At is when the verdict was submitted (for an automatic rejection:
	// when validate judged the document).
	At time.Time `json:"at"`
}

// Outcome is the state a verdict leads to.
func (v Verdict) Outcome() events.Outcome {
	if v.Decision == events.DecisionApprove {
		return events.OutcomeApproved
	}
	return events.OutcomeRejected
}

// Answer is what respond reported of the answer to the municipality.
type Answer struct {
	// Status is pending, parked, delivered or failed.
	Status AnswerStatus `json:"status"`
	// Attempts is the number of delivery attempts respond reported.
	Attempts int `json:"attempts"`
	// DeliveredAt is when the economy system accepted the answer; null
	// before.
	DeliveredAt *time.Time `json:"delivered_at"`
	// AnswerID is respond's answer id (the id of the document.decided event).
	AnswerID string `json:"answer_id,omitempty"`
	// ParkReason is why respond holds the answer, while parked.
	ParkReason events.ParkReason `json:"park_reason,omitempty"`
	// Error is the last failure, while failed.
	Error string `json:"error,omitempty"`
	// Permanent is true when respond gave up; an operator must act.
	Permanent bool `json:"permanent,omitempty"`
	// NextAttemptAt is when respond tries again by itself, while failed and
	// not permanent.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// ReportedAt is the time of the answer event behind Status; events
	// older than it are ignored, so their order of arrival does not matter.
	ReportedAt time.Time `json:"reported_at,omitzero"`
}

// Entry is one line of a document's history.
type Entry struct {
	// At is when it happened, as the event that reported it says.
	At time.Time `json:"at"`
	// What happened: received, validated, rejected_technically, verdict,
	// answer_parked, answer_delivered, answer_failed; or a caseworker read
	// personal data: cpr_revealed, original_read.
	What string `json:"what"`
	// State is the document's state after it.
	State State `json:"state"`
	// By is who did it: ingest, validate, respond, the caseworker, or
	// system.
	By string `json:"by"`
	// Detail adds what is needed to understand it, e.g. a park reason.
	Detail string `json:"detail,omitempty"`
	// Attempt is the delivery attempt, of an answer_failed or
	// answer_delivered entry.
	Attempt int `json:"attempt,omitempty"`
	// StatusCode is the economy system's HTTP status of that attempt; 0
	// when none came.
	StatusCode int `json:"status_code,omitempty"`
}

// What values of [Entry].
const (
	WhatReceived            = "received"
	WhatValidated           = "validated"
	WhatRejectedTechnically = "rejected_technically"
	WhatVerdict             = "verdict"
	WhatAnswerParked        = "answer_parked"
	WhatAnswerDelivered     = "answer_delivered"
	WhatAnswerFailed        = "answer_failed"
	// WhatCPRRevealed: a caseworker read the invoice with its CPR
	// numbers shown (GET /v1/documents/{id}/invoice?reveal=cpr).
	WhatCPRRevealed = "cpr_revealed"
	// WhatOriginalRead: a caseworker read the document's XML as received,
	// which holds its CPR numbers (GET /v1/documents/{id}/original).
	WhatOriginalRead = "original_read"
)

// clone returns a deep copy of r, so transitions never change their input.
func (r *Record) clone() *Record {
	c := *r
	c.Findings = slices.Clone(r.Findings)
	c.History = slices.Clone(r.History)
	c.Assist = r.Assist.clone()
	if r.Raw != nil {
		ref := *r.Raw
		c.Raw = &ref
	}
	if r.Verdict != nil {
		v := *r.Verdict
		v.Reasons = slices.Clone(r.Verdict.Reasons)
		c.Verdict = &v
	}
	if r.Summary != nil {
		s := *r.Summary
		c.Summary = &s
	}
	if r.DecidedAt != nil {
		t := *r.DecidedAt
		c.DecidedAt = &t
	}
	if r.Answer.DeliveredAt != nil {
		t := *r.Answer.DeliveredAt
		c.Answer.DeliveredAt = &t
	}
	if r.Answer.NextAttemptAt != nil {
		t := *r.Answer.NextAttemptAt
		c.Answer.NextAttemptAt = &t
	}
	return &c
}

// Masked returns a copy of r for lists: every CPR-shaped number in its free
// texts (numbers, reference, bill-to and billed-from names, findings,
// reasons, note, history, answer error) replaced by [cpr.Mask]. Ids, codes
// and times are kept.
func (r *Record) Masked() *Record {
	c := r.clone()
	c.ReceiptNo = cpr.Mask(c.ReceiptNo)
	c.DocumentNo = cpr.Mask(c.DocumentNo)
	c.Reference = cpr.Mask(c.Reference)
	c.Sender.ID = cpr.Mask(c.Sender.ID)
	if c.Summary != nil {
		c.Summary.BillToName = cpr.Mask(c.Summary.BillToName)
		c.Summary.BilledFromName = cpr.Mask(c.Summary.BilledFromName)
	}
	for i := range c.Findings {
		c.Findings[i].Path = cpr.Mask(c.Findings[i].Path)
		c.Findings[i].Message = cpr.Mask(c.Findings[i].Message)
		c.Findings[i].MessageDA = cpr.Mask(c.Findings[i].MessageDA)
		c.Findings[i].MessageEN = cpr.Mask(c.Findings[i].MessageEN)
	}
	if c.Verdict != nil {
		c.Verdict.Note = cpr.Mask(c.Verdict.Note)
		c.Verdict.By = cpr.Mask(c.Verdict.By)
		for i := range c.Verdict.Reasons {
			c.Verdict.Reasons[i].Text = cpr.Mask(c.Verdict.Reasons[i].Text)
		}
	}
	for i := range c.History {
		c.History[i].By = cpr.Mask(c.History[i].By)
		c.History[i].Detail = cpr.Mask(c.History[i].Detail)
	}
	c.Answer.Error = cpr.Mask(c.Answer.Error)
	return c
}

// normalized returns r with empty lists as [] rather than null, for the API.
func (r *Record) normalized() *Record {
	if r.Findings != nil && r.History != nil {
		return r
	}
	c := *r
	if c.Findings == nil {
		c.Findings = []events.Finding{}
	}
	if c.History == nil {
		c.History = []Entry{}
	}
	return &c
}
