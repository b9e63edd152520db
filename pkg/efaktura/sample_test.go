package efaktura_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/shopspring/decimal"
)

func TestSampleDeterministic(t *testing.T) {
	tests := []efaktura.SampleOptions{
		{},
		{Documents: 3, Seed: 2},
		{Documents: 25, LinesPerDocument: 7, Seed: -9},
	}
	for _, o := range tests {
		a, err := efaktura.Sample(o).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		b, err := efaktura.Sample(o).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Equal(a, b); !got {
			t.Errorf("Sample(%+v) twice gives equal bytes = %v, want %v", o, got, true)
		}
		other := o
		other.Seed += 1000
		c, err := efaktura.Sample(other).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Equal(a, c); got {
			t.Errorf("Sample(%+v) equals Sample(seed %d) = %v, want %v", o, other.Seed, got, false)
		}
	}
}

func TestSampleDefaults(t *testing.T) {
	tests := []struct {
		opts             efaktura.SampleOptions
		docs, lines      int
		sameAsSeedOneOpt bool
	}{
		{efaktura.SampleOptions{}, 1, 10, true},
		{efaktura.SampleOptions{Seed: 1}, 1, 10, true},
		{efaktura.SampleOptions{Documents: -3, LinesPerDocument: -1, Seed: 0}, 1, 10, true},
		{efaktura.SampleOptions{Documents: 4, LinesPerDocument: 2, Seed: 3}, 4, 2, false},
	}
	one := efaktura.Sample(efaktura.SampleOptions{Documents: 1, LinesPerDocument: 10, Seed: 1})
	for _, tt := range tests {
		b := efaktura.Sample(tt.opts)
		if got := len(b.Documents); got != tt.docs {
			t.Errorf("len(Sample(%+v).Documents) = %v, want %v", tt.opts, got, tt.docs)
		}
		for i, d := range b.Documents {
			if got := len(d.Lines); got != tt.lines {
				t.Errorf("len(Sample(%+v).Documents[%d].Lines) = %v, want %v", tt.opts, i, got, tt.lines)
			}
		}
		if tt.sameAsSeedOneOpt {
			x, _ := b.Bytes()
			y, _ := one.Bytes()
			if got := bytes.Equal(x, y); !got {
				t.Errorf("Sample(%+v) equals Sample(1 doc, 10 lines, seed 1) = %v, want %v", tt.opts, got, true)
			}
		}
	}
}

// sampleStats counts what a sample holds.
type sampleStats map[string]int

// TestSampleContent checks the promises of Sample's documentation on a
// medium-sized sample, beyond what Validate checks.
func TestSampleContent(t *testing.T) {
	b := efaktura.Sample(efaktura.SampleOptions{Documents: 300, LinesPerDocument: 8, Seed: 21})
	senders := writeTestSenders()
	stats := sampleStats{}
	receipts := map[string]bool{}
	cal := efaktura.DanishBankCalendar()
	for i, d := range b.Documents {
		where := fmt.Sprintf("Sample().Documents[%d]", i)
		h := d.Header
		if _, ok := senders[[2]string{h.SenderIDType, h.SenderID}]; !ok {
			t.Errorf("%s sender = %v %v, want a registered sender", where, h.SenderIDType, h.SenderID)
		}
		if got := h.ReceiverIDType + " " + h.ReceiverID; got != "EAN 5798000000018" {
			t.Errorf("%s receiver = %v, want %v", where, got, "EAN 5798000000018")
		}
		if receipts[h.ReceiptNo] {
			t.Errorf("%s RECEIPT_NO = %q, want unique", where, h.ReceiptNo)
		}
		receipts[h.ReceiptNo] = true
		if h.Checksum != "" {
			t.Errorf("%s Header.Checksum = %q, want empty (Write computes it)", where, h.Checksum)
		}
		a := d.BillTo.Address
		if a.CountryCode != "DK" || !efaktura.IsDanishPostalCode(a.PostCode) {
			t.Errorf("%s BILL_TO address = %v %v, want DK and a Danish postal code", where, a.CountryCode, a.PostCode)
		}
		stats[d.Head.DocumentType]++
		if d.Head.AccountCode == "Linjespecificeret" {
			stats["Linjespecificeret"]++
		}
		if d.Totals.InvoiceDiscountAmount != "" {
			stats["invoice discount"]++
		}
		if len(d.Totals.Charges) > 0 {
			stats["charges"]++
		}
		if d.Factoring != nil {
			stats["factoring"]++
		}
		if strings.ContainsAny(d.BillTo.Name1+d.BilledFrom.Name1, "æøåÆØÅ") {
			stats["Danish letters"]++
		}
		for _, l := range d.Lines {
			if l.Amount != nil && l.Amount.LineDiscountAmount != "" {
				stats["line discount"]++
			}
			if l.FinalCustomerType == "CPR" {
				stats["CPR"]++
				if !sampleIsDigits(l.FinalCustomer, 10) || !strings.HasPrefix(l.FinalCustomer, "010100") {
					t.Errorf("%s FINAL_CUSTOMER = %q, want a fake 10-digit CPR number", where, l.FinalCustomer)
				}
			}
			if strings.Contains(l.Quantity, ",") {
				stats["decimal quantity"]++
			}
			if d.Head.DocumentType == "REMINDER" && (l.Quantity != "" || l.Amount.VATPercent != "0,00") {
				t.Errorf("%s reminder line quantity, VAT = %q, %q, want none, 0,00", where, l.Quantity, l.Amount.VATPercent)
			}
		}
		p := d.Payment
		switch {
		case p.PaymentType == "DIRECT_DEBIT":
			dd := p.DirectDebit
			stats["DIRECT_DEBIT "+dd.Type]++
			day, err := time.Parse(time.DateOnly, dd.TransferDate)
			if err != nil || !cal.IsBankDay(day) {
				t.Errorf("%s P_TRANSFER_DATE = %q, want a bank day", where, dd.TransferDate)
			}
			if dd.Amount != d.Totals.TotalAmountInclVAT {
				t.Errorf("%s P_AMOUNT = %v, want %v", where, dd.Amount, d.Totals.TotalAmountInclVAT)
			}
		case p.PaymentType == "FIK":
			f := p.FIK
			stats["FIK "+f.CardType]++
			want := map[string]int{"71": 15, "73": 0, "75": 16}[f.CardType]
			if len(f.FIKNo) != want || (want > 0 && !efaktura.ValidMod10(f.FIKNo)) {
				t.Errorf("%s FIK %s P_FIK_NO = %q, want %d digits with a valid check digit", where, f.CardType, f.FIKNo, want)
			}
		}
		wantPay := map[string]string{"INVOICE": "FIK 71|DIRECT_DEBIT", "CREDIT_NOTE": "FIK 73", "REMINDER": "FIK 75"}[d.Head.DocumentType]
		gotPay := p.PaymentType
		if p.FIK != nil {
			gotPay += " " + p.FIK.CardType
		}
		if !strings.Contains(wantPay, gotPay) {
			t.Errorf("%s %s payment = %v, want %v", where, d.Head.DocumentType, gotPay, wantPay)
		}
		if (d.Head.OriginalDocumentNo != "") != (d.Head.DocumentType != "INVOICE") {
			t.Errorf("%s %s ORIGINAL_DOCUMENT_NO = %q", where, d.Head.DocumentType, d.Head.OriginalDocumentNo)
		}
	}
	for _, k := range []string{"INVOICE", "CREDIT_NOTE", "REMINDER", "FIK 71", "FIK 73", "FIK 75",
		"DIRECT_DEBIT LS", "DIRECT_DEBIT BS", "Linjespecificeret", "invoice discount", "charges", "factoring",
		"Danish letters", "line discount", "CPR", "decimal quantity"} {
		if stats[k] == 0 {
			t.Errorf("Sample(300 documents) count of %q = %v, want > 0 (all: %v)", k, stats[k], stats)
		}
	}
}

func sampleIsDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Many lines per document: the VAT total is 25 % of the base, rounded once,
// so it stays exact however many lines round their own VAT.
func TestSampleVATNoDrift(t *testing.T) {
	b := efaktura.Sample(efaktura.SampleOptions{Documents: 6, LinesPerDocument: 2000, Seed: 8})
	for i, d := range b.Documents {
		base, err := efaktura.ParseDecimal(d.Totals.VATBaseAmount, 20, 3)
		if err != nil {
			t.Fatal(err)
		}
		vat, err := efaktura.ParseDecimal(d.Totals.TotalVATAmount, 20, 3)
		if err != nil {
			t.Fatal(err)
		}
		want := base.Mul(decimal.New(25, -2))
		if diff := vat.Sub(want).Abs(); diff.GreaterThan(decimal.New(5, -3)) {
			t.Errorf("Sample().Documents[%d] TOTAL_VAT_AMOUNT - 25 %% of %s = %v, want at most 0,005", i, d.Totals.VATBaseAmount, diff)
		}
	}
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if res := validateWritten(t, out); !res.Valid {
		t.Errorf("Validate(Write(Sample(6 x 2000 lines))).Valid = %v, want true; findings:\n%s", res.Valid, strings.Join(writtenFindings(res), "\n"))
	}
}

// The benchmark bundle: 1000 documents of 40 lines, near 30 MB and valid.
func TestSampleBenchmarkBundle(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and validates 30 MB")
	}
	o := efaktura.SampleOptions{Documents: 1000, LinesPerDocument: 40, Seed: 1}
	out, err := efaktura.Sample(o).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Sample(%+v): %d bytes", o, len(out))
	if n := len(out); n < 25_000_000 || n > 35_000_000 {
		t.Errorf("len(Write(Sample(%+v))) = %v, want 25-35 MB", o, n)
	}
	res := validateWritten(t, out)
	if fs := writtenFindings(res); !res.Valid || len(fs) != 0 {
		t.Errorf("Validate(Write(Sample(%+v))).Valid = %v with %d findings, want true with 0:\n%s", o, res.Valid, len(fs), strings.Join(fs[:min(len(fs), 50)], "\n"))
	}
}
