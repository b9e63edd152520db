package efaktura

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func zipOf(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// repeatReader yields n copies of b without holding them in memory.
type repeatReader struct {
	b   []byte
	n   int
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 && r.n > 0 {
		c := copy(p, r.b[r.off:])
		p, total, r.off = p[c:], total+c, r.off+c
		if r.off == len(r.b) {
			r.off, r.n = 0, r.n-1
		}
	}
	if total == 0 {
		return 0, io.EOF
	}
	return total, nil
}

// TestHostileInput feeds inputs built to crash a reader or exhaust its
// memory. Each must end in a clear finding under the expected rule.
func TestHostileInput(t *testing.T) {
	head := `<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>` + "\n" +
		`<INVOICES xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="efaktura.xsd"><REFERENCE>R</REFERENCE><DOCUMENT>`
	valid := readExample(t, invoice)
	deep := head + strings.Repeat("<X>", 100_000) + strings.Repeat("</X>", 100_000) + "</DOCUMENT></INVOICES>"
	cases := []struct {
		name     string
		input    io.Reader
		opts     Options
		want     []string
		contains string // in some message
	}{
		{name: "billion laughs", input: strings.NewReader(`<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<INVOICES>&lol2;</INVOICES>`), want: []string{"V02"}, contains: "DOCTYPE"},
		{name: "external entity", input: strings.NewReader(`<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><INVOICES>&e;</INVOICES>`), want: []string{"V02"}},
		{name: "deep nesting", input: strings.NewReader(deep), want: []string{"V02"}, contains: "nested deeper than 256"},
		{name: "huge attribute", input: strings.NewReader(head[:strings.Index(head, "xmlns")] + `a="` + strings.Repeat("a", 1<<20) + `">`), want: []string{"V02"}, contains: "longer than 65536 bytes"},
		{name: "huge element name", input: strings.NewReader(head + "<" + strings.Repeat("N", 5000) + "/>"), want: []string{"V02"}, contains: "longer than 1024"},
		{name: "huge value", input: bytes.NewReader(applyEdits(t, valid, []edit{{"F-2025-0412", strings.Repeat("9", 10<<20)}})), want: []string{"V17"}, contains: "10485760 characters"},
		{name: "unterminated comment", input: strings.NewReader(head + "<!-- " + strings.Repeat("x", 1<<20)), want: []string{"V02"}, contains: "ends inside a comment"},
		{name: "many unknown elements", input: io.MultiReader(strings.NewReader(head), &repeatReader{b: []byte("<X/>"), n: 400_000}, strings.NewReader("</DOCUMENT></INVOICES>")), want: []string{"V07"}},
		{name: "plain file endless", input: io.MultiReader(strings.NewReader(head), &repeatReader{b: []byte("<!-- pad -->"), n: 1 << 30}), want: []string{"V01"}},
		{name: "UTF-16 with BOM", input: bytes.NewReader([]byte{0xFF, 0xFE, '<', 0, '?', 0}), want: []string{"V03"}},
		{name: "empty file", input: strings.NewReader(""), want: []string{"V03"}, contains: "empty"},
		{name: "binary garbage", input: bytes.NewReader([]byte{0x00, 0x01, 0x02, 0xFF, 0x7F}), want: []string{"V03"}},
		{name: "control byte in a tag", input: strings.NewReader(head + "<A\x01/>"), want: []string{"V02"}},
		{name: "zip with the bundle", input: bytes.NewReader(zipOf(t, map[string][]byte{"bundle.xml": valid}))},
		{name: "zip with two files", input: bytes.NewReader(zipOf(t, map[string][]byte{"a.xml": valid, "b.xml": valid})), want: []string{"V01"}, contains: "2 files"},
		{name: "zip with a directory entry", input: bytes.NewReader(zipOf(t, map[string][]byte{"x/": nil, "x/bundle.xml": valid}))},
		{name: "empty zip", input: bytes.NewReader(zipOf(t, map[string][]byte{})), want: []string{"V01"}, contains: "0 files"},
		{name: "zip over the limit", input: bytes.NewReader(zipOf(t, map[string][]byte{"a.xml": valid})), opts: Options{MaxZipBytes: 100}, want: []string{"V01"}},
		// A reader without ReadAt: the archive is read into memory first.
		{name: "zip from a stream", input: struct{ io.Reader }{bytes.NewReader(zipOf(t, map[string][]byte{"bundle.xml": valid}))}},
		{name: "zip from a stream over the limit", input: struct{ io.Reader }{bytes.NewReader(zipOf(t, map[string][]byte{"a.xml": valid}))}, opts: Options{MaxZipBytes: 100}, want: []string{"V01"}},
		{name: "zip in a section of a file", input: io.NewSectionReader(bytes.NewReader(zipOf(t, map[string][]byte{"bundle.xml": valid})), 0, int64(len(zipOf(t, map[string][]byte{"bundle.xml": valid}))))},
		{name: "zip bomb", input: bytes.NewReader(zipOf(t, map[string][]byte{"a.xml": append([]byte(head), bytes.Repeat([]byte{' '}, 20<<20)...)})), opts: Options{MaxUnzippedBytes: 1 << 20}, want: []string{"V01"}, contains: "expands to more than"},
		{name: "truncated zip", input: bytes.NewReader(zipOf(t, map[string][]byte{"a.xml": valid})[:200]), want: []string{"V01"}},
		{name: "zipped file checked from V02 on", input: bytes.NewReader(zipOf(t, map[string][]byte{"a.xml": []byte("not xml")})), want: []string{"V03"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Validate(context.Background(), tc.input, tc.opts)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := ruleIDs(res); !slices.Equal(got, tc.want) {
				t.Errorf("rule ids = %v, want %v; findings:%s", got, tc.want, describe(res))
			}
			if tc.contains != "" && !strings.Contains(describe(res), tc.contains) {
				t.Errorf("no message mentions %q; findings:%s", tc.contains, describe(res))
			}
		})
	}
}

// TestReadError shows that a failing reader is an error, not a finding.
func TestReadError(t *testing.T) {
	_, err := Validate(context.Background(), io.MultiReader(strings.NewReader("<?xml"), &failingReader{}), Options{})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Validate(failing reader) error = %v, want the reader's error", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestFindingsAreBounded(t *testing.T) {
	valid := readExample(t, invoice)
	var many strings.Builder
	for range 5000 {
		many.WriteString("<NOTE/>")
	}
	file := applyEdits(t, valid, []edit{{"<CURRENCY>", many.String() + "<CURRENCY>"}})
	res, err := Validate(context.Background(), bytes.NewReader(file), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Documents[0].Findings); n != maxFindingsPerDocument {
		t.Errorf("findings kept = %d, want %d", n, maxFindingsPerDocument)
	}
	if res.Suppressed != 5000-maxFindingsPerDocument {
		t.Errorf("Suppressed = %d, want %d", res.Suppressed, 5000-maxFindingsPerDocument)
	}
}

func TestValidateDocumentRejectsFragments(t *testing.T) {
	for _, raw := range []string{"", "<HEADER/>", "<DOCUMENT>", "<DOCUMENT/><DOCUMENT/>", "text<DOCUMENT/>", "<DOCUMENT>\t<X>a\tb</X></DOCUMENT>"} {
		if _, err := ValidateDocument(context.Background(), []byte(raw), 1, Options{}); !errors.Is(err, ErrFragment) {
			t.Errorf("ValidateDocument(%q) error = %v, want ErrFragment", raw, err)
		}
	}
}
