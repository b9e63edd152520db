package events

import (
	"time"

	"github.com/kp-efaktura/efaktura/pkg/answer"
)

// The payloads, one per event type with a JSON payload. Field names are
// snake_case in JSON; times are RFC 3339 in UTC; ids are strings. Each
// payload has a JSON Schema in schemas/ ([Schema]) that the tests keep
// field-for-field equal to the struct: a field without omitempty is
// required by the schema, one with omitempty is optional there.
//
// Values copied from a bundle (receipt and document numbers, document type,
// sender, reference) are as written, before validation: a consumer of
// [DocumentReceived] or [DocumentRejected] must not assume they are well
// formed. Payloads may carry personal data (names, free texts): log ids,
// never payloads.

// Severity tells whether a [Finding] rejects what it is attached to.
type Severity string

const (
	SeverityError   Severity = "error"   // rejects the bundle or the document
	SeverityWarning Severity = "warning" // advice; never rejects
)

// Finding is one violation of one format rule at one place. It has the JSON
// shape of the format library's findings (pkg/efaktura.Finding), so the two
// convert field by field.
type Finding struct {
	// Rule is the stable rule id, "V01" to "V51".
	Rule string `json:"rule"`
	// Severity is "error" or "warning".
	Severity Severity `json:"severity"`
	// Path locates the element, e.g. /INVOICES/DOCUMENT[2]/LINE[3]/AMOUNT/NET_PRICE.
	Path string `json:"path"`
	// Line and Column are where the element's start tag stands, 1-based,
	// in what was validated: the bundle's XML, or, for a document validated
	// by its reference, the DOCUMENT element alone (its start tag is line 1,
	// column 1). For a missing element, the element that should hold it.
	// 0 (absent) for the file as a whole, and in events written before
	// findings had positions.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Message says what was found and what was expected, in English.
	Message string `json:"message"`
	// MessageDA and MessageEN are the message in Danish and English;
	// absent in events written before findings had both.
	MessageDA string `json:"message_da,omitempty"`
	MessageEN string `json:"message_en,omitempty"`
}

// Sender identifies the issuer of a document as written in its HEADER.
type Sender struct {
	// Type is SENDER_ID_TYPE: "CVR" or "EAN" in a valid document.
	Type string `json:"type"`
	// ID is SENDER_ID.
	ID string `json:"id"`
}

// DocumentType is DOCUMENT_HEAD/DOCUMENT_TYPE. Before validation it is as
// written and may be any text; after, it is one of the constants.
type DocumentType string

const (
	DocumentInvoice    DocumentType = "INVOICE"
	DocumentCreditNote DocumentType = "CREDIT_NOTE"
	DocumentReminder   DocumentType = "REMINDER"
)

// ReasonCode is a Peppol invoice response status clarification reason code
// (OpenPEPPOL code list OPStatusReason), the why of a rejection.
type ReasonCode string

const (
	ReasonNoIssue         ReasonCode = "NON" // no issue
	ReasonReferences      ReasonCode = "REF" // references incorrect
	ReasonLegal           ReasonCode = "LEG" // legal information incorrect
	ReasonReceiverUnknown ReasonCode = "REC" // receiver unknown
	ReasonQuality         ReasonCode = "QUA" // item quality insufficient
	ReasonDelivery        ReasonCode = "DEL" // delivery issues
	ReasonPrices          ReasonCode = "PRI" // prices incorrect
	ReasonQuantity        ReasonCode = "QTY" // quantity incorrect
	ReasonItems           ReasonCode = "ITM" // items incorrect
	ReasonPayment         ReasonCode = "PAY" // payment terms incorrect
	ReasonNotRecognized   ReasonCode = "UNR" // not recognised
	ReasonFinance         ReasonCode = "FIN" // finance terms incorrect
	ReasonOther           ReasonCode = "OTH" // other; Text says what
)

// Reason is one reason for a rejection.
type Reason struct {
	// Code is the Peppol clarification reason code.
	Code ReasonCode `json:"code"`
	// Text explains the code to the municipality; required with
	// [ReasonOther].
	Text string `json:"text,omitempty"`
}

// RejectionReason is why ingest refused a bundle.
type RejectionReason string

const (
	// RejectionInvalid: file or bundle rules (V01 to V10) found errors.
	RejectionInvalid RejectionReason = "invalid"
	// RejectionDuplicate: a bundle with the same duplicate key (V10) was
	// accepted this year.
	RejectionDuplicate RejectionReason = "duplicate"
	// RejectionUnknownSender: the bundle's sender is not in the
	// municipality's sender register, or the municipality is unknown.
	RejectionUnknownSender RejectionReason = "unknown_sender"
)

// Decision is a caseworker's verdict on a document.
type Decision string

const (
	DecisionApprove Decision = "approve"
	DecisionReject  Decision = "reject"
)

// Outcome is the final decision on a document.
type Outcome string

const (
	OutcomeApproved Outcome = "approved"
	OutcomeRejected Outcome = "rejected"
)

// DecidedBySystem is [DocumentDecided].DecidedBy for an automatic rejection.
const DecidedBySystem = "system"

// ParkReason is why respond holds an answer.
type ParkReason string

const (
	// ParkAgreementMissing: the forside or bagside agreement does not exist.
	ParkAgreementMissing ParkReason = "agreement_missing"
	// ParkAgreementNotApproved: an agreement is requested or rejected.
	ParkAgreementNotApproved ParkReason = "agreement_not_approved"
	// ParkEconomySystemMismatch: an agreement names another economy system
	// than the municipality's.
	ParkEconomySystemMismatch ParkReason = "economy_system_mismatch"
)

// Agreement names one of a municipality's two service agreements.
type Agreement string

const (
	AgreementForside Agreement = "forside"
	AgreementBagside Agreement = "bagside"
)

// AgreementState is the state of a service agreement.
type AgreementState string

const (
	AgreementRequested AgreementState = "requested"
	AgreementApproved  AgreementState = "approved"
	AgreementRejected  AgreementState = "rejected"
	// AgreementWithdrawn: the municipality withdrew an approved agreement
	// (issue 15). Added to v1: like requested and rejected it means "not
	// approved", which is all a consumer acts on.
	AgreementWithdrawn AgreementState = "withdrawn"
)

// RawRef refers to a received document's raw bytes: the last message on
// Subject in Stream (JetStream's get of the last message for a subject).
type RawRef struct {
	// Stream is the JetStream stream holding the document, [RawStream].
	Stream string `json:"stream"`
	// Subject is the document's subject in Stream, [RawSubject]: one
	// message per document.
	Subject string `json:"subject"`
	// Size is the document's length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the SHA-256 of the document's bytes, in lower-case hex, so
	// a reader can tell that it got the document referred to.
	SHA256 string `json:"sha256"`
}

// RawBundleRef tells where an accepted bundle's documents are stored raw.
type RawBundleRef struct {
	// Stream is the JetStream stream holding them, [RawStream].
	Stream string `json:"stream"`
	// Filter is the subject filter matching every document of the bundle
	// in Stream, [RawBundleFilter]; each document's own subject is in its
	// [DocumentReceived].
	Filter string `json:"filter"`
}

// BundleDocument is one document of an accepted bundle.
type BundleDocument struct {
	// DocumentID is [DocumentID](bundle id, Index).
	DocumentID string `json:"document_id"`
	// Index is the 1-based position of the DOCUMENT in the bundle.
	Index int `json:"index"`
	// ReceiptNo is HEADER/RECEIPT_NO as written.
	ReceiptNo string `json:"receipt_no"`
	// DocumentNo is DOCUMENT_HEAD/DOCUMENT_NO as written.
	DocumentNo string `json:"document_no"`
	// DocumentType is DOCUMENT_HEAD/DOCUMENT_TYPE as written.
	DocumentType DocumentType `json:"document_type"`
}

// BundleReceived is the payload of [TypeBundleReceived].
type BundleReceived struct {
	// BundleID is [BundleID] of the bundle's duplicate key (V10).
	BundleID string `json:"bundle_id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// ServiceProvider is the party that delivered the file, known from the
	// transport (not written in the XML); part of the duplicate key.
	ServiceProvider string `json:"service_provider"`
	// Reference is INVOICES/REFERENCE, the sender's reference of the bundle.
	Reference string `json:"reference"`
	// Sender is the sender of the first DOCUMENT; part of the duplicate key.
	Sender Sender `json:"sender"`
	// ReceivedAt is when ingest received the bundle.
	ReceivedAt time.Time `json:"received_at"`
	// Raw is where the bundle's documents are stored raw, one message each;
	// the bundle as received is not kept whole.
	Raw RawBundleRef `json:"raw"`
	// SHA256 is the SHA-256 of the bundle as received (XML or ZIP), in
	// lower-case hex.
	SHA256 string `json:"sha256"`
	// Size is the length of the bundle as received (XML or ZIP), in bytes.
	Size int64 `json:"size"`
	// Ruleset is the version of the rules applied, e.g. "efaktura-2.1.0/r1".
	Ruleset string `json:"ruleset"`
	// Documents lists the bundle's documents in order, 1 to 1000.
	Documents []BundleDocument `json:"documents"`
}

// BundleRejected is the payload of [TypeBundleRejected].
type BundleRejected struct {
	// BundleID is [BundleID] of the bundle's duplicate key when it could be
	// read, otherwise empty. A rejected bundle does not use up its key: a
	// corrected bundle with the same key later gets the same id. For a
	// duplicate it is the id of the accepted bundle, as DuplicateOf.
	BundleID string `json:"bundle_id,omitempty"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// ServiceProvider is the party that delivered the file.
	ServiceProvider string `json:"service_provider"`
	// Reference is INVOICES/REFERENCE when it could be read.
	Reference string `json:"reference,omitempty"`
	// Sender is the sender of the first DOCUMENT when it could be read.
	Sender *Sender `json:"sender,omitempty"`
	// ReceivedAt is when ingest received the bundle.
	ReceivedAt time.Time `json:"received_at"`
	// SHA256 is the SHA-256 of the raw bundle as received, in lower-case
	// hex: it identifies the submission when the bundle has no id.
	SHA256 string `json:"sha256"`
	// Reason is why the bundle was refused.
	Reason RejectionReason `json:"reason"`
	// DuplicateOf is the id of the bundle accepted earlier with the same
	// duplicate key; set when Reason is "duplicate".
	DuplicateOf string `json:"duplicate_of,omitempty"`
	// Findings are the file and bundle findings (V01 to V10); at least one
	// error when Reason is "invalid".
	Findings []Finding `json:"findings,omitempty"`
	// Ruleset is the version of the rules applied.
	Ruleset string `json:"ruleset"`
}

// DocumentReceived is the payload of [TypeDocumentReceived].
type DocumentReceived struct {
	// DocumentID is [DocumentID](BundleID, Index).
	DocumentID string `json:"document_id"`
	// BundleID is the id of the bundle the document came in.
	BundleID string `json:"bundle_id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// Index is the 1-based position of the DOCUMENT in the bundle.
	Index int `json:"index"`
	// ReceiptNo is HEADER/RECEIPT_NO as written.
	ReceiptNo string `json:"receipt_no"`
	// DocumentNo is DOCUMENT_HEAD/DOCUMENT_NO as written.
	DocumentNo string `json:"document_no"`
	// DocumentType is DOCUMENT_HEAD/DOCUMENT_TYPE as written.
	DocumentType DocumentType `json:"document_type"`
	// Sender is the document's SENDER_ID_TYPE and SENDER_ID as written.
	Sender Sender `json:"sender"`
	// Reference is the bundle's INVOICES/REFERENCE.
	Reference string `json:"reference"`
	// ReceivedAt is when ingest received the bundle.
	ReceivedAt time.Time `json:"received_at"`
	// Raw is where the document's bytes are stored: the DOCUMENT element as
	// it stood in the bundle, from its start tag to its end tag, in
	// ISO-8859-1 (efaktura.Document.Raw), ready for
	// efaktura.ValidateDocument. The event carries the reference, not the
	// document (a claim check), so each document is stored once, and
	// expires there after ingest's raw retention: a consumer that finds it
	// gone cannot get it back.
	Raw RawRef `json:"raw"`
	// Findings are the document's findings that only the whole bundle
	// shows (V51, a receipt number used twice), known at ingest; validate
	// adds them to its own.
	Findings []Finding `json:"findings,omitempty"`
}

// Summary is what a caseworker sees of a valid document before opening it.
type Summary struct {
	// Currency is CURRENCY/CURRENCY_CODE, e.g. "DKK".
	Currency string `json:"currency"`
	// TotalAmountInclVAT is TOTALAMOUNT/TOTAL_AMOUNT_INCL_VAT as written,
	// with a decimal comma, e.g. "1812,50".
	TotalAmountInclVAT string `json:"total_amount_incl_vat"`
	// DocumentDate is DOCUMENT_HEAD/DOCUMENT_DATE, "YYYY-MM-DD".
	DocumentDate string `json:"document_date"`
	// BillToName is BILL_TO/NAME_1.
	BillToName string `json:"bill_to_name"`
	// Lines is the number of LINE elements.
	Lines int `json:"lines"`
	// DueDate is PAYMENT_TERMS/DUE_DATE, "YYYY-MM-DD"; empty when the
	// document has no PAYMENT_TERMS (or was validated before summaries had
	// it, issue 11).
	DueDate string `json:"due_date,omitempty"`
	// BilledFromName is BILLED_FROM/NAME_1, the supplier; empty for a
	// document validated before summaries had it (issue 11).
	BilledFromName string `json:"billed_from_name,omitempty"`
}

// DocumentValidated is the payload of [TypeDocumentValidated].
type DocumentValidated struct {
	// DocumentID is the document's id.
	DocumentID string `json:"document_id"`
	// BundleID is the id of the bundle the document came in.
	BundleID string `json:"bundle_id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// Reference is the bundle's INVOICES/REFERENCE.
	Reference string `json:"reference"`
	// Sender is the document's sender.
	Sender Sender `json:"sender"`
	// ReceiptNo is HEADER/RECEIPT_NO.
	ReceiptNo string `json:"receipt_no"`
	// DocumentNo is DOCUMENT_HEAD/DOCUMENT_NO.
	DocumentNo string `json:"document_no"`
	// DocumentType is INVOICE, CREDIT_NOTE or REMINDER.
	DocumentType DocumentType `json:"document_type"`
	// Ruleset is the version of the rules applied.
	Ruleset string `json:"ruleset"`
	// ValidatedAt is when validate judged the document.
	ValidatedAt time.Time `json:"validated_at"`
	// Summary is the document at a glance.
	Summary Summary `json:"summary"`
	// Findings are warnings, if any; a validated document has no error.
	Findings []Finding `json:"findings,omitempty"`
}

// DocumentRejected is the payload of [TypeDocumentRejected].
type DocumentRejected struct {
	// DocumentID is the document's id.
	DocumentID string `json:"document_id"`
	// BundleID is the id of the bundle the document came in.
	BundleID string `json:"bundle_id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// Reference is the bundle's INVOICES/REFERENCE.
	Reference string `json:"reference"`
	// Sender is the document's sender as written.
	Sender Sender `json:"sender"`
	// ReceiptNo is HEADER/RECEIPT_NO as written.
	ReceiptNo string `json:"receipt_no"`
	// DocumentNo is DOCUMENT_HEAD/DOCUMENT_NO as written.
	DocumentNo string `json:"document_no"`
	// DocumentType is DOCUMENT_HEAD/DOCUMENT_TYPE as written.
	DocumentType DocumentType `json:"document_type"`
	// Ruleset is the version of the rules applied.
	Ruleset string `json:"ruleset"`
	// RejectedAt is when validate judged the document.
	RejectedAt time.Time `json:"rejected_at"`
	// Findings are every finding, at least one error.
	Findings []Finding `json:"findings"`
}

// VerdictSubmitted is the payload of [TypeVerdictSubmitted].
type VerdictSubmitted struct {
	// VerdictID is a UUID chosen by the submitter; a resubmission of the
	// same verdict reuses it.
	VerdictID string `json:"verdict_id"`
	// DocumentID is the document judged.
	DocumentID string `json:"document_id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// Decision is approve or reject.
	Decision Decision `json:"decision"`
	// Reasons are why; at least one when Decision is reject, none otherwise.
	Reasons []Reason `json:"reasons,omitempty"`
	// Note is the caseworker's internal note; it is not sent to the
	// municipality.
	Note string `json:"note,omitempty"`
	// Caseworker identifies the caseworker (a user id, never a CPR number).
	Caseworker string `json:"caseworker"`
	// SubmittedAt is when the caseworker submitted the verdict.
	SubmittedAt time.Time `json:"submitted_at"`
}

// VerdictRefused is the payload of [TypeVerdictRefused].
type VerdictRefused struct {
	// VerdictID is the refused verdict's id.
	VerdictID string `json:"verdict_id"`
	// DocumentID is the document the verdict was about.
	DocumentID string `json:"document_id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// Reason says why the verdict was not applied, for the caseworker.
	Reason string `json:"reason"`
	// DecisionInForce is the decision that stands, when the document is
	// decided already.
	DecisionInForce Outcome `json:"decision_in_force,omitempty"`
	// RefusedAt is when decide refused the verdict.
	RefusedAt time.Time `json:"refused_at"`
}

// DocumentDecided is the payload of [TypeDocumentDecided]: everything respond
// needs to answer the municipality's economy system.
type DocumentDecided struct {
	// DocumentID is the document's id.
	DocumentID string `json:"document_id"`
	// BundleID is the id of the bundle the document came in.
	BundleID string `json:"bundle_id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// Reference is the bundle's INVOICES/REFERENCE.
	Reference string `json:"reference"`
	// Sender is the document's sender; with ReceiptNo it identifies the
	// document to the economy system.
	Sender Sender `json:"sender"`
	// ReceiptNo is HEADER/RECEIPT_NO, echoed in the answer.
	ReceiptNo string `json:"receipt_no"`
	// DocumentNo is DOCUMENT_HEAD/DOCUMENT_NO.
	DocumentNo string `json:"document_no"`
	// DocumentType is DOCUMENT_HEAD/DOCUMENT_TYPE.
	DocumentType DocumentType `json:"document_type"`
	// Decision is approved or rejected.
	Decision Outcome `json:"decision"`
	// Reasons are why; at least one when Decision is rejected (an automatic
	// rejection uses OTH and names the violated rules in Text).
	Reasons []Reason `json:"reasons,omitempty"`
	// Findings are the findings of a technically invalid document, so the
	// answer can name the violated rules.
	Findings []Finding `json:"findings,omitempty"`
	// DecidedAt is when the decision was made.
	DecidedAt time.Time `json:"decided_at"`
	// DecidedBy is the caseworker, or [DecidedBySystem] for an automatic
	// rejection.
	DecidedBy string `json:"decided_by"`
	// VerdictID is the caseworker's verdict; empty for an automatic
	// rejection.
	VerdictID string `json:"verdict_id,omitempty"`
	// Ruleset is the version of the rules the document was judged by.
	Ruleset string `json:"ruleset"`
}

// AnswerQueued is the payload of [TypeAnswerQueued]: the answer as the
// economy system will get it, save its economy_system, which respond sets
// from the municipality's record when it sends it.
type AnswerQueued = answer.Answer

// AnswerParked is the payload of [TypeAnswerParked].
type AnswerParked struct {
	// AnswerID is the answer's id: the id of the [TypeDocumentDecided]
	// event it answers.
	AnswerID string `json:"answer_id"`
	// DocumentID is the document answered.
	DocumentID string `json:"document_id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// Reason is why the answer is held.
	Reason ParkReason `json:"reason"`
	// Detail says which agreement and what state, for an operator.
	Detail string `json:"detail,omitempty"`
	// ParkedAt is when respond parked the answer.
	ParkedAt time.Time `json:"parked_at"`
}

// AnswerDelivered is the payload of [TypeAnswerDelivered].
type AnswerDelivered struct {
	// AnswerID is the answer's id.
	AnswerID string `json:"answer_id"`
	// DocumentID is the document answered.
	DocumentID string `json:"document_id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// EconomySystemID is the economy system that took the answer.
	EconomySystemID string `json:"economy_system_id"`
	// Attempts is the number of delivery attempts, this one included.
	Attempts int `json:"attempts"`
	// DeliveredAt is when the economy system accepted the answer.
	DeliveredAt time.Time `json:"delivered_at"`
	// StatusCode is the economy system's HTTP status.
	StatusCode int `json:"status_code"`
}

// AnswerFailed is the payload of [TypeAnswerFailed].
type AnswerFailed struct {
	// AnswerID is the answer's id.
	AnswerID string `json:"answer_id"`
	// DocumentID is the document answered.
	DocumentID string `json:"document_id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// EconomySystemID is the economy system addressed.
	EconomySystemID string `json:"economy_system_id"`
	// Attempts is the number of delivery attempts so far.
	Attempts int `json:"attempts"`
	// Permanent is true when no retry follows by itself and an operator
	// must act: the answer was dead-lettered (replay it once the economy
	// system will take it), or the economy system refused efaktura itself
	// (401, 403, 404, 410, a redirect) and the municipality's queue waits
	// until its record changes.
	Permanent bool `json:"permanent"`
	// Error says what went wrong, without payload data.
	Error string `json:"error"`
	// FailedAt is when the attempt failed.
	FailedAt time.Time `json:"failed_at"`
	// NextAttemptAt is when respond tries again by itself; nil when it does
	// not (Permanent), or waits for something else than time.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// StatusCode is the economy system's HTTP status; 0 when no response
	// came (a network error, a timeout).
	StatusCode int `json:"status_code,omitempty"`
}

// EconomySystem is a municipality's economy system (ERP), where answers go.
type EconomySystem struct {
	// ID identifies the economy system; agreements name it.
	ID string `json:"id"`
	// Name is its display name.
	Name string `json:"name"`
	// Endpoint is the https URL answers are delivered to. The signing
	// secret never travels in an event.
	Endpoint string `json:"endpoint"`
}

// RegisteredSender is an entry of a municipality's sender register (V24,
// V48).
type RegisteredSender struct {
	// Type is SENDER_ID_TYPE: "CVR" or "EAN".
	Type string `json:"type"`
	// ID is SENDER_ID.
	ID string `json:"id"`
	// Nets flags Nets, the only sender allowed to use PBS (V48).
	Nets bool `json:"nets"`
}

// TenantChanged is the payload of [TypeTenantChanged]: the whole current
// state of a municipality, not a difference.
type TenantChanged struct {
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// Name is the municipality's name, e.g. "København".
	Name string `json:"name"`
	// CVR is the municipality's CVR number, 8 digits.
	CVR string `json:"cvr"`
	// EconomySystem is the municipality's economy system.
	EconomySystem EconomySystem `json:"economy_system"`
	// Senders is the municipality's sender register; empty when none.
	Senders []RegisteredSender `json:"senders,omitempty"`
	// Version is the tenant record's revision in its store; it grows with every change of the tenant; a consumer
	// ignores an event whose version is not above the one it holds.
	Version int64 `json:"version"`
	// ChangedAt is when the change was made.
	ChangedAt time.Time `json:"changed_at"`
}

// AgreementChanged is the payload of [TypeAgreementChanged].
type AgreementChanged struct {
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// Agreement is forside or bagside.
	Agreement Agreement `json:"agreement"`
	// State is the agreement's new state.
	State AgreementState `json:"state"`
	// EconomySystemID is the economy system the agreement names; answers go
	// out only when it is the municipality's.
	EconomySystemID string `json:"economy_system_id"`
	// Version is the tenant record's revision in its store; it grows with every change; a consumer
	// ignores an event whose version is not above the one it holds.
	Version int64 `json:"version"`
	// ChangedAt is when the change was made.
	ChangedAt time.Time `json:"changed_at"`
}
