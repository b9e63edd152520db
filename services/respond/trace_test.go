package respond_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
	"github.com/kp-efaktura/efaktura/services/erpsim"
	"github.com/kp-efaktura/efaktura/services/respond"
)

// TestEveryDeliveryAttemptIsAClientSpanInTheAnswersTrace: each POST to the
// economy system, the refused one and the one taken, is an HTTP CLIENT
// span named "POST" in the trace of the decision, a child of the span
// that handles the queued answer, with the method, the URL template, the
// status and, for the 503, an error status.
func TestEveryDeliveryAttemptIsAClientSpanInTheAnswersTrace(t *testing.T) {
	tel, spans := bustest.Traced(t, "respond-test")
	e := newEnv(t, erpsim.Config{FailRatio: 1}, bus.WithTelemetry(tel), bus.WithSubjectTemplate(events.SubjectTemplate))
	e.cfg = respond.Config{BackoffInitial: 50 * time.Millisecond, BackoffMax: 50 * time.Millisecond}
	e.put(kommune, tenant.Approved, esID, secret)
	e.start()

	// The document's trace, as decide continues it when it publishes the
	// decision.
	ctx, doc := tel.TracerProvider.Tracer("decide").Start(e.ctx, "decide")
	saved := e.ctx
	e.ctx = ctx
	e.decide(kommune, 1)
	e.ctx = saved
	doc.End()
	traceID := doc.SpanContext().TraceID()

	e.rec.Wait(t, events.TypeAnswerFailed, 1)
	e.sim.SetFailRatio(0)
	e.recorded(1)
	e.rec.Wait(t, events.TypeAnswerDelivered, 1)

	var clients []tracetest.SpanStub
	byID := map[trace.SpanID]tracetest.SpanStub{}
	bustest.Eventually(t, "the client spans of both attempts exported", func() error {
		tel.TracerProvider.ForceFlush(context.Background())
		clients = nil
		for _, s := range spans.GetSpans() {
			byID[s.SpanContext.SpanID()] = s
			if s.SpanKind == trace.SpanKindClient && s.SpanContext.TraceID() == traceID {
				clients = append(clients, s)
			}
		}
		var ok bool
		for _, s := range clients {
			ok = ok || attr(s, "http.response.status_code") == "200"
		}
		if len(clients) < 2 || !ok {
			return fmt.Errorf("%d client spans in the answer's trace, none with status 200 yet", len(clients))
		}
		for _, s := range clients {
			if _, ended := byID[s.Parent.SpanID()]; !ended {
				return fmt.Errorf("client span %s's parent %s not exported yet", s.SpanContext.SpanID(), s.Parent.SpanID())
			}
		}
		return nil
	})
	statuses := map[string]bool{}
	for _, s := range clients {
		status := attr(s, "http.response.status_code")
		statuses[status] = true
		if s.Name != "POST" || attr(s, "http.request.method") != "POST" || attr(s, "url.template") != erpsim.PathAnswers {
			t.Errorf("client span %q: method %q, url.template %q; want POST, POST, %s", s.Name, attr(s, "http.request.method"), attr(s, "url.template"), erpsim.PathAnswers)
		}
		if attr(s, "server.address") == "" {
			t.Errorf("client span without server.address: %v", s.Attributes)
		}
		parent, ok := byID[s.Parent.SpanID()]
		if !s.Parent.IsValid() || !ok || parent.SpanContext.TraceID() != traceID || parent.SpanKind != trace.SpanKindConsumer {
			t.Errorf("client span's parent %v (found %v, kind %v); want the queue handler's consumer span in the answer's trace", s.Parent.SpanID(), ok, parent.SpanKind)
		}
		switch status {
		case "503":
			if s.Status.Code != codes.Error {
				t.Errorf("the 503's span has status %v, want Error", s.Status)
			}
		case "200":
			if s.Status.Code == codes.Error {
				t.Errorf("the 200's span has status %v", s.Status)
			}
		}
	}
	if !statuses["503"] || !statuses["200"] {
		t.Errorf("client spans with statuses %v; want the refused attempt (503) and the delivery (200)", statuses)
	}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == attribute.Key(key) {
			return kv.Value.String()
		}
	}
	return ""
}
