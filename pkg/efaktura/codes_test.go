package efaktura

import "testing"

func TestCodeListSizes(t *testing.T) {
	tests := []struct {
		name string
		set  func() map[string]struct{}
		want int
	}{
		{"country codes", countryCodes, 249},
		{"currency codes", currencyCodes, 181},
		{"postal codes", postalCodes, 1119},
	}
	for _, tt := range tests {
		if got := len(tt.set()); got != tt.want {
			t.Errorf("len(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestIsCountryCode(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"DK", true}, {"dk", true}, {"Dk", true}, {"dK", true},
		{"SE", true}, {"GB", true}, {"DE", true}, {"AD", true}, {"ZW", true},
		{"XX", false}, {"DNK", false}, {"UK", false}, {"208", false},
		{"", false}, {"D", false}, {" DK", false}, {"DK ", false}, {"D K", false},
		{"ÐK", false}, {"\x00\x00", false},
	}
	for _, tt := range tests {
		if got := IsCountryCode(tt.code); got != tt.want {
			t.Errorf("IsCountryCode(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestIsCurrencyCode(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"DKK", true}, {"EUR", true}, {"SEK", true}, {"NOK", true}, {"USD", true}, {"GBP", true},
		{"dkk", false}, {"Dkk", false}, {"ABC", false}, {"DEM", false},
		{"", false}, {"DK", false}, {"DKKK", false}, {" DKK", false}, {"208", false},
	}
	for _, tt := range tests {
		if got := IsCurrencyCode(tt.code); got != tt.want {
			t.Errorf("IsCurrencyCode(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestIsDanishPostalCode(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"8600", true}, {"4300", true}, {"0800", true}, {"1000", true}, {"9990", true},
		{"800", false}, {"0960", false}, {"86000", false}, {"86a0", false},
		{"0000", false}, {"", false}, {" 8600", false}, {"8600 ", false}, {"DK-8600", false},
		{"８６００", false}, // fullwidth digits
	}
	for _, tt := range tests {
		if got := IsDanishPostalCode(tt.code); got != tt.want {
			t.Errorf("IsDanishPostalCode(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestCodeSetsAreWellFormed(t *testing.T) {
	// Every entry of a list has the shape its check expects, so no list entry
	// is unreachable.
	for code := range countryCodes() {
		if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
			t.Errorf("country code %q is not two upper-case letters", code)
		}
	}
	for code := range currencyCodes() {
		if len(code) != 3 {
			t.Errorf("currency code %q is not three letters", code)
		}
	}
	for code := range postalCodes() {
		if !isDigits(code, 4, 4) {
			t.Errorf("postal code %q is not four digits", code)
		}
	}
}

func TestMustCodeSetPanics(t *testing.T) {
	tests := []struct {
		name, data, column string
	}{
		{"missing column", "a,b\n1,2\n", "c"},
		{"empty", "", "a"},
		{"bad quoting", "a\n\"1\n", "a"},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: mustCodeSet(%q, %q) did not panic", tt.name, tt.data, tt.column)
				}
			}()
			mustCodeSet(tt.data, ',', tt.column)
		}()
	}
}

func BenchmarkIsCountryCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !IsCountryCode("dk") {
			b.Fatal("dk rejected")
		}
	}
}
