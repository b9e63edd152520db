package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Tenants is what ingest needs of the municipality registry;
// *tenant.Registry implements it.
type Tenants interface {
	Get(kommune string) (tenant.Tenant, bool)
	// Senders is the municipality's sender register (V24, V48).
	Senders(kommune string) efaktura.SenderRegister
	Authenticate(token string) (tenant.Principal, error)
}

// Worker takes in bundles. Call [Worker.Close] when it is done.
type Worker struct {
	cfg     Config
	bus     *bus.Bus
	tenants Tenants
	store   idem.Store
	raw     *rawStore
	log     *slog.Logger
	now     func() time.Time
	slots   chan struct{} // MaxConcurrent intakes
	limits  *limits       // per ingest token
	// spoolMemory is what the spools may still hold in memory.
	spoolMemory *memoryBudget

	// Background work, which Close stops and waits for: completions of
	// duplicate-bundle keys being retried.
	mu         sync.Mutex
	closed     bool
	stop       chan struct{}
	background sync.WaitGroup
}

// New creates or updates the stream of raw documents (events.RawStream)
// and returns the worker.
// store keeps the duplicate-bundle keys (V10): Redis in production, JetStream
// KV in the all-in-one. A zero cfg.Lease takes the bus's Lease. The error
// wraps [ErrConfig] for an invalid cfg.
func New(ctx context.Context, b *bus.Bus, tenants Tenants, store idem.Store, cfg Config, log *slog.Logger) (*Worker, error) {
	bc := b.Config()
	if cfg.Lease == 0 {
		cfg.Lease = bc.Lease
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	raw, err := newRawStore(ctx, b, cfg.RawRetention)
	if err != nil {
		return nil, err
	}
	return &Worker{cfg: cfg, bus: b, tenants: tenants, store: store, raw: raw, log: log, now: time.Now,
		slots: make(chan struct{}, cfg.MaxConcurrent), limits: newLimits(cfg), spoolMemory: newMemoryBudget(spoolMemoryTotal), stop: make(chan struct{})}, nil
}

// Close stops the worker's background work and waits for it until ctx is
// done, returning ctx's error then. Completions of duplicate-bundle keys
// still being retried get one last try at once. Call it once the HTTP
// server and the bus have stopped; a bundle taken in after Close gets a
// single try to complete its key.
func (w *Worker) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stop)
	}
	w.mu.Unlock()
	done := make(chan struct{})
	go func() {
		w.background.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take classifies a submission and, when it is accepted, keeps its raw
// documents, publishes its events and commits its duplicate key; should
// keeping or publishing fail, it aborts, which frees the key for a resend.
func (w *Worker) take(ctx context.Context, s submission) (verdict, error) {
	v, err := w.classify(ctx, s)
	if err != nil || v.accepted == nil {
		return v, err
	}
	a := v.accepted
	defer a.close()
	if err := w.keep(ctx, a); err != nil {
		a.abort(ctx)
		return verdict{}, err
	}
	if err := w.publish(ctx, a); err != nil {
		a.abort(ctx)
		return verdict{}, err
	}
	w.commit(ctx, a.claim, s.receivedAt)
	w.log.InfoContext(ctx, "bundle accepted", "kommune", s.kommune, "bundle_id", a.received.BundleID, "documents", len(a.documents))
	return v, nil
}

// publishBatch is how many events, or raw documents, are published at
// once. A bundle's events go out publishWindow batches at a time, so its
// intake does not wait for one ack round trip after another; they carry
// no XML, while its raw documents, which do, go one batch at a time
// (issue 17: 4 batches of raw documents in flight saved 25 ms of a
// 1000-document bundle and cost 16-23 MB more for the 45 MB one).
const (
	publishBatch  = 50
	publishWindow = 4
)

// publish sends an accepted bundle's events in batches.
func (w *Worker) publish(ctx context.Context, a *acceptance) error {
	win := newWindow(ctx)
	batch := make([]cloudevents.Event, 0, publishBatch)
	for e, err := range a.events() {
		if err != nil {
			win.fail(err)
			break
		}
		if batch = append(batch, e); len(batch) == publishBatch {
			win.publish(w.bus, batch)
			batch = make([]cloudevents.Event, 0, publishBatch)
		}
	}
	if len(batch) > 0 {
		win.publish(w.bus, batch)
	}
	return win.wait()
}

// keep stores an accepted bundle's documents in the stream of raw
// documents, in batches, before any of its events is published: an event
// that refers to a document finds it stored. Storing them again is
// harmless.
func (w *Worker) keep(ctx context.Context, a *acceptance) error {
	b := a.received
	batch := make([]rawDocument, 0, publishBatch)
	for i, d := range a.documents {
		xml, err := a.spool.read(d.raw)
		if err != nil {
			return err
		}
		index := b.Documents[i].Index
		subject, err := events.RawSubject(b.Kommune, b.BundleID, index)
		if err != nil {
			return err
		}
		if batch = append(batch, rawDocument{subject: subject, msgID: rawMsgID(b.BundleID, index), xml: xml}); len(batch) == publishBatch {
			if err := w.raw.put(ctx, b.SHA256, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return w.raw.put(ctx, b.SHA256, batch)
}

// window publishes up to publishWindow batches at once and keeps the first
// error; once one failed, the batches after it are not sent.
type window struct {
	ctx    context.Context
	cancel context.CancelFunc
	slots  chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

func newWindow(ctx context.Context) *window {
	ctx, cancel := context.WithCancel(ctx)
	return &window{ctx: ctx, cancel: cancel, slots: make(chan struct{}, publishWindow)}
}

// publish publishes events on b once a slot is free, unless a call failed
// already; events must not change afterwards.
func (w *window) publish(b *bus.Bus, events []cloudevents.Event) {
	select {
	case w.slots <- struct{}{}:
	case <-w.ctx.Done():
		return
	}
	w.wg.Go(func() {
		defer func() { <-w.slots }()
		if err := b.Publish(w.ctx, events...); err != nil {
			w.fail(err)
		}
	})
}

// fail records err, unless an error came first, and stops the batches to
// come.
func (w *window) fail(err error) {
	w.once.Do(func() {
		w.err = err
		w.cancel()
	})
}

// wait waits for the batches in flight and returns the first error, or
// the context's.
func (w *window) wait() error {
	w.wg.Wait()
	defer w.cancel()
	w.once.Do(func() { w.err = context.Cause(w.ctx) })
	return w.err
}

// kept reports whether the bundle accepted under id is the one with the
// given SHA-256: its documents are stored, and came from those bytes.
func (w *Worker) kept(ctx context.Context, kommune, id, sha string) (bool, error) {
	stored, ok, err := w.raw.bundleSHA256(ctx, kommune, id)
	return ok && stored == sha, err
}

// Register subscribes to bundles submitted over NATS (bundle.submitted) and
// publishes each outcome as bundle.received or bundle.rejected.
func (w *Worker) Register() {
	w.bus.Handle("bundles", events.Filter(events.TypeBundleSubmitted), bus.WritesState, w.submitted)
}

// submitted handles one bundle.submitted event. It writes state
// ([bus.WritesState]) and guards it itself: it keeps the raw documents, claims
// the bundle's duplicate key and publishes what it accepted itself, so the
// key is completed only after the events are out; a redelivery finds the
// key taken by the very bundle and is acked.
func (w *Worker) submitted(ctx context.Context, in cloudevents.Event) ([]cloudevents.Event, error) {
	kommune, err := events.KommuneOf(in)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	data := in.Data()
	sum := sha256.Sum256(data)
	s := submission{kommune: kommune, serviceProvider: in.Source(), body: bytes.NewReader(data), size: int64(len(data)),
		sha256: hex.EncodeToString(sum[:]), receivedAt: in.Time()}
	if s.receivedAt.IsZero() {
		s.receivedAt = w.now()
	}
	v, err := w.take(ctx, s)
	if errors.Is(err, tenant.ErrNotFound) {
		return nil, bus.Permanent(err)
	}
	if err != nil {
		return nil, err
	}
	r := v.rejected
	if r == nil {
		return nil, nil
	}
	if r.reason == reasonDuplicate {
		same, err := w.kept(ctx, kommune, r.bundleID, r.sha256)
		if err != nil {
			return nil, err
		}
		if same {
			// The very bundle was taken in already: this is a redelivery of
			// a submission whose worker stopped before acking it.
			return nil, nil
		}
	}
	rejected := events.BundleRejected{
		BundleID: r.bundleID, Kommune: kommune, ServiceProvider: s.serviceProvider, Reference: r.reference,
		ReceivedAt: s.receivedAt, SHA256: r.sha256, Ruleset: efaktura.Ruleset, Reason: events.RejectionInvalid,
	}
	switch r.reason {
	case reasonDuplicate:
		rejected.Reason, rejected.DuplicateOf = events.RejectionDuplicate, r.bundleID
	case reasonUnknownSender:
		rejected.Reason = events.RejectionUnknownSender
		rejected.Findings = []events.Finding{{Rule: "V24", Severity: events.Severity(efaktura.SeverityError), Path: "/INVOICES/DOCUMENT[1]/HEADER/SENDER_ID", Message: r.message}}
	}
	for _, f := range r.findings {
		rejected.Findings = append(rejected.Findings, eventFinding(f))
	}
	e, err := events.New(events.TypeBundleRejected, events.SourceIngest, kommune, r.bundleID, []string{kommune, r.sha256}, rejected, s.receivedAt)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	return []cloudevents.Event{e}, nil
}
