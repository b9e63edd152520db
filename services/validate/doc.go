// Package validate applies the e-faktura 2.1.0 document rules to each received document and publishes a validated or rejected event.
//
// The worker is built on the format library (pkg/efaktura) and the bus runtime
// of the later issues; this module holds its place in the workspace until then.
package validate
