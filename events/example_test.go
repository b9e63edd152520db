package events_test

import (
	"fmt"
	"time"

	"github.com/kp-efaktura/efaktura/events"
)

// Ingest publishes one document of an accepted bundle. The ids come from
// the bundle's duplicate key and the document's position, and the event id
// from the type and the document id, so a retry makes the same event.
func ExampleNew() {
	at := time.Date(2025, 8, 14, 9, 30, 0, 0, time.UTC)
	bundleID := events.BundleID("serviceplatformen/SF1590_D", "CVR", "12345674", "OEH-BUNDT-2025-0412", 2025)
	docID := events.DocumentID(bundleID, 1)
	raw, err := events.RawSubject("0101", bundleID, 1)
	if err != nil {
		fmt.Println(err)
		return
	}

	e, err := events.New(events.TypeDocumentReceived, events.SourceIngest, "0101", docID, []string{docID},
		events.DocumentReceived{
			DocumentID: docID, BundleID: bundleID, Kommune: "0101", Index: 1,
			ReceiptNo: "OEH-2025-000412", DocumentNo: "F-2025-0412", DocumentType: events.DocumentInvoice,
			Sender:    events.Sender{Type: "CVR", ID: "12345674"},
			Reference: "OEH-BUNDT-2025-0412", ReceivedAt: at,
			// The document itself is stored once, raw, in its own stream.
			Raw: events.RawRef{Stream: events.RawStream, Subject: raw, Size: 4211,
				SHA256: "9f2c5e0b8a6d4f31c7e2a9b05d8c1f4e6a3b7d9e2c5f8a1b4d7e0c3f6a9b2d5e"},
		}, at)
	if err != nil {
		fmt.Println(err)
		return
	}
	subject, err := events.SubjectOf(e)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(subject)
	fmt.Println(e.ID() == events.ID(events.TypeDocumentReceived, docID))
	fmt.Println(events.Filter(events.TypeDocumentReceived))

	p, err := events.Decode[events.DocumentReceived](e)
	fmt.Println(p.ReceiptNo, err)
	fmt.Println(p.Raw.Stream, p.Raw.Subject)
	// Output:
	// efaktura.0101.document.received
	// true
	// efaktura.*.document.received
	// OEH-2025-000412 <nil>
	// EFAKTURA_BUNDLES efaktura_bundle.0101.f4255d54-a130-5159-bcd8-b7eda87d6e65.1
}
