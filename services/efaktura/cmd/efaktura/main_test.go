package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// The four examples of the specification, copied from pkg/efaktura/testdata/valid.
var specExamples = []string{
	"valid-bundle-3-documents.xml",
	"valid-creditnote.xml",
	"valid-invoice.xml",
	"valid-reminder.xml",
}

// runCmd runs the program with args and stdin and returns its exit status
// and output.
func runCmd(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, bytes.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// sendersFile writes the register of the senders in the examples.
func sendersFile(t *testing.T) string {
	t.Helper()
	return writeFile(t, "senders.csv", []byte("type,id,nets\nCVR,12345674,false\nCVR,24680134,false\nEAN,7350000000030,false\n"))
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replace replaces old by new in the ISO-8859-1 bytes of b, exactly once.
func replace(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if n := bytes.Count(b, []byte(old)); n != 1 {
		t.Fatalf("%q occurs %d times, want 1", old, n)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

// wrongChecksum is valid-invoice.xml with a CHECKSUM one too high and
// TOTAL_DOCUMENT_CHECKSUM raised to match, so that the bundle passes V09 and
// the document fails V26.
func wrongChecksum(t *testing.T) []byte {
	b := replace(t, example(t, "valid-invoice.xml"), "<CHECKSUM>202508643,000</CHECKSUM>", "<CHECKSUM>202508644,000</CHECKSUM>")
	return replace(t, b, "<TOTAL_DOCUMENT_CHECKSUM>202508643,000</TOTAL_DOCUMENT_CHECKSUM>", "<TOTAL_DOCUMENT_CHECKSUM>202508644,000</TOTAL_DOCUMENT_CHECKSUM>")
}

// wrongChecksumOnly changes the CHECKSUM alone: V09 then rejects the bundle
// as a whole, and the result holds no documents.
func wrongChecksumOnly(t *testing.T) []byte {
	return replace(t, example(t, "valid-invoice.xml"), "<CHECKSUM>202508643,000</CHECKSUM>", "<CHECKSUM>202508644,000</CHECKSUM>")
}

// jsonLines parses stdout as JSON Lines, checking that every line is one
// object with exactly the keys of a Result, and returns the results.
func jsonLines(t *testing.T, stdout string) []efaktura.Result {
	t.Helper()
	if !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("output does not end in a newline: %q", stdout)
	}
	var results []efaktura.Result
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", i+1, err, line)
		}
		if got, want := keys(obj), []string{"documents", "file", "findings", "ruleset", "valid"}; !slices.Equal(got, want) {
			t.Errorf("line %d has keys %v, want %v", i+1, got, want)
		}
		var docs []map[string]json.RawMessage
		if err := json.Unmarshal(obj["documents"], &docs); err != nil {
			t.Fatalf("line %d: documents: %v", i+1, err)
		}
		for j, d := range docs {
			if got, want := keys(d), []string{"document_no", "findings", "index", "receipt_no", "valid"}; !slices.Equal(got, want) {
				t.Errorf("line %d, document %d has keys %v, want %v", i+1, j+1, got, want)
			}
		}
		var res efaktura.Result
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&res); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		results = append(results, res)
	}
	return results
}

func keys(m map[string]json.RawMessage) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// rules lists the rules of all findings of res, file level first.
func rules(res efaktura.Result) []string {
	var rs []string
	for _, f := range res.Findings {
		rs = append(rs, f.Rule)
	}
	for _, d := range res.Documents {
		for _, f := range d.Findings {
			rs = append(rs, f.Rule)
		}
	}
	return rs
}

func TestValidateSpecExamples(t *testing.T) {
	senders := sendersFile(t)
	for _, name := range specExamples {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			code, stdout, stderr := runCmd(t, nil, "validate", "--senders", senders, path)
			if code != exitOK {
				t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if want := path + ": VALID (rule set " + efaktura.Ruleset + ")\n"; !strings.HasPrefix(stdout, want) {
				t.Errorf("report starts %q, want %q", firstLine(stdout), want)
			}
			if strings.Contains(stdout, "V24") {
				t.Errorf("report mentions V24 although --senders was given:\n%s", stdout)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		args := []string{"validate", "--json", "--senders", senders}
		for _, name := range specExamples {
			args = append(args, filepath.Join("testdata", name))
		}
		code, stdout, stderr := runCmd(t, nil, args...)
		if code != exitOK {
			t.Fatalf("exit %d, want 0\nstderr:\n%s", code, stderr)
		}
		results := jsonLines(t, stdout)
		if len(results) != len(specExamples) {
			t.Fatalf("got %d JSON lines, want %d", len(results), len(specExamples))
		}
		for i, res := range results {
			if want := filepath.Join("testdata", specExamples[i]); res.File != want || !res.Valid || res.Ruleset != efaktura.Ruleset {
				t.Errorf("line %d: file %q valid %v ruleset %q, want %q true %q", i+1, res.File, res.Valid, res.Ruleset, want, efaktura.Ruleset)
			}
		}
		if strings.Contains(stderr, "V24") {
			t.Errorf("stderr mentions V24 although --senders was given: %s", stderr)
		}
	})
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func TestValidateInvalid(t *testing.T) {
	senders := sendersFile(t)
	tests := []struct {
		name     string
		data     []byte
		json     bool
		wantRule string
		wantText string
	}{
		{"V26 text", wrongChecksum(t), false, "V26", "  V26 error /INVOICES/DOCUMENT[1]/HEADER/CHECKSUM at 15:7: CHECKSUM is 202508644,000; expected 202508643,000"},
		{"V26 json", wrongChecksum(t), true, "V26", ""},
		{"V09 text", wrongChecksumOnly(t), false, "V09", "  V09 error /INVOICES/TOTAL_DOCUMENT_CHECKSUM at 162:3: "},
		{"V09 json", wrongChecksumOnly(t), true, "V09", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "mutant.xml", tt.data)
			args := []string{"validate", "--senders", senders, path}
			if tt.json {
				args = append(args, "--json") // flags may follow the files
			}
			code, stdout, stderr := runCmd(t, nil, args...)
			if code != exitInvalid {
				t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if tt.json {
				results := jsonLines(t, stdout)
				if len(results) != 1 || results[0].Valid || !slices.Contains(rules(results[0]), tt.wantRule) {
					t.Errorf("want one invalid result with %s, got %s", tt.wantRule, stdout)
				}
				return
			}
			if !strings.HasPrefix(stdout, path+": INVALID (rule set ") {
				t.Errorf("report starts %q, want %q", firstLine(stdout), path+": INVALID ...")
			}
			if !strings.Contains(stdout, tt.wantText) {
				t.Errorf("report lacks %q:\n%s", tt.wantText, stdout)
			}
		})
	}
}

// An invalid file does not stop the others from being validated.
func TestValidateSeveralFiles(t *testing.T) {
	senders := sendersFile(t)
	bad := writeFile(t, "bad.xml", wrongChecksum(t))
	good := filepath.Join("testdata", "valid-reminder.xml")
	code, stdout, stderr := runCmd(t, nil, "validate", "--json", "--senders", senders, bad, good)
	if code != exitInvalid {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", code, stderr)
	}
	results := jsonLines(t, stdout)
	if len(results) != 2 || results[0].Valid || !results[1].Valid {
		t.Errorf("want an invalid and a valid result, got:\n%s", stdout)
	}
}

func TestValidateStdin(t *testing.T) {
	senders := sendersFile(t)
	tests := []struct {
		name     string
		stdin    []byte
		json     bool
		wantCode int
	}{
		{"valid text", example(t, "valid-creditnote.xml"), false, exitOK},
		{"valid json", example(t, "valid-creditnote.xml"), true, exitOK},
		{"invalid json", wrongChecksum(t), true, exitInvalid},
		{"empty", nil, false, exitInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"validate", "--senders", senders}
			if tt.json {
				args = append(args, "--json")
			}
			code, stdout, stderr := runCmd(t, tt.stdin, append(args, "-")...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			if tt.json {
				if res := jsonLines(t, stdout); len(res) != 1 || res[0].File != "-" {
					t.Errorf("want one result for file \"-\", got:\n%s", stdout)
				}
			} else if !strings.HasPrefix(stdout, "<stdin>: ") {
				t.Errorf("report starts %q, want it to name <stdin>", firstLine(stdout))
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.xml")
	good := filepath.Join("testdata", "valid-invoice.xml")
	badSenders := writeFile(t, "bad-senders.csv", []byte("id,type\n1,2\n"))
	tests := []struct {
		name       string
		args       []string
		wantStderr string // a part of stderr
		wantStdout string // a part of stdout; "" wants it empty
	}{
		{"missing file", []string{"validate", missing}, "missing.xml", ""},
		{"missing file among others", []string{"validate", missing, good}, "missing.xml", good + ": VALID"},
		{"missing file json", []string{"validate", "--json", good, missing}, "missing.xml", `{"file":"` + good + `"`},
		{"unknown flag", []string{"validate", "--strict", good}, "flag provided but not defined: -strict", ""},
		{"no files", []string{"validate"}, "no files given", ""},
		{"no files json", []string{"validate", "--json"}, "no files given", ""},
		{"bad profile", []string{"validate", "--profile", "receiver", good}, "must be sender or delivered", ""},
		{"missing senders file", []string{"validate", "--senders", filepath.Join(dir, "nope.csv"), good}, "nope.csv", ""},
		{"bad senders file", []string{"validate", "--senders", badSenders, good}, "bad-senders.csv", ""},
		{"stdin twice", []string{"validate", "-", "-"}, "standard input", ""},
		{"directory", []string{"validate", dir}, dir, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, nil, tt.args...)
			if code != exitError {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr)
			}
			if tt.wantStdout == "" && stdout != "" || !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout is %q, want it to hold %q", stdout, tt.wantStdout)
			}
		})
	}
}

// Without --senders, V24 and V48 are not applied and the output says so: in
// the report, or on stderr in JSON mode.
func TestValidateSkippedRulesNote(t *testing.T) {
	file := filepath.Join("testdata", "valid-invoice.xml")
	const note = "note: V24, V48 not applied: no sender register given (use --senders FILE)\n"

	code, stdout, stderr := runCmd(t, nil, "validate", file)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, note) {
		t.Errorf("report lacks %q:\n%s", note, stdout)
	}
	if stderr != "" {
		t.Errorf("stderr is %q, want it empty", stderr)
	}

	code, stdout, stderr = runCmd(t, nil, "validate", "--json", file, file)
	if code != exitOK {
		t.Fatalf("json: exit %d, want 0\nstderr:\n%s", code, stderr)
	}
	if n := len(jsonLines(t, stdout)); n != 2 {
		t.Errorf("json: %d lines, want 2", n)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "note: ") || !strings.Contains(stderr, "V24, V48") {
		t.Errorf("json: stderr is %q, want one note line naming V24, V48", stderr)
	}
}

func TestChecksum(t *testing.T) {
	broken := replace(t, example(t, "valid-invoice.xml"), `standalone="yes"`, `standalone="no"`)
	tests := []struct {
		name     string
		data     []byte // written to a file, unless file is set
		file     string
		stdin    bool
		wantCode int
		want     []string // parts of stdout
	}{
		{name: "valid invoice", file: "valid-invoice.xml", wantCode: exitOK, want: []string{
			"1 OEH-2025-000412 202508643,000 202508643,000 OK\n",
			"TOTAL_DOCUMENT_CHECKSUM 202508643,000\n",
			"sum of the declared CHECKSUMs 202508643,000 OK\n",
			"sum of the computed checksums 202508643,000 OK\n"}},
		{name: "bundle of 3", file: "valid-bundle-3-documents.xml", wantCode: exitOK, want: []string{
			"3 NRD-2025-001181 202503338,500 202503338,500 OK\n",
			"TOTAL_DOCUMENT_CHECKSUM 202521513,500\n",
			"sum of the declared CHECKSUMs 202521513,500 OK\n",
			"sum of the computed checksums 202521513,500 OK\n"}},
		{name: "stdin", file: "valid-reminder.xml", stdin: true, wantCode: exitOK, want: []string{"<stdin>", "2025075086,250 2025075086,250 OK\n"}},
		{name: "wrong checksum", data: wrongChecksum(t), wantCode: exitInvalid, want: []string{
			"202508644,000 202508643,000 MISMATCH\n",
			"TOTAL_DOCUMENT_CHECKSUM 202508644,000\n",
			"sum of the declared CHECKSUMs 202508644,000 OK\n",
			"sum of the computed checksums 202508643,000 MISMATCH\n"}},
		{name: "P_FIK_NO not a number", data: replace(t, example(t, "valid-invoice.xml"), "<P_FIK_NO>000000202504122<", "<P_FIK_NO>00000020250412x<"), wantCode: exitInvalid, want: []string{
			"202508643,000 (none: P_FIK_NO is not a number) MISMATCH\n",
			"sum of the computed checksums (none: no value for document 1)\n"}},
		{name: "wrong checksum, total unchanged", data: wrongChecksumOnly(t), wantCode: exitInvalid, want: []string{
			"202508644,000 202508643,000 MISMATCH\n",
			"TOTAL_DOCUMENT_CHECKSUM 202508643,000\n",
			"sum of the declared CHECKSUMs 202508644,000 MISMATCH\n",
			"sum of the computed checksums 202508643,000 OK\n"}},
		{name: "total missing", data: replace(t, example(t, "valid-invoice.xml"), "<TOTAL_DOCUMENT_CHECKSUM>202508643,000</TOTAL_DOCUMENT_CHECKSUM>", ""), wantCode: exitInvalid, want: []string{
			"202508643,000 202508643,000 OK\n",
			"TOTAL_DOCUMENT_CHECKSUM (missing)\n",
			"sum of the declared CHECKSUMs 202508643,000 MISMATCH\n"}},
		{name: "file rule fails", data: broken, wantCode: exitInvalid, want: []string{"no checksums", "V03 error / at 1:1: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			var stdin []byte
			switch {
			case tt.stdin:
				path, stdin = "-", example(t, tt.file)
			case tt.file != "":
				path = filepath.Join("testdata", tt.file)
			default:
				path = writeFile(t, "bundle.xml", tt.data)
			}
			code, stdout, stderr := runCmd(t, stdin, "checksum", path)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tt.wantCode, stderr)
			}
			squeezed := squeeze(stdout)
			for _, w := range tt.want {
				if !strings.Contains(squeezed, w) {
					t.Errorf("output lacks %q (spaces squeezed):\n%s", w, stdout)
				}
			}
		})
	}
}

// squeeze trims every line and turns each run of spaces into one, so that
// tests do not depend on the column widths.
func squeeze(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

func TestChecksumErrors(t *testing.T) {
	good := filepath.Join("testdata", "valid-invoice.xml")
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"missing file", []string{"checksum", filepath.Join(t.TempDir(), "missing.xml")}, "missing.xml"},
		{"no file", []string{"checksum"}, "exactly one FILE"},
		{"two files", []string{"checksum", good, good}, "exactly one FILE"},
		{"unknown flag", []string{"checksum", "--json", good}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, nil, tt.args...)
			if code != exitError || stdout != "" || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", code, stdout, stderr, tt.wantStderr)
			}
		})
	}
}

// A sample bundle, plain or zipped, on stdout or in a file, validates.
func TestSampleValidates(t *testing.T) {
	senders := sendersFile(t)
	tests := []struct {
		name string
		args []string
		zip  bool
	}{
		{"default", nil, false},
		{"several documents", []string{"--documents", "5", "--lines", "4", "--seed", "42"}, false},
		{"one line", []string{"--documents", "2", "--lines", "1", "--seed", "7"}, false},
		{"zip", []string{"--zip", "--documents", "3"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, bundle, stderr := runCmd(t, nil, append([]string{"sample"}, tt.args...)...)
			if code != exitOK || stderr != "" {
				t.Fatalf("sample: exit %d, stderr %q", code, stderr)
			}
			if tt.zip {
				zr, err := zip.NewReader(strings.NewReader(bundle), int64(len(bundle)))
				if err != nil {
					t.Fatalf("sample --zip: %v", err)
				}
				if len(zr.File) != 1 || zr.File[0].Name != "bundle.xml" {
					t.Fatalf("sample --zip: archive holds %d files, the first %q; want only bundle.xml", len(zr.File), zr.File[0].Name)
				}
			} else if !strings.HasPrefix(bundle, `<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>`) {
				t.Fatalf("sample starts %q", firstLine(bundle))
			}
			code, stdout, stderr := runCmd(t, []byte(bundle), "validate", "--senders", senders, "-")
			if code != exitOK {
				t.Errorf("validate: exit %d, want 0\n%s%s", code, stdout, stderr)
			}

			// The same through a file written with -o.
			path := filepath.Join(t.TempDir(), "sample.out")
			if code, stdout, stderr := runCmd(t, nil, append([]string{"sample", "-o", path}, tt.args...)...); code != exitOK || stdout != "" || stderr != "" {
				t.Fatalf("sample -o: exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			written, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(written, []byte(bundle)) {
				t.Errorf("sample -o wrote other bytes than sample to stdout (the same seed should give the same bundle)")
			}
			if code, stdout, stderr := runCmd(t, nil, "validate", "--senders", senders, path); code != exitOK {
				t.Errorf("validate %s: exit %d, want 0\n%s%s", path, code, stdout, stderr)
			}
		})
	}
}

func TestSampleErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"no documents", []string{"sample", "--documents", "0"}, "--documents must be"},
		{"too many documents", []string{"sample", "--documents", "1001"}, "--documents must be 1 to 1000"},
		{"no lines", []string{"sample", "--lines", "0"}, "--lines must be"},
		{"not a number", []string{"sample", "--seed", "x"}, "invalid value"},
		{"operand", []string{"sample", "out.xml"}, "takes no arguments"},
		{"unwritable", []string{"sample", "-o", filepath.Join(t.TempDir(), "no", "such", "dir.xml")}, "dir.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, nil, tt.args...)
			if code != exitError || stdout != "" || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", code, stdout, stderr, tt.wantStderr)
			}
		})
	}
}

func TestHelpVersionUnknown(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"help", []string{"help"}, exitOK, []string{"validate ", "checksum ", "sample ", "version "}, nil},
		{"-h", []string{"-h"}, exitOK, []string{"validate ", "checksum ", "sample ", "version "}, nil},
		{"no args", nil, exitError, nil, []string{"validate ", "checksum "}},
		{"unknown command", []string{"frobnicate"}, exitError, nil, []string{`unknown command "frobnicate"`, "validate "}},
		{"validate -h", []string{"validate", "-h"}, exitOK, []string{"Usage: efaktura validate", "-senders"}, nil},
		{"sample --help", []string{"sample", "--help"}, exitOK, []string{"Usage: efaktura sample", "-zip"}, nil},
		{"version", []string{"version"}, exitOK, []string{"efaktura ", "rule set " + efaktura.Ruleset + "\n"}, nil},
		{"version with operand", []string{"version", "x"}, exitError, nil, []string{"takes no arguments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, nil, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			check := func(what, got string, want []string) {
				if len(want) == 0 && got != "" {
					t.Errorf("%s is %q, want it empty", what, got)
				}
				for _, w := range want {
					if !strings.Contains(got, w) {
						t.Errorf("%s lacks %q:\n%s", what, w, got)
					}
				}
			}
			check("stdout", stdout, tt.wantStdout)
			check("stderr", stderr, tt.wantStderr)
		})
	}
}

// A canceled context stops validation with exit status 2.
func TestValidateCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code := run(ctx, []string{"validate", filepath.Join("testdata", "valid-invoice.xml")}, strings.NewReader(""), io.Discard, io.Discard)
	if code != exitError {
		t.Errorf("exit %d, want 2", code)
	}
}
