package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// The intake of a bundle, top to bottom:
//
//  1. A front end turns what arrived into a [submission]: the HTTP API
//     spools the body (http.go, upload.go, spool.go), the NATS handler
//     takes the event's data (ingest.go).
//  2. [Worker.classify] judges it and returns a [verdict]: an [acceptance]
//     holding the bundle's events and its duplicate key's claim, or a
//     [rejection] with its reason and findings. It publishes nothing.
//  3. [Worker.take] keeps an accepted bundle's documents in the stream of
//     raw documents, publishes its events, then commits the claim, or
//     aborts it on failure.
//  4. The front end maps the verdict to an HTTP answer or to
//     bundle.rejected.

// submission is a bundle as it arrives, over HTTP or NATS.
type submission struct {
	kommune string
	// serviceProvider is the party that delivered the file: the economy
	// system's id over HTTP, the event source over NATS (V10's key).
	serviceProvider string
	body            io.ReaderAt // XML or a ZIP holding one XML file, as received
	size            int64
	sha256          string // of the body, lower-case hex
	receivedAt      time.Time
}

// open returns a reader of the whole body, from its start.
func (s submission) open() io.Reader { return io.NewSectionReader(s.body, 0, s.size) }

// verdict is what became of a submission: exactly one of accepted and
// rejected is set.
type verdict struct {
	accepted *acceptance
	rejected *rejection
}

// rejection is a bundle refused whole: nothing of it was taken in.
type rejection struct {
	reason    reason
	bundleID  string // for reasonDuplicate: the accepted bundle's id
	reference string
	sha256    string
	findings  []efaktura.Finding // file and bundle findings, for reasonInvalid and reasonTooLarge
	message   string             // for reasonUnknownSender
}

// reason is why a bundle was refused.
type reason int

const (
	reasonInvalid       reason = iota // a file or bundle rule failed
	reasonTooLarge                    // V01
	reasonDuplicate                   // V10
	reasonUnknownSender               // the sender is not registered for the municipality
)

// acceptance is a bundle that passed: its bundle.received payload, its
// documents (spooled), and the claim on its duplicate key. Publish
// [acceptance.events], then commit the claim ([Worker.commit]), or abort
// ([acceptance.abort]) if they cannot be published; close it either way.
type acceptance struct {
	received  events.BundleReceived
	documents []document
	spool     *documentFile
	claim     claim
}

// document is what intake keeps of each document of an accepted bundle:
// where its bytes are and their SHA-256, its sender and its bundle-scoped
// findings, not its parsed tree.
type document struct {
	raw                  span
	sha256               string // of the bytes, lower-case hex
	senderType, senderID string
	findings             []events.Finding
	// line and col are where the DOCUMENT's start tag stood in the bundle:
	// its findings are told relative to the DOCUMENT, as validate, which
	// reads it alone, tells its own.
	line, col int
}

// classify validates a submission and judges it. The duplicate-bundle key
// is claimed during validation; on a rejection or an error it is released
// again (deferred), so a bundle that was not taken in does not use up its
// REFERENCE.
// The error wraps [ErrRetry] when the registers could not answer and
// [tenant.ErrNotFound] for an unknown municipality.
func (w *Worker) classify(ctx context.Context, s submission) (verdict, error) {
	if _, ok := w.tenants.Get(s.kommune); !ok {
		return verdict{}, fmt.Errorf("%w: kommune %s", tenant.ErrNotFound, s.kommune)
	}
	senders := w.tenants.Senders(s.kommune)
	spool := w.newDocumentFile(s.size)
	reg := &bundleRegistry{store: w.store, lease: w.cfg.Lease}
	accepted := false
	defer func() {
		if !accepted {
			reg.claim.release(ctx)
			spool.Close()
		}
	}()
	var docs []document
	res, err := efaktura.Validate(ctx, s.open(), efaktura.Options{
		Senders:         senders,
		Bundles:         reg,
		ServiceProvider: s.serviceProvider,
		ReceivedAt:      s.receivedAt,
		KeepRaw:         true,
		// validate judges each document; the intake answers for the
		// file and the bundle, and V51, which needs the whole bundle.
		SkipDocumentRules: true,
		File:              "bundle",
		MaxUnzippedBytes:  w.cfg.MaxUnzippedBytes,
		Document: func(d *efaktura.Document, _ *efaktura.DocumentResult) error {
			raw, err := spool.add(d.Raw())
			sum := sha256.Sum256(d.Raw())
			h := d.Root().Child("HEADER")
			line, col := d.Root().Position()
			docs = append(docs, document{raw: raw, sha256: hex.EncodeToString(sum[:]),
				senderType: h.Child("SENDER_ID_TYPE").Value(), senderID: h.Child("SENDER_ID").Value(), line: line, col: col})
			return err
		},
	})
	switch {
	case err != nil:
		err = fmt.Errorf("validate bundle: %w", err)
	case reg.err != nil:
		// The register did not say "duplicate": it could not answer, or
		// the bundle is being taken in right now. Either way, not now.
		err = fmt.Errorf("%w: %w", ErrRetry, reg.err)
	case res.Valid || len(res.Findings) == 0:
		switch {
		case reg.claim.token == "":
			err = errors.New("validate bundle: the duplicate check did not run")
		case len(docs) == 0 || len(docs) != len(res.Documents):
			err = fmt.Errorf("validate bundle: %d documents reported, %d seen", len(res.Documents), len(docs))
		}
	}
	if err != nil {
		return verdict{}, err
	}
	reject := func(r rejection) (verdict, error) {
		r.reference, r.sha256 = res.Reference, s.sha256
		return verdict{rejected: &r}, nil
	}

	if !res.Valid && len(res.Findings) > 0 {
		r := rejection{reason: reasonInvalid, findings: res.Findings}
		for _, f := range res.Findings {
			switch f.Rule {
			case "V01":
				r.reason = reasonTooLarge
			case "V10":
				r.reason, r.bundleID = reasonDuplicate, reg.claim.bundleID
			}
		}
		return reject(r)
	}
	sender := events.Sender{Type: docs[0].senderType, ID: docs[0].senderID}
	_, known, err := senders.LookupSender(ctx, sender.Type, sender.ID)
	if err != nil {
		return verdict{}, fmt.Errorf("%w: look up the sender: %w", ErrRetry, err)
	}
	if !known {
		return reject(rejection{reason: reasonUnknownSender,
			message: fmt.Sprintf("sender %s %s is not registered for kommune %s", sender.Type, cpr.Mask(sender.ID), s.kommune)})
	}

	id := reg.claim.bundleID
	filter, err := events.RawBundleFilter(s.kommune, id)
	if err != nil {
		return verdict{}, err
	}
	a := &acceptance{documents: docs, spool: spool, claim: reg.claim, received: events.BundleReceived{
		BundleID: id, Kommune: s.kommune, ServiceProvider: s.serviceProvider, Reference: res.Reference,
		Sender: sender, ReceivedAt: s.receivedAt, Raw: events.RawBundleRef{Stream: events.RawStream, Filter: filter},
		SHA256: s.sha256, Size: s.size, Ruleset: res.Ruleset,
	}}
	for i, dr := range res.Documents {
		// Bundle rules such as V51 add their findings once the whole
		// bundle was read, so they are taken from the result, not from the
		// Document callback.
		docs[i].findings = bundleScoped(dr.Findings, docs[i].line, docs[i].col)
		a.received.Documents = append(a.received.Documents, events.BundleDocument{
			DocumentID: events.DocumentID(id, dr.Index), Index: dr.Index, ReceiptNo: dr.ReceiptNo,
			DocumentNo: dr.DocumentNo, DocumentType: events.DocumentType(dr.Type),
		})
	}
	accepted = true
	return verdict{accepted: a}, nil
}

// events yields bundle.received, then one document.received per document,
// each built when it is asked for, so a large bundle is never held as
// events all at once. A document.received refers to the document stored
// raw ([Worker.keep]) and carries no XML (issue 10). It stops at the first
// error.
func (a *acceptance) events() iter.Seq2[cloudevents.Event, error] {
	return func(yield func(cloudevents.Event, error) bool) {
		b := a.received
		e, err := events.New(events.TypeBundleReceived, events.SourceIngest, b.Kommune, b.BundleID, []string{b.BundleID}, b, b.ReceivedAt)
		if !yield(e, err) || err != nil {
			return
		}
		for i, d := range a.documents {
			doc := b.Documents[i]
			subject, err := events.RawSubject(b.Kommune, b.BundleID, doc.Index)
			if err != nil {
				yield(cloudevents.Event{}, err)
				return
			}
			e, err := events.New(events.TypeDocumentReceived, events.SourceIngest, b.Kommune, doc.DocumentID, []string{doc.DocumentID},
				events.DocumentReceived{
					DocumentID: doc.DocumentID, BundleID: b.BundleID, Kommune: b.Kommune, Index: doc.Index,
					ReceiptNo: doc.ReceiptNo, DocumentNo: doc.DocumentNo, DocumentType: doc.DocumentType,
					Sender:    events.Sender{Type: d.senderType, ID: d.senderID},
					Reference: b.Reference, ReceivedAt: b.ReceivedAt, Findings: d.findings,
					Raw: events.RawRef{Stream: events.RawStream, Subject: subject, Size: d.raw.n, SHA256: d.sha256},
				}, b.ReceivedAt)
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// abort releases the duplicate key, so the bundle can be sent again.
func (a *acceptance) abort(ctx context.Context) { a.claim.release(ctx) }

// close removes the spooled documents.
func (a *acceptance) close() { a.spool.Close() }

// bundleScoped are the findings that need the whole bundle (V51): the
// validate worker judges the rest from the document alone. Their positions
// are made relative to the DOCUMENT, whose start tag stood at line:col.
func bundleScoped(fs []efaktura.Finding, line, col int) []events.Finding {
	var out []events.Finding
	for _, f := range fs {
		if f.Rule == "V51" {
			if f.Line == line {
				f.Column -= col - 1
			}
			f.Line -= line - 1
			out = append(out, eventFinding(f))
		}
	}
	return out
}

// eventFinding is f as the events carry it.
func eventFinding(f efaktura.Finding) events.Finding {
	return events.Finding{Rule: f.Rule, Severity: events.Severity(f.Severity), Path: f.Path, Line: f.Line, Column: f.Column,
		Message: f.Message, MessageDA: f.MessageDA, MessageEN: f.MessageEN}
}
