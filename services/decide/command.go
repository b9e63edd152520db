package decide

import (
	"context"
	"flag"

	"github.com/kp-efaktura/efaktura/pkg/worker"
	"github.com/kp-efaktura/efaktura/services/decide/desk"
)

// Command is the decide worker as a process: bin/decide runs it, and
// efaktura up wires it the same way, so every setting works in both.
func Command() worker.Command {
	var cfg Config
	return worker.Command{
		Name: "decide", HTTPAddr: ":8082",
		Flags: func(fs *flag.FlagSet, env *worker.Env) {
			fs.StringVar(&cfg.Bucket, "bucket", env.String("DECIDE_BUCKET", ""), "KV `bucket` of the document records (env DECIDE_BUCKET)")
			fs.IntVar(&cfg.Concurrency, "concurrency", env.Int("DECIDE_CONCURRENCY", 0), "events each handler works on at once; 0 for the default 8 (env DECIDE_CONCURRENCY)")
			fs.DurationVar(&cfg.ArchiveRetention, "archive-retention", env.Duration("DECIDE_ARCHIVE_RETENTION", 0),
				"how long answered documents' audit summaries are kept; 0 for the default 6 years, 52596h (env DECIDE_ARCHIVE_RETENTION)")
		},
		Setup: func(ctx context.Context, d *worker.Deps) error {
			w, err := New(ctx, d.Bus, d.Tenants, cfg, WithLogger(d.Log), WithTenants(d.Tenants))
			if err != nil {
				return err
			}
			if d.Telemetry != nil {
				if err := w.Instrument(d.Telemetry.MeterProvider); err != nil {
					return err
				}
			}
			w.Register()
			w.Routes(d.Mux)
			// The caseworker's desk, at / on the same origin as the API
			// it uses (package desk).
			desk.Routes(d.Mux)
			// On the admin address too, with /v1/me beside the admin
			// API: an administrator opens the desk's page of the
			// municipalities' agreements there (issue 15).
			if d.Admin != nil {
				desk.Routes(d.Admin)
				d.Admin.HandleFunc("GET /v1/me", w.getMe)
			}
			// Not ready before the index holds the open documents: a list
			// would miss some (issue 10).
			d.AddCheck(worker.Check{Name: "document index", Ready: w.Ready})
			return nil
		},
	}
}
