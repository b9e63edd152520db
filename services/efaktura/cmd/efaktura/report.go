package main

import (
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// The report formats of efaktura validate.
const (
	formatText = "text"
	formatJSON = "json"
	formatHTML = "html"
	formatSVRL = "svrl"
)

// formatFlag is the --format flag.
type formatFlag struct{ f string }

func (f *formatFlag) String() string { return f.f }

func (f *formatFlag) Set(s string) error {
	switch s {
	case formatText, formatJSON, formatHTML, formatSVRL:
		f.f = s
		return nil
	}
	return fmt.Errorf("must be %s, %s, %s or %s", formatText, formatJSON, formatHTML, formatSVRL)
}

// reportFinding is a finding with what the reports show beside it.
type reportFinding struct {
	efaktura.Finding
	Document int // 0 for a file or bundle finding
}

func (f reportFinding) Position() string {
	if f.Line == 0 {
		return "–"
	}
	return strconv.Itoa(f.Line) + ":" + strconv.Itoa(f.Column)
}

func (f reportFinding) SeverityDA() string {
	if f.Severity == efaktura.SeverityWarning {
		return "advarsel"
	}
	return "fejl"
}

// findingsOf lists every finding of res, the file's first, in order.
func findingsOf(res *efaktura.Result) []reportFinding {
	var out []reportFinding
	for _, f := range res.Findings {
		out = append(out, reportFinding{Finding: f})
	}
	for _, d := range res.Documents {
		for _, f := range d.Findings {
			out = append(out, reportFinding{Finding: f, Document: d.Index})
		}
	}
	return out
}

// skippedDA are the Danish texts of the reasons a rule was not applied.
var skippedDA = map[string]string{
	"no sender register given":           "intet afsenderregister angivet (brug --senders FIL)",
	"no duplicate-bundle register given": "kommandoen husker ikke tidligere forsendelser",
}

type htmlDocument struct {
	Index                 int
	ReceiptNo, DocumentNo string
	Valid                 bool
	Findings              int
}

type htmlReport struct {
	File, Reference, Ruleset string
	Valid                    bool
	Errors, Warnings         int
	Documents                []htmlDocument
	Findings                 []reportFinding
	Skipped                  []string
	Suppressed               int
	BundleRejected           bool
}

// writeHTML writes one self-contained Danish page on res: no scripts, no
// external resources, every value escaped by html/template. Values from the
// file that may be free text (reference, receipt and document numbers) have
// CPR numbers masked, as the messages do.
func writeHTML(w io.Writer, res *efaktura.Result) error {
	r := htmlReport{File: displayName(res.File), Reference: cpr.Mask(res.Reference), Ruleset: res.Ruleset, Valid: res.Valid,
		Findings: findingsOf(res), Suppressed: res.Suppressed}
	r.Errors, r.Warnings = count(res.Findings)
	r.BundleRejected = len(res.Documents) == 0 && hasError(res.Findings)
	for _, d := range res.Documents {
		e, wn := count(d.Findings)
		r.Errors, r.Warnings = r.Errors+e, r.Warnings+wn
		r.Documents = append(r.Documents, htmlDocument{Index: d.Index, ReceiptNo: cpr.Mask(d.ReceiptNo),
			DocumentNo: cpr.Mask(d.DocumentNo), Valid: d.Valid, Findings: len(d.Findings)})
	}
	for _, n := range skippedNotes(res.Skipped) {
		reason := n.reason
		if da, ok := skippedDA[reason]; ok {
			reason = da
		}
		r.Skipped = append(r.Skipped, strings.Join(n.rules, ", ")+" er ikke kontrolleret: "+reason)
	}
	return htmlTemplate.Execute(w, r)
}

var htmlTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Valideringsrapport: {{.File}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2em;color:#1b1b1b;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}
h2{font-size:1.15em;margin-top:1.6em}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}
dt{font-weight:600}
dd{margin:0}
table{border-collapse:collapse;width:100%;margin-top:.5em}
th,td{border:1px solid #c8c8c8;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
code{font-family:ui-monospace,Consolas,monospace;font-size:.92em;word-break:break-all}
.ok{color:#0b6b2b;font-weight:700}
.bad{color:#a4161a;font-weight:700}
.en{color:#555;font-size:.9em}
.note{color:#555}
</style>
</head>
<body>
<h1>Valideringsrapport for e-faktura</h1>
<dl>
<dt>Fil</dt><dd><code>{{.File}}</code></dd>
<dt>Forsendelsens reference</dt><dd>{{if .Reference}}<code>{{.Reference}}</code>{{else}}–{{end}}</dd>
<dt>Regelsæt</dt><dd><code>{{.Ruleset}}</code></dd>
<dt>Resultat</dt><dd>{{if .Valid}}<span class="ok">gyldig</span>{{else}}<span class="bad">ugyldig</span>{{end}}</dd>
<dt>Fund</dt><dd>{{len .Findings}} ({{.Errors}} fejl, {{.Warnings}} advarsler)</dd>
</dl>
{{- if .BundleRejected}}
<p class="bad">Forsendelsen er afvist som helhed; dens dokumenter er derfor ikke bedømt.</p>
{{- end}}
{{- if .Documents}}
<h2>Dokumenter</h2>
<table>
<thead><tr><th>Nr.</th><th>RECEIPT_NO</th><th>DOCUMENT_NO</th><th>Resultat</th><th>Fund</th></tr></thead>
<tbody>
{{- range .Documents}}
<tr><td>{{.Index}}</td><td><code>{{.ReceiptNo}}</code></td><td><code>{{.DocumentNo}}</code></td><td>{{if .Valid}}<span class="ok">gyldig</span>{{else}}<span class="bad">ugyldig</span>{{end}}</td><td>{{.Findings}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
<h2>Fund</h2>
{{- if .Findings}}
<table>
<thead><tr><th>Alvor</th><th>Regel</th><th>Dokument</th><th>Placering</th><th>Linje:kolonne</th><th>Besked</th><th lang="en">English</th></tr></thead>
<tbody>
{{- range .Findings}}
<tr><td>{{.SeverityDA}}</td><td>{{.Rule}}</td><td>{{if .Document}}{{.Document}}{{else}}forsendelsen{{end}}</td><td><code>{{.Path}}</code></td><td>{{.Position}}</td><td>{{.MessageDA}}</td><td class="en" lang="en">{{.MessageEN}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p>Ingen fund: filen overholder alle regler, der er kontrolleret.</p>
{{- end}}
{{- if .Suppressed}}
<p class="note">Yderligere {{.Suppressed}} fund er udeladt: antallet pr. dokument og pr. fil er begrænset.</p>
{{- end}}
{{- range .Skipped}}
<p class="note">{{.}}.</p>
{{- end}}
<p class="note">Linje og kolonne angiver elementets starttag i filen. Reglerne er beskrevet i formatbeskrivelsen for e-faktura 2.1.0, afsnit 5.</p>
</body>
</html>
`))

// SVRL, ISO/IEC 19757-3 Schematron Validation Report Language: the report
// shape of Schematron validators such as KoSIT's and phive, so tools that
// read their reports read these too.
const svrlNamespace = "http://purl.oclc.org/dsdl/svrl"

type svrlOutput struct {
	XMLName       xml.Name `xml:"svrl:schematron-output"`
	NS            string   `xml:"xmlns:svrl,attr"`
	Title         string   `xml:"title,attr"`
	SchemaVersion string   `xml:"schemaVersion,attr"`
	Text          []svrlText
	Patterns      []svrlPattern
}

type svrlText struct {
	XMLName xml.Name `xml:"svrl:text"`
	Lang    string   `xml:"xml:lang,attr,omitempty"`
	Value   string   `xml:",chardata"`
}

// svrlPattern is an active-pattern and the rules fired in it, flattened
// into the sequence SVRL wants.
type svrlPattern struct {
	Active svrlActive
	Rules  []svrlRule
}

type svrlActive struct {
	XMLName   xml.Name `xml:"svrl:active-pattern"`
	ID        string   `xml:"id,attr"`
	Name      string   `xml:"name,attr"`
	Documents string   `xml:"documents,attr,omitempty"`
}

type svrlRule struct {
	Fired   svrlFired
	Asserts []svrlAssert
}

type svrlFired struct {
	XMLName xml.Name `xml:"svrl:fired-rule"`
	Context string   `xml:"context,attr"`
}

type svrlAssert struct {
	XMLName     xml.Name `xml:"svrl:failed-assert"`
	ID          string   `xml:"id,attr"`
	Location    string   `xml:"location,attr"`
	Test        string   `xml:"test,attr"`
	Flag        string   `xml:"flag,attr"`
	Role        string   `xml:"role,attr"`
	Diagnostics []svrlDiagnostic
	Properties  []svrlProperty
	Text        svrlText
}

type svrlDiagnostic struct {
	XMLName    xml.Name `xml:"svrl:diagnostic-reference"`
	Diagnostic string   `xml:"diagnostic,attr"`
	Text       svrlText
}

type svrlProperty struct {
	XMLName  xml.Name `xml:"svrl:property-reference"`
	Property string   `xml:"property,attr"`
	Text     svrlText
}

// writeSVRL writes res as an SVRL report: one active pattern, the rule set;
// a fired rule for the bundle (context /INVOICES) and one per document
// (/INVOICES/DOCUMENT[n]), each followed by a failed-assert per finding,
// with id the rule id, location the finding's path (an XPath), test the rule
// id, flag and role the severity, the Danish message as its text, the
// English one as the diagnostic "message_en", and the line:column and Peppol
// reason code as properties.
func writeSVRL(w io.Writer, res *efaktura.Result) error {
	p := svrlPattern{Active: svrlActive{ID: strings.ReplaceAll(res.Ruleset, "/", "-"), Name: "e-faktura 2.1.0, rules V01-V51 (" + res.Ruleset + ")",
		Documents: res.File}}
	p.Rules = append(p.Rules, svrlRule{Fired: svrlFired{Context: "/INVOICES"}, Asserts: svrlAsserts(res.Findings)})
	for _, d := range res.Documents {
		p.Rules = append(p.Rules, svrlRule{Fired: svrlFired{Context: "/INVOICES/DOCUMENT[" + strconv.Itoa(d.Index) + "]"},
			Asserts: svrlAsserts(d.Findings)})
	}
	verdict := "ugyldig"
	if res.Valid {
		verdict = "gyldig"
	}
	out := svrlOutput{NS: svrlNamespace, Title: "efaktura validate: " + displayName(res.File), SchemaVersion: res.Ruleset,
		Text: []svrlText{{Lang: "da", Value: "Filen er " + verdict + "."}}, Patterns: []svrlPattern{p}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func svrlAsserts(fs []efaktura.Finding) []svrlAssert {
	var out []svrlAssert
	for _, f := range fs {
		a := svrlAssert{ID: f.Rule, Location: f.Path, Test: f.Rule, Flag: string(f.Severity), Role: string(f.Severity),
			Diagnostics: []svrlDiagnostic{{Diagnostic: "message_en", Text: svrlText{Lang: "en", Value: f.MessageEN}}},
			Properties:  []svrlProperty{{Property: "reason_code", Text: svrlText{Value: f.Reason()}}},
			Text:        svrlText{Lang: "da", Value: f.MessageDA}}
		if f.Line > 0 {
			a.Properties = append(a.Properties, svrlProperty{Property: "line_column",
				Text: svrlText{Value: strconv.Itoa(f.Line) + ":" + strconv.Itoa(f.Column)}})
		}
		out = append(out, a)
	}
	return out
}

// MarshalXML writes the pattern as the sequence SVRL wants: the
// active-pattern, then each fired-rule followed by its failed-asserts.
func (p svrlPattern) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	if err := e.Encode(p.Active); err != nil {
		return err
	}
	for _, r := range p.Rules {
		if err := e.Encode(r.Fired); err != nil {
			return err
		}
		for _, a := range r.Asserts {
			if err := e.Encode(a); err != nil {
				return err
			}
		}
	}
	return nil
}
