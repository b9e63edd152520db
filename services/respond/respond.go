package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Tenants looks municipalities up; *tenant.Registry implements it, a view
// that follows the tenants' bucket. Get is called for every answer and
// must be cheap.
type Tenants interface {
	Get(kommune string) (tenant.Tenant, bool)
	List() []tenant.Tenant
	// Changed is closed at the next change of any municipality.
	Changed() <-chan struct{}
}

// Config is what operators set. A zero field takes the default shown.
type Config struct {
	// Stream is the JetStream stream of queued answers, a work queue
	// without an age limit that keeps each answer until it is delivered or
	// dead-lettered; default "EFAKTURA_ANSWERS" ([DefaultStream]).
	Stream string
	// BackoffInitial is the pause after the first failed attempt at an
	// answer the economy system cannot take now (a network error, 408,
	// 429, 5xx); each further failure doubles it, up to BackoffMax, for as
	// long as it takes; the municipality's later answers wait behind it.
	// Each pause is drawn at random between half and one and a half times
	// its step (jitter), so the retries of many municipalities, or of one
	// after an outage, do not come in waves. Defaults 1s and 5m.
	BackoffInitial, BackoffMax time.Duration
	// RetryAfterMax bounds the wait a 429 or 503 asks for with
	// Retry-After, a floor on the backoff: used when longer; default 1h.
	RetryAfterMax time.Duration
	// AgreementsDeadline is the rollout's date by which every
	// municipality's agreements must be approved, exported for the alert
	// (see [Worker.Instrument]); zero for none.
	AgreementsDeadline time.Time
}

// DefaultStream is the stream of queued answers when Config.Stream is
// empty.
const DefaultStream = "EFAKTURA_ANSWERS"

// Defaults of Config.
const (
	DefaultBackoffInitial = time.Second
	DefaultBackoffMax     = 5 * time.Minute
	DefaultRetryAfterMax  = time.Hour
)

// BackoffJitter is the backoff's randomization factor: a pause lies within
// this share of its step either way.
const BackoffJitter = 0.5

// backoffMultiplier makes each step twice the one before.
const backoffMultiplier = 2

func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.BackoffInitial == 0 {
		c.BackoffInitial = DefaultBackoffInitial
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = max(DefaultBackoffMax, c.BackoffInitial)
	}
	if c.RetryAfterMax == 0 {
		c.RetryAfterMax = DefaultRetryAfterMax
	}
	return c
}

// Validate reports every problem of a configuration with defaults applied.
func (c Config) Validate() error {
	var errs []error
	if c.BackoffInitial <= 0 || c.BackoffMax < c.BackoffInitial {
		errs = append(errs, fmt.Errorf("backoff %v to %v: the first pause must be positive and the longest no shorter", c.BackoffInitial, c.BackoffMax))
	}
	if c.RetryAfterMax <= 0 {
		errs = append(errs, fmt.Errorf("retry-after maximum %v: must be positive", c.RetryAfterMax))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// Option supplies a dependency to [New].
type Option func(*Worker)

// WithLogger sets the worker's logger; default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(w *Worker) {
		if l != nil {
			w.log = l
		}
	}
}

// Worker answers decided documents. Create it with [New] and call
// [Worker.Register] before the bus's Run.
type Worker struct {
	cfg       Config
	bus       *bus.Bus
	tenants   Tenants
	deliverer Deliverer
	log       *slog.Logger
	queues    sync.Mutex // one registration of a municipality's queue at a time
	// seen is the version of each municipality's record this replica has
	// acted on; only followTenants uses it.
	seen map[string]uint64
	// metrics is nil until [Worker.Instrument].
	metrics *metrics
}

// New creates or updates the stream of queued answers and returns a worker
// that is not registered yet. The bus must route events by their kommune
// (bus.WithSubjects(events.SubjectOf)), as every worker's does.
func New(ctx context.Context, b *bus.Bus, tenants Tenants, d Deliverer, cfg Config, opts ...Option) (*Worker, error) {
	if b == nil || tenants == nil || d == nil {
		return nil, fmt.Errorf("%w: bus, tenants and deliverer must not be nil", ErrConfig)
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bc := b.Config()
	_, err := b.JetStream().CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "efaktura respond: answers queued per municipality until delivered",
		Subjects:    []string{events.AnswerQueueSubjects},
		// A work queue: an answer goes once the municipality's consumer
		// acks it (delivered, or dead-lettered), and waits, however long
		// the agreements take, until then: no MaxAge.
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    bc.StorageType(),
		Replicas:   bc.Replicas,
		Duplicates: bc.DuplicateWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("respond: stream %s: %w", cfg.Stream, err)
	}
	w := &Worker{cfg: cfg, bus: b, tenants: tenants, deliverer: d, log: slog.Default(), seen: map[string]uint64{}}
	for _, opt := range opts {
		opt(w)
	}
	w.log = w.log.With("component", "respond")
	return w, nil
}

// Names of the handlers; each is the durable consumer
// bus.Config.Service + "-" + name. Renaming one creates a new consumer
// that starts from the beginning of its stream.
const (
	// HandlerDecided queues the answer to each document.decided.
	HandlerDecided = "decided"
)

// QueueHandler is the name of the handler delivering kommune's queued
// answers; its durable consumer is "respond-answers-<kommune>".
func QueueHandler(kommune string) string { return "answers-" + kommune }

// Register adds the worker's handler of document.decided to the bus, and
// until ctx is done follows the municipalities' records, adding each one's
// queue (see [Worker.followTenants]). It panics if called twice, as
// bus.Handle does.
func (w *Worker) Register(ctx context.Context) {
	// One at a time across replicas: the queue gets the answers in the
	// order of the decisions. Only a publish fails other than permanently,
	// and a decision dead-lettered for it would be queued, once replayed,
	// behind the ones decided after it: it is tried until it is queued.
	w.bus.Handle(HandlerDecided, events.Filter(events.TypeDocumentDecided), bus.EmitsOnly,
		bus.Typed(w.queue), bus.InOrder(), bus.RetryForever())
	go w.followTenants(ctx)
}

// followTenants acts, in every replica, on each new version of a
// municipality's record its view of the tenants' bucket shows: it adds the
// municipality's queue when it is new, resumes the queue when the
// agreements allow answers and pauses it when they do not. A queue paused
// because the economy system refused efaktura resumes too: the change may
// be the fix, and if not, the first answer pauses it again.
//
// Following the bucket rather than tenant.changed events, no change is
// missed, not even one whose event was never published. Every replica acts
// on its own view, in the order of the versions, so a replica that paused
// on an older version resumes once it sees the newer one, and the last
// word on every queue is the latest version's (see also [Worker.hold]).
func (w *Worker) followTenants(ctx context.Context) {
	for {
		// Asked before the view is read, so a change while it is read
		// closes this channel and is acted on at the next turn.
		changed := w.tenants.Changed()
		w.followOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// followOnce acts on every municipality whose record changed since the
// last call; at the first call, on every municipality.
func (w *Worker) followOnce(ctx context.Context) {
	for _, t := range w.tenants.List() {
		if w.seen[t.Kommune] == t.Version {
			continue
		}
		w.ensureQueue(t.Kommune)
		name := QueueHandler(t.Kommune)
		var err error
		if ok, reason, _ := t.AnswersAllowed(); ok {
			err = w.bus.Resume(ctx, name)
		} else {
			w.log.InfoContext(ctx, "answer queue paused", "kommune", t.Kommune, "reason", reason)
			err = w.bus.Pause(ctx, name, pausedUntil)
		}
		if err != nil {
			// Left unseen, so the next change tries again; meanwhile the
			// first answer pauses a queue that should be paused.
			w.log.WarnContext(ctx, "answer queue not paused or resumed", "kommune", t.Kommune, "err", err)
			continue
		}
		w.seen[t.Kommune] = t.Version
	}
}

// ensureQueue registers the handler of kommune's queue unless it is.
func (w *Worker) ensureQueue(kommune string) {
	w.queues.Lock()
	defer w.queues.Unlock()
	name := QueueHandler(kommune)
	if w.bus.Handles(name) {
		return
	}
	subject, err := events.Subject(kommune, events.TypeAnswerQueued)
	if err != nil {
		w.log.Error("no answer queue for a municipality with a bad code", "kommune", kommune, "err", err)
		return
	}
	w.bus.Handle(name, subject, bus.CallsOut, bus.Typed(w.deliver),
		bus.OnStream(w.cfg.Stream), bus.InOrder(), bus.RetryForever(), bus.WithFailureEvents(w.failed))
}
