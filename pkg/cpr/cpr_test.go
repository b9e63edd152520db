package cpr

import "testing"

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"no numbers here", "no numbers here"},
		// CPR numbers: a real date in the first six digits, with and
		// without the hyphen, alone or inside text.
		{"0101001234", "XXXXXXXXXX"},
		{"CPR 010100-1234 is here", "CPR XXXXXX-XXXX is here"},
		{"cpr0101001234x", "cprXXXXXXXXXXx"},
		{"a 0101001234 and 3112991234.", "a XXXXXXXXXX and XXXXXXXXXX."},
		{"1-0101001234", "1-XXXXXXXXXX"},                                 // a hyphen before is not a digit
		{"Ørsted 0101001234", "Ørsted XXXXXXXXXX"},                       // multi-byte text before
		{"borger 290200-1234, se bilag", "borger XXXXXX-XXXX, se bilag"}, // 29 February
		{"290201-1234", "XXXXXX-XXXX"},                                   // 29 February: the century is unknown
		{"310145-4321 (Jens)", "XXXXXX-XXXX (Jens)"},
		{"0101001234,0202001234", "XXXXXXXXXX,XXXXXXXXXX"}, // a list, not a decimal
		{"ends 0101001234.", "ends XXXXXXXXXX."},
		{"ends 0101001234,", "ends XXXXXXXXXX,"},
		// Not CPR numbers: amounts, checksums, payment ids, EAN, CVR,
		// creditor numbers, impossible dates.
		{"123456789", "123456789"},             // nine digits
		{"01010012345", "01010012345"},         // eleven digits
		{"000000202504122", "000000202504122"}, // a FIK payment id
		{"5798000000018", "5798000000018"},     // an EAN number
		{"12345674", "12345674"},               // a CVR or creditor number
		{"010100-12345", "010100-12345"},       // too many after the hyphen
		{"202508643,000", "202508643,000"},     // a checksum
		{"1202508643,000", "1202508643,000"},   // a ten-digit checksum with a date-like start
		{"0101001234.50", "0101001234.50"},     // an amount with a decimal point
		{"3210000000", "3210000000"},           // day 32
		{"3213001234", "3213001234"},           // day 32, month 13
		{"0113001234", "0113001234"},           // month 13
		{"0100001234", "0100001234"},           // month 00
		{"0001001234", "0001001234"},           // day 00
		{"310400-1234", "310400-1234"},         // 31 April
		{"300200-1234", "300200-1234"},         // 30 February
		{"CHECKSUM 202508644,000", "CHECKSUM 202508644,000"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got, want := Contains(tt.in), tt.in != tt.want; got != want {
			t.Errorf("Contains(%q) = %v, want %v", tt.in, got, want)
		}
	}
}

func TestHide(t *testing.T) {
	for in, want := range map[string]string{
		"3213001234": "XXXXXXXXXX", "010100-1234": "XXXXXX-XXXX", "": "", "ab12": "abXX",
	} {
		if got := Hide(in); got != want {
			t.Errorf("Hide(%q) = %q, want %q", in, got, want)
		}
	}
}
