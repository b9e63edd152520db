package efaktura

// This file is a typed model of a bundle for [Write]. It mirrors the element
// table (data/efaktura-2.1.0-elements.csv) exactly: one type per group, one
// field per child, in table order.
//
// Leaf values are strings holding the decoded text as it will be written
// (the writer escapes it), so any value can be written, even an invalid one:
// amounts are strings in comma form such as "1450,00", dates are
// "YYYY-MM-DD". Optional groups (N=0..1) are pointers and are written when
// not nil; repeated elements are slices. Leaves with N=1 are always written,
// as <TAG/> when empty; optional leaves (N=0..1) are left out when empty.

// Bundle is one file: the INVOICES root element. The writer computes
// TOTAL_DOCUMENT_CHECKSUM and NO_OF_DOCUMENTS, so they are not fields.
type Bundle struct {
	// Reference is INVOICES/REFERENCE, the sender's reference of the bundle.
	Reference string
	// Documents are the DOCUMENT elements, 1 to 1000 in a valid bundle.
	Documents []Invoice
}

// Invoice is one DOCUMENT: an invoice, credit note or reminder, as
// Head.DocumentType says.
type Invoice struct {
	// Header is HEADER.
	Header Header
	// Head is DOCUMENT_HEAD.
	Head DocumentHead
	// Remark is REMARK, written when not nil.
	Remark *Remark
	// BilledFrom is BILLED_FROM, the issuer.
	BilledFrom Party
	// SoldFrom is SOLD_FROM, written when not nil.
	SoldFrom *Party
	// SellTo is SELL_TO, written when not nil.
	SellTo *Party
	// BillTo is BILL_TO, the recipient; its Name1 enters the checksum.
	BillTo Party
	// ShipTo is SHIP_TO, written when not nil.
	ShipTo *Party
	// CurrencyCode is CURRENCY/CURRENCY_CODE, e.g. "DKK".
	CurrencyCode string
	// Lines are the LINE elements, 1 to 9999 in a valid document.
	Lines []Line
	// PaymentTerms is PAYMENT_TERMS, written when not nil.
	PaymentTerms *PaymentTerms
	// Totals is TOTALAMOUNT.
	Totals Totals
	// DeliveryTerms is DELIVERY_TERMS, written when not nil.
	DeliveryTerms *DeliveryTerms
	// Payment is PAYMENT_MEANS.
	Payment PaymentMeans
	// Factoring is FACTORING_INFO, written when not nil.
	Factoring *Factoring
}

// Header is DOCUMENT/HEADER.
type Header struct {
	// Version is VERSION, "2.1.0".
	Version string
	// PaymentMeansVersion is PAYMENT_MEANS_VERSION, "2.1.0".
	PaymentMeansVersion string
	// FactoringVersion is FACTORING_VERSION: "2.0.0" with FACTORING_INFO,
	// otherwise empty. Always written.
	FactoringVersion string
	// SenderIDType is SENDER_ID_TYPE, "CVR" or "EAN".
	SenderIDType string
	// SenderID is SENDER_ID.
	SenderID string
	// ReceiverIDType is RECEIVER_ID_TYPE, "CVR", "EAN" or "CUS".
	ReceiverIDType string
	// ReceiverID is RECEIVER_ID.
	ReceiverID string
	// ReceiptTo is RECEIPT_TO, which must be empty. Always written.
	ReceiptTo string
	// ReceiptNo is RECEIPT_NO, unique per sender.
	ReceiptNo string
	// Checksum is CHECKSUM. When empty, [Write] computes it (section 6);
	// when set, it is written verbatim, right or wrong.
	Checksum string
}

// DocumentHead is DOCUMENT/DOCUMENT_HEAD.
type DocumentHead struct {
	// DocumentType is DOCUMENT_TYPE: "INVOICE", "CREDIT_NOTE" or "REMINDER".
	DocumentType string
	// DocumentNo is DOCUMENT_NO.
	DocumentNo string
	// DocumentDate is DOCUMENT_DATE, "YYYY-MM-DD".
	DocumentDate string
	// OriginalDocumentNo is ORIGINAL_DOCUMENT_NO, for a credit note or a
	// reminder; omitted when empty.
	OriginalDocumentNo string
	// ExternalDocumentNo is EXTERNAL_DOCUMENT_NO; omitted when empty.
	ExternalDocumentNo string
	// AccountCode is ACCOUNT_CODE; omitted when empty.
	AccountCode string
}

// Remark is DOCUMENT/REMARK.
type Remark struct {
	// Texts are the REMARK_TXT lines, 1 to 10 in a valid document.
	Texts []string
}

// Party is one of the party blocks BILLED_FROM, SOLD_FROM, SELL_TO, BILL_TO
// and SHIP_TO.
type Party struct {
	// Name1 is NAME_1.
	Name1 string
	// Name2 is NAME_2; omitted when empty.
	Name2 string
	// Address is ADDRESS.
	Address Address
}

// Address is the ADDRESS of a party block.
type Address struct {
	// Address1 is ADDRESS_1.
	Address1 string
	// Address2 is ADDRESS_2; omitted when empty.
	Address2 string
	// PostCode is POST_CODE. Always written.
	PostCode string
	// City is CITY.
	City string
	// CountryCode is COUNTRY_CODE, e.g. "DK".
	CountryCode string
}

// Line is one DOCUMENT/LINE.
type Line struct {
	// LineNo is LINE_NO.
	LineNo string
	// Item is ITEM_INFO, written when not nil.
	Item *ItemInfo
	// Description1 is DESCRIPTION_1.
	Description1 string
	// Description2 is DESCRIPTION_2; omitted when empty.
	Description2 string
	// Quantity is QUANTITY; omitted when empty (a lump-sum or text line).
	Quantity string
	// UnitOfMeasure is UNIT_OF_MEASURE; omitted when empty.
	UnitOfMeasure string
	// QtyPerUnitOfMeasure is QTY_PER_UNIT_OF_MEASURE; omitted when empty.
	QtyPerUnitOfMeasure string
	// UnitPrice is UNIT_PRICE; omitted when empty.
	UnitPrice string
	// Amount is AMOUNT, written when not nil; its NetPrice enters the
	// checksum.
	Amount *LineAmount
	// AccountCode is ACCOUNT_CODE; omitted when empty.
	AccountCode string
	// FinalCustomerType is FINAL_CUSTOMER_TYPE; omitted when empty.
	FinalCustomerType string
	// FinalCustomer is FINAL_CUSTOMER; omitted when empty.
	FinalCustomer string
	// OrderNo is ORDER_NO; omitted when empty.
	OrderNo string
}

// ItemInfo is LINE/ITEM_INFO.
type ItemInfo struct {
	// ItemNo is ITEM_NO; omitted when empty.
	ItemNo string
	// BuyerItemNo is BUYER_ITEM_NO; omitted when empty.
	BuyerItemNo string
	// EANItemNo is EAN_ITEM_NO; omitted when empty.
	EANItemNo string
}

// LineAmount is LINE/AMOUNT.
type LineAmount struct {
	// LineDiscountAmount is LINE_DISCOUNT_AMOUNT; omitted when empty.
	LineDiscountAmount string
	// NetPrice is NET_PRICE, the line amount excl. VAT after discount.
	NetPrice string
	// VATPercent is VAT_PERCENT, "25,00" or "0,00".
	VATPercent string
	// VATAmount is VAT_AMOUNT.
	VATAmount string
	// AmountInclVAT is AMOUNT_INCL_VAT.
	AmountInclVAT string
}

// PaymentTerms is DOCUMENT/PAYMENT_TERMS.
type PaymentTerms struct {
	// DueDate is DUE_DATE, "YYYY-MM-DD".
	DueDate string
	// Text is PAYMENT_TERMS_TXT; omitted when empty.
	Text string
}

// Totals is DOCUMENT/TOTALAMOUNT (section 8).
type Totals struct {
	// TotalLineAmount is TOTAL_LINE_AMOUNT.
	TotalLineAmount string
	// InvoiceDiscountAmount is INVOICE_DISCOUNT_AMOUNT; omitted when empty.
	InvoiceDiscountAmount string
	// InvoiceDiscountVATPercent is INVOICE_DISCOUNT_VAT_PERCENT; omitted
	// when empty.
	InvoiceDiscountVATPercent string
	// TotalChargeAmount is TOTAL_CHARGE_AMOUNT.
	TotalChargeAmount string
	// TotalAmountExclVAT is TOTAL_AMOUNT_EXCL_VAT.
	TotalAmountExclVAT string
	// VATBaseAmount is VAT_BASE_AMOUNT.
	VATBaseAmount string
	// TotalVATAmount is TOTAL_VAT_AMOUNT.
	TotalVATAmount string
	// TotalAmountInclVAT is TOTAL_AMOUNT_INCL_VAT.
	TotalAmountInclVAT string
	// Charges are the CHARGE elements, 0 to 99.
	Charges []Charge
}

// Charge is TOTALAMOUNT/CHARGE.
type Charge struct {
	// Text is CHARGE_TXT, e.g. "Fragt".
	Text string
	// Amount is CHARGE_AMOUNT, excl. VAT.
	Amount string
	// VATPercent is CHARGE_VAT_PERCENT, "25,00" or "0,00".
	VATPercent string
}

// DeliveryTerms is DOCUMENT/DELIVERY_TERMS.
type DeliveryTerms struct {
	// DeliveryDate is DELIVERY_DATE, "YYYY-MM-DD".
	DeliveryDate string
	// Text is DELIVERY_TERMS_TXT; omitted when empty.
	Text string
}

// PaymentMeans is DOCUMENT/PAYMENT_MEANS.
type PaymentMeans struct {
	// PaymentType is PAYMENT_TYPE, "FIK" or "DIRECT_DEBIT".
	PaymentType string
	// FIK is FIK, written when not nil.
	FIK *FIK
	// DirectDebit is DIRECT_DEBIT, written when not nil.
	DirectDebit *DirectDebit
}

// FIK is PAYMENT_MEANS/FIK, the FI payment slip.
type FIK struct {
	// CardType is P_CARD_TYPE, "71", "73" or "75".
	CardType string
	// FIKNo is P_FIK_NO, the payment id with its check digit (empty for
	// card type 73). Always written; it enters the checksum when
	// PaymentType is "FIK".
	FIKNo string
	// CreditorNo is P_CREDITOR_NO, 8 digits.
	CreditorNo string
	// Message is P_MESSAGE, written when not nil.
	Message *PMessage
	// CreditorAddress is P_CREDITOR_ADDRESS, written when not nil.
	CreditorAddress *PAddress
	// AlternateSender is P_ALTERNATE_SENDER, written when not nil.
	AlternateSender *PAddress
}

// PMessage is FIK/P_MESSAGE.
type PMessage struct {
	// Texts are the P_MESSAGE_TXT lines, 1 to 10 in a valid document.
	Texts []string
}

// PAddress is FIK/P_CREDITOR_ADDRESS or FIK/P_ALTERNATE_SENDER.
type PAddress struct {
	// Name is P_NAME.
	Name string
	// Address1 is P_ADDRESS_1.
	Address1 string
	// Address2 is P_ADDRESS_2; omitted when empty.
	Address2 string
	// Address3 is P_ADDRESS_3; omitted when empty.
	Address3 string
}

// DirectDebit is PAYMENT_MEANS/DIRECT_DEBIT.
type DirectDebit struct {
	// Type is P_DIRECT_DEBIT_TYPE: "BS", "LS", "PBS" or "OTHER".
	Type string
	// CurrencyCode is P_CURRENCY_CODE.
	CurrencyCode string
	// Amount is P_AMOUNT, Decimal 20.2.
	Amount string
	// TransferDate is P_TRANSFER_DATE, a bank day, "YYYY-MM-DD".
	TransferDate string
	// RegNo is P_REG_NO.
	RegNo string
	// AccountNo is P_ACCOUNT_NO.
	AccountNo string
}

// Factoring is DOCUMENT/FACTORING_INFO.
type Factoring struct {
	// Name is FACTORING_NAME.
	Name string
	// CVRNo is FACTORING_CVR_NO, 8 digits.
	CVRNo string
	// Text is FACTORING_TXT, the assignment text.
	Text string
}
