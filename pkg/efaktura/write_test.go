package efaktura_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/shopspring/decimal"
)

// writeTestSenders is the sender register of the spec's examples and of
// Sample (section 10).
func writeTestSenders() efaktura.SenderTable {
	t := efaktura.SenderTable{}
	t.Add(efaktura.Sender{Type: "CVR", ID: "12345674"})
	t.Add(efaktura.Sender{Type: "CVR", ID: "24680134"})
	t.Add(efaktura.Sender{Type: "EAN", ID: "7350000000030"})
	return t
}

// validateWritten validates out with the sender register.
func validateWritten(t testing.TB, out []byte) *efaktura.Result {
	t.Helper()
	res, err := efaktura.Validate(context.Background(), bytes.NewReader(out), efaktura.Options{Senders: writeTestSenders()})
	if err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	return res
}

// writtenFindings lists every finding of res, file level and per document.
func writtenFindings(res *efaktura.Result) []string {
	var fs []string
	for _, f := range res.Findings {
		fs = append(fs, fmt.Sprintf("%s %s: %s", f.Rule, f.Path, f.Message))
	}
	for _, d := range res.Documents {
		for _, f := range d.Findings {
			fs = append(fs, fmt.Sprintf("%s %s: %s", f.Rule, f.Path, f.Message))
		}
	}
	return fs
}

// specInvoiceModel is spec example examples/valid-invoice.xml as a model.
func specInvoiceModel() *efaktura.Bundle {
	kaerholm := efaktura.Address{Address1: "Rådhustorvet 1", PostCode: "4300", City: "Holbæk", CountryCode: "DK"}
	cpr := func(l efaktura.Line) efaktura.Line {
		l.FinalCustomerType, l.FinalCustomer = "CPR", "0101001234"
		return l
	}
	return &efaktura.Bundle{
		Reference: "OEH-BUNDT-2025-0412",
		Documents: []efaktura.Invoice{{
			Header: efaktura.Header{
				Version: "2.1.0", PaymentMeansVersion: "2.1.0",
				SenderIDType: "CVR", SenderID: "12345674",
				ReceiverIDType: "EAN", ReceiverID: "5798000000018",
				ReceiptNo: "OEH-2025-000412",
			},
			Head: efaktura.DocumentHead{
				DocumentType: "INVOICE", DocumentNo: "F-2025-0412", DocumentDate: "2025-06-02",
				ExternalDocumentNo: "REK-77-2025-0193", AccountCode: "Linjespecificeret",
			},
			Remark: &efaktura.Remark{Texts: []string{
				"Hjælpemidler bevilget efter servicelovens § 112.",
				"Spørgsmål: kontakt kundeservice <kundeservice>.",
			}},
			BilledFrom: efaktura.Party{Name1: "Østbyens Hjælpemidler ApS",
				Address: efaktura.Address{Address1: "Fabriksvej 12", PostCode: "8600", City: "Silkeborg", CountryCode: "DK"}},
			BillTo: efaktura.Party{Name1: "Kærholm Kommune", Name2: "Pension og Boligstøtte", Address: kaerholm},
			ShipTo: &efaktura.Party{Name1: "Kærholm Kommune Hjælpemiddeldepot",
				Address: efaktura.Address{Address1: "Depotvej 3", PostCode: "4300", City: "Holbæk", CountryCode: "DK"}},
			CurrencyCode: "DKK",
			Lines: []efaktura.Line{
				cpr(efaktura.Line{
					LineNo: "1", Item: &efaktura.ItemInfo{ItemNo: "RL-200"},
					Description1: "Rollator, letvægt", Description2: "Farve: grå",
					Quantity: "2", UnitOfMeasure: "STK", QtyPerUnitOfMeasure: "1", UnitPrice: "1450,00",
					Amount: &efaktura.LineAmount{LineDiscountAmount: "100,00", NetPrice: "2800,00",
						VATPercent: "25,00", VATAmount: "700,00", AmountInclVAT: "3500,00"},
					AccountCode: "5.32.38.2-4010-0001", OrderNo: "ORD-55120",
				}),
				cpr(efaktura.Line{
					LineNo: "2", Item: &efaktura.ItemInfo{ItemNo: "SRV-MONT"},
					Description1: "Montering og instruktion",
					Quantity:     "1,5", UnitOfMeasure: "TIME", UnitPrice: "480,00",
					Amount: &efaktura.LineAmount{NetPrice: "720,00",
						VATPercent: "25,00", VATAmount: "180,00", AmountInclVAT: "900,00"},
					AccountCode: "5.32.38.2-4010-0001", OrderNo: "ORD-55120",
				}),
				cpr(efaktura.Line{
					LineNo: "3", Item: &efaktura.ItemInfo{ItemNo: "BB-110"},
					Description1: "Badebænk (restordre, leveres senere)",
					Quantity:     "0", UnitOfMeasure: "STK", UnitPrice: "895,00",
					Amount: &efaktura.LineAmount{NetPrice: "0,00",
						VATPercent: "25,00", VATAmount: "0,00", AmountInclVAT: "0,00"},
					AccountCode: "5.32.38.2-4010-0002",
				}),
				{LineNo: "4", Description1: "Leveret til depot efter aftale med borgeren"},
			},
			PaymentTerms: &efaktura.PaymentTerms{DueDate: "2025-07-02", Text: "Netto 30 dage"},
			Totals: efaktura.Totals{
				TotalLineAmount:       "3520,00",
				InvoiceDiscountAmount: "70,00", InvoiceDiscountVATPercent: "25,00",
				TotalChargeAmount: "95,00", TotalAmountExclVAT: "3545,00", VATBaseAmount: "3545,00",
				TotalVATAmount: "886,25", TotalAmountInclVAT: "4431,25",
				Charges: []efaktura.Charge{{Text: "Fragt", Amount: "95,00", VATPercent: "25,00"}},
			},
			DeliveryTerms: &efaktura.DeliveryTerms{DeliveryDate: "2025-05-28", Text: "Leveret frit depot"},
			Payment: efaktura.PaymentMeans{PaymentType: "FIK", FIK: &efaktura.FIK{
				CardType: "71", FIKNo: "000000202504122", CreditorNo: "81234567",
				CreditorAddress: &efaktura.PAddress{Name: "Østbyens Hjælpemidler ApS",
					Address1: "Fabriksvej 12", Address2: "8600 Silkeborg"},
			}},
		}},
	}
}

func TestWriteSampleValidates(t *testing.T) {
	tests := []struct {
		name string
		opts efaktura.SampleOptions
	}{
		{"defaults", efaktura.SampleOptions{}},
		{"1 doc, 1 line", efaktura.SampleOptions{Documents: 1, LinesPerDocument: 1, Seed: 1}},
		{"1 doc, 1 line, seed 99", efaktura.SampleOptions{Documents: 1, LinesPerDocument: 1, Seed: 99}},
		{"3 docs", efaktura.SampleOptions{Documents: 3, Seed: 2}},
		{"3 docs, negative seed", efaktura.SampleOptions{Documents: 3, Seed: -5}},
		{"20 docs, 5 lines", efaktura.SampleOptions{Documents: 20, LinesPerDocument: 5, Seed: 11}},
		{"50 docs x 40 lines", efaktura.SampleOptions{Documents: 50, LinesPerDocument: 40, Seed: 3}},
		{"1 doc x 3000 lines", efaktura.SampleOptions{Documents: 1, LinesPerDocument: 3000, Seed: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := efaktura.Sample(tt.opts).Bytes()
			if err != nil {
				t.Fatalf("Sample(%+v).Bytes() error = %v", tt.opts, err)
			}
			res := validateWritten(t, out)
			if fs := writtenFindings(res); !res.Valid || len(fs) != 0 {
				t.Errorf("Validate(Write(Sample(%+v))).Valid = %v with %d findings, want true with 0:\n%s",
					tt.opts, res.Valid, len(fs), strings.Join(fs, "\n"))
			}
			if got, want := len(res.Documents), max(tt.opts.Documents, 1); got != want {
				t.Errorf("Validate(Write(Sample(%+v))) documents = %v, want %v", tt.opts, got, want)
			}
		})
	}
}

// The model of examples/valid-invoice.xml is written byte for byte as the
// spec's file, checksum included.
func TestWriteSpecExample(t *testing.T) {
	b := specInvoiceModel()
	out, err := b.Bytes()
	if err != nil {
		t.Fatalf("Bytes() error = %v", err)
	}
	want, err := os.ReadFile("testdata/valid/valid-invoice.xml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("Write(%q) differs from testdata/valid/valid-invoice.xml:\n%s", b.Reference, writeFirstDifference(out, want))
	}
	for _, s := range []string{
		"      <CHECKSUM>202508643,000</CHECKSUM>\n",
		"  <TOTAL_DOCUMENT_CHECKSUM>202508643,000</TOTAL_DOCUMENT_CHECKSUM>\n",
		"  <NO_OF_DOCUMENTS>1</NO_OF_DOCUMENTS>\n",
		"kundeservice &lt;kundeservice&gt;.",
	} {
		if got := bytes.Contains(out, []byte(s)); !got {
			t.Errorf("Write(%q) contains %q = %v, want %v", b.Reference, s, got, true)
		}
	}
	res := validateWritten(t, out)
	if fs := writtenFindings(res); !res.Valid || len(fs) != 0 {
		t.Errorf("Validate(Write(%q)).Valid = %v, want true; findings:\n%s", b.Reference, res.Valid, strings.Join(fs, "\n"))
	}
}

// writeFirstDifference shows the first differing line of two outputs.
func writeFirstDifference(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, gl, wl)
		}
	}
	return "no difference"
}

func TestWriteProlog(t *testing.T) {
	out, err := efaktura.Sample(efaktura.SampleOptions{Documents: 2, LinesPerDocument: 1}).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	const prolog = `<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>` + "\n" +
		`<INVOICES xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="efaktura.xsd">` + "\n"
	if got := string(out[:min(len(out), len(prolog))]); got != prolog {
		t.Errorf("Write() starts with %q, want %q", got, prolog)
	}
	const epilog = "  <NO_OF_DOCUMENTS>2</NO_OF_DOCUMENTS>\n</INVOICES>\n"
	if got := string(out[max(0, len(out)-len(epilog)):]); got != epilog {
		t.Errorf("Write() ends with %q, want %q", got, epilog)
	}
}

// Text is escaped (section 1.5) and encoded as ISO-8859-1 single bytes.
func TestWriteEscapingAndEncoding(t *testing.T) {
	tests := []struct {
		value string
		want  string // the REMARK_TXT line as bytes
	}{
		{"<kundeservice>", "&lt;kundeservice&gt;"},
		{"Job & Ydelse", "Job &amp; Ydelse"},
		{`"citat" og 'apostrof'`, "&quot;citat&quot; og &apos;apostrof&apos;"},
		{"a@b.dk", "a@b.dk"},
		{"æøå ÆØÅ", "\xe6\xf8\xe5 \xc6\xd8\xc5"},
		{"§ 112 ½ ÿ", "\xa7 112 \xbd \xff"},
		{"&amp;", "&amp;amp;"},
	}
	for _, tt := range tests {
		b := specInvoiceModel()
		b.Documents[0].Remark.Texts = []string{tt.value}
		out, err := b.Bytes()
		if err != nil {
			t.Errorf("Write(REMARK_TXT %q) error = %v, want nil", tt.value, err)
			continue
		}
		line := "      <REMARK_TXT>" + tt.want + "</REMARK_TXT>\n"
		if got := bytes.Contains(out, []byte(line)); !got {
			t.Errorf("Write(REMARK_TXT %q) contains %q = %v, want %v", tt.value, line, got, true)
		}
	}
}

// The escaped name still gives the checksum of the decoded text.
func TestWriteChecksumOfEscapedName(t *testing.T) {
	b := specInvoiceModel()
	b.Documents[0].BillTo.Name1 = "Kærholm Kommune - Job & Ydelse" // L = 1674
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := "<CHECKSUM>202509316,000</CHECKSUM>" // 1674 + 202504122 + 3520
	if got := bytes.Contains(out, []byte(want)); !got {
		t.Errorf("Write(%q) contains %q = %v, want %v", b.Documents[0].BillTo.Name1, want, got, true)
	}
	if res := validateWritten(t, out); !res.Valid {
		t.Errorf("Validate(Write(%q)).Valid = %v, want true; findings:\n%s", b.Documents[0].BillTo.Name1, res.Valid, strings.Join(writtenFindings(res), "\n"))
	}
}

func TestWriteNotLatin1(t *testing.T) {
	tests := []struct {
		name     string
		set      func(b *efaktura.Bundle)
		wantPath string
	}{
		{"euro in remark", func(b *efaktura.Bundle) { b.Documents[0].Remark.Texts[1] = "Pris i €" },
			"/INVOICES/DOCUMENT[1]/REMARK/REMARK_TXT[2]"},
		{"check mark in line", func(b *efaktura.Bundle) { b.Documents[0].Lines[2].Description1 = "Leveret ✓" },
			"/INVOICES/DOCUMENT[1]/LINE[3]/DESCRIPTION_1"},
		{"emoji in reference", func(b *efaktura.Bundle) { b.Reference = "REF-😀" },
			"/INVOICES/REFERENCE"},
		{"invalid UTF-8 in BILL_TO", func(b *efaktura.Bundle) { b.Documents[0].BillTo.Name1 = "K\xe6rholm" },
			"/INVOICES/DOCUMENT[1]/BILL_TO/NAME_1"},
		{"Polish letter in P_NAME", func(b *efaktura.Bundle) { b.Documents[0].Payment.FIK.CreditorAddress.Name = "Łódź ApS" },
			"/INVOICES/DOCUMENT[1]/PAYMENT_MEANS/FIK/P_CREDITOR_ADDRESS/P_NAME"},
	}
	for _, tt := range tests {
		b := specInvoiceModel()
		tt.set(b)
		out, err := b.Bytes()
		if !errors.Is(err, efaktura.ErrNotLatin1) {
			t.Errorf("Write(%s) error = %v, want %v", tt.name, err, efaktura.ErrNotLatin1)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantPath) {
			t.Errorf("Write(%s) error = %q, want it to name %q", tt.name, err, tt.wantPath)
		}
		if out != nil {
			t.Errorf("Bytes(%s) = %d bytes, want nil", tt.name, len(out))
		}
	}
}

// An empty Header.Checksum is computed; a set one is written verbatim, and
// TOTAL_DOCUMENT_CHECKSUM sums the written values.
func TestWriteChecksum(t *testing.T) {
	tests := []struct {
		name      string
		checksum  string // Header.Checksum of the example invoice
		written   string // CHECKSUM as written
		wantRules []string
	}{
		{"computed", "", "202508643,000", nil},
		{"kept, right, other form", "202508643", "202508643", nil},
		{"kept, wrong", "2401,000", "2401,000", []string{"V26"}},
		// A CHECKSUM that is no decimal fails V09, which rejects the bundle
		// before the document rules run.
		{"kept, not a decimal", "12.5", "12.5", []string{"V09"}},
	}
	for _, tt := range tests {
		b := specInvoiceModel()
		b.Documents[0].Header.Checksum = tt.checksum
		out, err := b.Bytes()
		if err != nil {
			t.Fatalf("Write(%s) error = %v", tt.name, err)
		}
		line := "<CHECKSUM>" + tt.written + "</CHECKSUM>"
		if got := bytes.Contains(out, []byte(line)); !got {
			t.Errorf("Write(%s) contains %q = %v, want %v", tt.name, line, got, true)
		}
		res := validateWritten(t, out)
		var rules []string
		for _, f := range res.Findings {
			rules = append(rules, f.Rule)
		}
		for _, d := range res.Documents {
			for _, f := range d.Findings {
				rules = append(rules, f.Rule)
			}
		}
		if got, want := strings.Join(rules, ","), strings.Join(tt.wantRules, ","); got != want {
			t.Errorf("Validate(Write(%s)) rules = %v, want %v; findings:\n%s", tt.name, got, want, strings.Join(writtenFindings(res), "\n"))
		}
	}
}

// With several documents, TOTAL_DOCUMENT_CHECKSUM is the sum of the
// CHECKSUMs as written, even a wrong one, so only V26 fails.
func TestWriteTotalChecksumSumsWrittenValues(t *testing.T) {
	b := efaktura.Sample(efaktura.SampleOptions{Documents: 3, LinesPerDocument: 2, Seed: 5})
	b.Documents[1].Header.Checksum = "1,5"
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var sum decimal.Decimal
	for _, m := range writtenBetween(out, "<CHECKSUM>", "</CHECKSUM>") {
		v, err := efaktura.ParseDecimal(m, 20, 3)
		if err != nil {
			t.Fatalf("ParseDecimal(%q) error = %v", m, err)
		}
		sum = sum.Add(v)
	}
	total := writtenBetween(out, "<TOTAL_DOCUMENT_CHECKSUM>", "</TOTAL_DOCUMENT_CHECKSUM>")
	if want := efaktura.FormatDecimal(sum, 3); len(total) != 1 || total[0] != want {
		t.Errorf("TOTAL_DOCUMENT_CHECKSUM(%q) = %v, want %v", b.Reference, total, want)
	}
	res := validateWritten(t, out)
	if got, want := strings.Join(writtenFindings(res), "\n"), "V26 /INVOICES/DOCUMENT[2]/HEADER/CHECKSUM"; !strings.HasPrefix(got, want) || len(writtenFindings(res)) != 1 {
		t.Errorf("Validate(Write(%q)) findings = %v, want %v", b.Reference, got, want)
	}
}

// writtenBetween returns every text between open and close in b.
func writtenBetween(b []byte, open, close string) []string {
	var out []string
	for {
		i := bytes.Index(b, []byte(open))
		if i < 0 {
			return out
		}
		b = b[i+len(open):]
		j := bytes.Index(b, []byte(close))
		if j < 0 {
			return out
		}
		out = append(out, string(b[:j]))
		b = b[j:]
	}
}

// N=1 elements are written as <X/> when empty; optional leaves are omitted.
func TestWriteEmptyElements(t *testing.T) {
	b := specInvoiceModel()
	d := &b.Documents[0]
	d.BillTo.Name2 = ""
	d.BillTo.Address.PostCode = ""
	d.Head.ExternalDocumentNo = ""
	d.Payment.FIK.FIKNo = ""
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		want bool
	}{
		{"      <FACTORING_VERSION/>\n", true},
		{"      <RECEIPT_TO/>\n", true},
		{"        <POST_CODE/>\n", true},
		{"        <P_FIK_NO/>\n", true},
		{"<EXTERNAL_DOCUMENT_NO", false},
		{"<ORIGINAL_DOCUMENT_NO", false},
		{"<SOLD_FROM", false},
		{"<DIRECT_DEBIT", false},
		{"<FACTORING_INFO", false},
		{"<P_MESSAGE", false},
	}
	for _, tt := range tests {
		if got := bytes.Contains(out, []byte(tt.text)); got != tt.want {
			t.Errorf("Write() contains %q = %v, want %v", tt.text, got, tt.want)
		}
	}
	// Without the payment id the checksum loses F.
	if want := "<CHECKSUM>4521,000</CHECKSUM>"; !bytes.Contains(out, []byte(want)) {
		t.Errorf("Write(P_FIK_NO empty) contains %q = false, want true", want)
	}
}

func TestWriteNil(t *testing.T) {
	if err := efaktura.Write(io.Discard, nil); !errors.Is(err, efaktura.ErrNilBundle) {
		t.Errorf("Write(nil) = %v, want %v", err, efaktura.ErrNilBundle)
	}
	var b *efaktura.Bundle
	if out, err := b.Bytes(); !errors.Is(err, efaktura.ErrNilBundle) || out != nil {
		t.Errorf("(*Bundle)(nil).Bytes() = %v, %v, want nil, %v", out, err, efaktura.ErrNilBundle)
	}
}

type writeFailingWriter struct{ after int }

var errWriteDiskFull = errors.New("disk full")

func (w *writeFailingWriter) Write(p []byte) (int, error) {
	if w.after < len(p) {
		n := max(w.after, 0)
		w.after = 0
		return n, errWriteDiskFull
	}
	w.after -= len(p)
	return len(p), nil
}

func TestWriteDestinationError(t *testing.T) {
	b := efaktura.Sample(efaktura.SampleOptions{Documents: 20, LinesPerDocument: 40})
	for _, after := range []int{0, 100, 200_000, 500_000} {
		if err := efaktura.Write(&writeFailingWriter{after: after}, b); !errors.Is(err, errWriteDiskFull) {
			t.Errorf("Write(writer failing after %d bytes) = %v, want %v", after, err, errWriteDiskFull)
		}
	}
}

// BenchmarkWrite writes a 1000-document sample of about 30 MB.
func BenchmarkWrite(b *testing.B) {
	bundle := efaktura.Sample(efaktura.SampleOptions{Documents: 1000, LinesPerDocument: 40, Seed: 1})
	var n writeCountingWriter
	if err := efaktura.Write(&n, bundle); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := efaktura.Write(io.Discard, bundle); err != nil {
			b.Fatal(err)
		}
	}
}

type writeCountingWriter int

func (c *writeCountingWriter) Write(p []byte) (int, error) {
	*c += writeCountingWriter(len(p))
	return len(p), nil
}

// BenchmarkSample builds the same bundle as BenchmarkWrite.
func BenchmarkSample(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		efaktura.Sample(efaktura.SampleOptions{Documents: 1000, LinesPerDocument: 40, Seed: 1})
	}
}

// A tiny bundle with one invoice of one line, paid by FIK. Write escapes the
// text and computes CHECKSUM (1145 for "Roskilde Kommune" + the payment id
// 202500013 + the net price 200,00), TOTAL_DOCUMENT_CHECKSUM and
// NO_OF_DOCUMENTS.
func ExampleWrite() {
	digit, err := efaktura.Mod10CheckDigit("00000020250001")
	if err != nil {
		fmt.Println(err)
		return
	}
	dk := func(street, postCode, city string) efaktura.Address {
		return efaktura.Address{Address1: street, PostCode: postCode, City: city, CountryCode: "DK"}
	}
	b := &efaktura.Bundle{
		Reference: "EX-2025-0001",
		Documents: []efaktura.Invoice{{
			Header: efaktura.Header{
				Version: "2.1.0", PaymentMeansVersion: "2.1.0",
				SenderIDType: "CVR", SenderID: "12345674",
				ReceiverIDType: "EAN", ReceiverID: "5798000000018",
				ReceiptNo: "EX-000001",
			},
			Head:         efaktura.DocumentHead{DocumentType: "INVOICE", DocumentNo: "F-1", DocumentDate: "2025-06-02"},
			BilledFrom:   efaktura.Party{Name1: "Nordlys Service A/S", Address: dk("Industrivej 7", "7100", "Vejle")},
			BillTo:       efaktura.Party{Name1: "Roskilde Kommune", Address: dk("Rendetorvet 1", "4000", "Roskilde")},
			CurrencyCode: "DKK",
			Lines: []efaktura.Line{{
				LineNo: "1", Item: &efaktura.ItemInfo{ItemNo: "GT-80"},
				Description1: "Gribetang & holder", Quantity: "2", UnitPrice: "100,00",
				Amount: &efaktura.LineAmount{NetPrice: "200,00", VATPercent: "25,00", VATAmount: "50,00", AmountInclVAT: "250,00"},
			}},
			PaymentTerms: &efaktura.PaymentTerms{DueDate: "2025-07-02"},
			Totals: efaktura.Totals{TotalLineAmount: "200,00", TotalChargeAmount: "0,00", TotalAmountExclVAT: "200,00",
				VATBaseAmount: "200,00", TotalVATAmount: "50,00", TotalAmountInclVAT: "250,00"},
			Payment: efaktura.PaymentMeans{PaymentType: "FIK", FIK: &efaktura.FIK{
				CardType: "71", FIKNo: fmt.Sprintf("00000020250001%d", digit), CreditorNo: "81234567"}},
		}},
	}
	if err := efaktura.Write(os.Stdout, b); err != nil {
		fmt.Println(err)
	}
	// Output:
	// <?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>
	// <INVOICES xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="efaktura.xsd">
	//   <REFERENCE>EX-2025-0001</REFERENCE>
	//   <DOCUMENT>
	//     <HEADER>
	//       <VERSION>2.1.0</VERSION>
	//       <PAYMENT_MEANS_VERSION>2.1.0</PAYMENT_MEANS_VERSION>
	//       <FACTORING_VERSION/>
	//       <SENDER_ID_TYPE>CVR</SENDER_ID_TYPE>
	//       <SENDER_ID>12345674</SENDER_ID>
	//       <RECEIVER_ID_TYPE>EAN</RECEIVER_ID_TYPE>
	//       <RECEIVER_ID>5798000000018</RECEIVER_ID>
	//       <RECEIPT_TO/>
	//       <RECEIPT_NO>EX-000001</RECEIPT_NO>
	//       <CHECKSUM>202501358,000</CHECKSUM>
	//     </HEADER>
	//     <DOCUMENT_HEAD>
	//       <DOCUMENT_TYPE>INVOICE</DOCUMENT_TYPE>
	//       <DOCUMENT_NO>F-1</DOCUMENT_NO>
	//       <DOCUMENT_DATE>2025-06-02</DOCUMENT_DATE>
	//     </DOCUMENT_HEAD>
	//     <BILLED_FROM>
	//       <NAME_1>Nordlys Service A/S</NAME_1>
	//       <ADDRESS>
	//         <ADDRESS_1>Industrivej 7</ADDRESS_1>
	//         <POST_CODE>7100</POST_CODE>
	//         <CITY>Vejle</CITY>
	//         <COUNTRY_CODE>DK</COUNTRY_CODE>
	//       </ADDRESS>
	//     </BILLED_FROM>
	//     <BILL_TO>
	//       <NAME_1>Roskilde Kommune</NAME_1>
	//       <ADDRESS>
	//         <ADDRESS_1>Rendetorvet 1</ADDRESS_1>
	//         <POST_CODE>4000</POST_CODE>
	//         <CITY>Roskilde</CITY>
	//         <COUNTRY_CODE>DK</COUNTRY_CODE>
	//       </ADDRESS>
	//     </BILL_TO>
	//     <CURRENCY>
	//       <CURRENCY_CODE>DKK</CURRENCY_CODE>
	//     </CURRENCY>
	//     <LINE>
	//       <LINE_NO>1</LINE_NO>
	//       <ITEM_INFO>
	//         <ITEM_NO>GT-80</ITEM_NO>
	//       </ITEM_INFO>
	//       <DESCRIPTION_1>Gribetang &amp; holder</DESCRIPTION_1>
	//       <QUANTITY>2</QUANTITY>
	//       <UNIT_PRICE>100,00</UNIT_PRICE>
	//       <AMOUNT>
	//         <NET_PRICE>200,00</NET_PRICE>
	//         <VAT_PERCENT>25,00</VAT_PERCENT>
	//         <VAT_AMOUNT>50,00</VAT_AMOUNT>
	//         <AMOUNT_INCL_VAT>250,00</AMOUNT_INCL_VAT>
	//       </AMOUNT>
	//     </LINE>
	//     <PAYMENT_TERMS>
	//       <DUE_DATE>2025-07-02</DUE_DATE>
	//     </PAYMENT_TERMS>
	//     <TOTALAMOUNT>
	//       <TOTAL_LINE_AMOUNT>200,00</TOTAL_LINE_AMOUNT>
	//       <TOTAL_CHARGE_AMOUNT>0,00</TOTAL_CHARGE_AMOUNT>
	//       <TOTAL_AMOUNT_EXCL_VAT>200,00</TOTAL_AMOUNT_EXCL_VAT>
	//       <VAT_BASE_AMOUNT>200,00</VAT_BASE_AMOUNT>
	//       <TOTAL_VAT_AMOUNT>50,00</TOTAL_VAT_AMOUNT>
	//       <TOTAL_AMOUNT_INCL_VAT>250,00</TOTAL_AMOUNT_INCL_VAT>
	//     </TOTALAMOUNT>
	//     <PAYMENT_MEANS>
	//       <PAYMENT_TYPE>FIK</PAYMENT_TYPE>
	//       <FIK>
	//         <P_CARD_TYPE>71</P_CARD_TYPE>
	//         <P_FIK_NO>000000202500013</P_FIK_NO>
	//         <P_CREDITOR_NO>81234567</P_CREDITOR_NO>
	//       </FIK>
	//     </PAYMENT_MEANS>
	//   </DOCUMENT>
	//   <TOTAL_DOCUMENT_CHECKSUM>202501358,000</TOTAL_DOCUMENT_CHECKSUM>
	//   <NO_OF_DOCUMENTS>1</NO_OF_DOCUMENTS>
	// </INVOICES>
}
