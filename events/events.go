package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"reflect"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// The event types. Each names its publisher and consumers, its payload, the
// CE subject attribute (the business key) and the key parts to pass to
// [New] (the event id is [ID] of the type and the key). The NATS subject is
// [Subject] of the kommune and the type.
//
// A type's name ends in its major version. A change that a consumer of the
// old payload cannot read (a field removed, renamed or retyped, an enum value
// added that consumers must understand) is a new type with the next version,
// published beside the old one until every consumer has moved.
const (
	// TypeBundleSubmitted: an upstream publisher (an ERP adapter) submits a
	// bundle over NATS; ingest consumes it. The data is the raw bundle, XML
	// (application/xml) or ZIP (application/zip), not JSON; build it with
	// [NewBundleSubmitted], whose id is derived from the kommune, the source
	// and the bundle's SHA-256, so a republished identical bundle is dropped
	// by JetStream. The CE subject is free (e.g. the file name); ingest does
	// not rely on it. The CE source names the publisher, and ingest takes it
	// as the service provider of the duplicate check (V10).
	TypeBundleSubmitted = "dk.kp.efaktura.bundle.submitted.v1"
	// TypeBundleReceived: ingest accepted a bundle (rules V01 to V10 passed),
	// stored its documents raw ([RawStream]) and publishes one
	// [TypeDocumentReceived] per document; decide keeps a record of the
	// bundle for GET /v1/bundles/{id}. Payload [BundleReceived]; CE
	// subject and key: the bundle id. Version 2 replaced the object store
	// key of the whole bundle (object) with where its documents are (raw)
	// and its size.
	TypeBundleReceived = "dk.kp.efaktura.bundle.received.v2"
	// TypeBundleRejected: ingest refused a bundle (file or bundle findings,
	// a duplicate, or an unknown sender); none of its documents goes on.
	// decide records a refused bundle that has an id and is no duplicate.
	// Payload [BundleRejected]; CE subject: the bundle id when the bundle's
	// duplicate key could be read, otherwise empty; key: the kommune and the
	// bundle's SHA-256 ([BundleRejected].SHA256).
	TypeBundleRejected = "dk.kp.efaktura.bundle.rejected.v1"
	// TypeDocumentReceived: one document of an accepted bundle, published by
	// ingest once the document is stored raw, consumed by validate, which
	// reads the document by its reference, and by decide. Payload
	// [DocumentReceived]; CE subject and key: the document id. Version 2
	// carries a reference to the stored document ([RawRef]) where version 1
	// carried the XML itself.
	TypeDocumentReceived = "dk.kp.efaktura.document.received.v2"
	// TypeDocumentValidated: validate found no error in a document; decide
	// holds it for a caseworker. Payload [DocumentValidated]; CE subject:
	// the document id; key: the document id and the ruleset.
	TypeDocumentValidated = "dk.kp.efaktura.document.validated.v1"
	// TypeDocumentRejected: validate found errors in a document (it is
	// technically invalid); decide rejects it without a caseworker. Payload
	// [DocumentRejected]; CE subject: the document id; key: the document id
	// and the ruleset.
	TypeDocumentRejected = "dk.kp.efaktura.document.rejected.v1"
	// TypeVerdictSubmitted: a caseworker approves or rejects a validated
	// document, through the caseworker API (admin); decide consumes it.
	// Payload [VerdictSubmitted]; CE subject: the document id; key: the
	// verdict id.
	TypeVerdictSubmitted = "dk.kp.efaktura.verdict.submitted.v1"
	// TypeVerdictRefused: decide did not apply a verdict (the document is
	// unknown, not validated, or already decided). Payload [VerdictRefused];
	// CE subject: the document id; key: the verdict id.
	TypeVerdictRefused = "dk.kp.efaktura.verdict.refused.v1"
	// TypeDocumentDecided: the final decision on a document, by a caseworker
	// or, for a technically invalid one, by the system; published once per
	// document by decide, consumed by respond. Payload [DocumentDecided]; CE
	// subject and key: the document id.
	TypeDocumentDecided = "dk.kp.efaktura.document.decided.v1"
	// TypeAnswerQueued: respond put the answer to a decided document in the
	// municipality's answer queue, from which it is delivered in decision
	// order once both service agreements allow it. It lives in a stream of
	// its own ([AnswerQueueSubjects]), a work queue that keeps it until it
	// is delivered or dead-lettered. Payload [AnswerQueued], the answer
	// itself; CE subject: the document id; key: the answer id.
	TypeAnswerQueued = "dk.kp.efaktura.answer.queued.v1"
	// TypeAnswerParked: an answer waits in its queue because the
	// municipality's service agreements do not allow sending it yet; it is
	// sent when a change of the municipality's record makes them allow it.
	// Payload [AnswerParked]; CE subject: the document id; key: the answer
	// id and the park reason.
	TypeAnswerParked = "dk.kp.efaktura.answer.parked.v1"
	// TypeAnswerDelivered: the municipality's economy system accepted the
	// answer. Payload [AnswerDelivered]; CE subject: the document id; key:
	// the answer id.
	TypeAnswerDelivered = "dk.kp.efaktura.answer.delivered.v1"
	// TypeAnswerFailed: an attempt to deliver an answer failed; a permanent
	// failure needs an operator: the answer was dead-lettered, or the
	// economy system refused efaktura itself and the municipality's queue
	// waits for its record to be corrected. Payload [AnswerFailed]; CE subject: the
	// document id; key: the answer id and the attempt number.
	TypeAnswerFailed = "dk.kp.efaktura.answer.failed.v1"
	// TypeTenantChanged: admin created or changed a municipality: its economy
	// system and its sender register. Payload [TenantChanged]; CE subject:
	// the kommune code; key: the kommune code and the version.
	TypeTenantChanged = "dk.kp.efaktura.tenant.changed.v1"
	// TypeAgreementChanged: admin recorded a new state of one of a
	// municipality's two service agreements. Payload [AgreementChanged]; CE
	// subject: the kommune code; key: the kommune code, the agreement and
	// the version.
	TypeAgreementChanged = "dk.kp.efaktura.agreement.changed.v1"
)

// Sources: the CE source attribute of the events each worker publishes. The
// source of a [TypeBundleSubmitted] is the upstream publisher's own.
const (
	SourceIngest   = "/efaktura/ingest"
	SourceValidate = "/efaktura/validate"
	SourceDecide   = "/efaktura/decide"
	SourceRespond  = "/efaktura/respond"
	// SourceAdmin publishes tenant and agreement changes and the
	// caseworkers' verdicts.
	SourceAdmin = "/efaktura/admin"
)

// ExtensionKommune is the CloudEvents extension attribute that carries the
// municipality's 4-digit code on every event (header ce-kommune in binary
// mode). The trace context extensions (traceparent, tracestate) are set by
// the bus runtime, not here.
const ExtensionKommune = "kommune"

// Data content types.
const (
	ContentTypeJSON = "application/json" // every payload but a submitted bundle
	ContentTypeXML  = "application/xml"  // a submitted bundle as XML
	ContentTypeZIP  = "application/zip"  // a submitted bundle as a ZIP archive
)

// entry is one event type of the catalogue.
type entry struct {
	typ string
	// subject is the NATS subject's tail after the kommune: "<entity>.<action>".
	subject string
	// queued types live in the answer queue stream, not the event stream.
	queued bool
	// payload is the Go type of the data; []byte for raw data.
	payload reflect.Type
	// key names the payload field the CE subject attribute holds; "" when
	// the subject is free.
	key string
}

var bytesType = reflect.TypeFor[[]byte]()

// accepts reports whether mt, a media type without parameters, is one the
// data of en's type may have.
func (en *entry) accepts(mt string) bool {
	if en.payload == bytesType {
		return mt == ContentTypeXML || mt == ContentTypeZIP
	}
	return mt == ContentTypeJSON
}

// catalogue is the single list of event types, in pipeline order. A type
// missing here fails the tests, and so does one without a schema or without
// its place in asyncapi.yaml.
var catalogue = []entry{
	{TypeBundleSubmitted, "bundle.submitted", false, bytesType, ""},
	{TypeBundleReceived, "bundle.received", false, reflect.TypeFor[BundleReceived](), "bundle_id"},
	{TypeBundleRejected, "bundle.rejected", false, reflect.TypeFor[BundleRejected](), "bundle_id"},
	{TypeDocumentReceived, "document.received", false, reflect.TypeFor[DocumentReceived](), "document_id"},
	{TypeDocumentValidated, "document.validated", false, reflect.TypeFor[DocumentValidated](), "document_id"},
	{TypeDocumentRejected, "document.rejected", false, reflect.TypeFor[DocumentRejected](), "document_id"},
	{TypeVerdictSubmitted, "verdict.submitted", false, reflect.TypeFor[VerdictSubmitted](), "document_id"},
	{TypeVerdictRefused, "verdict.refused", false, reflect.TypeFor[VerdictRefused](), "document_id"},
	{TypeDocumentDecided, "document.decided", false, reflect.TypeFor[DocumentDecided](), "document_id"},
	{TypeAnswerQueued, "answer.queued", true, reflect.TypeFor[AnswerQueued](), "document_id"},
	{TypeAnswerParked, "answer.parked", false, reflect.TypeFor[AnswerParked](), "document_id"},
	{TypeAnswerDelivered, "answer.delivered", false, reflect.TypeFor[AnswerDelivered](), "document_id"},
	{TypeAnswerFailed, "answer.failed", false, reflect.TypeFor[AnswerFailed](), "document_id"},
	{TypeTenantChanged, "tenant.changed", false, reflect.TypeFor[TenantChanged](), "kommune"},
	{TypeAgreementChanged, "agreement.changed", false, reflect.TypeFor[AgreementChanged](), "kommune"},
}

var byType = func() map[string]*entry {
	m := make(map[string]*entry, len(catalogue))
	for i := range catalogue {
		m[catalogue[i].typ] = &catalogue[i]
	}
	return m
}()

func lookup(eventType string) (*entry, error) {
	if en, ok := byType[eventType]; ok {
		return en, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownType, eventType)
}

// Types returns every event type of the catalogue, in pipeline order. The
// slice is a copy.
func Types() []string {
	ts := make([]string, len(catalogue))
	for i, en := range catalogue {
		ts[i] = en.typ
	}
	return ts
}

// New builds an event of a type with a JSON payload: spec 1.0, id
// [ID](eventType, key...), the given source and subject (the business key,
// see the type's doc), the kommune extension, time at, datacontenttype
// application/json, dataschema the $id of the type's schema ([SchemaID]) and
// data, JSON-encoded. data must be the type's payload
// struct or a pointer to it.
//
// key must not be empty: it is what makes the id unique to this event, and
// the same key must come out of a retry, so take it from the input, never
// from a clock or a random source. New returns an error wrapping
// [ErrUnknownType], [ErrKommune], [ErrPayloadType] or [ErrInvalid]; use
// [NewBundleSubmitted] for [TypeBundleSubmitted].
func New(eventType, source, kommune, subject string, key []string, data any, at time.Time) (cloudevents.Event, error) {
	en, err := lookup(eventType)
	if err != nil {
		return cloudevents.Event{}, err
	}
	if en.payload == bytesType {
		return cloudevents.Event{}, fmt.Errorf("new %s: %w: the data is raw bytes; use NewBundleSubmitted", eventType, ErrPayloadType)
	}
	if t := reflect.TypeOf(data); t != en.payload && t != reflect.PointerTo(en.payload) {
		return cloudevents.Event{}, fmt.Errorf("new %s: %w: got %T, want events.%s", eventType, ErrPayloadType, data, en.payload.Name())
	}
	if v := reflect.ValueOf(data); v.Kind() == reflect.Pointer && v.IsNil() {
		return cloudevents.Event{}, fmt.Errorf("new %s: %w: nil %T", eventType, ErrPayloadType, data)
	}
	if len(key) == 0 {
		return cloudevents.Event{}, fmt.Errorf("new %s: %w: no key for the event id", eventType, ErrInvalid)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("new %s: %w: %w", eventType, ErrInvalid, err)
	}
	return build(eventType, source, kommune, subject, ID(eventType, key...), ContentTypeJSON, raw, at)
}

// NewBundleSubmitted builds a [TypeBundleSubmitted] event carrying a raw
// bundle: contentType is application/xml or application/zip (parameters such
// as a charset are kept). Its id is [ID](TypeBundleSubmitted, kommune,
// source, the bundle's SHA-256 in lower-case hex), so publishing the same
// bytes again is dropped by JetStream's duplicate window, and a different
// publisher or municipality makes a different event.
//
// The bundle travels in one NATS message: the server's max_payload (1 MB by
// default, at most 64 MB) bounds it, below the format's own limits of 45 MB
// (XML) and 100 MB (ZIP).
func NewBundleSubmitted(source, kommune, subject string, contentType string, bundle []byte, at time.Time) (cloudevents.Event, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != ContentTypeXML && mt != ContentTypeZIP) {
		return cloudevents.Event{}, fmt.Errorf("new %s: %w: %q; want %s or %s", TypeBundleSubmitted, ErrContentType, contentType, ContentTypeXML, ContentTypeZIP)
	}
	if len(bundle) == 0 {
		return cloudevents.Event{}, fmt.Errorf("new %s: %w: empty bundle", TypeBundleSubmitted, ErrInvalid)
	}
	sum := sha256.Sum256(bundle)
	id := ID(TypeBundleSubmitted, kommune, source, hex.EncodeToString(sum[:]))
	return build(TypeBundleSubmitted, source, kommune, subject, id, contentType, bundle, at)
}

func build(eventType, source, kommune, subject, id, contentType string, data []byte, at time.Time) (cloudevents.Event, error) {
	if !ValidKommune(kommune) {
		return cloudevents.Event{}, fmt.Errorf("new %s: %w: %q", eventType, ErrKommune, kommune)
	}
	if at.IsZero() {
		return cloudevents.Event{}, fmt.Errorf("new %s: %w: no time", eventType, ErrInvalid)
	}
	e := cloudevents.NewEvent(cloudevents.VersionV1)
	e.SetID(id)
	e.SetType(eventType)
	e.SetSource(source)
	if subject != "" {
		e.SetSubject(subject)
	}
	e.SetTime(at)
	e.SetExtension(ExtensionKommune, kommune)
	e.SetDataContentType(contentType)
	if schema, ok := SchemaID(eventType); ok {
		e.SetDataSchema(schema)
	}
	// Set the bytes directly: SetData would re-encode the JSON, or mark it
	// as base64. Raw bundles are base64 in structured mode (data_base64).
	e.DataEncoded = data
	e.DataBase64 = contentType != ContentTypeJSON
	if err := e.Validate(); err != nil {
		return cloudevents.Event{}, fmt.Errorf("new %s: %w: %w", eventType, ErrInvalid, err)
	}
	return e, nil
}

// Decode returns the payload of e as T, which must be the type registered for
// e's type: the payload struct (e.g. [DocumentReceived] for
// [TypeDocumentReceived]), or []byte for [TypeBundleSubmitted], whose data is
// returned as is. Unknown JSON fields are ignored, so a consumer keeps
// working when a producer adds an optional field.
//
// The error names the event type and wraps [ErrUnknownType],
// [ErrPayloadType], [ErrContentType] or [ErrDecode]; none of them is cured by
// a retry.
func Decode[T any](e cloudevents.Event) (T, error) {
	var v T
	en, err := lookup(e.Type())
	if err != nil {
		return v, fmt.Errorf("decode: %w", err)
	}
	if t := reflect.TypeFor[T](); t != en.payload {
		return v, fmt.Errorf("decode %s into %s: %w; want %s", e.Type(), t, ErrPayloadType, en.payload)
	}
	if !en.accepts(e.DataMediaType()) {
		return v, fmt.Errorf("decode %s: %w: %q", e.Type(), ErrContentType, e.DataContentType())
	}
	if en.payload == bytesType {
		// The type check above makes T []byte.
		return any(e.Data()).(T), nil
	}
	if err := json.Unmarshal(e.Data(), &v); err != nil {
		return v, fmt.Errorf("decode %s: %w: %w", e.Type(), ErrDecode, err)
	}
	return v, nil
}
