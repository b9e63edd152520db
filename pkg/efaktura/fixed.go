package efaktura

import (
	"cmp"
	"math"

	"github.com/shopspring/decimal"
)

// fixed is an exact decimal for the rules' arithmetic: n·10^exp while that
// fits an int64, as every amount of up to 15 integer digits does, and the
// sums and products of a document's amounts do; past that, wide holds it.
// shopspring's Decimal, which the rules used throughout before, builds a
// big.Int for every value and every operation: on a bundle of valid
// invoices that was nine tenths of full validation's allocations and a
// quarter of its time. The library stays for the rare wide value and for
// the exported API.
type fixed struct {
	n    int64
	exp  int32
	wide *decimal.Decimal // the value, when it does not fit n
}

var (
	vat0      = fixed{}
	vat25     = fixed{n: 25}
	tolerance = fixed{n: 50, exp: -2} // SEEN: 50 øre, inclusive
	hundred   = decimal.New(100, 0)
)

// parseFixed is [ParseDecimal] into a fixed.
func parseFixed(s string, p, d int) (fixed, error) {
	v, fracDigits, err := checkDecimal(s, p, d)
	switch {
	case err != nil:
		return fixed{}, err
	case v >= 0:
		return fixed{n: v, exp: -int32(fracDigits)}, nil
	}
	w, err := ParseDecimal(s, p, d)
	return wideFixed(w), err
}

func wideFixed(d decimal.Decimal) fixed { return fixed{wide: &d} }

// Decimal returns the value as a shopspring Decimal, for messages and the
// exported API.
func (a fixed) Decimal() decimal.Decimal {
	if a.wide != nil {
		return *a.wide
	}
	return decimal.New(a.n, a.exp)
}

// aligned returns a's and b's integers at their common exponent; ok is false
// when either is wide or scaling overflows.
func aligned(a, b fixed) (x, y int64, exp int32, ok bool) {
	if a.wide != nil || b.wide != nil {
		return 0, 0, 0, false
	}
	exp = min(a.exp, b.exp)
	x, okA := scaleUp(a.n, a.exp-exp)
	y, okB := scaleUp(b.n, b.exp-exp)
	return x, y, exp, okA && okB
}

// scaleUp returns n·10^k, ok false on overflow.
func scaleUp(n int64, k int32) (int64, bool) {
	for ; k > 0; k-- {
		if n > math.MaxInt64/10 || n < math.MinInt64/10 {
			return 0, false
		}
		n *= 10
	}
	return n, true
}

func (a fixed) Add(b fixed) fixed {
	if x, y, exp, ok := aligned(a, b); ok {
		if s := x + y; (s > x) == (y > 0) { // no overflow
			return fixed{n: s, exp: exp}
		}
	}
	return wideFixed(a.Decimal().Add(b.Decimal()))
}

func (a fixed) Neg() fixed {
	if a.wide == nil && a.n != math.MinInt64 {
		return fixed{n: -a.n, exp: a.exp}
	}
	return wideFixed(a.Decimal().Neg())
}

func (a fixed) Sub(b fixed) fixed { return a.Add(b.Neg()) }

func (a fixed) Abs() fixed {
	if a.Sign() < 0 {
		return a.Neg()
	}
	return a
}

func (a fixed) Sign() int {
	if a.wide != nil {
		return a.wide.Sign()
	}
	return cmp.Compare(a.n, 0)
}

func (a fixed) Mul(b fixed) fixed {
	if a.wide == nil && b.wide == nil {
		p := a.n * b.n
		// The division undoes the product unless it overflowed; -1 times
		// MinInt64 is the one overflow it misses.
		if a.n == 0 || p/a.n == b.n && !(a.n == -1 && b.n == math.MinInt64) {
			return fixed{n: p, exp: a.exp + b.exp}
		}
	}
	return wideFixed(a.Decimal().Mul(b.Decimal()))
}

// Percent returns a/100, exactly: the library's division would round at
// DivisionPrecision decimals, which a hundredth of an amount never reaches.
func (a fixed) Percent() fixed {
	if a.wide == nil {
		return fixed{n: a.n, exp: a.exp - 2}
	}
	return wideFixed(a.wide.Div(hundred))
}

func (a fixed) Cmp(b fixed) int {
	if x, y, _, ok := aligned(a, b); ok {
		return cmp.Compare(x, y)
	}
	return a.Decimal().Cmp(b.Decimal())
}

func (a fixed) Equal(b fixed) bool { return a.Cmp(b) == 0 }
