package validate

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

type tenants map[string]tenant.Tenant

func (ts tenants) Get(k string) (tenant.Tenant, bool) { t, ok := ts[k]; return t, ok }

func (ts tenants) Senders(k string) efaktura.SenderRegister {
	table := efaktura.SenderTable{}
	for _, s := range ts[k].Senders {
		table.Add(efaktura.Sender{Type: s.Type, ID: s.ID, Nets: s.Nets})
	}
	return table
}

// doc is a received document: its event's payload, and its bytes as
// stored raw.
type doc struct {
	p   events.DocumentReceived
	xml []byte
}

// received reads the bundle and returns its documents as ingest would send
// and store them.
func received(t *testing.T, bundle []byte) []doc {
	t.Helper()
	var out []doc
	_, err := efaktura.Validate(context.Background(), bytes.NewReader(bundle), efaktura.Options{KeepRaw: true,
		Document: func(d *efaktura.Document, dr *efaktura.DocumentResult) error {
			h := d.Root().Child("HEADER")
			out = append(out, doc{events.DocumentReceived{DocumentID: "d" + string(rune('0'+dr.Index)), BundleID: "b", Kommune: "0101",
				Index: dr.Index, ReceiptNo: dr.ReceiptNo, DocumentNo: dr.DocumentNo, DocumentType: events.DocumentType(dr.Type),
				Sender:    events.Sender{Type: h.Child("SENDER_ID_TYPE").Value(), ID: h.Child("SENDER_ID").Value()},
				Reference: "NRD-2025-000118"}, bytes.Clone(d.Raw())})
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestJudge(t *testing.T) {
	bundle, err := os.ReadFile("testdata/valid-bundle-3-documents.xml")
	if err != nil {
		t.Fatal(err)
	}
	registered := tenants{"0101": {Kommune: "0101", Senders: []tenant.Sender{{Type: "CVR", ID: "24680134"}, {Type: "EAN", ID: "7350000000030"}}}}
	w := New(nil, registered, Config{})
	w.now = func() time.Time { return time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC) }
	docs := received(t, bundle)

	outs, err := w.Judge(context.Background(), docs[0].p, docs[0].xml)
	if err != nil || len(outs) != 1 || outs[0].Type() != events.TypeDocumentValidated {
		t.Fatalf("Judge(valid document) = %v, %v; want one document.validated", outs, err)
	}
	v, err := events.Decode[events.DocumentValidated](outs[0])
	if err != nil {
		t.Fatal(err)
	}
	if v.Summary.Currency != "DKK" || v.Summary.Lines != 2 || v.Ruleset != efaktura.Ruleset {
		t.Errorf("validated = %+v", v)
	}
	if v.Summary.DueDate != "2025-07-31" || v.Summary.BilledFromName != "Nordlys Rengøring A/S" {
		t.Errorf("summary = %+v; want due date 2025-07-31 and the supplier Nordlys Rengøring A/S", v.Summary)
	}
	again, _ := w.Judge(context.Background(), docs[0].p, docs[0].xml)
	if again[0].ID() != outs[0].ID() {
		t.Errorf("judging twice gave ids %s and %s; want one deterministic id", outs[0].ID(), again[0].ID())
	}

	// An unregistered sender fails V24; a bundle-scoped V51 finding travels on.
	docs[1].p.Findings = []events.Finding{{Rule: "V51", Severity: "error", Path: "/INVOICES/DOCUMENT[2]/HEADER/RECEIPT_NO", Message: "used twice"}}
	onlyOne := tenants{"0101": {Kommune: "0101", Senders: []tenant.Sender{{Type: "CVR", ID: "24680134"}}}}
	outs, err = New(nil, onlyOne, Config{}).Judge(context.Background(), docs[1].p, docs[1].xml)
	if err != nil || outs[0].Type() != events.TypeDocumentRejected {
		t.Fatalf("Judge(unregistered sender) = %v, %v; want document.rejected", outs, err)
	}
	r, _ := events.Decode[events.DocumentRejected](outs[0])
	var rules []string
	for _, f := range r.Findings {
		rules = append(rules, f.Rule)
	}
	if !slices.Equal(rules, []string{"V51", "V24"}) {
		t.Errorf("rejection findings = %v, want [V51 V24]", rules)
	}

	if _, err := w.Judge(context.Background(), events.DocumentReceived{Kommune: "9999"}, docs[2].xml); err == nil {
		t.Error("an unknown kommune gave no error")
	}
	if _, err := w.Judge(context.Background(), docs[2].p, []byte("<HEADER/>")); err == nil {
		t.Error("bytes that are no DOCUMENT gave no error")
	}
}
