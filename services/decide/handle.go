package decide

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

// The transitions below are pure: a record (nil when decide does not know
// the document) and an input in, the next record and the events to publish
// out. They never change their input record, read no clock (the time comes
// in [Meta] and the payloads) and derive event ids from the input, so a
// retried input gives the same result. A nil next record means nothing
// changed: the caller writes nothing. Each is idempotent: applying the same
// input to its own result changes nothing.
//
// Order of arrival does not matter:
//   - document.validated or document.rejected may come before
//     document.received: whichever comes first creates the record (an
//     upsert), document.received then only fills in what it alone knows.
//   - The first judgement (validated or rejected) wins; a later one, e.g.
//     from a replay under another rule set, is ignored.
//   - A verdict or an answer event for a document decide does not know
//     returns [ErrUnknownDocument], a verdict for a document not validated
//     yet [ErrNotValidated]: the bus retries them later rather than lose
//     them (no placeholder records: a caseworker only sees documents decide
//     has, so an unknown one is nearly always a race).
//   - Answer events carry their own time; an older one than the answer
//     status already holds is ignored, and delivered is final.

// Meta is what a transition knows besides the input's payload.
type Meta struct {
	// Now is decide's clock when it handles the input; it sets created_at
	// and updated_at, and the time of a verdict.refused event.
	Now time.Time
	// TraceID is the input's W3C trace id (32 hex digits), kept by a record
	// the input creates or that has none yet; empty when unknown.
	TraceID string
	// TraceParent is the input's W3C traceparent, kept with TraceID: the
	// span a verdict given over HTTP continues the document's trace from.
	TraceParent string
}

// Limits of a verdict; see [CheckVerdict].
const (
	MaxReasons    = 20   // reasons per verdict
	MaxReasonText = 500  // characters of a reason's text
	MaxNote       = 2000 // characters of a note
)

// maxAutoReasons bounds the reasons of an automatic rejection: the
// findings themselves travel in full beside them.
const maxAutoReasons = 20

// Who did what, in history entries.
const (
	byIngest   = "ingest"
	byValidate = "validate"
	byRespond  = "respond"
)

// idPattern is what a document id may look like: it becomes part of a KV
// key, so no '.', '*', '>' or space. Real ids are UUIDs.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// validID reports whether id can be a document id.
func validID(id string) bool { return idPattern.MatchString(id) }

// key is the KV key of a document: "<kommune>.<document id>". Putting the
// municipality first keeps one municipality's documents apart from
// another's even if two bundles ever got the same id (document ids do not
// include the kommune), and lets a caseworker's list read only their own
// municipality's keys.
func key(kommune, id string) string { return kommune + "." + id }

func checkIDs(eventType, kommune, id string) error {
	if !events.ValidKommune(kommune) || !validID(id) {
		return fmt.Errorf("%w: %s without a 4-digit kommune and a document id", ErrInvalidEvent, eventType)
	}
	return nil
}

// TraceOf returns the W3C trace id and traceparent carried by e's
// traceparent extension, or "" and "" when e has no valid one.
func TraceOf(e cloudevents.Event) (traceID, traceParent string) {
	sc := trace.SpanContextFromContext(telemetry.ExtractEvent(context.Background(), e))
	if !sc.IsValid() {
		return "", ""
	}
	return sc.TraceID().String(), fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags())
}

// addHistory inserts e in r's history in order of time, after the entries
// of the same time.
func addHistory(r *Record, e Entry) {
	i := len(r.History)
	for i > 0 && r.History[i-1].At.After(e.At) {
		i--
	}
	r.History = slices.Insert(r.History, i, e)
}

func newRecord(kommune, id string, m Meta) *Record {
	return &Record{
		ID: id, Kommune: kommune, TraceID: m.TraceID, TraceParent: m.TraceParent,
		Answer:    Answer{Status: StatusPending},
		CreatedAt: m.Now, UpdatedAt: m.Now,
	}
}

// touch marks r changed at m.Now and adopts m's trace when r has none.
func touch(r *Record, m Meta) {
	r.UpdatedAt = m.Now
	if r.TraceID == "" {
		r.TraceID, r.TraceParent = m.TraceID, m.TraceParent
	}
}

// Received applies document.received: a new record in state received, or,
// when validate's judgement came first, the record completed with the
// index and the time of receipt. It returns nil when r has seen it already.
func Received(r *Record, p events.DocumentReceived, m Meta) (*Record, error) {
	if err := checkIDs(events.TypeDocumentReceived, p.Kommune, p.DocumentID); err != nil {
		return nil, err
	}
	var n *Record
	if r == nil {
		n = newRecord(p.Kommune, p.DocumentID, m)
		n.State = StateReceived
		n.BundleID, n.ReceiptNo, n.DocumentNo, n.DocumentType = p.BundleID, p.ReceiptNo, p.DocumentNo, p.DocumentType
		n.Reference, n.Sender = p.Reference, p.Sender
	} else {
		if !r.ReceivedAt.IsZero() {
			return nil, nil
		}
		n = r.clone()
		if n.BundleID == "" {
			n.BundleID = p.BundleID
		}
	}
	n.Index, n.ReceivedAt = p.Index, p.ReceivedAt
	if p.Raw.Subject != "" {
		ref := p.Raw
		n.Raw = &ref
	}
	touch(n, m)
	addHistory(n, Entry{At: p.ReceivedAt, What: WhatReceived, State: StateReceived, By: byIngest})
	return n, nil
}

// judge copies what validate reports of a document into n.
func judge(n *Record, bundleID, reference string, sender events.Sender, receiptNo, documentNo string, typ events.DocumentType, ruleset string, at time.Time, findings []events.Finding) {
	n.BundleID, n.Reference, n.Sender = bundleID, reference, sender
	n.ReceiptNo, n.DocumentNo, n.DocumentType = receiptNo, documentNo, typ
	n.Ruleset, n.JudgedAt = ruleset, at
	n.Findings = slices.Clone(findings)
}

// Validated applies document.validated: the document waits for a
// caseworker's verdict. It creates the record when document.received has
// not come yet, and returns nil when the document was judged already.
func Validated(r *Record, p events.DocumentValidated, m Meta) (*Record, error) {
	if err := checkIDs(events.TypeDocumentValidated, p.Kommune, p.DocumentID); err != nil {
		return nil, err
	}
	var n *Record
	if r == nil {
		n = newRecord(p.Kommune, p.DocumentID, m)
	} else {
		if !r.JudgedAt.IsZero() {
			return nil, nil
		}
		n = r.clone()
	}
	judge(n, p.BundleID, p.Reference, p.Sender, p.ReceiptNo, p.DocumentNo, p.DocumentType, p.Ruleset, p.ValidatedAt, p.Findings)
	s := p.Summary
	n.Summary = &s
	n.State = StateAwaitingVerdict
	touch(n, m)
	addHistory(n, Entry{At: p.ValidatedAt, What: WhatValidated, State: StateAwaitingVerdict, By: byValidate})
	return n, nil
}

// TechnicallyRejected applies document.rejected: a technically invalid
// document is rejected at once, without a caseworker, and the
// document.decided event goes out with DecidedBy [events.DecidedBySystem].
//
// Its reasons, which the municipality's economy system receives, are
// [AutomaticReasons]: one per error finding with the text "<rule>: <message>"
// and the rule's closest Peppol reason code (OTH for a format rule without a
// counterpart; warnings are no reason to reject), at most 20; the last one
// then says how many more there are. Every finding, warnings included,
// travels in full in the event's findings.
//
// When the record was rejected this way already, the same document.decided
// event is returned again (same id, so JetStream drops it if the first one
// went out) and the record is not rewritten; when the document was
// validated first, the event is ignored.
func TechnicallyRejected(r *Record, p events.DocumentRejected, m Meta) (*Record, []cloudevents.Event, error) {
	if err := checkIDs(events.TypeDocumentRejected, p.Kommune, p.DocumentID); err != nil {
		return nil, nil, err
	}
	var n *Record
	if r == nil {
		n = newRecord(p.Kommune, p.DocumentID, m)
	} else {
		if !r.JudgedAt.IsZero() {
			if r.State == StateRejected && r.Verdict != nil && r.Verdict.By == events.DecidedBySystem {
				e, err := decidedEvent(r)
				if err != nil {
					return nil, nil, err
				}
				return nil, []cloudevents.Event{e}, nil
			}
			return nil, nil, nil
		}
		n = r.clone()
	}
	judge(n, p.BundleID, p.Reference, p.Sender, p.ReceiptNo, p.DocumentNo, p.DocumentType, p.Ruleset, p.RejectedAt, p.Findings)
	n.State = StateRejected
	at := p.RejectedAt
	n.DecidedAt = &at
	n.Verdict = &Verdict{Decision: events.DecisionReject, Reasons: AutomaticReasons(p.Findings), By: events.DecidedBySystem, At: at}
	touch(n, m)
	addHistory(n, Entry{At: at, What: WhatRejectedTechnically, State: StateRejected, By: events.DecidedBySystem,
		Detail: fmt.Sprintf("%d error finding(s), rule set %s", countErrors(p.Findings), p.Ruleset)})
	e, err := decidedEvent(n)
	if err != nil {
		return nil, nil, err
	}
	return n, []cloudevents.Event{e}, nil
}

func countErrors(fs []events.Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity == events.SeverityError {
			n++
		}
	}
	return n
}

// AutomaticReasons returns the reasons of an automatic rejection for
// findings: one reason "<rule>: <message>" per error finding, at most 20,
// the 20th then counting the rest (OTH); one generic OTH reason when there
// is no error finding. Each finding's reason has its rule's closest Peppol
// reason code ([efaktura.ReasonCode]: PRI for a wrong total, REF for a bad
// reference, OTH for a rule without a counterpart), the code respond puts
// in the answer, so the record shows what the economy system gets.
func AutomaticReasons(findings []events.Finding) []events.Reason {
	var errs []events.Finding
	for _, f := range findings {
		if f.Severity == events.SeverityError {
			errs = append(errs, f)
		}
	}
	if len(errs) == 0 {
		return []events.Reason{{Code: events.ReasonOther, Text: "the document is technically invalid"}}
	}
	var rs []events.Reason
	for i, f := range errs {
		if i == maxAutoReasons-1 && len(errs) > maxAutoReasons {
			rs = append(rs, events.Reason{Code: events.ReasonOther,
				Text: fmt.Sprintf("%d more rule violations; see the findings", len(errs)-i)})
			break
		}
		rs = append(rs, events.Reason{Code: events.ReasonCode(efaktura.ReasonCode(f.Rule)), Text: truncate(f.Rule+": "+f.Message, MaxReasonText)})
	}
	return rs
}

// truncate cuts s to at most n characters, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// decidedEvent builds the document.decided event of a decided record. Its
// id is derived from the document id alone, so every call for the same
// document gives the same id: there is one decision per document.
func decidedEvent(r *Record) (cloudevents.Event, error) {
	v := r.Verdict
	p := events.DocumentDecided{
		DocumentID: r.ID, BundleID: r.BundleID, Kommune: r.Kommune, Reference: r.Reference, Sender: r.Sender,
		ReceiptNo: r.ReceiptNo, DocumentNo: r.DocumentNo, DocumentType: r.DocumentType,
		Decision: v.Outcome(), DecidedAt: v.At, DecidedBy: v.By, VerdictID: v.ID, Ruleset: r.Ruleset,
	}
	if p.Decision == events.OutcomeRejected {
		p.Reasons = slices.Clone(v.Reasons)
	}
	if v.By == events.DecidedBySystem {
		p.Findings = slices.Clone(r.Findings)
	}
	e, err := events.New(events.TypeDocumentDecided, events.SourceDecide, r.Kommune, r.ID, []string{r.ID}, p, v.At)
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return e, nil
}

// reasonCodes are the Peppol clarification reason codes (OPStatusReason).
var reasonCodes = []events.ReasonCode{
	events.ReasonNoIssue, events.ReasonReferences, events.ReasonLegal, events.ReasonReceiverUnknown,
	events.ReasonQuality, events.ReasonDelivery, events.ReasonPrices, events.ReasonQuantity,
	events.ReasonItems, events.ReasonPayment, events.ReasonNotRecognized, events.ReasonFinance,
	events.ReasonOther,
}

// ReasonCodes returns the reason codes a verdict may use, in the order of
// the Peppol code list. The slice is a copy.
func ReasonCodes() []events.ReasonCode { return slices.Clone(reasonCodes) }

// NormalizeReasons returns reasons with their texts trimmed of surrounding
// white space; verdicts are compared and stored normalized.
func NormalizeReasons(reasons []events.Reason) []events.Reason {
	if len(reasons) == 0 {
		return nil
	}
	out := make([]events.Reason, len(reasons))
	for i, r := range reasons {
		out[i] = events.Reason{Code: r.Code, Text: strings.TrimSpace(r.Text)}
	}
	return out
}

// CheckVerdict reports every problem of a verdict at once as an
// [*InvalidVerdictError], or nil:
//   - the decision is approve or reject;
//   - a rejection has at least one reason, an approval none (the catalogue's
//     rule: an approval answers the municipality without reasons);
//   - at most [MaxReasons] reasons, each with a Peppol clarification code
//     ([ReasonCodes]); OTH needs a text; a text has at most [MaxReasonText]
//     characters;
//   - the note has at most [MaxNote] characters.
//
// Texts are judged as [NormalizeReasons] leaves them.
func CheckVerdict(d events.Decision, reasons []events.Reason, note string) error {
	var ps []string
	switch d {
	case events.DecisionApprove:
		if len(reasons) > 0 {
			ps = append(ps, "an approval carries no reasons")
		}
	case events.DecisionReject:
		if len(reasons) == 0 {
			ps = append(ps, "a rejection needs at least one reason")
		}
	default:
		ps = append(ps, fmt.Sprintf("decision %q is neither approve nor reject", cpr.Mask(truncate(string(d), 20))))
	}
	if len(reasons) > MaxReasons {
		ps = append(ps, fmt.Sprintf("%d reasons; at most %d", len(reasons), MaxReasons))
	}
	for i, r := range NormalizeReasons(reasons) {
		if !slices.Contains(reasonCodes, r.Code) {
			ps = append(ps, fmt.Sprintf("reason %d: code %q is not a Peppol clarification reason code (%s)", i+1, cpr.Mask(truncate(string(r.Code), 10)), codeList()))
			continue
		}
		if r.Code == events.ReasonOther && r.Text == "" {
			ps = append(ps, fmt.Sprintf("reason %d: OTH needs a text saying what is wrong", i+1))
		}
		if n := utf8.RuneCountInString(r.Text); n > MaxReasonText {
			ps = append(ps, fmt.Sprintf("reason %d: text of %d characters; at most %d", i+1, n, MaxReasonText))
		}
	}
	if n := utf8.RuneCountInString(note); n > MaxNote {
		ps = append(ps, fmt.Sprintf("note of %d characters; at most %d", n, MaxNote))
	}
	if len(ps) > 0 {
		return &InvalidVerdictError{Problems: ps}
	}
	return nil
}

func codeList() string {
	s := make([]string, len(reasonCodes))
	for i, c := range reasonCodes {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// VerdictOutcome is what [ApplyVerdict] did with a verdict.
type VerdictOutcome string

const (
	// VerdictApplied: the verdict decided the document.
	VerdictApplied VerdictOutcome = "applied"
	// VerdictRepeated: the same verdict (same decision, same reasons)
	// decided the document already; nothing changes.
	VerdictRepeated VerdictOutcome = "repeated"
	// VerdictRefused: the verdict cannot apply: another one decided the
	// document, the system rejected it as technically invalid, or the
	// verdict itself is invalid.
	VerdictRefused VerdictOutcome = "refused"
)

// VerdictResult is the result of [ApplyVerdict].
type VerdictResult struct {
	Outcome VerdictOutcome
	// Record is the record after the verdict: the new one when applied (to
	// be written), the unchanged one otherwise.
	Record *Record
	// Events to publish: document.decided when applied or repeated (the
	// same event id every time: JetStream drops a copy), verdict.refused
	// when refused.
	Events []cloudevents.Event
	// Reason says why the verdict was refused.
	Reason string
}

// ApplyVerdict applies a caseworker's verdict to r. Exactly one verdict
// wins: the first applied. The same verdict again is [VerdictRepeated] and
// returns the document.decided event again, so a retry whose first attempt
// stored the decision but did not publish it still announces it. A
// different verdict is [VerdictRefused] with a verdict.refused event (key:
// the verdict id); so is an invalid one ([CheckVerdict]).
//
// It returns [ErrUnknownDocument] when r is nil (or of another kommune),
// [ErrNotValidated] while r awaits validation, and [ErrInvalidEvent] when v
// lacks a verdict id, document id, kommune, caseworker or time.
func ApplyVerdict(r *Record, v events.VerdictSubmitted, m Meta) (VerdictResult, error) {
	if err := checkIDs(events.TypeVerdictSubmitted, v.Kommune, v.DocumentID); err != nil || v.VerdictID == "" || v.Caseworker == "" || v.SubmittedAt.IsZero() {
		return VerdictResult{}, fmt.Errorf("%w: %s needs a verdict id, a document id, a 4-digit kommune, a caseworker and a time", ErrInvalidEvent, events.TypeVerdictSubmitted)
	}
	v.Reasons = NormalizeReasons(v.Reasons)
	if err := CheckVerdict(v.Decision, v.Reasons, v.Note); err != nil {
		return refuse(r, v, m, err.Error(), "")
	}
	if r == nil || r.Kommune != v.Kommune || r.ID != v.DocumentID {
		return VerdictResult{}, ErrUnknownDocument
	}
	switch r.State {
	case StateReceived:
		return VerdictResult{Record: r}, ErrNotValidated
	case StateAwaitingVerdict:
		n := r.clone()
		at := v.SubmittedAt
		n.Verdict = &Verdict{ID: v.VerdictID, Decision: v.Decision, Reasons: v.Reasons, Note: v.Note, By: v.Caseworker, At: at}
		n.State = State(n.Verdict.Outcome())
		n.DecidedAt = &at
		touch(n, m)
		addHistory(n, Entry{At: at, What: WhatVerdict, State: n.State, By: v.Caseworker, Detail: string(v.Decision)})
		e, err := decidedEvent(n)
		if err != nil {
			return VerdictResult{}, err
		}
		return VerdictResult{Outcome: VerdictApplied, Record: n, Events: []cloudevents.Event{e}}, nil
	}
	// Decided.
	if SameVerdict(r.Verdict, v.Decision, v.Reasons) {
		e, err := decidedEvent(r)
		if err != nil {
			return VerdictResult{}, err
		}
		return VerdictResult{Outcome: VerdictRepeated, Record: r, Events: []cloudevents.Event{e}}, nil
	}
	why := "another verdict decided the document already: it is " + string(r.State)
	if r.Verdict != nil && r.Verdict.By == events.DecidedBySystem {
		why = "the document was rejected automatically as technically invalid"
	}
	return refuse(r, v, m, why, events.Outcome(r.State))
}

func refuse(r *Record, v events.VerdictSubmitted, m Meta, why string, inForce events.Outcome) (VerdictResult, error) {
	e, err := events.New(events.TypeVerdictRefused, events.SourceDecide, v.Kommune, v.DocumentID, []string{v.VerdictID},
		events.VerdictRefused{VerdictID: v.VerdictID, DocumentID: v.DocumentID, Kommune: v.Kommune, Reason: why, DecisionInForce: inForce, RefusedAt: m.Now},
		m.Now)
	if err != nil {
		return VerdictResult{}, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return VerdictResult{Outcome: VerdictRefused, Record: r, Events: []cloudevents.Event{e}, Reason: why}, nil
}

// SameVerdict reports whether a caseworker's verdict in force has decision
// d and the reasons given (normalized, in the same order). An automatic
// rejection is never the same as a caseworker's verdict.
func SameVerdict(in *Verdict, d events.Decision, reasons []events.Reason) bool {
	if in == nil || in.By == events.DecidedBySystem || in.Decision != d {
		return false
	}
	return slices.Equal(NormalizeReasons(in.Reasons), NormalizeReasons(reasons))
}

// answer checks an answer event and returns a copy of r to change, or nil
// when r's answer was delivered or, unless the event is final (a
// delivery), when the event is older than the status r holds.
func answer(r *Record, eventType, kommune, id string, at time.Time, final bool) (*Record, error) {
	if err := checkIDs(eventType, kommune, id); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, ErrUnknownDocument
	}
	if r.Answer.Status == StatusDelivered || !final && at.Before(r.Answer.ReportedAt) {
		return nil, nil
	}
	return r.clone(), nil
}

// PersonalDataRead records in r's history that who read the document's
// personal data at m.Now: what is [WhatCPRRevealed] or [WhatOriginalRead].
// Unlike the other transitions it is not idempotent: every read is one
// entry, an access log. It returns [ErrUnknownDocument] when r is nil.
func PersonalDataRead(r *Record, what, who string, m Meta) (*Record, error) {
	if r == nil {
		return nil, ErrUnknownDocument
	}
	n := r.clone()
	touch(n, m)
	addHistory(n, Entry{At: m.Now, What: what, State: n.State, By: who})
	return n, nil
}

// AnswerParked applies answer.parked: respond holds the answer until the
// municipality's service agreements allow it. It returns nil when nothing
// changes, and [ErrUnknownDocument] for a document decide does not know.
func AnswerParked(r *Record, p events.AnswerParked, m Meta) (*Record, error) {
	n, err := answer(r, events.TypeAnswerParked, p.Kommune, p.DocumentID, p.ParkedAt, false)
	if n == nil || err != nil {
		return nil, err
	}
	a := &n.Answer
	if a.Status == StatusParked && a.ReportedAt.Equal(p.ParkedAt) && a.ParkReason == p.Reason {
		return nil, nil
	}
	a.Status, a.AnswerID, a.ParkReason, a.ReportedAt = StatusParked, p.AnswerID, p.Reason, p.ParkedAt
	a.NextAttemptAt = nil
	a.Error, a.Permanent = "", false
	touch(n, m)
	addHistory(n, Entry{At: p.ParkedAt, What: WhatAnswerParked, State: n.State, By: byRespond, Detail: string(p.Reason)})
	return n, nil
}

// AnswerDelivered applies answer.delivered: the economy system took the
// answer. Final. It returns nil when nothing changes, and
// [ErrUnknownDocument] for a document decide does not know.
func AnswerDelivered(r *Record, p events.AnswerDelivered, m Meta) (*Record, error) {
	n, err := answer(r, events.TypeAnswerDelivered, p.Kommune, p.DocumentID, p.DeliveredAt, true)
	if n == nil || err != nil {
		return nil, err
	}
	a := &n.Answer
	at := p.DeliveredAt
	a.Status, a.AnswerID, a.DeliveredAt, a.ReportedAt = StatusDelivered, p.AnswerID, &at, at
	a.NextAttemptAt = nil
	a.Attempts = max(a.Attempts, p.Attempts)
	a.ParkReason, a.Error, a.Permanent = "", "", false
	touch(n, m)
	addHistory(n, Entry{At: at, What: WhatAnswerDelivered, State: n.State, By: byRespond,
		Detail:  fmt.Sprintf("to %s after %d attempt(s)", p.EconomySystemID, p.Attempts),
		Attempt: p.Attempts, StatusCode: p.StatusCode})
	return n, nil
}

// AnswerFailed applies answer.failed: an attempt to deliver failed, and
// respond gave up when p.Permanent. It returns nil when nothing changes,
// and [ErrUnknownDocument] for a document decide does not know.
func AnswerFailed(r *Record, p events.AnswerFailed, m Meta) (*Record, error) {
	n, err := answer(r, events.TypeAnswerFailed, p.Kommune, p.DocumentID, p.FailedAt, false)
	if n == nil || err != nil {
		return nil, err
	}
	a := &n.Answer
	if a.Status == StatusFailed && a.ReportedAt.Equal(p.FailedAt) && a.Attempts >= p.Attempts && a.Permanent == p.Permanent {
		return nil, nil
	}
	a.Status, a.AnswerID, a.ReportedAt = StatusFailed, p.AnswerID, p.FailedAt
	a.Attempts = max(a.Attempts, p.Attempts)
	a.Error, a.Permanent, a.ParkReason, a.NextAttemptAt = p.Error, p.Permanent, "", p.NextAttemptAt
	detail := fmt.Sprintf("attempt %d: %s", p.Attempts, p.Error)
	if p.Permanent {
		detail = fmt.Sprintf("gave up after %d attempt(s): %s", p.Attempts, p.Error)
	}
	touch(n, m)
	addHistory(n, Entry{At: p.FailedAt, What: WhatAnswerFailed, State: n.State, By: byRespond, Detail: truncate(detail, MaxReasonText),
		Attempt: p.Attempts, StatusCode: p.StatusCode})
	return n, nil
}
