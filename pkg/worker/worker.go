// Package worker wires one efaktura worker process: configuration from flags
// and environment, telemetry, the NATS connection, the bus, the idempotency
// store, the municipality registry, the HTTP API, health and metrics. A
// worker's main.go names itself and registers its handlers; everything else
// is here, once.
package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Config is what operators set, from flags or the environment; flags win
// over the environment, which wins over the defaults. The names are the
// same for every worker:
//
//	--nats URL                 NATS_URL                     default nats://127.0.0.1:4222
//	--redis URL                REDIS_URL                    idempotency keys; empty keeps them in JetStream KV
//	--http ADDR                EFAKTURA_HTTP                the worker's API, if it has one
//	--metrics ADDR             EFAKTURA_METRICS             /healthz, /readyz, /metrics; default :9090
//	--stream NAME              EFAKTURA_STREAM              default EFAKTURA
//	--replicas N               EFAKTURA_REPLICAS            streams and buckets: 1, 3 or 5; default 1
//	--storage file|memory      EFAKTURA_STORAGE             streams and buckets; default file
//	--admin-token-sha256 LIST  EFAKTURA_ADMIN_TOKEN_SHA256  hex SHA-256 of admin tokens, comma-separated, each optionally NAME:HASH
//	                           EFAKTURA_ADMIN_TOKEN         an admin token itself (environment only:
//	                                                        flags show in process lists); hashed at start
//	--log-level LEVEL          EFAKTURA_LOG_LEVEL           debug, info, warn, error; default info
//	--ack-wait D               EFAKTURA_ACK_WAIT            redelivery after a worker stops answering; default 30s
//	--lease D                  EFAKTURA_LEASE               a stopped worker's claims free up after this; default 2m
//	--start-wait D             EFAKTURA_START_WAIT          how long to wait at start for NATS and JetStream; default 1m
//	--max-age D                EFAKTURA_MAX_AGE             how long the event and dead-letter streams keep a message; default 720h (30 days)
//	--agreements-deadline DATE EFAKTURA_AGREEMENTS_DEADLINE the rollout's date by which every municipality's agreements must be approved
//
// OpenTelemetry reads the standard OTEL_* variables.
type Config struct {
	Name             string // the worker: ingest, validate, decide, respond
	NATSURL          string
	RedisURL         string
	HTTPAddr         string
	MetricsAddr      string
	AdminTokenHashes []string
	LogLevel         slog.Level
	// TenantsFile is a YAML or JSON file of municipalities stored at
	// start-up when not stored yet; "" for none.
	TenantsFile string
	// AdminAddr serves the admin API (/v1/tenants); "" for none. Its own
	// address, so it can be kept off the network the economy systems and
	// caseworkers reach.
	AdminAddr string
	// AgreementsDeadline is the rollout's date by which every
	// municipality's two agreements must be approved (issue 15): the
	// admin API shows it, respond exports it for the alert; zero for none.
	AgreementsDeadline time.Time
	// StartWait is how long Run keeps trying to reach NATS and provision
	// the streams, consumers and buckets before it gives up. Workers and
	// the NATS cluster are often started together (compose, a Kubernetes
	// rollout), and a cluster needs a few seconds to elect its leaders.
	StartWait time.Duration
	Bus       bus.Config
	// Security is the worker's NATS identity and the TLS settings of
	// NATS, Redis and its API (issue 16).
	Security Security
	// Flags are the effective value of every flag, by name, the worker's
	// own included: what the start-up line logs of them.
	Flags map[string]string
	// own names the worker's own flags, those [Command].Flags defines.
	own []string
}

// Load reads a worker's configuration from args over getenv over the
// defaults; httpAddr is the default of --http ("" for a worker without an
// API). more defines the worker's own flags, their defaults read through
// env. Every problem is reported at once, a variable that does not parse
// by its name and value; -h returns flag.ErrHelp after printing the usage.
func Load(name, httpAddr string, args []string, getenv func(string) string, more func(*flag.FlagSet, *Env)) (Config, error) {
	env := NewEnv(getenv)
	c := Config{Name: name, Bus: bus.Config{Service: name, Subjects: events.StreamSubjects()}}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.NATSURL, "nats", env.String("NATS_URL", nats.DefaultURL), "NATS server `URL` (env NATS_URL)")
	fs.StringVar(&c.RedisURL, "redis", env.String("REDIS_URL", ""), "Redis `URL` for idempotency keys (env REDIS_URL); empty keeps them in JetStream KV")
	fs.StringVar(&c.HTTPAddr, "http", env.String("EFAKTURA_HTTP", httpAddr), "`address` of the worker's HTTP API (env EFAKTURA_HTTP)")
	fs.StringVar(&c.MetricsAddr, "metrics", env.String("EFAKTURA_METRICS", ":9090"), "`address` for /healthz, /readyz and /metrics (env EFAKTURA_METRICS)")
	fs.StringVar(&c.Bus.Stream, "stream", env.String("EFAKTURA_STREAM", "EFAKTURA"), "JetStream stream `name` (env EFAKTURA_STREAM)")
	fs.IntVar(&c.Bus.Replicas, "replicas", env.Int("EFAKTURA_REPLICAS", 1), "replicas of streams and buckets: 1, 3 or 5 (env EFAKTURA_REPLICAS)")
	fs.StringVar(&c.Bus.Storage, "storage", env.String("EFAKTURA_STORAGE", "file"), "storage of streams and buckets: file or memory (env EFAKTURA_STORAGE)")
	fs.DurationVar(&c.Bus.AckWait, "ack-wait", env.Duration("EFAKTURA_ACK_WAIT", 0), "how long JetStream waits for an ack before it redelivers; 0 for 30s (env EFAKTURA_ACK_WAIT)")
	fs.DurationVar(&c.Bus.Lease, "lease", env.Duration("EFAKTURA_LEASE", 0), "how long a stopped worker's idempotency claims stay held; 0 for 2m (env EFAKTURA_LEASE)")
	// Every worker provisions the streams, so each must be given the same
	// max age: the last one to start sets it for all (issue 10).
	fs.DurationVar(&c.Bus.MaxAge, "max-age", env.Duration("EFAKTURA_MAX_AGE", 30*24*time.Hour), "how long the event stream and the dead-letter stream keep a message, e.g. 2160h for 90 days; the same for every worker (env EFAKTURA_MAX_AGE)")
	fs.DurationVar(&c.StartWait, "start-wait", env.Duration("EFAKTURA_START_WAIT", time.Minute), "how long to keep trying at start to reach NATS and provision streams and buckets, before exiting (env EFAKTURA_START_WAIT)")
	fs.StringVar(&c.TenantsFile, "tenants", env.String("EFAKTURA_TENANTS", ""), "YAML or JSON `file` of municipalities to store at start-up unless stored already (env EFAKTURA_TENANTS)")
	fs.StringVar(&c.AdminAddr, "admin-http", env.String("EFAKTURA_ADMIN_HTTP", ""), "`address` of the admin API, /v1/tenants and /v1/agreements; empty for none (env EFAKTURA_ADMIN_HTTP)")
	deadline := fs.String("agreements-deadline", env.String("EFAKTURA_AGREEMENTS_DEADLINE", ""), "the rollout's `date` (YYYY-MM-DD) by which every municipality's two service agreements must be approved; empty for none (env EFAKTURA_AGREEMENTS_DEADLINE)")
	adminHashes := fs.String("admin-token-sha256", env.String("EFAKTURA_ADMIN_TOKEN_SHA256", ""), "comma-separated hex SHA-256 `hashes` of admin tokens, each NAME:HASH to name its holder in histories (env EFAKTURA_ADMIN_TOKEN_SHA256)")
	logLevel := fs.String("log-level", env.String("EFAKTURA_LOG_LEVEL", "info"), "`level`: debug, info, warn or error (env EFAKTURA_LOG_LEVEL)")
	securityFlags(fs, env, &c.Security)
	common := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { common[f.Name] = true })
	if more != nil {
		more(fs, env)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	c.Flags = map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		c.Flags[f.Name] = f.Value.String()
		if !common[f.Name] {
			c.own = append(c.own, f.Name)
		}
	})
	problems := []error{env.Err(), c.Security.check(getenv)}
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	for h := range strings.SplitSeq(*adminHashes, ",") {
		if h = strings.TrimSpace(h); h != "" {
			if _, hash := tenant.SplitAdminHash(h); len(hash) != 64 {
				// By position only: a token pasted here by mistake must not
				// reach the log.
				problems = append(problems, fmt.Errorf("admin token hash number %d is not 64 hex digits", len(c.AdminTokenHashes)+1))
			}
			c.AdminTokenHashes = append(c.AdminTokenHashes, h)
		}
	}
	if t := getenv("EFAKTURA_ADMIN_TOKEN"); t != "" {
		c.AdminTokenHashes = append(c.AdminTokenHashes, tenant.HashToken(t))
	}
	if c.Bus.MaxAge <= 0 {
		// 0 would be the bus's default, and JetStream's "forever": neither
		// is what an operator who writes 0 can be assumed to mean.
		problems = append(problems, fmt.Errorf("max age %v (--max-age, EFAKTURA_MAX_AGE): expected a positive duration such as 720h", c.Bus.MaxAge))
	}
	if d, err := tenant.ParseDeadline(*deadline); err != nil {
		problems = append(problems, fmt.Errorf("agreements deadline %q (--agreements-deadline, EFAKTURA_AGREEMENTS_DEADLINE): expected a date such as 2026-02-09", *deadline))
	} else {
		c.AgreementsDeadline = d
	}
	if c.StartWait <= 0 {
		problems = append(problems, fmt.Errorf("start wait %v: expected a positive duration such as 1m", c.StartWait))
	}
	if err := c.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		problems = append(problems, fmt.Errorf("log level %q (--log-level, EFAKTURA_LOG_LEVEL): expected debug, info, warn or error", *logLevel))
	}

	for _, a := range []struct{ name, addr string }{{"http", c.HTTPAddr}, {"metrics", c.MetricsAddr}, {"admin-http", c.AdminAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); a.addr != "" && err != nil {
			problems = append(problems, fmt.Errorf("%s address %q: %w", a.name, a.addr, err))
		}
	}
	if c.RedisURL != "" {
		if _, err := redis.ParseURL(c.RedisURL); err != nil {
			// Not the parser's error: it quotes the URL, password and all.
			problems = append(problems, fmt.Errorf("redis URL %s is not a valid redis:// or rediss:// URL", RedactURL(c.RedisURL)))
		}
	}
	if err := c.Bus.WithDefaults().Validate(); err != nil {
		problems = append(problems, fmt.Errorf("%w (set by --stream, --replicas, --storage, --ack-wait, --lease, --max-age or EFAKTURA_STREAM, EFAKTURA_REPLICAS, EFAKTURA_STORAGE, EFAKTURA_ACK_WAIT, EFAKTURA_LEASE, EFAKTURA_MAX_AGE)", err))
	}
	if err := errors.Join(problems...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// LogValue is the start-up line's view of the configuration: no
// credentials in URLs, only the number of admin tokens.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("nats", RedactURL(c.NATSURL)),
		slog.String("redis", RedactURL(c.RedisURL)),
		slog.String("http", c.HTTPAddr),
		slog.String("metrics", c.MetricsAddr),
		slog.String("stream", c.Bus.Stream),
		slog.Int("replicas", c.Bus.Replicas),
		slog.String("storage", c.Bus.Storage),
		slog.Duration("max_age", c.Bus.MaxAge),
		slog.Int("admin_tokens", len(c.AdminTokenHashes)),
		slog.String("log_level", c.LogLevel.String()),
		slog.Any("security", c.Security),
		slog.Any("own", c.ownValue()),
	)
}

// ownValue is the worker's own flags, for the start-up line.
func (c Config) ownValue() slog.Value {
	attrs := make([]slog.Attr, len(c.own))
	for i, name := range c.own {
		attrs[i] = slog.String(name, c.Flags[name])
	}
	return slog.GroupValue(attrs...)
}

// Deps are what a worker's setup gets.
type Deps struct {
	Bus       *bus.Bus
	Tenants   *tenant.Registry
	Store     idem.Store
	Log       *slog.Logger
	Mux       *http.ServeMux // the worker's API, served on Config.HTTPAddr
	Telemetry *telemetry.Providers
	NATS      *nats.Conn
	// Admin is the mux of the admin address (Config.AdminAddr), with the
	// admin API on it, for a worker to add what admins use there (decide:
	// the desk and /v1/me, so an administrator opens the desk's admin page
	// on that address); nil without an admin address, and under efaktura
	// up, which serves everything on Mux.
	Admin *http.ServeMux
	// AgreementsDeadline is Config.AgreementsDeadline.
	AgreementsDeadline time.Time

	closers []func(context.Context) error
	checks  []Check // the worker's own, from AddCheck
}

// AddCheck adds a condition of the worker's own to its readiness, e.g. an
// index that must be loaded before the worker answers correctly.
func (d *Deps) AddCheck(c Check) { d.checks = append(d.checks, c) }

// OnClose registers f to run once the worker has stopped: after the bus has
// drained and the HTTP servers have shut down, before the connection
// closes. Closers run in the reverse order of registration.
func (d *Deps) OnClose(f func(context.Context) error) { d.closers = append(d.closers, f) }

// Close runs the closers registered with OnClose and returns their errors,
// joined.
func (d *Deps) Close(ctx context.Context) error {
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i](ctx))
	}
	d.closers = nil
	return errors.Join(errs...)
}

// Run connects everything, calls setup to register the worker's handlers
// and routes, and runs until ctx ends; then it drains the bus and shuts the
// servers down within the bus's drain period.
func Run(ctx context.Context, cfg Config, getenv func(string) string, setup func(context.Context, *Deps) error) error {
	log := telemetry.NewLogger(os.Stderr, cfg.LogLevel).With("service", cfg.Name)
	tel, err := telemetry.Start(ctx, telemetry.Config{ServiceName: "efaktura-" + cfg.Name}, getenv)
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))
	// NATS, or its JetStream, may not be up yet: keep trying with backoff
	// for cfg.StartWait, then exit and leave it to the supervisor.
	deadline := time.Now().Add(cfg.StartWait)
	nc, err := untilUp(ctx, log, deadline, "connect to NATS", func() (*nats.Conn, error) {
		nc, err := nats.Connect(cfg.NATSURL, append(cfg.Security.NATSOptions(cfg.Name), nats.Name("efaktura-"+cfg.Name), nats.MaxReconnects(-1), natsErrors(log))...)
		if err != nil {
			return nil, fmt.Errorf("connect to NATS at %s: %w", RedactURL(cfg.NATSURL), err)
		}
		return nc, nil
	})
	if err != nil {
		return err
	}
	defer nc.Drain()
	d, err := untilUp(ctx, log, deadline, "provision streams, consumers and buckets", func() (*Deps, error) {
		return Connect(ctx, nc, cfg, tel, log)
	})
	if err != nil {
		return err
	}
	admin, err := tenantsAdmin(ctx, cfg, d, getenv)
	if err != nil {
		return err
	}
	if admin != nil {
		d.Admin = http.NewServeMux()
		for _, path := range AdminPaths {
			d.Admin.Handle(path, admin)
		}
		admin = d.Admin
	}
	if err := setup(ctx, d); err != nil {
		return err
	}
	var servers []*http.Server
	defer func() {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			s.Shutdown(shutdown)
		}
		if err := d.Close(shutdown); err != nil {
			log.Error("stopping", "err", err)
		}
	}()
	for _, a := range []struct {
		addr string
		h    http.Handler
		tls  bool
	}{{cfg.HTTPAddr, d.Mux, true}, {cfg.MetricsAddr, Health(tel, d.Checks()...), false}, {cfg.AdminAddr, admin, true}} {
		if a.addr == "" {
			continue
		}
		if a.addr != cfg.MetricsAddr && a.h != nil {
			// The APIs' requests are traced and measured; the probes and
			// scrapes of the metrics address are not (issue 12).
			a.h = tel.HTTPHandler(a.h)
		}
		ln, err := cfg.Security.listen(a.addr, a.tls)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", a.addr, err)
		}
		s, err := serve(ln, a.h, log)
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	log.InfoContext(ctx, "started", "config", cfg, "telemetry", tel)
	return d.Bus.Run(ctx)
}

// untilUp calls f until it succeeds, ctx ends or the deadline passes,
// waiting between calls from a quarter of a second up to 5 s. Each failure
// is logged as a warning, so a worker waiting for NATS says why; the last
// one is returned.
func untilUp[T any](ctx context.Context, log *slog.Logger, deadline time.Time, what string, f func() (T, error)) (T, error) {
	wait := 250 * time.Millisecond
	for {
		v, err := f()
		if err == nil {
			return v, nil
		}
		if time.Now().Add(wait).After(deadline) {
			return v, fmt.Errorf("%w (gave up at start-up; see --start-wait)", err)
		}
		log.WarnContext(ctx, "start-up: "+what+" failed; trying again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// tenantsAdmin stores the municipalities of cfg.TenantsFile that are not
// stored yet and returns the admin API (/v1/tenants) for cfg.AdminAddr,
// nil without one. Only new municipalities are stored: every replica runs
// this at every start, and a stored record is managed through the admin
// API from then on, so a restart must not undo a revoked agreement or a
// rotated secret.
func tenantsAdmin(ctx context.Context, cfg Config, d *Deps, getenv func(string) string) (http.Handler, error) {
	if cfg.TenantsFile == "" && cfg.AdminAddr == "" {
		return nil, nil
	}
	store, err := tenant.NewStore(ctx, d.Bus.JetStream(), TenantStore(d.Bus.Config()), d.Bus.Publish)
	if err != nil {
		return nil, err
	}
	if cfg.TenantsFile != "" {
		tenants, err := tenant.LoadFile(cfg.TenantsFile, getenv)
		if err != nil {
			return nil, err
		}
		added, err := tenant.Seed(tenant.WithActor(ctx, "tenants file"), store, tenants)
		if err != nil {
			return nil, err
		}
		d.Log.InfoContext(ctx, "municipalities from the tenants file", "file", cfg.TenantsFile, "in_file", len(tenants), "stored_now", added)
	}
	if cfg.AdminAddr == "" {
		return nil, nil
	}
	return tenant.NewAdminAPI(store, d.Tenants, AdminOptions(cfg, d)...), nil
}

// AdminPaths are the patterns the admin API serves, to mount it on a mux
// beside other routes.
var AdminPaths = []string{"/v1/tenants", "/v1/tenants/", "/v1/agreements", "/v1/agreements/"}

// AdminOptions are the admin API's options for a worker: the rollout's
// deadline, and the parked answers read from respond's queues on the
// worker's JetStream (tenant.AnswerQueues).
func AdminOptions(cfg Config, d *Deps) []tenant.AdminOption {
	return []tenant.AdminOption{
		tenant.WithDeadline(cfg.AgreementsDeadline),
		tenant.WithParked(tenant.AnswerQueues{JS: d.Bus.JetStream()}),
	}
}

// Connect builds a worker's dependencies on an open connection: the bus,
// with the idempotency store (Redis, or the bus's own JetStream KV bucket),
// and the municipality registry, whose bucket takes the bus's replicas and
// storage. The all-in-one calls it once per worker.
func Connect(ctx context.Context, nc *nats.Conn, cfg Config, tel *telemetry.Providers, log *slog.Logger) (*Deps, error) {
	bc := cfg.Bus
	bc.Service = cfg.Name
	if len(bc.Subjects) == 0 {
		bc.Subjects = events.StreamSubjects()
	}
	opts := []bus.Option{bus.WithLogger(log), bus.WithTelemetry(tel), bus.WithSubjects(events.SubjectOf), bus.WithSubjectTemplate(events.SubjectTemplate), bus.WithEventTypes(eventTypes)}
	if cfg.RedisURL != "" {
		rc, err := cfg.Security.RedisClient(cfg.RedisURL)
		if err != nil {
			return nil, err
		}
		opts = append(opts, bus.WithIdempotency(idem.NewRedis(rc, "")))
	}
	b, err := bus.New(ctx, nc, bc, opts...)
	if err != nil {
		return nil, err
	}
	reg, err := tenant.NewRegistry(ctx, b.JetStream(), TenantStore(b.Config()), cfg.AdminTokenHashes...)
	if err != nil {
		return nil, err
	}
	return &Deps{Bus: b, Tenants: reg, Store: b.Idempotency(), Log: log, Mux: http.NewServeMux(), Telemetry: tel, NATS: nc,
		AgreementsDeadline: cfg.AgreementsDeadline}, nil
}

// TenantStore is the configuration of the municipalities' bucket for a bus:
// the same replicas and storage, whoever opens it first.
func TenantStore(bc bus.Config) tenant.StoreConfig {
	return tenant.StoreConfig{Replicas: bc.Replicas, Storage: bc.StorageType()}
}

// Check is one condition of readiness; Ready returns nil while it holds.
type Check struct {
	Name  string
	Ready func(context.Context) error
}

// Checks are a worker's conditions of readiness: NATS connected, its
// streams and consumers provisioned and consuming, Redis answering when it
// holds the idempotency keys, and the worker's own (AddCheck).
func (d *Deps) Checks() []Check {
	checks := []Check{
		{"nats", func(context.Context) error {
			if !d.NATS.IsConnected() {
				return errors.New("not connected")
			}
			return nil
		}},
		{"consumers", func(context.Context) error {
			if !d.Bus.Consuming() {
				return errors.New("not provisioned or not consuming")
			}
			return nil
		}},
	}
	if p, ok := d.Store.(interface{ Ping(context.Context) error }); ok {
		checks = append(checks, Check{"redis", p.Ping})
	}
	return append(checks, d.checks...)
}

// Health serves /healthz (the process answers), /readyz (every check
// holds; 503 naming the first that does not) and /metrics.
func Health(tel *telemetry.Providers, checks ...Check) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		for _, c := range checks {
			if err := c.Ready(ctx); err != nil {
				http.Error(w, fmt.Sprintf("not ready: %s: %v", c.Name, err), http.StatusServiceUnavailable)
				return
			}
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", tel.Metrics)
	return mux
}

// serve serves h on ln, which the caller opened at once, so a taken port
// fails the start rather than leaving a worker running without its API.
func serve(ln net.Listener, h http.Handler, log *slog.Logger) (*http.Server, error) {
	addr := ln.Addr().String()
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "addr", addr, "err", err)
		}
	}()
	return s, nil
}

// RedactURL drops credentials from a URL, or from each of a
// comma-separated list of them as NATS takes, for logs and errors. What it
// cannot parse it hides whole.
func RedactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		switch {
		case err != nil:
			parts[i] = "(unparsable URL)"
		case u.User != nil:
			u.User = url.User("REDACTED")
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// Command is a worker's process: its name, the default of its API address,
// its own flags and what it registers. Each service builds its Command in
// its package, so its main and the all-in-one, efaktura up, configure and
// wire it the same way. main calls Main; tests call Run.
type Command struct {
	Name     string
	HTTPAddr string // default of --http; "" for a worker without an API
	// Flags defines the worker's own flags on fs, their defaults read
	// through env; may be nil.
	Flags func(fs *flag.FlagSet, env *Env)
	// Setup registers the worker's handlers and routes, once the flags are
	// parsed.
	Setup func(context.Context, *Deps) error
}

// Main runs the command as the process: until SIGINT or SIGTERM, then a
// clean drain; it exits 1 with a message when the worker cannot run.
func (c Command) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.Run(ctx, os.Args[1:], os.Getenv); err != nil {
		slog.Error(c.Name+" stopped", "err", err)
		os.Exit(1)
	}
}

// Load reads the command's configuration, its own flags included, from
// args and getenv; see [Load].
func (c Command) Load(args []string, getenv func(string) string) (Config, error) {
	return Load(c.Name, c.HTTPAddr, args, getenv, c.Flags)
}

// Run is Main without the process: it loads the configuration from args
// and getenv and runs the worker until ctx ends. -h prints the usage and
// returns nil.
func (c Command) Run(ctx context.Context, args []string, getenv func(string) string) error {
	cfg, err := c.Load(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return Run(ctx, cfg, getenv, c.Setup)
}

// FlagSet returns the command's flags, with their defaults when the
// environment is empty, as Run parses them: for the configuration
// reference and the test that keeps it true.
func (c Command) FlagSet() *flag.FlagSet {
	var fs *flag.FlagSet
	// Only the flags are wanted; with an empty environment and no
	// arguments Load has nothing to complain about.
	Load(c.Name, c.HTTPAddr, nil, func(string) string { return "" }, func(f *flag.FlagSet, env *Env) {
		if c.Flags != nil {
			c.Flags(f, env)
		}
		fs = f
	})
	return fs
}
