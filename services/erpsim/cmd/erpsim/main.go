// Command erpsim runs the ERP simulator: a municipality's economy system
// for tests and demos that receives answers from respond, verifies their
// signatures and records them (GET /erp-sim/answers lists them).
//
// Usage:
//
//	erpsim [--http ADDR] [--secret ID=SECRET]... [--fail RATIO] [--delay D] [--seed N]
//
// Secrets name the economy systems the simulator plays and the secret each
// verifies Standard Webhooks signatures with, "whsec_<base64>" or plain
// text (whose bytes are the key, as efaktura maps a plain secret); without
// --secret they come from EFAKTURA_ERPSIM_SECRETS, e.g.
// "es-1=whsec_czNjcmV0,es-2=secret2". PUT /erp-sim/config changes --fail and
// --delay while it runs.
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
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/telemetry"
	"github.com/kp-efaktura/efaktura/services/erpsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		slog.Error("erpsim stopped", "err", err)
		os.Exit(1)
	}
}

// config is the process's configuration.
type config struct {
	addr string
	sim  erpsim.Config
}

// secrets collects ID=SECRET pairs.
type secrets map[string]string

func (s secrets) String() string {
	return strings.Join(slices.Sorted(func(yield func(string) bool) {
		for id := range s {
			if !yield(id + "=***") {
				return
			}
		}
	}), ",")
}

func (s secrets) Set(v string) error {
	id, secret, ok := strings.Cut(v, "=")
	id, secret = strings.TrimSpace(id), strings.TrimSpace(secret)
	if !ok || id == "" || secret == "" {
		return errors.New("want ID=SECRET, e.g. es-1=s3cret")
	}
	if _, dup := s[id]; dup {
		return fmt.Errorf("economy system %q given twice", id)
	}
	s[id] = secret
	return nil
}

// flags defines erpsim's flags on c; docs/configuration.md lists them,
// and a test keeps the two in step.
func flags(c *config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("erpsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "http", ":8090", "`address` to listen on")
	fs.Var(secrets(c.sim.Secrets), "secret", "an economy system `ID=SECRET` it accepts answers for, the secret whsec_... or plain; repeatable (env EFAKTURA_ERPSIM_SECRETS, e.g. id=whsec_czNjcmV0,id2=secret2)")
	fs.Float64Var(&c.sim.FailRatio, "fail", 0, "share of requests, 0 to 1, answered 503 before recording")
	fs.DurationVar(&c.sim.Delay, "delay", 0, "how long each request waits before it is answered")
	fs.Int64Var(&c.sim.Seed, "seed", 1, "seed of the injected failures")
	return fs
}

func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	c := config{sim: erpsim.Config{Secrets: secrets{}}}
	fs := flags(&c, stderr)
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("erpsim takes no arguments, got %q", fs.Args())
	}
	var errs []error
	if len(c.sim.Secrets) == 0 {
		if v := getenv("EFAKTURA_ERPSIM_SECRETS"); v != "" {
			for pair := range strings.SplitSeq(v, ",") {
				if err := secrets(c.sim.Secrets).Set(pair); err != nil {
					errs = append(errs, fmt.Errorf("EFAKTURA_ERPSIM_SECRETS: %w", err))
				}
			}
		}
	}
	if len(c.sim.Secrets) == 0 {
		errs = append(errs, errors.New("no economy system: give --secret ID=SECRET or EFAKTURA_ERPSIM_SECRETS"))
	}
	if c.sim.FailRatio < 0 || c.sim.FailRatio > 1 {
		errs = append(errs, fmt.Errorf("--fail %v must lie between 0 and 1", c.sim.FailRatio))
	}
	if c.sim.Delay < 0 {
		errs = append(errs, fmt.Errorf("--delay %v must not be negative", c.sim.Delay))
	}
	return c, errors.Join(errs...)
}

// run is main without the process, so a test can call it; ready, when not
// nil, gets the address it listens on.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready func(addr string)) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := telemetry.NewLogger(stderr, slog.LevelInfo)
	cfg.sim.Logger = logger
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	srv := &http.Server{
		Handler:           erpsim.New(cfg.sim),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.sim.Delay + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	logger.InfoContext(ctx, "erpsim listening", "addr", ln.Addr().String(), "economy_systems", secrets(cfg.sim.Secrets).String(),
		"fail", cfg.sim.FailRatio, "delay", cfg.sim.Delay, "seed", cfg.sim.Seed)
	if ready != nil {
		ready(ln.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
