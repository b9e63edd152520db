package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

// A Handler turns one input event into zero or more output events. The
// runtime publishes the outputs and acks the input only after JetStream has
// acked every output. Wrap an error with [Permanent] to dead-letter the
// input at once, or with [RetryAfter] to choose the delay; any other error
// is retried with backoff until MaxDeliver, then dead-lettered. The same
// input gives the same outputs, with ids derived from the input, so a retry
// republishes the same events and JetStream drops the copies. What else a
// handler may do is declared with its [Effect].
type Handler func(ctx context.Context, in cloudevents.Event) ([]cloudevents.Event, error)

// Config is what operators set. A zero field takes the default shown.
type Config struct {
	// Service names the worker; it prefixes durable consumer names, so
	// renaming it creates new consumers that start from the stream's start.
	Service string
	// Stream is the JetStream stream of the events; default "EFAKTURA".
	Stream string
	// Subjects the stream captures; default "efaktura.>".
	Subjects []string
	// Replicas of every stream and bucket: 1, or 3 in a cluster; default 1.
	Replicas int
	// Storage is "file" or "memory"; default "file".
	Storage string
	// MaxAge is how long the stream keeps events, and the dead-letter
	// stream its dead letters; default 30 days. At least DuplicateWindow,
	// as JetStream requires.
	MaxAge time.Duration
	// DuplicateWindow is how long JetStream remembers Nats-Msg-Id values to
	// drop repeated publishes; default 1 hour, longer than any retry chain
	// (JetStream's own default of 2 minutes is shorter than an ERP resend).
	DuplicateWindow time.Duration
	// MaxDeliver is how often a failing event is tried before it is
	// dead-lettered; default 5.
	MaxDeliver int
	// Backoff are the delays before the 2nd, 3rd, ... attempt; the last one
	// repeats. Default 1s, 5s, 30s.
	Backoff []time.Duration
	// AckWait is how long JetStream waits for an ack before it redelivers;
	// handlers running longer send progress heartbeats. Default 30s.
	AckWait time.Duration
	// Lease is how long a claimed idempotency key stays claimed by a worker
	// that stopped answering, before another worker may take over; default
	// 2m. Keep it above the longest handler run.
	Lease time.Duration
	// Remember is how long a completed event stays known to the
	// idempotency store; default 7 days.
	Remember time.Duration
	// Drain bounds Run's shutdown: handlers in flight get this long to
	// finish, the rest are nak'ed for redelivery; default 25s.
	Drain time.Duration
	// MaxPending bounds asynchronous publishes awaiting JetStream's ack;
	// default 512.
	MaxPending int
}

// WithDefaults returns c with each zero field set to its default, as New
// does before Validate.
func (c Config) WithDefaults() Config {
	if c.Stream == "" {
		c.Stream = "EFAKTURA"
	}
	if len(c.Subjects) == 0 {
		c.Subjects = []string{"efaktura.>"}
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Storage == "" {
		c.Storage = "file"
	}
	if c.MaxAge == 0 {
		c.MaxAge = 30 * 24 * time.Hour
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = time.Hour
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 5
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Lease == 0 {
		c.Lease = 2 * time.Minute
	}
	if c.Remember == 0 {
		c.Remember = 7 * 24 * time.Hour
	}
	if c.Drain == 0 {
		c.Drain = 25 * time.Second
	}
	if c.MaxPending == 0 {
		c.MaxPending = 512
	}
	return c
}

// Validate reports every problem of a configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Service == "" || strings.ContainsAny(c.Service, ". *>") {
		errs = append(errs, fmt.Errorf("service %q must be set and hold no '.', '*', '>' or space", c.Service))
	}
	if c.Replicas != 1 && c.Replicas != 3 && c.Replicas != 5 {
		errs = append(errs, fmt.Errorf("replicas is %d; expected 1, 3 or 5", c.Replicas))
	}
	if c.Storage != "file" && c.Storage != "memory" {
		errs = append(errs, fmt.Errorf("storage is %q; expected file or memory", c.Storage))
	}
	if c.MaxDeliver < 1 {
		errs = append(errs, fmt.Errorf("max deliver is %d; expected at least 1", c.MaxDeliver))
	}
	if c.MaxAge < c.DuplicateWindow {
		errs = append(errs, fmt.Errorf("max age %v is shorter than the duplicate window %v, which JetStream does not allow", c.MaxAge, c.DuplicateWindow))
	}
	if c.Lease < c.AckWait {
		errs = append(errs, fmt.Errorf("lease %v is shorter than ack wait %v: a slow worker would lose its claim before JetStream redelivers", c.Lease, c.AckWait))
	}
	for _, d := range append([]time.Duration{c.MaxAge, c.DuplicateWindow, c.AckWait, c.Remember, c.Drain}, c.Backoff...) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("durations must not be negative, got %v", d))
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// StorageType is Storage as JetStream names it, for the streams and
// buckets a service creates beside the bus's.
func (c Config) StorageType() jetstream.StorageType {
	if c.Storage == "memory" {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

// resumedSubject is the core NATS subject on which Resume tells the
// replicas of a service that handler name was resumed; a "*" name
// subscribes to all. Outside the event subjects, so no stream keeps it.
func (c Config) resumedSubject(name string) string {
	return "_efaktura.resumed." + strings.ToLower(c.Stream) + "." + c.Service + "." + name
}

// dlqStream and dlqSubject name the dead-letter stream and a service's
// subject in it; the prefix keeps it apart from the event subjects.
func (c Config) dlqStream() string { return c.Stream + "_DLQ" }
func (c Config) dlqSubject(service string) string {
	return "dlq." + strings.ToLower(c.Stream) + "." + service
}

// Errors.
var (
	ErrConfig  = errors.New("bus: invalid configuration")
	ErrOption  = errors.New("bus: invalid option")
	ErrClosed  = errors.New("bus: closed")
	ErrSubject = errors.New("bus: no subject for event")
)

// permanent marks an error as not worth a retry.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth a retry: the runtime dead-letters the
// input at once. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// [Permanent].
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// retryAfter asks for a retry after a given delay.
type retryAfter struct {
	err   error
	delay time.Duration
}

func (r retryAfter) Error() string { return r.err.Error() }
func (r retryAfter) Unwrap() error { return r.err }

// RetryAfter asks the runtime to try the input again after delay rather
// than after the backoff step, e.g. as a server's Retry-After header says,
// or at once (0) when its consumer was just paused. RetryAfter(nil, d) is
// nil.
func RetryAfter(err error, delay time.Duration) error {
	if err == nil {
		return nil
	}
	return retryAfter{err, max(0, delay)}
}

// retryDelay returns the delay a [RetryAfter] in err's chain asks for.
func retryDelay(err error) (time.Duration, bool) {
	var r retryAfter
	if errors.As(err, &r) {
		return r.delay, true
	}
	return 0, false
}

// Option supplies a dependency to [New].
type Option func(*options) error

type options struct {
	logger   *slog.Logger
	tracer   trace.TracerProvider
	meter    metric.MeterProvider
	store    idem.Store
	subjects func(cloudevents.Event) (string, error)
	template func(subject string) string
	encode   func(subject string, e cloudevents.Event) (*nats.Msg, error)
	types    func(subject string) []string
}

// WithLogger sets the logger, which should name the service; default
// slog.Default() with a "service" attribute.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrOption)
		}
		o.logger = l
		return nil
	}
}

// WithTelemetry traces and measures with p's providers; default no-ops.
func WithTelemetry(p *telemetry.Providers) Option {
	return func(o *options) error {
		if p == nil {
			return fmt.Errorf("%w: nil telemetry", ErrOption)
		}
		o.tracer, o.meter = p.TracerProvider, p.MeterProvider
		return nil
	}
}

// WithIdempotency sets the store that makes each event's effect happen
// once per consumer (see [CallsOut]); default a JetStream KV store in
// bucket "<stream>_idem", created by [New] with the configured replicas and
// storage.
func WithIdempotency(s idem.Store) Option {
	return func(o *options) error {
		if s == nil {
			return fmt.Errorf("%w: nil idempotency store", ErrOption)
		}
		o.store = s
		return nil
	}
}

// WithSubjects sets how an event finds its subject, e.g. from its type and
// an extension; default the event's type.
func WithSubjects(f func(cloudevents.Event) (string, error)) Option {
	return func(o *options) error {
		if f == nil {
			return fmt.Errorf("%w: nil subject function", ErrOption)
		}
		o.subjects = f
		return nil
	}
}

// WithEventTypes sets which event types a consumer's subject filter
// matches, for the counters each handler has at 0 from the start
// (efaktura_events_failed_total and the others, per event type): the
// inverse of [WithSubjects]. Default: a subject without wildcards is the
// one event type, as the default subjects are the types; a filter with
// wildcards matches none the bus can name, and its counters appear at
// their first event.
func WithEventTypes(f func(subject string) []string) Option {
	return func(o *options) error {
		if f == nil {
			return fmt.Errorf("%w: nil event types function", ErrOption)
		}
		o.types = f
		return nil
	}
}

// WithSubjectTemplate sets how a subject reads with its ids replaced by
// placeholders, e.g. efaktura.{kommune}.document.received: span names and
// messaging.destination.template, so that no id is in a span name. Default:
// the subject itself, for subjects that hold no ids.
func WithSubjectTemplate(f func(subject string) string) Option {
	return func(o *options) error {
		if f == nil {
			return fmt.Errorf("%w: nil subject template function", ErrOption)
		}
		o.template = f
		return nil
	}
}

// WithStructuredMode publishes in the structured mode of the CloudEvents
// NATS binding (the whole event as JSON, Content-Type
// application/cloudevents+json) instead of binary mode, for consumers that
// read only structured mode, as the binding did before version 1.0.3.
// Nats-Msg-Id is still the event id. Consuming reads both modes either way.
func WithStructuredMode() Option {
	return func(o *options) error {
		o.encode = encodeStructured
		return nil
	}
}

// Bus publishes and consumes CloudEvents on one JetStream stream. It is safe
// for concurrent use.
type Bus struct {
	cfg      Config
	nc       *nats.Conn
	js       jetstream.JetStream
	log      *slog.Logger
	tracer   trace.TracerProvider // nil without WithTelemetry: trace context is passed on, no spans made
	store    idem.Store
	subjects func(cloudevents.Event) (string, error)
	template func(subject string) string
	types    func(subject string) []string // nil: the default of WithEventTypes
	metrics  *metrics
	// encode renders an event for the wire: binary mode, or structured
	// with WithStructuredMode.
	encode func(subject string, e cloudevents.Event) (*nats.Msg, error)

	mu       sync.Mutex
	handlers []*route
	running  bool
	stopping bool            // Run is draining: no more consuming starts
	closed   bool            // Run returned
	work     context.Context // Run's handlers' context
	workers  sync.WaitGroup  // Run's handler goroutines
	// consuming is set while Run's consumers exist and fetch, for
	// readiness probes.
	consuming atomic.Bool

	// beforeAck, set only by tests, runs after the outputs are published;
	// returning true leaves the input unacked and its claim held, as a
	// worker that dies at that moment would.
	beforeAck func(cloudevents.Event) bool
}

// New creates or updates the stream and the dead-letter stream (safe on
// every start, idempotent) and returns a Bus that does not consume yet.
func New(ctx context.Context, nc *nats.Conn, cfg Config, opts ...Option) (*Bus, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{
		meter:    metricnoop.NewMeterProvider(),
		subjects: func(e cloudevents.Event) (string, error) { return e.Type(), nil },
		template: func(subject string) string { return subject },
		encode:   encode,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.logger == nil {
		o.logger = slog.Default().With("service", cfg.Service)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(cfg.MaxPending))
	if err != nil {
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	if err := provision(ctx, js, cfg); err != nil {
		return nil, err
	}
	if o.store == nil {
		kv, err := idem.NewKV(ctx, js, idem.KVConfig{Bucket: cfg.Stream + "_idem", Replicas: cfg.Replicas, Storage: cfg.StorageType()})
		if err != nil {
			return nil, fmt.Errorf("bus: idempotency bucket: %w", err)
		}
		o.store = kv
	}
	b := &Bus{cfg: cfg, nc: nc, js: js, log: o.logger, tracer: o.tracer, store: o.store, subjects: o.subjects, template: o.template,
		encode: o.encode, types: o.types}
	if b.metrics, err = newMetrics(o.meter, cfg.Service, b.consumingRoutes, cfg.dlqStream()); err != nil {
		return nil, err
	}
	return b, nil
}

// provision creates or updates the event stream and the dead-letter stream.
func provision(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	streams := []jetstream.StreamConfig{{
		Name:       cfg.Stream,
		Subjects:   cfg.Subjects,
		Retention:  jetstream.LimitsPolicy,
		Storage:    cfg.StorageType(),
		Replicas:   cfg.Replicas,
		MaxAge:     cfg.MaxAge,
		Duplicates: cfg.DuplicateWindow,
	}, {
		// Dead letters wait for a human: limits retention, so they can be
		// browsed and replayed, and kept as long as the events themselves.
		Name:      cfg.dlqStream(),
		Subjects:  []string{cfg.dlqSubject("*")},
		Retention: jetstream.LimitsPolicy,
		Storage:   cfg.StorageType(),
		Replicas:  cfg.Replicas,
		MaxAge:    cfg.MaxAge,
	}}
	for _, sc := range streams {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("bus: provision stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// JetStream returns the bus's JetStream context, for provisioning the
// buckets a worker needs.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Idempotency returns the bus's idempotency store: the one given with
// [WithIdempotency], or the JetStream KV store New created. Workers use it
// for keys of their own rather than opening the bucket again.
func (b *Bus) Idempotency() idem.Store { return b.store }

// Config returns the effective configuration, defaults applied.
func (b *Bus) Config() Config { return b.cfg }

// TracerProvider is the provider the bus traces with, for the spans a
// worker starts itself (an HTTP request's work on a document, say); a
// no-op provider without [WithTelemetry].
func (b *Bus) TracerProvider() trace.TracerProvider {
	if b.tracer == nil {
		return tracenoop.NewTracerProvider()
	}
	return b.tracer
}

// destination describes subject for a messaging span: its template and the
// NATS server the connection is on now.
func (b *Bus) destination(subject string) telemetry.Destination {
	d := telemetry.Destination{Name: subject}
	if t := b.template(subject); t != subject {
		d.Template = t
	}
	if host, port, err := net.SplitHostPort(b.nc.ConnectedAddr()); err == nil {
		d.ServerAddress = host
		d.ServerPort, _ = strconv.Atoi(port)
	}
	return d
}
