package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Submission is a bundle as it arrives, over HTTP or NATS.
type Submission struct {
	Kommune string
	// ServiceProvider is the party that delivered the file: the economy
	// system's id over HTTP, the event source over NATS (V10's key).
	ServiceProvider string
	Body            []byte // XML or a ZIP holding one XML file, as received
	ReceivedAt      time.Time
}

// Status is what became of a submission.
type Status string

const (
	Accepted      Status = "accepted"
	Invalid       Status = "invalid"        // a file or bundle rule failed
	TooLarge      Status = "too_large"      // V01
	Duplicate     Status = "duplicate"      // V10
	UnknownSender Status = "unknown_sender" // the bundle's sender is not registered for the municipality
)

// Outcome is the answer to a submission.
type Outcome struct {
	Status      Status
	BundleID    string
	Reference   string
	DuplicateOf string // the accepted bundle's id, for Duplicate
	Documents   []events.BundleDocument
	Findings    []efaktura.Finding // file and bundle findings, for Invalid and TooLarge
	Message     string             // for UnknownSender
	SHA256      string
	// publish sends an accepted bundle's events, building them in batches
	// so a large bundle is never held as events all at once.
	publish func(ctx context.Context, send func(context.Context, ...cloudevents.Event) error) error
}

// ErrRetry is wrapped by intake errors that say "not now": the
// duplicate-bundle register could not answer, or the same bundle is being
// taken in right now. The submission should be sent again later; it is not
// a duplicate.
var ErrRetry = errors.New("ingest: try again later")

// received is what intake keeps of each document: its own bytes and its
// sender, not its parsed tree, so memory stays near the bundle's size.
type received struct {
	raw                  []byte
	senderType, senderID string
}

// intake validates a submission and, when it is accepted, stores the raw
// bundle and returns the events to publish. The bundle's duplicate key is
// claimed during validation; commit completes the claim once the events are
// published, abort releases it, so a submission that fails half-way does
// not use up its REFERENCE.
func (w *Worker) intake(ctx context.Context, s Submission) (o Outcome, commit, abort func(context.Context), err error) {
	noop := func(context.Context) {}
	if _, ok := w.tenants.Get(s.Kommune); !ok {
		return Outcome{}, noop, noop, fmt.Errorf("%w: kommune %s", tenant.ErrNotFound, s.Kommune)
	}
	senders := w.tenants.Senders(s.Kommune)
	reg := &bundleRegistry{store: w.store, lease: w.cfg.Lease}
	var docs []received
	res, err := efaktura.Validate(ctx, bytes.NewReader(s.Body), efaktura.Options{
		Senders:          senders,
		Bundles:          reg,
		ServiceProvider:  s.ServiceProvider,
		ReceivedAt:       s.ReceivedAt,
		KeepRaw:          true,
		File:             "bundle",
		MaxUnzippedBytes: w.cfg.MaxUnzippedBytes,
		Document: func(d *efaktura.Document, _ *efaktura.DocumentResult) error {
			h := d.Root().Child("HEADER")
			docs = append(docs, received{raw: d.Raw(), senderType: h.Child("SENDER_ID_TYPE").Value(), senderID: h.Child("SENDER_ID").Value()})
			return nil
		},
	})
	if err != nil {
		return Outcome{}, noop, noop, fmt.Errorf("validate bundle: %w", err)
	}
	if reg.err != nil {
		// The register did not say "duplicate": it could not answer, or the
		// bundle is being taken in right now. Either way, not now.
		reg.release(ctx)
		return Outcome{}, noop, noop, fmt.Errorf("%w: %w", ErrRetry, reg.err)
	}
	sum := sha256.Sum256(s.Body)
	o = Outcome{Reference: res.Reference, SHA256: hex.EncodeToString(sum[:])}
	if !res.Valid && len(res.Findings) > 0 {
		reg.release(ctx)
		o.Findings = res.Findings
		o.Status = Invalid
		for _, f := range res.Findings {
			switch f.Rule {
			case "V01":
				o.Status = TooLarge
			case "V10":
				o.Status = Duplicate
			}
		}
		if o.Status == Duplicate {
			o.DuplicateOf = w.bundleID(s, res, docs)
			o.BundleID = o.DuplicateOf
		}
		return o, noop, noop, nil
	}
	senderType, senderID := docs[0].senderType, docs[0].senderID
	if _, known, _ := senders.LookupSender(ctx, senderType, senderID); !known {
		reg.release(ctx)
		o.Status = UnknownSender
		o.Message = fmt.Sprintf("sender %s %s is not registered for kommune %s", senderType, cpr.Mask(senderID), s.Kommune)
		return o, noop, noop, nil
	}

	o.Status = Accepted
	o.BundleID = w.bundleID(s, res, docs)
	sender := events.Sender{Type: senderType, ID: senderID}
	received := events.BundleReceived{
		BundleID: o.BundleID, Kommune: s.Kommune, ServiceProvider: s.ServiceProvider, Reference: res.Reference,
		Sender: sender, ReceivedAt: s.ReceivedAt, Object: o.BundleID, SHA256: o.SHA256, Ruleset: res.Ruleset,
	}
	for _, dr := range res.Documents {
		received.Documents = append(received.Documents, events.BundleDocument{
			DocumentID: events.DocumentID(o.BundleID, dr.Index), Index: dr.Index, ReceiptNo: dr.ReceiptNo,
			DocumentNo: dr.DocumentNo, DocumentType: events.DocumentType(dr.Type),
		})
	}
	o.Documents = received.Documents
	head, err := events.New(events.TypeBundleReceived, events.SourceIngest, s.Kommune, o.BundleID, []string{o.BundleID}, received, s.ReceivedAt)
	if err != nil {
		reg.release(ctx)
		return Outcome{}, noop, noop, err
	}
	o.publish = func(ctx context.Context, send func(context.Context, ...cloudevents.Event) error) error {
		const batch = 50
		out := []cloudevents.Event{head}
		for i, d := range docs {
			dr, doc := res.Documents[i], received.Documents[i]
			e, err := events.New(events.TypeDocumentReceived, events.SourceIngest, s.Kommune, doc.DocumentID, []string{doc.DocumentID},
				events.DocumentReceived{
					DocumentID: doc.DocumentID, BundleID: o.BundleID, Kommune: s.Kommune, Index: dr.Index,
					ReceiptNo: dr.ReceiptNo, DocumentNo: dr.DocumentNo, DocumentType: doc.DocumentType,
					Sender:    events.Sender{Type: d.senderType, ID: d.senderID},
					Reference: res.Reference, ReceivedAt: s.ReceivedAt, XML: d.raw, Findings: bundleScoped(dr.Findings),
				}, s.ReceivedAt)
			if err != nil {
				return err
			}
			if out = append(out, e); len(out) == batch || i == len(docs)-1 {
				if err := send(ctx, out...); err != nil {
					return err
				}
				out = out[:0]
			}
		}
		if len(out) > 0 {
			return send(ctx, out...)
		}
		return nil
	}
	if err := w.keep(ctx, o.BundleID, s.Body); err != nil {
		reg.release(ctx)
		return Outcome{}, noop, noop, err
	}
	commit = func(ctx context.Context) { reg.complete(ctx, untilNextYear(s.ReceivedAt), w.log) }
	return o, commit, reg.release, nil
}

// bundleID is the accepted bundle's id, from its duplicate key.
func (w *Worker) bundleID(s Submission, res *efaktura.Result, docs []received) string {
	var senderType, senderID string
	if len(docs) > 0 {
		senderType, senderID = docs[0].senderType, docs[0].senderID
	}
	return events.BundleID(s.ServiceProvider, senderType, senderID, res.Reference, danishYear(s.ReceivedAt))
}

// bundleScoped are the findings that need the whole bundle (V51): the
// validate worker judges the rest from the document alone.
func bundleScoped(fs []efaktura.Finding) []events.Finding {
	var out []events.Finding
	for _, f := range fs {
		if f.Rule == "V51" {
			out = append(out, events.Finding{Rule: f.Rule, Severity: events.Severity(f.Severity), Path: f.Path, Message: f.Message})
		}
	}
	return out
}

// bundleRegistry is V10's register of accepted bundles on the idempotency
// store: the key is claimed while the bundle is validated and published,
// completed for the rest of the year once it is, and released when it is
// not, so a failed intake can be sent again.
type bundleRegistry struct {
	store idem.Store
	lease time.Duration
	key   string
	token string
	// err is set when the register could not say: the store failed, or the
	// same bundle is being taken in right now and may yet fail.
	err error
}

// errInProgress: the same bundle is being taken in by another request.
var errInProgress = errors.New("the same bundle is being taken in right now")

func (r *bundleRegistry) Register(ctx context.Context, key efaktura.BundleKey) (bool, error) {
	r.key = "bundle/" + key.String()
	token, st, err := r.store.Claim(ctx, r.key, r.lease)
	switch {
	case err != nil:
		r.err = err
		return false, err
	case st == idem.Busy:
		r.err = errInProgress
		return false, errInProgress
	}
	r.token = token
	return st == idem.Done, nil
}

// complete keeps the key for ttl. It retries: a bundle whose key is lost
// would let a later bundle with the same key through as if new.
func (r *bundleRegistry) complete(ctx context.Context, ttl time.Duration, log *slog.Logger) {
	if r.token == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	for _, wait := range []time.Duration{0, 100 * time.Millisecond, time.Second, 5 * time.Second} {
		time.Sleep(wait)
		if err = r.store.Complete(ctx, r.key, r.token, ttl); err == nil || errors.Is(err, idem.ErrNotOwner) {
			break
		}
	}
	if err != nil {
		log.ErrorContext(ctx, "duplicate-bundle key not kept; a resent bundle may be taken in twice", "err", err)
	}
}

// release frees the key for a resend. A failure needs no handling: the
// claim's lease runs out on its own.
func (r *bundleRegistry) release(ctx context.Context) {
	if r.token != "" {
		_ = r.store.Release(context.WithoutCancel(ctx), r.key, r.token)
	}
}

var copenhagen = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		panic(err)
	}
	return loc
}()

func danishYear(t time.Time) int { return t.In(copenhagen).Year() }

// untilNextYear is how long a duplicate key must live: to the end of the
// Danish year it was accepted in, plus a week for clocks and late retries.
func untilNextYear(t time.Time) time.Duration {
	dk := t.In(copenhagen)
	next := time.Date(dk.Year()+1, time.January, 1, 0, 0, 0, 0, copenhagen)
	return next.Sub(t) + 7*24*time.Hour
}
