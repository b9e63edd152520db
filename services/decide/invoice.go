package decide

import (
	"strconv"
	"strings"

	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// InvoiceView is the body of GET /v1/documents/{id}/invoice: the document's
// content as the format holds it ([efaktura.Invoice]), under snake_case
// names. Amounts are strings with a decimal point and the scale as written
// ("2800,00" is "2800.00", "1,5" is "1.5"); dates are "YYYY-MM-DD" as
// written. Absent optional groups are null, empty optional leaves are left
// out.
//
// Unless the caseworker asked to see them (CPRRevealed), CPR numbers are
// masked: a final customer of type CPR as its first six digits and
// "-****", any CPR-shaped number in any other value as [cpr.Mask] masks
// it.
type InvoiceView struct {
	DocumentID         string `json:"document_id"`
	DocumentType       string `json:"document_type"`
	DocumentNo         string `json:"document_no"`
	DocumentDate       string `json:"document_date"`
	DueDate            string `json:"due_date,omitempty"`
	Currency           string `json:"currency"`
	ExternalDocumentNo string `json:"external_document_no,omitempty"`
	OriginalDocumentNo string `json:"original_document_no,omitempty"`
	AccountCode        string `json:"account_code,omitempty"`
	ReceiptNo          string `json:"receipt_no"`
	// Header is the rest of HEADER: versions, sender, receiver, checksum.
	Header       HeaderView        `json:"header"`
	Remarks      []string          `json:"remarks,omitempty"`
	BilledFrom   PartyView         `json:"billed_from"`
	BillTo       PartyView         `json:"bill_to"`
	ShipTo       *PartyView        `json:"ship_to"`
	SoldFrom     *PartyView        `json:"sold_from"`
	SellTo       *PartyView        `json:"sell_to"`
	Lines        []LineView        `json:"lines"`
	PaymentTerms *PaymentTermsView `json:"payment_terms"`
	Delivery     *DeliveryView     `json:"delivery"`
	Totals       TotalsView        `json:"totals"`
	Payment      PaymentView       `json:"payment"`
	Factoring    *FactoringView    `json:"factoring"`
	// CPRRevealed is true when CPR numbers are shown unmasked: asked for
	// with ?reveal=cpr, and written to the document's history.
	CPRRevealed bool `json:"cpr_revealed"`
	// CPRMasked is true when CPR numbers are in the document and masked in
	// this view: ?reveal=cpr would show them.
	CPRMasked bool `json:"cpr_masked"`
}

// HeaderView is HEADER, but for RECEIPT_NO, which is the view's
// receipt_no.
type HeaderView struct {
	Version             string `json:"version"`
	PaymentMeansVersion string `json:"payment_means_version"`
	FactoringVersion    string `json:"factoring_version,omitempty"`
	SenderIDType        string `json:"sender_id_type"`
	SenderID            string `json:"sender_id"`
	ReceiverIDType      string `json:"receiver_id_type"`
	ReceiverID          string `json:"receiver_id"`
	Checksum            string `json:"checksum"`
}

// PartyView is a party block. BILLED_FROM has the sender's id and BILL_TO
// the receiver's (HEADER); the other parties have none in the format.
// Address holds ADDRESS_1 and ADDRESS_2, when filled.
type PartyView struct {
	IDType   string   `json:"id_type,omitempty"`
	ID       string   `json:"id,omitempty"`
	Name     string   `json:"name"`
	Name2    string   `json:"name_2,omitempty"`
	Address  []string `json:"address"`
	PostCode string   `json:"post_code"`
	City     string   `json:"city"`
	Country  string   `json:"country"`
}

// LineView is one LINE. Description holds DESCRIPTION_1 and
// DESCRIPTION_2, when filled.
type LineView struct {
	LineNo             int                `json:"line_no"`
	ItemNo             string             `json:"item_no,omitempty"`
	BuyerItemNo        string             `json:"buyer_item_no,omitempty"`
	EANItemNo          string             `json:"ean_item_no,omitempty"`
	Description        []string           `json:"description"`
	Quantity           string             `json:"quantity,omitempty"`
	Unit               string             `json:"unit,omitempty"`
	QtyPerUnit         string             `json:"qty_per_unit,omitempty"`
	UnitPrice          string             `json:"unit_price,omitempty"`
	LineDiscountAmount string             `json:"line_discount_amount,omitempty"`
	NetPrice           string             `json:"net_price,omitempty"`
	VATPercent         string             `json:"vat_percent,omitempty"`
	VATAmount          string             `json:"vat_amount,omitempty"`
	AmountInclVAT      string             `json:"amount_incl_vat,omitempty"`
	AccountCode        string             `json:"account_code,omitempty"`
	OrderNo            string             `json:"order_no,omitempty"`
	FinalCustomer      *FinalCustomerView `json:"final_customer,omitempty"`
}

// FinalCustomerView is a line's FINAL_CUSTOMER_TYPE and FINAL_CUSTOMER.
type FinalCustomerView struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// PaymentTermsView is PAYMENT_TERMS.
type PaymentTermsView struct {
	DueDate string `json:"due_date"`
	Text    string `json:"text,omitempty"`
}

// DeliveryView is DELIVERY_TERMS.
type DeliveryView struct {
	Date string `json:"date"`
	Text string `json:"text,omitempty"`
}

// TotalsView is TOTALAMOUNT.
type TotalsView struct {
	TotalLineAmount           string       `json:"total_line_amount"`
	InvoiceDiscountAmount     string       `json:"invoice_discount_amount,omitempty"`
	InvoiceDiscountVATPercent string       `json:"invoice_discount_vat_percent,omitempty"`
	TotalChargeAmount         string       `json:"total_charge_amount"`
	TotalAmountExclVAT        string       `json:"total_amount_excl_vat"`
	VATBaseAmount             string       `json:"vat_base_amount"`
	TotalVATAmount            string       `json:"total_vat_amount"`
	TotalAmountInclVAT        string       `json:"total_amount_incl_vat"`
	Charges                   []ChargeView `json:"charges"`
}

// ChargeView is one CHARGE.
type ChargeView struct {
	Text       string `json:"text"`
	Amount     string `json:"amount"`
	VATPercent string `json:"vat_percent"`
}

// PaymentView is PAYMENT_MEANS.
type PaymentView struct {
	Type        string           `json:"type"`
	FIK         *FIKView         `json:"fik"`
	DirectDebit *DirectDebitView `json:"direct_debit"`
}

// FIKView is FIK, the FI payment slip.
type FIKView struct {
	CardType        string        `json:"card_type"`
	FIKNo           string        `json:"fik_no,omitempty"`
	CreditorNo      string        `json:"creditor_no"`
	Message         []string      `json:"message,omitempty"`
	CreditorAddress *PAddressView `json:"creditor_address"`
	AlternateSender *PAddressView `json:"alternate_sender"`
}

// PAddressView is P_CREDITOR_ADDRESS or P_ALTERNATE_SENDER; Address holds
// P_ADDRESS_1 to P_ADDRESS_3, when filled.
type PAddressView struct {
	Name    string   `json:"name"`
	Address []string `json:"address"`
}

// DirectDebitView is DIRECT_DEBIT.
type DirectDebitView struct {
	Type         string `json:"type"`
	Currency     string `json:"currency"`
	Amount       string `json:"amount"`
	TransferDate string `json:"transfer_date"`
	RegNo        string `json:"reg_no"`
	AccountNo    string `json:"account_no"`
}

// FactoringView is FACTORING_INFO.
type FactoringView struct {
	Name  string `json:"name"`
	CVRNo string `json:"cvr_no"`
	Text  string `json:"text"`
}

// FinalCustomerCPR is the FINAL_CUSTOMER_TYPE of a final customer
// identified by CPR number.
const FinalCustomerCPR = "CPR"

// HasCPR reports whether inv names a final customer by CPR number.
func HasCPR(inv *efaktura.Invoice) bool {
	for _, l := range inv.Lines {
		if l.FinalCustomerType == FinalCustomerCPR && l.FinalCustomer != "" {
			return true
		}
	}
	return false
}

// NewInvoiceView returns the view of document id, inv; with CPR numbers
// masked unless reveal.
func NewInvoiceView(id string, inv *efaktura.Invoice, reveal bool) *InvoiceView {
	// holds says whether any value is a CPR number, so that a reveal of a
	// number in free text is recorded as one of a final customer's is.
	holds := HasCPR(inv)
	t := func(s string) string {
		m := cpr.Mask(s)
		holds = holds || m != s
		if reveal {
			return s
		}
		return m
	}
	amount := func(s string) string { return t(strings.Replace(s, ",", ".", 1)) }
	texts := func(ss ...string) []string {
		out := []string{}
		for _, s := range ss {
			if s != "" {
				out = append(out, t(s))
			}
		}
		return out
	}
	party := func(p efaktura.Party, idType, id string) PartyView {
		return PartyView{
			IDType: t(idType), ID: t(id), Name: t(p.Name1), Name2: t(p.Name2),
			Address:  texts(p.Address.Address1, p.Address.Address2),
			PostCode: t(p.Address.PostCode), City: t(p.Address.City), Country: t(p.Address.CountryCode),
		}
	}
	optParty := func(p *efaktura.Party) *PartyView {
		if p == nil {
			return nil
		}
		v := party(*p, "", "")
		return &v
	}
	pAddress := func(a *efaktura.PAddress) *PAddressView {
		if a == nil {
			return nil
		}
		return &PAddressView{Name: t(a.Name), Address: texts(a.Address1, a.Address2, a.Address3)}
	}
	h := inv.Header
	v := &InvoiceView{
		DocumentID:         id,
		DocumentType:       t(inv.Head.DocumentType),
		DocumentNo:         t(inv.Head.DocumentNo),
		DocumentDate:       t(inv.Head.DocumentDate),
		Currency:           t(inv.CurrencyCode),
		ExternalDocumentNo: t(inv.Head.ExternalDocumentNo),
		OriginalDocumentNo: t(inv.Head.OriginalDocumentNo),
		AccountCode:        t(inv.Head.AccountCode),
		ReceiptNo:          t(h.ReceiptNo),
		Header: HeaderView{
			Version: t(h.Version), PaymentMeansVersion: t(h.PaymentMeansVersion), FactoringVersion: t(h.FactoringVersion),
			SenderIDType: t(h.SenderIDType), SenderID: t(h.SenderID), ReceiverIDType: t(h.ReceiverIDType), ReceiverID: t(h.ReceiverID),
			Checksum: amount(h.Checksum),
		},
		BilledFrom: party(inv.BilledFrom, h.SenderIDType, h.SenderID),
		BillTo:     party(inv.BillTo, h.ReceiverIDType, h.ReceiverID),
		ShipTo:     optParty(inv.ShipTo),
		SoldFrom:   optParty(inv.SoldFrom),
		SellTo:     optParty(inv.SellTo),
		Lines:      make([]LineView, 0, len(inv.Lines)),
		Totals: TotalsView{
			TotalLineAmount:           amount(inv.Totals.TotalLineAmount),
			InvoiceDiscountAmount:     amount(inv.Totals.InvoiceDiscountAmount),
			InvoiceDiscountVATPercent: amount(inv.Totals.InvoiceDiscountVATPercent),
			TotalChargeAmount:         amount(inv.Totals.TotalChargeAmount),
			TotalAmountExclVAT:        amount(inv.Totals.TotalAmountExclVAT),
			VATBaseAmount:             amount(inv.Totals.VATBaseAmount),
			TotalVATAmount:            amount(inv.Totals.TotalVATAmount),
			TotalAmountInclVAT:        amount(inv.Totals.TotalAmountInclVAT),
			Charges:                   make([]ChargeView, 0, len(inv.Totals.Charges)),
		},
		Payment: PaymentView{Type: t(inv.Payment.PaymentType)},
	}
	if inv.Remark != nil {
		v.Remarks = texts(inv.Remark.Texts...)
	}
	for _, l := range inv.Lines {
		lv := LineView{
			Description: texts(l.Description1, l.Description2),
			Quantity:    amount(l.Quantity), Unit: t(l.UnitOfMeasure), QtyPerUnit: amount(l.QtyPerUnitOfMeasure),
			UnitPrice: amount(l.UnitPrice), AccountCode: t(l.AccountCode), OrderNo: t(l.OrderNo),
		}
		lv.LineNo, _ = strconv.Atoi(l.LineNo)
		if it := l.Item; it != nil {
			lv.ItemNo, lv.BuyerItemNo, lv.EANItemNo = t(it.ItemNo), t(it.BuyerItemNo), t(it.EANItemNo)
		}
		if a := l.Amount; a != nil {
			lv.LineDiscountAmount, lv.NetPrice = amount(a.LineDiscountAmount), amount(a.NetPrice)
			lv.VATPercent, lv.VATAmount, lv.AmountInclVAT = amount(a.VATPercent), amount(a.VATAmount), amount(a.AmountInclVAT)
		}
		if l.FinalCustomerType != "" || l.FinalCustomer != "" {
			lv.FinalCustomer = &FinalCustomerView{Type: t(l.FinalCustomerType), ID: t(l.FinalCustomer)}
			if l.FinalCustomerType == FinalCustomerCPR && !reveal {
				lv.FinalCustomer.ID = maskCPR(l.FinalCustomer)
			}
		}
		v.Lines = append(v.Lines, lv)
	}
	if pt := inv.PaymentTerms; pt != nil {
		v.PaymentTerms = &PaymentTermsView{DueDate: t(pt.DueDate), Text: t(pt.Text)}
		v.DueDate = v.PaymentTerms.DueDate
	}
	if dt := inv.DeliveryTerms; dt != nil {
		v.Delivery = &DeliveryView{Date: t(dt.DeliveryDate), Text: t(dt.Text)}
	}
	for _, c := range inv.Totals.Charges {
		v.Totals.Charges = append(v.Totals.Charges, ChargeView{Text: t(c.Text), Amount: amount(c.Amount), VATPercent: amount(c.VATPercent)})
	}
	if f := inv.Payment.FIK; f != nil {
		v.Payment.FIK = &FIKView{
			CardType: t(f.CardType), FIKNo: t(f.FIKNo), CreditorNo: t(f.CreditorNo),
			CreditorAddress: pAddress(f.CreditorAddress), AlternateSender: pAddress(f.AlternateSender),
		}
		if f.Message != nil {
			v.Payment.FIK.Message = texts(f.Message.Texts...)
		}
	}
	if dd := inv.Payment.DirectDebit; dd != nil {
		v.Payment.DirectDebit = &DirectDebitView{
			Type: t(dd.Type), Currency: t(dd.CurrencyCode), Amount: amount(dd.Amount),
			TransferDate: t(dd.TransferDate), RegNo: t(dd.RegNo), AccountNo: t(dd.AccountNo),
		}
	}
	if f := inv.Factoring; f != nil {
		v.Factoring = &FactoringView{Name: t(f.Name), CVRNo: t(f.CVRNo), Text: t(f.Text)}
	}
	v.CPRRevealed = reveal && holds
	v.CPRMasked = !reveal && holds
	return v
}

// maskCPR masks a final customer's CPR number as its first six digits
// (the date of birth) and "-****"; a value that does not start with six
// digits is masked whole.
func maskCPR(s string) string {
	if len(s) < 6 {
		return "****"
	}
	for i := range 6 {
		if s[i] < '0' || s[i] > '9' {
			return "****"
		}
	}
	return s[:6] + "-****"
}
