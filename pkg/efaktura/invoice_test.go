package efaktura_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// readInvoices reads every document of a bundle twice, from the bundle's
// tree and again from its raw bytes with ReadDocument, checks both give the
// same model, and returns the models.
func readInvoices(t *testing.T, bundle []byte) []efaktura.Invoice {
	t.Helper()
	var out []efaktura.Invoice
	_, err := efaktura.Validate(context.Background(), bytes.NewReader(bundle), efaktura.Options{
		KeepRaw: true,
		Document: func(d *efaktura.Document, _ *efaktura.DocumentResult) error {
			inv := d.Invoice()
			again, err := efaktura.ReadDocument(d.Raw(), d.Index)
			if err != nil {
				t.Fatalf("ReadDocument(document %d) = %v", d.Index, err)
			}
			if got := again.Invoice(); !reflect.DeepEqual(got, inv) {
				t.Errorf("document %d: ReadDocument(raw).Invoice() = %+v; the bundle's tree gives %+v", d.Index, got, inv)
			}
			out = append(out, *inv)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var referencePattern = regexp.MustCompile(`<REFERENCE>([^<]*)</REFERENCE>`)

// Every example bundle, read into the model and written again, is the same
// file byte for byte.
func TestInvoiceRoundTripsTheExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples: %v, %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ref := referencePattern.FindSubmatch(want)
			if ref == nil {
				t.Fatal("no REFERENCE")
			}
			b := &efaktura.Bundle{Reference: string(ref[1]), Documents: readInvoices(t, want)}
			got, err := b.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Write(read(%s)) differs:\n%s", file, writeFirstDifference(got, want))
			}
		})
	}
}

// The example invoice reads as the model the writer's test builds by hand
// (whose checksum Write computes).
func TestInvoiceOfTheSpecExample(t *testing.T) {
	data, err := os.ReadFile("testdata/valid/valid-invoice.xml")
	if err != nil {
		t.Fatal(err)
	}
	got := readInvoices(t, data)
	want := specInvoiceModel().Documents
	if len(got) != 1 {
		t.Fatalf("%d documents, want 1", len(got))
	}
	if got[0].Header.Checksum != "202508643,000" {
		t.Errorf("Header.Checksum = %q, want the one written", got[0].Header.Checksum)
	}
	got[0].Header.Checksum = ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Invoice() = %+v\nwant %+v", got[0], want[0])
	}
}

// Every field of the model survives Write and Invoice: filled with distinct
// values (every pointer set, every slice of two), written, read back.
func TestInvoiceReadsEveryField(t *testing.T) {
	for _, full := range []bool{true, false} {
		var inv efaktura.Invoice
		n := 0
		modelFill(reflect.ValueOf(&inv).Elem(), full, &n)
		if !full {
			// An empty REMARK_TXT or P_MESSAGE_TXT is written as <X/> and read
			// as "", which the empty model holds already.
			inv.Header.Checksum = "0,000"
		}
		out, err := (&efaktura.Bundle{Reference: "R", Documents: []efaktura.Invoice{inv}}).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		got := readInvoices(t, out)
		if len(got) != 1 || !reflect.DeepEqual(got[0], inv) {
			t.Errorf("full %v: read back %+v\nwant %+v", full, got, inv)
		}
	}
}

// ReadDocument refuses what is not one DOCUMENT element.
func TestReadDocumentRefusesFragments(t *testing.T) {
	for _, raw := range []string{"", "<INVOICES/>", "<DOCUMENT>", "<DOCUMENT/><DOCUMENT/>"} {
		if _, err := efaktura.ReadDocument([]byte(raw), 1); err == nil {
			t.Errorf("ReadDocument(%q) = nil error", raw)
		}
	}
}
