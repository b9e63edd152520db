package rawdoc_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/rawdoc"
)

const bundleID = "47ee7f53-3709-58f4-8b97-14995449d02f"

// stored creates the stream of raw documents as ingest does, stores docs
// raw at indexes 1, 2, ..., and returns their references.
func stored(t *testing.T, docs ...[]byte) (jetstream.JetStream, []events.RawRef) {
	t.Helper()
	js, err := jetstream.New(natstest.Connect(t, natstest.Start(t)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = js.CreateOrUpdateStream(t.Context(), jetstream.StreamConfig{
		Name: events.RawStream, Subjects: []string{events.RawSubjects}, AllowMsgTTL: true, AllowDirect: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var refs []events.RawRef
	for i, d := range docs {
		subject, err := events.RawSubject("0101", bundleID, i+1)
		if err != nil {
			t.Fatal(err)
		}
		m := nats.NewMsg(subject)
		m.Data = d
		if _, err := js.PublishMsg(t.Context(), m, jetstream.WithMsgTTL(time.Hour)); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(d)
		refs = append(refs, events.RawRef{Stream: events.RawStream, Subject: subject, Size: int64(len(d)), SHA256: hex.EncodeToString(sum[:])})
	}
	return js, refs
}

// TestReadChecksTheReference: Read returns the bytes stored under a
// reference; a reference that names no single document, or whose size or
// SHA-256 are not the stored document's, is a permanent ErrReference.
func TestReadChecksTheReference(t *testing.T) {
	doc1, doc2 := []byte("<DOCUMENT>1</DOCUMENT>"), []byte("<DOCUMENT>2 \xf8</DOCUMENT>")
	js, refs := stored(t, doc1, doc2)
	r := rawdoc.New(js)
	got, err := r.Read(t.Context(), refs[1])
	if err != nil || !bytes.Equal(got, doc2) {
		t.Fatalf("Read(%s) = %q, %v; want %q", refs[1].Subject, got, err, doc2)
	}
	wildcard, noStream, longer, other := refs[1], refs[1], refs[1], refs[1]
	wildcard.Subject = "efaktura_bundle.0101." + bundleID + ".*"
	noStream.Stream = ""
	longer.Size++
	other.SHA256 = refs[0].SHA256
	for _, bad := range []events.RawRef{wildcard, noStream, longer, other} {
		if _, err := r.Read(t.Context(), bad); !bus.IsPermanent(err) || !errors.Is(err, rawdoc.ErrReference) {
			t.Errorf("Read(%+v) = %v; want a permanent ErrReference", bad, err)
		}
	}

	// Without a reference, what is stored on the subject is taken as it is.
	got, err = r.ReadSubject(t.Context(), events.RawStream, refs[0].Subject)
	if err != nil || !bytes.Equal(got, doc1) {
		t.Errorf("ReadSubject(%s) = %q, %v; want %q", refs[0].Subject, got, err, doc1)
	}
	if _, err := r.ReadSubject(t.Context(), events.RawStream, wildcard.Subject); !errors.Is(err, rawdoc.ErrReference) {
		t.Errorf("ReadSubject(%s) = %v; want ErrReference", wildcard.Subject, err)
	}
}

// TestReadGone: a document that is not stored (expired, purged) is a
// permanent ErrGone, once the leader confirms it.
func TestReadGone(t *testing.T) {
	js, refs := stored(t, []byte("<DOCUMENT/>"))
	s, err := js.Stream(t.Context(), events.RawStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(t.Context(), jetstream.WithPurgeSubject(refs[0].Subject)); err != nil {
		t.Fatal(err)
	}
	_, err = rawdoc.New(js).Read(t.Context(), refs[0])
	if !bus.IsPermanent(err) || !errors.Is(err, rawdoc.ErrGone) {
		t.Errorf("Read of a purged document = %v; want a permanent ErrGone", err)
	}
	_, err = rawdoc.New(js).ReadSubject(t.Context(), events.RawStream, refs[0].Subject)
	if !bus.IsPermanent(err) || !errors.Is(err, rawdoc.ErrGone) {
		t.Errorf("ReadSubject of a purged document = %v; want a permanent ErrGone", err)
	}
}

// TestReadStreamMissing: while the stream is missing (restored from a
// backup, say) a read fails, but not permanently.
func TestReadStreamMissing(t *testing.T) {
	js, err := jetstream.New(natstest.Connect(t, natstest.Start(t)))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := events.RawSubject("0101", bundleID, 1)
	_, err = rawdoc.New(js).Read(t.Context(), events.RawRef{Stream: events.RawStream, Subject: subject, Size: 1, SHA256: "00"})
	if err == nil || bus.IsPermanent(err) {
		t.Errorf("Read without the stream = %v; want a transient error", err)
	}
}
