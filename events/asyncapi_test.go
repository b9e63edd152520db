package events

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type asyncAPI struct {
	AsyncAPI string `yaml:"asyncapi"`
	Channels map[string]struct {
		Address    string         `yaml:"address"`
		Parameters map[string]any `yaml:"parameters"`
		Messages   map[string]ref `yaml:"messages"`
	} `yaml:"channels"`
	Operations map[string]struct {
		Action   string `yaml:"action"`
		Channel  ref    `yaml:"channel"`
		Messages []ref  `yaml:"messages"`
		Tags     []struct {
			Name string `yaml:"name"`
		} `yaml:"tags"`
	} `yaml:"operations"`
	Components struct {
		Messages map[string]struct {
			Name        string         `yaml:"name"`
			ContentType string         `yaml:"contentType"`
			Headers     map[string]any `yaml:"headers"`
			Payload     map[string]any `yaml:"payload"`
		} `yaml:"messages"`
		Schemas map[string]struct {
			Required   []string       `yaml:"required"`
			Properties map[string]any `yaml:"properties"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

type ref struct {
	Ref string `yaml:"$ref"`
}

func readAsyncAPI(t *testing.T) asyncAPI {
	t.Helper()
	b, err := os.ReadFile("asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc asyncAPI
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse asyncapi.yaml: %v", err)
	}
	return doc
}

func TestAsyncAPIMessages(t *testing.T) {
	doc := readAsyncAPI(t)
	if doc.AsyncAPI != "3.0.0" {
		t.Errorf("asyncapi = %q, want 3.0.0", doc.AsyncAPI)
	}
	byName := map[string]string{} // message name (the type) -> component id
	for id, m := range doc.Components.Messages {
		if prev, ok := byName[m.Name]; ok {
			t.Errorf("message name %q used by %s and %s, want once", m.Name, prev, id)
		}
		byName[m.Name] = id
	}
	if got, want := slices.Sorted(maps.Keys(byName)), slices.Sorted(slices.Values(Types())); !slices.Equal(got, want) {
		t.Errorf("message names = %v, want Types() = %v", got, want)
	}
	for _, typ := range Types() {
		m := doc.Components.Messages[byName[typ]]
		_, hasSchema := Schema(typ)
		payloadRef, _ := m.Payload["$ref"].(string)
		switch {
		case hasSchema:
			if want := "./" + schemaFile(typ); payloadRef != want {
				t.Errorf("message %s: payload $ref = %q, want %q", typ, payloadRef, want)
			}
			if _, err := schemaFS.ReadFile(strings.TrimPrefix(payloadRef, "./")); err != nil {
				t.Errorf("message %s: payload $ref %q: %v", typ, payloadRef, err)
			}
			if m.ContentType != ContentTypeJSON {
				t.Errorf("message %s: contentType = %q, want %q", typ, m.ContentType, ContentTypeJSON)
			}
		default:
			if payloadRef != "" || m.Payload["type"] != "string" || m.ContentType != ContentTypeXML {
				t.Errorf("message %s: payload %v, contentType %q, want an inline binary string as %s", typ, m.Payload, m.ContentType, ContentTypeXML)
			}
		}
		headers := yamlString(t, m.Headers)
		if !strings.Contains(headers, "const: "+typ) {
			t.Errorf("message %s: headers do not fix ce-type to the type", typ)
		}
		if id, ok := SchemaID(typ); ok {
			if got := headerConst(m.Headers, "ce-dataschema"); got != id {
				t.Errorf("message %s: headers fix ce-dataschema to %v, want the schema's $id %s", typ, got, id)
			}
		}
	}
}

// headerConst returns the const a message's headers give a header, in the
// allOf the messages use.
func headerConst(headers map[string]any, name string) any {
	all, _ := headers["allOf"].([]any)
	for _, part := range all {
		p, _ := part.(map[string]any)
		props, _ := p["properties"].(map[string]any)
		if h, ok := props[name].(map[string]any); ok {
			return h["const"]
		}
	}
	return nil
}

func yamlString(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAsyncAPIHeaders(t *testing.T) {
	doc := readAsyncAPI(t)
	h, ok := doc.Components.Schemas["cloudEventHeaders"]
	if !ok {
		t.Fatal("no components/schemas/cloudEventHeaders")
	}
	// Every attribute as the NATS binding maps it (ce-datacontenttype
	// too), and Nats-Msg-Id; no Content-Type, which the binding keeps for
	// structured mode.
	want := []string{"ce-specversion", "ce-id", "ce-type", "ce-source", "ce-subject", "ce-time",
		"ce-datacontenttype", "ce-dataschema", "ce-" + ExtensionKommune, "ce-traceparent", "ce-tracestate", "Nats-Msg-Id"}
	if got := slices.Sorted(maps.Keys(h.Properties)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("header properties = %v, want %v", got, want)
	}
	// Required: what CloudEvents requires and what the catalogue requires
	// of every event; not Nats-Msg-Id, which the binding does not ask for.
	required := []string{"ce-specversion", "ce-id", "ce-type", "ce-source", "ce-time", "ce-" + ExtensionKommune, "ce-datacontenttype"}
	if got := slices.Sorted(slices.Values(h.Required)); !slices.Equal(got, slices.Sorted(slices.Values(required))) {
		t.Errorf("required headers = %v, want %v", got, required)
	}
	for id, m := range doc.Components.Messages {
		if s := yamlString(t, m.Headers); !strings.Contains(s, "#/components/schemas/cloudEventHeaders") {
			t.Errorf("message %s: headers do not use cloudEventHeaders", id)
		}
	}
}

func TestAsyncAPIChannels(t *testing.T) {
	doc := readAsyncAPI(t)
	seen := map[string]bool{}
	for id, ch := range doc.Channels {
		if len(ch.Messages) != 1 {
			t.Errorf("channel %s has %d messages, want 1", id, len(ch.Messages))
			continue
		}
		if _, ok := ch.Parameters[ExtensionKommune]; !ok {
			t.Errorf("channel %s has no kommune parameter", id)
		}
		for _, r := range ch.Messages {
			mid, ok := strings.CutPrefix(r.Ref, "#/components/messages/")
			m, found := doc.Components.Messages[mid]
			if !ok || !found {
				t.Errorf("channel %s: message $ref %q points nowhere", id, r.Ref)
				continue
			}
			en, err := lookup(m.Name)
			if err != nil {
				t.Errorf("channel %s: %v", id, err)
				continue
			}
			if want := subjectPrefix + ".{kommune}." + en.subject; ch.Address != want {
				t.Errorf("channel %s: address = %q, want %q", id, ch.Address, want)
			}
			// The same pattern as Subject, with the parameter for the kommune.
			s, _ := Subject("0101", m.Name)
			if strings.Replace(s, ".0101.", ".{kommune}.", 1) != ch.Address {
				t.Errorf("channel %s: address %q is not Subject(kommune, %s) = %q", id, ch.Address, m.Name, s)
			}
			seen[m.Name] = true
		}
	}
	for _, typ := range Types() {
		if !seen[typ] {
			t.Errorf("no channel carries %s", typ)
		}
	}
}

// TestAsyncAPIOperations checks who publishes and who consumes each type.
func TestAsyncAPIOperations(t *testing.T) {
	want := map[string]struct {
		send    []string
		receive []string
	}{
		TypeBundleSubmitted:   {[]string{"submitter"}, []string{"ingest"}},
		TypeBundleReceived:    {[]string{"ingest"}, []string{"decide", "submitter"}},
		TypeBundleRejected:    {[]string{"ingest"}, []string{"decide", "submitter"}},
		TypeDocumentReceived:  {[]string{"ingest"}, []string{"decide", "validate"}},
		TypeDocumentValidated: {[]string{"validate"}, []string{"decide"}},
		TypeDocumentRejected:  {[]string{"validate"}, []string{"decide"}},
		TypeVerdictSubmitted:  {[]string{"admin"}, []string{"decide"}},
		TypeVerdictRefused:    {[]string{"decide"}, []string{"admin"}},
		TypeDocumentDecided:   {[]string{"decide"}, []string{"respond"}},
		TypeAnswerQueued:      {[]string{"respond"}, []string{"respond"}},
		TypeAnswerParked:      {[]string{"respond"}, []string{"decide"}},
		TypeAnswerDelivered:   {[]string{"respond"}, []string{"decide"}},
		TypeAnswerFailed:      {[]string{"respond"}, []string{"decide"}},
		TypeTenantChanged:     {[]string{"admin"}, []string{"ingest", "validate"}},
		TypeAgreementChanged:  {[]string{"admin"}, nil},
	}
	doc := readAsyncAPI(t)
	channelType := map[string]string{}
	for id, ch := range doc.Channels {
		for mid := range ch.Messages {
			channelType[id] = doc.Components.Messages[mid].Name
		}
	}
	senders, receivers := map[string][]string{}, map[string][]string{}
	for id, op := range doc.Operations {
		cid, _ := strings.CutPrefix(op.Channel.Ref, "#/channels/")
		typ, ok := channelType[cid]
		if !ok {
			t.Errorf("operation %s: channel $ref %q points nowhere", id, op.Channel.Ref)
			continue
		}
		if len(op.Tags) != 1 {
			t.Errorf("operation %s has %d tags, want 1 naming the service", id, len(op.Tags))
			continue
		}
		for _, m := range op.Messages {
			if !strings.HasPrefix(m.Ref, op.Channel.Ref+"/messages/") {
				t.Errorf("operation %s: message %q is not on its channel %q", id, m.Ref, op.Channel.Ref)
			}
		}
		switch op.Action {
		case "send":
			senders[typ] = append(senders[typ], op.Tags[0].Name)
		case "receive":
			receivers[typ] = append(receivers[typ], op.Tags[0].Name)
		default:
			t.Errorf("operation %s: action %q, want send or receive", id, op.Action)
		}
	}
	for _, typ := range Types() {
		w, ok := want[typ]
		if !ok {
			t.Errorf("no expected publisher for %s in this test", typ)
			continue
		}
		if got := slices.Sorted(slices.Values(senders[typ])); !slices.Equal(got, w.send) {
			t.Errorf("publishers of %s = %v, want %v", typ, got, w.send)
		}
		if got := slices.Sorted(slices.Values(receivers[typ])); !slices.Equal(got, w.receive) {
			t.Errorf("consumers of %s = %v, want %v", typ, got, w.receive)
		}
	}
}
