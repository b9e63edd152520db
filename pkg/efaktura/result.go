package efaktura

// Severity tells whether a finding rejects what it is attached to.
type Severity string

const (
	// SeverityError rejects the file (top-level findings) or the document.
	SeverityError Severity = "error"
	// SeverityWarning is advice; it never makes a result invalid.
	SeverityWarning Severity = "warning"
)

// A Finding is one violation of one rule at one place.
type Finding struct {
	Rule     string   `json:"rule"`     // stable rule id, "V01" to "V51"
	Severity Severity `json:"severity"` // "error" or "warning"
	// Path locates the element with 1-based indexes on repeatable elements,
	// e.g. /INVOICES/DOCUMENT[2]/LINE[3]/AMOUNT/NET_PRICE. File-level findings
	// have the path of the nearest element, or "/" before the root.
	Path string `json:"path"`
	// Line and Column locate the element's start tag (its '<'), 1-based,
	// the column in characters: in the file as Validate read it (the XML
	// inside a ZIP archive), or in the DOCUMENT element as ValidateDocument
	// was given it, whose start tag is line 1, column 1. A missing element
	// has the position of the element that should hold it; a syntax error
	// (V02) the position where reading stopped; a finding about the file as
	// a whole (V01, and V03 on the declaration) line 1, column 1, or 0 and 0
	// when no XML could be read at all (a ZIP archive that cannot be opened).
	Line   int `json:"line"`
	Column int `json:"column"`
	// Message says what was found and what was expected, in English; it is
	// MessageEN, kept under its old name for compatibility.
	Message string `json:"message"`
	// MessageDA and MessageEN are the message in Danish and English. Both
	// come from one catalogue, so every rule speaks both languages.
	MessageDA string `json:"message_da"`
	MessageEN string `json:"message_en"`
}

// Reason returns the Peppol clarification reason code of the finding's
// rule ([ReasonCode]).
func (f Finding) Reason() string { return ReasonCode(f.Rule) }

// DocumentResult is the verdict on one DOCUMENT of a bundle.
type DocumentResult struct {
	Index      int       `json:"index"` // 1-based position in the bundle
	ReceiptNo  string    `json:"receipt_no"`
	DocumentNo string    `json:"document_no"`
	Type       string    `json:"-"` // DOCUMENT_HEAD/DOCUMENT_TYPE as written
	Valid      bool      `json:"valid"`
	Findings   []Finding `json:"findings"`

	dupReported bool // V51 was reported on this document already
}

// Result is the verdict on one file.
type Result struct {
	File    string `json:"file"`
	Ruleset string `json:"ruleset"`
	// Valid is true only when no error finding exists at any level and every
	// document is valid.
	Valid bool `json:"valid"`
	// Findings are the file- and bundle-level ones (V01 to V10); any error
	// among them rejects the whole bundle, and Documents is then empty
	// because no document of a rejected bundle is processed.
	Findings  []Finding        `json:"findings"`
	Documents []DocumentResult `json:"documents"`
	// Reference and TotalChecksum are INVOICES' own leaves as written, when
	// they could be read.
	Reference     string `json:"-"`
	TotalChecksum string `json:"-"`
	// Skipped lists the rules that were not applied and why, e.g. V24 when no
	// sender register was given. It is not part of the JSON form.
	Skipped []SkippedRule `json:"-"`
	// Suppressed counts findings left out after the limit per file or per
	// document was reached, so a hostile file cannot exhaust memory.
	Suppressed int `json:"-"`
}

// SkippedRule is a rule that was not applied, with the reason.
type SkippedRule struct {
	Rule   string
	Reason string
}

// Ruleset names the version of the rules this package applies. It changes
// whenever a rule's verdict could change.
const Ruleset = "efaktura-2.1.0/r1"
