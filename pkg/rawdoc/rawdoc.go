// Package rawdoc reads received documents from the stream of raw documents
// that ingest keeps ([events.RawStream], issue 10) by their references
// ([events.RawRef]): validate reads each document it judges, decide each
// one a caseworker opens.
//
// A document that is gone (its raw retention ran out, or it was purged)
// is [ErrGone]; one whose stored bytes are not those referred to is
// [ErrReference]. Both are permanent ([bus.Permanent]): no retry brings
// the document back. Any other error (NATS, the stream's leader, the
// stream itself missing while it is restored) may pass.
package rawdoc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
)

// Errors.
var (
	// ErrGone is wrapped by the error of a read whose document is no
	// longer stored: it expired after ingest's raw retention
	// (INGEST_RAW_RETENTION), or was purged. Nothing brings it back.
	ErrGone = errors.New("the received document is no longer stored")

	// ErrReference is wrapped by the error of a read whose reference names
	// no document (no stream or subject, a wildcard), or whose stored
	// document is not the one referred to (its size or SHA-256 differ).
	ErrReference = errors.New("the document's reference does not hold")
)

// Reader reads received documents by their references: a get of the last
// message on the reference's subject.
//
// The get is a direct get, which any replica of the stream may answer: it
// does not queue behind the JetStream API on the stream's leader. A replica
// that has not applied the latest writes yet may answer that a document
// stored a moment ago is not there, or hold an older message on its subject
// (nats-io/nats.docs#815), so a get that finds no document, or not the one
// referred to, is asked again of the leader, whose answer stands.
//
// It is safe for concurrent use.
type Reader struct {
	js jetstream.JetStream

	mu      sync.Mutex
	streams map[string]jetstream.Stream // looked up once each
}

// New returns a Reader that reads through js.
func New(js jetstream.JetStream) *Reader {
	return &Reader{js: js, streams: map[string]jetstream.Stream{}}
}

// Read returns the bytes of the document ref refers to, as ingest stored
// them (ISO-8859-1). A document that is gone ([ErrGone]) or not the one
// referred to ([ErrReference]) is a permanent error ([bus.Permanent]); a
// read that fails otherwise (NATS, the stream's leader, the stream itself
// missing while it is restored) is worth retrying.
func (r *Reader) Read(ctx context.Context, ref events.RawRef) ([]byte, error) {
	return r.read(ctx, ref, true)
}

// ReadSubject returns the document stored on subject of stream, with no
// size or SHA-256 to check it against: for a reader that knows where a
// document is stored ([events.RawSubject]) but holds no reference to it,
// such as a record of before references. Its errors are Read's, but for
// [ErrReference], which it returns only for a subject that names no single
// document.
func (r *Reader) ReadSubject(ctx context.Context, stream, subject string) ([]byte, error) {
	return r.read(ctx, events.RawRef{Stream: stream, Subject: subject}, false)
}

// read is Read, which checks that the document is the one ref refers to
// when check is set, and ReadSubject.
func (r *Reader) read(ctx context.Context, ref events.RawRef, check bool) ([]byte, error) {
	if ref.Stream == "" || ref.Subject == "" || strings.ContainsAny(ref.Subject, "*> \t\r\n") {
		return nil, bus.Permanent(fmt.Errorf("%w: stream %q, subject %q", ErrReference, ref.Stream, ref.Subject))
	}
	wanted := func(data []byte) bool { return !check || holds(data, ref) }
	s, err := r.stream(ctx, ref.Stream)
	if err != nil {
		return nil, err
	}
	m, err := s.GetLastMsgForSubject(ctx, ref.Subject)
	switch {
	case err == nil && wanted(m.Data):
		return m.Data, nil
	case err != nil && !errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, fmt.Errorf("read raw document %s from stream %s: %w", ref.Subject, ref.Stream, err)
	}
	data, found, err := r.leaderGet(ctx, ref)
	switch {
	case err != nil:
		return nil, fmt.Errorf("read raw document %s from the leader of stream %s: %w", ref.Subject, ref.Stream, err)
	case !found:
		return nil, bus.Permanent(fmt.Errorf("%w: nothing on %s in stream %s: it expired after ingest's raw retention, or was purged",
			ErrGone, ref.Subject, ref.Stream))
	case !wanted(data):
		sum := sha256.Sum256(data)
		return nil, bus.Permanent(fmt.Errorf("%w: %s in stream %s holds %d bytes with SHA-256 %x; the reference says %d bytes with %s",
			ErrReference, ref.Subject, ref.Stream, len(data), sum, ref.Size, ref.SHA256))
	}
	return data, nil
}

// holds reports whether data is the document ref refers to.
func holds(data []byte, ref events.RawRef) bool {
	sum := sha256.Sum256(data)
	return int64(len(data)) == ref.Size && hex.EncodeToString(sum[:]) == ref.SHA256
}

// leaderGet asks the stream's leader for the last message on ref's subject
// (the JetStream API's message get, which only the leader answers; the
// client's Stream.GetLastMsgForSubject makes a direct get of it whenever
// the stream allows direct gets).
func (r *Reader) leaderGet(ctx context.Context, ref events.RawRef) (data []byte, found bool, err error) {
	req, err := json.Marshal(struct {
		LastBySubject string `json:"last_by_subj"`
	}{ref.Subject})
	if err != nil {
		return nil, false, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, leaderGetTimeout)
		defer cancel()
	}
	msg, err := r.js.Conn().RequestWithContext(ctx, r.apiPrefix()+"STREAM.MSG.GET."+ref.Stream, req)
	if err != nil {
		return nil, false, err
	}
	var resp struct {
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
		Message *struct {
			Data []byte `json:"data"`
		} `json:"message"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, false, fmt.Errorf("the leader's answer: %w", err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == int(jetstream.JSErrCodeMessageNotFound):
		return nil, false, nil
	case resp.Error != nil:
		return nil, false, fmt.Errorf("the leader answered %d %d: %s", resp.Error.Code, resp.Error.ErrCode, resp.Error.Description)
	case resp.Message == nil:
		return nil, false, errors.New("the leader's answer holds no message")
	}
	return resp.Message.Data, true, nil
}

// leaderGetTimeout bounds a leader get whose context has no deadline, as
// the client's own API requests are.
const leaderGetTimeout = 5 * time.Second

// apiPrefix is the JetStream API prefix of r.js: its own, its domain's, or
// the default $JS.API.
func (r *Reader) apiPrefix() string {
	o := r.js.Options()
	switch {
	case o.APIPrefix != "":
		return strings.TrimSuffix(o.APIPrefix, ".") + "."
	case o.Domain != "":
		return "$JS." + o.Domain + ".API."
	}
	return jetstream.DefaultAPIPrefix
}

// stream returns the stream named name, looked up on first use.
func (r *Reader) stream(ctx context.Context, name string) (jetstream.Stream, error) {
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
