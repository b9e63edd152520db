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
		timeout time.Duration
		backoff worker.DurationsFlag
	)
	return worker.Command{
		Name: "respond",
		Flags: func(fs *flag.FlagSet, env *worker.Env) {
			fs.DurationVar(&timeout, "http-timeout", env.Duration("RESPOND_HTTP_TIMEOUT", DefaultHTTPTimeout), "timeout of one delivery to an economy system (env RESPOND_HTTP_TIMEOUT)")
			backoff = env.Durations("RESPOND_BACKOFF", DefaultBackoff)
			fs.Var(&backoff, "backoff", "pauses between attempts at an answer the economy system cannot take now; the last repeats (env RESPOND_BACKOFF)")
		},
		Setup: func(ctx context.Context, d *worker.Deps) error {
			w, err := New(ctx, d.Bus, d.Tenants, NewHTTPDeliverer(timeout), Config{Backoff: backoff, AgreementsDeadline: d.AgreementsDeadline}, WithLogger(d.Log))
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
