package efaktura

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// ErrNotLatin1 is wrapped by the error [Write] returns for text that
// ISO-8859-1 cannot hold, such as '€', '✓' or invalid UTF-8.
var ErrNotLatin1 = errors.New("efaktura: character not in ISO-8859-1")

// ErrNilBundle is returned by [Write] for a nil bundle.
var ErrNilBundle = errors.New("efaktura: nil bundle")

const (
	// writeDeclaration is the first line of every bundle (section 1.2).
	writeDeclaration = `<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>` + "\n"
	// writeRootStart is the INVOICES start tag with its two attributes (V06).
	writeRootStart = `<INVOICES xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="efaktura.xsd">` + "\n"
	writeRootEnd   = "</INVOICES>\n"

	writeBufferSize = 64 << 10
	// writeIndent is deep enough for the deepest element,
	// /INVOICES/DOCUMENT/PAYMENT_MEANS/FIK/P_CREDITOR_ADDRESS/P_NAME (depth 5).
	writeIndent = "                                "
)

// Write renders b as an e-faktura 2.1.0 bundle in ISO-8859-1: the XML
// declaration, then INVOICES with its elements in the order of the element
// table, indented by two spaces per level, one element per line. Text is
// escaped as section 1.5 asks (< > & ' " become &lt; &gt; &amp; &apos;
// &quot;); other values are written as they are, valid or not.
//
// Write computes what the model leaves out:
//   - each HEADER/CHECKSUM whose Header.Checksum is empty, with [Checksum]
//     from BILL_TO/NAME_1, P_FIK_NO when PAYMENT_TYPE is FIK and P_FIK_NO is
//     1 to 16 digits, and every NET_PRICE that is a valid Decimal 20.3 (others
//     count 0), written with 3 decimals; a set Header.Checksum is written
//     verbatim;
//   - TOTAL_DOCUMENT_CHECKSUM, the [BundleChecksum] of the CHECKSUM values as
//     written (a written value that is not a valid Decimal 20.3 counts 0);
//   - NO_OF_DOCUMENTS, len(b.Documents).
//
// Write streams: it never holds the file, only a 64 KiB buffer. Every value
// is checked as it is written, and its characters become ISO-8859-1 bytes
// directly; a character outside ISO-8859-1 stops Write with an error
// wrapping [ErrNotLatin1] that names the element path and the character (not
// the value, which may hold personal data). Other errors are those of w.
// After an error, w may have received part of the bundle.
func Write(w io.Writer, b *Bundle) error {
	if b == nil {
		return ErrNilBundle
	}
	x := &xmlOut{w: bufio.NewWriterSize(w, writeBufferSize)}
	x.bundle(b)
	if x.err != nil {
		return x.err
	}
	return x.w.Flush()
}

// Bytes renders the bundle with [Write] and returns the ISO-8859-1 bytes.
func (b *Bundle) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	if b != nil {
		buf.Grow(writeSizeHint(b))
	}
	if err := Write(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeSizeHint guesses the size of the written bundle, to size a buffer.
func writeSizeHint(b *Bundle) int {
	n := 512
	for i := range b.Documents {
		n += 3000 + 700*len(b.Documents[i].Lines)
	}
	return n
}

// xmlOut writes elements to w as ISO-8859-1. The first
// error is kept in err; later writes are skipped where it matters.
type xmlOut struct {
	w   *bufio.Writer
	err error
	// stack holds the open elements below INVOICES, for error paths and
	// indentation.
	stack []writePathStep
}

// writePathStep is one open element; index is its 1-based position among
// repeated siblings, 0 for a non-repeatable element.
type writePathStep struct {
	name  string
	index int
}

func (x *xmlOut) fail(err error) {
	if x.err == nil {
		x.err = err
	}
}

// indent starts a line inside the innermost open element, INVOICES at least.
func (x *xmlOut) indent() {
	x.w.WriteString(writeIndent[:2*(len(x.stack)+1)])
}

// open writes a start tag on its own line and enters the element.
func (x *xmlOut) open(name string) { x.openN(name, 0) }

// openN is open for the index-th occurrence of a repeated element.
func (x *xmlOut) openN(name string, index int) {
	x.indent()
	x.w.WriteByte('<')
	x.w.WriteString(name)
	x.w.WriteString(">\n")
	x.stack = append(x.stack, writePathStep{name, index})
}

// close writes the end tag of the innermost open element.
func (x *xmlOut) close() {
	name := x.stack[len(x.stack)-1].name
	x.stack = x.stack[:len(x.stack)-1]
	x.indent()
	x.w.WriteString("</")
	x.w.WriteString(name)
	if _, err := x.w.WriteString(">\n"); err != nil {
		x.fail(err)
	}
}

// leaf writes an element that is always present (N=1), as <NAME/> when
// value is empty.
func (x *xmlOut) leaf(name, value string) { x.leafN(name, value, 0) }

// leafN is leaf for the index-th occurrence of a repeated element.
func (x *xmlOut) leafN(name, value string, index int) {
	x.indent()
	x.w.WriteByte('<')
	x.w.WriteString(name)
	if value == "" {
		x.w.WriteString("/>\n")
		return
	}
	x.w.WriteByte('>')
	x.text(name, index, value)
	x.w.WriteString("</")
	x.w.WriteString(name)
	x.w.WriteString(">\n")
}

// opt writes an optional element (N=0..1) when value is not empty.
func (x *xmlOut) opt(name, value string) {
	if value != "" {
		x.leafN(name, value, 0)
	}
}

// text writes the UTF-8 text s escaped and as ISO-8859-1, one byte per
// character. A character outside ISO-8859-1 is not written; it records an
// ErrNotLatin1 error naming the element.
func (x *xmlOut) text(name string, index int, s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch c := s[i]; c {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '\'':
			esc = "&apos;"
		case '"':
			esc = "&quot;"
		default:
			if c < utf8.RuneSelf {
				continue
			}
			x.w.WriteString(s[start:i])
			r, size := utf8.DecodeRuneInString(s[i:])
			if r > 0xFF { // also utf8.RuneError for invalid UTF-8
				x.fail(x.notLatin1(name, index, r, size))
				return
			}
			x.w.WriteByte(byte(r))
			i += size - 1
			start = i + 1
			continue
		}
		x.w.WriteString(s[start:i])
		x.w.WriteString(esc)
		start = i + 1
	}
	x.w.WriteString(s[start:])
}

// notLatin1 describes a character that ISO-8859-1 cannot hold, with the
// path of the element holding it.
func (x *xmlOut) notLatin1(name string, index int, r rune, size int) error {
	var p strings.Builder
	p.WriteString("/INVOICES")
	for _, s := range append(x.stack, writePathStep{name, index}) {
		p.WriteByte('/')
		p.WriteString(s.name)
		if s.index > 0 {
			fmt.Fprintf(&p, "[%d]", s.index)
		}
	}
	if r == utf8.RuneError && size == 1 {
		return fmt.Errorf("%w: %s holds invalid UTF-8", ErrNotLatin1, p.String())
	}
	return fmt.Errorf("%w: %s holds %q (U+%04X)", ErrNotLatin1, p.String(), r, r)
}

func (x *xmlOut) bundle(b *Bundle) {
	x.w.WriteString(writeDeclaration)
	x.w.WriteString(writeRootStart)
	x.leaf("REFERENCE", b.Reference)
	checksums := make([]decimal.Decimal, 0, len(b.Documents))
	for i := range b.Documents {
		written := x.document(&b.Documents[i], i+1)
		if x.err != nil {
			return
		}
		v, err := ParseDecimal(written, 20, 3)
		if err != nil {
			v = decimal.Zero // V09 fails on such a value anyway
		}
		checksums = append(checksums, v)
	}
	x.leaf("TOTAL_DOCUMENT_CHECKSUM", FormatDecimal(BundleChecksum(checksums), 3))
	x.leaf("NO_OF_DOCUMENTS", strconv.Itoa(len(b.Documents)))
	x.w.WriteString(writeRootEnd)
}

// document writes the index-th DOCUMENT and returns its CHECKSUM as written.
func (x *xmlOut) document(d *Invoice, index int) string {
	x.openN("DOCUMENT", index)
	checksum := d.Header.Checksum
	if checksum == "" {
		checksum = x.checksum(d)
	}
	h := &d.Header
	x.open("HEADER")
	x.leaf("VERSION", h.Version)
	x.leaf("PAYMENT_MEANS_VERSION", h.PaymentMeansVersion)
	x.leaf("FACTORING_VERSION", h.FactoringVersion)
	x.leaf("SENDER_ID_TYPE", h.SenderIDType)
	x.leaf("SENDER_ID", h.SenderID)
	x.leaf("RECEIVER_ID_TYPE", h.ReceiverIDType)
	x.leaf("RECEIVER_ID", h.ReceiverID)
	x.leaf("RECEIPT_TO", h.ReceiptTo)
	x.leaf("RECEIPT_NO", h.ReceiptNo)
	x.leaf("CHECKSUM", checksum)
	x.close()

	dh := &d.Head
	x.open("DOCUMENT_HEAD")
	x.leaf("DOCUMENT_TYPE", dh.DocumentType)
	x.leaf("DOCUMENT_NO", dh.DocumentNo)
	x.leaf("DOCUMENT_DATE", dh.DocumentDate)
	x.opt("ORIGINAL_DOCUMENT_NO", dh.OriginalDocumentNo)
	x.opt("EXTERNAL_DOCUMENT_NO", dh.ExternalDocumentNo)
	x.opt("ACCOUNT_CODE", dh.AccountCode)
	x.close()

	if d.Remark != nil {
		x.open("REMARK")
		for i, t := range d.Remark.Texts {
			x.leafN("REMARK_TXT", t, i+1)
		}
		x.close()
	}
	x.party("BILLED_FROM", &d.BilledFrom)
	if d.SoldFrom != nil {
		x.party("SOLD_FROM", d.SoldFrom)
	}
	if d.SellTo != nil {
		x.party("SELL_TO", d.SellTo)
	}
	x.party("BILL_TO", &d.BillTo)
	if d.ShipTo != nil {
		x.party("SHIP_TO", d.ShipTo)
	}
	x.open("CURRENCY")
	x.leaf("CURRENCY_CODE", d.CurrencyCode)
	x.close()
	for i := range d.Lines {
		x.line(&d.Lines[i], i+1)
		if x.err != nil {
			return checksum
		}
	}
	if pt := d.PaymentTerms; pt != nil {
		x.open("PAYMENT_TERMS")
		x.leaf("DUE_DATE", pt.DueDate)
		x.opt("PAYMENT_TERMS_TXT", pt.Text)
		x.close()
	}
	x.totals(&d.Totals)
	if dt := d.DeliveryTerms; dt != nil {
		x.open("DELIVERY_TERMS")
		x.leaf("DELIVERY_DATE", dt.DeliveryDate)
		x.opt("DELIVERY_TERMS_TXT", dt.Text)
		x.close()
	}
	x.payment(&d.Payment)
	if f := d.Factoring; f != nil {
		x.open("FACTORING_INFO")
		x.leaf("FACTORING_NAME", f.Name)
		x.leaf("FACTORING_CVR_NO", f.CVRNo)
		x.leaf("FACTORING_TXT", f.Text)
		x.close()
	}
	x.close()
	return checksum
}

// checksum computes the document's CHECKSUM as [Document.Checksum] does for
// a valid document. They differ only on a P_FIK_NO that is not 1 to 16
// digits, which V17 or V43 rejects anyway: Write, which writes invalid
// documents too, counts it 0 so that it still has a checksum to write.
func (x *xmlOut) checksum(d *Invoice) string {
	var fik string
	if f := d.Payment.FIK; d.Payment.PaymentType == "FIK" && f != nil && isDigits(f.FIKNo, 1, 16) {
		fik = f.FIKNo
	}
	var nets decimal.Decimal
	for i := range d.Lines {
		if a := d.Lines[i].Amount; a != nil {
			if v, err := ParseDecimal(a.NetPrice, 20, 3); err == nil {
				nets = nets.Add(v)
			}
		}
	}
	sum, err := checksum(NameValue(d.BillTo.Name1), fik, nets)
	if err != nil { // cannot happen: fik holds digits only
		x.fail(err)
		return ""
	}
	return FormatDecimal(sum, 3)
}

func (x *xmlOut) party(name string, p *Party) {
	x.open(name)
	x.leaf("NAME_1", p.Name1)
	x.opt("NAME_2", p.Name2)
	a := &p.Address
	x.open("ADDRESS")
	x.leaf("ADDRESS_1", a.Address1)
	x.opt("ADDRESS_2", a.Address2)
	x.leaf("POST_CODE", a.PostCode)
	x.leaf("CITY", a.City)
	x.leaf("COUNTRY_CODE", a.CountryCode)
	x.close()
	x.close()
}

func (x *xmlOut) line(l *Line, index int) {
	x.openN("LINE", index)
	x.leaf("LINE_NO", l.LineNo)
	if it := l.Item; it != nil {
		x.open("ITEM_INFO")
		x.opt("ITEM_NO", it.ItemNo)
		x.opt("BUYER_ITEM_NO", it.BuyerItemNo)
		x.opt("EAN_ITEM_NO", it.EANItemNo)
		x.close()
	}
	x.leaf("DESCRIPTION_1", l.Description1)
	x.opt("DESCRIPTION_2", l.Description2)
	x.opt("QUANTITY", l.Quantity)
	x.opt("UNIT_OF_MEASURE", l.UnitOfMeasure)
	x.opt("QTY_PER_UNIT_OF_MEASURE", l.QtyPerUnitOfMeasure)
	x.opt("UNIT_PRICE", l.UnitPrice)
	if a := l.Amount; a != nil {
		x.open("AMOUNT")
		x.opt("LINE_DISCOUNT_AMOUNT", a.LineDiscountAmount)
		x.leaf("NET_PRICE", a.NetPrice)
		x.leaf("VAT_PERCENT", a.VATPercent)
		x.leaf("VAT_AMOUNT", a.VATAmount)
		x.leaf("AMOUNT_INCL_VAT", a.AmountInclVAT)
		x.close()
	}
	x.opt("ACCOUNT_CODE", l.AccountCode)
	x.opt("FINAL_CUSTOMER_TYPE", l.FinalCustomerType)
	x.opt("FINAL_CUSTOMER", l.FinalCustomer)
	x.opt("ORDER_NO", l.OrderNo)
	x.close()
}

func (x *xmlOut) totals(t *Totals) {
	x.open("TOTALAMOUNT")
	x.leaf("TOTAL_LINE_AMOUNT", t.TotalLineAmount)
	x.opt("INVOICE_DISCOUNT_AMOUNT", t.InvoiceDiscountAmount)
	x.opt("INVOICE_DISCOUNT_VAT_PERCENT", t.InvoiceDiscountVATPercent)
	x.leaf("TOTAL_CHARGE_AMOUNT", t.TotalChargeAmount)
	x.leaf("TOTAL_AMOUNT_EXCL_VAT", t.TotalAmountExclVAT)
	x.leaf("VAT_BASE_AMOUNT", t.VATBaseAmount)
	x.leaf("TOTAL_VAT_AMOUNT", t.TotalVATAmount)
	x.leaf("TOTAL_AMOUNT_INCL_VAT", t.TotalAmountInclVAT)
	for i := range t.Charges {
		c := &t.Charges[i]
		x.openN("CHARGE", i+1)
		x.leaf("CHARGE_TXT", c.Text)
		x.leaf("CHARGE_AMOUNT", c.Amount)
		x.leaf("CHARGE_VAT_PERCENT", c.VATPercent)
		x.close()
	}
	x.close()
}

func (x *xmlOut) payment(p *PaymentMeans) {
	x.open("PAYMENT_MEANS")
	x.leaf("PAYMENT_TYPE", p.PaymentType)
	if f := p.FIK; f != nil {
		x.open("FIK")
		x.leaf("P_CARD_TYPE", f.CardType)
		x.leaf("P_FIK_NO", f.FIKNo)
		x.leaf("P_CREDITOR_NO", f.CreditorNo)
		if m := f.Message; m != nil {
			x.open("P_MESSAGE")
			for i, t := range m.Texts {
				x.leafN("P_MESSAGE_TXT", t, i+1)
			}
			x.close()
		}
		if a := f.CreditorAddress; a != nil {
			x.paymentAddress("P_CREDITOR_ADDRESS", a)
		}
		if a := f.AlternateSender; a != nil {
			x.paymentAddress("P_ALTERNATE_SENDER", a)
		}
		x.close()
	}
	if dd := p.DirectDebit; dd != nil {
		x.open("DIRECT_DEBIT")
		x.leaf("P_DIRECT_DEBIT_TYPE", dd.Type)
		x.leaf("P_CURRENCY_CODE", dd.CurrencyCode)
		x.leaf("P_AMOUNT", dd.Amount)
		x.leaf("P_TRANSFER_DATE", dd.TransferDate)
		x.leaf("P_REG_NO", dd.RegNo)
		x.leaf("P_ACCOUNT_NO", dd.AccountNo)
		x.close()
	}
	x.close()
}

func (x *xmlOut) paymentAddress(name string, a *PAddress) {
	x.open(name)
	x.leaf("P_NAME", a.Name)
	x.leaf("P_ADDRESS_1", a.Address1)
	x.opt("P_ADDRESS_2", a.Address2)
	x.opt("P_ADDRESS_3", a.Address3)
	x.close()
}
