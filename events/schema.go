package events

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sync"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The JSON Schemas (draft 2020-12) of the payloads, one file per type named
// after it. They keep to keywords that mean the same in draft-07, so
// AsyncAPI tools, which read draft-07, understand them too.
//
//go:embed schemas/*.json
var schemaFS embed.FS

func schemaFile(eventType string) string { return "schemas/" + eventType + ".json" }

// Schema returns the JSON Schema of eventType's payload, a copy of the
// embedded file schemas/<eventType>.json; false for an unknown type and for
// [TypeBundleSubmitted], whose payload is not JSON.
func Schema(eventType string) ([]byte, bool) {
	en, ok := byType[eventType]
	if !ok || en.payload == bytesType {
		return nil, false
	}
	b, err := schemaFS.ReadFile(schemaFile(eventType))
	if err != nil {
		return nil, false
	}
	return b, true
}

// SchemaBaseURL is where the payload schemas' $ids begin: each schema's $id
// is SchemaBaseURL + the type + ".json", the file's place in the repository
// (served as is by the repository host's raw view). The bus runtime sends it
// as the CloudEvents dataschema attribute (header ce-dataschema).
const SchemaBaseURL = "https://github.com/kp-efaktura/efaktura/raw/main/events/schemas/"

// SchemaID returns the $id of eventType's payload schema, the value of the
// dataschema attribute of its events ([New] sets it); false where [Schema]
// has no schema.
func SchemaID(eventType string) (string, bool) {
	ids, err := schemaIDs()
	if err != nil {
		return "", false
	}
	id, ok := ids[eventType]
	return id, ok
}

// schemaIDs reads the $id of every embedded schema once.
var schemaIDs = sync.OnceValues(func() (map[string]string, error) {
	out := make(map[string]string)
	for _, en := range catalogue {
		b, ok := Schema(en.typ)
		if !ok {
			continue
		}
		var doc struct {
			ID string `json:"$id"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("schema of %s: %w", en.typ, err)
		}
		if doc.ID == "" {
			return nil, fmt.Errorf("schema of %s: no $id", en.typ)
		}
		out[en.typ] = doc.ID
	}
	return out, nil
})

// answerSchemaFile is the JSON Schema of the answer an economy system
// receives, pkg/answer.Answer, published beside the payloads' schemas.
const answerSchemaFile = "schemas/answer.v1.json"

// AnswerSchema returns the JSON Schema (draft 2020-12) of the answer efaktura
// POSTs to a municipality's economy system (pkg/answer.Answer): the payload
// of [TypeAnswerQueued] with its economy system set. The file is
// events/schemas/answer.v1.json.
func AnswerSchema() []byte {
	b, err := schemaFS.ReadFile(answerSchemaFile)
	if err != nil {
		panic("events: " + answerSchemaFile + " is not embedded") // cannot happen: go:embed holds it
	}
	return b
}

// compiled holds every payload schema, compiled once, formats asserted.
var compiled = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	out := make(map[string]*jsonschema.Schema)
	for _, en := range catalogue {
		b, ok := Schema(en.typ)
		if !ok {
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schema of %s: %w", en.typ, err)
		}
		url := "mem:///" + schemaFile(en.typ)
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("schema of %s: %w", en.typ, err)
		}
		sch, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("schema of %s: %w", en.typ, err)
		}
		out[en.typ] = sch
	}
	return out, nil
})

// allowedExtensions are the extensions an event may carry: the kommune, and
// the trace context the bus runtime sets.
var allowedExtensions = map[string]bool{ExtensionKommune: true, "traceparent": true, "tracestate": true}

// Check reports whether e conforms to the catalogue: valid CloudEvents 1.0
// with a time, a known type, a 4-digit kommune extension and no extension
// besides it and the trace context, the type's data content type, no
// dataschema or the $id of the type's schema ([SchemaID]), a payload
// valid against the type's schema, the payload's kommune equal to the
// extension, and the CE subject equal to the business key the type's doc
// names. It is meant for tests of the workers (check every output of a
// handler) and for strict consumers; [New] does not call it, to keep
// publishing cheap for large payloads.
//
// The error wraps [ErrInvalid], [ErrUnknownType], [ErrKommune] or
// [ErrContentType].
func Check(e cloudevents.Event) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("check %s: %w: %w", e.Type(), ErrInvalid, err)
	}
	en, err := lookup(e.Type())
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if e.SpecVersion() != cloudevents.VersionV1 {
		return fmt.Errorf("check %s: %w: spec version %q, want %q", e.Type(), ErrInvalid, e.SpecVersion(), cloudevents.VersionV1)
	}
	if e.Time().IsZero() {
		return fmt.Errorf("check %s: %w: no time", e.Type(), ErrInvalid)
	}
	kommune, err := KommuneOf(e)
	if err != nil {
		return err
	}
	for name := range e.Extensions() {
		if !allowedExtensions[name] {
			return fmt.Errorf("check %s: %w: extension %q is not in the catalogue", e.Type(), ErrInvalid, name)
		}
	}
	if !en.accepts(e.DataMediaType()) {
		return fmt.Errorf("check %s: %w: %q", e.Type(), ErrContentType, e.DataContentType())
	}
	if ds := e.DataSchema(); ds != "" {
		if want, _ := SchemaID(e.Type()); ds != want {
			return fmt.Errorf("check %s: %w: dataschema %q, want %q", e.Type(), ErrInvalid, ds, want)
		}
	}
	if en.payload == bytesType {
		if len(e.Data()) == 0 {
			return fmt.Errorf("check %s: %w: no data", e.Type(), ErrInvalid)
		}
		return nil
	}
	schemas, err := compiled()
	if err != nil {
		return fmt.Errorf("check %s: %w", e.Type(), err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.Data()))
	if err != nil {
		return fmt.Errorf("check %s: %w: %w", e.Type(), ErrInvalid, err)
	}
	if err := schemas[e.Type()].Validate(v); err != nil {
		return fmt.Errorf("check %s: %w: %w", e.Type(), ErrInvalid, err)
	}
	obj := v.(map[string]any) // every schema requires an object
	if obj["kommune"] != kommune {
		return fmt.Errorf("check %s: %w: payload kommune %v, extension %s", e.Type(), ErrInvalid, obj["kommune"], kommune)
	}
	if key, _ := obj[en.key].(string); e.Subject() != key {
		return fmt.Errorf("check %s: %w: subject %q, want %s %q", e.Type(), ErrInvalid, e.Subject(), en.key, key)
	}
	return nil
}
