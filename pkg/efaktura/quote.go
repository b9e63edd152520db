package efaktura

import (
	"strconv"

	"github.com/kp-efaktura/efaktura/pkg/cpr"
)

// quoteValue renders a found value for a message: quoted, cut to a readable
// length, and with anything shaped like a CPR number masked, because
// messages reach logs and screens and must never carry personal data. It
// masks before it cuts, since a cut could leave too few digits for the mask
// that every message gets when it is recorded.
func quoteValue(s string) string {
	const maxRunes = 40
	r := []rune(cpr.Mask(s))
	if len(r) > maxRunes {
		return strconv.Quote(string(r[:maxRunes])) + "..."
	}
	return strconv.Quote(string(r))
}
