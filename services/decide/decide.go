package decide

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"github.com/kp-efaktura/efaktura/pkg/kvwatch"
	"github.com/kp-efaktura/efaktura/pkg/rawdoc"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// DefaultBucket is the KV bucket of the document records.
const DefaultBucket = "EFAKTURA_documents"

// Config is what operators set. A zero field takes the default shown.
type Config struct {
	// Bucket is the JetStream KV bucket of the open documents' records,
	// created (or updated) by [New] with the bus's replicas and storage;
	// default "EFAKTURA_documents". Renaming it starts from an empty
	// bucket. A record leaves it for the archive ([ArchiveBucket],
	// [ArchiveStream]) once its answer is delivered.
	Bucket string
	// ArchiveRetention is how long archived documents are kept, from
	// their archiving: the TTL of [ArchiveBucket] and the MaxAge of
	// [ArchiveStream]; default [DefaultArchiveRetention], 6 years, for
	// Bogføringsloven §10's 5 years from the end of the financial year.
	// Shortening it deletes older summaries at once.
	ArchiveRetention time.Duration
	// Concurrency is how many events each handler works on at once;
	// default 8. Order does not matter to the transitions (see
	// handle.go), so more than one is safe.
	Concurrency int
	// Attempts bounds a read-modify-write of a record that keeps losing
	// compare-and-set races to other writers; default 10.
	Attempts int
	// MaxBody bounds a verdict request's body, in bytes; default 64 KiB.
	MaxBody int64
	// PerPage is the page size of GET /v1/documents without per_page;
	// default 50.
	PerPage int
	// MaxPerPage bounds per_page; default 500.
	MaxPerPage int
	// Timeout bounds the work of one HTTP request after its verdict is
	// accepted, which goes on even if the client disconnects; default 15s.
	Timeout time.Duration
	// Reannounce is how long a decision may go without a report from
	// respond on its answer before document.decided is published again
	// (see [Worker.reannounce]); default 2 minutes. [New] requires it to
	// be under nine tenths of the bus's duplicate window.
	Reannounce time.Duration
}

func (c Config) withDefaults() Config {
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.Attempts == 0 {
		c.Attempts = 10
	}
	if c.MaxBody == 0 {
		c.MaxBody = 64 << 10
	}
	if c.PerPage == 0 {
		c.PerPage = 50
	}
	if c.MaxPerPage == 0 {
		c.MaxPerPage = 500
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Reannounce == 0 {
		c.Reannounce = 2 * time.Minute
	}
	if c.ArchiveRetention == 0 {
		c.ArchiveRetention = DefaultArchiveRetention
	}
	return c
}

// Validate reports every problem of a configuration at once, wrapping
// [ErrConfig]. Zero fields are valid: they take their defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency is %d; expected at least 1", c.Concurrency))
	}
	if c.Attempts < 1 {
		errs = append(errs, fmt.Errorf("attempts is %d; expected at least 1", c.Attempts))
	}
	if c.MaxBody < 1024 {
		errs = append(errs, fmt.Errorf("max body is %d bytes; expected at least 1024", c.MaxBody))
	}
	if c.PerPage < 1 || c.MaxPerPage < c.PerPage {
		errs = append(errs, fmt.Errorf("per page %d and max per page %d: expected 1 <= per page <= max per page", c.PerPage, c.MaxPerPage))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout is %v; expected more than 0", c.Timeout))
	}
	if c.Reannounce <= 0 {
		errs = append(errs, fmt.Errorf("reannounce is %v; expected more than 0", c.Reannounce))
	}
	if c.ArchiveRetention < time.Hour {
		errs = append(errs, fmt.Errorf("archive retention is %v; expected at least 1h", c.ArchiveRetention))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// Authenticator tells who presents a bearer token. *tenant.Registry
// implements it. An error wrapping [tenant.ErrAuth] or [tenant.ErrNotFound]
// means the token is not valid (401); any other error means the answer is
// unknown (503).
type Authenticator interface {
	Authenticate(token string) (tenant.Principal, error)
}

// Option supplies a dependency to [New].
type Option func(*options) error

type options struct {
	log       *slog.Logger
	now       func() time.Time
	tenants   Tenants
	markerTTL time.Duration   // for tests; default markerTTL
	loadGate  <-chan struct{} // for tests: the index is not loaded before it is closed
}

// WithLogger sets the logger; default slog.Default(). Lines carry ids,
// never payloads.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrOption)
		}
		o.log = l
		return nil
	}
}

// Tenants is what decide reads of the municipality registry: a
// municipality's record, for GET /v1/me. *tenant.Registry implements it.
type Tenants interface {
	Get(kommune string) (tenant.Tenant, bool)
}

// WithTenants sets the municipality registry that GET /v1/me reads the
// caseworker's municipality and its service agreements from; without it,
// /v1/me says only who the token is.
func WithTenants(t Tenants) Option {
	return func(o *options) error {
		if t == nil {
			return fmt.Errorf("%w: nil tenants", ErrOption)
		}
		o.tenants = t
		return nil
	}
}

// WithClock sets the clock; default time.Now. For tests.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrOption)
		}
		o.now = now
		return nil
	}
}

// Worker holds each valid document until a caseworker's verdict arrives,
// rejects technically invalid ones at once, and serves the caseworkers'
// API. It is safe for concurrent use, and any number of replicas may run
// against the same bucket.
type Worker struct {
	cfg     Config
	bus     *bus.Bus
	auth    Authenticator
	store   *store
	raw     *rawdoc.Reader
	dups    *duplicates
	tenants Tenants // nil without WithTenants
	bundles *bundles
	log     *slog.Logger
	now     func() time.Time
	// metrics is nil until [Worker.Instrument].
	metrics *metrics
}

// New creates or updates the KV bucket of the records, the archive bucket
// [ArchiveBucket] and the archive stream [ArchiveStream] (safe on every
// start) with the bus's replicas and storage, and returns a Worker that
// neither consumes nor serves yet: call [Worker.Register] before b.Run,
// mount [Worker.Routes], and make [Worker.Ready] part of the process's
// readiness.
//
// New also starts three goroutines for as long as ctx lasts: one watches
// the bucket (while the bus's connection stays open) to keep the in-memory
// index of the open documents that serves GET /v1/documents, one announces
// decisions again that respond has not reported on ([Worker.reannounce]),
// and one archives answered records that their handler left open
// ([Worker.sweep]). Pass a context that lives as long as the worker, not
// a request's or a start-up timeout's.
//
// b must publish to the subjects of the event catalogue, i.e. be built with
// bus.WithSubjects(events.SubjectOf) on a stream capturing
// events.StreamSubjects(), as every efaktura worker's bus is. New returns an
// error wrapping [ErrConfig] or [ErrOption], or the bucket's error.
func New(ctx context.Context, b *bus.Bus, auth Authenticator, cfg Config, opts ...Option) (*Worker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if b == nil || auth == nil {
		return nil, fmt.Errorf("%w: New needs a bus and an authenticator", ErrOption)
	}
	o := options{log: slog.Default(), now: time.Now, markerTTL: markerTTL}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	bc := b.Config()
	if cfg.Reannounce >= announceHorizon(bc.DuplicateWindow) {
		return nil, fmt.Errorf("%w: reannounce %v must be under nine tenths of the bus's duplicate window %v", ErrConfig, cfg.Reannounce, bc.DuplicateWindow)
	}
	kv, err := b.JetStream().CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "efaktura decide: one record per open document, key <kommune>.<document id>",
		History:     1,
		Storage:     bc.StorageType(),
		Replicas:    bc.Replicas,
		// Purge markers expire (see markerTTL); this also lets them carry
		// a TTL of their own.
		LimitMarkerTTL: o.markerTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("decide: bucket %s: %w", cfg.Bucket, err)
	}
	arch, err := newArchive(ctx, b.JetStream(), bc.Replicas, bc.StorageType(), cfg.ArchiveRetention, bc.DuplicateWindow)
	if err != nil {
		return nil, err
	}
	bun, err := newBundles(ctx, b.JetStream(), bc.Replicas, bc.StorageType(), cfg.ArchiveRetention, cfg.Attempts)
	if err != nil {
		return nil, err
	}
	w := &Worker{
		cfg: cfg, bus: b, auth: auth, bundles: bun,
		raw: rawdoc.New(b.JetStream()), tenants: o.tenants,
		log: o.log.With("component", "decide"),
		now: o.now,
	}
	w.store = &store{kv: kv, attempts: cfg.Attempts, idx: newIndex(w.log), arch: arch, markerTTL: o.markerTTL, now: w.now}
	if w.dups, err = newDuplicates(ctx, b.JetStream(), bc.Replicas, bc.StorageType(), cfg.ArchiveRetention, cfg.Attempts); err != nil {
		return nil, err
	}
	var view kvwatch.View = w.store.idx
	if o.loadGate != nil {
		view = gatedView{w.store.idx, o.loadGate}
	}
	go kvwatch.Follow(ctx, b.JetStream().Conn(), kv, view, "document index", w.log)
	go w.reannounce(ctx)
	go w.sweep(ctx)
	return w, nil
}

// Ready returns nil once the in-memory index has loaded the open records
// of the bucket, so lists are complete; until then an error. A restart
// loads only the open documents (the answered ones are archived), so it
// takes time in proportion to open work, not to history (issue 10).
func (w *Worker) Ready(context.Context) error {
	if !w.store.idx.loaded() {
		return errors.New("the document index is loading")
	}
	return nil
}

// Handler names: each is the durable consumer "<bus service>-<name>".
// Renaming one creates a new consumer that reads the stream from its start
// again: the transitions are idempotent, so that is safe, but slow.
const (
	HandlerDocumentReceived  = "document-received"
	HandlerDocumentValidated = "document-validated"
	HandlerDocumentRejected  = "document-rejected"
	HandlerVerdictSubmitted  = "verdict-submitted"
	HandlerAnswerParked      = "answer-parked"
	HandlerAnswerDelivered   = "answer-delivered"
	HandlerAnswerFailed      = "answer-failed"
)

// Register registers the worker's handlers on its bus, for every
// municipality: document.received, .validated and .rejected, verdict.submitted,
// answer.parked, .delivered and .failed, and bundle.received and .rejected
// (for GET /v1/bundles/{id}). Call it once, before the bus's Run.
//
// Every handler writes the KV bucket and guards the write itself
// ([bus.WritesState], so the bus claims nothing): a transition applied to
// its own result changes nothing (every one checks the record's state and
// times first), the write is a compare-and-set, and the events it returns
// have ids derived from the input. A redelivered or replayed event
// therefore rewrites nothing and republishes only ids that JetStream
// (within its duplicate window) and respond's own idempotency store drop.
// Claims would cost two KV round trips per event and protect nothing more.
func (w *Worker) Register() {
	conc := bus.WithConcurrency(w.cfg.Concurrency)
	b := w.bus
	b.Handle(HandlerDocumentReceived, events.Filter(events.TypeDocumentReceived), bus.WritesState, bus.Typed(w.onReceived), conc)
	b.Handle(HandlerDocumentValidated, events.Filter(events.TypeDocumentValidated), bus.WritesState, bus.Typed(w.onValidated), conc)
	b.Handle(HandlerDocumentRejected, events.Filter(events.TypeDocumentRejected), bus.WritesState, bus.Typed(w.onRejected), conc)
	b.Handle(HandlerVerdictSubmitted, events.Filter(events.TypeVerdictSubmitted), bus.WritesState, bus.Typed(w.onVerdict),
		conc, bus.WithFailureEvents(w.verdictDeadLettered))
	b.Handle(HandlerAnswerParked, events.Filter(events.TypeAnswerParked), bus.WritesState, bus.Typed(w.onAnswerParked), conc)
	b.Handle(HandlerAnswerDelivered, events.Filter(events.TypeAnswerDelivered), bus.WritesState, bus.Typed(w.onAnswerDelivered), conc)
	b.Handle(HandlerAnswerFailed, events.Filter(events.TypeAnswerFailed), bus.WritesState, bus.Typed(w.onAnswerFailed), conc)
	w.registerBundles(conc) // bundle.received and .rejected: bundles.go
}

// meta is the Meta of a bus input.
func (w *Worker) meta(in cloudevents.Event) Meta {
	traceID, traceParent := TraceOf(in)
	return Meta{Now: w.now().UTC(), TraceID: traceID, TraceParent: traceParent}
}

// classify turns a handler error into the bus's terms: an invalid event is
// permanent (dead-lettered at once), anything else is retried; an unknown
// document or one not validated yet may well be known on a later try.
func classify(err error) error {
	if errors.Is(err, ErrInvalidEvent) {
		return bus.Permanent(err)
	}
	return err
}

// update runs a transition under the key of the document that in's payload
// names by kommune and id. It returns [ErrArchived] for an archived
// document, which nothing changes any more: see [done].
func (w *Worker) update(ctx context.Context, in cloudevents.Event, kommune, id string, f func(*Record) (*Record, error)) error {
	if err := checkIDs(in.Type(), kommune, id); err != nil {
		return bus.Permanent(err)
	}
	if err := sameKommune(in, kommune); err != nil {
		return err
	}
	err := w.store.change(ctx, key(kommune, id), f)
	if errors.Is(err, ErrArchived) {
		return err
	}
	return classify(err)
}

// done is a handler's result for err from [Worker.update]: an event for an
// archived document is done, whatever its transition made of it.
func done(err error) error {
	if errors.Is(err, ErrArchived) {
		return nil
	}
	return err
}

func (w *Worker) onReceived(ctx context.Context, in cloudevents.Event, p events.DocumentReceived) ([]cloudevents.Event, error) {
	m := w.meta(in)
	return nil, done(w.update(ctx, in, p.Kommune, p.DocumentID, func(r *Record) (*Record, error) { return Received(r, p, m) }))
}

// onValidated records the validation with decision assistance (possible
// duplicates, the rules' outcome: [Worker.assess]) in one write, then lets
// a rule that matched in enforce mode decide ([Worker.applyRule]); a
// redelivery does what is left of that.
func (w *Worker) onValidated(ctx context.Context, in cloudevents.Event, p events.DocumentValidated) ([]cloudevents.Event, error) {
	m := w.meta(in)
	a, err := w.assess(ctx, p)
	if err != nil {
		return nil, classify(err)
	}
	var rec *Record
	if err := w.update(ctx, in, p.Kommune, p.DocumentID, func(r *Record) (*Record, error) {
		n, err := Validated(r, p, m)
		if n != nil {
			n = withAssist(n, a, p.ValidatedAt)
		}
		rec = cmp.Or(n, r)
		return n, err
	}); err != nil {
		return nil, done(err)
	}
	return nil, classify(w.applyRule(ctx, rec))
}

func (w *Worker) onRejected(ctx context.Context, in cloudevents.Event, p events.DocumentRejected) ([]cloudevents.Event, error) {
	m := w.meta(in)
	var outs []cloudevents.Event
	var decided bool
	err := w.update(ctx, in, p.Kommune, p.DocumentID, func(r *Record) (*Record, error) {
		n, evs, err := TechnicallyRejected(r, p, m)
		outs, decided = evs, n != nil
		return n, err
	})
	if err != nil {
		return nil, done(err)
	}
	if decided {
		w.metrics.decide(ctx, events.DecidedBySystem)
	}
	if len(outs) > 0 {
		w.log.InfoContext(ctx, "document rejected automatically", "document_id", p.DocumentID, "kommune", p.Kommune)
	}
	return outs, nil
}

func (w *Worker) onVerdict(ctx context.Context, in cloudevents.Event, v events.VerdictSubmitted) ([]cloudevents.Event, error) {
	m := w.meta(in)
	if err := checkIDs(in.Type(), v.Kommune, v.DocumentID); err != nil || v.VerdictID == "" {
		return nil, bus.Permanent(fmt.Errorf("%w: %s needs a verdict id, a document id and a 4-digit kommune", ErrInvalidEvent, in.Type()))
	}
	if err := sameKommune(in, v.Kommune); err != nil {
		return nil, err
	}
	res, err := w.store.verdict(ctx, v, m)
	if errors.Is(err, ErrArchived) {
		res, err = w.archivedVerdict(ctx, v, m)
	}
	if err != nil {
		return nil, classify(err)
	}
	if res.Outcome == VerdictApplied {
		w.metrics.decide(ctx, v.Caseworker)
	}
	w.log.InfoContext(ctx, "verdict", "document_id", v.DocumentID, "kommune", v.Kommune, "verdict_id", v.VerdictID, "outcome", res.Outcome)
	return res.Events, nil
}

// archivedVerdict is [ApplyVerdict] for a document that is archived: the
// same verdict as the one in force (its reasons' texts compared masked, as
// the archive keeps them) is [VerdictRepeated], with no event, since the
// answer is delivered; any other is [VerdictRefused], with verdict.refused.
func (w *Worker) archivedVerdict(ctx context.Context, v events.VerdictSubmitted, m Meta) (VerdictResult, error) {
	sum, err := w.store.arch.get(ctx, key(v.Kommune, v.DocumentID))
	if err != nil {
		return VerdictResult{}, err
	}
	if sum == nil { // cannot be: it was archived a moment ago
		return VerdictResult{}, ErrUnknownDocument
	}
	reasons := NormalizeReasons(v.Reasons)
	for i := range reasons {
		reasons[i].Text = cpr.Mask(reasons[i].Text)
	}
	if SameVerdict(sum.Verdict, v.Decision, reasons) {
		return VerdictResult{Outcome: VerdictRepeated}, nil
	}
	why := "another verdict decided the document already: it is " + string(sum.State)
	if sum.Verdict != nil && sum.Verdict.By == events.DecidedBySystem {
		why = "the document was rejected automatically as technically invalid"
	}
	return refuse(nil, v, m, why, events.Outcome(sum.State))
}

// verdictDeadLettered tells the verdict's submitter, with a verdict.refused
// event, that a verdict the bus gave up on was not applied because its
// document stayed unknown or unvalidated through every retry.
func (w *Worker) verdictDeadLettered(in cloudevents.Event, cause error, _ int, final bool) []cloudevents.Event {
	if !final || !errors.Is(cause, ErrUnknownDocument) && !errors.Is(cause, ErrNotValidated) {
		return nil
	}
	v, err := events.Decode[events.VerdictSubmitted](in)
	if err != nil || v.VerdictID == "" || checkIDs(in.Type(), v.Kommune, v.DocumentID) != nil {
		return nil
	}
	why := "the document is unknown"
	if errors.Is(cause, ErrNotValidated) {
		why = "the document was not validated"
	}
	res, err := refuse(nil, v, Meta{Now: w.now().UTC()}, why, "")
	if err != nil {
		return nil
	}
	return res.Events
}

func (w *Worker) onAnswerParked(ctx context.Context, in cloudevents.Event, p events.AnswerParked) ([]cloudevents.Event, error) {
	m := w.meta(in)
	return nil, done(w.update(ctx, in, p.Kommune, p.DocumentID, func(r *Record) (*Record, error) { return AnswerParked(r, p, m) }))
}

// onAnswerDelivered records the delivery, the answer's final state, and
// then archives the document ([store.archive]). Should archiving fail, the
// event is retried: the delivery is recorded already, so the retry goes
// straight on to archiving.
func (w *Worker) onAnswerDelivered(ctx context.Context, in cloudevents.Event, p events.AnswerDelivered) ([]cloudevents.Event, error) {
	m := w.meta(in)
	var took time.Duration // from receipt to delivery, when this event completes the record
	if err := w.update(ctx, in, p.Kommune, p.DocumentID, func(r *Record) (*Record, error) {
		took = 0
		if r != nil && r.Answer.Status != StatusDelivered && !r.ReceivedAt.IsZero() {
			took = p.DeliveredAt.Sub(r.ReceivedAt)
		}
		return AnswerDelivered(r, p, m)
	}); err != nil {
		return nil, done(err)
	}
	if took > 0 {
		w.metrics.answered(ctx, took)
	}
	return nil, classify(w.store.archive(ctx, key(p.Kommune, p.DocumentID)))
}

func (w *Worker) onAnswerFailed(ctx context.Context, in cloudevents.Event, p events.AnswerFailed) ([]cloudevents.Event, error) {
	m := w.meta(in)
	return nil, done(w.update(ctx, in, p.Kommune, p.DocumentID, func(r *Record) (*Record, error) { return AnswerFailed(r, p, m) }))
}

// sameKommune refuses an event whose payload names another municipality
// than the event itself (its kommune extension, which is in its subject):
// otherwise a publisher allowed on one municipality's subjects could
// decide another's documents. The refusal is permanent.
func sameKommune(in cloudevents.Event, payloadKommune string) error {
	if k, err := events.KommuneOf(in); err != nil || k != payloadKommune {
		return bus.Permanent(fmt.Errorf("%w: the payload's kommune %q is not the event's %q", ErrInvalidEvent, payloadKommune, k))
	}
	return nil
}
