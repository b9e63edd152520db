// Package ingest takes in e-faktura bundles from municipalities' economy
// systems, over HTTP (POST /v1/bundles, [Worker.Routes]) and as
// bundle.submitted events ([Worker.Register]). A bundle that fails a file
// or bundle rule (V01 to V10, the duplicate check V10 on the idempotency
// store) or whose sender the municipality has not registered is refused
// whole. An accepted one is kept raw in the JetStream object store, and
// bundle.received and one document.received per document are published;
// validate judges each document. A bundle refused over NATS gets
// bundle.rejected.
package ingest
