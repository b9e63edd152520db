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
	// it answers. The economy system gets it in the webhook-id and
	// Idempotency-Key headers too and must treat a repeated id as the same
	// answer.
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
	// approved. For an automatic rejection (a technically invalid
	// document) each names a violated rule in its text, "V26: ...", with
	// the rule's Peppol code (see Findings) rather than always OTH.
	Reasons []Reason `json:"reasons"`
	// Findings are the structured reasons of an automatic rejection: one
	// per rule violation (error finding) of the document, with the rule's
	// Peppol code, where it is and what is wrong in Danish and English.
	// Absent when a caseworker decided.
	Findings []Finding `json:"findings,omitempty"`
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

// Finding is one rule violation that made a document technically invalid,
// as an economy system can act on it.
type Finding struct {
	// Code is the Peppol clarification reason code closest to the rule,
	// e.g. "PRI" for a total that does not add up (efaktura's table of
	// rules, docs/findings.md).
	Code string `json:"code"`
	// Rule is the format rule's stable id, "V01" to "V51".
	Rule string `json:"rule"`
	// Path is the element, e.g. /INVOICES/DOCUMENT[1]/TOTALAMOUNT/TOTAL_AMOUNT_INCL_VAT;
	// its DOCUMENT index is the document's place in its bundle.
	Path string `json:"path"`
	// Line and Column are where the element's start tag stands, 1-based,
	// counted from the DOCUMENT element's own start tag (line 1, column 1):
	// efaktura judges each document on its own. For a missing element they
	// are those of the element that should hold it; 0 when unknown.
	Line   int `json:"line"`
	Column int `json:"column"`
	// MessageDA and MessageEN say what was found and what was expected, in
	// Danish and in English.
	MessageDA string `json:"message_da"`
	MessageEN string `json:"message_en"`
}
