package efaktura

import (
	"math"
	"testing"

	"github.com/shopspring/decimal"
)

// TestFixedMatchesDecimal checks every operation of fixed against
// shopspring's Decimal on values around int64's limits, where fixed leaves
// its fast path, and on the format's usual amounts.
func TestFixedMatchesDecimal(t *testing.T) {
	var values []fixed
	for _, s := range []string{"0", "0,5", "12,345", "25", "25,00", "1450,00", "99999999999999,999",
		"999999999999999,999", "9999999999999999,999", "99999999999999999999", "12345678901234567,89"} {
		v, err := parseFixed(s, 20, 3)
		if err != nil {
			t.Fatalf("parseFixed(%q): %v", s, err)
		}
		values = append(values, v, v.Neg())
	}
	values = append(values, fixed{n: math.MaxInt64}, fixed{n: math.MinInt64}, fixed{n: -1}, fixed{n: math.MinInt64, exp: -3})
	check := func(op string, a, b, got fixed, want decimal.Decimal) {
		t.Helper()
		if !got.Decimal().Equal(want) {
			t.Errorf("%s %s %s = %s, want %s", a.Decimal(), op, b.Decimal(), got.Decimal(), want)
		}
	}
	for _, a := range values {
		da := a.Decimal()
		check("neg", a, a, a.Neg(), da.Neg())
		check("abs", a, a, a.Abs(), da.Abs())
		check("percent", a, a, a.Percent(), da.Div(hundred))
		for _, b := range values {
			db := b.Decimal()
			check("+", a, b, a.Add(b), da.Add(db))
			check("-", a, b, a.Sub(b), da.Sub(db))
			check("*", a, b, a.Mul(b), da.Mul(db))
			if got, want := a.Cmp(b), da.Cmp(db); got != want {
				t.Errorf("%s cmp %s = %d, want %d", da, db, got, want)
			}
		}
	}
}

func TestParseFixedAllocs(t *testing.T) {
	var sum fixed
	allocs := testing.AllocsPerRun(100, func() {
		v, _ := parseFixed("1450,25", 20, 3)
		w, _ := parseFixed("25,00", 3, 2)
		sum = sum.Add(v.Mul(w).Percent())
	})
	if allocs != 0 {
		t.Errorf("parseFixed and arithmetic allocate %v times, want 0", allocs)
	}
}
