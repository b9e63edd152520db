package efaktura

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// ErrNotDigits is returned, wrapped, when a value that must consist of ASCII
// digits only holds something else.
var ErrNotDigits = errors.New("efaktura: not all digits")

// NameValue returns the name part L of the checksum (section 6): the sum of
// the values of the characters of name, which must be decoded text (an
// escaped "&amp;" is one '&'). A-Z count 65-90, a-z count as their upper-case
// letter, 0-9 count 48-57, and every other character, including space,
// punctuation and Danish or other accented letters, counts 0.
func NameValue(name string) int64 {
	var sum int64
	for _, r := range name {
		switch {
		case 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
			sum += int64(r)
		case 'a' <= r && r <= 'z':
			sum += int64(r - 'a' + 'A')
		}
	}
	return sum
}

// Checksum returns the document checksum L + F + S of section 6, where L is
// NameValue(billToName), F the integer formed by the digits of fikNo (0 when
// fikNo is empty; leading zeros vanish) and S the sum of netPrices. The caller
// passes an empty fikNo when PAYMENT_TYPE is not FIK. The result is exact; it
// is conventionally written with FormatDecimal(sum, 3). A fikNo holding
// anything but ASCII digits gives an error wrapping ErrNotDigits.
func Checksum(billToName, fikNo string, netPrices []decimal.Decimal) (decimal.Decimal, error) {
	var s decimal.Decimal
	for _, p := range netPrices {
		s = s.Add(p)
	}
	return checksum(NameValue(billToName), fikNo, s)
}

// checksum is [Checksum] from its parts L and S already computed, for
// callers that sum the net prices as they read them rather than collect them.
func checksum(name int64, fikNo string, netPrices decimal.Decimal) (decimal.Decimal, error) {
	f, err := digitsValue(fikNo)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%w in payment id", err)
	}
	return decimal.New(name, 0).Add(f).Add(netPrices), nil
}

// BundleChecksum returns TOTAL_DOCUMENT_CHECKSUM for documents with the given
// checksums: their exact sum (rule V09), 0 for none.
func BundleChecksum(checksums []decimal.Decimal) decimal.Decimal {
	sum := decimal.Zero
	for _, c := range checksums {
		sum = sum.Add(c)
	}
	return sum
}

// digitsValue returns the integer written by the ASCII digits s, 0 for "".
// A payment id may have 16 digits, so longer values are read exactly rather
// than into an int64.
func digitsValue(s string) (decimal.Decimal, error) {
	if !isDigits(s, 0, len(s)) {
		return decimal.Decimal{}, ErrNotDigits
	}
	if len(s) <= maxFastDigits {
		var v int64
		for i := 0; i < len(s); i++ {
			v = v*10 + int64(s[i]-'0')
		}
		return decimal.New(v, 0), nil
	}
	return decimal.NewFromString(s)
}
