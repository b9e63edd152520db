package efaktura

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// maxFastDigits is the most digits an int64 can hold without overflow for
// every value (10^18-1 < 2^63-1); longer values take the slow path.
const maxFastDigits = 18

// The error texts are reasons meant to follow an element name in a message,
// so they neither quote the value nor carry the package prefix.
var (
	errDecimalEmpty       = &decimalError{"is empty", "er tom"}
	errDecimalSign        = &decimalError{"has a sign; amounts are unsigned", "har et fortegn; beløb skrives uden fortegn"}
	errDecimalPeriod      = &decimalError{"uses a period as the decimal separator; expected a comma", "bruger punktum som decimaltegn; der forventes komma"}
	errDecimalThousands   = &decimalError{"uses a period as a thousands separator; expected none", "bruger punktum som tusindtalsseparator; der må ikke være nogen"}
	errDecimalSpace       = &decimalError{"contains a space; expected digits and at most one comma", "indeholder et mellemrum; der forventes cifre og højst ét komma"}
	errDecimalChar        = &decimalError{"contains a character other than digits and one comma", "indeholder et andet tegn end cifre og ét komma"}
	errDecimalCommas      = &decimalError{"has more than one comma; expected at most one", "har mere end ét komma; der må højst være ét"}
	errDecimalNoIntDigit  = &decimalError{"has no digit before the comma", "har intet ciffer før kommaet"}
	errDecimalNoFracDigit = &decimalError{"has no digit after the comma", "har intet ciffer efter kommaet"}
)

// decimalError is why a text is not a decimal, in English (its Error) and in
// Danish, for the messages of V18.
type decimalError struct{ en, da string }

func (e *decimalError) Error() string { return e.en }

// ParseDecimal parses s as a decimal of type p.d (section 1.7): it must match
// ^[0-9]{1,p}(,[0-9]{1,d})?$, so the separator is a comma and there is no
// sign, space, exponent or thousands separator. Leading zeros count toward p.
// The result is exact. On failure the error text is a short reason that does
// not quote s, such as "has 4 digits after the comma; at most 3 allowed".
func ParseDecimal(s string, p, d int) (decimal.Decimal, error) {
	v, fracDigits, err := checkDecimal(s, p, d)
	if err != nil {
		return decimal.Decimal{}, err
	}
	if v >= 0 {
		return decimal.New(v, -int32(fracDigits)), nil
	}
	// The grammar has been checked, so the only change NewFromString needs is
	// the separator.
	return decimal.NewFromString(strings.Replace(s, ",", ".", 1))
}

// checkDecimal checks s against the grammar of ParseDecimal without building
// a value. It returns the digits as an integer and the number of decimals
// when they fit in an int64, and v < 0 when they do not.
func checkDecimal(s string, p, d int) (v int64, fracDigits int, err error) {
	if s == "" {
		return 0, 0, errDecimalEmpty
	}
	var (
		intDigits int
		comma     bool
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			if comma {
				fracDigits++
			} else {
				intDigits++
			}
			v = v*10 + int64(c-'0')
		case c == ',':
			if comma {
				return 0, 0, errDecimalCommas
			}
			comma = true
		default:
			return 0, 0, decimalCharError(s)
		}
	}
	switch {
	case intDigits == 0:
		return 0, 0, errDecimalNoIntDigit
	case comma && fracDigits == 0:
		return 0, 0, errDecimalNoFracDigit
	case intDigits > p:
		return 0, 0, &decimalError{fmt.Sprintf("has %s before the comma; at most %d allowed", digitCount(intDigits).en, p),
			fmt.Sprintf("har %s før kommaet; højst %d er tilladt", digitCount(intDigits).da, p)}
	case fracDigits > d && d <= 0:
		return 0, 0, &decimalError{fmt.Sprintf("has %s after the comma; no decimals allowed", digitCount(fracDigits).en),
			fmt.Sprintf("har %s efter kommaet; decimaler er ikke tilladt", digitCount(fracDigits).da)}
	case fracDigits > d:
		return 0, 0, &decimalError{fmt.Sprintf("has %s after the comma; at most %d allowed", digitCount(fracDigits).en, d),
			fmt.Sprintf("har %s efter kommaet; højst %d er tilladt", digitCount(fracDigits).da, d)}
	}
	if intDigits+fracDigits > maxFastDigits {
		v = -1
	}
	return v, fracDigits, nil
}

// decimalCharError explains why s, which holds a byte other than a digit or a
// comma, is not a decimal. It names the most likely mistake first.
func decimalCharError(s string) error {
	switch {
	case s[0] == '-' || s[0] == '+':
		return errDecimalSign
	case strings.Count(s, ".") == 1 && !strings.Contains(s, ","):
		return errDecimalPeriod
	case strings.Contains(s, "."):
		return errDecimalThousands
	case strings.Contains(s, " "):
		return errDecimalSpace
	}
	return errDecimalChar
}

// digitCount renders n digits with the right plural.
func digitCount(n int) both {
	return pluralOf(n, "ciffer", "cifre", "digit", "digits")
}

// FormatDecimal renders v with exactly places decimals and a decimal comma,
// e.g. 2401 with places 3 is "2401,000"; places 0 (or less) gives no comma.
// Excess decimals are rounded half away from zero. A negative value gets a
// leading '-': the format never holds one, but differences in messages can.
func FormatDecimal(v decimal.Decimal, places int) string {
	if places < 0 {
		places = 0
	}
	return strings.Replace(v.StringFixed(int32(places)), ".", ",", 1)
}
