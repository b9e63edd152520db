package efaktura

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// latin1 encodes test text, written in UTF-8 here, as the ISO-8859-1 bytes
// of the files.
func latin1(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			panic("not Latin-1: " + string(r))
		}
		b = append(b, byte(r))
	}
	return b
}

// edit replaces the first occurrence of old by new in a file; an empty old
// prepends new to the file, and old "$" appends it.
type edit struct{ old, new string }

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/valid/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func applyEdits(t *testing.T, file []byte, edits []edit) []byte {
	t.Helper()
	for _, e := range edits {
		switch e.old {
		case "":
			file = append(latin1(e.new), file...)
		case "$":
			file = append(file, latin1(e.new)...)
		default:
			old := latin1(e.old)
			i := bytes.Index(file, old)
			if i < 0 {
				t.Fatalf("edit %q: not found in the file", e.old)
			}
			file = slices.Concat(file[:i], latin1(e.new), file[i+len(old):])
		}
	}
	return file
}

// allFindings returns the file's findings, then each document's.
func allFindings(r *Result) []Finding {
	all := slices.Clone(r.Findings)
	for _, d := range r.Documents {
		all = append(all, d.Findings...)
	}
	return all
}

// ruleIDs lists the distinct rule ids of every finding, sorted.
func ruleIDs(r *Result) []string {
	var ids []string
	for _, f := range allFindings(r) {
		ids = append(ids, f.Rule)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func describe(r *Result) string {
	var b strings.Builder
	for _, f := range allFindings(r) {
		b.WriteString("\n  " + f.Rule + " " + f.Path + ": " + f.Message)
	}
	return b.String()
}

const (
	invoice    = "valid-invoice.xml"
	creditNote = "valid-creditnote.xml"
	reminder   = "valid-reminder.xml"
	bundle3    = "valid-bundle-3-documents.xml"
)

type ruleCase struct {
	name  string
	file  string
	edits []edit
	opts  Options
	want  []string // the exact set of rule ids; empty means valid
}

// TestRules makes every rule fire and shows it quiet at its boundary. Each
// case edits a valid example and expects exactly the listed rule ids, so a
// rule that fires where it should not fails a case too.
func TestRules(t *testing.T) {
	for _, tc := range ruleCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			file := applyEdits(t, readExample(t, tc.file), tc.edits)
			res, err := Validate(context.Background(), bytes.NewReader(file), tc.opts)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := ruleIDs(res); !slices.Equal(got, tc.want) {
				t.Errorf("rule ids = %v, want %v; findings:%s", got, tc.want, describe(res))
			}
			if res.Valid != (len(tc.want) == 0) {
				t.Errorf("Valid = %v, want %v", res.Valid, len(tc.want) == 0)
			}
		})
	}
}

// TestValidateDocumentAlone checks that a document judged on its own, from
// its raw bytes, gets exactly the findings it got in its bundle, V51 aside,
// with positions relative to the DOCUMENT's start tag instead of the file.
func TestValidateDocumentAlone(t *testing.T) {
	for _, tc := range ruleCases(t) {
		file := applyEdits(t, readExample(t, tc.file), tc.edits)
		opts := tc.opts
		opts.KeepRaw = true
		var raws [][]byte
		var starts [][2]int
		opts.Document = func(d *Document, _ *DocumentResult) error {
			raws = append(raws, d.Raw())
			line, col := d.Root().Position()
			starts = append(starts, [2]int{line, col})
			return nil
		}
		res, err := Validate(context.Background(), bytes.NewReader(file), opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Documents) == 0 {
			continue // a file or bundle rule rejected it; nothing to compare
		}
		for i, in := range res.Documents {
			alone, err := ValidateDocument(context.Background(), raws[i], in.Index, tc.opts)
			if err != nil {
				t.Fatalf("%s: document %d: %v", tc.name, in.Index, err)
			}
			want := slices.DeleteFunc(slices.Clone(in.Findings), func(f Finding) bool { return f.Rule == "V51" })
			for j := range want {
				f := &want[j]
				if f.Line == starts[i][0] {
					f.Column -= starts[i][1] - 1
				}
				f.Line -= starts[i][0] - 1
			}
			if !slices.Equal(alone.Findings, want) || alone.ReceiptNo != in.ReceiptNo || alone.Valid != !hasError(want) {
				t.Errorf("%s: document %d alone = %+v, in its bundle %+v", tc.name, in.Index, alone, want)
			}
		}
	}
}

// TestSkipDocumentRules checks that SkipDocumentRules leaves the verdict
// on the file and bundle as it was, with the same findings and documents,
// and a document's findings those of V51 alone.
func TestSkipDocumentRules(t *testing.T) {
	for _, tc := range ruleCases(t) {
		file := applyEdits(t, readExample(t, tc.file), tc.edits)
		full, err := Validate(context.Background(), bytes.NewReader(file), tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		opts := tc.opts
		opts.SkipDocumentRules = true
		bundle, err := Validate(context.Background(), bytes.NewReader(file), opts)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(bundle.Findings, full.Findings) || len(bundle.Documents) != len(full.Documents) || bundle.Reference != full.Reference {
			t.Errorf("%s: without document rules %+v, with them %+v", tc.name, bundle, full)
			continue
		}
		for i, d := range bundle.Documents {
			in := full.Documents[i]
			want := slices.DeleteFunc(slices.Clone(in.Findings), func(f Finding) bool { return f.Rule != "V51" })
			if !slices.Equal(d.Findings, want) || d.Index != in.Index || d.ReceiptNo != in.ReceiptNo || d.DocumentNo != in.DocumentNo || d.Type != in.Type {
				t.Errorf("%s: document %d without document rules %+v, want %+v", tc.name, in.Index, d, want)
			}
		}
	}
}

func ruleCases(t *testing.T) []ruleCase {
	senders := exampleSenders()
	nets := exampleSenders()
	nets.Add(Sender{Type: "CVR", ID: "24680134", Nets: true})
	cases := []ruleCase{
		// File rules.
		{name: "V01 plain file over the limit", file: invoice, opts: Options{MaxXMLBytes: 1000}, want: []string{"V01"}},
		{name: "V01 quiet at exactly the limit", file: invoice, opts: Options{MaxXMLBytes: int64(len(readExample(t, invoice)))}},
		{name: "V02 mismatched end tag", file: invoice, edits: []edit{{"</DOCUMENT_NO>", "</DOCUMENT_N>"}}, want: []string{"V02"}},
		{name: "V02 DOCTYPE", file: invoice, edits: []edit{{"<INVOICES ", "<!DOCTYPE INVOICES>\n<INVOICES "}}, want: []string{"V02"}},
		{name: "V02 undefined entity", file: invoice, edits: []edit{{"Fabriksvej 12", "Fabriksvej&nbsp;12"}}, want: []string{"V02"}},
		{name: "V02 bare ampersand", file: invoice, edits: []edit{{"Fabriksvej 12", "Fabriksvej & 12"}}, want: []string{"V02"}},
		{name: "V02 truncated file", file: invoice, edits: []edit{{"</INVOICES>", ""}}, want: []string{"V02"}},
		{name: "V02 second root", file: invoice, edits: []edit{{"$", "<INVOICES/>"}}, want: []string{"V02"}},
		{name: "V03 byte-order mark", file: invoice, edits: []edit{{"", "\u00ef\u00bb\u00bf"}}, want: []string{"V03"}},
		{name: "V03 white space first", file: invoice, edits: []edit{{"", "\n"}}, want: []string{"V03"}},
		{name: "V03 UTF-8 declared", file: invoice, edits: []edit{{`encoding="ISO-8859-1"`, `encoding="UTF-8"`}}, want: []string{"V03"}},
		{name: "V03 not standalone", file: invoice, edits: []edit{{`standalone="yes"`, `standalone="no"`}}, want: []string{"V03"}},
		{name: "V03 no declaration", file: invoice, edits: []edit{{`<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>`, ""}}, want: []string{"V03"}},
		{name: "V03 quiet with lower-case encoding", file: invoice, edits: []edit{{`encoding="ISO-8859-1"`, `encoding="iso-8859-1"`}}},
		{name: "V04 TAB in a value", file: invoice, edits: []edit{{"Fabriksvej 12", "Fabriksvej\t12"}}, want: []string{"V04"}},
		{name: "V04 LF in a value", file: invoice, edits: []edit{{"Fabriksvej 12", "Fabriksvej\n12"}}, want: []string{"V04"}},
		{name: "V04 character reference to TAB", file: invoice, edits: []edit{{"Fabriksvej 12", "Fabriksvej&#9;12"}}, want: []string{"V04"}},
		{name: "V04 C1 control byte", file: invoice, edits: []edit{{"Fabriksvej 12", "Fabriksvej\u008512"}}, want: []string{"V04"}},
		{name: "V04 C0 control byte", file: invoice, edits: []edit{{"Fabriksvej 12", "Fabriksvej\u000712"}}, want: []string{"V04"}},
		{name: "V04 quiet with TAB indentation", file: invoice, edits: []edit{{"\n    <HEADER>", "\n\t<HEADER>"}}},
		{name: "V05 stylesheet from a sender", file: invoice, edits: []edit{{"?>\n<INVOICES", "?>\n<?xml-stylesheet type=\"text/xsl\" href=\"x.xsl\"?>\n<INVOICES"}}, want: []string{"V05"}},
		{name: "V05 quiet: delivered stylesheet on line 2", file: invoice, opts: Options{Profile: ProfileDelivered}, edits: []edit{{"?>\n<INVOICES", "?>\n<?xml-stylesheet type=\"text/xsl\" href=\"x.xsl\"?>\n<INVOICES"}}},
		{name: "V05 two delivered stylesheets", file: invoice, opts: Options{Profile: ProfileDelivered}, edits: []edit{{"?>\n<INVOICES", "?>\n<?xml-stylesheet href=\"x.xsl\"?>\n<?xml-stylesheet href=\"y.xsl\"?>\n<INVOICES"}}, want: []string{"V05"}},
		{name: "V05 other processing instruction", file: invoice, edits: []edit{{"<REFERENCE>", "<?app data?><REFERENCE>"}}, want: []string{"V05"}},
		{name: "V06 root renamed", file: invoice, edits: []edit{{"<INVOICES ", "<INVOICE "}, {"</INVOICES>", "</INVOICE>"}}, want: []string{"V06"}},
		{name: "V06 schema location", file: invoice, edits: []edit{{`"efaktura.xsd"`, `"other.xsd"`}}, want: []string{"V06"}},
		{name: "V06 extra attribute", file: invoice, edits: []edit{{`"efaktura.xsd"`, `"efaktura.xsd" id="1"`}}, want: []string{"V06"}},
		{name: "V06 default namespace", file: invoice, edits: []edit{{`"efaktura.xsd"`, `"efaktura.xsd" xmlns="urn:x"`}}, want: []string{"V06"}},
		// Bundle rules.
		{name: "V07 REFERENCE of 41 characters", file: invoice, edits: []edit{{"OEH-BUNDT-2025-0412", strings.Repeat("R", 41)}}, want: []string{"V07"}},
		{name: "V07 quiet: REFERENCE of 40 characters", file: invoice, edits: []edit{{"OEH-BUNDT-2025-0412", strings.Repeat("R", 40)}}},
		{name: "V07 unknown element", file: invoice, edits: []edit{{"<REFERENCE>", "<NOTE>x</NOTE><REFERENCE>"}}, want: []string{"V07"}},
		{name: "V07 REFERENCE missing", file: invoice, edits: []edit{{"<REFERENCE>OEH-BUNDT-2025-0412</REFERENCE>", ""}}, want: []string{"V07"}},
		{name: "V07 trailer order", file: invoice, edits: []edit{{"<NO_OF_DOCUMENTS>1</NO_OF_DOCUMENTS>", ""}, {"<TOTAL_DOCUMENT_CHECKSUM>", "<NO_OF_DOCUMENTS>1</NO_OF_DOCUMENTS><TOTAL_DOCUMENT_CHECKSUM>"}}, want: []string{"V07"}},
		{name: "V07 empty REFERENCE", file: invoice, edits: []edit{{"OEH-BUNDT-2025-0412", ""}}, want: []string{"V07"}},
		{name: "V07 total checksum with 4 decimals", file: invoice, edits: []edit{{"<TOTAL_DOCUMENT_CHECKSUM>202508643,000", "<TOTAL_DOCUMENT_CHECKSUM>202508643,0000"}}, want: []string{"V07"}},
		{name: "V07 and V08 together", file: invoice, edits: []edit{{"OEH-BUNDT-2025-0412", strings.Repeat("R", 41)}, {"<NO_OF_DOCUMENTS>1<", "<NO_OF_DOCUMENTS>3<"}}, want: []string{"V07", "V08"}},
		{name: "V07 and V09 together", file: invoice, edits: []edit{{"<REFERENCE>", "<X/><REFERENCE>"}, {"<TOTAL_DOCUMENT_CHECKSUM>202508643,000", "<TOTAL_DOCUMENT_CHECKSUM>1,000"}}, want: []string{"V07", "V09"}},
		{name: "V07 alone for an empty NO_OF_DOCUMENTS", file: invoice, edits: []edit{{"<NO_OF_DOCUMENTS>1</NO_OF_DOCUMENTS>", "<NO_OF_DOCUMENTS/>"}}, want: []string{"V07"}},
		{name: "V08 count differs", file: invoice, edits: []edit{{"<NO_OF_DOCUMENTS>1<", "<NO_OF_DOCUMENTS>2<"}}, want: []string{"V08"}},
		{name: "V08 not digits", file: invoice, edits: []edit{{"<NO_OF_DOCUMENTS>1<", "<NO_OF_DOCUMENTS>1a<"}}, want: []string{"V08"}},
		{name: "V08 quiet with a leading zero", file: invoice, edits: []edit{{"<NO_OF_DOCUMENTS>1<", "<NO_OF_DOCUMENTS>01<"}}},
		{name: "V09 total off by 0,001", file: invoice, edits: []edit{{"<TOTAL_DOCUMENT_CHECKSUM>202508643,000", "<TOTAL_DOCUMENT_CHECKSUM>202508643,001"}}, want: []string{"V09"}},
		{name: "V09 quiet: compared by value", file: invoice, edits: []edit{{"<TOTAL_DOCUMENT_CHECKSUM>202508643,000", "<TOTAL_DOCUMENT_CHECKSUM>202508643"}}},
		{name: "V09 a CHECKSUM that is not a decimal", file: bundle3, edits: []edit{{"<CHECKSUM>8724,000", "<CHECKSUM>8724.000"}}, want: []string{"V09"}},
		// Structure rules.
		{name: "V11 unknown element", file: invoice, edits: []edit{{"<CURRENCY>", "<NOTE>x</NOTE><CURRENCY>"}}, want: []string{"V11"}},
		{name: "V11 removed tag", file: invoice, edits: []edit{{"<PAYMENT_MEANS>", "<PAYMENT_INFO_JOINT_TRANSFER_FORM/><PAYMENT_MEANS>"}}, want: []string{"V11"}},
		{name: "V11 order", file: invoice, edits: []edit{{"<DELIVERY_TERMS>", "<DELIVERY_TERMS_MOVED>"}, {"<PAYMENT_TERMS>", "<DELIVERY_TERMS><DELIVERY_DATE>2025-05-28</DELIVERY_DATE></DELIVERY_TERMS><PAYMENT_TERMS>"}, {"<DELIVERY_TERMS_MOVED>", "<DELIVERY_TERMS>"}, {"<DELIVERY_TERMS>\n      <DELIVERY_DATE>2025-05-28</DELIVERY_DATE>\n      <DELIVERY_TERMS_TXT>Leveret frit depot</DELIVERY_TERMS_TXT>\n    </DELIVERY_TERMS>", ""}}, want: []string{"V11"}},
		{name: "V11 attribute on DOCUMENT", file: invoice, edits: []edit{{"<DOCUMENT>", `<DOCUMENT id="1">`}}, want: []string{"V11"}},
		{name: "V11 attribute", file: invoice, edits: []edit{{"<DOCUMENT_NO>", `<DOCUMENT_NO lang="da">`}}, want: []string{"V11"}},
		{name: "V11 text in a group", file: invoice, edits: []edit{{"<CURRENCY>", "<CURRENCY>DKK"}}, want: []string{"V11"}},
		{name: "V11 element in a leaf", file: invoice, edits: []edit{{"<DOCUMENT_NO>F-2025-0412", "<DOCUMENT_NO>F-2025-0412<X/>"}}, want: []string{"V11"}},
		{name: "V11 too many", file: invoice, edits: []edit{{"<CURRENCY>", "<CURRENCY><CURRENCY_CODE>DKK</CURRENCY_CODE>"}}, want: []string{"V11"}},
		{name: "V12 empty mandatory leaf", file: invoice, edits: []edit{{"F-2025-0412</DOCUMENT_NO>", "</DOCUMENT_NO>"}}, want: []string{"V12"}},
		{name: "V12 missing mandatory group", file: invoice, edits: []edit{{"<CURRENCY>\n      <CURRENCY_CODE>DKK</CURRENCY_CODE>\n    </CURRENCY>", ""}}, want: []string{"V12"}},
		{name: "V13 POST_CODE missing", file: invoice, edits: []edit{{"<ADDRESS_1>Depotvej 3</ADDRESS_1>\n        <POST_CODE>4300</POST_CODE>", "<ADDRESS_1>Depotvej 3</ADDRESS_1>"}}, want: []string{"V13"}},
		{name: "V14 FACTORING_VERSION empty with FACTORING_INFO", file: bundle3, edits: []edit{{"<FACTORING_VERSION>2.0.0</FACTORING_VERSION>", "<FACTORING_VERSION/>"}}, want: []string{"V14"}},
		{name: "V14 UNIT_PRICE missing with QUANTITY", file: invoice, edits: []edit{{"<UNIT_PRICE>480,00</UNIT_PRICE>", ""}}, want: []string{"V14"}},
		{name: "V15 ORIGINAL_DOCUMENT_NO on an invoice", file: invoice, edits: []edit{{"<DOCUMENT_DATE>2025-06-02</DOCUMENT_DATE>", "<DOCUMENT_DATE>2025-06-02</DOCUMENT_DATE><ORIGINAL_DOCUMENT_NO>F-1</ORIGINAL_DOCUMENT_NO>"}}, want: []string{"V15"}},
		{name: "V15 credit note without ORIGINAL_DOCUMENT_NO", file: creditNote, edits: []edit{{"<ORIGINAL_DOCUMENT_NO>F-2025-0412</ORIGINAL_DOCUMENT_NO>", ""}}, want: []string{"V15"}},
		{name: "V16 REMARK without REMARK_TXT", file: invoice, edits: []edit{{"<REMARK>", "<REMARK_GONE>"}, {"</REMARK>", "</REMARK_GONE>"}, {"<REMARK_GONE>\n      <REMARK_TXT>Hjælpemidler bevilget efter servicelovens § 112.</REMARK_TXT>\n      <REMARK_TXT>Spørgsmål: kontakt kundeservice &lt;kundeservice&gt;.</REMARK_TXT>\n    </REMARK_GONE>", "<REMARK></REMARK>"}}, want: []string{"V16"}},
		{name: "V16 present SHIP_TO without NAME_1", file: invoice, edits: []edit{{"<NAME_1>Kærholm Kommune Hjælpemiddeldepot</NAME_1>", ""}}, want: []string{"V16"}},
		// Content rules.
		{name: "V17 DOCUMENT_NO of 21 characters", file: invoice, edits: []edit{{"F-2025-0412</DOCUMENT_NO>", strings.Repeat("9", 21) + "</DOCUMENT_NO>"}}, want: []string{"V17"}},
		{name: "V17 quiet: 20 characters", file: invoice, edits: []edit{{"F-2025-0412</DOCUMENT_NO>", strings.Repeat("9", 20) + "</DOCUMENT_NO>"}}},
		{name: "V17 counts decoded characters", file: invoice, edits: []edit{{"F-2025-0412</DOCUMENT_NO>", strings.Repeat("&amp;", 20) + "</DOCUMENT_NO>"}}},
		{name: "V17 quiet: CDATA of 20 characters", file: invoice, edits: []edit{{"F-2025-0412</DOCUMENT_NO>", "<![CDATA[" + strings.Repeat("&", 20) + "]]></DOCUMENT_NO>"}}},
		{name: "V17 CDATA of 21 characters", file: invoice, edits: []edit{{"F-2025-0412</DOCUMENT_NO>", "<![CDATA[" + strings.Repeat("<", 10) + "]]>" + strings.Repeat("9", 11) + "</DOCUMENT_NO>"}}, want: []string{"V17"}},
		{name: "V04 TAB in CDATA", file: invoice, edits: []edit{{"Fabriksvej 12", "<![CDATA[Fabriksvej\t12]]>"}}, want: []string{"V04"}},
		{name: "V18 period as separator", file: invoice, edits: []edit{{"<QTY_PER_UNIT_OF_MEASURE>1<", "<QTY_PER_UNIT_OF_MEASURE>1.5<"}}, want: []string{"V18"}},
		{name: "V18 four decimals", file: invoice, edits: []edit{{"<QTY_PER_UNIT_OF_MEASURE>1<", "<QTY_PER_UNIT_OF_MEASURE>1,0000<"}}, want: []string{"V18"}},
		{name: "V18 quiet: three decimals", file: invoice, edits: []edit{{"<QTY_PER_UNIT_OF_MEASURE>1<", "<QTY_PER_UNIT_OF_MEASURE>1,000<"}}},
		{name: "V18 P_AMOUNT with three decimals", file: bundle3, edits: []edit{{"<P_AMOUNT>8812,50<", "<P_AMOUNT>8812,500<"}}, want: []string{"V18"}},
		{name: "V19 29 February of a common year", file: invoice, edits: []edit{{"<DOCUMENT_DATE>2025-06-02<", "<DOCUMENT_DATE>2025-02-29<"}}, want: []string{"V19"}},
		{name: "V19 quiet: 29 February of a leap year", file: invoice, edits: []edit{{"<DOCUMENT_DATE>2025-06-02<", "<DOCUMENT_DATE>2024-02-29<"}}},
		{name: "V19 wrong layout", file: invoice, edits: []edit{{"<DOCUMENT_DATE>2025-06-02<", "<DOCUMENT_DATE>02-06-2025<"}}, want: []string{"V19"}},
		{name: "V20 single space", file: invoice, edits: []edit{{"<EXTERNAL_DOCUMENT_NO>REK-77-2025-0193<", "<EXTERNAL_DOCUMENT_NO> <"}}, want: []string{"V20"}},
		{name: "V20 quiet: DESCRIPTION_1 of spaces", file: invoice, edits: []edit{{"<DESCRIPTION_1>Leveret til depot efter aftale med borgeren<", "<DESCRIPTION_1>   <"}}},
		{name: "V21 lower case", file: invoice, edits: []edit{{"<DOCUMENT_TYPE>INVOICE<", "<DOCUMENT_TYPE>invoice<"}}, want: []string{"V21"}},
		{name: "V21 unknown final-customer type", file: invoice, edits: []edit{{"<FINAL_CUSTOMER_TYPE>CPR<", "<FINAL_CUSTOMER_TYPE>XYZ<"}}, want: []string{"V21"}},
		{name: "V22 VERSION", file: invoice, edits: []edit{{"<VERSION>2.1.0<", "<VERSION>2.0.0<"}}, want: []string{"V22"}},
		{name: "V22 FACTORING_VERSION", file: bundle3, edits: []edit{{"<FACTORING_VERSION>2.0.0<", "<FACTORING_VERSION>2.1.0<"}}, want: []string{"V22"}},
		{name: "V23 RECEIPT_TO filled", file: invoice, edits: []edit{{"<RECEIPT_TO/>", "<RECEIPT_TO>x</RECEIPT_TO>"}}, want: []string{"V23"}},
		{name: "V23 RECEIPT_TO missing", file: invoice, edits: []edit{{"<RECEIPT_TO/>", ""}}, want: []string{"V23"}},
		{name: "V24 unknown sender", file: invoice, opts: Options{Senders: senders}, edits: []edit{{"<SENDER_ID>12345674<", "<SENDER_ID>11111111<"}}, want: []string{"V24"}},
		{name: "V24 quiet without a register", file: invoice, edits: []edit{{"<SENDER_ID>12345674<", "<SENDER_ID>11111111<"}}},
		{name: "V25 EAN of 12 digits", file: invoice, edits: []edit{{"<RECEIVER_ID>5798000000018<", "<RECEIVER_ID>579800000001<"}}, want: []string{"V25"}},
		{name: "V25 factoring CVR of 7 digits", file: bundle3, edits: []edit{{"<FACTORING_CVR_NO>3", "<FACTORING_CVR_NO>"}}, want: []string{"V25"}},
		{name: "V26 checksum off by one", file: invoice, edits: []edit{{"<CHECKSUM>202508643,000", "<CHECKSUM>202508644,000"}, {"<TOTAL_DOCUMENT_CHECKSUM>202508643,000", "<TOTAL_DOCUMENT_CHECKSUM>202508644,000"}}, want: []string{"V26"}},
		{name: "V26 quiet: compared by value", file: invoice, edits: []edit{{"<CHECKSUM>202508643,000", "<CHECKSUM>202508643"}}},
		{name: "V26 name is decoded before summing", file: bundle3, edits: []edit{{"Job &amp; Ydelse", "Job &#38; Ydelse"}}},
		{name: "V27 unknown country", file: invoice, edits: []edit{{"<COUNTRY_CODE>DK</COUNTRY_CODE>\n      </ADDRESS>\n    </SHIP_TO>", "<COUNTRY_CODE>XX</COUNTRY_CODE>\n      </ADDRESS>\n    </SHIP_TO>"}}, want: []string{"V27"}},
		{name: "V27 quiet: lower case", file: invoice, edits: []edit{{"<COUNTRY_CODE>DK</COUNTRY_CODE>", "<COUNTRY_CODE>dk</COUNTRY_CODE>"}}},
		{name: "V28 unknown currency", file: invoice, edits: []edit{{"<CURRENCY_CODE>DKK<", "<CURRENCY_CODE>DKR<"}}, want: []string{"V28"}},
		{name: "V28 lower case", file: invoice, edits: []edit{{"<CURRENCY_CODE>DKK<", "<CURRENCY_CODE>dkk<"}}, want: []string{"V28"}},
		{name: "V29 BILL_TO abroad", file: bundle3, edits: []edit{{"<COUNTRY_CODE>DK</COUNTRY_CODE>\n      </ADDRESS>\n    </BILL_TO>", "<COUNTRY_CODE>NO</COUNTRY_CODE>\n      </ADDRESS>\n    </BILL_TO>"}}, want: []string{"V29", "V30"}},
		{name: "V30 foreign address with FIK", file: invoice, edits: []edit{{"<COUNTRY_CODE>DK</COUNTRY_CODE>\n      </ADDRESS>\n    </SHIP_TO>", "<COUNTRY_CODE>SE</COUNTRY_CODE>\n      </ADDRESS>\n    </SHIP_TO>"}}, want: []string{"V30"}},
		{name: "V30 foreign address with LS", file: bundle3, edits: []edit{{"<COUNTRY_CODE>DK</COUNTRY_CODE>", "<COUNTRY_CODE>DE</COUNTRY_CODE>"}}, want: []string{"V30"}},
		{name: "V31 abroad code", file: invoice, edits: []edit{{"<POST_CODE>8600<", "<POST_CODE>0960<"}}, want: []string{"V31"}},
		{name: "V31 three digits", file: invoice, edits: []edit{{"<POST_CODE>8600<", "<POST_CODE>800<"}}, want: []string{"V31"}},
		{name: "V31 quiet: leading zero", file: invoice, edits: []edit{{"<POST_CODE>8600<", "<POST_CODE>0800<"}}},
		{name: "V32 charge at 12 %", file: invoice, edits: []edit{{"<CHARGE_VAT_PERCENT>25,00<", "<CHARGE_VAT_PERCENT>12<"}}, want: []string{"V32", "V38", "V39"}},
		{name: "V18 only for an unusable VAT rate", file: invoice, edits: []edit{{"<VAT_PERCENT>25,00</VAT_PERCENT>\n        <VAT_AMOUNT>180,00<", "<VAT_PERCENT>25,000</VAT_PERCENT>\n        <VAT_AMOUNT>180,00<"}}, want: []string{"V18"}},
		{name: "V14 only for a missing discount rate", file: invoice, edits: []edit{{"<INVOICE_DISCOUNT_VAT_PERCENT>25,00</INVOICE_DISCOUNT_VAT_PERCENT>", ""}}, want: []string{"V14"}},
		{name: "V32 quiet: 25 without decimals", file: invoice, edits: []edit{{"<CHARGE_VAT_PERCENT>25,00<", "<CHARGE_VAT_PERCENT>25<"}}},
		{name: "V33 VAT 0,51 off", file: invoice, edits: []edit{{"<VAT_AMOUNT>700,00<", "<VAT_AMOUNT>700,51<"}}, want: []string{"V33"}},
		{name: "V33 quiet: VAT 0,50 off", file: invoice, edits: []edit{{"<VAT_AMOUNT>700,00<", "<VAT_AMOUNT>700,50<"}}},
		{name: "V34 net 0,52 off", file: invoice, edits: []edit{{"<UNIT_PRICE>1450,00<", "<UNIT_PRICE>1450,26<"}}, want: []string{"V34"}},
		{name: "V34 quiet: net 0,50 off", file: invoice, edits: []edit{{"<UNIT_PRICE>1450,00<", "<UNIT_PRICE>1450,25<"}}},
		{name: "V35 lines 0,51 off", file: invoice, edits: []edit{{"<TOTAL_LINE_AMOUNT>3520,00<", "<TOTAL_LINE_AMOUNT>3520,51<"}}, want: []string{"V35"}},
		{name: "V35 quiet: lines 0,50 off", file: invoice, edits: []edit{{"<TOTAL_LINE_AMOUNT>3520,00<", "<TOTAL_LINE_AMOUNT>3520,50<"}}},
		{name: "V36 charges 0,51 off", file: invoice, edits: []edit{{"<TOTAL_CHARGE_AMOUNT>95,00<", "<TOTAL_CHARGE_AMOUNT>95,51<"}}, want: []string{"V36"}},
		{name: "V36 no charge but a total", file: creditNote, edits: []edit{{"<TOTAL_CHARGE_AMOUNT>0,00<", "<TOTAL_CHARGE_AMOUNT>1,00<"}}, want: []string{"V36"}},
		{name: "V37 excl. VAT 0,51 off", file: invoice, edits: []edit{{"<TOTAL_AMOUNT_EXCL_VAT>3545,00<", "<TOTAL_AMOUNT_EXCL_VAT>3545,51<"}, {"<TOTAL_AMOUNT_INCL_VAT>4431,25<", "<TOTAL_AMOUNT_INCL_VAT>4431,76<"}}, want: []string{"V37"}},
		{name: "V38 VAT base off", file: invoice, edits: []edit{{"<VAT_BASE_AMOUNT>3545,00<", "<VAT_BASE_AMOUNT>3546,00<"}}, want: []string{"V38"}},
		{name: "V39 VAT 0,55 off", file: invoice, edits: []edit{{"<TOTAL_VAT_AMOUNT>886,25<", "<TOTAL_VAT_AMOUNT>886,80<"}}, want: []string{"V39", "V40"}},
		{name: "V39 quiet: VAT 0,45 off", file: invoice, edits: []edit{{"<TOTAL_VAT_AMOUNT>886,25<", "<TOTAL_VAT_AMOUNT>886,70<"}}},
		{name: "V40 incl. VAT 0,51 off", file: invoice, edits: []edit{{"<TOTAL_AMOUNT_INCL_VAT>4431,25<", "<TOTAL_AMOUNT_INCL_VAT>4431,76<"}}, want: []string{"V40"}},
		{name: "V41 direct-debit amount", file: bundle3, edits: []edit{{"<P_AMOUNT>8812,50<", "<P_AMOUNT>8813,01<"}}, want: []string{"V41"}},
		{name: "V41 quiet: other currency", file: bundle3, edits: []edit{{"<P_CURRENCY_CODE>SEK<", "<P_CURRENCY_CODE>DKK<"}, {"<P_AMOUNT>8800,00<", "<P_AMOUNT>1,00<"}}},
		{name: "V42 no item number", file: invoice, edits: []edit{{"<ITEM_INFO>\n        <ITEM_NO>RL-200</ITEM_NO>\n      </ITEM_INFO>", ""}}, want: []string{"V42"}},
		{name: "V42 quiet: lump-sum line", file: reminder},
		{name: "V17 only for a P_FIK_NO of 17 digits", file: reminder, edits: []edit{{"<P_FIK_NO>0000002025071404<", "<P_FIK_NO>00000002025071404<"}}, want: []string{"V17"}},
		{name: "V43 only for a P_FIK_NO with a letter", file: invoice, edits: []edit{{"<P_FIK_NO>000000202504122<", "<P_FIK_NO>00000020250412x<"}}, want: []string{"V43"}},
		{name: "V43 check digit", file: invoice, edits: []edit{{"<P_FIK_NO>000000202504122<", "<P_FIK_NO>000000202504123<"}, {"<CHECKSUM>202508643,000", "<CHECKSUM>202508644,000"}, {"<TOTAL_DOCUMENT_CHECKSUM>202508643,000", "<TOTAL_DOCUMENT_CHECKSUM>202508644,000"}}, want: []string{"V43"}},
		{name: "V43 length for card 71", file: invoice, edits: []edit{{"<P_FIK_NO>000000202504122<", "<P_FIK_NO>0000000202504122<"}}, want: []string{"V43"}},
		{name: "V44 creditor number", file: invoice, edits: []edit{{"<P_CREDITOR_NO>81234567<", "<P_CREDITOR_NO>8123456<"}}, want: []string{"V44"}},
		{name: "V45 message with card 71", file: invoice, edits: []edit{{"<P_CREDITOR_NO>81234567</P_CREDITOR_NO>", "<P_CREDITOR_NO>81234567</P_CREDITOR_NO><P_MESSAGE><P_MESSAGE_TXT>Tak</P_MESSAGE_TXT></P_MESSAGE>"}}, want: []string{"V45"}},
		{name: "V46 Saturday", file: bundle3, edits: []edit{{"<P_TRANSFER_DATE>2025-07-31<", "<P_TRANSFER_DATE>2025-08-02<"}}, want: []string{"V46"}},
		{name: "V46 Constitution Day", file: bundle3, edits: []edit{{"<P_TRANSFER_DATE>2025-07-31<", "<P_TRANSFER_DATE>2025-06-05<"}}, want: []string{"V46"}},
		{name: "V46 quiet: the day after", file: bundle3, edits: []edit{{"<P_TRANSFER_DATE>2025-07-31<", "<P_TRANSFER_DATE>2025-06-06<"}}},
		{name: "V47 registration number", file: bundle3, edits: []edit{{"<P_REG_NO>1234<", "<P_REG_NO>12a4<"}}, want: []string{"V47"}},
		{name: "V47 account number", file: bundle3, edits: []edit{{"<P_ACCOUNT_NO>0001234567<", "<P_ACCOUNT_NO>00012345x7<"}}, want: []string{"V47"}},
		{name: "V47 quiet for OTHER", file: bundle3, edits: []edit{{"<P_DIRECT_DEBIT_TYPE>LS<", "<P_DIRECT_DEBIT_TYPE>OTHER<"}, {"<P_REG_NO>1234<", "<P_REG_NO>12a4<"}}},
		{name: "V48 PBS from a sender not flagged", file: bundle3, opts: Options{Senders: senders}, edits: []edit{{"<P_DIRECT_DEBIT_TYPE>LS<", "<P_DIRECT_DEBIT_TYPE>PBS<"}}, want: []string{"V48"}},
		{name: "V48 quiet: PBS from Nets", file: bundle3, opts: Options{Senders: nets}, edits: []edit{{"<P_DIRECT_DEBIT_TYPE>LS<", "<P_DIRECT_DEBIT_TYPE>PBS<"}}},
		{name: "V49 type without customer", file: invoice, edits: []edit{{"<FINAL_CUSTOMER>0101001234</FINAL_CUSTOMER>", ""}}, want: []string{"V49"}},
		{name: "V49 CPR of 9 digits", file: invoice, edits: []edit{{"<FINAL_CUSTOMER>0101001234<", "<FINAL_CUSTOMER>010100123<"}}, want: []string{"V49"}},
		{name: "V50 priced line without ACCOUNT_CODE", file: invoice, edits: []edit{{"<ACCOUNT_CODE>5.32.38.2-4010-0002</ACCOUNT_CODE>", ""}}, want: []string{"V50"}},
		{name: "V50 quiet: compared without case", file: invoice, edits: []edit{{"<ACCOUNT_CODE>Linjespecificeret<", "<ACCOUNT_CODE>LINJESPECIFICERET<"}, {"<ACCOUNT_CODE>5.32.38.2-4010-0002</ACCOUNT_CODE>", ""}}, want: []string{"V50"}},
		{name: "V51 receipt number twice", file: bundle3, edits: []edit{{"<RECEIPT_NO>NRD-2025-001181<", "<RECEIPT_NO>NRD-2025-001180<"}}, want: []string{"V51"}},
		{name: "V51 quiet: same number, other sender", file: bundle3, edits: []edit{{"<RECEIPT_NO>SH-88123<", "<RECEIPT_NO>NRD-2025-001180<"}}},
	}
	return cases
}

// countingSenders is a SenderRegister that counts the questions it is asked.
type countingSenders struct {
	SenderTable
	lookups int
}

func (c *countingSenders) LookupSender(ctx context.Context, idType, id string) (Sender, bool, error) {
	c.lookups++
	return c.SenderTable.LookupSender(ctx, idType, id)
}

// TestSenderAskedOncePerDocument: V24 and V48 share one answer, so a PBS
// document costs one question to a register that may be remote.
func TestSenderAskedOncePerDocument(t *testing.T) {
	reg := &countingSenders{SenderTable: exampleSenders()}
	file := applyEdits(t, readExample(t, bundle3), []edit{{"<P_DIRECT_DEBIT_TYPE>LS<", "<P_DIRECT_DEBIT_TYPE>PBS<"}})
	res, err := Validate(context.Background(), bytes.NewReader(file), Options{Senders: reg})
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleIDs(res); !slices.Equal(got, []string{"V48"}) {
		t.Fatalf("rule ids = %v, want [V48];%s", got, describe(res))
	}
	if reg.lookups != len(res.Documents) {
		t.Errorf("sender lookups = %d, want %d, one per document", reg.lookups, len(res.Documents))
	}
}

// memoryBundles is a BundleRegistry for tests.
type memoryBundles map[BundleKey]bool

func (m memoryBundles) Register(_ context.Context, k BundleKey) (bool, error) {
	dup := m[k]
	m[k] = true
	return dup, nil
}

func TestDuplicateBundle(t *testing.T) {
	reg := memoryBundles{}
	file := readExample(t, invoice)
	validate := func(file []byte, at time.Time) []string {
		t.Helper()
		res, err := Validate(context.Background(), bytes.NewReader(file), Options{Bundles: reg, ServiceProvider: "sp1", ReceivedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return ruleIDs(res)
	}
	jan := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	if got := validate(file, jan); len(got) != 0 {
		t.Fatalf("first bundle: rule ids %v, want none", got)
	}
	if got := validate(file, jan); !slices.Equal(got, []string{"V10"}) {
		t.Errorf("same bundle again: rule ids %v, want [V10]", got)
	}
	// 23:30 UTC on 31 December is already the next year in Denmark.
	if got := validate(file, time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC)); len(got) != 0 {
		t.Errorf("same bundle next Danish year: rule ids %v, want none", got)
	}
	// A bundle rejected by a bundle rule does not use up its REFERENCE.
	bad := applyEdits(t, readExample(t, creditNote), []edit{{"<NO_OF_DOCUMENTS>1<", "<NO_OF_DOCUMENTS>2<"}})
	if got := validate(bad, jan); !slices.Equal(got, []string{"V08"}) {
		t.Fatalf("bad bundle: rule ids %v, want [V08]", got)
	}
	if got := validate(readExample(t, creditNote), jan); len(got) != 0 {
		t.Errorf("corrected bundle: rule ids %v, want none", got)
	}
}

func TestDocumentLimit(t *testing.T) {
	for _, tc := range []struct {
		documents int
		want      []string
	}{{1000, nil}, {1001, []string{"V07"}}} {
		b := Sample(SampleOptions{Documents: 1000, LinesPerDocument: 1, Seed: 3})
		for len(b.Documents) < tc.documents {
			extra := b.Documents[0]
			extra.Header.ReceiptNo = fmt.Sprintf("EXTRA-%d", len(b.Documents))
			b.Documents = append(b.Documents, extra)
		}
		data, err := b.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		res, err := Validate(context.Background(), bytes.NewReader(data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ruleIDs(res); !slices.Equal(got, tc.want) {
			t.Errorf("%d documents: rule ids %v, want %v;%s", tc.documents, got, tc.want, describe(res))
		}
	}
}

// TestValidateConcurrentSafe runs validations in parallel: they share the
// element table, the code lists and the scanner buffers' pool.
func TestValidateConcurrentSafe(t *testing.T) {
	files := [][]byte{readExample(t, invoice), readExample(t, bundle3),
		applyEdits(t, readExample(t, creditNote), []edit{{"<VERSION>2.1.0<", "<VERSION>2.0<"}})}
	want := make([]string, len(files))
	for i, f := range files {
		res, err := Validate(context.Background(), bytes.NewReader(f), Options{})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = strings.Join(ruleIDs(res), ",")
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				k := (g + i) % len(files)
				res, err := Validate(context.Background(), bytes.NewReader(files[k]), Options{})
				if err != nil {
					t.Error(err)
					return
				}
				if got := strings.Join(ruleIDs(res), ","); got != want[k] {
					t.Errorf("file %d: rule ids %q, want %q", k, got, want[k])
				}
			}
		})
	}
	wg.Wait()
}

// TestMessages pins the wording of findings where the wording matters.
func TestMessages(t *testing.T) {
	cases := []struct {
		name  string
		file  string
		edits []edit
		path  string
		text  string
	}{
		{"V04 names the code point and hints at UTF-8", invoice, []edit{{"Fabriksvej 12", "Fabriksvej\u008512"}},
			"/INVOICES/DOCUMENT[1]/BILLED_FROM/ADDRESS/ADDRESS_1", "U+0085 in its value; expected printable characters only (TAB, CR and LF only as indentation between elements); a UTF-8 file declared as ISO-8859-1"},
		{"V04 in INVOICES' own leaf", invoice, []edit{{"OEH-BUNDT", "OEH\tBUNDT"}}, "/INVOICES/REFERENCE", "REFERENCE holds the control character U+0009"},
		{"a missing repeatable element has an index", invoice, []edit{{"<REMARK>", "<REMARK_GONE>"}, {"</REMARK>", "</REMARK_GONE>"}, {"<REMARK_GONE>\n      <REMARK_TXT>Hjælpemidler bevilget efter servicelovens § 112.</REMARK_TXT>\n      <REMARK_TXT>Spørgsmål: kontakt kundeservice &lt;kundeservice&gt;.</REMARK_TXT>\n    </REMARK_GONE>", "<REMARK/>"}},
			"/INVOICES/DOCUMENT[1]/REMARK/REMARK_TXT[1]", "<REMARK> lacks <REMARK_TXT>; expected <REMARK_TXT> 1 to 10 times, with a value"},
		{"V20 on a mandatory element", invoice, []edit{{"<CITY>Silkeborg<", "<CITY>  <"}}, "/INVOICES/DOCUMENT[1]/BILLED_FROM/ADDRESS/CITY", "CITY consists of spaces only; expected a value"},
		{"V34 shows the values as written", invoice, []edit{{"<UNIT_PRICE>480,00<", "<UNIT_PRICE>481,00<"}}, "/INVOICES/DOCUMENT[1]/LINE[2]/AMOUNT/NET_PRICE", "NET_PRICE is 720,00; expected QUANTITY 1,5 x UNIT_PRICE 481,00 - LINE_DISCOUNT_AMOUNT 0 = 721,50, within 0,50"},
		{"V51 blames the later document", bundle3, []edit{{"<RECEIPT_NO>NRD-2025-001181<", "<RECEIPT_NO>NRD-2025-001180<"}},
			"/INVOICES/DOCUMENT[3]/HEADER/RECEIPT_NO", `RECEIPT_NO "NRD-2025-001180" of sender CVR 24680134 is also used by document 1;`},
		{"V51 blames the earlier document", bundle3, []edit{{"<RECEIPT_NO>NRD-2025-001181<", "<RECEIPT_NO>NRD-2025-001180<"}},
			"/INVOICES/DOCUMENT[1]/HEADER/RECEIPT_NO", `RECEIPT_NO "NRD-2025-001180" of sender CVR 24680134 is also used by document 3;`},
		{"V08 counts in words", invoice, []edit{{"<NO_OF_DOCUMENTS>1<", "<NO_OF_DOCUMENTS>2<"}}, "/INVOICES/NO_OF_DOCUMENTS", "the bundle holds 1 DOCUMENT element; expected 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := applyEdits(t, readExample(t, tc.file), tc.edits)
			res, err := Validate(context.Background(), bytes.NewReader(file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range allFindings(res) {
				if f.Path == tc.path && strings.Contains(f.Message, tc.text) {
					return
				}
			}
			t.Errorf("no finding at %s containing %q; findings:%s", tc.path, tc.text, describe(res))
		})
	}
}

// TestMessagesMaskCPR: a CPR number is masked where it is one, in text
// values a message quotes and wherever a FINAL_CUSTOMER of type CPR would
// show, in both languages; numbers of numeric fields are never masked.
func TestMessagesMaskCPR(t *testing.T) {
	cases := []struct {
		name    string
		edits   []edit
		rule    string
		hidden  string // must be in no message
		visible string // must be in the rule's messages
	}{
		{"CPR number as free text", []edit{{"<DOCUMENT_TYPE>INVOICE<", "<DOCUMENT_TYPE>010100-1234<"}}, "V21", "010100-1234", `"XXXXXX-XXXX"`},
		{"CPR number without a hyphen", []edit{{"<DOCUMENT_TYPE>INVOICE<", "<DOCUMENT_TYPE>borger 3112991234<"}}, "V21", "3112991234", `"borger XXXXXXXXXX"`},
		{"FINAL_CUSTOMER of type CPR, whatever its date", []edit{
			{"<FINAL_CUSTOMER>0101001234<", "<FINAL_CUSTOMER>3213001234<"},
			{"<DOCUMENT_TYPE>INVOICE<", "<DOCUMENT_TYPE>3213001234<"}}, "V21", "3213001234", `"XXXXXXXXXX"`},
		{"a ten-digit checksum", []edit{
			{"<CHECKSUM>202508643,000<", "<CHECKSUM>1202508643,000<"},
			{"<TOTAL_DOCUMENT_CHECKSUM>202508643,000<", "<TOTAL_DOCUMENT_CHECKSUM>1202508643,000<"}}, "V26", "", "CHECKSUM is 1202508643,000"},
		{"an amount without decimals", []edit{{"<TOTAL_LINE_AMOUNT>3520,00<", "<TOTAL_LINE_AMOUNT>0202001234<"}}, "V35", "", "TOTAL_LINE_AMOUNT is 0202001234"},
		{"an identifier", []edit{{"<RECEIVER_ID>5798000000018<", "<RECEIVER_ID>0202001234<"}}, "V25", "", `RECEIVER_ID "0202001234"`},
		{"an impossible date", []edit{{"<DOCUMENT_TYPE>INVOICE<", "<DOCUMENT_TYPE>3213001234<"}}, "V21", "", `"3213001234"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := applyEdits(t, readExample(t, invoice), tc.edits)
			res, err := Validate(context.Background(), bytes.NewReader(file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range allFindings(res) {
				for _, m := range []string{f.Message, f.MessageDA, f.MessageEN} {
					if tc.hidden != "" && strings.Contains(m, tc.hidden) {
						t.Errorf("%s message carries %s: %s", f.Rule, tc.hidden, m)
					}
				}
				if f.Rule == tc.rule && strings.Contains(f.MessageEN, tc.visible) && strings.Contains(f.MessageDA, strings.TrimPrefix(strings.TrimPrefix(tc.visible, "CHECKSUM is "), "TOTAL_LINE_AMOUNT is ")) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s finding showing %s in both languages; findings:%s", tc.rule, tc.visible, describe(res))
			}
		})
	}
}
