package efaktura

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// peppolCodes are the codes of OpenPEPPOL's OPStatusReason, as
// events.ReasonCode has them (services/respond's tests check the two agree;
// this package's tests do not link the event catalogue).
var peppolCodes = []string{"NON", "REF", "LEG", "REC", "QUA", "DEL", "PRI", "QTY", "ITM", "PAY", "UNR", "FIN", "OTH"}

// TestRuleTable: the 51 rules in order, each in both languages with a Peppol
// reason code other than NON (a rule violation is always an issue).
func TestRuleTable(t *testing.T) {
	rules := Rules()
	if len(rules) != 51 {
		t.Fatalf("%d rules, want 51", len(rules))
	}
	for i, r := range rules {
		if want := fmt.Sprintf("V%02d", i+1); r.ID != want {
			t.Errorf("rule %d is %s, want %s", i+1, r.ID, want)
		}
		if r.DA == "" || r.EN == "" || r.DA == r.EN || r.Why == "" {
			t.Errorf("%s: DA %q, EN %q, Why %q: want all filled and DA != EN", r.ID, r.DA, r.EN, r.Why)
		}
		if !slices.Contains(peppolCodes, r.Reason) || r.Reason == "NON" {
			t.Errorf("%s: reason %q is not a Peppol rejection code", r.ID, r.Reason)
		}
		if got := ReasonCode(r.ID); got != r.Reason {
			t.Errorf("ReasonCode(%s) = %s, want %s", r.ID, got, r.Reason)
		}
	}
	if got := ReasonCode("V99"); got != "OTH" {
		t.Errorf("ReasonCode(V99) = %s, want OTH", got)
	}
	if got := (Finding{Rule: "V35"}).Reason(); got != "PRI" {
		t.Errorf("Finding V35 Reason() = %s, want PRI", got)
	}
}

var verb = regexp.MustCompile(`%(\[(\d+)\])?v`)

// TestMessageCatalogue: every rule has at least one message; every message
// has a Danish and an English text, different from each other, that take the
// same arguments; Danish ones are sentences.
func TestMessageCatalogue(t *testing.T) {
	for _, r := range Rules() {
		has := false
		for key := range messages {
			has = has || ruleOf(key) == r.ID
		}
		if !has {
			t.Errorf("%s has no message", r.ID)
		}
	}
	for key, m := range messages {
		if _, known := Rule(ruleOf(key)); !known && key != "internal" {
			t.Errorf("message %s names no rule", key)
		}
		if strings.TrimSpace(m.da) == "" || strings.TrimSpace(m.en) == "" || m.da == m.en {
			t.Errorf("%s: da %q, en %q: want both filled and different", key, m.da, m.en)
		}
		n := max(args(m.da), args(m.en))
		dummy := make([]any, n)
		for i := range dummy {
			dummy[i] = fmt.Sprintf("<a%d>", i+1)
		}
		da, en := fmt.Sprintf(m.da, dummy...), fmt.Sprintf(m.en, dummy...)
		for i := range dummy {
			if a := dummy[i].(string); !strings.Contains(da, a) || !strings.Contains(en, a) {
				t.Errorf("%s: argument %d missing in da %q or en %q", key, i+1, da, en)
			}
		}
		if strings.Contains(da, "%!") || strings.Contains(en, "%!") {
			t.Errorf("%s: bad verbs: %q / %q", key, da, en)
		}
		if !strings.HasSuffix(m.da, ".") {
			t.Errorf("%s: Danish message %q does not end a sentence", key, m.da)
		}
	}
}

// args counts the arguments a format takes.
func args(format string) int {
	n, plain := 0, 0
	for _, m := range verb.FindAllStringSubmatch(format, -1) {
		if m[2] == "" {
			plain++
			continue
		}
		var i int
		fmt.Sscan(m[2], &i)
		n = max(n, i)
	}
	return max(n, plain)
}

var updateDocs = flag.Bool("update-docs", false, "rewrite the rule table in docs/findings.md")

const findingsDoc = "../../docs/findings.md"

// TestRulesDoc keeps the rule table of docs/findings.md the table the code
// uses; go test -run TestRulesDoc -update-docs rewrites it.
func TestRulesDoc(t *testing.T) {
	b, err := os.ReadFile(findingsDoc)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- rules:begin (generated from pkg/efaktura/ruleinfo.go) -->\n", "<!-- rules:end -->"
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q and %q", findingsDoc, begin, end)
	}
	want := doc[:i+len(begin)] + RulesMarkdown() + doc[j:]
	if doc == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(findingsDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's rule table differs from the code's; run go test -run TestRulesDoc ./efaktura -update-docs", findingsDoc)
}

// at returns the byte at 1-based line and column of file.
func at(file []byte, line, col int) (byte, bool) {
	lines := bytes.Split(file, []byte("\n"))
	if line < 1 || line > len(lines) || col < 1 || col > len(lines[line-1]) {
		return 0, false
	}
	return lines[line-1][col-1], true
}

// TestPositions: every finding of every rule case that has a position points
// at a '<': the element's start tag, the start tag of the element that should
// hold a missing one, or a processing instruction; V01 has none, V03 is at 1:1.
func TestPositions(t *testing.T) {
	for _, tc := range ruleCases(t) {
		file := applyEdits(t, readExample(t, tc.file), tc.edits)
		res, err := Validate(context.Background(), bytes.NewReader(file), tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range allFindings(res) {
			switch f.Rule {
			case "V01":
				if f.Line != 0 || f.Column != 0 {
					t.Errorf("%s: V01 at %d:%d, want 0:0", tc.name, f.Line, f.Column)
				}
				continue
			case "V02":
				if f.Line < 1 || f.Column < 1 {
					t.Errorf("%s: V02 at %d:%d, want a position", tc.name, f.Line, f.Column)
				}
				continue
			case "V03":
				if f.Line != 1 || f.Column != 1 {
					t.Errorf("%s: V03 at %d:%d, want 1:1", tc.name, f.Line, f.Column)
				}
				continue
			}
			if c, ok := at(file, f.Line, f.Column); !ok || c != '<' {
				t.Errorf("%s: %s %s at %d:%d, which is %q, want '<'", tc.name, f.Rule, f.Path, f.Line, f.Column, c)
			}
		}
	}
}

// TestPositionsExact pins positions, also on a bundle written on one line,
// where only the column tells elements apart.
func TestPositionsExact(t *testing.T) {
	file := applyEdits(t, readExample(t, invoice), []edit{
		{"<CHECKSUM>202508643,000<", "<CHECKSUM>202508644,000<"},
		{"<TOTAL_DOCUMENT_CHECKSUM>202508643,000<", "<TOTAL_DOCUMENT_CHECKSUM>202508644,000<"}})
	oneLine := regexp.MustCompile(`>\s+<`).ReplaceAll(file, []byte("><"))
	oneLine = bytes.Replace(oneLine, []byte("?><"), []byte("?>\n<"), 1) // the declaration stays on line 1
	for _, tc := range []struct {
		name      string
		file      []byte
		line, col int
	}{
		{"indented", file, 15, 7},
		{"one line", oneLine, 2, bytes.Index(oneLine, []byte("<CHECKSUM>")) - bytes.IndexByte(oneLine, '\n')},
	} {
		res, err := Validate(context.Background(), bytes.NewReader(tc.file), Options{})
		if err != nil {
			t.Fatal(err)
		}
		fs := allFindings(res)
		if len(fs) != 1 || fs[0].Rule != "V26" || fs[0].Line != tc.line || fs[0].Column != tc.col {
			t.Errorf("%s: findings %+v, want V26 at %d:%d", tc.name, fs, tc.line, tc.col)
		}
	}

	// A syntax error is placed where reading stopped: at the bad end tag.
	bad := applyEdits(t, readExample(t, invoice), []edit{{"</DOCUMENT_NO>", "</DOCUMENT_N>"}})
	res, err := Validate(context.Background(), bytes.NewReader(bad), Options{})
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Count(bad[:bytes.Index(bad, []byte("</DOCUMENT_N>"))], []byte("\n")) + 1
	lineStart := bytes.LastIndexByte(bad[:bytes.Index(bad, []byte("</DOCUMENT_N>"))], '\n') + 1
	col := bytes.Index(bad, []byte("</DOCUMENT_N>")) - lineStart + 1
	if f := res.Findings; len(f) != 1 || f[0].Line != line || f[0].Column != col ||
		!strings.Contains(f[0].Message, fmt.Sprintf("line %d, column %d", line, col)) {
		t.Errorf("findings %+v, want V02 at %d:%d", f, line, col)
	}
}
