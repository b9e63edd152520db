// Package ingest takes in e-faktura bundles from municipalities' economy
// systems, over HTTP (POST /v1/bundles, [Worker.Routes]) and as
// bundle.submitted events ([Worker.Register]). A bundle that fails a file
// or bundle rule (V01 to V10, the duplicate check V10 on the idempotency
// store) or whose sender the municipality has not registered is refused
// whole. Of an accepted one, each document is kept raw, as one message of
// the stream EFAKTURA_BUNDLES that expires after [Config.RawRetention]
// (raw.go), and bundle.received and one document.received per document are
// published; validate judges each document, so the intake reads the
// documents without their rules (V11 to V50). A bundle refused over NATS gets
// bundle.rejected. intake.go reads the intake top to bottom.
//
// An HTTP body is spooled (in memory when small, else to a file in
// [Config.SpoolDir]) before the bundle waits for one of the
// [Config.MaxConcurrent] intake turns, so neither a slow nor a huge upload
// holds a turn or memory: a body must arrive at
// [Config.MinUploadRate] (408 otherwise) and within the size limits (413).
// Each ingest token may have [Config.MaxUploadsPerToken] requests in
// progress and send [Config.RatePerToken] a second (429 with Retry-After
// otherwise).
//
// The duplicate-bundle keys are named by the bundle id, a hash, never by
// REFERENCE, which may hold a CPR number.
package ingest
