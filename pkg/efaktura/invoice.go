package efaktura

import (
	"bytes"
	"context"
	"fmt"
)

// ReadDocument reads one DOCUMENT element, as [Document.Raw] returns it
// (and as ingest stores each document), into a [Document] tree without
// applying any rule: for a reader of a document that was validated
// already, such as a caseworker's view of it. index is its 1-based
// position in the bundle, for paths. The error wraps [ErrFragment] when raw
// is not a well-formed DOCUMENT in ISO-8859-1.
func ReadDocument(raw []byte, index int) (*Document, error) {
	v := &validation{ctx: context.Background(), opts: Options{}.withDefaults(),
		res: &Result{Findings: []Finding{}, Documents: []DocumentResult{}}}
	v.s = newScanner(bytes.NewReader(raw))
	defer v.s.release()
	doc, err := v.fragment(index)
	if err != nil {
		return nil, err
	}
	if len(v.res.Findings) > 0 {
		f := v.res.Findings[0]
		return nil, fmt.Errorf("%w: %s %s", ErrFragment, f.Rule, f.Message)
	}
	return doc, nil
}

// Invoice returns the document in the typed model that [Write] writes: every
// element of the element table, its value as written (decoded, so amounts
// keep their decimal comma and their scale), an absent optional group as
// nil, an absent leaf as "". Header.Checksum is CHECKSUM as written, so
// writing the result gives the document back. Elements the table does not
// define are left out, and values longer than the reader keeps (4 KiB) are
// cut, as [Element.Value] cuts them.
func (d *Document) Invoice() *Invoice {
	root := d.Root()
	h, dh := root.Child("HEADER"), root.Child("DOCUMENT_HEAD")
	inv := &Invoice{
		Header: Header{
			Version:             leaf(h, "VERSION"),
			PaymentMeansVersion: leaf(h, "PAYMENT_MEANS_VERSION"),
			FactoringVersion:    leaf(h, "FACTORING_VERSION"),
			SenderIDType:        leaf(h, "SENDER_ID_TYPE"),
			SenderID:            leaf(h, "SENDER_ID"),
			ReceiverIDType:      leaf(h, "RECEIVER_ID_TYPE"),
			ReceiverID:          leaf(h, "RECEIVER_ID"),
			ReceiptTo:           leaf(h, "RECEIPT_TO"),
			ReceiptNo:           leaf(h, "RECEIPT_NO"),
			Checksum:            leaf(h, "CHECKSUM"),
		},
		Head: DocumentHead{
			DocumentType:       leaf(dh, "DOCUMENT_TYPE"),
			DocumentNo:         leaf(dh, "DOCUMENT_NO"),
			DocumentDate:       leaf(dh, "DOCUMENT_DATE"),
			OriginalDocumentNo: leaf(dh, "ORIGINAL_DOCUMENT_NO"),
			ExternalDocumentNo: leaf(dh, "EXTERNAL_DOCUMENT_NO"),
			AccountCode:        leaf(dh, "ACCOUNT_CODE"),
		},
		BilledFrom:   readParty(root.Child("BILLED_FROM")),
		SoldFrom:     optParty(root.Child("SOLD_FROM")),
		SellTo:       optParty(root.Child("SELL_TO")),
		BillTo:       readParty(root.Child("BILL_TO")),
		ShipTo:       optParty(root.Child("SHIP_TO")),
		CurrencyCode: root.Find("CURRENCY/CURRENCY_CODE").Value(),
	}
	if r := root.Child("REMARK"); r.Exists() {
		inv.Remark = &Remark{Texts: values(r, "REMARK_TXT")}
	}
	for l := range root.All("LINE") {
		inv.Lines = append(inv.Lines, readLine(l))
	}
	if pt := root.Child("PAYMENT_TERMS"); pt.Exists() {
		inv.PaymentTerms = &PaymentTerms{DueDate: leaf(pt, "DUE_DATE"), Text: leaf(pt, "PAYMENT_TERMS_TXT")}
	}
	t := root.Child("TOTALAMOUNT")
	inv.Totals = Totals{
		TotalLineAmount:           leaf(t, "TOTAL_LINE_AMOUNT"),
		InvoiceDiscountAmount:     leaf(t, "INVOICE_DISCOUNT_AMOUNT"),
		InvoiceDiscountVATPercent: leaf(t, "INVOICE_DISCOUNT_VAT_PERCENT"),
		TotalChargeAmount:         leaf(t, "TOTAL_CHARGE_AMOUNT"),
		TotalAmountExclVAT:        leaf(t, "TOTAL_AMOUNT_EXCL_VAT"),
		VATBaseAmount:             leaf(t, "VAT_BASE_AMOUNT"),
		TotalVATAmount:            leaf(t, "TOTAL_VAT_AMOUNT"),
		TotalAmountInclVAT:        leaf(t, "TOTAL_AMOUNT_INCL_VAT"),
	}
	for c := range t.All("CHARGE") {
		inv.Totals.Charges = append(inv.Totals.Charges, Charge{
			Text: leaf(c, "CHARGE_TXT"), Amount: leaf(c, "CHARGE_AMOUNT"), VATPercent: leaf(c, "CHARGE_VAT_PERCENT"),
		})
	}
	if dt := root.Child("DELIVERY_TERMS"); dt.Exists() {
		inv.DeliveryTerms = &DeliveryTerms{DeliveryDate: leaf(dt, "DELIVERY_DATE"), Text: leaf(dt, "DELIVERY_TERMS_TXT")}
	}
	pm := root.Child("PAYMENT_MEANS")
	inv.Payment.PaymentType = leaf(pm, "PAYMENT_TYPE")
	if f := pm.Child("FIK"); f.Exists() {
		inv.Payment.FIK = &FIK{
			CardType:        leaf(f, "P_CARD_TYPE"),
			FIKNo:           leaf(f, "P_FIK_NO"),
			CreditorNo:      leaf(f, "P_CREDITOR_NO"),
			CreditorAddress: optPAddress(f.Child("P_CREDITOR_ADDRESS")),
			AlternateSender: optPAddress(f.Child("P_ALTERNATE_SENDER")),
		}
		if m := f.Child("P_MESSAGE"); m.Exists() {
			inv.Payment.FIK.Message = &PMessage{Texts: values(m, "P_MESSAGE_TXT")}
		}
	}
	if dd := pm.Child("DIRECT_DEBIT"); dd.Exists() {
		inv.Payment.DirectDebit = &DirectDebit{
			Type:         leaf(dd, "P_DIRECT_DEBIT_TYPE"),
			CurrencyCode: leaf(dd, "P_CURRENCY_CODE"),
			Amount:       leaf(dd, "P_AMOUNT"),
			TransferDate: leaf(dd, "P_TRANSFER_DATE"),
			RegNo:        leaf(dd, "P_REG_NO"),
			AccountNo:    leaf(dd, "P_ACCOUNT_NO"),
		}
	}
	if f := root.Child("FACTORING_INFO"); f.Exists() {
		inv.Factoring = &Factoring{Name: leaf(f, "FACTORING_NAME"), CVRNo: leaf(f, "FACTORING_CVR_NO"), Text: leaf(f, "FACTORING_TXT")}
	}
	return inv
}

// values returns the values of the children of e called name, in order.
func values(e Element, name string) []string {
	var out []string
	for c := range e.All(name) {
		out = append(out, c.Value())
	}
	return out
}

func readParty(p Element) Party {
	a := p.Child("ADDRESS")
	return Party{
		Name1: leaf(p, "NAME_1"),
		Name2: leaf(p, "NAME_2"),
		Address: Address{
			Address1:    leaf(a, "ADDRESS_1"),
			Address2:    leaf(a, "ADDRESS_2"),
			PostCode:    leaf(a, "POST_CODE"),
			City:        leaf(a, "CITY"),
			CountryCode: leaf(a, "COUNTRY_CODE"),
		},
	}
}

func optParty(p Element) *Party {
	if !p.Exists() {
		return nil
	}
	party := readParty(p)
	return &party
}

func optPAddress(a Element) *PAddress {
	if !a.Exists() {
		return nil
	}
	return &PAddress{
		Name:     leaf(a, "P_NAME"),
		Address1: leaf(a, "P_ADDRESS_1"),
		Address2: leaf(a, "P_ADDRESS_2"),
		Address3: leaf(a, "P_ADDRESS_3"),
	}
}

func readLine(l Element) Line {
	line := Line{
		LineNo:              leaf(l, "LINE_NO"),
		Description1:        leaf(l, "DESCRIPTION_1"),
		Description2:        leaf(l, "DESCRIPTION_2"),
		Quantity:            leaf(l, "QUANTITY"),
		UnitOfMeasure:       leaf(l, "UNIT_OF_MEASURE"),
		QtyPerUnitOfMeasure: leaf(l, "QTY_PER_UNIT_OF_MEASURE"),
		UnitPrice:           leaf(l, "UNIT_PRICE"),
		AccountCode:         leaf(l, "ACCOUNT_CODE"),
		FinalCustomerType:   leaf(l, "FINAL_CUSTOMER_TYPE"),
		FinalCustomer:       leaf(l, "FINAL_CUSTOMER"),
		OrderNo:             leaf(l, "ORDER_NO"),
	}
	if it := l.Child("ITEM_INFO"); it.Exists() {
		line.Item = &ItemInfo{ItemNo: leaf(it, "ITEM_NO"), BuyerItemNo: leaf(it, "BUYER_ITEM_NO"), EANItemNo: leaf(it, "EAN_ITEM_NO")}
	}
	if a := l.Child("AMOUNT"); a.Exists() {
		line.Amount = &LineAmount{
			LineDiscountAmount: leaf(a, "LINE_DISCOUNT_AMOUNT"),
			NetPrice:           leaf(a, "NET_PRICE"),
			VATPercent:         leaf(a, "VAT_PERCENT"),
			VATAmount:          leaf(a, "VAT_AMOUNT"),
			AmountInclVAT:      leaf(a, "AMOUNT_INCL_VAT"),
		}
	}
	return line
}

// leaf is the value of parent's child name as written; "" when absent.
func leaf(parent Element, name string) string { return parent.Child(name).Value() }
