package decide_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/services/decide"
)

// TestVerdictsContinueTheDocumentsTrace: a verdict over HTTP is a SERVER
// span in the document's own trace, linked to the request's trace, and the
// document.decided it announces is in the document's trace too; a bulk
// verdict makes one such span per document, each linked to the one request.
func TestVerdictsContinueTheDocumentsTrace(t *testing.T) {
	tel, spans := bustest.Traced(t, "decide-test")
	e := startBus(t, []bus.Option{bus.WithTelemetry(tel), bus.WithSubjectTemplate(events.SubjectTemplate)}, decide.Config{PerPage: 2, MaxPerPage: 10})

	// Each document's events come from ingest in a trace of their own.
	traceOf := map[string]trace.TraceID{}
	awaiting := func(i int) string {
		ctx, span := tel.TracerProvider.Tracer("ingest").Start(e.ctx, "POST /v1/bundles")
		id := e.docID(i)
		traceOf[id] = span.SpanContext().TraceID()
		saved := e.ctx
		e.ctx = ctx
		e.received("0101", i, "R")
		e.validated("0101", i, "R", "Jens Hansen")
		e.ctx = saved
		span.End()
		e.waitState(admin, id, decide.StateAwaitingVerdict)
		return id
	}
	one, two, three := awaiting(1), awaiting(2), awaiting(3)

	// The API as the worker serves it, through the HTTP instrumentation.
	mux := http.NewServeMux()
	e.w.Routes(mux)
	api := httptest.NewServer(tel.HTTPHandler(mux))
	t.Cleanup(api.Close)

	// The request's own trace, as a client that sends traceparent has it.
	client, clientSpan := tel.TracerProvider.Tracer("client").Start(context.Background(), "desk")
	clientSpan.End()
	post := func(path, body string) {
		req, _ := http.NewRequestWithContext(client, http.MethodPost, api.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+cw0101)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("traceparent", traceparent(clientSpan.SpanContext()))
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %v %v", path, res, err)
		}
		res.Body.Close()
	}
	post("/v1/documents/"+one+"/verdict", `{"decision":"approve"}`)
	post("/v1/verdicts", `{"decision":"approve","documents":["`+two+`","`+three+`"]}`)
	bustest.Eventually(t, "three decisions announced", func() error { return is(e.count("0101", events.TypeDocumentDecided), uint64(3)) })
	bustest.Eventually(t, "the spans exported", func() error {
		tel.TracerProvider.ForceFlush(context.Background())
		n := 0
		for _, s := range spans.GetSpans() {
			if s.Name == "send efaktura.{kommune}.document.decided" {
				n++
			}
		}
		return is(n, 3)
	})

	for id, route := range map[string]string{one: "/v1/documents/{id}/verdict", two: "/v1/verdicts", three: "/v1/verdicts"} {
		var verdict, decided *tracetest.SpanStub
		for _, s := range spans.GetSpans() {
			if s.SpanContext.TraceID() != traceOf[id] {
				continue
			}
			switch s.Name {
			case "POST " + route:
				verdict = &s
			case "send efaktura.{kommune}.document.decided":
				decided = &s
			}
		}
		if verdict == nil || decided == nil {
			t.Errorf("document %s: verdict span %v, decided span %v; want both in the document's trace %s", id, verdict != nil, decided != nil, traceOf[id])
			continue
		}
		if verdict.SpanKind != trace.SpanKindServer || decided.Parent.SpanID() != verdict.SpanContext.SpanID() {
			t.Errorf("document %s: verdict span kind %v, decided's parent %s; want a server span, parent of the decision", id, verdict.SpanKind, decided.Parent.SpanID())
		}
		if len(verdict.Links) != 1 || verdict.Links[0].SpanContext.TraceID() != clientSpan.SpanContext().TraceID() {
			t.Errorf("document %s: verdict span links %v; want one to the request's trace %s", id, verdict.Links, clientSpan.SpanContext().TraceID())
		}
	}
}

func traceparent(sc trace.SpanContext) string {
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}
