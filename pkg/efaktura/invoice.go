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
			Version:             written(h, "VERSION"),
			PaymentMeansVersion: written(h, "PAYMENT_MEANS_VERSION"),
			FactoringVersion:    written(h, "FACTORING_VERSION"),
			SenderIDType:        written(h, "SENDER_ID_TYPE"),
			SenderID:            written(h, "SENDER_ID"),
			ReceiverIDType:      written(h, "RECEIVER_ID_TYPE"),
			ReceiverID:          written(h, "RECEIVER_ID"),
			ReceiptTo:           written(h, "RECEIPT_TO"),
			ReceiptNo:           written(h, "RECEIPT_NO"),
			Checksum:            written(h, "CHECKSUM"),
		},
		Head: DocumentHead{
			DocumentType:       written(dh, "DOCUMENT_TYPE"),
			DocumentNo:         written(dh, "DOCUMENT_NO"),
			DocumentDate:       written(dh, "DOCUMENT_DATE"),
			OriginalDocumentNo: written(dh, "ORIGINAL_DOCUMENT_NO"),
			ExternalDocumentNo: written(dh, "EXTERNAL_DOCUMENT_NO"),
			AccountCode:        written(dh, "ACCOUNT_CODE"),
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
		inv.PaymentTerms = &PaymentTerms{DueDate: written(pt, "DUE_DATE"), Text: written(pt, "PAYMENT_TERMS_TXT")}
	}
	t := root.Child("TOTALAMOUNT")
	inv.Totals = Totals{
		TotalLineAmount:           written(t, "TOTAL_LINE_AMOUNT"),
		InvoiceDiscountAmount:     written(t, "INVOICE_DISCOUNT_AMOUNT"),
		InvoiceDiscountVATPercent: written(t, "INVOICE_DISCOUNT_VAT_PERCENT"),
		TotalChargeAmount:         written(t, "TOTAL_CHARGE_AMOUNT"),
		TotalAmountExclVAT:        written(t, "TOTAL_AMOUNT_EXCL_VAT"),
		VATBaseAmount:             written(t, "VAT_BASE_AMOUNT"),
		TotalVATAmount:            written(t, "TOTAL_VAT_AMOUNT"),
		TotalAmountInclVAT:        written(t, "TOTAL_AMOUNT_INCL_VAT"),
	}
	for c := range t.All("CHARGE") {
		inv.Totals.Charges = append(inv.Totals.Charges, Charge{
			Text: written(c, "CHARGE_TXT"), Amount: written(c, "CHARGE_AMOUNT"), VATPercent: written(c, "CHARGE_VAT_PERCENT"),
		})
	}
	if dt := root.Child("DELIVERY_TERMS"); dt.Exists() {
		inv.DeliveryTerms = &DeliveryTerms{DeliveryDate: written(dt, "DELIVERY_DATE"), Text: written(dt, "DELIVERY_TERMS_TXT")}
	}
	pm := root.Child("PAYMENT_MEANS")
	inv.Payment.PaymentType = written(pm, "PAYMENT_TYPE")
	if f := pm.Child("FIK"); f.Exists() {
		inv.Payment.FIK = &FIK{
			CardType:        written(f, "P_CARD_TYPE"),
			FIKNo:           written(f, "P_FIK_NO"),
			CreditorNo:      written(f, "P_CREDITOR_NO"),
			CreditorAddress: optPAddress(f.Child("P_CREDITOR_ADDRESS")),
			AlternateSender: optPAddress(f.Child("P_ALTERNATE_SENDER")),
		}
		if m := f.Child("P_MESSAGE"); m.Exists() {
			inv.Payment.FIK.Message = &PMessage{Texts: values(m, "P_MESSAGE_TXT")}
		}
	}
	if dd := pm.Child("DIRECT_DEBIT"); dd.Exists() {
		inv.Payment.DirectDebit = &DirectDebit{
			Type:         written(dd, "P_DIRECT_DEBIT_TYPE"),
			CurrencyCode: written(dd, "P_CURRENCY_CODE"),
			Amount:       written(dd, "P_AMOUNT"),
			TransferDate: written(dd, "P_TRANSFER_DATE"),
			RegNo:        written(dd, "P_REG_NO"),
			AccountNo:    written(dd, "P_ACCOUNT_NO"),
		}
	}
	if f := root.Child("FACTORING_INFO"); f.Exists() {
		inv.Factoring = &Factoring{Name: written(f, "FACTORING_NAME"), CVRNo: written(f, "FACTORING_CVR_NO"), Text: written(f, "FACTORING_TXT")}
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
		Name1: written(p, "NAME_1"),
		Name2: written(p, "NAME_2"),
		Address: Address{
			Address1:    written(a, "ADDRESS_1"),
			Address2:    written(a, "ADDRESS_2"),
			PostCode:    written(a, "POST_CODE"),
			City:        written(a, "CITY"),
			CountryCode: written(a, "COUNTRY_CODE"),
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
		Name:     written(a, "P_NAME"),
		Address1: written(a, "P_ADDRESS_1"),
		Address2: written(a, "P_ADDRESS_2"),
		Address3: written(a, "P_ADDRESS_3"),
	}
}

func readLine(l Element) Line {
	line := Line{
		LineNo:              written(l, "LINE_NO"),
		Description1:        written(l, "DESCRIPTION_1"),
		Description2:        written(l, "DESCRIPTION_2"),
		Quantity:            written(l, "QUANTITY"),
		UnitOfMeasure:       written(l, "UNIT_OF_MEASURE"),
		QtyPerUnitOfMeasure: written(l, "QTY_PER_UNIT_OF_MEASURE"),
		UnitPrice:           written(l, "UNIT_PRICE"),
		AccountCode:         written(l, "ACCOUNT_CODE"),
		FinalCustomerType:   written(l, "FINAL_CUSTOMER_TYPE"),
		FinalCustomer:       written(l, "FINAL_CUSTOMER"),
		OrderNo:             written(l, "ORDER_NO"),
	}
	if it := l.Child("ITEM_INFO"); it.Exists() {
		line.Item = &ItemInfo{ItemNo: written(it, "ITEM_NO"), BuyerItemNo: written(it, "BUYER_ITEM_NO"), EANItemNo: written(it, "EAN_ITEM_NO")}
	}
	if a := l.Child("AMOUNT"); a.Exists() {
		line.Amount = &LineAmount{
			LineDiscountAmount: written(a, "LINE_DISCOUNT_AMOUNT"),
			NetPrice:           written(a, "NET_PRICE"),
			VATPercent:         written(a, "VAT_PERCENT"),
			VATAmount:          written(a, "VAT_AMOUNT"),
			AmountInclVAT:      written(a, "AMOUNT_INCL_VAT"),
		}
	}
	return line
}
