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
	"github.com/kp-efaktura/efaktura/pkg/kvwatch"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Tenants looks municipalities up; *tenant.Registry implements it. Get
// must be safe for concurrent use and cheap: it is called for every answer.
//
// If the implementation also has the method
// WaitVersion(ctx context.Context, kommune string, version uint64) error,
// as tenant.Registry does, a release triggered by a tenant.changed or
// agreement.changed event first waits (at most [Config.Settle]) until it
// has seen the version the event names; otherwise Get is polled until the
// tenant's Version reaches it.
type Tenants interface {
	Get(kommune string) (tenant.Tenant, bool)
}

// Config is what operators set. A zero field takes the default shown.
type Config struct {
	// Bucket is the JetStream KV bucket of parked answers; default
	// "EFAKTURA_parked". Its keys are [ParkKey]s, its values [Parked] as
	// JSON.
	Bucket string
	// LockBucket holds one release lock per municipality while its parked
	// answers are being sent; default Bucket + "_locks".
	LockBucket string
	// LockTTL is how long a release lock outlives a worker that stopped
	// holding it; default 2m. It must exceed one delivery's timeout: the
	// lock is renewed before each answer.
	LockTTL time.Duration
	// Concurrency is how many events each handler works on at once in one
	// process; default 4. Answers sent directly (nothing parked) are not
	// strictly ordered: with Concurrency above 1, or while one waits for a
	// retry, a later decision's answer may arrive first. Parked answers
	// are always sent in decision order.
	Concurrency int
	// Settle bounds how long a release waits for the tenant registry to
	// show the change that triggered it; default 10s.
	Settle time.Duration
	// Sweep is how often [Worker.Run] retries the parked answers of
	// municipalities whose agreements allow them (after an economy system
	// outage, or a change the release missed); default 1m.
	Sweep time.Duration
}

func (c Config) withDefaults() Config {
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.LockBucket == "" {
		c.LockBucket = c.Bucket + "_locks"
	}
	if c.LockTTL == 0 {
		c.LockTTL = 2 * time.Minute
	}
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	if c.Settle == 0 {
		c.Settle = 10 * time.Second
	}
	if c.Sweep == 0 {
		c.Sweep = time.Minute
	}
	return c
}

// Validate reports every problem of a configuration with defaults applied.
func (c Config) Validate() error {
	var errs []error
	if c.Bucket == c.LockBucket {
		errs = append(errs, fmt.Errorf("bucket and lock bucket are both %q", c.Bucket))
	}
	if c.LockTTL < time.Second {
		errs = append(errs, fmt.Errorf("lock TTL %v is under a second", c.LockTTL))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency is %d; expected at least 1", c.Concurrency))
	}
	if c.Settle < 0 || c.Sweep <= 0 {
		errs = append(errs, fmt.Errorf("settle %v must not be negative and sweep %v must be positive", c.Settle, c.Sweep))
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

// Worker answers decided documents. Create it with [New], call
// [Worker.Register] before [bus.Bus.Run], and run [Worker.Run] beside the
// bus for the periodic sweep.
type Worker struct {
	cfg       Config
	bus       *bus.Bus
	tenants   Tenants
	deliverer Deliverer
	parking   *parking
	queued    *queued
	locks     *locks
	log       *slog.Logger
	attempts  attempts

	mu        sync.Mutex
	lastPurge time.Time
}

// New creates or updates the parking and lock buckets and returns a worker
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
	js, bc := b.JetStream(), b.Config()
	parked, err := provisionParking(ctx, js, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "efaktura respond: answers held until the municipality's service agreements allow them",
		History:     1,
		Replicas:    bc.Replicas,
		Storage:     bc.StorageType(),
	})
	if err != nil {
		return nil, fmt.Errorf("respond: parking bucket %s: %w", cfg.Bucket, err)
	}
	lockKV, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.LockBucket,
		Description: "efaktura respond: one release of a municipality's parked answers at a time",
		History:     1,
		TTL:         cfg.LockTTL,
		Replicas:    bc.Replicas,
		Storage:     bc.StorageType(),
	})
	if err != nil {
		return nil, fmt.Errorf("respond: lock bucket %s: %w", cfg.LockBucket, err)
	}
	w := &Worker{
		cfg: cfg, bus: b, tenants: tenants, deliverer: d,
		parking: &parking{kv: parked, js: js}, queued: newQueued(), locks: &locks{kv: lockKV},
		log: slog.Default(),
	}
	for _, opt := range opts {
		opt(w)
	}
	w.log = w.log.With("component", "respond")
	return w, nil
}

// Names of the handlers; each is the durable consumer
// bus.Config.Service + "-" + name. Renaming one creates a new consumer
// that starts from the beginning of the stream: every decision in the
// stream would be answered again (the economy system drops the repeats by
// Idempotency-Key, but they are sent).
const (
	HandlerDecided    = "decided"
	HandlerAgreements = "agreements"
	HandlerTenants    = "tenants"
)

// Register adds the worker's handlers to the bus: document.decided
// (answer or park), agreement.changed and tenant.changed (release). None is
// declared pure: each sends answers, so the runtime claims every event in
// the idempotency store. It panics if called twice, as bus.Handle does.
func (w *Worker) Register() {
	conc := bus.WithConcurrency(w.cfg.Concurrency)
	w.bus.Handle(HandlerDecided, events.Filter(events.TypeDocumentDecided),
		bus.Typed(w.handleDecided), conc, bus.WithDeadLetterEvents(w.decidedDeadLetter))
	w.bus.Handle(HandlerAgreements, events.Filter(events.TypeAgreementChanged),
		bus.Typed(w.handleAgreementChanged), conc)
	w.bus.Handle(HandlerTenants, events.Filter(events.TypeTenantChanged),
		bus.Typed(w.handleTenantChanged), conc)
}

// Run sweeps every [Config.Sweep] until ctx is done, then returns nil.
// Failures are logged; the next sweep tries again. It also keeps this
// replica's view of the parked answers (see [queued]); without Run, every
// decision lists the bucket instead.
func (w *Worker) Run(ctx context.Context) error {
	go kvwatch.Follow(ctx, w.bus.JetStream().Conn(), w.parking.kv, w.queued, "view of parked answers", w.log, jetstream.MetaOnly())
	t := time.NewTicker(w.cfg.Sweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := w.Sweep(ctx); err != nil && ctx.Err() == nil {
				w.log.WarnContext(ctx, "sweep of parked answers", "err", err)
			}
		}
	}
}

// Sweep releases the parked answers of every municipality whose agreements
// allow answers now, in decision order. A municipality whose first parked
// answer was refused for good is skipped until its record changes. Sweep
// also drops the deletion markers of released answers (at most hourly).
func (w *Worker) Sweep(ctx context.Context) error {
	keys, err := w.parking.keys(ctx, "")
	if err != nil {
		return err
	}
	var errs []error
	seen := map[string]bool{}
	for _, k := range keys {
		kommune := kommuneOfKey(k)
		if seen[kommune] {
			continue
		}
		seen[kommune] = true
		t, found := w.tenants.Get(kommune)
		if ok, _, _ := answersAllowed(t, found); !ok {
			continue
		}
		if err := w.release(ctx, kommune, false); err != nil {
			errs = append(errs, fmt.Errorf("release %s: %w", kommune, err))
		}
	}
	w.mu.Lock()
	purge := time.Since(w.lastPurge) > time.Hour
	if purge {
		w.lastPurge = time.Now()
	}
	w.mu.Unlock()
	if purge {
		if err := w.parking.kv.PurgeDeletes(ctx); err != nil {
			errs = append(errs, fmt.Errorf("purge markers of released answers: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Parked returns the parked answers of kommune in the order they will be
// sent.
func (w *Worker) Parked(ctx context.Context, kommune string) ([]Parked, error) {
	return w.parking.list(ctx, kommune)
}

// attempts counts, in this process, the delivery attempts of answers sent
// directly; see doc.go on why this count is per process.
type attempts struct {
	mu sync.Mutex
	n  map[string]int
}

func (a *attempts) next(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = make(map[string]int)
	}
	a.n[id]++
	return a.n[id]
}

func (a *attempts) done(id string) {
	a.mu.Lock()
	delete(a.n, id)
	a.mu.Unlock()
}
