// Package bus runs CloudEvents handlers on NATS JetStream and owns, once for
// every worker, what delivery needs: acks, retries, dead letters,
// idempotency and tracing.
//
// # Delivery
//
// JetStream delivers at least once. The runtime turns that into an
// exactly-once effect:
//
//   - Publish sends each event with Nats-Msg-Id set to its id, so a repeated
//     publish within the stream's duplicate window is dropped. Event ids are
//     derived from business keys (see package events), so a retried step
//     publishes the same ids.
//   - A handler's input is acked only after JetStream has acked every output.
//     A worker that dies in between leaves the input unacked; JetStream
//     redelivers it, the handler runs again, and its outputs, with the same
//     ids, are dropped as duplicates.
//   - Handlers with an outside effect claim each event in an idempotency
//     store ([idem.Store]) before running and complete the claim after, so a
//     redelivery or a replay finds the effect done. Pure handlers skip this
//     ([Pure]).
//
// # Failures
//
// An error from a handler is retried with NakWithDelay and the configured
// backoff until MaxDeliver; then the event goes to the dead-letter stream,
// with the error text (CPR numbers masked), the delivery count and the
// consumer. [Permanent] errors, panics and messages that are not
// CloudEvents go there at once. [DeadLetters] lists and replays them; the
// efaktura command's "dlq" subcommand uses it.
//
// # Shutdown
//
// When Run's context ends it stops fetching, lets handlers in flight finish
// within Config.Drain, naks the rest for redelivery to another replica, and
// returns.
//
// # Wire format
//
// Events travel in the CloudEvents NATS binding's binary mode: every
// attribute in a ce-<name> header, percent-encoded, datacontenttype in
// content-type, the data as the message body. The trace context travels as
// the distributed-tracing extension (ce-traceparent, ce-tracestate).
package bus
