package decide

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// What became of a bundle (issue 13, item 5): GET /v1/bundles/{id}.
//
// decide serves it because decide is the one worker that knows each
// document's state: the open ones in its records (and its index), the
// answered ones in the archive. What it did not know is the bundle: how
// many documents it holds, its reference, and whether ingest refused it
// as a whole. So decide also consumes bundle.received and bundle.rejected
// and keeps one small record per bundle in [BundlesBucket]. The status of
// a bundle of n documents then costs one read of that record and, per
// document, a look in the index (an open document), or a read of the
// archive bucket by key: at most 1000 keys, whatever the history holds; no
// scan of the archive. ingest does not serve it: it would have to ask
// decide for the documents' states, and workers talk only through NATS
// subjects.

// BundlesBucket is the JetStream KV bucket of the bundles decide heard
// of, one [Bundle] per bundle under "<kommune>.<bundle id>", kept as long
// as the archive ([Config].ArchiveRetention) from its last write.
const BundlesBucket = "EFAKTURA_bundles"

// Handler names of the bundle consumers: durable "decide-<name>".
const (
	HandlerBundleReceived = "bundle-received"
	HandlerBundleRejected = "bundle-rejected"
)

// maxBundleFindings bounds the findings a rejected bundle's record keeps;
// FindingsTotal counts them all.
const maxBundleFindings = 100

// Bundle is decide's record of a bundle: what ingest said of it. Free
// texts (reference, numbers, findings) have their CPR numbers masked
// ([cpr.Mask]): the record is kept for years, as the archive is.
type Bundle struct {
	// ID is the bundle id ([events.BundleID]), Kommune the municipality's
	// 4-digit code.
	ID      string `json:"bundle_id"`
	Kommune string `json:"kommune"`
	// Reference is INVOICES/REFERENCE, when it could be read.
	Reference string `json:"reference,omitempty"`
	// ReceivedAt is when ingest received the bundle (the accepted one, or
	// the latest rejected one).
	ReceivedAt time.Time `json:"received_at"`
	// Accepted is true once ingest accepted the bundle (bundle.received).
	Accepted bool `json:"accepted"`
	// Documents are the accepted bundle's documents, in order.
	Documents []BundleDocument `json:"documents,omitempty"`
	// Rejected is ingest's refusal of the bundle as a whole
	// (bundle.rejected); nil once the bundle is accepted.
	Rejected *BundleRejection `json:"rejected,omitempty"`
	// UpdatedAt is when decide last wrote the record.
	UpdatedAt time.Time `json:"updated_at"`
}

// BundleDocument is one document of a bundle as ingest listed it; its id
// is [events.DocumentID] of the bundle id and Index.
type BundleDocument struct {
	Index        int                 `json:"index"`
	ReceiptNo    string              `json:"receipt_no"`
	DocumentNo   string              `json:"document_no"`
	DocumentType events.DocumentType `json:"document_type"`
}

// BundleRejection is why ingest refused a bundle as a whole.
type BundleRejection struct {
	// Reason is invalid or unknown_sender. (A duplicate is not recorded:
	// its id is the accepted bundle's, whose record stays as it is.)
	Reason events.RejectionReason `json:"reason"`
	// ReceivedAt is when ingest received the refused bundle.
	ReceivedAt time.Time `json:"received_at"`
	// Findings are the file and bundle findings (V01 to V10), the first
	// 100; FindingsTotal counts them all.
	Findings      []events.Finding `json:"findings,omitempty"`
	FindingsTotal int              `json:"findings_total"`
}

// BundleAccepted is the transition of a bundle's record on
// bundle.received: the bundle as accepted, which no rejection changes any
// more (a later submission with the same key is a duplicate, refused
// without changing the accepted bundle). nil when the record holds it
// already: nothing to write.
func BundleAccepted(cur *Bundle, p events.BundleReceived, now time.Time) *Bundle {
	if cur != nil && cur.Accepted {
		return nil
	}
	b := &Bundle{ID: p.BundleID, Kommune: p.Kommune, Reference: cpr.Mask(p.Reference), ReceivedAt: p.ReceivedAt,
		Accepted: true, Documents: make([]BundleDocument, len(p.Documents)), UpdatedAt: now}
	for i, d := range p.Documents {
		b.Documents[i] = BundleDocument{Index: d.Index, ReceiptNo: cpr.Mask(d.ReceiptNo), DocumentNo: cpr.Mask(d.DocumentNo),
			DocumentType: events.DocumentType(cpr.Mask(string(d.DocumentType)))}
	}
	return b
}

// BundleRefused is the transition of a bundle's record on
// bundle.rejected: the latest refusal of a bundle never accepted. nil
// when there is nothing to write: the bundle has no id (its key could not
// be read), the refusal is a duplicate (about the accepted bundle, not a
// bundle of its own), the bundle is accepted, or the record holds this
// refusal or a later one. Events may come in any order.
func BundleRefused(cur *Bundle, p events.BundleRejected, now time.Time) *Bundle {
	if p.BundleID == "" || p.Reason == events.RejectionDuplicate {
		return nil
	}
	if cur != nil && (cur.Accepted || cur.Rejected != nil && !p.ReceivedAt.After(cur.Rejected.ReceivedAt)) {
		return nil
	}
	rej := &BundleRejection{Reason: p.Reason, ReceivedAt: p.ReceivedAt, FindingsTotal: len(p.Findings)}
	for _, f := range p.Findings[:min(len(p.Findings), maxBundleFindings)] {
		f.Path, f.Message = cpr.Mask(f.Path), cpr.Mask(f.Message)
		f.MessageDA, f.MessageEN = cpr.Mask(f.MessageDA), cpr.Mask(f.MessageEN)
		rej.Findings = append(rej.Findings, f)
	}
	return &Bundle{ID: p.BundleID, Kommune: p.Kommune, Reference: cpr.Mask(p.Reference), ReceivedAt: p.ReceivedAt,
		Rejected: rej, UpdatedAt: now}
}

// bundles is the bundles bucket.
type bundles struct {
	kv       jetstream.KeyValue
	attempts int
}

// newBundles creates or updates [BundlesBucket] (safe on every start).
func newBundles(ctx context.Context, js jetstream.JetStream, replicas int, storage jetstream.StorageType, retention time.Duration, attempts int) (*bundles, error) {
	kv, err := retainedBucket(ctx, js, BundlesBucket,
		"efaktura decide: the bundles ingest accepted or refused, key <kommune>.<bundle id>, for GET /v1/bundles/{id}",
		replicas, storage, retention)
	if err != nil {
		return nil, err
	}
	return &bundles{kv: kv, attempts: attempts}, nil
}

// get returns the bundle under k and its revision; nil when there is none.
func (s *bundles) get(ctx context.Context, k string) (*Bundle, uint64, error) {
	return getJSON[Bundle](ctx, s.kv, "bundle", k)
}

// change writes f's result by compare-and-set, as [store.change] does for
// documents; a nil result writes nothing.
func (s *bundles) change(ctx context.Context, k string, f func(*Bundle) *Bundle) error {
	for range s.attempts {
		cur, rev, err := s.get(ctx, k)
		if err != nil {
			return err
		}
		next := f(cur)
		if next == nil {
			return nil
		}
		data, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("write bundle %s: %w", k, err)
		}
		if cur == nil {
			_, err = s.kv.Create(ctx, k, data)
		} else {
			_, err = s.kv.Update(ctx, k, data, rev)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("write bundle %s: %w", k, err)
		}
	}
	return fmt.Errorf("%w: bundle %s, %d attempts", ErrConflict, k, s.attempts)
}

// find returns the bundle id in any municipality (the lowest kommune code
// should two hold it), through a temporary watcher of the one key
// pattern; nil when there is none.
func (s *bundles) find(ctx context.Context, id string) (*Bundle, error) {
	w, err := s.kv.Watch(ctx, key("*", id), jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("find bundle %s: %w", id, err)
	}
	defer w.Stop()
	var found *Bundle
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("find bundle %s: %w", id, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("find bundle %s: the watcher closed", id)
			}
			if e == nil {
				return found, nil
			}
			var b Bundle
			if err := json.Unmarshal(e.Value(), &b); err != nil {
				return nil, fmt.Errorf("find bundle %s: revision %d: %w", e.Key(), e.Revision(), err)
			}
			if found == nil || b.Kommune < found.Kommune {
				found = &b
			}
		}
	}
}

// registerBundles registers the bundle consumers; see [Worker.Register].
// Both transitions are idempotent and order-independent, and write by
// compare-and-set, so the bus claims nothing ([bus.WritesState]).
func (w *Worker) registerBundles(opts ...bus.HandleOption) {
	w.bus.Handle(HandlerBundleReceived, events.Filter(events.TypeBundleReceived), bus.WritesState, bus.Typed(w.onBundleReceived), opts...)
	w.bus.Handle(HandlerBundleRejected, events.Filter(events.TypeBundleRejected), bus.WritesState, bus.Typed(w.onBundleRejected), opts...)
}

func (w *Worker) onBundleReceived(ctx context.Context, in cloudevents.Event, p events.BundleReceived) ([]cloudevents.Event, error) {
	if !events.ValidKommune(p.Kommune) || !validID(p.BundleID) {
		return nil, bus.Permanent(fmt.Errorf("%w: %s without a 4-digit kommune and a bundle id", ErrInvalidEvent, in.Type()))
	}
	if err := sameKommune(in, p.Kommune); err != nil {
		return nil, err
	}
	now := w.now().UTC()
	return nil, w.bundles.change(ctx, key(p.Kommune, p.BundleID), func(cur *Bundle) *Bundle { return BundleAccepted(cur, p, now) })
}

func (w *Worker) onBundleRejected(ctx context.Context, in cloudevents.Event, p events.BundleRejected) ([]cloudevents.Event, error) {
	if p.BundleID == "" || p.Reason == events.RejectionDuplicate {
		return nil, nil // no bundle of its own: see BundleRefused
	}
	if !events.ValidKommune(p.Kommune) || !validID(p.BundleID) {
		return nil, bus.Permanent(fmt.Errorf("%w: %s without a 4-digit kommune and a valid bundle id", ErrInvalidEvent, in.Type()))
	}
	if err := sameKommune(in, p.Kommune); err != nil {
		return nil, err
	}
	now := w.now().UTC()
	return nil, w.bundles.change(ctx, key(p.Kommune, p.BundleID), func(cur *Bundle) *Bundle { return BundleRefused(cur, p, now) })
}

// BundleStatus is the body of GET /v1/bundles/{id}: what became of a
// bundle and of each of its documents.
type BundleStatus struct {
	// BundleID, Kommune, Reference and ReceivedAt are the bundle's, as in
	// [Bundle].
	BundleID   string    `json:"bundle_id"`
	Kommune    string    `json:"kommune"`
	Reference  string    `json:"reference"`
	ReceivedAt time.Time `json:"received_at"`
	// DocumentCount is the number of documents; 0 for a refused bundle.
	DocumentCount int `json:"document_count"`
	// Rejected is ingest's refusal of the bundle as a whole; null for an
	// accepted bundle.
	Rejected *BundleRejection `json:"rejected"`
	// States counts the documents by state, Answers by answer status.
	States  map[State]int        `json:"states"`
	Answers map[AnswerStatus]int `json:"answers"`
	// Documents are the documents, in order.
	Documents []DocumentStatus `json:"documents"`
}

// DocumentStatus is where one document of a bundle stands.
type DocumentStatus struct {
	// ID is the document id, Index its 1-based position in the bundle.
	ID    string `json:"id"`
	Index int    `json:"index"`
	// ReceiptNo, DocumentNo and DocumentType are as the bundle lists them,
	// CPR numbers masked.
	ReceiptNo    string              `json:"receipt_no"`
	DocumentNo   string              `json:"document_no"`
	DocumentType events.DocumentType `json:"document_type"`
	// State is the document's state; received also while decide has not
	// recorded the document yet (ingest accepted it).
	State State `json:"state"`
	// DecidedAt is when it was decided; absent before.
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// AnswerStatus is how far the answer to the economy system got, and
	// AnswerAt when respond last reported on it (for delivered: the
	// delivery); absent while respond has reported nothing.
	AnswerStatus AnswerStatus `json:"answer_status"`
	AnswerAt     *time.Time   `json:"answer_at,omitempty"`
	// Archived is true once the answer is delivered and the document
	// archived.
	Archived bool `json:"archived"`
}

// lookups bounds the archive and bucket reads of one bundle status at
// once.
const lookups = 16

// bundleStatus builds the status of b: each document from the index, else
// the archive, else the records bucket (an open record the index has not
// seen yet), in that order, so a document archived meanwhile is found in
// the archive, which is written before the record is purged.
func (w *Worker) bundleStatus(ctx context.Context, b *Bundle) (*BundleStatus, error) {
	out := &BundleStatus{
		BundleID: b.ID, Kommune: b.Kommune, Reference: b.Reference, ReceivedAt: b.ReceivedAt,
		DocumentCount: len(b.Documents), Rejected: b.Rejected,
		States: map[State]int{}, Answers: map[AnswerStatus]int{},
		Documents: make([]DocumentStatus, len(b.Documents)),
	}
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, lookups)
		mu    sync.Mutex
		first error
	)
	for i, d := range b.Documents {
		id := events.DocumentID(b.ID, d.Index)
		out.Documents[i] = DocumentStatus{ID: id, Index: d.Index, ReceiptNo: d.ReceiptNo, DocumentNo: d.DocumentNo,
			DocumentType: d.DocumentType, State: StateReceived, AnswerStatus: StatusPending}
		k := key(b.Kommune, id)
		if r, _ := w.store.idx.get(k); r != nil {
			out.Documents[i].fromRecord(r)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(ds *DocumentStatus) {
			defer func() { <-sem; wg.Done() }()
			if err := w.lookUp(ctx, k, ds); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(&out.Documents[i])
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	for _, d := range out.Documents {
		out.States[d.State]++
		out.Answers[d.AnswerStatus]++
	}
	return out, nil
}

// lookUp fills ds from the archive or the records bucket; ds stays
// received and pending when neither knows the document.
func (w *Worker) lookUp(ctx context.Context, k string, ds *DocumentStatus) error {
	for range 2 {
		a, err := w.store.arch.get(ctx, k)
		if err != nil {
			return err
		}
		if a != nil {
			ds.fromAudit(a)
			return nil
		}
		r, _, err := w.store.get(ctx, k)
		if err != nil {
			return err
		}
		if r != nil {
			ds.fromRecord(r)
			return nil
		}
		// Neither: not recorded yet, or archived between the two reads
		// (the archive is written before the record is purged): look in
		// the archive once more.
	}
	return nil
}

func (ds *DocumentStatus) fromRecord(r *Record) {
	ds.State, ds.DecidedAt = r.State, r.DecidedAt
	ds.AnswerStatus, ds.AnswerAt = r.Answer.Status, answerAt(r.Answer)
}

func (ds *DocumentStatus) fromAudit(a *AuditSummary) {
	ds.State, ds.DecidedAt, ds.Archived = a.State, a.DecidedAt, true
	ds.AnswerStatus, ds.AnswerAt = a.Answer.Status, answerAt(a.Answer)
}

// answerAt is when the answer got where it is: its delivery, else
// respond's last report; nil when there was none.
func answerAt(a Answer) *time.Time {
	switch {
	case a.DeliveredAt != nil:
		t := *a.DeliveredAt
		return &t
	case !a.ReportedAt.IsZero():
		t := a.ReportedAt
		return &t
	}
	return nil
}

// getBundle serves GET /v1/bundles/{id}: 200 with the [BundleStatus] of a
// bundle of the token's municipality (the economy system's ingest token,
// or a caseworker's), or of any municipality for an admin; 401; 403 for
// another role; 404 for a bundle decide has not heard of, or another
// municipality's; 500 when it cannot be read.
//
// Its cost grows with the bundle (at most 1000 documents: index look-ups,
// and key reads of the archive for answered ones), not with history.
func (w *Worker) getBundle(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticateRoles(rw, req, tenant.RoleCaseworker, tenant.RoleAdmin, tenant.RoleIngest)
	if !ok {
		return
	}
	id := req.PathValue("id")
	if !validID(id) {
		writeError(rw, http.StatusNotFound, "no such bundle")
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), w.cfg.Timeout)
	defer cancel()
	var b *Bundle
	var err error
	if p.Role == tenant.RoleAdmin {
		b, err = w.bundles.find(ctx, id)
	} else {
		b, _, err = w.bundles.get(ctx, key(p.Kommune, id))
	}
	var st *BundleStatus
	if err == nil && b != nil {
		st, err = w.bundleStatus(ctx, b)
	}
	switch {
	case err != nil:
		w.log.ErrorContext(req.Context(), "read bundle", "bundle_id", id, "err", err)
		writeError(rw, http.StatusInternalServerError, "the bundle could not be read")
	case b == nil:
		writeError(rw, http.StatusNotFound, "no such bundle")
	default:
		writeJSON(rw, http.StatusOK, st)
	}
}
