package efaktura

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
)

// The code lists of sections 4.7 and 4.8, embedded so that validation needs
// no files at run time.
var (
	//go:embed data/iso3166-1-alpha2.csv
	countryCSV string
	//go:embed data/iso4217.csv
	currencyCSV string
	//go:embed data/dk-postnumre.csv
	postalCSV string
)

// The sets are parsed on first use, so programs that never check a code do
// not pay for it.
var (
	countryCodes  = sync.OnceValue(func() map[string]struct{} { return mustCodeSet(countryCSV, ',', "alpha_2") })
	currencyCodes = sync.OnceValue(func() map[string]struct{} { return mustCodeSet(currencyCSV, ',', "alpha_3") })
	// 0960 is "Udland" (abroad), which is no address in Denmark.
	postalCodes = sync.OnceValue(func() map[string]struct{} { return mustCodeSet(postalCSV, ';', "postnr", "0960") })
)

// mustCodeSet returns the values of column in the CSV text data, except the
// excluded ones. The data is embedded, so a parse error is a build mistake
// that the tests catch; it panics.
func mustCodeSet(data string, comma rune, column string, exclude ...string) map[string]struct{} {
	r := csv.NewReader(strings.NewReader(data))
	r.Comma = comma
	records, err := r.ReadAll()
	if err != nil {
		panic(fmt.Sprintf("efaktura: embedded code list: %v", err))
	}
	if len(records) == 0 {
		panic("efaktura: embedded code list is empty")
	}
	col := -1
	for i, name := range records[0] {
		if name == column {
			col = i
		}
	}
	if col < 0 {
		panic(fmt.Sprintf("efaktura: embedded code list has no column %q", column))
	}
	set := make(map[string]struct{}, len(records)-1)
	for _, rec := range records[1:] {
		set[rec[col]] = struct{}{}
	}
	for _, code := range exclude {
		delete(set, code)
	}
	return set
}

// IsCountryCode reports whether code is an ISO 3166-1 alpha-2 country code
// (section 4.7, rule V27). Case is ignored, as the format ignores it for
// COUNTRY_CODE: "dk", "Dk" and "DK" are all valid.
func IsCountryCode(code string) bool {
	if len(code) != 2 {
		return false
	}
	var up [2]byte
	for i := range up {
		c := code[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	_, ok := countryCodes()[string(up[:])]
	return ok
}

// IsCurrencyCode reports whether code is an ISO 4217 alphabetic currency
// code, in upper case as listed (section 4.7, rule V28): "DKK" is valid,
// "dkk" is not.
func IsCurrencyCode(code string) bool {
	_, ok := currencyCodes()[code]
	return ok
}

// IsDanishPostalCode reports whether code is a Danish postal code: exactly 4
// ASCII digits, zero-padded, and in the list of section 4.8 (rule V31). Code
// 0960, "abroad", is not valid.
func IsDanishPostalCode(code string) bool {
	if !isDigits(code, 4, 4) {
		return false
	}
	_, ok := postalCodes()[code]
	return ok
}
