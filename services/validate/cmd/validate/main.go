// Command validate applies the e-faktura 2.1.0 document rules to each
// received document and publishes document.validated or document.rejected.
//
// Configuration is pkg/worker's (run with -h), plus --concurrency
// (VALIDATE_CONCURRENCY, default 4).
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/kp-efaktura/efaktura/pkg/worker"
	"github.com/kp-efaktura/efaktura/services/validate"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv); err != nil {
		slog.Error("validate stopped", "err", err)
		os.Exit(1)
	}
}

// run is main without the process, so a test can call it.
func run(ctx context.Context, args []string, getenv func(string) string) error {
	var vc validate.Config
	vc.Concurrency, _ = strconv.Atoi(getenv("VALIDATE_CONCURRENCY"))
	cfg, err := worker.Load("validate", "", args, getenv, func(fs *flag.FlagSet) {
		fs.IntVar(&vc.Concurrency, "concurrency", vc.Concurrency, "documents judged at once; 0 for the default 4 (env VALIDATE_CONCURRENCY)")
	})
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return worker.Run(ctx, cfg, getenv, func(_ context.Context, d *worker.Deps) error {
		validate.New(d.Bus, d.Tenants, vc).Register()
		return nil
	})
}
