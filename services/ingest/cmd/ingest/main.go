// Command ingest takes in e-faktura bundles from municipalities' economy
// systems, over HTTP (POST /v1/bundles) and as bundle.submitted events, and
// publishes one document.received per document.
//
// Configuration is pkg/worker's (run with -h); the HTTP API listens on :8081
// by default.
package main

import (
	"context"

	"github.com/kp-efaktura/efaktura/pkg/worker"
	"github.com/kp-efaktura/efaktura/services/ingest"
)

func main() { command.Main() }

var command = worker.Command{
	Name: "ingest", HTTPAddr: ":8081",
	Setup: func(ctx context.Context, d *worker.Deps) error {
		w, err := ingest.New(ctx, d.Bus, d.Tenants, d.Store, ingest.Config{}, d.Log)
		if err != nil {
			return err
		}
		w.Register()
		w.Routes(d.Mux)
		return nil
	},
}
