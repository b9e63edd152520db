// Package events is the catalogue of the events the efaktura workers
// exchange over NATS JetStream: CloudEvents types, subjects, ids, payload
// structs and their JSON Schemas. Workers use its constants and functions,
// never literals; asyncapi.yaml describes the same catalogue for people and
// tools, and the tests keep the Go code, the schemas and asyncapi.yaml equal.
//
// # Events
//
// Every event is a CloudEvent 1.0, sent by the bus runtime (pkg/bus) in the
// binary mode of the CloudEvents NATS binding 1.0.3: every attribute in its
// ce-<name> header (ce-datacontenttype and ce-dataschema included), the
// payload as the message body, Nats-Msg-Id the event id. The runtime reads
// structured mode as well; asyncapi.yaml describes what a producer sends.
//
//   - type: one of the Type constants, e.g. [TypeDocumentReceived]
//     ("dk.kp.efaktura.document.received.v2"); [Types] lists them all.
//   - source: the publishing worker, e.g. [SourceIngest] ("/efaktura/ingest").
//   - subject: the business key: the document id for document, verdict and
//     answer events, the bundle id for bundle events, the kommune code for
//     tenant and agreement events.
//   - kommune ([ExtensionKommune]): the municipality's 4-digit code, on every
//     event (header ce-kommune). No other extension is set here; the bus
//     runtime adds the trace context (traceparent, tracestate).
//   - datacontenttype: application/json, except a submitted bundle
//     (application/xml or application/zip).
//   - dataschema: the $id of the type's payload schema ([SchemaID]), under
//     [SchemaBaseURL]; none for a submitted bundle.
//
// [New] builds an event and [Decode] reads its payload back into the struct
// registered for its type; [Check] verifies an event against the whole
// catalogue, schema included, and is meant for the workers' tests.
//
// # Subjects
//
// Subjects carry the municipality: efaktura.<kommune>.<entity>.<action>, e.g.
// efaktura.0101.document.received ([Subject], [SubjectOf]). The event stream
// captures [StreamSubjects], respond's answer queue [AnswerQueueSubjects]; a
// consumer serving every municipality filters on [Filter]
// (efaktura.*.document.received).
//
// # Ids
//
// Event ids are deterministic: [ID] is a UUID v5 of the type and a key taken
// from the input (each type's doc names its key), so a handler that runs
// again after a crash publishes the same ids, and JetStream, which gets the
// id as Nats-Msg-Id, drops the copies within its duplicate window. Bundle and
// document ids are derived the same way ([BundleID] from the duplicate key of
// rule V10, [DocumentID] from the bundle id and the position), so ingest
// finds the same ids when it sees the same bundle again. Never derive a key
// from a clock or a random source.
//
// # Versions
//
// A type's name ends in its major version. Adding an optional field is
// compatible: [Decode] ignores unknown fields, and the schema gains the
// field. Anything else is a new type (….v2), published beside the old one
// until every consumer has moved.
//
// bundle.received and document.received are at version 2: version 1 carried
// each document's XML in document.received and named an object-store object
// in bundle.received, and version 2 refers to the documents stored raw
// instead ([RawRef], [RawStream]; issue 10). No installation ever ran
// version 1, so no consumer had to move, and version 1 is gone rather than
// published beside version 2.
package events
