// Command decide holds each valid document until a caseworker's verdict
// arrives, rejects technically invalid documents at once, and serves the
// caseworkers' API: POST /v1/documents/{id}/verdict, GET /v1/documents,
// GET /v1/documents/{id}.
//
// Configuration is pkg/worker's (run with -h), plus:
//
//	--bucket NAME     DECIDE_BUCKET       document records; default EFAKTURA_documents
//	--concurrency N   DECIDE_CONCURRENCY  events each handler works on at once; default 8
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
	"github.com/kp-efaktura/efaktura/services/decide"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv); err != nil {
		slog.Error("decide stopped", "err", err)
		os.Exit(1)
	}
}

// run is main without the process, so a test can call it.
func run(ctx context.Context, args []string, getenv func(string) string) error {
	dc := decide.Config{Bucket: getenv("DECIDE_BUCKET")}
	if v := getenv("DECIDE_CONCURRENCY"); v != "" {
		dc.Concurrency, _ = strconv.Atoi(v)
	}
	cfg, err := worker.Load("decide", ":8082", args, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&dc.Bucket, "bucket", dc.Bucket, "KV `bucket` of the document records (env DECIDE_BUCKET)")
		fs.IntVar(&dc.Concurrency, "concurrency", dc.Concurrency, "events each handler works on at once (env DECIDE_CONCURRENCY)")
	})
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return worker.Run(ctx, cfg, getenv, func(ctx context.Context, d *worker.Deps) error {
		w, err := decide.New(ctx, d.Bus, d.Tenants, dc, decide.WithLogger(d.Log))
		if err != nil {
			return err
		}
		w.Register()
		w.Routes(d.Mux)
		return nil
	})
}
