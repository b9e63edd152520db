// Command ingest takes in e-faktura bundles from municipalities' economy
// systems, over HTTP (POST /v1/bundles) and as bundle.submitted events, and
// publishes one document.received per document.
//
// Configuration is pkg/worker's (run with -h); the HTTP API listens on :8081
// by default.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/kp-efaktura/efaktura/pkg/worker"
	"github.com/kp-efaktura/efaktura/services/ingest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv); err != nil {
		slog.Error("ingest stopped", "err", err)
		os.Exit(1)
	}
}

// run is main without the process, so a test can call it.
func run(ctx context.Context, args []string, getenv func(string) string) error {
	cfg, err := worker.Load("ingest", ":8081", args, getenv, nil)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return worker.Run(ctx, cfg, getenv, func(ctx context.Context, d *worker.Deps) error {
		w, err := ingest.New(ctx, d.Bus, d.Tenants, d.Store, ingest.Config{}, d.Log)
		if err != nil {
			return err
		}
		w.Register()
		w.Routes(d.Mux)
		return nil
	})
}
