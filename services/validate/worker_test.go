package validate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// env is validate on a real embedded JetStream server, with the stream of
// raw documents as ingest creates it.
type env struct {
	t    *testing.T
	js   jetstream.JetStream
	bus  *bus.Bus
	seen *bustest.Recorder
	docs []doc
}

const bundleID = "47ee7f53-3709-58f4-8b97-14995449d02f"

func start(t *testing.T) *env {
	t.Helper()
	nc := natstest.Connect(t, natstest.Start(t))
	b, err := bus.New(t.Context(), nc, bus.Config{Service: "validate", Subjects: events.StreamSubjects(),
		Backoff: []time.Duration{20 * time.Millisecond}}, bus.WithSubjects(events.SubjectOf))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := os.ReadFile("testdata/valid-bundle-3-documents.xml")
	if err != nil {
		t.Fatal(err)
	}
	registered := tenants{"0101": {Kommune: "0101", Senders: []tenant.Sender{{Type: "CVR", ID: "24680134"}, {Type: "EAN", ID: "7350000000030"}}}}
	New(b, registered, Config{}).Register()
	e := &env{t: t, js: b.JetStream(), bus: b, docs: received(t, bundle)}
	e.seen = bustest.Record(t, e.js, "EFAKTURA", events.Filter(events.TypeDocumentValidated), events.Filter(events.TypeDocumentRejected))
	bustest.Run(t, b)
	return e
}

// rawStream creates the stream of raw documents, as ingest does.
func (e *env) rawStream() {
	e.t.Helper()
	_, err := e.js.CreateOrUpdateStream(e.t.Context(), jetstream.StreamConfig{
		Name: events.RawStream, Subjects: []string{events.RawSubjects}, AllowMsgTTL: true, AllowDirect: true,
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// store stores document i (1-based) raw, as ingest does, and returns its
// reference.
func (e *env) store(i int) events.RawRef {
	e.t.Helper()
	ref := e.ref(i)
	m := nats.NewMsg(ref.Subject)
	m.Data = e.docs[i-1].xml
	if _, err := e.js.PublishMsg(e.t.Context(), m, jetstream.WithMsgTTL(time.Hour)); err != nil {
		e.t.Fatal(err)
	}
	return ref
}

// ref is the reference to document i (1-based).
func (e *env) ref(i int) events.RawRef {
	e.t.Helper()
	subject, err := events.RawSubject("0101", bundleID, i)
	if err != nil {
		e.t.Fatal(err)
	}
	sum := sha256.Sum256(e.docs[i-1].xml)
	return events.RawRef{Stream: events.RawStream, Subject: subject, Size: int64(len(e.docs[i-1].xml)), SHA256: hex.EncodeToString(sum[:])}
}

// receive publishes document i's document.received with ref.
func (e *env) receive(i int, ref events.RawRef) {
	e.t.Helper()
	p := e.docs[i-1].p
	p.DocumentID, p.BundleID, p.Raw = events.DocumentID(bundleID, i), bundleID, ref
	p.ReceivedAt = time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	ev, err := events.New(events.TypeDocumentReceived, events.SourceIngest, "0101", p.DocumentID, []string{p.DocumentID}, p, p.ReceivedAt)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := events.Check(ev); err != nil {
		e.t.Fatalf("the test's document.received: %v", err)
	}
	if err := e.bus.Publish(e.t.Context(), ev); err != nil {
		e.t.Fatal(err)
	}
}

// TestDocumentReadByReference: validate reads the document a
// document.received refers to and judges it.
func TestDocumentReadByReference(t *testing.T) {
	e := start(t)
	e.rawStream()
	e.receive(1, e.store(1))
	got := e.seen.Wait(t, events.TypeDocumentValidated, 1)
	v := bustest.Payloads[events.DocumentValidated](t, got)[0]
	if v.DocumentID != events.DocumentID(bundleID, 1) || v.Summary.Currency != "DKK" || v.Summary.Lines != 2 || v.Summary.DueDate != "2025-07-31" {
		t.Errorf("validated = %+v", v)
	}
	if err := events.Check(got[0]); err != nil {
		t.Error(err)
	}
}

// TestDocumentGoneIsDeadLettered: a reference whose document is not stored
// (expired, purged), or is not the document referred to, dead-letters its
// event at the first delivery, with an error saying so.
func TestDocumentGoneIsDeadLettered(t *testing.T) {
	e := start(t)
	e.rawStream()
	other := e.store(2)
	other.SHA256 = e.ref(3).SHA256 // the stored bytes are document 2's
	e.receive(1, e.ref(1))         // never stored
	e.receive(2, other)
	bustest.Settled(t, e.js, "EFAKTURA", "validate-documents", 2)

	letters, err := bus.OpenDeadLetters(e.js, bus.Config{}).List(t.Context(), "validate", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 2 {
		t.Fatalf("%d dead letters, want 2", len(letters))
	}
	// The handler runs 4 at a time: the letters come in either order.
	for _, dl := range letters {
		var want string
		switch p, _ := events.Decode[events.DocumentReceived](dl.Event); p.Raw.Subject {
		case e.ref(1).Subject:
			want = "the received document is no longer stored: nothing on " + e.ref(1).Subject + " in stream EFAKTURA_BUNDLES: it expired after ingest's raw retention, or was purged"
		case other.Subject:
			want = "the document's reference does not hold: " + other.Subject + " in stream EFAKTURA_BUNDLES holds"
		}
		if dl.Deliveries != 1 || want == "" || !strings.Contains(dl.Error, want) {
			t.Errorf("dead letter of %s: %d deliveries, error %q; want 1, with %q", dl.Subject, dl.Deliveries, dl.Error, want)
		}
	}
	if n := len(e.seen.Events()); n != 0 {
		t.Errorf("%d documents judged, want none", n)
	}
}

// TestFailedReadIsRetried: a read that fails for a while (the stream of raw
// documents is missing, as while it is restored from a backup) is tried
// again, and the document is judged once it can be read.
func TestFailedReadIsRetried(t *testing.T) {
	e := start(t)
	e.receive(1, e.ref(1))
	bustest.Delivered(t, e.js, "EFAKTURA", "validate-documents", 2)
	e.rawStream()
	e.store(1)
	e.seen.Wait(t, events.TypeDocumentValidated, 1)
	letters, err := bus.OpenDeadLetters(e.js, bus.Config{}).List(context.Background(), "validate", 10)
	if err != nil || len(letters) != 0 {
		t.Errorf("dead letters: %v, %v; want none", letters, err)
	}
}
