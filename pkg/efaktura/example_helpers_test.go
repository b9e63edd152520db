package efaktura_test

import (
	"fmt"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/shopspring/decimal"
)

// The checksum of examples/valid-invoice.xml (spec section 6.6 (a)).
func ExampleChecksum() {
	var netPrices []decimal.Decimal
	for _, s := range []string{"2800,00", "720,00", "0,00"} {
		v, err := efaktura.ParseDecimal(s, 20, 3)
		if err != nil {
			fmt.Println(err)
			return
		}
		netPrices = append(netPrices, v)
	}
	sum, err := efaktura.Checksum("Kærholm Kommune", "000000202504122", netPrices)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(efaktura.FormatDecimal(sum, 3))
	// Output:
	// 202508643,000
}

// The name part of the checksum ignores case and skips Danish letters.
func ExampleNameValue() {
	fmt.Println(efaktura.NameValue("ABC 234"), efaktura.NameValue("Abc 234"))
	fmt.Println(efaktura.NameValue("Kærholm Kommune - Job & Ydelse"))
	// Output:
	// 351 351
	// 1674
}

// TOTAL_DOCUMENT_CHECKSUM of examples/valid-bundle-3-documents.xml (spec
// section 6.6 (d)).
func ExampleBundleChecksum() {
	checksums := []decimal.Decimal{
		decimal.RequireFromString("8724"),
		decimal.RequireFromString("9451"),
		decimal.RequireFromString("202503338.5"),
	}
	fmt.Println(efaktura.FormatDecimal(efaktura.BundleChecksum(checksums), 3))
	// Output:
	// 202521513,500
}

// The check digit of the payment id in examples/valid-invoice.xml (spec
// section 7.2).
func ExampleMod10CheckDigit() {
	body := "00000020250412"
	digit, err := efaktura.Mod10CheckDigit(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s%d\n", body, digit)
	// Output:
	// 000000202504122
}

func ExampleValidMod10() {
	fmt.Println(efaktura.ValidMod10("000000202504122"))
	fmt.Println(efaktura.ValidMod10("000000202504123"))
	// Output:
	// true
	// false
}

func ExampleParseDecimal() {
	for _, s := range []string{"1450,00", "1450.00", "1450,0000"} {
		v, err := efaktura.ParseDecimal(s, 20, 3)
		if err != nil {
			fmt.Println("NET_PRICE", err)
			continue
		}
		fmt.Println(efaktura.FormatDecimal(v, 3))
	}
	// Output:
	// 1450,000
	// NET_PRICE uses a period as the decimal separator; expected a comma
	// NET_PRICE has 4 digits after the comma; at most 3 allowed
}

func ExampleBankCalendar_IsBankDay() {
	c := efaktura.DanishBankCalendar()
	for _, s := range []string{"2025-07-31", "2025-06-05", "2025-06-07"} {
		d, _ := time.Parse(time.DateOnly, s)
		fmt.Println(s, c.IsBankDay(d))
	}
	// Output:
	// 2025-07-31 true
	// 2025-06-05 false
	// 2025-06-07 false
}
