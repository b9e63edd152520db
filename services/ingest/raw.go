package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
)

// rawStore is the stream of raw documents, events.RawStream
// (EFAKTURA_BUNDLES): one message per document of an accepted bundle, its
// DOCUMENT element's bytes as they stood in the bundle (ISO-8859-1), on
// events.RawSubject (efaktura_bundle.<kommune>.<bundle id>.<index>). It
// replaces the object store of whole bundles, whose objects never expired,
// and the XML that document.received carried (issue 10): a document is
// stored once, its document.received refers to it (events.RawRef, a claim
// check), validate reads it by that reference, and it expires on its own.
//
// Each message carries:
//   - Nats-Msg-Id "<bundle id>/<index>": a retried intake stores nothing
//     twice within the stream's duplicate window;
//   - Nats-TTL, Config.RawRetention: JetStream deletes it then. The stream's
//     MaxAge is the same retention, so a retention shortened later applies
//     to the documents stored before as well (MaxAge removes a message
//     whatever its TTL), and one lengthened applies to new documents only;
//   - Efaktura-Bundle-Sha256, the SHA-256 of the bundle as received (XML or
//     ZIP), which tells a redelivered submission of the very bundle from
//     another bundle with the same duplicate key ([rawStore.bundleSHA256]).
//
// Direct gets are on (AllowDirect): validate reads each document with one,
// which any replica answers without queueing behind the JetStream API on
// the stream's leader. A replica behind the leader may not have a document
// just stored yet (nats-io/nats.docs#815), so validate asks the leader
// again before it takes a document for gone.
type rawStore struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	ttl    time.Duration
}

// headerBundleSHA256 names the header holding the SHA-256 of the bundle a
// raw document came in, as received, in lower-case hex.
const headerBundleSHA256 = "Efaktura-Bundle-Sha256"

// newRawStore creates or updates the stream of raw documents, with the
// bus's replicas and storage, and a per-message TTL of retention.
func newRawStore(ctx context.Context, b *bus.Bus, retention time.Duration) (*rawStore, error) {
	bc := b.Config()
	s, err := b.JetStream().CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        events.RawStream,
		Description: "efaktura ingest: each received document's raw XML, until its TTL",
		Subjects:    []string{events.RawSubjects},
		Retention:   jetstream.LimitsPolicy,
		Storage:     bc.StorageType(),
		Replicas:    bc.Replicas,
		AllowMsgTTL: true,
		AllowDirect: true,
		// XML compresses well: a block of documents takes about an eighth
		// on disk (docs/performance.md). JetStream compresses a block once
		// it is full; the block being written, where validate reads new
		// documents, stays as it is.
		Compression: jetstream.S2Compression,
		MaxAge:      retention,
		// JetStream wants the window within MaxAge; only a test sets a
		// retention below the bus's hour.
		Duplicates: min(bc.DuplicateWindow, retention),
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: stream %s: %w", events.RawStream, err)
	}
	return &rawStore{js: b.JetStream(), stream: s, ttl: retention}, nil
}

// rawDocument is one document to store.
type rawDocument struct {
	subject string // events.RawSubject
	msgID   string // "<bundle id>/<index>"
	xml     []byte
}

// putAttempts bounds retries of documents JetStream did not ack, e.g. while
// the stream's leader is elected, as bus.Publish does for events; the
// message ids make the retries safe.
var putAttempts = []time.Duration{0, 100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second}

// put stores docs of the bundle whose SHA-256 is bundleSHA256, all at once
// (asynchronously), and returns once JetStream has acked every one; a
// document stored before within the duplicate window is acked and dropped.
func (r *rawStore) put(ctx context.Context, bundleSHA256 string, docs []rawDocument) error {
	todo := docs
	for attempt, wait := range putAttempts {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		futures := make([]jetstream.PubAckFuture, len(todo))
		errs := make([]error, len(todo))
		for i, d := range todo {
			m := nats.NewMsg(d.subject)
			m.Data = d.xml
			m.Header.Set(headerBundleSHA256, bundleSHA256)
			futures[i], errs[i] = r.js.PublishMsgAsync(m, jetstream.WithMsgID(d.msgID), jetstream.WithMsgTTL(r.ttl),
				jetstream.WithExpectStream(events.RawStream), jetstream.WithStallWait(5*time.Second))
		}
		var failed []rawDocument
		var firstErr error
		for i, d := range todo {
			err := errs[i]
			if err == nil {
				select {
				case <-futures[i].Ok():
				case err = <-futures[i].Err():
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if err != nil {
				failed = append(failed, d)
				if firstErr == nil {
					firstErr = fmt.Errorf("store raw document %s: %w", d.subject, err)
				}
			}
		}
		if len(failed) == 0 {
			return nil
		}
		if ctx.Err() != nil || attempt == len(putAttempts)-1 {
			return firstErr
		}
		todo = failed
	}
	return nil
}

// bundleSHA256 returns the SHA-256 of the bundle whose first document is
// stored on the subject of the bundle's document 1, and false when none
// is stored (never, or expired).
func (r *rawStore) bundleSHA256(ctx context.Context, kommune, bundleID string) (string, bool, error) {
	subject, err := events.RawSubject(kommune, bundleID, 1)
	if err != nil {
		return "", false, err
	}
	m, err := r.stream.GetLastMsgForSubject(ctx, subject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("read raw document %s: %w", subject, err)
	}
	return m.Header.Get(headerBundleSHA256), true, nil
}

// rawMsgID is the Nats-Msg-Id of a bundle's document at index.
func rawMsgID(bundleID string, index int) string { return bundleID + "/" + strconv.Itoa(index) }
