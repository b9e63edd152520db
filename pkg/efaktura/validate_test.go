package efaktura

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// exampleSenders is the register the spec's examples need (section 10).
func exampleSenders() SenderTable {
	t := SenderTable{}
	for _, s := range []Sender{{Type: "CVR", ID: "12345674"}, {Type: "CVR", ID: "24680134"}, {Type: "EAN", ID: "7350000000030"}} {
		t.Add(s)
	}
	return t
}

func validateFile(t *testing.T, path string, opts Options) *Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Validate(context.Background(), f, opts)
	if err != nil {
		t.Fatalf("Validate(%s): %v", path, err)
	}
	return res
}

func TestSpecExamplesAreValid(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.xml")
	if len(files) != 4 {
		t.Fatalf("found %d example files, want 4", len(files))
	}
	for _, f := range files {
		res := validateFile(t, f, Options{Senders: exampleSenders()})
		if !res.Valid {
			b, _ := json.MarshalIndent(res, "", "  ")
			t.Errorf("%s: not valid:\n%s", f, b)
		}
	}
}
