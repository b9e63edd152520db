package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// documents returns the DOCUMENT elements of a plain XML bundle, from start
// tag to end tag, as its bytes stand: found by their tags, not by the
// reader ingest uses.
func documents(t *testing.T, bundle []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for rest := bundle; ; {
		start := bytes.Index(rest, []byte("<DOCUMENT>"))
		if start < 0 {
			return out
		}
		end := bytes.Index(rest[start:], []byte("</DOCUMENT>"))
		if end < 0 {
			t.Fatal("a DOCUMENT without its end tag")
		}
		end += start + len("</DOCUMENT>")
		out = append(out, rest[start:end])
		rest = rest[end:]
	}
}

// rawStream returns the stream of raw documents.
func (f *fixture) rawStream(t *testing.T) jetstream.Stream {
	t.Helper()
	s, err := f.js.Stream(context.Background(), events.RawStream)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDocumentsAreStoredRaw: each document of an accepted bundle is one
// message of EFAKTURA_BUNDLES, its DOCUMENT element's bytes exactly, with
// the retention as its TTL, its message id, and the bundle's SHA-256.
func TestDocumentsAreStoredRaw(t *testing.T) {
	f := setup(t, Config{RawRetention: 72 * time.Hour})
	bundle := example(t, "valid-bundle-3-documents.xml")
	code, body := f.post(t, "erp-token", bundle)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %v", code, body)
	}
	bundleID := body["bundle_id"].(string)
	sum := sha256.Sum256(bundle)
	s := f.rawStream(t)
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := info.Config
	if !c.AllowMsgTTL || !c.AllowDirect || c.Compression != jetstream.S2Compression || c.MaxAge != 72*time.Hour ||
		!slices.Equal(c.Subjects, []string{"efaktura_bundle.>"}) {
		t.Errorf("stream config: AllowMsgTTL %v, AllowDirect %v, compression %v, MaxAge %v, subjects %v; want TTLs, direct gets, s2, MaxAge 72h, efaktura_bundle.>",
			c.AllowMsgTTL, c.AllowDirect, c.Compression, c.MaxAge, c.Subjects)
	}
	docs := documents(t, bundle)
	if len(docs) != 3 || !bytes.ContainsFunc(docs[0], func(r rune) bool { return r == utf8.RuneError }) {
		t.Fatalf("the bundle has %d documents, the first without ISO-8859-1 letters; want 3 with them", len(docs))
	}
	for i, want := range docs {
		subject, _ := events.RawSubject("0101", bundleID, i+1)
		m, err := s.GetLastMsgForSubject(t.Context(), subject)
		if err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		if !bytes.Equal(m.Data, want) {
			t.Errorf("document %d: stored %d bytes that are not its DOCUMENT element (%d bytes)", i+1, len(m.Data), len(want))
		}
		for h, want := range map[string]string{
			"Nats-TTL": "72h0m0s", "Nats-Msg-Id": fmt.Sprintf("%s/%d", bundleID, i+1), headerBundleSHA256: hex.EncodeToString(sum[:]),
		} {
			if got := m.Header.Get(h); got != want {
				t.Errorf("document %d: header %s = %q, want %q", i+1, h, got, want)
			}
		}
	}
}

// TestRetriedIntakeStoresNothingTwice: an intake that stored its documents
// and then failed to publish its events is sent again; the documents are
// not stored a second time.
func TestRetriedIntakeStoresNothingTwice(t *testing.T) {
	f := setup(t, Config{})
	ctx := t.Context()
	// The event stream stops taking document.received: the intake stores
	// the raw documents, then fails.
	s, err := f.js.Stream(ctx, "EFAKTURA")
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	all := cfg.Subjects
	cfg.Subjects = slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == events.Filter(events.TypeDocumentReceived) })
	if _, err := f.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	bundle := example(t, "valid-bundle-3-documents.xml")
	if code, body := f.post(t, "erp-token", bundle); code != http.StatusServiceUnavailable {
		t.Fatalf("POST while the events cannot be published: %d %v, want 503", code, body)
	}
	if n := f.rawStored(t); n != 3 {
		t.Fatalf("after the failed intake: %d raw documents, want the 3 stored before the events", n)
	}

	cfg.Subjects = all
	if _, err := f.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if code, body := f.post(t, "erp-token", bundle); code != http.StatusAccepted {
		t.Fatalf("POST again: %d %v, want 202", code, body)
	}
	info, err := f.rawStream(t).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 || info.State.LastSeq != 3 {
		t.Errorf("after the second intake: %d raw documents, last sequence %d; want 3 and 3", info.State.Msgs, info.State.LastSeq)
	}
	if n := f.stored(t, "efaktura.0101.document.received"); n != 3 {
		t.Errorf("document.received events = %d, want 3", n)
	}
}

// TestRawDocumentsExpire: JetStream deletes each raw document once its TTL,
// the raw retention, has passed.
func TestRawDocumentsExpire(t *testing.T) {
	f := setup(t, Config{RawRetention: time.Second})
	if code, body := f.post(t, "erp-token", example(t, "valid-bundle-3-documents.xml")); code != http.StatusAccepted {
		t.Fatalf("POST: %d %v", code, body)
	}
	s := f.rawStream(t)
	m, err := s.GetMsg(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get("Nats-TTL"); got != "1s" {
		t.Errorf("Nats-TTL = %q, want 1s", got)
	}
	bustest.Eventually(t, "the raw documents to expire", func() error {
		info, err := s.Info(context.Background())
		if err != nil {
			return err
		}
		if info.State.Msgs != 0 {
			return fmt.Errorf("%d raw documents left", info.State.Msgs)
		}
		return nil
	})
	// The events are the event stream's, with its own age limit.
	if n := f.stored(t, "efaktura.0101.document.received"); n != 3 {
		t.Errorf("document.received events = %d, want 3", n)
	}
}

// TestRedeliveredSubmissionIsNoDuplicate: bundle.submitted handled again
// after its bundle was taken in (a worker stopped before acking it) is
// acked with nothing published; other bytes under the same duplicate key
// are a duplicate.
func TestRedeliveredSubmissionIsNoDuplicate(t *testing.T) {
	f := setup(t, Config{})
	at := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
	good, err := events.NewBundleSubmitted("/erp-0101", "0101", "b.xml", events.ContentTypeXML, example(t, "valid-invoice.xml"), at)
	if err != nil {
		t.Fatal(err)
	}
	if outs, err := f.w.submitted(t.Context(), good); err != nil || len(outs) != 0 {
		t.Fatalf("first delivery: %v, %v; want nothing returned (the events are published by the intake)", outs, err)
	}
	if outs, err := f.w.submitted(t.Context(), good); err != nil || len(outs) != 0 {
		t.Errorf("redelivery: %v, %v; want nothing", outs, err)
	}
	other := bytes.Replace(example(t, "valid-invoice.xml"), []byte("<DOCUMENT_DATE>2025-06-02"), []byte("<DOCUMENT_DATE>2025-06-03"), 1)
	dup, err := events.NewBundleSubmitted("/erp-0101", "0101", "b.xml", events.ContentTypeXML, other, at)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := f.w.submitted(t.Context(), dup)
	if err != nil || len(outs) != 1 || outs[0].Type() != events.TypeBundleRejected {
		t.Fatalf("other bytes, same key: %v, %v; want bundle.rejected", outs, err)
	}
	if n := f.rawStored(t); n != 1 {
		t.Errorf("raw documents = %d, want 1", n)
	}
}

// TestLargeBundleIsTakenInWhole: a bundle of more documents than the
// batches in flight at once hold stores every document and publishes every
// document.received, each once.
func TestLargeBundleIsTakenInWhole(t *testing.T) {
	f := setup(t, Config{})
	n := (publishWindow+1)*publishBatch + 3
	bundle, err := efaktura.Sample(efaktura.SampleOptions{Documents: n, Seed: 7}).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if code, body := f.post(t, "erp-token", bundle); code != http.StatusAccepted {
		t.Fatalf("POST: %d %v", code, body)
	}
	if got := f.stored(t, "efaktura.0101.document.received"); got != n {
		t.Errorf("document.received events = %d, want %d", got, n)
	}
	if got := f.rawStored(t); got != uint64(n) {
		t.Errorf("raw documents stored = %d, want %d", got, n)
	}
}
