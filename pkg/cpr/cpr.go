// Package cpr recognises Danish CPR numbers (personal identification numbers)
// in free text so that they can be kept out of logs, span attributes, metric
// labels, error texts and lists.
//
// A CPR number is ten digits, DDMMYY followed by four, often written with a
// hyphen after the sixth (ddmmyy-xxxx). In free text, [Mask] and [Contains]
// take a run of digits for one only when it is one:
//
//   - exactly ten digits, or six and four joined by a hyphen, standing alone:
//     no digit directly before or after, and not the integer part of a
//     decimal number (a comma or period and one to three digits after it),
//     so amounts such as 1202508643,000 are left alone;
//   - whose first six digits are a date: month 01 to 12 and a day that the
//     month has (29 February is accepted for every year, since the century
//     is not written).
//
// Other numbers are never masked: checksums, amounts, FIK payment ids (15 or
// 16 digits), EAN numbers (13), CVR and creditor numbers (8), and ten-digit
// numbers whose first six digits are no date, such as 3213001234 or
// 3210000000.
//
// Where a field is known to hold a CPR number whatever it looks like (the
// e-faktura FINAL_CUSTOMER of type CPR), the caller hides the value itself
// with [Hide]; a caller that knows a field holds a number of another kind
// does not pass it through Mask at all.
package cpr

import "strings"

// Mask replaces every CPR number in s by "XXXXXX-XXXX" or "XXXXXXXXXX",
// keeping the shape.
func Mask(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		n := match(s, i)
		if n == 0 {
			i++
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		if n == 11 {
			b.WriteString("XXXXXX-XXXX")
		} else {
			b.WriteString("XXXXXXXXXX")
		}
		i += n
		last = i
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// Contains reports whether s holds a CPR number, as [Mask] finds them.
func Contains(s string) bool {
	for i := range len(s) {
		if match(s, i) > 0 {
			return true
		}
	}
	return false
}

// Hide returns s with every digit replaced by X, for a value known to be a
// CPR number whatever its digits say, such as FINAL_CUSTOMER of type CPR.
func Hide(s string) string {
	b := []byte(s)
	for i, c := range b {
		if isDigit(c) {
			b[i] = 'X'
		}
	}
	return string(b)
}

// match returns the length of a CPR number starting at i (10, or 11 with the
// hyphen), or 0.
func match(s string, i int) int {
	if i > 0 && isDigit(s[i-1]) {
		return 0
	}
	j := i
	for j < len(s) && j-i < 6 && isDigit(s[j]) {
		j++
	}
	if j-i != 6 || !isDate(s[i:j]) {
		return 0
	}
	if j < len(s) && s[j] == '-' {
		j++
	}
	k := j
	for k < len(s) && k-j < 4 && isDigit(s[k]) {
		k++
	}
	if k-j != 4 || k < len(s) && isDigit(s[k]) {
		return 0
	}
	if decimals(s, k) {
		return 0
	}
	return k - i
}

// decimals reports whether s[k:] starts with the decimal part of an amount:
// a comma or period and 1 to 3 digits, not followed by another digit, as in
// 1202508643,000. A longer run after a comma is the next number of a list.
func decimals(s string, k int) bool {
	if k >= len(s) || s[k] != ',' && s[k] != '.' {
		return false
	}
	n := 0
	for k+1+n < len(s) && isDigit(s[k+1+n]) {
		n++
	}
	return n >= 1 && n <= 3
}

// daysIn is the longest each month can be, February in a leap year.
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// isDate reports whether six digits ddmmyy are a date in some century.
func isDate(d string) bool {
	day := int(d[0]-'0')*10 + int(d[1]-'0')
	month := int(d[2]-'0')*10 + int(d[3]-'0')
	return month >= 1 && month <= 12 && day >= 1 && day <= daysIn[month]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
