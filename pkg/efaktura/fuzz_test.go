package efaktura

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var ruleID = regexp.MustCompile(`^V(0[1-9]|[1-4][0-9]|5[01])$`)

// FuzzValidate feeds the reader arbitrary bytes. Whatever comes in, it must
// not panic or fail, and its result must be consistent. The seed corpus in
// testdata/fuzz/FuzzValidate holds small hostile files; the spec examples
// are added here.
func FuzzValidate(f *testing.F) {
	files, _ := filepath.Glob("testdata/valid/*.xml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Validate(context.Background(), bytes.NewReader(data), Options{Senders: exampleSenders()})
		if err != nil {
			t.Fatalf("Validate error on in-memory input: %v", err)
		}
		checkResult(t, res)
		again, _ := Validate(context.Background(), bytes.NewReader(data), Options{Senders: exampleSenders()})
		a, _ := json.Marshal(res)
		b, _ := json.Marshal(again)
		if !bytes.Equal(a, b) {
			t.Fatalf("two runs disagree:\n%s\n%s", a, b)
		}
	})
}

// checkResult asserts what holds for every result.
func checkResult(t *testing.T, res *Result) {
	t.Helper()
	all := allFindings(res)
	for i, d := range res.Documents {
		if d.Index != i+1 {
			t.Errorf("document %d has index %d", i+1, d.Index)
		}
		if d.Valid == hasError(d.Findings) {
			t.Errorf("document %d: Valid = %v with findings %v", d.Index, d.Valid, d.Findings)
		}
	}
	for _, f := range all {
		if !ruleID.MatchString(f.Rule) || f.Severity != SeverityError && f.Severity != SeverityWarning ||
			len(f.Path) == 0 || f.Path[0] != '/' || f.Message == "" {
			t.Errorf("malformed finding %+v", f)
		}
	}
	if hasError(res.Findings) && (res.Valid || len(res.Documents) > 0) {
		t.Errorf("a rejected bundle has Valid = %v and %d documents", res.Valid, len(res.Documents))
	}
	if res.Valid && hasError(all) {
		t.Errorf("Valid with error findings")
	}
	if !res.Valid && !hasError(all) {
		t.Errorf("invalid without an error finding")
	}
}
