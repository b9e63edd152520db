package decide_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/services/decide"
)

// exampleCPR is the final customer's CPR number in the format's example
// invoice.
const exampleCPR = "0101001234"

// exampleDocument returns the DOCUMENT element of the format's example
// invoice, as ingest stores it.
func exampleDocument(t *testing.T) []byte {
	t.Helper()
	bundle, err := os.ReadFile("../../pkg/efaktura/testdata/valid/valid-invoice.xml")
	if err != nil {
		t.Fatal(err)
	}
	from, to := bytes.Index(bundle, []byte("<DOCUMENT>")), bytes.Index(bundle, []byte("</DOCUMENT>"))
	if from < 0 || to < 0 {
		t.Fatal("no DOCUMENT in the example")
	}
	return bundle[from : to+len("</DOCUMENT>")]
}

// storeRaw stores doc as document i of kommune in the stream of raw
// documents, as ingest does, and returns its reference.
func (e *env) storeRaw(kommune string, i int, doc []byte) events.RawRef {
	e.t.Helper()
	_, err := e.js.CreateOrUpdateStream(e.ctx, jetstream.StreamConfig{
		Name: events.RawStream, Subjects: []string{events.RawSubjects}, AllowMsgTTL: true, AllowDirect: true, Storage: jetstream.MemoryStorage,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	subject, err := events.RawSubject(kommune, e.bundle, i)
	if err != nil {
		e.t.Fatal(err)
	}
	m := nats.NewMsg(subject)
	m.Data = doc
	if _, err := e.js.PublishMsg(e.ctx, m, jetstream.WithMsgTTL(time.Hour)); err != nil {
		e.t.Fatal(err)
	}
	sum := sha256.Sum256(doc)
	return events.RawRef{Stream: events.RawStream, Subject: subject, Size: int64(len(doc)), SHA256: hex.EncodeToString(sum[:])}
}

// purgeRaw removes document i of kommune from the stream of raw documents,
// as its retention does.
func (e *env) purgeRaw(kommune string, i int) {
	e.t.Helper()
	subject, _ := events.RawSubject(kommune, e.bundle, i)
	s, err := e.js.Stream(e.ctx, events.RawStream)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Purge(e.ctx, jetstream.WithPurgeSubject(subject)); err != nil {
		e.t.Fatal(err)
	}
}

// exampleAwaiting stores the example invoice as document i of 0101, with
// ref (nil: a document.received of before references, which has none), and
// waits until it awaits a verdict.
func (e *env) exampleAwaiting(i int, withRef bool) string {
	e.t.Helper()
	return e.storedAwaiting(i, withRef, exampleDocument(e.t))
}

// storedAwaiting is [env.exampleAwaiting] with doc as the stored document.
func (e *env) storedAwaiting(i int, withRef bool, doc []byte) string {
	e.t.Helper()
	ref := e.storeRaw("0101", i, doc)
	id := e.docID(i)
	p := events.DocumentReceived{
		DocumentID: id, BundleID: e.bundle, Kommune: "0101", Index: i, ReceiptNo: "OEH-2025-000412",
		DocumentNo: "F-2025-0412", DocumentType: events.DocumentInvoice,
		Sender: events.Sender{Type: "CVR", ID: "12345674"}, Reference: "OEH-BUNDT-2025-0412", ReceivedAt: t0,
	}
	if withRef {
		p.Raw = ref
	}
	e.publish(e.ctx, events.TypeDocumentReceived, "0101", id, []string{id}, p)
	e.publish(e.ctx, events.TypeDocumentValidated, "0101", id, []string{id, "r1"}, events.DocumentValidated{
		DocumentID: id, BundleID: e.bundle, Kommune: "0101", Reference: p.Reference, Sender: p.Sender,
		ReceiptNo: p.ReceiptNo, DocumentNo: p.DocumentNo, DocumentType: p.DocumentType,
		Ruleset: "efaktura-2.1.0/r1", ValidatedAt: t0.Add(time.Second),
		Summary: events.Summary{Currency: "DKK", TotalAmountInclVAT: "4431,25", DocumentDate: "2025-06-02",
			BillToName: "Kærholm Kommune", Lines: 4, DueDate: "2025-07-02", BilledFromName: "Østbyens Hjælpemidler ApS"},
	})
	e.waitState(cw0101, id, decide.StateAwaitingVerdict)
	// document.validated may be handled before document.received, which
	// brings the index and the reference: wait for both.
	bustest.Eventually(e.t, "document.received recorded", func() error {
		r, status := e.get(cw0101, id)
		switch {
		case r == nil:
			return fmt.Errorf("GET %d", status)
		case r.Index != i:
			return fmt.Errorf("index %d", r.Index)
		case withRef && (r.Raw == nil || *r.Raw != ref):
			return fmt.Errorf("raw reference %+v, want %+v", r.Raw, ref)
		}
		return nil
	})
	return id
}

func (e *env) invoice(token, id, query string) (decide.InvoiceView, response) {
	e.t.Helper()
	res := e.do(http.MethodGet, "/v1/documents/"+id+"/invoice"+query, token, nil)
	var v decide.InvoiceView
	if res.status == http.StatusOK {
		if err := json.Unmarshal(res.body, &v); err != nil {
			e.t.Fatal(err)
		}
	}
	return v, res
}

// reads returns the history entries of document id with What what.
func reads(history []decide.Entry, what string) []decide.Entry {
	var out []decide.Entry
	for _, h := range history {
		if h.What == what {
			out = append(out, h)
		}
	}
	return out
}

// TestInvoiceOfTheExample: the format's example invoice as data, CPR
// numbers masked; revealed on request, which the history and the log
// record, the log without the number.
func TestInvoiceOfTheExample(t *testing.T) {
	logs := &logRecorder{}
	e := startWith(t, decide.Config{}, decide.WithLogger(slog.New(logs)))
	id := e.exampleAwaiting(1, true)

	v, res := e.invoice(cw0101, id, "")
	if res.status != http.StatusOK || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET invoice: %d %s %s", res.status, res.header.Get("Cache-Control"), res.body)
	}
	if bytes.Contains(res.body, []byte(exampleCPR)) {
		t.Errorf("the masked invoice holds the CPR number: %s", res.body)
	}
	for _, c := range []struct{ name, got, want string }{
		{"document_id", v.DocumentID, id},
		{"document_type", v.DocumentType, "INVOICE"},
		{"document_no", v.DocumentNo, "F-2025-0412"},
		{"document_date", v.DocumentDate, "2025-06-02"},
		{"due_date", v.DueDate, "2025-07-02"},
		{"currency", v.Currency, "DKK"},
		{"external_document_no", v.ExternalDocumentNo, "REK-77-2025-0193"},
		{"account_code", v.AccountCode, "Linjespecificeret"},
		{"receipt_no", v.ReceiptNo, "OEH-2025-000412"},
		{"billed_from.id_type", v.BilledFrom.IDType, "CVR"},
		{"billed_from.id", v.BilledFrom.ID, "12345674"},
		{"billed_from.name", v.BilledFrom.Name, "Østbyens Hjælpemidler ApS"},
		{"billed_from.address", strings.Join(v.BilledFrom.Address, "|"), "Fabriksvej 12"},
		{"billed_from.post_code", v.BilledFrom.PostCode, "8600"},
		{"billed_from.city", v.BilledFrom.City, "Silkeborg"},
		{"billed_from.country", v.BilledFrom.Country, "DK"},
		{"bill_to.id", v.BillTo.IDType + " " + v.BillTo.ID, "EAN 5798000000018"},
		{"bill_to.name_2", v.BillTo.Name2, "Pension og Boligstøtte"},
		{"remarks[1]", v.Remarks[1], "Spørgsmål: kontakt kundeservice <kundeservice>."},
		{"lines[0].item_no", v.Lines[0].ItemNo, "RL-200"},
		{"lines[0].description", strings.Join(v.Lines[0].Description, "|"), "Rollator, letvægt|Farve: grå"},
		{"lines[0].quantity", v.Lines[0].Quantity, "2"},
		{"lines[0].unit", v.Lines[0].Unit, "STK"},
		{"lines[0].unit_price", v.Lines[0].UnitPrice, "1450.00"},
		{"lines[0].line_discount_amount", v.Lines[0].LineDiscountAmount, "100.00"},
		{"lines[0].net_price", v.Lines[0].NetPrice, "2800.00"},
		{"lines[0].vat_percent", v.Lines[0].VATPercent, "25.00"},
		{"lines[0].vat_amount", v.Lines[0].VATAmount, "700.00"},
		{"lines[0].amount_incl_vat", v.Lines[0].AmountInclVAT, "3500.00"},
		{"lines[0].final_customer", fmt.Sprint(*v.Lines[0].FinalCustomer), "{CPR 010100-****}"},
		{"lines[1].quantity", v.Lines[1].Quantity, "1.5"},
		{"payment_terms.text", v.PaymentTerms.Text, "Netto 30 dage"},
		{"delivery.date", v.Delivery.Date, "2025-05-28"},
		{"totals.total_line_amount", v.Totals.TotalLineAmount, "3520.00"},
		{"totals.total_vat_amount", v.Totals.TotalVATAmount, "886.25"},
		{"totals.total_amount_incl_vat", v.Totals.TotalAmountInclVAT, "4431.25"},
		{"totals.charges[0]", fmt.Sprint(v.Totals.Charges), "[{Fragt 95.00 25.00}]"},
		{"payment.type", v.Payment.Type, "FIK"},
		{"payment.fik.fik_no", v.Payment.FIK.FIKNo, "000000202504122"},
		{"payment.fik.creditor_address", fmt.Sprint(*v.Payment.FIK.CreditorAddress), "{Østbyens Hjælpemidler ApS [Fabriksvej 12 8600 Silkeborg]}"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !v.CPRMasked {
		t.Error("cpr_masked false for a document whose CPR numbers are masked")
	}
	if len(v.Lines) != 4 || v.Lines[0].LineNo != 1 || v.Lines[3].FinalCustomer != nil || v.ShipTo == nil || v.SoldFrom != nil || v.Factoring != nil || v.CPRRevealed {
		t.Errorf("lines %d, first line no %d, line 4's final customer %v, ship_to %v, sold_from %v, factoring %v, cpr_revealed %v",
			len(v.Lines), v.Lines[0].LineNo, v.Lines[3].FinalCustomer, v.ShipTo, v.SoldFrom, v.Factoring, v.CPRRevealed)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(res.body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ship_to", "sold_from", "sell_to", "payment_terms", "delivery", "factoring"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("the invoice lacks %q (null when absent)", f)
		}
	}
	r, _ := e.get(cw0101, id)
	if n := len(reads(r.History, decide.WhatCPRRevealed)); n != 0 {
		t.Errorf("%d reveals in the history after a masked read, want none", n)
	}

	v, res = e.invoice(cw0101, id, "?reveal=cpr")
	if res.status != http.StatusOK || !v.CPRRevealed || v.CPRMasked || v.Lines[0].FinalCustomer.ID != exampleCPR {
		t.Fatalf("GET invoice?reveal=cpr: %d, revealed %v, final customer %+v", res.status, v.CPRRevealed, v.Lines[0].FinalCustomer)
	}
	r, _ = e.get(cw0101, id)
	revealed := reads(r.History, decide.WhatCPRRevealed)
	if len(revealed) != 1 || revealed[0].By != "ab" || revealed[0].At.IsZero() || revealed[0].State != decide.StateAwaitingVerdict {
		t.Errorf("reveals in the history = %+v; want one by ab", revealed)
	}
	if n := len(logs.records("cpr revealed")); n != 1 {
		t.Errorf("%d 'cpr revealed' log lines, want 1", n)
	}
	for _, rec := range logs.records("") {
		line := rec.Message
		rec.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
		if strings.Contains(line, exampleCPR) {
			t.Errorf("a log line holds the CPR number: %s", line)
		}
	}

	if _, res := e.invoice(cw0101, id, "?reveal=all"); res.status != http.StatusBadRequest {
		t.Errorf("reveal=all: %d, want 400", res.status)
	}
	if _, res := e.invoice(cw0202, id, ""); res.status != http.StatusNotFound {
		t.Errorf("another municipality's caseworker: %d, want 404", res.status)
	}
	if _, res := e.invoice("", id, ""); res.status != http.StatusUnauthorized || res.header.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d, want 401 with WWW-Authenticate", res.status)
	}
	if _, res := e.invoice("wrong", id, ""); res.status != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", res.status)
	}
	if _, res := e.invoice(ingest, id, ""); res.status != http.StatusForbidden {
		t.Errorf("the economy system's token: %d, want 403", res.status)
	}
	if _, res := e.invoice(cw0101, e.docID(9), ""); res.status != http.StatusNotFound {
		t.Errorf("an unknown document: %d, want 404", res.status)
	}
	if _, res := e.invoice(admin, id, ""); res.status != http.StatusOK {
		t.Errorf("an admin: %d, want 200", res.status)
	}
	// Personal data unmasked is the municipality's caseworkers' alone.
	if _, res := e.invoice(admin, id, "?reveal=cpr"); res.status != http.StatusForbidden {
		t.Errorf("an admin's reveal: %d, want 403", res.status)
	}
	if res := e.do(http.MethodGet, "/v1/documents/"+id+"/original", admin, nil); res.status != http.StatusForbidden {
		t.Errorf("an admin's read of the original: %d, want 403", res.status)
	}
}

// TestRevealOfACPRInFreeText: a CPR number outside FINAL_CUSTOMER (here
// in a remark, with no final customer of type CPR) is masked, and its
// reveal is recorded as a final customer's is, as is a read of the
// original that holds it.
func TestRevealOfACPRInFreeText(t *testing.T) {
	e := startWith(t, decide.Config{})
	doc := exampleDocument(t)
	doc = bytes.ReplaceAll(doc, []byte("<FINAL_CUSTOMER_TYPE>CPR</FINAL_CUSTOMER_TYPE>"), nil)
	doc = bytes.ReplaceAll(doc, []byte("<FINAL_CUSTOMER>"+exampleCPR+"</FINAL_CUSTOMER>"), nil)
	doc = bytes.Replace(doc, []byte("<REMARK_TXT>"), []byte("<REMARK_TXT>Borger 010100-1234. "), 1)
	id := e.storedAwaiting(1, true, doc)

	v, res := e.invoice(cw0101, id, "")
	if res.status != http.StatusOK || bytes.Contains(res.body, []byte("010100-1234")) || v.CPRRevealed {
		t.Fatalf("GET invoice: %d, revealed %v, %s; want the remark's CPR number masked", res.status, v.CPRRevealed, res.body)
	}
	v, res = e.invoice(cw0101, id, "?reveal=cpr")
	if res.status != http.StatusOK || !v.CPRRevealed || !strings.Contains(v.Remarks[0], "010100-1234") {
		t.Fatalf("GET invoice?reveal=cpr: %d, revealed %v, remarks %q", res.status, v.CPRRevealed, v.Remarks)
	}
	r, _ := e.get(cw0101, id)
	if got := reads(r.History, decide.WhatCPRRevealed); len(got) != 1 {
		t.Errorf("reveals in the history = %+v; want one", got)
	}
	if res := e.do(http.MethodGet, "/v1/documents/"+id+"/original", cw0101, nil); res.status != http.StatusOK {
		t.Fatalf("GET original: %d %s", res.status, res.body)
	}
	r, _ = e.get(cw0101, id)
	if got := reads(r.History, decide.WhatOriginalRead); len(got) != 1 {
		t.Errorf("original reads in the history = %+v; want one", got)
	}
}

// TestOriginalAsStored: the original is the stored bytes, as ISO-8859-1
// XML; its read is in the history (it holds a CPR number); once the raw
// retention ran out, both views answer 410.
func TestOriginalAsStored(t *testing.T) {
	e := startWith(t, decide.Config{})
	id := e.exampleAwaiting(1, true)
	res := e.do(http.MethodGet, "/v1/documents/"+id+"/original", cw0101, nil)
	if res.status != http.StatusOK || !bytes.Equal(res.body, exampleDocument(t)) {
		t.Fatalf("GET original: %d, %d bytes; want 200 with the %d stored bytes", res.status, len(res.body), len(exampleDocument(t)))
	}
	for h, want := range map[string]string{
		"Content-Type":        "application/xml; charset=ISO-8859-1",
		"Content-Disposition": `attachment; filename="F-2025-0412.xml"`,
		"Cache-Control":       "no-store",
	} {
		if got := res.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	r, _ := e.get(cw0101, id)
	if got := reads(r.History, decide.WhatOriginalRead); len(got) != 1 || got[0].By != "ab" {
		t.Errorf("original reads in the history = %+v; want one by ab", got)
	}
	if res := e.do(http.MethodGet, "/v1/documents/"+id+"/original", cw0202, nil); res.status != http.StatusNotFound {
		t.Errorf("another municipality's caseworker: %d, want 404", res.status)
	}
	if res := e.do(http.MethodGet, "/v1/documents/"+id+"/original", "", nil); res.status != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", res.status)
	}

	e.purgeRaw("0101", 1)
	if _, res := e.invoice(cw0101, id, ""); res.status != http.StatusGone {
		t.Errorf("GET invoice after the raw document is gone: %d %s, want 410", res.status, res.body)
	}
	if res := e.do(http.MethodGet, "/v1/documents/"+id+"/original", cw0101, nil); res.status != http.StatusGone {
		t.Errorf("GET original after the raw document is gone: %d %s, want 410", res.status, res.body)
	}
}

// TestInvoiceWithoutReference: a record of before references finds its
// document by kommune, bundle and index.
func TestInvoiceWithoutReference(t *testing.T) {
	e := startWith(t, decide.Config{})
	id := e.exampleAwaiting(2, false)
	if r, _ := e.get(cw0101, id); r.Raw != nil {
		t.Fatalf("record's raw reference = %+v, want none", r.Raw)
	}
	v, res := e.invoice(cw0101, id, "")
	if res.status != http.StatusOK || v.Totals.TotalAmountInclVAT != "4431.25" {
		t.Errorf("GET invoice: %d %s", res.status, res.body)
	}
}

// TestInvoiceOfAnArchivedDocument: an answered document's invoice is read
// while its raw document is kept; a reveal goes into its audit summary's
// history.
func TestInvoiceOfAnArchivedDocument(t *testing.T) {
	e := startWith(t, decide.Config{})
	id := e.exampleAwaiting(1, true)
	if res := e.do(http.MethodPost, verdictPath(id), cw0101, approve); res.status != http.StatusOK {
		t.Fatalf("verdict: %d %s", res.status, res.body)
	}
	e.delivered("0101", id)
	e.archived(cw0101, id)

	v, res := e.invoice(cw0101b, id, "?reveal=cpr")
	if res.status != http.StatusOK || v.Lines[0].FinalCustomer.ID != exampleCPR {
		t.Fatalf("GET invoice?reveal=cpr of an archived document: %d %s", res.status, res.body)
	}
	a := e.archived(cw0101, id)
	if got := reads(a.History, decide.WhatCPRRevealed); len(got) != 1 || got[0].By != "cd" || got[0].State != decide.StateApproved {
		t.Errorf("reveals in the archived history = %+v; want one by cd", got)
	}
}
