package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// TestOneTracePerDocument (issue 12): a bundle of three documents through
// the all-in-one, one approved and delivered at once, one approved while
// the agreements hold answers back (parked, then released), one rejected.
// Each document's trace, the one its record names, holds every span of its
// life, and no span name holds a kommune code or an id.
func TestOneTracePerDocument(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	s := startUpConfig(t, upConfig{HTTPAddr: freeAddr(t), DataDir: t.TempDir(), spans: spans})
	bundle, err := efaktura.Sample(efaktura.SampleOptions{Documents: 3, LinesPerDocument: 1, Seed: 12}).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if code, body := s.do("POST", "/v1/bundles", "ingest-t", bundle); code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	var docs []docJSON
	bustest.Eventually(t, "three documents awaiting a verdict", func() error { docs = s.documents("awaiting_verdict"); return is(len(docs), 3) })
	delivered, parked, rejected := docs[0].ID, docs[1].ID, docs[2].ID

	if code, body := s.verdict(delivered, `{"decision":"approve"}`); code != 200 {
		t.Fatalf("approve: %d %s", code, body)
	}
	bustest.Eventually(t, "the first answer", func() error { return is(len(s.answers()), 1) })
	agreement := func(state string) {
		if code, body := s.do("PUT", "/v1/tenants/0101/agreements/bagside", "admin-t", []byte(`{"state":"`+state+`"}`)); code != 200 {
			t.Fatalf("bagside %s: %d %s", state, code, body)
		}
	}
	agreement("withdrawn")
	// respond's view of the change first: an answer queued before would go.
	bustest.Eventually(t, "the answer queue paused", func() error {
		q, err := s.queue(demoKommune)
		if err != nil {
			return err
		}
		return is(q.Paused, true)
	})
	if code, body := s.verdict(parked, `{"decision":"approve"}`); code != 200 {
		t.Fatalf("approve: %d %s", code, body)
	}
	bustest.Eventually(t, "the second answer parked", func() error { return is(s.answerStatus(parked), "parked") })
	if code, body := s.verdict(rejected, `{"decision":"reject","reasons":[{"code":"PRI","text":"forkert pris"}]}`); code != 200 {
		t.Fatalf("reject: %d %s", code, body)
	}
	agreement("requested") // the life cycle's way back to approved
	agreement("approved")
	bustest.Eventually(t, "all three answers", func() error { return is(len(s.answers()), 3) })
	s.quiet()

	// Each document's spans: those of its trace that name it (a bundle's
	// documents share the bundle POST's trace).
	byName := func(id string) map[string]int {
		traceID := s.traceID(id)
		names := map[string]int{}
		for _, sp := range spans.GetSpans() {
			if sp.SpanContext.TraceID().String() != traceID {
				continue
			}
			if sp.Name == "POST /v1/bundles" || about(sp.Attributes, id) {
				names[sp.Name]++
			}
		}
		return names
	}
	life := []string{
		"POST /v1/bundles",
		"send efaktura.{kommune}.document.received", "process efaktura.{kommune}.document.received",
		"send efaktura.{kommune}.document.validated", "process efaktura.{kommune}.document.validated",
		"POST /v1/documents/{id}/verdict",
		"send efaktura.{kommune}.document.decided", "process efaktura.{kommune}.document.decided",
		"send efaktura.{kommune}.answer.queued", "process efaktura.{kommune}.answer.queued",
		"send efaktura.{kommune}.answer.delivered",
	}
	for _, id := range []string{delivered, parked, rejected} {
		got := byName(id)
		for _, want := range life {
			if got[want] == 0 {
				t.Errorf("document %s: no span %q in its trace; it has %v", id, want, got)
			}
		}
	}
	// Every delivery attempt is an HTTP client span under the queued
	// answer's processing, in the document's trace.
	for _, id := range []string{delivered, parked, rejected} {
		processing := map[string]bool{}
		for _, sp := range spans.GetSpans() {
			if sp.Name == "process efaktura.{kommune}.answer.queued" && about(sp.Attributes, id) {
				processing[sp.SpanContext.SpanID().String()] = true
			}
		}
		attempts := 0
		for _, sp := range spans.GetSpans() {
			if sp.Name == "POST" && sp.SpanKind == trace.SpanKindClient && processing[sp.Parent.SpanID().String()] {
				attempts++
				if sp.SpanContext.TraceID().String() != s.traceID(id) || !slices.ContainsFunc(sp.Attributes, func(kv attribute.KeyValue) bool {
					return kv.Key == "http.response.status_code" && kv.Value.AsInt64() == 200
				}) {
					t.Errorf("document %s: delivery span %+v; want it in the document's trace with status 200", id, sp.Attributes)
				}
			}
		}
		if attempts != 1 {
			t.Errorf("document %s: %d delivery client spans; want 1", id, attempts)
		}
	}
	// Parking and release: answer.parked sent when the decision was queued,
	// and the queued answer processed (and delivered, above) only once the
	// queue was resumed.
	if got := byName(parked); got["send efaktura.{kommune}.answer.parked"] != 1 {
		t.Errorf("parked document's spans %v; want answer.parked sent once", got)
	}
	for _, sp := range spans.GetSpans() {
		for _, id := range append([]string{"0101"}, delivered, parked, rejected) {
			if strings.Contains(sp.Name, id) {
				t.Errorf("span name %q holds %s", sp.Name, id)
			}
		}
	}
}

// about reports whether a span's attributes name document id: a
// CloudEvent's subject, or a verdict's document.
func about(attrs []attribute.KeyValue, id string) bool {
	return slices.ContainsFunc(attrs, func(kv attribute.KeyValue) bool {
		return (kv.Key == "cloudevents.event_subject" || kv.Key == "efaktura.document.id") && kv.Value.AsString() == id
	})
}

// traceID is the trace id document id's record (or archived summary) names.
func (s *system) traceID(id string) string {
	s.t.Helper()
	code, body := s.do("GET", "/v1/documents/"+id, "case-t", nil)
	var d struct {
		TraceID string `json:"trace_id"`
	}
	if err := json.Unmarshal(body, &d); code != 200 || err != nil || len(d.TraceID) != 32 {
		s.t.Fatalf("GET document %s: %d %s", id, code, body)
	}
	return d.TraceID
}

// answerStatus is the status of document id's answer.
func (s *system) answerStatus(id string) string {
	code, body := s.do("GET", "/v1/documents/"+id, "case-t", nil)
	var d docJSON
	if code != 200 || json.Unmarshal(body, &d) != nil {
		return fmt.Sprintf("GET %d", code)
	}
	return d.Answer.Status
}

// TestTracesOverOTLP: with OTEL_EXPORTER_OTLP_ENDPOINT set, the
// all-in-one's spans reach an OTLP/HTTP receiver, as protobuf on
// /v1/traces, under service.name efaktura.
func TestTracesOverOTLP(t *testing.T) {
	var mu sync.Mutex
	got := map[string]bool{}
	services := map[string]bool{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || err != nil || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					services[kv.GetValue().GetStringValue()] = true
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					got[sp.Name] = true
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	t.Cleanup(receiver.Close)
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.URL, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		"OTEL_METRICS_EXPORTER": "none", "OTEL_BSP_SCHEDULE_DELAY": "50",
	}
	for k, v := range env {
		t.Setenv(k, v) // the OTLP exporter reads the process environment itself
	}
	s := startUpConfig(t, upConfig{HTTPAddr: freeAddr(t), DataDir: t.TempDir()}, env)
	if code, body := s.post("valid-invoice.xml"); code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	bustest.Eventually(t, "the spans at the OTLP receiver", func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, want := range []string{"POST /v1/bundles", "send efaktura.{kommune}.document.received", "process efaktura.{kommune}.document.validated"} {
			if !got[want] {
				return fmt.Errorf("no span %q yet among %d", want, len(got))
			}
		}
		if !services["efaktura"] {
			return fmt.Errorf("service names %v; want efaktura", services)
		}
		return nil
	})
}
