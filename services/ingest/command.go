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
		Flags: func(fs *flag.FlagSet, env *worker.Env) {
			fs.IntVar(&cfg.MaxConcurrent, "concurrency", env.Int("INGEST_CONCURRENCY", 0), "bundles validated and published at once; 0 for the default 2 (env INGEST_CONCURRENCY)")
			fs.StringVar(&cfg.SpoolDir, "spool-dir", env.String("INGEST_SPOOL_DIR", ""), "`directory` of the files uploads are spooled to; empty for the system's temporary directory (env INGEST_SPOOL_DIR)")
			fs.Int64Var(&cfg.MinUploadRate, "min-upload-rate", int64(env.Int("INGEST_MIN_UPLOAD_RATE", 0)), "slowest upload, in bytes per second over each upload window, before 408; 0 for the default 16384 (env INGEST_MIN_UPLOAD_RATE)")
			fs.DurationVar(&cfg.UploadWindow, "upload-window", env.Duration("INGEST_UPLOAD_WINDOW", 0), "span the minimum upload rate is measured over; 0 for the default 10s (env INGEST_UPLOAD_WINDOW)")
			fs.IntVar(&cfg.MaxUploadsPerToken, "uploads-per-token", env.Int("INGEST_UPLOADS_PER_TOKEN", 0), "requests one ingest token may have in progress, before 429; 0 for the default 4 (env INGEST_UPLOADS_PER_TOKEN)")
			fs.Float64Var(&cfg.RatePerToken, "rate-per-token", env.Float("INGEST_RATE_PER_TOKEN", 0), "requests per second one ingest token may send on average, before 429; 0 for the default 10 (env INGEST_RATE_PER_TOKEN)")
			fs.IntVar(&cfg.BurstPerToken, "burst-per-token", env.Int("INGEST_BURST_PER_TOKEN", 0), "requests one ingest token may send at once before the rate applies; 0 for the default 200 (env INGEST_BURST_PER_TOKEN)")
			fs.DurationVar(&cfg.RawRetention, "raw-retention", env.Duration("INGEST_RAW_RETENTION", 0), "how long each received document's raw XML is kept, from its receipt, at least 1s; 0 for the default 2160h (90 days) (env INGEST_RAW_RETENTION)")
		},
		Setup: func(ctx context.Context, d *worker.Deps) error {
			w, err := New(ctx, d.Bus, d.Tenants, d.Store, cfg, d.Log)
			if err != nil {
				return err
			}
			w.Register()
			w.Routes(d.Mux)
			d.OnClose(w.Close)
			return nil
		},
	}
}
