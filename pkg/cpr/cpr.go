// Package cpr recognises Danish CPR numbers (personal identification numbers)
// in free text so that they can be kept out of logs, span attributes, metric
// labels, error texts and lists.
//
// A CPR number is ten digits, DDMMYY followed by four, often written with a
// hyphen after the sixth. Any such run of digits that stands alone (not part
// of a longer number) is treated as one: masking a few other ten-digit
// numbers is the price of never leaking a real one.
package cpr

import "strings"

// Mask replaces every CPR-shaped number in s by "XXXXXX-XXXX" or
// "XXXXXXXXXX", keeping the shape.
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

// Contains reports whether s holds a CPR-shaped number.
func Contains(s string) bool {
	for i := range len(s) {
		if match(s, i) > 0 {
			return true
		}
	}
	return false
}

// match returns the length of a CPR-shaped number starting at i (10, or 11
// with the hyphen), or 0.
func match(s string, i int) int {
	if i > 0 && isDigit(s[i-1]) {
		return 0
	}
	j := i
	for j < len(s) && j-i < 6 && isDigit(s[j]) {
		j++
	}
	if j-i != 6 {
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
	return k - i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
