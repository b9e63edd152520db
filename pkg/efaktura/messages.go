package efaktura

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kp-efaktura/efaktura/pkg/cpr"
)

// A message is one text of the catalogue in Danish and English: fmt formats
// whose verbs (always %v, indexed where the word order differs) take the
// arguments of the report. Danish messages are whole sentences in the formal
// register of Danish public-sector error texts; English ones keep the terse
// form "what was found; what was expected" that the findings always had.
type message struct{ da, en string }

// expectedDecl is what V03 wants at the start of a file.
const expectedDecl = `<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>`

// messages is the catalogue, by key. A key names its rule ("V26") or a
// variant of it ("V43.check"); a finding's rule is usually the key's, but the
// value and sequence messages of V11 and V17 to V28 are reported under V07
// for INVOICES' own children, and "internal" under whichever rule failed.
var messages = map[string]message{
	"internal": {
		"Regel %v kunne ikke udføres på grund af en intern fejl; dokumentet kan ikke godkendes, før den kan.",
		"rule %v could not run because of an internal error; the document cannot be accepted until it can"},

	"V01.zip_size": {
		"ZIP-filen er større end %v byte; den må højst fylde %v.",
		"the ZIP file is larger than %v bytes; expected at most %v"},
	"V01.zip_unreadable": {
		"Filen begynder som et ZIP-arkiv, men kan ikke læses som et (%v); der forventes et ZIP-arkiv med én XML-fil.",
		"the file starts like a ZIP archive but cannot be read as one (%v); expected a ZIP archive holding one XML file"},
	"V01.zip_files": {
		"ZIP-arkivet indeholder %v; der forventes præcis én fil, nemlig XML-forsendelsen.",
		"the ZIP archive holds %v; expected exactly one file, the XML bundle"},
	"V01.zip_open": {
		"Filen i ZIP-arkivet kan ikke åbnes (%v); der forventes en fil, der er gemt ukomprimeret eller komprimeret med deflate.",
		"the file in the ZIP archive cannot be opened (%v); expected a stored or deflated file"},
	"V01.zip_damaged": {
		"ZIP-arkivet er beskadiget (%v); der forventes et læsbart ZIP-arkiv.",
		"the ZIP archive is damaged (%v); expected a readable ZIP archive"},
	"V01.xml_size": {
		"XML-filen er større end %v byte; den må højst fylde %v.",
		"the XML file is larger than %v bytes; expected at most %v"},
	"V01.unzipped_size": {
		"Filen i ZIP-arkivet fylder udpakket mere end %v, som er tjenestens grænse.",
		"the file in the ZIP archive expands to more than %v, this service's limit"},

	"V02.syntax": {
		"Filen er ikke velformet XML i linje %v, kolonne %v: %v (teknisk beskrivelse på engelsk).",
		"the file is not well-formed XML at line %v, column %v: %v"},
	"V02.no_root": {
		"Filen har intet rodelement; der forventes <INVOICES>.",
		"the file has no root element; expected <INVOICES>"},
	"V02.doctype": {
		"Filen har en DOCTYPE-erklæring i linje %v; DOCTYPE-erklæringer er ikke tilladt.",
		"the file has a DOCTYPE declaration at line %v; DOCTYPE declarations are not allowed"},

	"V03.empty": {
		"Filen er tom; den skal begynde med %v.",
		"the file is empty; expected %v as the very first bytes"},
	"V03.bom": {
		"Filen begynder med et byte order mark (BOM); den skal begynde med %v.",
		"the file starts with a byte-order mark; expected %v as the very first bytes"},
	"V03.space": {
		"Der står blanktegn før XML-erklæringen; filen skal begynde med %v.",
		"white space comes before the XML declaration; expected %v as the very first bytes"},
	"V03.malformed": {
		"Filen begynder ikke med en korrekt XML-erklæring; den skal begynde med %v.",
		"the file does not start with a well-formed XML declaration; expected %v as the very first bytes"},
	"V03.version": {
		`XML-erklæringen angiver version %v; der forventes "1.0".`,
		`the XML declaration says version %v; expected "1.0"`},
	"V03.standalone": {
		`XML-erklæringen har standalone=%v; der forventes standalone="yes".`,
		`the XML declaration has standalone=%v; expected standalone="yes"`},
	"V03.encoding": {
		`XML-erklæringen angiver tegnsættet %v; der forventes "ISO-8859-1".`,
		`the XML declaration names encoding %v; expected "ISO-8859-1"`},

	"V04.root_attr": {
		"Værdien af attributten %v indeholder et kontroltegn (TAB, CR, LF eller U+0000-U+001F, U+007F-U+009F); kun skrivbare tegn er tilladt.",
		"the value of attribute %v holds a control character (TAB, CR, LF or U+0000-U+001F, U+007F-U+009F); expected printable characters only"},
	"V04.attr": {
		"Værdien af attributten %v indeholder et kontroltegn; kun skrivbare tegn er tilladt.",
		"the value of attribute %v holds a control character; expected printable characters only"},
	"V04.value": {
		"Værdien af %v indeholder kontroltegnet %v; kun skrivbare tegn er tilladt (TAB, CR og LF kun som indrykning mellem elementer).",
		"%v holds the control character %v in its value; expected printable characters only (TAB, CR and LF only as indentation between elements)"},
	"V04.value_encoding": {
		"Værdien af %v indeholder kontroltegnet %v; kun skrivbare tegn er tilladt (TAB, CR og LF kun som indrykning mellem elementer). En UTF-8-fil, der er erklæret som ISO-8859-1, viser sine danske bogstaver som sådanne tegn, så kontrollér filens tegnsæt.",
		"%v holds the control character %v in its value; expected printable characters only (TAB, CR and LF only as indentation between elements); a UTF-8 file declared as ISO-8859-1 shows its Danish letters as such characters, so check the file's encoding"},

	"V05.other": {
		"Linje %v indeholder behandlingsinstruktionen <?%v?>; behandlingsinstruktioner er ikke tilladt.",
		"line %v has a processing instruction <?%v?>; no processing instructions are allowed"},
	"V05.sender": {
		"Linje %v indeholder en xml-stylesheet-behandlingsinstruktion; afsenderen må ikke tilføje den (e-fakturaknudepunktet tilføjer den ved levering).",
		"line %v has an xml-stylesheet processing instruction; a sender must not add one (the hub adds it on delivery)"},
	"V05.delivered": {
		"Linje %v indeholder en xml-stylesheet-behandlingsinstruktion; leveringsprofilen tillader kun én, umiddelbart efter XML-erklæringen.",
		"line %v has an xml-stylesheet processing instruction; the delivered profile allows one only, directly after the XML declaration"},

	"V06.root": {
		"Rodelementet er <%v>; der forventes <INVOICES>.",
		"the root element is <%v>; expected <INVOICES>"},
	"V06.xmlns": {
		"INVOICES erklærer standardnavnerummet %v; der må ikke være noget navnerum.",
		"INVOICES declares the default namespace %v; expected no namespace"},
	"V06.attr": {
		"INVOICES har attributten %v; kun xmlns:xsi og xsi:noNamespaceSchemaLocation er tilladt.",
		"INVOICES has attribute %v; expected only xmlns:xsi and xsi:noNamespaceSchemaLocation"},
	"V06.attr_value": {
		"Attributten %v på INVOICES er %v; der forventes %v.",
		"attribute %v of INVOICES is %v; expected %v"},
	"V06.attr_missing": {
		"INVOICES mangler attributten %v=%v.",
		"INVOICES lacks attribute %v=%v"},

	"V07.missing": {
		"INVOICES mangler <%v>; der forventes %v.",
		"INVOICES lacks <%v>; expected %v"},
	"V07.text": {
		"INVOICES indeholder tekst direkte; der må kun stå elementer.",
		"INVOICES holds text directly; expected only elements"},
	"V07.holds_element": {
		"<%v> indeholder elementet <%v>; der må kun stå tekst.",
		"<%v> holds element <%v>; expected text only"},

	"V08.digits": {
		"NO_OF_DOCUMENTS er %v; der forventes antallet af dokumenter skrevet med 1 til 4 cifre.",
		"NO_OF_DOCUMENTS is %v; expected the number of documents written in 1 to 4 digits"},
	"V08.count": {
		"NO_OF_DOCUMENTS er %[1]v, men forsendelsen indeholder %[2]v; der forventes %[3]v.",
		"NO_OF_DOCUMENTS is %[1]v, but the bundle holds %[2]v; expected %[3]v"},

	"V09.missing": {
		"TOTAL_DOCUMENT_CHECKSUM kan ikke bekræftes, fordi HEADER/CHECKSUM mangler eller ikke er et decimaltal i dokument %v; hvert dokument skal angive sin kontrolsum.",
		"TOTAL_DOCUMENT_CHECKSUM cannot be confirmed because HEADER/CHECKSUM is missing or not a decimal in document %v; expected every document to state its checksum"},
	"V09.sum": {
		"TOTAL_DOCUMENT_CHECKSUM er %v, men skal være %v, summen af de CHECKSUM-værdier, der står i forsendelsens %v.",
		"TOTAL_DOCUMENT_CHECKSUM is %v; expected %v, the sum of the CHECKSUM values written in the bundle's %v"},

	"V10.unavailable": {
		"Registret over modtagne forsendelser kunne ikke slås op, så forsendelsen kan ikke modtages nu; send den igen senere.",
		"the duplicate-bundle register could not be consulted, so the bundle cannot be accepted now; send it again later"},
	"V10.duplicate": {
		"En forsendelse med REFERENCE %v fra afsender %v %v er allerede modtaget i %v; REFERENCE må ikke have været brugt før i år.",
		"a bundle with REFERENCE %v from sender %v %v was already accepted in %v; expected a REFERENCE not used before this year"},

	"V11.removed": {
		"<%v> er udgået i format 2.1.0; brug %v i stedet.",
		"<%v> was removed in format 2.1.0; expected %v instead"},
	"V11.unknown": {
		"<%v> er ikke defineret i <%v>; kun %v er tilladt.",
		"<%v> is not defined inside <%v>; expected only %v"},
	"V11.order": {
		"<%[1]v> står efter <%[2]v>, men skal stå før <%[2]v> i formatets rækkefølge (gentagne elementer samlet).",
		"<%[1]v> comes after <%[2]v>; expected it before <%[2]v>, in the order of the format (repeated elements together)"},
	"V11.too_many": {
		"<%v> forekommer %v gange i <%v>; der forventes %v.",
		"<%v> occurs %v times inside <%v>; expected %v"},
	"V11.text": {
		"<%v> indeholder tekst; et underniveau må kun indeholde elementer.",
		"<%v> holds text; a sub-level holds only elements"},
	"V11.misplaced": {
		"<%v> står forkert; formatet placerer det %v.",
		"<%v> is out of order; the format places it %v"},
	"V11.truncated": {
		"Dokumentet har mere end %v elementer, som er grænsen for indlæsning; resten er ikke kontrolleret.",
		"the document has more than %v elements, this reader's limit; the rest was not checked"},
	"V11.attrs": {
		"<%v> har attributter; der må ikke være nogen.",
		"<%v> has attributes; expected none"},
	"V11.holds_elements": {
		"<%v> indeholder elementer; der må kun stå tekst.",
		"<%v> holds elements; expected text only"},

	"V12.missing": missingMessage,
	"V12.empty":   emptyMessage,
	"V13.missing": missingMessage,
	"V14.missing": missingMessage,
	"V14.dependent": {
		"<%v> er %v, selv om %v er %v; det skal være udfyldt.",
		"<%v> is %v although %v is %v; expected it filled"},
	"V15.missing": missingMessage,
	"V15.required": {
		"<%v> er %v, selv om %v er %v; det skal være udfyldt.",
		"<%v> is %v although %v is %v; expected it filled"},
	"V15.forbidden": {
		"<%[1]v> er udfyldt, selv om %[2]v er %[3]v; det skal være %[4]v, medmindre %[2]v er %[5]v.",
		"<%[1]v> is filled although %[2]v is %[3]v; expected it %[4]v unless %[2]v is %[5]v"},
	"V16.missing": missingMessage,
	"V16.empty":   emptyMessage,

	"V17.not_empty": {
		"%v har en værdi; det skal være tomt.",
		"%v has a value; expected it empty"},
	"V17.length": {
		"%[1]v har %[2]v tegn; der må højst være %[3]v (tekst A(%[3]v)).",
		"%[1]v has %[2]v characters; expected at most %[3]v (Text A(%[3]v))"},
	"V18": {
		"%[1]v er %[2]v, som %[3]v (decimaltal %[4]v.%[5]v: op til %[4]v cifre, decimalkomma og op til %[5]v decimaler, uden fortegn).",
		"%[1]v is %[2]v, which %[3]v (Decimal %[4]v.%[5]v: up to %[4]v digits, a decimal comma and up to %[5]v decimals, no sign)"},
	"V19": {
		"%v er %v; der forventes en gyldig dato skrevet ÅÅÅÅ-MM-DD.",
		"%v is %v; expected a calendar date written YYYY-MM-DD"},
	"V20": {
		"%v består kun af mellemrum; der forventes %v.",
		"%v consists of spaces only; expected %v"},
	"V21": {
		"%[1]v er %[2]v; der forventes en af værdierne %[3]v (tabel %[4]v, præcis som skrevet med store bogstaver).",
		"%[1]v is %[2]v; expected one of %[3]v (table %[4]v, exact upper case)"},
	"V22": {
		"%v er %v; der forventes %v.",
		"%v is %v; expected %v"},
	"V23.missing": {
		"HEADER mangler <RECEIPT_TO/>; elementet skal være til stede og tomt.",
		"HEADER lacks <RECEIPT_TO/>; expected it present and empty"},
	"V23.value": {
		"RECEIPT_TO har en værdi; elementet skal være til stede og tomt.",
		"RECEIPT_TO has a value; expected it present and empty"},
	"V24.unavailable": {
		"Afsenderregistret kunne ikke slås op, så afsenderen er ukendt; dokumentet kan ikke godkendes, før det kan.",
		"the sender register could not be consulted, so the sender is not known; the document cannot be accepted until it can"},
	"V24.unknown": {
		"Afsender %v %v findes ikke i afsenderregistret; afsenderen skal være registreret.",
		"sender %v %v is not in the sender register; expected a registered sender"},
	"V25.id": {
		"%v %v passer ikke til typen %v; der forventes %v.",
		"%v %v does not fit type %v; expected %v"},
	"V25.factoring": {
		"FACTORING_CVR_NO %v er ikke et CVR-nummer; der forventes præcis 8 cifre.",
		"FACTORING_CVR_NO %v is not a CVR number; expected exactly 8 digits"},
	"V26": {
		"CHECKSUM er %v, men skal være %v (BILL_TO/NAME_1 %v + P_FIK_NO %v + summen af NET_PRICE %v).",
		"CHECKSUM is %v; expected %v (BILL_TO/NAME_1 %v + P_FIK_NO %v + NET_PRICE sum %v)"},
	"V27": {
		"%v er %v; der forventes en landekode efter ISO 3166-1 alpha-2, fx DK eller SE.",
		"%v is %v; expected an ISO 3166-1 alpha-2 country code such as DK or SE"},
	"V28": {
		"%v er %v; der forventes en valutakode efter ISO 4217 med store bogstaver, fx DKK eller EUR.",
		"%v is %v; expected an ISO 4217 currency code in upper case such as DKK or EUR"},
	"V29": {
		"COUNTRY_CODE for BILL_TO er %v; der forventes DK, da fakturamodtageren er dansk.",
		"BILL_TO's COUNTRY_CODE is %v; expected DK: the invoice recipient is Danish"},
	"V30.payment_type": {
		"%v har landekoden %v, og et andet land end DK kræver PAYMENT_TYPE DIRECT_DEBIT med P_DIRECT_DEBIT_TYPE OTHER; PAYMENT_TYPE er %v.",
		"%v has country %v, and a country other than DK requires PAYMENT_TYPE DIRECT_DEBIT with P_DIRECT_DEBIT_TYPE OTHER; found PAYMENT_TYPE %v"},
	"V30.direct_debit_type": {
		"%v har landekoden %v, og et andet land end DK kræver P_DIRECT_DEBIT_TYPE OTHER; P_DIRECT_DEBIT_TYPE er %v.",
		"%v has country %v, and a country other than DK requires P_DIRECT_DEBIT_TYPE OTHER; found %v"},
	"V31": {
		"POST_CODE for %v er %v med landekoden DK; der forventes et dansk postnummer på 4 cifre fra postnummerregistret.",
		"%v's POST_CODE is %v with country DK; expected a Danish postal code of 4 digits from the postal register"},
	"V32": {
		"%v er %v %%; der forventes 0 eller 25.",
		"%v is %v %%; expected 0 or 25"},
	"V33.vat": {
		"Beløbet i VAT_AMOUNT (%v) svarer ikke til NET_PRICE %v x VAT_PERCENT %v / 100 = %v; afvigelsen må højst være 0,50.",
		"VAT_AMOUNT is %v; expected NET_PRICE %v x VAT_PERCENT %v / 100 = %v, within 0,50"},
	"V33.incl": {
		"Beløbet i AMOUNT_INCL_VAT (%v) svarer ikke til NET_PRICE %v + VAT_AMOUNT %v = %v; afvigelsen må højst være 0,50.",
		"AMOUNT_INCL_VAT is %v; expected NET_PRICE %v + VAT_AMOUNT %v = %v, within 0,50"},
	"V34": {
		"Beløbet i NET_PRICE (%v) svarer ikke til QUANTITY %v x UNIT_PRICE %v - LINE_DISCOUNT_AMOUNT %v = %v; afvigelsen må højst være 0,50.",
		"NET_PRICE is %v; expected QUANTITY %v x UNIT_PRICE %v - LINE_DISCOUNT_AMOUNT %v = %v, within 0,50"},
	"V35": {
		"Beløbet i TOTAL_LINE_AMOUNT (%v) svarer ikke til summen af linjernes NET_PRICE (%v); afvigelsen må højst være 0,50.",
		"TOTAL_LINE_AMOUNT is %v; expected %v (the sum of the lines' NET_PRICE), within 0,50"},
	"V36": {
		"Beløbet i TOTAL_CHARGE_AMOUNT (%v) svarer ikke til summen af CHARGE_AMOUNT (%v); afvigelsen må højst være 0,50.",
		"TOTAL_CHARGE_AMOUNT is %v; expected %v (the sum of CHARGE_AMOUNT), within 0,50"},
	"V37": {
		"Beløbet i TOTAL_AMOUNT_EXCL_VAT (%[1]v) svarer ikke til linjer %[3]v + gebyrer %[4]v - fakturarabat %[5]v = %[2]v; afvigelsen må højst være 0,50.",
		"TOTAL_AMOUNT_EXCL_VAT is %[1]v; expected %[2]v (lines %[3]v + charges %[4]v - invoice discount %[5]v), within 0,50"},
	"V38": {
		"Beløbet i VAT_BASE_AMOUNT (%v) svarer ikke til momsgrundlaget %v (linjer og gebyrer med 25 %% moms fratrukket en fakturarabat med 25 %% moms); afvigelsen må højst være 0,50.",
		"VAT_BASE_AMOUNT is %v; expected %v (the lines and charges at 25 %% less a 25 %% invoice discount), within 0,50"},
	"V39": {
		"Beløbet i TOTAL_VAT_AMOUNT (%[1]v) svarer ikke til 25 %% af momsgrundlaget %[3]v = %[2]v; afvigelsen må højst være 0,50.",
		"TOTAL_VAT_AMOUNT is %[1]v; expected %[2]v (25 %% of the VAT base %[3]v), within 0,50"},
	"V40": {
		"Beløbet i TOTAL_AMOUNT_INCL_VAT (%v) svarer ikke til TOTAL_AMOUNT_EXCL_VAT %v + TOTAL_VAT_AMOUNT %v = %v; afvigelsen må højst være 0,50.",
		"TOTAL_AMOUNT_INCL_VAT is %v; expected TOTAL_AMOUNT_EXCL_VAT %v + TOTAL_VAT_AMOUNT %v = %v, within 0,50"},
	"V41": {
		"Beløbet i P_AMOUNT (%v %v) svarer ikke til TOTAL_AMOUNT_INCL_VAT %v; afvigelsen må højst være 0,50.",
		"P_AMOUNT is %v %v; expected TOTAL_AMOUNT_INCL_VAT %v, within 0,50"},
	"V42": {
		"Linjen har QUANTITY og NET_PRICE, men intet varenummer; ITEM_INFO skal have ITEM_NO, BUYER_ITEM_NO eller EAN_ITEM_NO udfyldt.",
		"the line has QUANTITY and NET_PRICE but no item number; expected ITEM_INFO with ITEM_NO, BUYER_ITEM_NO or EAN_ITEM_NO filled"},
	"V43.length": {
		"P_FIK_NO %v passer ikke til korttype %v; der forventes præcis %v cifre.",
		"P_FIK_NO %v does not fit card type %v; expected exactly %v digits"},
	"V43.check": {
		"P_FIK_NO %v har kontrolcifferet %v, men skal have %v efter modulus 10.",
		"P_FIK_NO %v has check digit %v; expected %v by modulus 10"},
	"V44": {
		"P_CREDITOR_NO %v er ikke et kreditornummer; der forventes præcis 8 cifre.",
		"P_CREDITOR_NO %v is not a creditor number; expected exactly 8 digits"},
	"V45": {
		"P_MESSAGE er angivet med korttype %v; det er kun tilladt med korttype 73 eller 75.",
		"P_MESSAGE is given with card type %v; expected it only with card type 73 or 75"},
	"V46": {
		"P_TRANSFER_DATE %v er en %v; der forventes en dansk bankdag (mandag til fredag, ikke en banklukkedag).",
		"P_TRANSFER_DATE %v is a %v; expected a Danish bank day (Monday to Friday, not a bank holiday)"},
	"V47.reg": {
		"P_REG_NO %v er ikke et registreringsnummer; der forventes præcis 4 cifre ved %v.",
		"P_REG_NO %v is not a bank registration number; expected exactly 4 digits for %v"},
	"V47.account": {
		"P_ACCOUNT_NO %v er ikke et kontonummer; der forventes 1 til 10 cifre ved %v.",
		"P_ACCOUNT_NO %v is not an account number; expected 1 to 10 digits for %v"},
	"V48": {
		"P_DIRECT_DEBIT_TYPE er PBS, men afsender %v %v er ikke markeret som Nets i afsenderregistret; der forventes BS, LS eller OTHER.",
		"P_DIRECT_DEBIT_TYPE is PBS, but sender %v %v is not flagged as Nets in the sender register; expected BS, LS or OTHER"},
	"V49.no_customer": {
		"FINAL_CUSTOMER_TYPE er udfyldt, men FINAL_CUSTOMER er ikke; begge skal være udfyldt eller begge tomme.",
		"FINAL_CUSTOMER_TYPE is filled but FINAL_CUSTOMER is not; expected both filled or both empty"},
	"V49.no_type": {
		"FINAL_CUSTOMER er udfyldt, men FINAL_CUSTOMER_TYPE er ikke; begge skal være udfyldt eller begge tomme.",
		"FINAL_CUSTOMER is filled but FINAL_CUSTOMER_TYPE is not; expected both filled or both empty"},
	"V49.format": {
		"FINAL_CUSTOMER har ikke formatet for typen %v; der forventes %v.",
		"FINAL_CUSTOMER does not have the format of type %v; expected %v"},
	"V50": {
		"ACCOUNT_CODE i DOCUMENT_HEAD er Linjespecificeret, men denne linje med NET_PRICE har ingen ACCOUNT_CODE; den skal angives på hver linje med NET_PRICE.",
		"the header's ACCOUNT_CODE is Linjespecificeret, but this priced line has no ACCOUNT_CODE; expected one on every line with a NET_PRICE"},
	"V51": {
		"RECEIPT_NO %v fra afsender %v %v bruges også af dokument %v; bilagsnummeret skal være entydigt pr. afsender i forsendelsen.",
		"RECEIPT_NO %v of sender %v %v is also used by document %v; expected a receipt number unique per sender within the bundle"},
}

var (
	missingMessage = message{
		"<%v> mangler <%v>; der forventes %v.",
		"<%v> lacks <%v>; expected %v"}
	emptyMessage = message{
		"<%v> er tomt; der forventes en værdi.",
		"<%v> is empty; expected a value"}
)

// The kinds of a message's arguments. A plain string is text from the
// document (or from its tags, or an error) and has CPR numbers masked with
// [cpr.Mask]; a [number] is the value of a numeric field and is left alone
// while it is a number; [both] is a phrase of ours in each language; other
// values (ints) are formatted as they are.
type (
	// number is the value of a numeric field (an amount, a checksum, a
	// count, an identifier), quoted or not. It is never masked while it
	// is a number, digits with decimal commas or periods: amounts,
	// checksums, FIK numbers, EAN, CVR and account numbers are not CPR
	// numbers. Anything else written in such a field is masked like text.
	number string
	// both is a phrase in Danish and English.
	both struct{ da, en string }
)

func (b both) String() string { return b.en }

// render formats the message key with args in both languages, masking
// arguments by kind and then every value in hide (FINAL_CUSTOMER of type CPR)
// wherever it still stands.
func render(key string, hide []string, args ...any) (da, en string) {
	m, ok := messages[key]
	if !ok {
		panic("efaktura: no message " + key)
	}
	daArgs := make([]any, len(args))
	enArgs := make([]any, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case both:
			daArgs[i], enArgs[i] = a.da, a.en
		case number:
			s := string(a)
			if !isNumber(strings.Trim(s, `"`)) {
				s = cpr.Mask(s)
			}
			daArgs[i], enArgs[i] = s, s
		case string:
			s := cpr.Mask(a)
			daArgs[i], enArgs[i] = s, s
		case error:
			s := cpr.Mask(a.Error())
			daArgs[i], enArgs[i] = s, s
		default:
			daArgs[i], enArgs[i] = a, a
		}
	}
	da, en = fmt.Sprintf(m.da, daArgs...), fmt.Sprintf(m.en, enArgs...)
	for _, h := range hide {
		da = strings.ReplaceAll(da, h, cpr.Hide(h))
		en = strings.ReplaceAll(en, h, cpr.Hide(h))
	}
	return da, en
}

// isNumber reports whether s is digits with at most commas and periods
// between them.
func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && c != ',' && c != '.' {
			return false
		}
	}
	return true
}

// quoteNumber quotes the value of a numeric field for a message, cut like
// [quoteValue] but not masked while it is a number.
func quoteNumber(s string) number {
	const maxRunes = 40
	if r := []rune(s); len(r) > maxRunes {
		return number(strconv.Quote(string(r[:maxRunes])) + "...")
	}
	return number(strconv.Quote(s))
}

// pluralOf renders a count with its noun in both languages, e.g. "1 fil" and
// "1 file", "3 filer" and "3 files".
func pluralOf(n int, daOne, daMany, enOne, enMany string) both {
	if n == 1 {
		return both{"1 " + daOne, "1 " + enOne}
	}
	s := strconv.Itoa(n) + " "
	return both{s + daMany, s + enMany}
}
