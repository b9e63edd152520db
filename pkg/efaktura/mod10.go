package efaktura

import (
	"errors"
	"fmt"
)

// errEmptyBody is returned for a check-digit body without digits.
var errEmptyBody = errors.New("efaktura: empty check-digit body")

// Mod10CheckDigit returns the modulus-10 check digit of body, the digits of a
// FIK payment id before its check digit (section 7). From the rightmost body
// digit leftwards the digits are weighted 2, 1, 2, 1, ..., products of 10 or
// more are replaced by their cross sum, and the check digit is
// (10 - sum mod 10) mod 10. An empty body is an error, and so is a body
// holding anything but ASCII digits (wrapping ErrNotDigits).
func Mod10CheckDigit(body string) (int, error) {
	if body == "" {
		return 0, errEmptyBody
	}
	if !isDigits(body, 1, len(body)) {
		return 0, fmt.Errorf("%w in check-digit body", ErrNotDigits)
	}
	return (10 - mod10Counter(body)%10) % 10, nil
}

// ValidMod10 reports whether id, a complete payment id, ends in the correct
// modulus-10 check digit: it must have at least two ASCII digits (a body and a
// check digit) and pass the Luhn test, which is the same computation with
// the check digit weighted 1.
func ValidMod10(id string) bool {
	if !isDigits(id, 2, len(id)) {
		return false
	}
	// The check digit adds itself to the body's counter.
	return (mod10Counter(id[:len(id)-1])+int(id[len(id)-1]-'0'))%10 == 0
}

// mod10Counter returns the seed's "counter" for the ASCII digits body: the
// sum of the digits weighted 2, 1, 2, 1, ... from the right, with products of
// 10 or more replaced by their cross sum.
func mod10Counter(body string) int {
	sum := 0
	double := true
	for i := len(body) - 1; i >= 0; i-- {
		n := int(body[i] - '0')
		if double {
			n *= 2
			if n >= 10 {
				n -= 9 // the cross sum of 10..18
			}
		}
		sum += n
		double = !double
	}
	return sum
}
