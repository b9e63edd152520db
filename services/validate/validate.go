package validate

import (
	"context"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/rawdoc"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Tenants is what validate needs of the municipality registry;
// *tenant.Registry implements it.
type Tenants interface {
	Get(kommune string) (tenant.Tenant, bool)
	// Senders is the municipality's sender register (V24, V48).
	Senders(kommune string) efaktura.SenderRegister
}

// Config is what operators set. A zero field takes the default shown.
type Config struct {
	// Concurrency is how many documents are judged at once; default 4.
	Concurrency int
}

// Worker judges received documents.
type Worker struct {
	bus     *bus.Bus
	tenants Tenants
	cfg     Config
	raw     *rawdoc.Reader
	now     func() time.Time
}

// New returns the worker; Register subscribes it. It reads the documents
// from JetStream through b.
func New(b *bus.Bus, tenants Tenants, cfg Config) *Worker {
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4
	}
	w := &Worker{bus: b, tenants: tenants, cfg: cfg, now: time.Now}
	if b != nil {
		w.raw = rawdoc.New(b.JetStream())
	}
	return w
}

// Register subscribes to document.received. The handler reads the document
// by the event's reference and only emits events ([bus.EmitsOnly]): their
// ids derive from the document's id and the rule set, and reading the
// document changes nothing, so a redelivery is harmless.
func (w *Worker) Register() {
	w.bus.Handle("documents", events.Filter(events.TypeDocumentReceived), bus.EmitsOnly, bus.Typed(w.received),
		bus.WithConcurrency(w.cfg.Concurrency))
}

// received handles one document.received: it reads the document stored raw
// and judges it. A document no longer stored, or not the one referred to,
// dead-letters the event (ErrDocumentGone, ErrReference); a read that
// fails otherwise is retried.
func (w *Worker) received(ctx context.Context, _ cloudevents.Event, p events.DocumentReceived) ([]cloudevents.Event, error) {
	xml, err := w.raw.Read(ctx, p.Raw)
	if err != nil {
		return nil, fmt.Errorf("document %s: %w", p.DocumentID, err)
	}
	return w.Judge(ctx, p, xml)
}

// Judge applies the document rules to one received document, p, whose
// bytes, read by p.Raw, are xml, and returns document.validated or
// document.rejected, with the findings and the rule set. Findings that only
// the whole bundle shows (V51) come with the event.
func (w *Worker) Judge(ctx context.Context, p events.DocumentReceived, xml []byte) ([]cloudevents.Event, error) {
	if _, ok := w.tenants.Get(p.Kommune); !ok {
		// The registry may not have caught up yet; a retry will tell.
		return nil, fmt.Errorf("kommune %s is not known (yet)", p.Kommune)
	}
	var summary events.Summary
	res, err := efaktura.ValidateDocument(ctx, xml, p.Index, efaktura.Options{
		Senders: w.tenants.Senders(p.Kommune),
		Document: func(d *efaktura.Document, _ *efaktura.DocumentResult) error {
			summary = summarize(d)
			return nil
		},
	})
	if err != nil {
		// The bytes are not a DOCUMENT: ingest should never send that, and a
		// retry cannot mend it.
		return nil, bus.Permanent(fmt.Errorf("document %s: %w", p.DocumentID, err))
	}
	findings := p.Findings
	for _, f := range res.Findings {
		findings = append(findings, events.Finding{Rule: f.Rule, Severity: events.Severity(f.Severity), Path: f.Path,
			Line: f.Line, Column: f.Column, Message: f.Message, MessageDA: f.MessageDA, MessageEN: f.MessageEN})
	}
	key := []string{p.DocumentID, efaktura.Ruleset}
	now := w.now()
	var e cloudevents.Event
	if hasError(findings) {
		e, err = events.New(events.TypeDocumentRejected, events.SourceValidate, p.Kommune, p.DocumentID, key, events.DocumentRejected{
			DocumentID: p.DocumentID, BundleID: p.BundleID, Kommune: p.Kommune, Reference: p.Reference, Sender: p.Sender,
			ReceiptNo: p.ReceiptNo, DocumentNo: p.DocumentNo, DocumentType: p.DocumentType,
			Ruleset: efaktura.Ruleset, RejectedAt: now, Findings: findings,
		}, now)
	} else {
		e, err = events.New(events.TypeDocumentValidated, events.SourceValidate, p.Kommune, p.DocumentID, key, events.DocumentValidated{
			DocumentID: p.DocumentID, BundleID: p.BundleID, Kommune: p.Kommune, Reference: p.Reference, Sender: p.Sender,
			ReceiptNo: p.ReceiptNo, DocumentNo: p.DocumentNo, DocumentType: p.DocumentType,
			Ruleset: efaktura.Ruleset, ValidatedAt: now, Summary: summary, Findings: findings,
		}, now)
	}
	if err != nil {
		return nil, bus.Permanent(err)
	}
	return []cloudevents.Event{e}, nil
}

func hasError(fs []events.Finding) bool {
	for _, f := range fs {
		if f.Severity == events.Severity(efaktura.SeverityError) {
			return true
		}
	}
	return false
}

// summarize is what a caseworker sees of a document before opening it.
func summarize(d *efaktura.Document) events.Summary {
	root := d.Root()
	lines := 0
	for range root.All("LINE") {
		lines++
	}
	return events.Summary{
		Currency:           root.Find("CURRENCY/CURRENCY_CODE").Value(),
		TotalAmountInclVAT: root.Find("TOTALAMOUNT/TOTAL_AMOUNT_INCL_VAT").Value(),
		DocumentDate:       root.Find("DOCUMENT_HEAD/DOCUMENT_DATE").Value(),
		BillToName:         root.Find("BILL_TO/NAME_1").Value(),
		Lines:              lines,
		DueDate:            root.Find("PAYMENT_TERMS/DUE_DATE").Value(),
		BilledFromName:     root.Find("BILLED_FROM/NAME_1").Value(),
	}
}
