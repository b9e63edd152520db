// Package ingest accepts e-faktura bundles over HTTP and NATS, refuses duplicate bundles and publishes one event per document.
//
// The worker is built on the format library (pkg/efaktura) and the bus runtime
// of the later issues; this module holds its place in the workspace until then.
package ingest
