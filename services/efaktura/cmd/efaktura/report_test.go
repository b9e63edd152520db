package main

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/golden")

// reportInputs are the spec's examples and an invalid bundle (a wrong
// CHECKSUM, V26, and a wrong NET_PRICE, V34).
var reportInputs = append(append([]string{}, specExamples...), "invalid-invoice.xml")

// TestValidateReportsGolden pins every report format on every input; go
// test -run TestValidateReportsGolden ./cmd/efaktura -update rewrites them.
func TestValidateReportsGolden(t *testing.T) {
	senders := sendersFile(t)
	for _, name := range reportInputs {
		for _, format := range []string{formatText, formatJSON, formatHTML, formatSVRL} {
			t.Run(name+"/"+format, func(t *testing.T) {
				path := filepath.Join("testdata", name)
				code, stdout, stderr := runCmd(t, nil, "validate", "--format", format, "--senders", senders, path)
				want := exitOK
				if strings.HasPrefix(name, "invalid") {
					want = exitInvalid
				}
				if code != want {
					t.Fatalf("exit %d, want %d\nstderr:\n%s", code, want, stderr)
				}
				golden := filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".xml")+"."+format)
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				b, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to write it)", err)
				}
				if stdout != string(b) {
					t.Errorf("report differs from %s (run with -update to rewrite it):\n%s", golden, stdout)
				}
				switch format {
				case formatSVRL:
					checkSVRL(t, stdout)
				case formatHTML:
					checkHTML(t, stdout)
				}
			})
		}
	}
}

// checkSVRL checks that report is well-formed XML with the structure of
// the ISO SVRL schema (svrl.rnc), element by element: schematron-output in
// the SVRL namespace holding text*, then (active-pattern, (fired-rule,
// (failed-assert | successful-report)*)+)+; a fired-rule has a context; a
// failed-assert has location and test, and holds diagnostic-reference*,
// property-reference* and exactly one text, last.
func checkSVRL(t *testing.T, report string) {
	t.Helper()
	const ns = "http://purl.oclc.org/dsdl/svrl"
	type node struct {
		name     xml.Name
		attrs    map[string]string
		children []*node
		text     string
	}
	dec := xml.NewDecoder(strings.NewReader(report))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	if root == nil || root.name != (xml.Name{Space: ns, Local: "schematron-output"}) {
		t.Fatalf("root is %v, want {%s}schematron-output", root, ns)
	}
	var seq []string
	for _, c := range root.children {
		if c.name.Space != ns {
			t.Errorf("%s is not in the SVRL namespace", c.name.Local)
		}
		seq = append(seq, c.name.Local)
		switch c.name.Local {
		case "fired-rule":
			if c.attrs["context"] == "" {
				t.Errorf("fired-rule without context")
			}
		case "failed-assert":
			for _, a := range []string{"id", "location", "test", "flag"} {
				if c.attrs[a] == "" {
					t.Errorf("failed-assert without %s: %v", a, c.attrs)
				}
			}
			if !regexp.MustCompile(`^V[0-9]{2}$`).MatchString(c.attrs["id"]) || !strings.HasPrefix(c.attrs["location"], "/") ||
				(c.attrs["flag"] != "error" && c.attrs["flag"] != "warning") {
				t.Errorf("failed-assert %v: want a rule id, an XPath and error or warning", c.attrs)
			}
			var kids []string
			for _, k := range c.children {
				kids = append(kids, k.name.Local)
			}
			if !regexp.MustCompile(`^(diagnostic-reference )*(property-reference )*text $`).MatchString(strings.Join(kids, " ") + " ") {
				t.Errorf("failed-assert holds %v, want diagnostic-reference*, property-reference*, text", kids)
			}
			if last := c.children[len(c.children)-1]; strings.TrimSpace(last.text) == "" {
				t.Errorf("failed-assert %s has an empty text", c.attrs["id"])
			}
		}
	}
	if !regexp.MustCompile(`^(text )*(active-pattern (fired-rule ((failed-assert|successful-report) )*)+)+$`).MatchString(strings.Join(seq, " ") + " ") {
		t.Errorf("schematron-output holds %v, not text*, (active-pattern, (fired-rule, failed-assert*)+)+", seq)
	}
}

// checkHTML checks the page is Danish, self-contained and free of scripts.
func checkHTML(t *testing.T, page string) {
	t.Helper()
	if !strings.Contains(page, `<html lang="da">`) {
		t.Errorf("the page is not marked Danish")
	}
	for _, bad := range []string{"<script", "<link", "src=", "http://", "https://", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q: it must be self-contained, without scripts", bad)
		}
	}
}

// Values from the file are escaped in the HTML page and the SVRL report.
func TestValidateReportsEscape(t *testing.T) {
	b := replace(t, example(t, "valid-invoice.xml"), "<DOCUMENT_TYPE>INVOICE<", "<DOCUMENT_TYPE>&lt;b&gt;x&lt;/b&gt; 010100-1234<")
	b = replace(t, b, "<RECEIPT_NO>OEH-2025-000412<", "<RECEIPT_NO>&lt;i&gt;&amp;<")
	path := writeFile(t, "evil.xml", b)
	_, page, _ := runCmd(t, nil, "validate", "--format", "html", path)
	checkHTML(t, page)
	if strings.Contains(page, "<b>x") || !strings.Contains(page, "&lt;b&gt;x") || strings.Contains(page, "<i>") || !strings.Contains(page, "&lt;i&gt;&amp;") {
		t.Errorf("the values are not escaped in the page:\n%s", page)
	}
	if strings.Contains(page, "010100-1234") {
		t.Errorf("the page shows a CPR number")
	}
	_, svrl, _ := runCmd(t, nil, "validate", "--format", "svrl", path)
	checkSVRL(t, svrl)
	if !bytes.Contains([]byte(svrl), []byte("&lt;b&gt;x")) {
		t.Errorf("the value is not escaped in the SVRL report")
	}
}

func TestValidateFormatFlags(t *testing.T) {
	good := filepath.Join("testdata", "valid-invoice.xml")
	code, jsonFlag, _ := runCmd(t, nil, "validate", "--json", good)
	code2, jsonFormat, _ := runCmd(t, nil, "validate", "--format", "json", good)
	if code != exitOK || code2 != exitOK || jsonFlag != jsonFormat {
		t.Errorf("--json and --format json differ:\n%s\n%s", jsonFlag, jsonFormat)
	}
	for _, args := range [][]string{
		{"validate", "--format", "pdf", good},
		{"validate", "--json", "--format", "html", good},
		{"validate", "--format", "html", good, good},
		{"validate", "--format", "svrl", good, good},
	} {
		if code, _, stderr := runCmd(t, nil, args...); code != exitError || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a usage error", args, code, stderr)
		}
	}
}
