package efaktura

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

func TestNameValue(t *testing.T) {
	tests := []struct {
		name string
		want int64
	}{
		// Section 6.5.
		{"ABC 234", 351},
		{"Abc 234", 351},
		{"Kærholm Kommune", 1001},
		{"Bo Ørsted", 531},
		{"Kærholm Kommune - Job & Ydelse", 1674},
		// The pitfall of 6.5: undecoded text adds A+M+P.
		{"Kærholm Kommune - Job &amp; Ydelse", 1896},
		// Single characters at the edges of the table.
		{"", 0},
		{"A", 65}, {"Z", 90}, {"a", 65}, {"z", 90},
		{"0", 48}, {"9", 57},
		{"@", 0}, {"[", 0}, {"`", 0}, {"{", 0}, {"/", 0}, {":", 0},
		{"æøåÆØÅ", 0}, {"é", 0}, {"É", 0}, {"ü", 0}, {"ß", 0},
		// Letters outside ASCII that case-fold to ASCII letters still count 0.
		{"\u212A", 0}, // Kelvin sign
		{"\u017F", 0}, // long s
		{"\xff", 0},   // invalid UTF-8
	}
	for _, tt := range tests {
		if got := NameValue(tt.name); got != tt.want {
			t.Errorf("NameValue(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func mustDecimals(ss ...string) []decimal.Decimal {
	ds := make([]decimal.Decimal, len(ss))
	for i, s := range ss {
		d, err := ParseDecimal(s, 20, 3)
		if err != nil {
			panic(s + ": " + err.Error())
		}
		ds[i] = d
	}
	return ds
}

func TestChecksum(t *testing.T) {
	tests := []struct {
		desc      string
		name, fik string
		netPrices []decimal.Decimal
		want      string
	}{
		{"6.6 (a) valid-invoice", "Kærholm Kommune", "000000202504122", mustDecimals("2800,00", "720,00", "0,00"), "202508643,000"},
		{"6.6 (b) valid-creditnote", "Kærholm Kommune", "", mustDecimals("1400,00"), "2401,000"},
		{"6.6 (c) valid-reminder", "Kærholm Kommune", "0000002025071404", mustDecimals("2681,25"), "2025075086,250"},
		{"6.6 (d) document 1", "Kærholm Kommune - Job & Ydelse", "", mustDecimals("4950,00", "2100,00"), "8724,000"},
		{"6.6 (d) document 2", "Kærholm Kommune", "", mustDecimals("8450,00"), "9451,000"},
		{"6.6 (d) document 3", "Kærholm Kommune - Job & Ydelse", "000000202500427", mustDecimals("1237,50"), "202503338,500"},
		{"6.6 (e) three decimals", "Bo Ørsted", "", mustDecimals("12,345", "100", "0,5"), "643,845"},
		{"seed example", "ABC 234", "", mustDecimals("9000,000", "1000,000", "0,000"), "10351,000"},
		{"all parts missing", "", "", nil, "0,000"},
		{"payment id of 16 nines", "", "9999999999999999", nil, "9999999999999999,000"},
		{"payment id past int64", "A", "99999999999999999999", mustDecimals("0,001"), "100000000000000000064,001"},
	}
	for _, tt := range tests {
		got, err := Checksum(tt.name, tt.fik, tt.netPrices)
		if err != nil {
			t.Errorf("%s: Checksum(%q, %q, ...) error = %v", tt.desc, tt.name, tt.fik, err)
			continue
		}
		if s := FormatDecimal(got, 3); s != tt.want {
			t.Errorf("%s: Checksum(%q, %q, ...) = %v, want %v", tt.desc, tt.name, tt.fik, s, tt.want)
		}
	}
}

func TestChecksumNotDigits(t *testing.T) {
	for _, fik := range []string{" ", "00000020250412 2", "+18", "1,8", "１8", "18\n"} {
		_, err := Checksum("ABC", fik, nil)
		if !errors.Is(err, ErrNotDigits) {
			t.Errorf("Checksum(%q, %q, nil) error = %v, want %v", "ABC", fik, err, ErrNotDigits)
		}
	}
}

func TestBundleChecksum(t *testing.T) {
	tests := []struct {
		checksums []decimal.Decimal
		want      string
	}{
		{mustDecimals("8724,000", "9451,000", "202503338,500"), "202521513,500"}, // 6.6 (d)
		{mustDecimals("202508643,000"), "202508643,000"},                         // 6.6 (a)
		{mustDecimals("2401", "2401,000"), "4802,000"},
		{nil, "0,000"},
	}
	for _, tt := range tests {
		if got := FormatDecimal(BundleChecksum(tt.checksums), 3); got != tt.want {
			t.Errorf("BundleChecksum(%v) = %v, want %v", tt.checksums, got, tt.want)
		}
	}
}
