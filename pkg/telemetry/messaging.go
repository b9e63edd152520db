package telemetry

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"runtime"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of the spans this package starts.
const ScopeName = "github.com/kp-efaktura/efaktura/pkg/telemetry"

// MessagingSystem is the messaging.system value. NATS is not in the
// registered list of the semantic conventions; "nats" is what community
// instrumentations use.
const MessagingSystem = "nats"

// DeliveryCountKey is the attribute for how many times JetStream has
// delivered the message, this delivery included. The semantic conventions
// have no system-independent attribute for it; the name follows the
// registered messaging.servicebus.message.delivery_count.
const DeliveryCountKey = attribute.Key("messaging.nats.message.delivery_count")

// Destination is where a message goes or came from, as the messaging
// conventions describe it on a span.
type Destination struct {
	// Name is the subject: messaging.destination.name.
	Name string
	// Template is the subject with its ids replaced by placeholders, e.g.
	// efaktura.{kommune}.document.received: messaging.destination.template,
	// and the span name's destination. Empty when Name holds no id.
	Template string
	// ServerAddress and ServerPort are the NATS server the client is
	// connected to: server.address and server.port; left out when empty or
	// 0.
	ServerAddress string
	ServerPort    int
}

// spanName is "<operation> <destination>": the template, so that a span
// name never holds a kommune code or an id.
func (d Destination) spanName(operation string) string {
	if d.Template != "" {
		return operation + " " + d.Template
	}
	return operation + " " + d.Name
}

// appendAttrs appends d's attributes to attrs.
func (d Destination) appendAttrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	attrs = append(attrs, semconv.MessagingDestinationName(d.Name))
	if d.Template != "" {
		attrs = append(attrs, semconv.MessagingDestinationTemplate(d.Template))
	}
	if d.ServerAddress != "" {
		attrs = append(attrs, semconv.ServerAddress(d.ServerAddress))
	}
	if d.ServerPort > 0 {
		attrs = append(attrs, semconv.ServerPort(d.ServerPort))
	}
	return attrs
}

// StartPublish starts a PRODUCER span named "send <destination template>"
// as a child of the span in ctx (if any) and injects its context into e,
// which the caller then publishes: e's creation context is this span, as
// the messaging conventions want of a "send" PRODUCER span. Attributes:
// messaging.operation.type and .name "send", messaging.system "nats",
// messaging.destination.name and .template, server.address and .port,
// messaging.message.id and cloudevents.event_id the event id,
// cloudevents.event_type, and cloudevents.event_subject when set. Never the
// event data.
//
// A nil tp starts no recording span but still propagates the trace of ctx.
// The returned span masks CPR numbers in whatever is set on it later (see
// the package documentation); the returned context holds it. The caller
// ends the span once the broker has acked (or refused) the message.
func StartPublish(ctx context.Context, tp trace.TracerProvider, dest Destination, e *event.Event) (context.Context, trace.Span) {
	attrs := dest.appendAttrs(append(make([]attribute.KeyValue, 0, maxMessagingAttrs),
		semconv.MessagingOperationTypeSend,
		semconv.MessagingOperationName("send"),
		semconv.MessagingSystemKey.String(MessagingSystem)))
	if e != nil {
		attrs = appendEventAttrs(attrs, *e)
	}
	ctx, span := start(ctx, tp, dest.spanName("send"), trace.SpanKindProducer, attrs)
	InjectEvent(ctx, e)
	return ctx, span
}

// StartProcess starts a CONSUMER span named "process <destination
// template>" for handling one delivered event. It continues the producer's
// trace: the span context extracted from e is the parent, which the
// conventions allow for single-message processing, and also a link, which
// is what they recommend in general (so tools that follow only links still
// find the producer). When ctx already holds a span, that ambient span is
// linked too. Without a valid trace context in e, the span is a child of
// ctx's span, or a new root.
//
// Attributes: messaging.operation.type and .name "process",
// messaging.system "nats", messaging.destination.name and .template,
// server.address and .port, messaging.consumer.group.name the durable
// consumer (when not empty), messaging.message.id and cloudevents.event_id
// the event id, cloudevents.event_type, cloudevents.event_subject when set,
// and [DeliveryCountKey] when deliveries > 0. Never the event data.
//
// A nil tp starts no recording span but still propagates the producer's
// trace. The returned span masks CPR numbers as [StartPublish]'s does.
func StartProcess(ctx context.Context, tp trace.TracerProvider, dest Destination, consumer string, e event.Event, deliveries uint64) (context.Context, trace.Span) {
	attrs := dest.appendAttrs(append(make([]attribute.KeyValue, 0, maxMessagingAttrs),
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingSystemKey.String(MessagingSystem)))
	if consumer != "" {
		attrs = append(attrs, semconv.MessagingConsumerGroupName(consumer))
	}
	attrs = appendEventAttrs(attrs, e)
	if deliveries > 0 {
		attrs = append(attrs, DeliveryCountKey.Int64(int64(min(deliveries, math.MaxInt64))))
	}
	// Extract into an empty context: extracting into ctx would return ctx's
	// own span when e carries nothing, and we would link it as the producer.
	var links []trace.Link
	producer := trace.SpanContextFromContext(ExtractEvent(context.Background(), e))
	if producer.IsValid() {
		links = append(links, trace.Link{SpanContext: producer})
		if ambient := trace.SpanContextFromContext(ctx); ambient.IsValid() && !ambient.Equal(producer) {
			links = append(links, trace.Link{SpanContext: ambient})
		}
		ctx = trace.ContextWithRemoteSpanContext(ctx, producer)
	}
	return start(ctx, tp, dest.spanName("process"), trace.SpanKindConsumer, attrs, links...)
}

// maxMessagingAttrs is the most attributes StartProcess sets: one slice of
// this size per span, not one per group of attributes grown again and again
// (a span per event published and per event processed).
const maxMessagingAttrs = 13

// appendEventAttrs appends the identifiers of e that go on a span; never
// its data.
func appendEventAttrs(attrs []attribute.KeyValue, e event.Event) []attribute.KeyValue {
	if e.Context == nil {
		return attrs
	}
	if id := e.ID(); id != "" {
		attrs = append(attrs, semconv.MessagingMessageID(id), semconv.CloudEventsEventID(id))
	}
	if t := e.Type(); t != "" {
		attrs = append(attrs, semconv.CloudEventsEventType(t))
	}
	if s := e.Subject(); s != "" {
		attrs = append(attrs, semconv.CloudEventsEventSubject(s))
	}
	return attrs
}

// start starts a span with its name and attributes masked and returns it
// wrapped, also in ctx, so that what callers add later is masked too.
func start(ctx context.Context, tp trace.TracerProvider, name string, kind trace.SpanKind, attrs []attribute.KeyValue, links ...trace.Link) (context.Context, trace.Span) {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	ctx, span := tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)).Start(ctx, mask(name),
		trace.WithSpanKind(kind), trace.WithAttributes(maskAttrs(attrs)...), trace.WithLinks(links...))
	span = maskingSpan{span}
	return trace.ContextWithSpan(ctx, span), span
}

// maskingSpan passes every string set on the span through mask.
type maskingSpan struct{ trace.Span }

func (s maskingSpan) SetName(name string) { s.Span.SetName(mask(name)) }

func (s maskingSpan) SetStatus(code codes.Code, description string) {
	s.Span.SetStatus(code, mask(description))
}

func (s maskingSpan) SetAttributes(kv ...attribute.KeyValue) { s.Span.SetAttributes(maskAttrs(kv)...) }

func (s maskingSpan) AddLink(link trace.Link) {
	link.Attributes = maskAttrs(link.Attributes)
	s.Span.AddLink(link)
}

func (s maskingSpan) AddEvent(name string, opts ...trace.EventOption) {
	s.Span.AddEvent(mask(name), maskEventOptions(opts, nil)...)
}

// RecordError records err as an exception event, as the SDK does, but with
// the message masked.
func (s maskingSpan) RecordError(err error, opts ...trace.EventOption) {
	if err == nil || !s.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{semconv.ExceptionType(typeName(err)), semconv.ExceptionMessage(err.Error())}
	if cfg := trace.NewEventConfig(opts...); cfg.StackTrace() {
		buf := make([]byte, 2048)
		attrs = append(attrs, semconv.ExceptionStacktrace(string(buf[:runtime.Stack(buf, false)])))
	}
	s.Span.AddEvent(semconv.ExceptionEventName, maskEventOptions(opts, attrs)...)
}

// maskEventOptions rebuilds opts with extra attributes added and every
// attribute masked. Options it does not know (experimental ones) pass as
// they are.
func maskEventOptions(opts []trace.EventOption, extra []attribute.KeyValue) []trace.EventOption {
	if len(opts) == 0 && len(extra) == 0 {
		return nil
	}
	cfg := trace.NewEventConfig(opts...)
	var out []trace.EventOption
	for _, o := range opts {
		if _, ok := o.(interface{ Experimental() }); ok {
			out = append(out, o)
		}
	}
	attrs := append(extra, cfg.Attributes()...)
	return append(out,
		trace.WithAttributes(maskAttrs(attrs)...),
		trace.WithTimestamp(cfg.Timestamp()),
		trace.WithStackTrace(cfg.StackTrace()),
	)
}

// typeName is the exception.type the SDK would record for err.
func typeName(err error) string {
	t := reflect.TypeOf(err)
	if t.PkgPath() == "" && t.Name() == "" {
		return t.String()
	}
	return fmt.Sprintf("%s.%s", t.PkgPath(), t.Name())
}
