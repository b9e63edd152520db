package efaktura

import (
	"strings"
	"testing"
)

func TestIsDigits(t *testing.T) {
	tests := []struct {
		s        string
		min, max int
		want     bool
	}{
		{"", 0, 0, true},
		{"", 1, 4, false},
		{"1", 1, 4, true},
		{"1234", 1, 4, true},
		{"12345", 1, 4, false},
		{"0000", 4, 4, true},
		{"123", 4, 4, false},
		{"12a4", 4, 4, false},
		{"12 4", 4, 4, false},
		{"-123", 4, 4, false},
		{"１２３４", 1, 20, false}, // fullwidth digits
		{"٣", 1, 4, false},     // Arabic-Indic digit
	}
	for _, tt := range tests {
		if got := isDigits(tt.s, tt.min, tt.max); got != tt.want {
			t.Errorf("isDigits(%q, %d, %d) = %v, want %v", tt.s, tt.min, tt.max, got, tt.want)
		}
	}
}

// digitsOf returns n digits.
func digitsOf(n int) string { return strings.Repeat("7", n) }

// exactDigitCases checks an exactly-n-digits format at its boundaries.
func exactDigitCases(n int) map[string]bool {
	return map[string]bool{
		digitsOf(n - 1):                         false,
		digitsOf(n):                             true,
		digitsOf(n + 1):                         false,
		strings.Repeat("0", n):                  true,
		digitsOf(n-1) + "x":                     false,
		" " + digitsOf(n-1):                     false,
		"+" + digitsOf(n-1):                     false,
		digitsOf(n/2) + "-" + digitsOf(n-n/2-1): false,
		"":                                      false,
	}
}

// checkIDFormats checks that formats, the table called name, has exactly the
// types of tests, each described and judging its cases as listed.
func checkIDFormats(t *testing.T, name string, formats map[string]idFormat, tests map[string]map[string]bool) {
	t.Helper()
	if len(formats) != len(tests) {
		t.Errorf("len(%s) = %v, want %v", name, len(formats), len(tests))
	}
	for typ, cases := range tests {
		f, ok := formats[typ]
		if !ok {
			t.Errorf("%s[%q] missing", name, typ)
			continue
		}
		if f.want.en == "" || f.want.da == "" {
			t.Errorf("%s[%q].want is empty", name, typ)
		}
		for s, want := range cases {
			if got := f.valid(s); got != want {
				t.Errorf("%s[%q].valid(%q) = %v, want %v", name, typ, s, got, want)
			}
		}
	}
}

func TestFinalCustomerFormats(t *testing.T) {
	tests := map[string]map[string]bool{
		"CPR": exactDigitCases(10),
		"PNO": exactDigitCases(10),
		"CVR": exactDigitCases(8),
		"EAN": exactDigitCases(13),
		"DUN": exactDigitCases(9),
		"TLF": {
			digitsOf(7):        false,
			digitsOf(8):        true,
			digitsOf(15):       true,
			digitsOf(16):       false,
			"+" + digitsOf(7):  false,
			"+" + digitsOf(8):  true,
			"+4512345678":      true,
			"+" + digitsOf(15): true,
			"+" + digitsOf(16): false,
			"++4512345678":     false,
			"45+12345678":      false,
			"4512345678+":      false,
			"+45 12345678":     false,
			"12 34 56 78":      false,
			"+":                false,
			"":                 false,
		},
	}
	checkIDFormats(t, "finalCustomerFormats", finalCustomerFormats, tests)
}

func TestPartyIDFormats(t *testing.T) {
	tests := map[string]map[string]bool{
		"CVR": exactDigitCases(8),
		"EAN": exactDigitCases(13),
		"CUS": {"K-1001": true, "12345678": true, "kunde 7": true, strings.Repeat("x", 35): true},
	}
	checkIDFormats(t, "partyIDFormats", partyIDFormats, tests)
}

func TestIDFormatDescriptions(t *testing.T) {
	tests := []struct {
		f    idFormat
		want string
	}{
		{finalCustomerFormats["CPR"], "exactly 10 digits"},
		{finalCustomerFormats["TLF"], "an optional leading + followed by 8 to 15 digits"},
		{finalCustomerFormats["CVR"], "exactly 8 digits"},
		{finalCustomerFormats["EAN"], "exactly 13 digits"},
		{finalCustomerFormats["PNO"], "exactly 10 digits"},
		{finalCustomerFormats["DUN"], "exactly 9 digits"},
		{partyIDFormats["CVR"], "exactly 8 digits"},
		{partyIDFormats["EAN"], "exactly 13 digits"},
		{partyIDFormats["CUS"], "any text"},
	}
	for _, tt := range tests {
		if tt.f.want.en != tt.want {
			t.Errorf("want = %q, want %q", tt.f.want.en, tt.want)
		}
	}
}
