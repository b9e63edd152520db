package bus

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

// TestTraceContinuesAcrossThreeHops follows one event through three
// handlers: every span belongs to the trace the first publisher started,
// each process span is the child of the publish that sent its input, and
// each publish the child of the process that made it.
func TestTraceContinuesAcrossThreeHops(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	ctx := context.Background()
	tel, err := telemetry.Start(ctx, telemetry.Config{ServiceName: "bus-test"}, func(string) string { return "" }, telemetry.WithSpanExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tel.Shutdown(context.Background()) })
	nc := natstest.Connect(t, natstest.Start(t))
	// A template keeps ids out of span names; here it only marks them.
	template := func(subject string) string { return subject + ".{tmpl}" }
	b := newBus(t, nc, testConfig("trace"), WithTelemetry(tel), WithSubjectTemplate(template))
	b.Handle("a", "t.1", EmitsOnly, forward("t.2"))
	b.Handle("b", "t.2", EmitsOnly, forward("t.3"))
	b.Handle("c", "t.3", EmitsOnly, forward("t.4"))
	run(t, b)

	rootCtx, root := tel.TracerProvider.Tracer("test").Start(ctx, "ingest request")
	if err := b.Publish(rootCtx, newEvent(t, "trace-1", "t.1", map[string]string{"x": "y"})); err != nil {
		t.Fatal(err)
	}
	root.End()
	eventually(t, 10*time.Second, "three process spans", func() bool {
		n := 0
		for _, s := range exp.GetSpans() {
			if s.SpanKind == trace.SpanKindConsumer {
				n++
			}
		}
		return n == 3
	})
	spans := exp.GetSpans()
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
		if s.SpanContext.TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %q is in trace %s, want the ingest trace %s", s.Name, s.SpanContext.TraceID(), root.SpanContext().TraceID())
		}
	}
	host, port, _ := net.SplitHostPort(nc.ConnectedAddr())
	for _, subject := range []string{"t.1", "t.2", "t.3"} {
		var proc *tracetest.SpanStub
		for i, s := range spans {
			if s.Name == "process "+template(subject) {
				proc = &spans[i]
			}
		}
		if proc == nil {
			t.Fatalf("no span %q among %d spans", "process "+template(subject), len(spans))
		}
		parent, ok := byID[proc.Parent.SpanID()]
		if !ok || parent.SpanKind != trace.SpanKindProducer || parent.Name != "send "+template(subject) {
			t.Errorf("parent of %q is %q (kind %v), want the producer span %q", proc.Name, parent.Name, parent.SpanKind, "send "+template(subject))
		}
		for _, s := range []tracetest.SpanStub{*proc, parent} {
			attrs := attribute.NewSet(s.Attributes...)
			for key, want := range map[attribute.Key]string{
				"messaging.destination.name": subject, "messaging.destination.template": template(subject),
				"server.address": host, "server.port": port,
			} {
				if v, _ := attrs.Value(key); v.String() != want {
					t.Errorf("%s: %s = %q; want %q", s.Name, key, v.String(), want)
				}
			}
		}
		if len(proc.Links) == 0 || proc.Links[0].SpanContext.SpanID() != proc.Parent.SpanID() {
			t.Errorf("%q does not link its producer", proc.Name)
		}
	}

	// The same run shows in /metrics.
	rec := httptest.NewRecorder()
	tel.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{`efaktura_events_processed_total{`, `outcome="ok"`, `consumer="trace-b"`, `efaktura_handler_duration_seconds_bucket{`, `efaktura_events_published_total{`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
