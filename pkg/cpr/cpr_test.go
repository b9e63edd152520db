package cpr

import "testing"

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"no numbers here", "no numbers here"},
		{"0101001234", "XXXXXXXXXX"},
		{"CPR 010100-1234 is here", "CPR XXXXXX-XXXX is here"},
		{"cpr0101001234x", "cprXXXXXXXXXXx"},
		{"a 0101001234 and 3112991234.", "a XXXXXXXXXX and XXXXXXXXXX."},
		{"123456789", "123456789"},                 // nine digits
		{"01010012345", "01010012345"},             // eleven digits
		{"000000202504122", "000000202504122"},     // a FIK payment id
		{"12345674", "12345674"},                   // a CVR number
		{"010100-12345", "010100-12345"},           // too many after the hyphen
		{"1-0101001234", "1-XXXXXXXXXX"},           // a hyphen before is not a digit
		{"Ørsted 0101001234", "Ørsted XXXXXXXXXX"}, // multi-byte text before
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
