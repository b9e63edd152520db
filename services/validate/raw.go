package validate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
)

// rawReader reads received documents by their references (events.RawRef,
// issue 10): one get of the last message on the reference's subject.
// Ingest's stream of raw documents allows no direct gets, so the stream's
// leader answers, and a document stored before its document.received was
// published is found (a direct get may be answered by a replica that has
// not applied it yet, and the document would be taken for gone).
//
// It is safe for concurrent use.
type rawReader struct {
	js jetstream.JetStream

	mu      sync.Mutex
	streams map[string]jetstream.Stream // looked up once each
}

func newRawReader(js jetstream.JetStream) *rawReader {
	return &rawReader{js: js, streams: map[string]jetstream.Stream{}}
}

// read returns the bytes of the document ref refers to. A document that is
// gone (ErrDocumentGone) or not the one referred to (ErrReference) is a
// permanent error ([bus.Permanent]); a read that fails otherwise (NATS, the
// stream's leader, the stream itself missing while it is restored) is
// retried by the bus.
func (r *rawReader) read(ctx context.Context, ref events.RawRef) ([]byte, error) {
	if ref.Stream == "" || ref.Subject == "" || strings.ContainsAny(ref.Subject, "*> \t\r\n") {
		return nil, bus.Permanent(fmt.Errorf("%w: stream %q, subject %q", ErrReference, ref.Stream, ref.Subject))
	}
	s, err := r.stream(ctx, ref.Stream)
	if err != nil {
		return nil, err
	}
	m, err := s.GetLastMsgForSubject(ctx, ref.Subject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, bus.Permanent(fmt.Errorf("%w: nothing on %s in stream %s: it expired after ingest's raw retention, or was purged; the document cannot be validated",
			ErrDocumentGone, ref.Subject, ref.Stream))
	case err != nil:
		return nil, fmt.Errorf("read raw document %s from stream %s: %w", ref.Subject, ref.Stream, err)
	}
	sum := sha256.Sum256(m.Data)
	if got := hex.EncodeToString(sum[:]); int64(len(m.Data)) != ref.Size || got != ref.SHA256 {
		return nil, bus.Permanent(fmt.Errorf("%w: %s in stream %s holds %d bytes with SHA-256 %s; the reference says %d bytes with %s",
			ErrReference, ref.Subject, ref.Stream, len(m.Data), got, ref.Size, ref.SHA256))
	}
	return m.Data, nil
}

// stream returns the stream named name, looked up on first use.
func (r *rawReader) stream(ctx context.Context, name string) (jetstream.Stream, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.streams[name]; ok {
		return s, nil
	}
	s, err := r.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s of raw documents: %w", name, err)
	}
	r.streams[name] = s
	return s, nil
}
