package telemetry

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/trace"
)

var traceparentRE = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)

func newEvent(t *testing.T, id, typ, subject string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetSource("/efaktura/test")
	e.SetType(typ)
	if subject != "" {
		e.SetSubject(subject)
	}
	if err := e.SetData(event.ApplicationJSON, map[string]string{"note": "payload 010190-1234 never on a span"}); err != nil {
		t.Fatal(err)
	}
	return e
}

func remoteContext(t *testing.T, state string) (context.Context, trace.SpanContext) {
	t.Helper()
	ts, err := trace.ParseTraceState(state)
	if err != nil {
		t.Fatal(err)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
	})
	return trace.ContextWithSpanContext(context.Background(), sc), sc
}

func TestInjectExtractEventRoundTrip(t *testing.T) {
	ctx, sc := remoteContext(t, "efaktura=1,vendor=x")
	e := newEvent(t, "id-1", "dk.efaktura.test", "")
	InjectEvent(ctx, &e)

	ext := e.Extensions()
	if got, want := ext["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"; got != want {
		t.Errorf("traceparent extension = %v, want %q", got, want)
	}
	if !traceparentRE.MatchString(ext["traceparent"].(string)) {
		t.Errorf("traceparent %q does not match %s", ext["traceparent"], traceparentRE)
	}
	if got, want := ext["tracestate"], "efaktura=1,vendor=x"; got != want {
		t.Errorf("tracestate extension = %v, want %q", got, want)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("event with trace extensions does not validate: %v", err)
	}

	// Through the structured JSON encoding, as a receiver would see it.
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var got event.Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	out := trace.SpanContextFromContext(ExtractEvent(context.Background(), got))
	if !out.IsRemote() {
		t.Errorf("extracted span context is not remote")
	}
	if !out.Equal(sc.WithRemote(true)) {
		t.Errorf("ExtractEvent = %v, want %v", out, sc)
	}
}

func TestInjectEventRemovesStaleContext(t *testing.T) {
	ctx, _ := remoteContext(t, "a=b")
	e := newEvent(t, "id-1", "dk.efaktura.test", "")
	InjectEvent(ctx, &e)

	// A span context without trace state removes the old tracestate.
	ctx2, _ := remoteContext(t, "")
	InjectEvent(ctx2, &e)
	if _, ok := e.Extensions()["tracestate"]; ok {
		t.Errorf("tracestate = %v after injecting a context without one, want none", e.Extensions()["tracestate"])
	}

	// No span: both go.
	InjectEvent(context.Background(), &e)
	if ext := e.Extensions(); len(ext) != 0 {
		t.Errorf("extensions = %v after injecting an empty context, want none", ext)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("event does not validate: %v", err)
	}
}

func TestExtractEventIgnoresBadContext(t *testing.T) {
	tests := []struct {
		name        string
		traceparent any
		tracestate  any
	}{
		{name: "none"},
		{name: "garbage", traceparent: "not a traceparent"},
		{name: "short trace id", traceparent: "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01"},
		{name: "zero trace id", traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
		{name: "zero span id", traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},
		{name: "upper case", traceparent: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"},
		{name: "version ff", traceparent: "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{name: "tracestate alone", tracestate: "a=b"},
		{name: "not a string", traceparent: 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent(t, "id-1", "dk.efaktura.test", "")
			if tt.traceparent != nil {
				e.SetExtension("traceparent", tt.traceparent)
			}
			if tt.tracestate != nil {
				e.SetExtension("tracestate", tt.tracestate)
			}
			ctx := context.WithValue(context.Background(), keptKey{}, "kept")
			got := ExtractEvent(ctx, e)
			if got != ctx {
				t.Errorf("ExtractEvent with traceparent %v returned a new context carrying %v, want ctx unchanged",
					tt.traceparent, trace.SpanContextFromContext(got))
			}
		})
	}
}

func TestInjectEventZeroEvent(t *testing.T) {
	ctx, _ := remoteContext(t, "")
	InjectEvent(ctx, nil)            // must not panic
	InjectEvent(ctx, &event.Event{}) // no context: must not panic
	if got := ExtractEvent(context.Background(), event.Event{}); trace.SpanContextFromContext(got).IsValid() {
		t.Errorf("ExtractEvent(zero event) carries a span context")
	}
}

// keptKey marks a context so a test can tell it was returned unchanged.
type keptKey struct{}

func TestParseTraceParent(t *testing.T) {
	sc := ParseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if !sc.IsValid() || !sc.IsRemote() || sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		sc.SpanID().String() != "00f067aa0ba902b7" || !sc.IsSampled() {
		t.Errorf("ParseTraceParent = %+v", sc)
	}
	for _, bad := range []string{"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"} {
		if sc := ParseTraceParent(bad); sc.IsValid() {
			t.Errorf("ParseTraceParent(%q) = %+v; want invalid", bad, sc)
		}
	}
}
