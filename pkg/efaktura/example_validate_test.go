package efaktura_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

func ExampleValidate() {
	f, err := os.Open("testdata/valid/valid-invoice.xml")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	senders := efaktura.SenderTable{}
	senders.Add(efaktura.Sender{Type: "CVR", ID: "12345674"})

	res, err := efaktura.Validate(context.Background(), f, efaktura.Options{Senders: senders})
	if err != nil {
		log.Fatal(err) // the file could not be read; content problems are findings
	}
	fmt.Println("valid:", res.Valid)
	for _, d := range res.Documents {
		fmt.Println(d.Index, d.ReceiptNo, d.Valid, len(d.Findings))
	}
	for _, s := range res.Skipped {
		fmt.Println("skipped:", s.Rule, s.Reason)
	}
	// Output:
	// valid: true
	// 1 OEH-2025-000412 true 0
	// skipped: V10 no duplicate-bundle register given
}

func ExampleValidate_findings() {
	b := efaktura.Sample(efaktura.SampleOptions{Documents: 1, LinesPerDocument: 1})
	b.Documents[0].Header.Version = "2.0.0"
	data, err := b.Bytes()
	if err != nil {
		log.Fatal(err)
	}
	res, err := efaktura.Validate(context.Background(), bytes.NewReader(data), efaktura.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range res.Documents[0].Findings {
		fmt.Printf("%s %s %s: %s\n", f.Rule, f.Severity, f.Path, f.Message)
	}
	// Output:
	// V22 error /INVOICES/DOCUMENT[1]/HEADER/VERSION: VERSION is "2.0.0"; expected 2.1.0
}
