package validate

import (
	"context"
	"flag"

	"github.com/kp-efaktura/efaktura/pkg/worker"
)

// Command is the validate worker as a process: bin/validate runs it, and
// efaktura up wires it the same way, so every setting works in both.
func Command() worker.Command {
	var cfg Config
	return worker.Command{
		Name: "validate",
		Flags: func(fs *flag.FlagSet, env *worker.Env) {
			fs.IntVar(&cfg.Concurrency, "concurrency", env.Int("VALIDATE_CONCURRENCY", 0), "documents judged at once; 0 for the default 4 (env VALIDATE_CONCURRENCY)")
		},
		Setup: func(_ context.Context, d *worker.Deps) error {
			New(d.Bus, d.Tenants, cfg).Register()
			return nil
		},
	}
}
