package answer

import "time"

// Answer is what efaktura sends to a municipality's economy system for one
// decided document: the JSON body of the POST. It identifies the document
// the way the economy system knows it (the bundle's REFERENCE, the sender,
// RECEIPT_NO and DOCUMENT_NO) and says what KP decided and why.
//
// The field names are a contract with every economy system and the ERP
// simulator: fields are only ever added, and only optional ones.
type Answer struct {
	// AnswerID identifies the answer: the id of the document.decided event
	// it answers. The economy system gets it in the Idempotency-Key header
	// too and must treat a repeated id as the same answer.
	AnswerID string `json:"answer_id"`
	// DocumentID is efaktura's id of the document, for support requests.
	DocumentID string `json:"document_id"`
	// Kommune is the municipality's 4-digit code.
	Kommune string `json:"kommune"`
	// EconomySystem is the id of the economy system the answer is for; the
	// receiver picks its signing secret by it.
	EconomySystem string `json:"economy_system"`
	// Reference is the bundle's INVOICES/REFERENCE.
	Reference string `json:"reference"`
	// ReceiptNo is the document's HEADER/RECEIPT_NO.
	ReceiptNo string `json:"receipt_no"`
	// DocumentNo is the document's DOCUMENT_HEAD/DOCUMENT_NO.
	DocumentNo string `json:"document_no"`
	// DocumentType is INVOICE, CREDIT_NOTE or REMINDER.
	DocumentType string `json:"document_type"`
	// Sender is the document's SENDER_ID_TYPE and SENDER_ID.
	Sender Sender `json:"sender"`
	// Decision is "approved" or "rejected".
	Decision string `json:"decision"`
	// Reasons say why a document was rejected; an empty list when it was
	// approved.
	Reasons []Reason `json:"reasons"`
	// DecidedAt is when the decision was made, in UTC.
	DecidedAt time.Time `json:"decided_at"`
	// Ruleset is the version of the format rules the document was judged by,
	// e.g. "efaktura-2.1.0/r1".
	Ruleset string `json:"ruleset"`
}

// Sender identifies a document's issuer.
type Sender struct {
	// Type is "CVR" or "EAN".
	Type string `json:"type"`
	// ID is the CVR or EAN number.
	ID string `json:"id"`
}

// Reason is one reason for a rejection: a Peppol clarification reason code
// (OPStatusReason, e.g. "REF", "PRI", "OTH") and a text.
type Reason struct {
	Code string `json:"code"`
	Text string `json:"text,omitempty"`
}
