// Command respond answers decided documents: it sends each answer to the
// municipality's economy system once both SF1590_D service agreements
// allow it, and parks it until then.
//
// Usage:
//
//	respond [--nats URL] [--redis URL] [--metrics ADDR] [--stream NAME]
//	        [--replicas N] [--http-timeout D] [--concurrency N] [--sweep D]
//
// Every flag has an environment variable (shown in --help); a flag wins
// over its variable. OpenTelemetry is configured from the standard OTEL_*
// variables.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
	"github.com/kp-efaktura/efaktura/services/respond"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		slog.Error("respond stopped", "err", err)
		os.Exit(1)
	}
}

// config is the process's configuration: flags > environment > defaults.
type config struct {
	natsURL     string
	redisURL    string // empty: idempotency keys in JetStream KV
	metrics     string // empty: no metrics endpoint
	stream      string
	replicas    int
	httpTimeout time.Duration
	worker      respond.Config
}

func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var errs []error
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	envInt := func(name string, def int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a whole number", name, v))
		}
		return n
	}
	envDuration := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a duration such as 30s", name, v))
		}
		return d
	}
	var c config
	fs := flag.NewFlagSet("respond", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.natsURL, "nats", env("NATS_URL", nats.DefaultURL), "NATS server `URL` (env NATS_URL)")
	fs.StringVar(&c.redisURL, "redis", env("REDIS_URL", ""), "Redis `URL` for idempotency keys; empty keeps them in JetStream KV (env REDIS_URL)")
	fs.StringVar(&c.metrics, "metrics", env("EFAKTURA_METRICS_ADDR", ":9090"), "`address` serving Prometheus /metrics; empty for none (env EFAKTURA_METRICS_ADDR)")
	fs.StringVar(&c.stream, "stream", env("EFAKTURA_STREAM", "EFAKTURA"), "event stream `name` (env EFAKTURA_STREAM)")
	fs.IntVar(&c.replicas, "replicas", envInt("EFAKTURA_REPLICAS", 1), "replicas of streams and buckets: 1, 3 or 5 (env EFAKTURA_REPLICAS)")
	fs.DurationVar(&c.httpTimeout, "http-timeout", envDuration("EFAKTURA_RESPOND_HTTP_TIMEOUT", respond.DefaultHTTPTimeout), "timeout of one delivery to an economy system (env EFAKTURA_RESPOND_HTTP_TIMEOUT)")
	fs.IntVar(&c.worker.Concurrency, "concurrency", envInt("EFAKTURA_RESPOND_CONCURRENCY", 4), "events each handler works on at once (env EFAKTURA_RESPOND_CONCURRENCY)")
	fs.DurationVar(&c.worker.Sweep, "sweep", envDuration("EFAKTURA_RESPOND_SWEEP", time.Minute), "how often parked answers that may go are retried (env EFAKTURA_RESPOND_SWEEP)")
	if err := errors.Join(errs...); err != nil {
		return config{}, err
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("respond takes no arguments, got %q", fs.Args())
	}
	if c.httpTimeout <= 0 {
		errs = append(errs, fmt.Errorf("http timeout %v must be positive", c.httpTimeout))
	}
	if c.worker.LockTTL == 0 && c.httpTimeout >= 2*time.Minute {
		c.worker.LockTTL = c.httpTimeout + time.Minute
	}
	return c, errors.Join(errs...)
}

// redacted shows a URL without its password, for logs and errors.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// run is main without the process, so a test can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := telemetry.NewLogger(stderr, slog.LevelInfo)
	slog.SetDefault(logger) // for the libraries that fall back to it (tenant.Registry)
	tel, err := telemetry.Start(ctx, telemetry.Config{ServiceName: "respond"}, getenv)
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))
	logger.InfoContext(ctx, "starting", "nats", redacted(cfg.natsURL), "redis", redacted(cfg.redisURL),
		"metrics", cfg.metrics, "stream", cfg.stream, "replicas", cfg.replicas, "http_timeout", cfg.httpTimeout,
		"concurrency", cfg.worker.Concurrency, "sweep", cfg.worker.Sweep, "telemetry", tel)

	nc, err := nats.Connect(cfg.natsURL, nats.Name("respond"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", redacted(cfg.natsURL), err)
	}
	defer nc.Drain()
	opts := []bus.Option{bus.WithLogger(logger), bus.WithTelemetry(tel), bus.WithSubjects(events.SubjectOf)}
	if cfg.redisURL != "" {
		ropts, err := redis.ParseURL(cfg.redisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL %s: %w", redacted(cfg.redisURL), err)
		}
		rc := redis.NewClient(ropts)
		defer rc.Close()
		if err := rc.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("connect to Redis at %s: %w", redacted(cfg.redisURL), err)
		}
		opts = append(opts, bus.WithIdempotency(idem.NewRedis(rc, "")))
	}
	b, err := bus.New(ctx, nc, bus.Config{Service: "respond", Stream: cfg.stream, Replicas: cfg.replicas}, opts...)
	if err != nil {
		return err
	}
	reg, err := tenant.NewRegistry(ctx, b.JetStream(), tenant.StoreConfig{Replicas: cfg.replicas})
	if err != nil {
		return fmt.Errorf("load tenants: %w", err)
	}
	w, err := respond.New(ctx, b, reg, respond.NewHTTPDeliverer(cfg.httpTimeout), cfg.worker, respond.WithLogger(logger))
	if err != nil {
		return err
	}
	w.Register()

	var wg sync.WaitGroup
	defer wg.Wait()
	if cfg.metrics != "" {
		ln, err := net.Listen("tcp", cfg.metrics)
		if err != nil {
			return fmt.Errorf("metrics address %s: %w", cfg.metrics, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", tel.Metrics)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.ErrorContext(ctx, "metrics server", "err", err)
			}
		})
		defer srv.Shutdown(context.WithoutCancel(ctx))
		logger.InfoContext(ctx, "serving metrics", "addr", ln.Addr().String())
	}
	wg.Go(func() { _ = w.Run(ctx) })
	err = b.Run(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil // stopped while starting: a shutdown, not a failure
	}
	return err
}
