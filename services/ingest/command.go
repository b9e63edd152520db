package ingest

import (
	"context"
	"flag"

	"github.com/kp-efaktura/efaktura/pkg/worker"
)

// Command is the ingest worker as a process: bin/ingest runs it, and
// efaktura up wires it the same way, so every setting works in both.
func Command() worker.Command {
	var cfg Config
	return worker.Command{
		Name: "ingest", HTTPAddr: ":8081",
		Flags: func(fs *flag.FlagSet, env *worker.Env) {},
		Setup: func(ctx context.Context, d *worker.Deps) error {
			w, err := New(ctx, d.Bus, d.Tenants, d.Store, cfg, d.Log)
			if err != nil {
				return err
			}
			w.Register()
			w.Routes(d.Mux)
			return nil
		},
	}
}
