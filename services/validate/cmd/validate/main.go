// Command validate applies the e-faktura 2.1.0 document rules to each
// received document and publishes document.validated or document.rejected.
//
// Configuration is pkg/worker's (run with -h), plus --concurrency
// (VALIDATE_CONCURRENCY, default 4).
package main

import (
	"context"
	"flag"
	"os"
	"strconv"

	"github.com/kp-efaktura/efaktura/pkg/worker"
	"github.com/kp-efaktura/efaktura/services/validate"
)

func main() { command(os.Getenv).Main() }

func command(getenv func(string) string) worker.Command {
	var vc validate.Config
	vc.Concurrency, _ = strconv.Atoi(getenv("VALIDATE_CONCURRENCY"))
	return worker.Command{
		Name: "validate",
		Flags: func(fs *flag.FlagSet) {
			fs.IntVar(&vc.Concurrency, "concurrency", vc.Concurrency, "documents judged at once; 0 for the default 4 (env VALIDATE_CONCURRENCY)")
		},
		Setup: func(_ context.Context, d *worker.Deps) error {
			validate.New(d.Bus, d.Tenants, vc).Register()
			return nil
		},
	}
}
