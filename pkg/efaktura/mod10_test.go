package efaktura

import (
	"errors"
	"strconv"
	"testing"
)

func TestMod10CheckDigit(t *testing.T) {
	tests := []struct {
		body string
		want int
	}{
		// Section 7.2.
		{"1", 8},
		{"00000020250412", 2},
		{"000000202507140", 4},
		{"00000020250042", 7},
		{"98765432109876", 7},
		// Remainder 0 gives 0, not 10.
		{"0", 0},
		{"00000", 0},
		// A product of 10 counts 1: counter 1, check digit 9.
		{"5", 9},
	}
	for _, tt := range tests {
		got, err := Mod10CheckDigit(tt.body)
		if err != nil {
			t.Errorf("Mod10CheckDigit(%q) error = %v", tt.body, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Mod10CheckDigit(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestMod10SeedCounter(t *testing.T) {
	// The seed's example lost its payment id but kept "counter 62 gives check
	// digit 8". From the right: 9×2=18→9 and 9×1=9 three times (54), then
	// 4×2=8, so the counter is 62.
	const body = "4999999"
	if got := mod10Counter(body); got != 62 {
		t.Fatalf("mod10Counter(%q) = %v, want %v", body, got, 62)
	}
	if got, err := Mod10CheckDigit(body); err != nil || got != 8 {
		t.Errorf("Mod10CheckDigit(%q) = %v, %v, want %v, nil", body, got, err, 8)
	}
	if !ValidMod10(body + "8") {
		t.Errorf("ValidMod10(%q) = false, want true", body+"8")
	}
}

func TestMod10Counter(t *testing.T) {
	// The counters of the table in section 7.2.
	tests := []struct {
		body string
		want int
	}{
		{"1", 2},
		{"00000020250412", 18},
		{"000000202507140", 26},
		{"00000020250042", 13},
		{"98765432109876", 73},
	}
	for _, tt := range tests {
		if got := mod10Counter(tt.body); got != tt.want {
			t.Errorf("mod10Counter(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestMod10CheckDigitErrors(t *testing.T) {
	tests := []struct {
		body      string
		notDigits bool
	}{
		{"", false},
		{" ", true},
		{"1 2", true},
		{"12a", true},
		{"-1", true},
		{"１", true}, // fullwidth digit
	}
	for _, tt := range tests {
		got, err := Mod10CheckDigit(tt.body)
		if err == nil {
			t.Errorf("Mod10CheckDigit(%q) = %v, want an error", tt.body, got)
			continue
		}
		if errors.Is(err, ErrNotDigits) != tt.notDigits {
			t.Errorf("Mod10CheckDigit(%q) error = %v, want errors.Is(err, ErrNotDigits) = %v", tt.body, err, tt.notDigits)
		}
	}
}

func TestValidMod10(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		// Full ids of section 7.2.
		{"18", true},
		{"000000202504122", true},
		{"0000002025071404", true},
		{"000000202500427", true},
		{"987654321098767", true},
		{"49999998", true},
		// Standard Luhn test numbers.
		{"79927398713", true},
		{"4111111111111111", true},
		{"00", true},
		// One digit changed, in the body or in the check digit.
		{"19", false},
		{"28", false},
		{"000000202504123", false},
		{"000000202504132", false},
		{"100000202504122", false},
		{"0000002025071405", false},
		{"000000202500428", false},
		{"987654321098768", false},
		// Two adjacent digits swapped (90 <-> 09 is Luhn's known blind spot).
		{"000000202505122", false},
		// Not ids at all.
		{"", false},
		{"0", false},
		{"8", false},
		{"000000 202504122", false},
		{"00000020250412a", false},
		{"+18", false},
	}
	for _, tt := range tests {
		if got := ValidMod10(tt.id); got != tt.want {
			t.Errorf("ValidMod10(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestMod10RoundTrip(t *testing.T) {
	// Appending the check digit to any body gives a valid id, and every other
	// final digit gives an invalid one.
	for n := 0; n < 2000; n++ {
		body := strconv.Itoa(n * 7919)
		c, err := Mod10CheckDigit(body)
		if err != nil {
			t.Fatalf("Mod10CheckDigit(%q) error = %v", body, err)
		}
		for last := 0; last <= 9; last++ {
			id := body + strconv.Itoa(last)
			if got, want := ValidMod10(id), last == c; got != want {
				t.Fatalf("ValidMod10(%q) = %v, want %v", id, got, want)
			}
		}
	}
}
