// Command respond answers each decided document to the municipality's
// economy system, or parks the answer until both SF1590_D service
// agreements allow it, and releases parked answers in decision order.
//
// Configuration is pkg/worker's (run with -h), plus:
//
//	--http-timeout D   RESPOND_HTTP_TIMEOUT   one delivery to an economy system; default 30s
//	--concurrency N    RESPOND_CONCURRENCY    decisions answered at once; default 4
//	--sweep D          RESPOND_SWEEP          how often parked answers that may go are retried; default 1m
package main

import (
	"context"
	"flag"
	"os"
	"strconv"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/worker"
	"github.com/kp-efaktura/efaktura/services/respond"
)

func main() { command(os.Getenv).Main() }

func command(getenv func(string) string) worker.Command {
	rc := respond.Config{}
	timeout := respond.DefaultHTTPTimeout
	if d, err := time.ParseDuration(getenv("RESPOND_HTTP_TIMEOUT")); err == nil {
		timeout = d
	}
	rc.Concurrency, _ = strconv.Atoi(getenv("RESPOND_CONCURRENCY"))
	if d, err := time.ParseDuration(getenv("RESPOND_SWEEP")); err == nil {
		rc.Sweep = d
	}
	return worker.Command{
		Name: "respond",
		Flags: func(fs *flag.FlagSet) {
			fs.DurationVar(&timeout, "http-timeout", timeout, "timeout of one delivery to an economy system (env RESPOND_HTTP_TIMEOUT)")
			fs.IntVar(&rc.Concurrency, "concurrency", rc.Concurrency, "decisions answered at once; 0 for the default 4 (env RESPOND_CONCURRENCY)")
			fs.DurationVar(&rc.Sweep, "sweep", rc.Sweep, "how often parked answers that may go are retried; 0 for the default 1m (env RESPOND_SWEEP)")
		},
		Setup: func(ctx context.Context, d *worker.Deps) error {
			w, err := respond.New(ctx, d.Bus, d.Tenants, respond.NewHTTPDeliverer(timeout), rc, respond.WithLogger(d.Log))
			if err != nil {
				return err
			}
			w.Register()
			go w.Run(ctx) // the sweep of parked answers, until ctx ends
			return nil
		},
	}
}
