package bus

import (
	"context"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"

	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

// The tests in this file follow the CloudEvents NATS protocol binding 1.0.3
// (cloudevents/bindings/nats-protocol-binding.md); section numbers are its.

func decodeTest(t *testing.T, h nats.Header, body string) (cloudevents.Event, error) {
	t.Helper()
	return decode(context.Background(), h, []byte(body))
}

// TestEncodeWritesTheBindingsHeaders: 3.1.3.1 maps every attribute to a ce-
// header, datacontenttype and dataschema included; Nats-Msg-Id is the id;
// Content-Type is left to structured mode (section 3).
func TestEncodeWritesTheBindingsHeaders(t *testing.T) {
	e := newEvent(t, "id-1", "t.in", map[string]int{"n": 1})
	e.SetSubject("Euro € 😀")
	e.SetDataSchema("https://example.com/schemas/t.in.json")
	e.SetTime(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	e.SetExtension("kommune", "0101")
	msg, err := encode("t.in", e)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ce-specversion":     "1.0",
		"ce-id":              "id-1",
		"ce-source":          "/test",
		"ce-type":            "t.in",
		"ce-subject":         "Euro%20%E2%82%AC%20%F0%9F%98%80", // the binding's own example
		"ce-datacontenttype": "application/json",
		"ce-dataschema":      "https://example.com/schemas/t.in.json",
		"ce-time":            "2026-12-01T10:00:00Z",
		"ce-kommune":         "0101",
		"Nats-Msg-Id":        "id-1",
	}
	for name, v := range want {
		if got := msg.Header.Get(name); got != v {
			t.Errorf("header %s = %q, want %q", name, got, v)
		}
	}
	for name := range msg.Header {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected header %s = %q", name, msg.Header.Get(name))
		}
	}
	got, err := decode(context.Background(), msg.Header, msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != e.String() {
		t.Errorf("round trip:\n got %v\nwant %v", got, e)
	}
}

// TestDecodeBinaryHeaderNamesAnyCase: header names are case-insensitive
// (3.1.3.1); datacontenttype comes from ce-datacontenttype, else from
// Content-Type.
func TestDecodeBinaryHeaderNamesAnyCase(t *testing.T) {
	h := nats.Header{
		"Ce-Specversion":     {"1.0"},
		"CE-ID":              {"a1"},
		"Ce-Source":          {"/erp"},
		"ce-Type":            {"t.in"},
		"Ce-Datacontenttype": {"application/xml"},
		"Content-Type":       {"text/plain"},
		"CE-DATASCHEMA":      {"https://example.com/s.json"},
		"Ce-Kommune":         {"0101"},
		"Ce-Time":            {"2026-12-01T10:00:00.5+01:00"},
	}
	e, err := decodeTest(t, h, "<x/>")
	if err != nil {
		t.Fatal(err)
	}
	if e.ID() != "a1" || e.Source() != "/erp" || e.Type() != "t.in" || e.DataContentType() != "application/xml" ||
		e.DataSchema() != "https://example.com/s.json" || e.Extensions()["kommune"] != "0101" ||
		!e.Time().Equal(time.Date(2026, 12, 1, 9, 0, 0, 5e8, time.UTC)) || string(e.Data()) != "<x/>" {
		t.Errorf("decoded %v", e)
	}
	if len(e.FieldErrors) != 0 {
		t.Errorf("decoded event carries field errors %v", e.FieldErrors)
	}

	delete(h, "Ce-Datacontenttype")
	e, err = decodeTest(t, h, "x")
	if err != nil {
		t.Fatal(err)
	}
	if e.DataContentType() != "text/plain" {
		t.Errorf("datacontenttype from Content-Type = %q, want text/plain", e.DataContentType())
	}
	delete(h, "Content-Type")
	h["content-type"] = []string{"application/json;%20charset=utf-8"}
	if e, err = decodeTest(t, h, "{}"); err != nil || e.DataContentType() != "application/json; charset=utf-8" {
		t.Errorf("datacontenttype from content-type = %q, %v", e.DataContentType(), err)
	}
}

// TestDecodeHeaderValues: quoted strings are unescaped, then one round of
// percent-decoding, lower-case hex accepted, unnecessary escapes accepted
// (3.1.3.2).
func TestDecodeHeaderValues(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"Euro%20%E2%82%AC%20%F0%9F%98%80", "Euro € 😀"},
		{"Euro%20%e2%82%ac", "Euro €"},
		{"%41%42C", "ABC"},
		{`"Kærholm Kommune"`, "Kærholm Kommune"},
		{`"a \"quoted\" \\ word"`, `a "quoted" \ word`},
		{`x "y z" w`, "x y z w"},
		{`"100%25"`, "100%"},
		{"%2541", "%41"},           // a single round
		{"100% sure", "100% sure"}, // a malformed escape stays as sent (sdk-go does not encode)
		{"grå", "grå"},             // raw UTF-8, as sdk-go sends it
	} {
		h := binaryHeader()
		h["ce-subject"] = []string{c.raw}
		e, err := decodeTest(t, h, "")
		if err != nil {
			t.Errorf("ce-subject %q: %v", c.raw, err)
			continue
		}
		if e.Subject() != c.want {
			t.Errorf("ce-subject %q = %q, want %q", c.raw, e.Subject(), c.want)
		}
	}
}

func binaryHeader() nats.Header {
	return nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"a1"}, "ce-source": {"/erp"}, "ce-type": {"t.in"}}
}

// TestDecodeRefusesWithAReason: each way a message can fail the binding
// gives an error that says what was wrong, which becomes the dead letter's
// reason.
func TestDecodeRefusesWithAReason(t *testing.T) {
	with := func(name, value string) nats.Header {
		h := binaryHeader()
		h[name] = []string{value}
		return h
	}
	for _, c := range []struct {
		name string
		h    nats.Header
		body string
		want []string
	}{
		{"overlong UTF-8", with("Ce-Subject", "a%C0%A0b"), "", []string{"binary mode", "Ce-Subject", "not valid UTF-8", "0xc0"}},
		{"raw invalid UTF-8", with("ce-subject", "a\xffb"), "", []string{"ce-subject", "not valid UTF-8"}},
		{"unterminated quote", with("ce-subject", `"abc`), "", []string{"ce-subject", "closing double quote"}},
		{"two cases disagree", with("CE-ID", "other"), "", []string{"CE-ID", "ce-id", "different values"}},
		{"repeated header", nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"a", "b"}, "ce-source": {"/s"}, "ce-type": {"t"}}, "", []string{"ce-id", "2 times"}},
		{"bad extension name", with("ce-my-ext", "x"), "", []string{"ce-my-ext", "not a CloudEvents attribute name"}},
		{"bad dataschema", with("ce-dataschema", "http://a%20b/"), "", []string{"binary mode", "dataschema"}},
		{"bad time", with("ce-time", "yesterday"), "", []string{"ce-time"}},
		{"no specversion", nats.Header{"ce-id": {"a"}, "ce-source": {"/s"}, "ce-type": {"t"}}, "", []string{"no ce-specversion"}},
		{"old specversion", with("ce-specversion", "0.3"), "", []string{`"0.3"`}},
		{"missing attributes", nats.Header{"ce-specversion": {"1.0"}, "ce-type": {"t"}}, "", []string{"missing required attribute id, source"}},
		{"batched", nats.Header{"Content-Type": {"application/cloudevents-batch+json"}}, `[{"specversion":"1.0"}]`, []string{"batched mode", "application/cloudevents-batch+json"}},
		{"batched without header", nil, `[{"specversion":"1.0","id":"a","source":"/s","type":"t"}]`, []string{"batched mode", "JSON array"}},
		{"other format", nats.Header{"Content-Type": {"application/cloudevents+avro"}}, "x", []string{"avro", "only application/cloudevents+json"}},
		{"structured invalid UTF-8", nats.Header{"Content-Type": {"application/cloudevents+json"}}, "{\"specversion\":\"1.0\",\"id\":\"a\xc0\xa0\"}", []string{"structured mode", "not valid UTF-8", "offset 28"}},
		{"structured not JSON", nats.Header{"Content-Type": {"application/cloudevents+json"}}, "nope", []string{"structured mode"}},
		{"structured old specversion", nats.Header{"content-type": {"application/cloudevents+json"}}, `{"specversion":"0.3","id":"a","source":"/s","type":"t"}`, []string{"structured mode", `"0.3"`}},
		{"structured missing id", nats.Header{"content-type": {"application/cloudevents+json"}}, `{"specversion":"1.0","source":"/s","type":"t"}`, []string{"structured mode", "id"}},
		{"no event", nil, "not an event", []string{"not a CloudEvent", "no ce-* header"}},
		{"plain JSON", nats.Header{"Content-Type": {"application/json"}}, `{"specversion":"1.0"}`, []string{"not a CloudEvent", "application/json"}},
	} {
		_, err := decodeTest(t, c.h, c.body)
		if err == nil {
			t.Errorf("%s: decoded, want an error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.name, err, w)
			}
		}
	}
}

// TestDecodeStructured: Content-Type application/cloudevents+json (any case,
// with parameters), application/cloudevents, or no header at all and a JSON
// object with specversion (section 3; sdk-go sends structured mode so).
func TestDecodeStructured(t *testing.T) {
	body := `{"specversion":"1.0","id":"s1","source":"/erp","type":"t.in","subject":"Kærholm",` +
		`"datacontenttype":"application/json","dataschema":"https://example.com/s.json","kommune":"0101",` +
		`"time":"2026-12-01T10:00:00Z","data":{"n":1}}`
	for _, h := range []nats.Header{
		{"Content-Type": {"application/cloudevents+json"}},
		{"content-type": {"Application/CloudEvents+JSON; charset=utf-8"}},
		{"CONTENT-TYPE": {"application/cloudevents"}},
		nil,
		{"Nats-Msg-Id": {"s1"}},
	} {
		e, err := decodeTest(t, h, body)
		if err != nil {
			t.Errorf("%v: %v", h, err)
			continue
		}
		if e.ID() != "s1" || e.Subject() != "Kærholm" || e.DataContentType() != "application/json" ||
			e.DataSchema() != "https://example.com/s.json" || e.Extensions()["kommune"] != "0101" || string(e.Data()) != `{"n":1}` {
			t.Errorf("%v: decoded %v", h, e)
		}
	}
}

// TestUndecodableIsDeadLetteredWithTheReason: the runtime dead-letters a
// message the binding refuses at once, and the dead letter says why.
func TestUndecodableIsDeadLetteredWithTheReason(t *testing.T) {
	nc := natstest.Connect(t, natstest.Start(t))
	b := newBus(t, nc, testConfig("undecodable"))
	b.Handle("h", "t.in", EmitsOnly, func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) {
		t.Error("the handler got an undecodable message")
		return nil, nil
	})
	run(t, b)
	ctx := context.Background()
	overlong := nats.NewMsg("t.in")
	overlong.Header = binaryHeader()
	overlong.Header["Ce-Subject"] = []string{"%C0%A0"}
	batch := nats.NewMsg("t.in")
	batch.Header.Set("Content-Type", "application/cloudevents-batch+json")
	batch.Data = []byte(`[]`)
	for _, m := range []*nats.Msg{overlong, batch} {
		if _, err := b.js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	dlq := OpenDeadLetters(b.js, b.cfg)
	var letters []DeadLetter
	eventually(t, 10*time.Second, "two dead letters", func() bool {
		var err error
		letters, err = dlq.List(ctx, "undecodable", 10)
		return err == nil && len(letters) == 2
	})
	for i, want := range []string{"header Ce-Subject: value \"%C0%A0\" is not valid UTF-8", "batched mode (Content-Type: application/cloudevents-batch+json)"} {
		if dl := letters[i]; !strings.Contains(dl.Error, want) || dl.Deliveries != 1 || dl.EventErr == nil {
			t.Errorf("dead letter %d: error %q, %d deliveries, event error %v; want %q at the first delivery", i, dl.Error, dl.Deliveries, dl.EventErr, want)
		}
	}
}

// BenchmarkDecodeBinary decodes what encode writes for a worker's event.
func BenchmarkDecodeBinary(b *testing.B) {
	e := cloudevents.NewEvent()
	e.SetID("0b9f1c3e-5f0a-5d7e-9a51-4f3c2f1e8d7a")
	e.SetType("dk.kp.efaktura.document.validated.v1")
	e.SetSource("/efaktura/validate")
	e.SetSubject("5a1c0e9e-2f6b-5b1e-8c3d-7e9f0a1b2c3d")
	e.SetTime(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	e.SetExtension("kommune", "0101")
	e.SetExtension("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	e.SetDataContentType("application/json")
	e.DataEncoded = []byte(`{"n":1}`)
	msg, err := encode("t.in", e)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(context.Background(), msg.Header, msg.Data); err != nil {
			b.Fatal(err)
		}
	}
}
