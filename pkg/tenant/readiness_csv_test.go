package tenant

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// A name that a spreadsheet would read as a formula is written as text.
func TestReadinessCSVHoldsNoFormula(t *testing.T) {
	var b bytes.Buffer
	rows := []Readiness{{Kommune: "0101", Name: `=HYPERLINK("http://x","klik")`, EconomySystem: "+erp"}, {Kommune: "0202", Name: "Aabenraa Kommune"}}
	if err := WriteReadinessCSV(&b, rows); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("CSV %q: %v", b.String(), err)
	}
	if got := recs[1][1]; got != `'=HYPERLINK("http://x","klik")` {
		t.Errorf("name cell %q; want it prefixed with an apostrophe", got)
	}
	if got := recs[1][4]; got != "'+erp" {
		t.Errorf("economy system cell %q; want '+erp", got)
	}
	if got := recs[2][1]; got != "Aabenraa Kommune" {
		t.Errorf("a plain name became %q", got)
	}
}
