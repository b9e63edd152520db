package validate

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

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

// received reads the bundle and returns its documents as ingest would send
// them.
func received(t *testing.T, bundle []byte) []events.DocumentReceived {
	t.Helper()
	var out []events.DocumentReceived
	_, err := efaktura.Validate(context.Background(), bytes.NewReader(bundle), efaktura.Options{KeepRaw: true,
		Document: func(d *efaktura.Document, dr *efaktura.DocumentResult) error {
			out = append(out, events.DocumentReceived{DocumentID: "d" + string(rune('0'+dr.Index)), BundleID: "b", Kommune: "0101",
				Index: dr.Index, ReceiptNo: dr.ReceiptNo, DocumentNo: dr.DocumentNo, XML: d.Raw()})
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

	outs, err := w.Judge(context.Background(), cloudevents.Event{}, docs[0])
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
	again, _ := w.Judge(context.Background(), cloudevents.Event{}, docs[0])
	if again[0].ID() != outs[0].ID() {
		t.Errorf("judging twice gave ids %s and %s; want one deterministic id", outs[0].ID(), again[0].ID())
	}

	// An unregistered sender fails V24; a bundle-scoped V51 finding travels on.
	docs[1].Findings = []events.Finding{{Rule: "V51", Severity: "error", Path: "/INVOICES/DOCUMENT[2]/HEADER/RECEIPT_NO", Message: "used twice"}}
	onlyOne := tenants{"0101": {Kommune: "0101", Senders: []tenant.Sender{{Type: "CVR", ID: "24680134"}}}}
	outs, err = New(nil, onlyOne, Config{}).Judge(context.Background(), cloudevents.Event{}, docs[1])
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

	if _, err := w.Judge(context.Background(), cloudevents.Event{}, events.DocumentReceived{Kommune: "9999"}); err == nil {
		t.Error("an unknown kommune gave no error")
	}
	bad := docs[2]
	bad.XML = []byte("<HEADER/>")
	if _, err := w.Judge(context.Background(), cloudevents.Event{}, bad); err == nil {
		t.Error("bytes that are no DOCUMENT gave no error")
	}
}
