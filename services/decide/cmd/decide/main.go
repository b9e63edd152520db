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
	"flag"
	"os"
	"strconv"

	"github.com/kp-efaktura/efaktura/pkg/worker"
	"github.com/kp-efaktura/efaktura/services/decide"
)

func main() { command(os.Getenv).Main() }

func command(getenv func(string) string) worker.Command {
	dc := decide.Config{Bucket: getenv("DECIDE_BUCKET")}
	dc.Concurrency, _ = strconv.Atoi(getenv("DECIDE_CONCURRENCY"))
	return worker.Command{
		Name: "decide", HTTPAddr: ":8082",
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dc.Bucket, "bucket", dc.Bucket, "KV `bucket` of the document records (env DECIDE_BUCKET)")
			fs.IntVar(&dc.Concurrency, "concurrency", dc.Concurrency, "events each handler works on at once; 0 for the default 8 (env DECIDE_CONCURRENCY)")
		},
		Setup: func(ctx context.Context, d *worker.Deps) error {
			w, err := decide.New(ctx, d.Bus, d.Tenants, dc, decide.WithLogger(d.Log))
			if err != nil {
				return err
			}
			w.Register()
			w.Routes(d.Mux)
			return nil
		},
	}
}
