// Command validate applies the e-faktura 2.1.0 document rules to each
// received document and publishes document.validated or document.rejected.
//
// Configuration is pkg/worker's (run with -h), plus --concurrency
// (VALIDATE_CONCURRENCY, default 4).
package main

import "github.com/kp-efaktura/efaktura/services/validate"

func main() { validate.Command().Main() }
