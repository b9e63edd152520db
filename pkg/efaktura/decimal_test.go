package efaktura

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseDecimalValid(t *testing.T) {
	tests := []struct {
		s    string
		p, d int
		want string // in shopspring's period notation
	}{
		// Section 1.7's valid values.
		{"0", 20, 3, "0"},
		{"0,5", 20, 3, "0.5"},
		{"1450,00", 20, 3, "1450"},
		{"9000,000", 20, 3, "9000"},
		{"007,50", 20, 3, "7.5"},
		{"2401,000", 20, 3, "2401"},
		{"12,345", 20, 3, "12.345"},
		{"25", 3, 2, "25"},
		{"25,00", 3, 2, "25"},
		{"100", 3, 0, "100"},
		// Leading zeros count toward p, and p and d are bounds, not exact.
		{"000", 3, 0, "0"},
		{"1", 1, 0, "1"},
		{"9,99", 1, 2, "9.99"},
		// 18 digits is the longest fast-path value.
		{"999999999999999,999", 20, 3, "999999999999999.999"},
		{"999999999999999999", 20, 3, "999999999999999999"},
		// Past 18 digits the slow path keeps the value exact.
		{"9999999999999999,999", 20, 3, "9999999999999999.999"},
		{"99999999999999999999,999", 20, 3, "99999999999999999999.999"},
		{"00000000000000000001,001", 20, 3, "1.001"},
		{"0000002025071404", 16, 0, "2025071404"},
	}
	for _, tt := range tests {
		got, err := ParseDecimal(tt.s, tt.p, tt.d)
		if err != nil {
			t.Errorf("ParseDecimal(%q, %d, %d) error = %v, want nil", tt.s, tt.p, tt.d, err)
			continue
		}
		if want := decimal.RequireFromString(tt.want); !got.Equal(want) {
			t.Errorf("ParseDecimal(%q, %d, %d) = %v, want %v", tt.s, tt.p, tt.d, got, want)
		}
	}
}

func TestParseDecimalKeepsScale(t *testing.T) {
	// Callers may render a value as written, so the scale must survive.
	for _, s := range []string{"1450,00", "0,000", "12,345", "7", "99999999999999999999,999"} {
		v, err := ParseDecimal(s, 20, 3)
		if err != nil {
			t.Fatalf("ParseDecimal(%q) error = %v", s, err)
		}
		places := 0
		if i := strings.IndexByte(s, ','); i >= 0 {
			places = len(s) - i - 1
		}
		if got := FormatDecimal(v, places); got != s {
			t.Errorf("FormatDecimal(ParseDecimal(%q), %d) = %q, want %q", s, places, got, s)
		}
	}
}

func TestParseDecimalInvalid(t *testing.T) {
	tests := []struct {
		s    string
		p, d int
		want string
	}{
		// Section 1.7's invalid values.
		{"1.450,00", 20, 3, "uses a period as a thousands separator; expected none"},
		{"1450.00", 20, 3, "uses a period as the decimal separator; expected a comma"},
		{"-5,00", 20, 3, "has a sign; amounts are unsigned"},
		{",50", 20, 3, "has no digit before the comma"},
		{"5,", 20, 3, "has no digit after the comma"},
		{" 5", 20, 3, "contains a space; expected digits and at most one comma"},
		{"1450,0000", 20, 3, "has 4 digits after the comma; at most 3 allowed"},
		// Further mistakes.
		{"", 20, 3, "is empty"},
		{"+5", 20, 3, "has a sign; amounts are unsigned"},
		{"-5.00", 20, 3, "has a sign; amounts are unsigned"},
		{"1.450.000", 20, 3, "uses a period as a thousands separator; expected none"},
		{".5", 20, 3, "uses a period as the decimal separator; expected a comma"},
		{"5 ", 20, 3, "contains a space; expected digits and at most one comma"},
		{"1 450,00", 20, 3, "contains a space; expected digits and at most one comma"},
		{"1e3", 20, 3, "contains a character other than digits and one comma"},
		{"5,-", 20, 3, "contains a character other than digits and one comma"},
		{"１", 20, 3, "contains a character other than digits and one comma"}, // fullwidth digit
		{"12\t", 20, 3, "contains a character other than digits and one comma"},
		{"1,2,3", 20, 3, "has more than one comma; expected at most one"},
		{",", 20, 3, "has no digit before the comma"},
		{"123456789012345678901", 20, 3, "has 21 digits before the comma; at most 20 allowed"},
		{"123456789012345678901,5", 20, 3, "has 21 digits before the comma; at most 20 allowed"},
		{"0100", 3, 2, "has 4 digits before the comma; at most 3 allowed"},
		{"25,000", 3, 2, "has 3 digits after the comma; at most 2 allowed"},
		{"5,0", 3, 0, "has 1 digit after the comma; no decimals allowed"},
	}
	for _, tt := range tests {
		got, err := ParseDecimal(tt.s, tt.p, tt.d)
		if err == nil {
			t.Errorf("ParseDecimal(%q, %d, %d) = %v, want error %q", tt.s, tt.p, tt.d, got, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseDecimal(%q, %d, %d) error = %q, want %q", tt.s, tt.p, tt.d, err, tt.want)
		}
	}
}

// TestParseDecimalAllocs checks that parsing a common amount allocates no
// more than building the result does: a non-zero decimal.Decimal holds a
// *big.Int and its one-word backing array, two allocations that no public
// constructor of shopspring/decimal avoids.
func TestParseDecimalAllocs(t *testing.T) {
	floor := testing.AllocsPerRun(100, func() { sinkDecimal = decimal.New(145000, -2) })
	for _, s := range []string{"1450,00", "0,00", "202508643,000"} {
		allocs := testing.AllocsPerRun(100, func() {
			v, err := ParseDecimal(s, 20, 3)
			if err != nil {
				t.Fatal(err)
			}
			sinkDecimal = v
		})
		if allocs > floor {
			t.Errorf("ParseDecimal(%q) allocates %v times, want at most %v (decimal.New)", s, allocs, floor)
		}
	}
}

func TestFormatDecimal(t *testing.T) {
	tests := []struct {
		v      string
		places int
		want   string
	}{
		{"2401", 3, "2401,000"},
		{"2401", 0, "2401"},
		{"2401", -1, "2401"},
		{"0", 3, "0,000"},
		{"0", 0, "0"},
		{"0.5", 2, "0,50"},
		{"202521513.5", 3, "202521513,500"},
		{"643.845", 3, "643,845"},
		{"1.005", 2, "1,01"}, // half away from zero
		{"1.004", 2, "1,00"},
		{"-0.51", 2, "-0,51"},
		{"-12.5", 0, "-13"},
		{"99999999999999999999.999", 3, "99999999999999999999,999"},
	}
	for _, tt := range tests {
		v := decimal.RequireFromString(tt.v)
		if got := FormatDecimal(v, tt.places); got != tt.want {
			t.Errorf("FormatDecimal(%q, %d) = %q, want %q", tt.v, tt.places, got, tt.want)
		}
	}
}

var reasonPattern = regexp.MustCompile(`^(is|has|uses|contains) [a-z0-9 ;,]+$`)

// FuzzParseDecimal checks ParseDecimal against the grammar of section 1.7
// written as a regular expression, and the value against shopspring's parser.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "0,5", "1450,00", "007,50", "1.450,00", "-5,00", ",50", "5,", " 5",
		"1450,0000", "99999999999999999999,999", "999999999999999999,9", ""} {
		f.Add(s, 20, 3)
	}
	f.Add("100", 3, 2)
	f.Add("5,0", 3, 0)
	f.Fuzz(func(t *testing.T, s string, p, d int) {
		p, d = p%25, d%5
		if p < 1 || d < 0 {
			return
		}
		// {1,0} is no valid repeat, so d = 0 drops the optional part.
		pattern := fmt.Sprintf(`^[0-9]{1,%d}$`, p)
		if d > 0 {
			pattern = fmt.Sprintf(`^[0-9]{1,%d}(,[0-9]{1,%d})?$`, p, d)
		}
		re := regexp.MustCompile(pattern)
		got, err := ParseDecimal(s, p, d)
		if match := re.MatchString(s); match != (err == nil) {
			t.Fatalf("ParseDecimal(%q, %d, %d) error = %v, want match %v", s, p, d, err, match)
		}
		if err != nil {
			// Reasons are fixed texts and counts, never the value itself.
			if !reasonPattern.MatchString(err.Error()) {
				t.Fatalf("ParseDecimal(%q, %d, %d) error = %q, want a reason matching %v", s, p, d, err, reasonPattern)
			}
			return
		}
		want := decimal.RequireFromString(strings.Replace(s, ",", ".", 1))
		if !got.Equal(want) {
			t.Fatalf("ParseDecimal(%q, %d, %d) = %v, want %v", s, p, d, got, want)
		}
	})
}

var sinkDecimal decimal.Decimal

func BenchmarkParseDecimal(b *testing.B) {
	// Typical amounts of the example files, and a full-width checksum that
	// takes the slow path.
	for _, s := range []string{"1450,00", "202508643,000", "99999999999999999999,999"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := ParseDecimal(s, 20, 3)
				if err != nil {
					b.Fatal(err)
				}
				sinkDecimal = v
			}
		})
	}
}
