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
//   - Each handler declares its [Effect]. Handlers that call out
//     ([CallsOut]) claim each event in an idempotency store ([idem.Store])
//     before running and complete the claim after, so a redelivery or a
//     replay finds the effect done. Handlers that only emit events
//     ([EmitsOnly]) or write state they guard themselves ([WritesState])
//     need no claim.
//
// # Order and pauses
//
// A handler registered [InOrder] gets one event at a time across every
// replica, and a failed event is retried before the next; with
// [RetryForever] it holds the ones behind it until it succeeds or fails
// permanently. [Bus.Pause] and [Bus.Resume] stop and restart the delivery
// of one handler's events with JetStream's consumer pause, so a queue can
// wait, in order and durably, for as long as it must. Handlers may be
// registered while Run runs; they start at once.
//
// # Failures
//
// An error from a handler is retried with NakWithDelay and the configured
// backoff (or the delay a [RetryAfter] asks for) until MaxDeliver; then the
// event goes to the dead-letter stream,
// with the error text (CPR numbers masked), the delivery count and the
// consumer. [Permanent] errors, panics and messages that are not
// CloudEvents go there at once. [WithFailureEvents] publishes a handler's
// notices of each failure. [DeadLetters] lists and replays dead letters;
// the efaktura command's "dlq" subcommand uses it.
//
// # Shutdown
//
// When Run's context ends it stops fetching, lets handlers in flight finish
// within Config.Drain, naks the rest for redelivery to another replica, and
// returns.
//
// # Wire format
//
// Events travel in the binary mode of the CloudEvents NATS protocol binding
// 1.0.3: every attribute in a ce-<name> header, percent-encoded,
// ce-datacontenttype and ce-dataschema included, the data as the message
// body, and Nats-Msg-Id equal to the event id. There is no Content-Type
// header: the binding keeps it for structured mode, and no NATS tool needs
// it. The trace context travels as the distributed-tracing extension
// (ce-traceparent, ce-tracestate).
//
// Inputs may come in either mode of the binding, from any conformant client
// (sdk-go's JetStream protocol is tested as one): binary mode with header
// names in any case, datacontenttype from ce-datacontenttype or
// Content-Type, quoted and percent-encoded values; structured mode with
// Content-Type application/cloudevents+json, or without headers when the
// body is a JSON CloudEvent. Batched mode, other event formats, values that
// are not UTF-8 once decoded and anything else that is not a CloudEvent 1.0
// are dead-lettered at once, the reason saying what was wrong ([Decode]).
package bus
