package efaktura

import "fmt"

// isDigits reports whether s consists of ASCII digits only and has between
// min and max bytes (inclusive). Unicode digits do not count: the format's
// identifiers are plain 0-9.
func isDigits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// idFormat is the format an identifier must have, with a description of it
// for messages ("expected " + want).
type idFormat struct {
	valid func(string) bool
	want  both
}

// exactDigits returns a check for exactly n digits.
func exactDigits(n int) func(string) bool {
	return func(s string) bool { return isDigits(s, n, n) }
}

// isPhoneNumber reports whether s is an optional leading '+' followed by 8 to
// 15 digits (FINAL_CUSTOMER_TYPE TLF); 15 is the E.164 maximum.
func isPhoneNumber(s string) bool {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	return isDigits(s, 8, 15)
}

// finalCustomerFormats maps each VT6 value of FINAL_CUSTOMER_TYPE to the
// format FINAL_CUSTOMER must have (section 4.1, rule V49).
var finalCustomerFormats = map[string]idFormat{
	"CPR": {exactDigits(10), digitsWant(10)},
	"TLF": {isPhoneNumber, both{"et valgfrit + efterfulgt af 8 til 15 cifre", "an optional leading + followed by 8 to 15 digits"}},
	"CVR": {exactDigits(8), digitsWant(8)},
	"EAN": {exactDigits(13), digitsWant(13)},
	"PNO": {exactDigits(10), digitsWant(10)},
	"DUN": {exactDigits(9), digitsWant(9)},
}

// partyIDFormats maps SENDER_ID_TYPE and RECEIVER_ID_TYPE values (R3 and R4)
// to the format of SENDER_ID and RECEIVER_ID (section 4.6, rule V25). Which
// types each element allows is the choice table's business (V21), and the
// length limit of CUS is the CSV's (V17), so neither is repeated here.
var partyIDFormats = map[string]idFormat{
	"CVR": {exactDigits(8), digitsWant(8)},
	"EAN": {exactDigits(13), digitsWant(13)},
	"CUS": {func(string) bool { return true }, both{"en vilkårlig tekst", "any text"}},
}

// digitsWant is "exactly n digits" for a message.
func digitsWant(n int) both {
	return both{fmt.Sprintf("præcis %d cifre", n), fmt.Sprintf("exactly %d digits", n)}
}
