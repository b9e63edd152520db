package telemetry

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func startRecording(t *testing.T) (*Providers, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	p, err := Start(context.Background(), Config{ServiceName: "test"}, env(), WithSpanExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, p) })
	return p, exp
}

// transport sends e through the structured JSON encoding, as the bus would
// carry it, so that nothing but the event's own attributes survives.
func transport(t *testing.T, e event.Event) event.Event {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var got event.Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestThreeHops: ingest publishes, validate processes and publishes, decide
// processes and publishes, respond processes. One trace; each process span is
// a child of the producer span before it and links to it.
func TestThreeHops(t *testing.T) {
	p, exp := startRecording(t)
	tp := p.TracerProvider

	type hop struct{ subject, template, consumer, id, typ, docID string }
	hops := []hop{
		{"efaktura.0101.document.received", "efaktura.{kommune}.document.received", "validate-received", "9d1c7b0e-2f4a-4c8e-9b1a-3c5d7e9f0a12", "dk.efaktura.document.received", "doc-1"},
		{"efaktura.0101.document.validated", "efaktura.{kommune}.document.validated", "decide-validated", "id-2", "dk.efaktura.document.validated", "doc-1"},
		{"efaktura.decided", "", "respond-decided", "id-3", "dk.efaktura.document.decided", ""},
	}

	ctx := context.Background()
	for i, h := range hops {
		e := newEvent(t, h.id, h.typ, h.docID)
		var pub trace.Span
		dest := Destination{Name: h.subject, Template: h.template, ServerAddress: "127.0.0.1", ServerPort: 4222}
		_, pub = StartPublish(ctx, tp, dest, &e)
		if got, want := e.Extensions()["traceparent"], traceparent(pub.SpanContext()); got != want {
			t.Errorf("hop %d: traceparent = %v, want the producer span's %q", i, got, want)
		}
		pub.End()
		if i > 0 {
			trace.SpanFromContext(ctx).End() // the previous process span
		}
		ctx, _ = StartProcess(context.Background(), tp, dest, h.consumer, transport(t, e), uint64(i+1))
	}
	trace.SpanFromContext(ctx).End()

	spans := exp.GetSpans()
	if len(spans) != 2*len(hops) {
		t.Fatalf("got %d spans, want %d: %v", len(spans), 2*len(hops), names(spans))
	}
	byName := make(map[string]tracetest.SpanStub)
	for _, s := range spans {
		byName[s.Name] = s
	}
	traceID := spans[0].SpanContext.TraceID()
	var prevProcess tracetest.SpanStub
	for i, h := range hops {
		// The template names the span, so no kommune code is in it.
		destination := cmp.Or(h.template, h.subject)
		pub, ok := byName["send "+destination]
		if !ok {
			t.Fatalf("no span %q in %v", "send "+destination, names(spans))
		}
		proc, ok := byName["process "+destination]
		if !ok {
			t.Fatalf("no span %q in %v", "process "+destination, names(spans))
		}
		for _, s := range []tracetest.SpanStub{pub, proc} {
			if s.SpanContext.TraceID() != traceID {
				t.Errorf("%s: trace id %s, want %s (one trace across the hops)", s.Name, s.SpanContext.TraceID(), traceID)
			}
		}
		if pub.SpanKind != trace.SpanKindProducer {
			t.Errorf("%s: kind %v, want producer", pub.Name, pub.SpanKind)
		}
		if proc.SpanKind != trace.SpanKindConsumer {
			t.Errorf("%s: kind %v, want consumer", proc.Name, proc.SpanKind)
		}
		if i == 0 {
			if pub.Parent.IsValid() {
				t.Errorf("%s: parent %s, want a root span", pub.Name, pub.Parent.SpanID())
			}
		} else if pub.Parent.SpanID() != prevProcess.SpanContext.SpanID() {
			t.Errorf("%s: parent %s, want the process span %s", pub.Name, pub.Parent.SpanID(), prevProcess.SpanContext.SpanID())
		}
		if proc.Parent.SpanID() != pub.SpanContext.SpanID() || !proc.Parent.IsRemote() {
			t.Errorf("%s: parent %v, want the remote producer span %s", proc.Name, proc.Parent, pub.SpanContext.SpanID())
		}
		if len(proc.Links) != 1 || !proc.Links[0].SpanContext.Equal(pub.SpanContext.WithRemote(true)) {
			t.Errorf("%s: links %v, want one to the producer span %s", proc.Name, proc.Links, pub.SpanContext.SpanID())
		}

		wantPub := []attribute.KeyValue{
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.operation.name", "send"),
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", h.subject),
			attribute.String("server.address", "127.0.0.1"),
			attribute.Int("server.port", 4222),
			attribute.String("messaging.message.id", h.id),
			attribute.String("cloudevents.event_id", h.id),
			attribute.String("cloudevents.event_type", h.typ),
		}
		wantProc := []attribute.KeyValue{
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.operation.name", "process"),
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", h.subject),
			attribute.String("server.address", "127.0.0.1"),
			attribute.Int("server.port", 4222),
			attribute.String("messaging.consumer.group.name", h.consumer),
			attribute.String("messaging.message.id", h.id),
			attribute.String("cloudevents.event_id", h.id),
			attribute.String("cloudevents.event_type", h.typ),
			attribute.Int64("messaging.nats.message.delivery_count", int64(i+1)),
		}
		if h.template != "" {
			wantPub = append(wantPub, attribute.String("messaging.destination.template", h.template))
			wantProc = append(wantProc, attribute.String("messaging.destination.template", h.template))
		}
		if h.docID != "" {
			wantPub = append(wantPub, attribute.String("cloudevents.event_subject", h.docID))
			wantProc = append(wantProc, attribute.String("cloudevents.event_subject", h.docID))
		}
		checkAttrs(t, pub, wantPub)
		checkAttrs(t, proc, wantProc)
		prevProcess = proc
	}
}

func traceparent(sc trace.SpanContext) string {
	return fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags())
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func checkAttrs(t *testing.T, s tracetest.SpanStub, want []attribute.KeyValue) {
	t.Helper()
	got, wantSet := attribute.NewSet(s.Attributes...), attribute.NewSet(want...)
	if !got.Equals(&wantSet) {
		t.Errorf("%s: attributes\n got  %s\n want %s", s.Name, got.Encoded(attribute.DefaultEncoder()), wantSet.Encoded(attribute.DefaultEncoder()))
	}
}

func TestStartProcessWithoutTraceContext(t *testing.T) {
	p, exp := startRecording(t)
	e := newEvent(t, "id-1", "dk.efaktura.test", "")

	// No ambient span: a new root, no links.
	_, span := StartProcess(context.Background(), p.TracerProvider, Destination{Name: "s"}, "c", e, 1)
	span.End()
	// An ambient span and no trace context in the event: its child.
	actx, ambient := p.TracerProvider.Tracer("test").Start(context.Background(), "fetch")
	_, child := StartProcess(actx, p.TracerProvider, Destination{Name: "s"}, "c", e, 1)
	child.End()
	ambient.End()

	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("got %d spans, want 3", len(spans))
	}
	if root := spans[0]; root.Parent.IsValid() || len(root.Links) != 0 {
		t.Errorf("process span without context: parent %v, links %v; want a root without links", root.Parent, root.Links)
	}
	if c := spans[1]; c.Parent.SpanID() != ambient.SpanContext().SpanID() || len(c.Links) != 0 {
		t.Errorf("process span under an ambient span: parent %v, links %v; want the ambient span, no links", c.Parent, c.Links)
	}
}

func TestStartProcessLinksAmbientSpan(t *testing.T) {
	p, exp := startRecording(t)
	e := newEvent(t, "id-1", "dk.efaktura.test", "")
	_, pub := StartPublish(context.Background(), p.TracerProvider, Destination{Name: "s"}, &e)
	pub.End()

	actx, ambient := p.TracerProvider.Tracer("test").Start(context.Background(), "fetch")
	_, proc := StartProcess(actx, p.TracerProvider, Destination{Name: "s"}, "c", e, 1)
	proc.End()
	ambient.End()

	got := exp.GetSpans()[1]
	if got.Parent.SpanID() != pub.SpanContext().SpanID() {
		t.Errorf("parent %s, want the producer %s", got.Parent.SpanID(), pub.SpanContext().SpanID())
	}
	if len(got.Links) != 2 || got.Links[0].SpanContext.SpanID() != pub.SpanContext().SpanID() ||
		got.Links[1].SpanContext.SpanID() != ambient.SpanContext().SpanID() {
		t.Errorf("links %v, want the producer then the ambient span", got.Links)
	}
}

// TestNilTracerProviderPropagates: without an SDK the trace still flows
// from event to event.
func TestNilTracerProviderPropagates(t *testing.T) {
	ctx, sc := remoteContext(t, "")
	e1 := newEvent(t, "id-1", "dk.efaktura.test", "")
	InjectEvent(ctx, &e1)

	pctx, proc := StartProcess(context.Background(), nil, Destination{Name: "s"}, "c", e1, 1)
	if proc.IsRecording() {
		t.Errorf("span of a nil provider is recording")
	}
	e2 := newEvent(t, "id-2", "dk.efaktura.test", "")
	_, pub := StartPublish(pctx, nil, Destination{Name: "t"}, &e2)
	pub.End()
	proc.End()
	if got, want := e2.Extensions()["traceparent"], traceparent(sc); got != want {
		t.Errorf("traceparent after two hops without an SDK = %v, want %q", got, want)
	}
}

// TestSpansMaskCPR: whatever is set on the spans the helpers return goes
// through cpr.Mask, and random ids are left alone.
func TestSpansMaskCPR(t *testing.T) {
	p, exp := startRecording(t)
	const uuidLikeCPR = "ab010190-1234-4abc-8def-0123456789ab" // contains "010190-1234"
	e := newEvent(t, uuidLikeCPR, "dk.efaktura.test", "0101901234")
	ctx, span := StartPublish(context.Background(), p.TracerProvider, Destination{Name: "efaktura.cpr.0101901234"}, &e)
	span.SetAttributes(
		attribute.String("note", "for 010190-1234"),
		attribute.StringSlice("list", []string{"ok", "0101901234"}),
		attribute.Int("count", 3),
		attribute.Map("nested", attribute.String("inner", "0101901234")),
		attribute.Slice("slice", attribute.StringValue("x 0101901234")),
	)
	span.SetName("renamed 0101901234")
	span.AddEvent("saw 0101901234", trace.WithAttributes(attribute.String("why", "010190-1234")))
	span.AddLink(trace.Link{SpanContext: span.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("l", "0101901234")}})
	span.RecordError(errors.New("cpr 0101901234 is invalid"), trace.WithStackTrace(true))
	span.SetStatus(codes.Error, "bad 010190-1234")
	// A handler adding attributes to the span it finds in ctx is masked too.
	trace.SpanFromContext(ctx).SetAttributes(attribute.String("from.ctx", "0101901234"))
	span.End()

	s := exp.GetSpans()[0]
	var all []string
	all = append(all, s.Name, s.Status.Description)
	collect := func(kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			all = append(all, kv.Value.String())
		}
	}
	collect(s.Attributes)
	for _, ev := range s.Events {
		all = append(all, ev.Name)
		collect(ev.Attributes)
	}
	for _, l := range s.Links {
		collect(l.Attributes)
	}
	for _, v := range all {
		if v != uuidLikeCPR && (strings.Contains(v, "0101901234") || strings.Contains(v, "010190-1234")) {
			t.Errorf("span carries a CPR number: %q", v)
		}
	}

	if s.Name != "renamed XXXXXXXXXX" {
		t.Errorf("name = %q, want %q", s.Name, "renamed XXXXXXXXXX")
	}
	attrs := attribute.NewSet(s.Attributes...)
	for _, want := range []attribute.KeyValue{
		attribute.String("messaging.message.id", uuidLikeCPR),
		attribute.String("cloudevents.event_subject", "XXXXXXXXXX"),
		attribute.String("messaging.destination.name", "efaktura.cpr.XXXXXXXXXX"),
		attribute.String("note", "for XXXXXX-XXXX"),
		attribute.StringSlice("list", []string{"ok", "XXXXXXXXXX"}),
		attribute.Int("count", 3),
		attribute.String("from.ctx", "XXXXXXXXXX"),
	} {
		if got, _ := attrs.Value(want.Key); got != want.Value {
			t.Errorf("attribute %s = %s, want %s", want.Key, got.String(), want.Value.String())
		}
	}
	var exc sdktrace.Event
	for _, ev := range s.Events {
		if ev.Name == "exception" {
			exc = ev
		}
	}
	eattrs := attribute.NewSet(exc.Attributes...)
	if got, _ := eattrs.Value("exception.message"); got.AsString() != "cpr XXXXXXXXXX is invalid" {
		t.Errorf("exception.message = %q, want the masked error text", got.AsString())
	}
	if got, _ := eattrs.Value("exception.type"); got.AsString() != "*errors.errorString" {
		t.Errorf("exception.type = %q, want %q as the SDK records it", got.AsString(), "*errors.errorString")
	}
	if got, _ := eattrs.Value("exception.stacktrace"); !strings.Contains(got.AsString(), "goroutine") {
		t.Errorf("exception.stacktrace = %q, want a stack trace (WithStackTrace)", got.AsString())
	}
	if s.Status.Code != codes.Error || s.Status.Description != "bad XXXXXX-XXXX" {
		t.Errorf("status = %v, want Error %q", s.Status, "bad XXXXXX-XXXX")
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"cpr 010190-1234", "cpr XXXXXX-XXXX"},
		{"0101901234", "XXXXXXXXXX"},
		{"ab010190-1234-4abc-8def-0123456789ab", "ab010190-1234-4abc-8def-0123456789ab"}, // UUID
		{"AB010190-1234-4ABC-8DEF-0123456789AB", "AB010190-1234-4ABC-8DEF-0123456789AB"}, // UUID, upper case
		{"ab0101901234cdef0123456789abcdef", "ab0101901234cdef0123456789abcdef"},         // trace id
		{"ab0101901234cdef", "ab0101901234cdef"},                                         // span id
		{"xb010190-1234-4abc-8def-0123456789ab", "xbXXXXXX-XXXX-4abc-8def-0123456789ab"}, // not hex: not a UUID; 012345 is no date
		{"AB0101901234CDEF", "ABXXXXXXXXXXCDEF"},                                         // ids are lower case
		{"id ab010190-1234-4abc-8def-0123456789ab", "id abXXXXXX-XXXX-4abc-8def-0123456789ab"},
	}
	for _, tt := range tests {
		if got := mask(tt.in); got != tt.want {
			t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
