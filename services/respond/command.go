package respond

import (
	"context"
	"flag"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/worker"
)

// Command is the respond worker as a process: bin/respond runs it, and
// efaktura up wires it the same way, so every setting works in both.
func Command() worker.Command {
	var (
		timeout       time.Duration
		backoff       worker.DurationsFlag
		retryAfterMax time.Duration
	)
	return worker.Command{
		Name: "respond",
		Flags: func(fs *flag.FlagSet, env *worker.Env) {
			fs.DurationVar(&timeout, "http-timeout", env.Duration("RESPOND_HTTP_TIMEOUT", DefaultHTTPTimeout), "timeout of one delivery to an economy system (env RESPOND_HTTP_TIMEOUT)")
			backoff = env.Durations("RESPOND_BACKOFF", []time.Duration{DefaultBackoffInitial, DefaultBackoffMax})
			fs.Var(&backoff, "backoff", "FIRST,LONGEST: the first pause after an answer the economy system cannot take now, doubled at each failure up to the longest, with jitter; of a longer list the first and last count (env RESPOND_BACKOFF)")
			fs.DurationVar(&retryAfterMax, "retry-after-max", env.Duration("RESPOND_RETRY_AFTER_MAX", DefaultRetryAfterMax), "longest wait a 429 or 503's Retry-After is honoured for (env RESPOND_RETRY_AFTER_MAX)")
		},
		Setup: func(ctx context.Context, d *worker.Deps) error {
			cfg := Config{BackoffInitial: backoff[0], BackoffMax: backoff[len(backoff)-1], RetryAfterMax: retryAfterMax,
				AgreementsDeadline: d.AgreementsDeadline}
			deliverer := NewHTTPDeliverer(timeout, WithTracerProvider(d.Bus.TracerProvider()))
			w, err := New(ctx, d.Bus, d.Tenants, deliverer, cfg, WithLogger(d.Log))
			if err != nil {
				return err
			}
			if d.Telemetry != nil {
				if err := w.Instrument(ctx, d.Telemetry.MeterProvider); err != nil {
					return err
				}
			}
			w.Register(ctx)
			return nil
		},
	}
}
