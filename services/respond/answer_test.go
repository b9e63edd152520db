package respond_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/services/respond"
)

func TestBuildAnswer(t *testing.T) {
	copenhagen := time.FixedZone("CET", 3600)
	rejected := events.DocumentDecided{
		DocumentID:   "doc-1",
		BundleID:     "bundle-1",
		Kommune:      "0101",
		Reference:    "REF-9",
		Sender:       events.Sender{Type: "CVR", ID: "12345674"},
		ReceiptNo:    "OEH-2025-000412",
		DocumentNo:   "F-2025-0412",
		DocumentType: events.DocumentCreditNote,
		Decision:     events.OutcomeRejected,
		Reasons:      []events.Reason{{Code: events.ReasonPrices, Text: "unit price differs from the contract"}, {Code: events.ReasonOther, Text: "V26"}},
		Findings:     []events.Finding{{Rule: "V26", Severity: events.SeverityError, Message: "CHECKSUM ... BILL_TO/NAME_1 Jens Hansen"}},
		DecidedAt:    time.Date(2026, 2, 9, 10, 30, 0, 0, copenhagen),
		DecidedBy:    "cw1",
		Ruleset:      "efaktura-2.1.0/r1",
	}
	got := respond.BuildAnswer(rejected, "answer-1")
	want := answer.Answer{
		AnswerID:     "answer-1",
		DocumentID:   "doc-1",
		Kommune:      "0101",
		Reference:    "REF-9",
		ReceiptNo:    "OEH-2025-000412",
		DocumentNo:   "F-2025-0412",
		DocumentType: "CREDIT_NOTE",
		Sender:       answer.Sender{Type: "CVR", ID: "12345674"},
		Decision:     "rejected",
		Reasons:      []answer.Reason{{Code: "PRI", Text: "unit price differs from the contract"}, {Code: "OTH", Text: "V26"}},
		DecidedAt:    time.Date(2026, 2, 9, 9, 30, 0, 0, time.UTC),
		Ruleset:      "efaktura-2.1.0/r1",
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("BuildAnswer = %s\nwant %s", gotJSON, wantJSON)
	}
	if got.DecidedAt.Location() != time.UTC {
		t.Errorf("DecidedAt in %v, want UTC", got.DecidedAt.Location())
	}
}

// The wire format is a contract with every economy system.
func TestAnswerJSON(t *testing.T) {
	d := events.DocumentDecided{
		DocumentID: "doc-2", Kommune: "0101", Reference: "R", Sender: events.Sender{Type: "EAN", ID: "5790000000000"},
		ReceiptNo: "1", DocumentNo: "2", DocumentType: events.DocumentInvoice, Decision: events.OutcomeApproved,
		DecidedAt: time.Date(2026, 2, 9, 10, 30, 0, 0, time.UTC), Ruleset: "efaktura-2.1.0/r1",
	}
	a := respond.BuildAnswer(d, "answer-2")
	a.EconomySystem = "es-1" // set when it is sent
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"answer_id":"answer-2","document_id":"doc-2","kommune":"0101","economy_system":"es-1","reference":"R",` +
		`"receipt_no":"1","document_no":"2","document_type":"INVOICE","sender":{"type":"EAN","id":"5790000000000"},` +
		`"decision":"approved","reasons":[],"decided_at":"2026-02-09T10:30:00Z","ruleset":"efaktura-2.1.0/r1"}`
	if string(raw) != want {
		t.Errorf("answer JSON = %s\nwant %s", raw, want)
	}
}

// An automatic rejection answers with one structured finding per error
// finding, each with its rule's Peppol code, and its reasons get the same
// codes instead of OTH.
func TestBuildAnswerAutomatic(t *testing.T) {
	d := events.DocumentDecided{
		DocumentID: "doc-3", Kommune: "0101", Reference: "R", Sender: events.Sender{Type: "CVR", ID: "12345674"},
		ReceiptNo: "1", DocumentNo: "2", DocumentType: events.DocumentInvoice, Decision: events.OutcomeRejected,
		Reasons: []events.Reason{
			{Code: events.ReasonOther, Text: "V40: TOTAL_AMOUNT_INCL_VAT is 4431,25; expected ..."},
			{Code: events.ReasonOther, Text: "V51: RECEIPT_NO ..."},
			{Code: events.ReasonOther, Text: "3 more rule violations; see the findings"},
		},
		Findings: []events.Finding{
			{Rule: "V40", Severity: events.SeverityError, Path: "/INVOICES/DOCUMENT[1]/TOTALAMOUNT/TOTAL_AMOUNT_INCL_VAT", Line: 160, Column: 5,
				Message: "TOTAL_AMOUNT_INCL_VAT is 4431,25; expected ...", MessageEN: "TOTAL_AMOUNT_INCL_VAT is 4431,25; expected ...",
				MessageDA: "Beløbet i TOTAL_AMOUNT_INCL_VAT (4431,25) svarer ikke til ..."},
			{Rule: "V99", Severity: events.SeverityWarning, Path: "/INVOICES/DOCUMENT[1]", Message: "advice"},
			{Rule: "V51", Severity: events.SeverityError, Path: "/INVOICES/DOCUMENT[1]/HEADER/RECEIPT_NO", Line: 7, Column: 7,
				Message: "RECEIPT_NO ..."}, // an event from before findings had Danish
		},
		DecidedAt: time.Date(2026, 2, 9, 10, 30, 0, 0, time.UTC), DecidedBy: events.DecidedBySystem, Ruleset: "efaktura-2.1.0/r1",
	}
	a := respond.BuildAnswer(d, "answer-3")
	raw, err := json.Marshal(struct {
		Reasons  []answer.Reason  `json:"reasons"`
		Findings []answer.Finding `json:"findings"`
	}{a.Reasons, a.Findings})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"reasons":[{"code":"PRI","text":"V40: TOTAL_AMOUNT_INCL_VAT is 4431,25; expected ..."},{"code":"REF","text":"V51: RECEIPT_NO ..."},` +
		`{"code":"OTH","text":"3 more rule violations; see the findings"}],` +
		`"findings":[{"code":"PRI","rule":"V40","path":"/INVOICES/DOCUMENT[1]/TOTALAMOUNT/TOTAL_AMOUNT_INCL_VAT","line":160,"column":5,` +
		`"message_da":"Beløbet i TOTAL_AMOUNT_INCL_VAT (4431,25) svarer ikke til ...","message_en":"TOTAL_AMOUNT_INCL_VAT is 4431,25; expected ..."},` +
		`{"code":"REF","rule":"V51","path":"/INVOICES/DOCUMENT[1]/HEADER/RECEIPT_NO","line":7,"column":7,"message_da":"RECEIPT_NO ...","message_en":"RECEIPT_NO ..."}]}`
	if string(raw) != want {
		t.Errorf("answer = %s\nwant %s", raw, want)
	}

	// A caseworker's OTH stays OTH, and a caseworker's answer has no findings.
	d.DecidedBy, d.VerdictID = "cw1", "v-1"
	a = respond.BuildAnswer(d, "answer-4")
	if a.Reasons[0].Code != "OTH" || a.Findings != nil {
		t.Errorf("caseworker's answer: reasons %+v, findings %+v; want OTH and none", a.Reasons, a.Findings)
	}
}

// Every rule's reason code is one of the catalogue's Peppol codes, so an
// answer never carries a code the schema refuses.
func TestRuleReasonCodesAreCatalogued(t *testing.T) {
	codes := map[string]bool{}
	for _, c := range []events.ReasonCode{events.ReasonNoIssue, events.ReasonReferences, events.ReasonLegal,
		events.ReasonReceiverUnknown, events.ReasonQuality, events.ReasonDelivery, events.ReasonPrices,
		events.ReasonQuantity, events.ReasonItems, events.ReasonPayment, events.ReasonNotRecognized,
		events.ReasonFinance, events.ReasonOther} {
		codes[string(c)] = true
	}
	for _, r := range efaktura.Rules() {
		if !codes[r.Reason] || r.Reason == string(events.ReasonNoIssue) {
			t.Errorf("%s: reason %q is not a Peppol rejection code of the catalogue", r.ID, r.Reason)
		}
	}
}
