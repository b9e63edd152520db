// Command ingest takes in e-faktura bundles from municipalities' economy
// systems, over HTTP (POST /v1/bundles) and as bundle.submitted events, and
// publishes one document.received per document.
//
// Configuration is pkg/worker's (run with -h); the HTTP API listens on :8081
// by default.
package main

import "github.com/kp-efaktura/efaktura/services/ingest"

func main() { ingest.Command().Main() }
