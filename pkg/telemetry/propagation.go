package telemetry

import (
	"context"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The CloudEvents distributed-tracing extension attributes. Extension names
// are lower case; in binary mode they travel as ce-traceparent and
// ce-tracestate headers.
const (
	TraceParentExtension = "traceparent"
	TraceStateExtension  = "tracestate"
)

// traceContext is the W3C propagator, used directly rather than through
// otel.GetTextMapPropagator so that what goes into an event does not depend
// on global state.
var traceContext propagation.TraceContext

// InjectEvent writes the span context of ctx into e's traceparent and
// tracestate extensions, replacing any that are there. When ctx holds no
// valid span context both extensions are removed, so an event built from
// another event never carries a stale parent. A nil e, or one without a
// context (not made with cloudevents.NewEvent), is left alone.
func InjectEvent(ctx context.Context, e *event.Event) {
	if e == nil || e.Context == nil {
		return
	}
	e.SetExtension(TraceParentExtension, nil) // nil deletes
	e.SetExtension(TraceStateExtension, nil)
	traceContext.Inject(ctx, eventCarrier{e})
}

// ExtractEvent returns ctx carrying, as its remote parent, the span context
// found in e's traceparent and tracestate extensions. It returns ctx
// unchanged when e has no traceparent or a malformed one.
func ExtractEvent(ctx context.Context, e event.Event) context.Context {
	return traceContext.Extract(ctx, eventCarrier{&e})
}

// eventCarrier is a propagation.TextMapCarrier over a CloudEvent's
// extensions. Extract only reads through it: Event copies share their
// context.
type eventCarrier struct{ e *event.Event }

var _ propagation.TextMapCarrier = eventCarrier{}

func (c eventCarrier) Get(key string) string {
	if c.e.Context == nil {
		return ""
	}
	// GetExtension, not Extensions, which copies the map on every call
	// (three times per event processed).
	v, err := c.e.Context.GetExtension(key)
	if err != nil {
		return ""
	}
	s, err := types.ToString(v)
	if err != nil {
		return ""
	}
	return s
}

func (c eventCarrier) Set(key, value string) {
	c.e.SetExtension(strings.ToLower(key), value)
}

func (c eventCarrier) Keys() []string {
	ext := c.e.Extensions()
	keys := make([]string, 0, len(ext))
	for k := range ext {
		keys = append(keys, k)
	}
	return keys
}

// ParseTraceParent returns the span context a W3C traceparent value
// names, remote; an invalid span context for a malformed one.
func ParseTraceParent(traceparent string) trace.SpanContext {
	ctx := traceContext.Extract(context.Background(), propagation.MapCarrier{TraceParentExtension: traceparent})
	return trace.SpanContextFromContext(ctx)
}
