package efaktura

import (
	"fmt"
	"strings"
)

// RuleInfo describes one rule of the format: its stable id, what it
// requires in Danish and English, and the Peppol reason code an automatic
// rejection under it carries.
type RuleInfo struct {
	ID string // "V01" to "V51"
	// Reason is the closest Peppol invoice response status clarification
	// reason code (OpenPEPPOL code list OPStatusReason): REF, LEG, REC, PRI,
	// ITM, PAY, FIN, UNR or OTH.
	Reason string
	DA, EN string // what the rule requires, one sentence each
	// Why says, in English, why Reason is the closest code.
	Why string
}

// ruleTable is the one table of the rules: the documentation
// (docs/findings.md, kept in step by a test), [ReasonCode] and the answer's
// structured reasons all read it.
var ruleTable = []RuleInfo{
	{"V01", "UNR", "Filen overholder størrelsesgrænserne: højst 45 MB som XML, højst 100 MB som ZIP-arkiv med én XML-fil.",
		"The file keeps to the size limits: at most 45 MB as XML, at most 100 MB as a ZIP archive holding one XML file.",
		"the file cannot be taken in as a bundle at all"},
	{"V02", "UNR", "Filen er velformet XML 1.0 uden DOCTYPE-erklæring.",
		"The file is well-formed XML 1.0 without a DOCTYPE declaration.",
		"the file cannot be read as a bundle"},
	{"V03", "UNR", `Filen begynder med XML-erklæringen <?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?> uden BOM eller blanktegn foran.`,
		`The file starts with the XML declaration <?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>, with no BOM or white space before it.`,
		"the file cannot be read as a bundle"},
	{"V04", "UNR", "Ingen værdi indeholder kontroltegn; TAB, CR og LF forekommer kun som indrykning mellem elementer.",
		"No value holds a control character; TAB, CR and LF occur only as indentation between elements.",
		"the file cannot be read as intended, often a wrong encoding"},
	{"V05", "UNR", "Filen har ingen behandlingsinstruktioner (leveringsprofilen tillader ét xml-stylesheet lige efter erklæringen).",
		"The file has no processing instructions (the delivered profile allows one xml-stylesheet right after the declaration).",
		"the file is not an e-faktura bundle as specified"},
	{"V06", "UNR", "Rodelementet er INVOICES uden navnerum med præcis attributterne xmlns:xsi og xsi:noNamespaceSchemaLocation.",
		"The root element is INVOICES, in no namespace, with exactly the attributes xmlns:xsi and xsi:noNamespaceSchemaLocation.",
		"the file is not an e-faktura bundle"},
	{"V07", "UNR", "INVOICES indeholder præcis REFERENCE, 1 til 1000 DOCUMENT, TOTAL_DOCUMENT_CHECKSUM og NO_OF_DOCUMENTS i denne rækkefølge med gyldige værdier.",
		"INVOICES holds exactly REFERENCE, 1 to 1000 DOCUMENTs, TOTAL_DOCUMENT_CHECKSUM and NO_OF_DOCUMENTS, in this order, with valid values.",
		"the bundle's envelope is not recognised"},
	{"V08", "UNR", "NO_OF_DOCUMENTS er 1 til 4 cifre og lig med antallet af DOCUMENT-elementer.",
		"NO_OF_DOCUMENTS is 1 to 4 digits and equals the number of DOCUMENT elements.",
		"the bundle does not add up, so it is not recognised as sent"},
	{"V09", "UNR", "TOTAL_DOCUMENT_CHECKSUM er summen af de CHECKSUM-værdier, der står i dokumenterne.",
		"TOTAL_DOCUMENT_CHECKSUM is the sum of the CHECKSUM values written in the documents.",
		"the bundle does not add up, so it is not recognised as sent"},
	{"V10", "REF", "Samme serviceudbyder, afsender og REFERENCE er ikke modtaget før i samme kalenderår.",
		"The same service provider, sender and REFERENCE were not accepted before in the same calendar year.",
		"the bundle's REFERENCE was used already"},
	{"V11", "UNR", "Dokumentets elementer er defineret i formatet, står i formatets rækkefølge, forekommer højst det tilladte antal gange og har ingen attributter.",
		"The document's elements are defined by the format, stand in its order, occur no more often than allowed and have no attributes.",
		"the document's structure is not the format's"},
	{"V12", "OTH", "Et obligatorisk element (M) er til stede og udfyldt.",
		"A mandatory element (M) is present and filled.",
		"a format rule with no Peppol counterpart; rule and path say what"},
	{"V13", "OTH", "Et betinget element (C) med N=1 er til stede; dets indhold er tomt eller gyldigt.",
		"A conditional element (C) with N=1 is present; its content is empty or valid.",
		"a format rule with no Peppol counterpart"},
	{"V14", "OTH", "Et afhængigt element (D) er udfyldt, når det element, det afhænger af, er udfyldt.",
		"A dependent element (D) is filled when the element it depends on is filled.",
		"a format rule with no Peppol counterpart"},
	{"V15", "OTH", "Et værdiafhængigt element (D) er udfyldt, når betingelsen gælder, og ellers fraværende eller tomt.",
		"A value-dependent element (D) is filled when its condition holds, and absent or empty otherwise.",
		"a format rule with no Peppol counterpart"},
	{"V16", "OTH", "Et underniveau, der er til stede, har sine obligatoriske elementer udfyldt.",
		"A sub-level that is present has its mandatory elements filled.",
		"a format rule with no Peppol counterpart"},
	{"V17", "OTH", "En tekstværdi har højst den tilladte længde.",
		"A text value is no longer than allowed.",
		"a format rule with no Peppol counterpart"},
	{"V18", "OTH", "Et decimaltal er skrevet med cifre, højst ét decimalkomma og det tilladte antal decimaler, uden fortegn.",
		"A decimal is written in digits with at most one decimal comma and the allowed number of decimals, without a sign.",
		"a format rule with no Peppol counterpart"},
	{"V19", "OTH", "En dato er en gyldig dato skrevet ÅÅÅÅ-MM-DD.",
		"A date is a calendar date written YYYY-MM-DD.",
		"a format rule with no Peppol counterpart"},
	{"V20", "OTH", "En værdi består ikke kun af mellemrum (undtagen LINE/DESCRIPTION_1).",
		"A value does not consist of spaces only (except LINE/DESCRIPTION_1).",
		"a format rule with no Peppol counterpart"},
	{"V21", "OTH", "En værdi fra en valgtabel er en af tabellens værdier, præcis som skrevet.",
		"A value from a choice table is one of the table's values, exactly as written.",
		"a format rule with no Peppol counterpart"},
	{"V22", "UNR", "HEADER/VERSION og PAYMENT_MEANS_VERSION er 2.1.0, og FACTORING_VERSION er 2.0.0, når den er udfyldt.",
		"HEADER/VERSION and PAYMENT_MEANS_VERSION are 2.1.0, and FACTORING_VERSION is 2.0.0 when filled.",
		"another version of the format is not recognised"},
	{"V23", "OTH", "HEADER/RECEIPT_TO er til stede og tomt.",
		"HEADER/RECEIPT_TO is present and empty.",
		"a format rule with no Peppol counterpart"},
	{"V24", "UNR", "Afsenderen (SENDER_ID_TYPE og SENDER_ID) findes i afsenderregistret.",
		"The sender (SENDER_ID_TYPE and SENDER_ID) is in the sender register.",
		"the sender is not recognised"},
	{"V25", "LEG", "SENDER_ID og RECEIVER_ID har typens format (CVR 8 cifre, EAN 13 cifre), og FACTORING_CVR_NO er 8 cifre.",
		"SENDER_ID and RECEIVER_ID have their type's format (CVR 8 digits, EAN 13 digits), and FACTORING_CVR_NO is 8 digits.",
		"the parties' legal identifiers are wrong"},
	{"V26", "OTH", "HEADER/CHECKSUM er lig med kontrolsummen beregnet af BILL_TO/NAME_1, P_FIK_NO og summen af NET_PRICE.",
		"HEADER/CHECKSUM equals the checksum computed from BILL_TO/NAME_1, P_FIK_NO and the sum of NET_PRICE.",
		"an integrity check of the format, no Peppol counterpart"},
	{"V27", "LEG", "Hver COUNTRY_CODE er en landekode efter ISO 3166-1 alpha-2.",
		"Every COUNTRY_CODE is an ISO 3166-1 alpha-2 country code.",
		"a party's address, legal information, is wrong"},
	{"V28", "FIN", "CURRENCY_CODE og P_CURRENCY_CODE er valutakoder efter ISO 4217 med store bogstaver.",
		"CURRENCY_CODE and P_CURRENCY_CODE are ISO 4217 currency codes in upper case.",
		"the currency, a finance term, is wrong"},
	{"V29", "REC", "BILL_TO/ADDRESS/COUNTRY_CODE er DK.",
		"BILL_TO/ADDRESS/COUNTRY_CODE is DK.",
		"the receiver named is not the Danish public body the invoice must be for"},
	{"V30", "PAY", "Har en part et andet land end DK, er PAYMENT_TYPE DIRECT_DEBIT og P_DIRECT_DEBIT_TYPE OTHER.",
		"When any party's country is not DK, PAYMENT_TYPE is DIRECT_DEBIT and P_DIRECT_DEBIT_TYPE is OTHER.",
		"the payment means do not fit a foreign party"},
	{"V31", "LEG", "I en adresse med landekoden DK er POST_CODE et dansk postnummer på 4 cifre.",
		"In an address with country DK, POST_CODE is a Danish postal code of 4 digits.",
		"a party's address, legal information, is wrong"},
	{"V32", "LEG", "VAT_PERCENT, CHARGE_VAT_PERCENT og INVOICE_DISCOUNT_VAT_PERCENT er 0 eller 25.",
		"VAT_PERCENT, CHARGE_VAT_PERCENT and INVOICE_DISCOUNT_VAT_PERCENT are 0 or 25.",
		"the VAT rate, legal information, is wrong"},
	{"V33", "PRI", "En linjes VAT_AMOUNT og AMOUNT_INCL_VAT stemmer med NET_PRICE og VAT_PERCENT (afvigelse højst 0,50).",
		"A line's VAT_AMOUNT and AMOUNT_INCL_VAT agree with NET_PRICE and VAT_PERCENT (within 0,50).",
		"the line's amounts are wrong"},
	{"V34", "PRI", "En linjes NET_PRICE er QUANTITY x UNIT_PRICE - LINE_DISCOUNT_AMOUNT (afvigelse højst 0,50).",
		"A line's NET_PRICE is QUANTITY x UNIT_PRICE - LINE_DISCOUNT_AMOUNT (within 0,50).",
		"the line's price is wrong"},
	{"V35", "PRI", "TOTAL_LINE_AMOUNT er summen af linjernes NET_PRICE (afvigelse højst 0,50).",
		"TOTAL_LINE_AMOUNT is the sum of the lines' NET_PRICE (within 0,50).",
		"a total is wrong"},
	{"V36", "PRI", "TOTAL_CHARGE_AMOUNT er summen af CHARGE_AMOUNT (afvigelse højst 0,50).",
		"TOTAL_CHARGE_AMOUNT is the sum of CHARGE_AMOUNT (within 0,50).",
		"a total is wrong"},
	{"V37", "PRI", "TOTAL_AMOUNT_EXCL_VAT er linjer plus gebyrer minus fakturarabat (afvigelse højst 0,50).",
		"TOTAL_AMOUNT_EXCL_VAT is lines plus charges less the invoice discount (within 0,50).",
		"a total is wrong"},
	{"V38", "PRI", "VAT_BASE_AMOUNT er momsgrundlaget: linjer og gebyrer med 25 % moms fratrukket rabat med 25 % moms (afvigelse højst 0,50).",
		"VAT_BASE_AMOUNT is the VAT base: lines and charges at 25 % less a discount at 25 % (within 0,50).",
		"a total is wrong"},
	{"V39", "PRI", "TOTAL_VAT_AMOUNT er 25 % af momsgrundlaget (afvigelse højst 0,50).",
		"TOTAL_VAT_AMOUNT is 25 % of the VAT base (within 0,50).",
		"a total is wrong"},
	{"V40", "PRI", "TOTAL_AMOUNT_INCL_VAT er TOTAL_AMOUNT_EXCL_VAT plus TOTAL_VAT_AMOUNT (afvigelse højst 0,50).",
		"TOTAL_AMOUNT_INCL_VAT is TOTAL_AMOUNT_EXCL_VAT plus TOTAL_VAT_AMOUNT (within 0,50).",
		"a total is wrong"},
	{"V41", "PAY", "Ved DIRECT_DEBIT i dokumentets valuta er P_AMOUNT lig med TOTAL_AMOUNT_INCL_VAT (afvigelse højst 0,50).",
		"With DIRECT_DEBIT in the document's currency, P_AMOUNT equals TOTAL_AMOUNT_INCL_VAT (within 0,50).",
		"the amount to pay is wrong"},
	{"V42", "ITM", "En linje med QUANTITY og NET_PRICE har ITEM_NO, BUYER_ITEM_NO eller EAN_ITEM_NO.",
		"A line with QUANTITY and NET_PRICE has ITEM_NO, BUYER_ITEM_NO or EAN_ITEM_NO.",
		"the item is not identified"},
	{"V43", "PAY", "P_FIK_NO har korttypens længde (71: 15 cifre, 75: 16 cifre) og et gyldigt kontrolciffer efter modulus 10.",
		"P_FIK_NO has its card type's length (71: 15 digits, 75: 16 digits) and a valid modulus-10 check digit.",
		"the payment id is wrong"},
	{"V44", "PAY", "P_CREDITOR_NO er præcis 8 cifre.",
		"P_CREDITOR_NO is exactly 8 digits.",
		"the creditor number for payment is wrong"},
	{"V45", "PAY", "P_MESSAGE forekommer kun med korttype 73 eller 75.",
		"P_MESSAGE occurs only with card type 73 or 75.",
		"the payment message does not fit the card type"},
	{"V46", "PAY", "P_TRANSFER_DATE er en dansk bankdag.",
		"P_TRANSFER_DATE is a Danish bank day.",
		"the payment date is wrong"},
	{"V47", "PAY", "Ved BS, LS og PBS er P_REG_NO 4 cifre og P_ACCOUNT_NO 1 til 10 cifre.",
		"With BS, LS and PBS, P_REG_NO is 4 digits and P_ACCOUNT_NO 1 to 10 digits.",
		"the account to pay from is wrong"},
	{"V48", "PAY", "P_DIRECT_DEBIT_TYPE PBS bruges kun af afsendere, der er markeret som Nets i afsenderregistret.",
		"P_DIRECT_DEBIT_TYPE PBS is used only by senders flagged as Nets in the sender register.",
		"the payment means are not the sender's to use"},
	{"V49", "REF", "FINAL_CUSTOMER_TYPE og FINAL_CUSTOMER er begge udfyldt eller begge tomme, og FINAL_CUSTOMER har typens format.",
		"FINAL_CUSTOMER_TYPE and FINAL_CUSTOMER are both filled or both empty, and FINAL_CUSTOMER has its type's format.",
		"the reference to the final customer is wrong"},
	{"V50", "REF", "Er ACCOUNT_CODE i DOCUMENT_HEAD Linjespecificeret, har hver linje med NET_PRICE en ACCOUNT_CODE.",
		"When DOCUMENT_HEAD/ACCOUNT_CODE is Linjespecificeret, every line with a NET_PRICE has an ACCOUNT_CODE.",
		"the accounting reference is missing"},
	{"V51", "REF", "Kombinationen af SENDER_ID_TYPE, SENDER_ID og RECEIPT_NO er entydig i forsendelsen.",
		"The combination of SENDER_ID_TYPE, SENDER_ID and RECEIPT_NO is unique within the bundle.",
		"the document's reference is used twice"},
}

var ruleIndex = func() map[string]int {
	m := make(map[string]int, len(ruleTable))
	for i, r := range ruleTable {
		m[r.ID] = i
	}
	return m
}()

// Rules returns every rule, V01 to V51, in order.
func Rules() []RuleInfo { return append([]RuleInfo(nil), ruleTable...) }

// Rule returns the rule with the given id.
func Rule(id string) (RuleInfo, bool) {
	i, ok := ruleIndex[id]
	if !ok {
		return RuleInfo{}, false
	}
	return ruleTable[i], true
}

// ReasonCode returns the Peppol clarification reason code for a finding of
// rule id: the closest of REF, LEG, REC, PRI, ITM, PAY, FIN, UNR, and OTH for a
// rule with no counterpart or an unknown id.
func ReasonCode(id string) string {
	if r, ok := Rule(id); ok {
		return r.Reason
	}
	return "OTH"
}

// RulesMarkdown renders the rule table as Markdown: id, reason code, the
// rule in Danish and English, and why the code. docs/findings.md holds it.
func RulesMarkdown() string {
	var b strings.Builder
	b.WriteString("| Rule | Code | Regel (dansk) | Rule (English) | Why this code |\n| --- | --- | --- | --- | --- |\n")
	for _, r := range ruleTable {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.ID, r.Reason, mdCell(r.DA), mdCell(r.EN), mdCell(r.Why))
	}
	return b.String()
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}
