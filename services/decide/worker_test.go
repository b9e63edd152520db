package decide_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
	"github.com/kp-efaktura/efaktura/services/decide"
)

// tokens is a map-based decide.Authenticator.
type tokens map[string]tenant.Principal

func (m tokens) Authenticate(token string) (tenant.Principal, error) {
	p, ok := m[token]
	if !ok {
		return tenant.Principal{}, fmt.Errorf("%w: unknown token", tenant.ErrAuth)
	}
	return p, nil
}

const (
	cw0101  = "token-cw-0101"
	cw0101b = "token-cw-0101-b"
	cw0202  = "token-cw-0202"
	admin   = "token-admin"
	ingest  = "token-ingest"
)

var testTokens = tokens{
	cw0101:  {Role: tenant.RoleCaseworker, Kommune: "0101", Name: "ab"},
	cw0101b: {Role: tenant.RoleCaseworker, Kommune: "0101", Name: "cd"},
	cw0202:  {Role: tenant.RoleCaseworker, Kommune: "0202", Name: "ef"},
	admin:   {Role: tenant.RoleAdmin, Name: "admin"},
	ingest:  {Role: tenant.RoleIngest, Kommune: "0101", Name: "erp"},
}

// env is a decide worker on a real embedded JetStream, with its HTTP API on
// a real socket.
type env struct {
	t      *testing.T
	ctx    context.Context
	js     jetstream.JetStream
	bus    *bus.Bus
	w      *decide.Worker
	url    string
	bundle string
}

func start(t *testing.T) *env {
	t.Helper()
	return startWith(t, decide.Config{PerPage: 2, MaxPerPage: 10})
}

// startWith starts the worker with cfg and opts, which come after a
// logger that discards everything.
func startWith(t *testing.T, cfg decide.Config, opts ...decide.Option) *env {
	t.Helper()
	return startBus(t, nil, cfg, opts...)
}

// startBus is startWith with options of the bus besides the test's.
func startBus(t *testing.T, busOpts []bus.Option, cfg decide.Config, opts ...decide.Option) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	nc := natstest.Connect(t, natstest.Start(t))
	quiet := slog.New(slog.DiscardHandler)
	b, err := bus.New(ctx, nc, bus.Config{
		Service: "decide", Subjects: events.StreamSubjects(), Storage: "memory",
		MaxDeliver: 5, Backoff: []time.Duration{100 * time.Millisecond}, Drain: 2 * time.Second,
	}, append([]bus.Option{bus.WithSubjects(events.SubjectOf), bus.WithLogger(quiet)}, busOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	w, err := decide.New(ctx, b, testTokens, cfg, append([]decide.Option{decide.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	w.Register()
	mux := http.NewServeMux()
	w.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	bustest.Run(t, b)
	js := b.JetStream()
	return &env{t: t, ctx: ctx, js: js, bus: b, w: w, url: srv.URL, bundle: events.BundleID("sp", "CVR", "12345674", t.Name(), 2025)}
}

var t0 = time.Date(2025, 8, 4, 9, 0, 0, 0, time.UTC)

func (e *env) docID(i int) string { return events.DocumentID(e.bundle, i) }

func (e *env) publish(ctx context.Context, typ, kommune, subject string, key []string, data any) {
	e.t.Helper()
	ev, err := events.New(typ, events.SourceIngest, kommune, subject, key, data, t0)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.bus.Publish(ctx, ev); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) received(kommune string, i int, receiptNo string) {
	e.t.Helper()
	id := e.docID(i)
	e.publish(e.ctx, events.TypeDocumentReceived, kommune, id, []string{id}, events.DocumentReceived{
		DocumentID: id, BundleID: e.bundle, Kommune: kommune, Index: i, ReceiptNo: receiptNo,
		DocumentNo: fmt.Sprintf("F-%d", i), DocumentType: events.DocumentInvoice,
		Sender: events.Sender{Type: "CVR", ID: "12345674"}, Reference: "REF", ReceivedAt: t0,
	})
}

func (e *env) validated(kommune string, i int, receiptNo, billTo string) {
	e.t.Helper()
	id := e.docID(i)
	e.publish(e.ctx, events.TypeDocumentValidated, kommune, id, []string{id, "r1"}, events.DocumentValidated{
		DocumentID: id, BundleID: e.bundle, Kommune: kommune, Reference: "REF", Sender: events.Sender{Type: "CVR", ID: "12345674"},
		ReceiptNo: receiptNo, DocumentNo: fmt.Sprintf("F-%d", i), DocumentType: events.DocumentInvoice,
		Ruleset: "efaktura-2.1.0/r1", ValidatedAt: t0.Add(time.Second),
		Summary: events.Summary{Currency: "DKK", TotalAmountInclVAT: "100,00", DocumentDate: "2025-08-01", BillToName: billTo, Lines: 1},
	})
}

// awaiting makes document i of kommune wait for a verdict.
func (e *env) awaiting(kommune string, i int) string {
	e.t.Helper()
	e.received(kommune, i, fmt.Sprintf("R-%d", i))
	e.validated(kommune, i, fmt.Sprintf("R-%d", i), "Jens Hansen")
	id := e.docID(i)
	e.waitState(admin, id, decide.StateAwaitingVerdict)
	return id
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

func (e *env) get(token, id string) (*decide.Record, int) {
	e.t.Helper()
	res := e.do(http.MethodGet, "/v1/documents/"+id, token, nil)
	if res.status != http.StatusOK {
		return nil, res.status
	}
	var r decide.Record
	if err := json.Unmarshal(res.body, &r); err != nil {
		e.t.Fatal(err)
	}
	return &r, res.status
}

// is returns nil when got is want, and otherwise what got is, for
// bustest.Eventually.
func is[T comparable](got, want T) error {
	if got != want {
		return fmt.Errorf("got %v", got)
	}
	return nil
}

func (e *env) waitState(token, id string, s decide.State) *decide.Record {
	e.t.Helper()
	var r *decide.Record
	bustest.Eventually(e.t, fmt.Sprintf("document %s in state %s", id, s), func() error {
		var status int
		if r, status = e.get(token, id); r == nil {
			return fmt.Errorf("GET %d", status)
		}
		return is(r.State, s)
	})
	return r
}

// count returns how many events of typ for kommune the stream holds.
func (e *env) count(kommune, typ string) uint64 {
	e.t.Helper()
	subject, err := events.Subject(kommune, typ)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := e.js.Stream(e.ctx, "EFAKTURA")
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(e.ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Subjects[subject]
}

// eventsOf returns the payloads of the events of typ for kommune the
// stream holds now.
func eventsOf[T any](e *env, kommune, typ string) []T {
	e.t.Helper()
	subject, _ := events.Subject(kommune, typ)
	rec := bustest.Record(e.t, e.js, "EFAKTURA", subject)
	return bustest.Payloads[T](e.t, rec.Wait(e.t, typ, int(e.count(kommune, typ))))
}

// settled waits until every decide consumer exists and has handled all
// its events, so a count taken then is final. One after the other is
// enough: no decide handler consumes what another emits.
func (e *env) settled() {
	e.t.Helper()
	for _, name := range []string{decide.HandlerDocumentReceived, decide.HandlerDocumentValidated, decide.HandlerDocumentRejected,
		decide.HandlerVerdictSubmitted, decide.HandlerAnswerParked, decide.HandlerAnswerDelivered, decide.HandlerAnswerFailed} {
		bustest.Settled(e.t, e.js, "EFAKTURA", "decide-"+name, 0)
	}
}

func (e *env) deadLetters() uint64 {
	e.t.Helper()
	s, err := e.js.Stream(e.ctx, "EFAKTURA_DLQ")
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}

func verdictPath(id string) string { return "/v1/documents/" + id + "/verdict" }

var (
	approve      = map[string]any{"decision": "approve"}
	rejectPrices = map[string]any{"decision": "reject", "reasons": []map[string]string{{"code": "PRI", "text": "price"}}}
)

func TestVerdictOverHTTP(t *testing.T) {
	e := start(t)
	traceID := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	traced := trace.ContextWithRemoteSpanContext(e.ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled, Remote: true}))
	id := e.docID(1)
	e.publish(traced, events.TypeDocumentReceived, "0101", id, []string{id}, events.DocumentReceived{
		DocumentID: id, BundleID: e.bundle, Kommune: "0101", Index: 1, ReceiptNo: "R-1", DocumentNo: "F-1",
		DocumentType: events.DocumentInvoice, Sender: events.Sender{Type: "CVR", ID: "12345674"}, Reference: "REF",
		ReceivedAt: t0,
	})
	e.waitState(cw0101, id, decide.StateReceived)
	e.validated("0101", 1, "R-1", "Jens Hansen")
	r := e.waitState(cw0101, id, decide.StateAwaitingVerdict)
	if r.TraceID != traceID.String() || r.Index != 1 || r.Summary == nil || r.Summary.Currency != "DKK" || r.Answer.Status != decide.StatusPending {
		t.Errorf("awaiting record = %+v", r)
	}
	var raw map[string]json.RawMessage
	res := e.do(http.MethodGet, "/v1/documents/"+id, cw0101, nil)
	if err := json.Unmarshal(res.body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"id", "kommune", "bundle_id", "receipt_no", "document_no", "document_type", "state", "trace_id", "findings", "verdict", "answer", "history", "created_at", "updated_at", "summary"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("GET response lacks %q: %s", f, res.body)
		}
	}

	// A verdict on a document not validated yet is a conflict.
	e.received("0101", 2, "R-2")
	e.waitState(cw0101, e.docID(2), decide.StateReceived)
	if res := e.do(http.MethodPost, verdictPath(e.docID(2)), cw0101, approve); res.status != http.StatusConflict {
		t.Errorf("verdict on a received document: %d %s, want 409", res.status, res.body)
	}

	res = e.do(http.MethodPost, verdictPath(id), cw0101, approve)
	if res.status != http.StatusOK || res.header.Get(decide.VerdictHeader) != "applied" {
		t.Fatalf("POST approve: %d %s %s, want 200 applied", res.status, res.header.Get(decide.VerdictHeader), res.body)
	}
	var got decide.Record
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.State != decide.StateApproved || got.Verdict == nil || got.Verdict.By != "ab" || got.DecidedAt == nil {
		t.Errorf("POST approve returned %+v", got)
	}
	e.settled()
	if n := e.count("0101", events.TypeDocumentDecided); n != 1 {
		t.Errorf("%d document.decided events, want 1", n)
	}

	// The same verdict again, by another caseworker: a no-op.
	res = e.do(http.MethodPost, verdictPath(id), cw0101b, approve)
	if res.status != http.StatusOK || res.header.Get(decide.VerdictHeader) != "repeated" {
		t.Errorf("POST approve again: %d %q %s, want 200 repeated", res.status, res.header.Get(decide.VerdictHeader), res.body)
	}
	// A different one: refused, with the verdict in force.
	res = e.do(http.MethodPost, verdictPath(id), cw0101, rejectPrices)
	var conflict struct {
		Error   string          `json:"error"`
		State   decide.State    `json:"state"`
		Verdict *decide.Verdict `json:"verdict"`
	}
	if err := json.Unmarshal(res.body, &conflict); err != nil || res.status != http.StatusConflict ||
		conflict.State != decide.StateApproved || conflict.Verdict == nil || conflict.Verdict.Decision != events.DecisionApprove {
		t.Errorf("POST reject after approve: %d %s, want 409 with the approval", res.status, res.body)
	}
	e.settled()
	if n := e.count("0101", events.TypeDocumentDecided); n != 1 {
		t.Errorf("%d document.decided events after a repeat and a refusal, want 1", n)
	}
	if n := e.count("0101", events.TypeVerdictRefused); n != 0 {
		t.Errorf("%d verdict.refused events for HTTP verdicts, want 0", n)
	}
	decided := eventsOf[events.DocumentDecided](e, "0101", events.TypeDocumentDecided)
	if d := decided[0]; d.DocumentID != id || d.Decision != events.OutcomeApproved || d.DecidedBy != "ab" || d.VerdictID != got.Verdict.ID || d.ReceiptNo != "R-1" {
		t.Errorf("document.decided = %+v", d)
	}

	// respond reports the delivery: the document is archived.
	e.publish(e.ctx, events.TypeAnswerParked, "0101", id, []string{"a1", "agreement_missing"}, events.AnswerParked{
		AnswerID: "a1", DocumentID: id, Kommune: "0101", Reason: events.ParkAgreementMissing, ParkedAt: t0.Add(time.Hour)})
	e.delivered("0101", id)
	a := e.archived(cw0101, id)
	if a.State != decide.StateApproved || a.Answer.Status != decide.StatusDelivered || a.Answer.Attempts != 2 ||
		a.Answer.DeliveredAt == nil || !a.Answer.DeliveredAt.Equal(t0.Add(2*time.Hour)) || a.Verdict == nil || a.Verdict.By != "ab" ||
		a.TraceID != traceID.String() || a.Summary == nil || a.Summary.TotalAmountInclVAT != "100,00" {
		t.Errorf("archived document = %+v", a)
	}
	// answer.parked may come after the delivery (another consumer), and is
	// then ignored.
	var what []string
	for _, h := range a.History {
		if h.What != decide.WhatAnswerParked {
			what = append(what, h.What)
		}
	}
	if got, want := strings.Join(what, " "), "received validated answer_delivered verdict"; got != want && got != "received validated verdict answer_delivered" {
		t.Errorf("archived history %q, want %q in the order of their times", got, want)
	}
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
}

func TestVerdictRequestsRefused(t *testing.T) {
	e := start(t)
	id := e.awaiting("0101", 1)
	tests := []struct {
		name   string
		token  string
		body   any
		status int
	}{
		{"no token", "", approve, http.StatusUnauthorized},
		{"bad token", "nope", approve, http.StatusUnauthorized},
		{"ingest token", ingest, approve, http.StatusForbidden},
		{"admin", admin, approve, http.StatusForbidden},
		{"another kommune's caseworker", cw0202, approve, http.StatusNotFound},
		{"malformed JSON", cw0101, `{"decision":`, http.StatusBadRequest},
		{"unknown field", cw0101, `{"decision":"approve","reason":[]}`, http.StatusBadRequest},
		{"two objects", cw0101, `{"decision":"approve"}{}`, http.StatusBadRequest},
		{"unknown decision", cw0101, map[string]any{"decision": "ok"}, http.StatusBadRequest},
		{"reject without reasons", cw0101, map[string]any{"decision": "reject"}, http.StatusBadRequest},
		{"unknown code", cw0101, map[string]any{"decision": "reject", "reasons": []map[string]string{{"code": "XXX"}}}, http.StatusBadRequest},
		{"OTH without text", cw0101, map[string]any{"decision": "reject", "reasons": []map[string]string{{"code": "OTH", "text": " "}}}, http.StatusBadRequest},
		{"too big", cw0101, map[string]any{"decision": "approve", "note": strings.Repeat("x", 70<<10)}, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(http.MethodPost, verdictPath(id), tt.token, tt.body)
			if res.status != tt.status {
				t.Errorf("POST = %d %s, want %d", res.status, res.body, tt.status)
			}
			var body struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(res.body, &body); err != nil || body.Error == "" {
				t.Errorf("body %s is not a JSON error", res.body)
			}
		})
	}
	if res := e.do(http.MethodPost, verdictPath(e.docID(99)), cw0101, approve); res.status != http.StatusNotFound {
		t.Errorf("POST on an unknown document = %d, want 404", res.status)
	}
	if res := e.do(http.MethodPost, verdictPath("a.b"), cw0101, approve); res.status != http.StatusNotFound {
		t.Errorf("POST on a bad id = %d, want 404", res.status)
	}
	res := e.do(http.MethodPost, verdictPath(id), cw0101, map[string]any{"decision": "reject", "reasons": []map[string]string{{"code": "OTH"}, {"code": "BAD"}}})
	var problems struct {
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal(res.body, &problems); err != nil || len(problems.Problems) != 2 {
		t.Errorf("problems = %s, want two", res.body)
	}
	if r, _ := e.get(cw0101, id); r.State != decide.StateAwaitingVerdict {
		t.Errorf("state after refused requests = %s, want awaiting_verdict", r.State)
	}
}

func TestOtherKommuneSeesNothing(t *testing.T) {
	e := start(t)
	id := e.awaiting("0101", 1)
	if _, status := e.get(cw0202, id); status != http.StatusNotFound {
		t.Errorf("GET by 0202's caseworker = %d, want 404", status)
	}
	if _, status := e.get(cw0202, e.docID(99)); status != http.StatusNotFound {
		t.Errorf("GET of an unknown document = %d, want 404", status)
	}
	if r, status := e.get(admin, id); status != http.StatusOK || r.Kommune != "0101" {
		t.Errorf("GET by admin = %d, want 200", status)
	}
	for _, q := range []string{"", "?kommune=0101", "?state=awaiting_verdict"} {
		var p decide.Page
		res := e.do(http.MethodGet, "/v1/documents"+q, cw0202, nil)
		if err := json.Unmarshal(res.body, &p); err != nil || res.status != http.StatusOK || p.Total != 0 || len(p.Documents) != 0 {
			t.Errorf("list%s by 0202's caseworker = %d %s, want 200 and nothing", q, res.status, res.body)
		}
	}
	if res := e.do(http.MethodGet, "/v1/documents/"+id, "", nil); res.status != http.StatusUnauthorized || res.header.Get("WWW-Authenticate") == "" {
		t.Errorf("GET without a token = %d, want 401 with WWW-Authenticate", res.status)
	}
	if res := e.do(http.MethodGet, "/v1/documents", ingest, nil); res.status != http.StatusForbidden {
		t.Errorf("list with an ingest token = %d, want 403", res.status)
	}
}

func TestListNewestLastPaginatedMasked(t *testing.T) {
	e := start(t)
	const cprNo = "010203-1234"
	var ids []string
	for i := 1; i <= 5; i++ {
		receipt := fmt.Sprintf("R-%d", i)
		e.received("0101", i, receipt)
		e.validated("0101", i, receipt, "Jens "+cprNo) // the bill-to name holds a CPR number
		ids = append(ids, e.docID(i))
		e.waitState(cw0101, e.docID(i), decide.StateAwaitingVerdict)
	}
	// One decided and one of another municipality stay out of the queue.
	if res := e.do(http.MethodPost, verdictPath(ids[1]), cw0101, approve); res.status != http.StatusOK {
		t.Fatalf("approve: %d %s", res.status, res.body)
	}
	e.received("0202", 6, "R-6")
	e.validated("0202", 6, "R-6", "x")
	e.waitState(admin, e.docID(6), decide.StateAwaitingVerdict)
	want := []string{ids[0], ids[2], ids[3], ids[4]}

	var got []string
	for page := 1; ; page++ {
		res := e.do(http.MethodGet, fmt.Sprintf("/v1/documents?state=awaiting_verdict&page=%d", page), cw0101, nil)
		if res.status != http.StatusOK {
			t.Fatalf("page %d: %d %s", page, res.status, res.body)
		}
		if bytes.Contains(res.body, []byte(cprNo)) || !bytes.Contains(res.body, []byte("XXXXXX-XXXX")) {
			t.Errorf("page %d does not mask the CPR number: %s", page, res.body)
		}
		var p decide.Page
		if err := json.Unmarshal(res.body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Total != len(want) || p.PerPage != 2 || p.Page != page {
			t.Errorf("page %d = total %d per page %d page %d", page, p.Total, p.PerPage, p.Page)
		}
		for _, r := range p.Documents {
			got = append(got, r.ID)
		}
		if p.NextPage == 0 {
			break
		}
		if p.NextPage != page+1 || page > 5 {
			t.Fatalf("next page %d after %d", p.NextPage, page)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("queue = %v, want %v (newest last)", got, want)
	}
	// The detail shows the document as it is.
	if r, _ := e.get(cw0101, ids[0]); r.Summary == nil || r.Summary.BillToName != "Jens "+cprNo {
		t.Errorf("detail bill-to name = %+v, want it unmasked", r.Summary)
	}

	var all decide.Page
	res := e.do(http.MethodGet, "/v1/documents?per_page=10", admin, nil)
	if err := json.Unmarshal(res.body, &all); err != nil || all.Total != 6 {
		t.Errorf("admin list = %d %s, want all 6", res.status, res.body)
	}
	for _, q := range []string{"state=done", "page=0", "page=x", "per_page=11", "kommune=1"} {
		if res := e.do(http.MethodGet, "/v1/documents?"+q, cw0101, nil); res.status != http.StatusBadRequest {
			t.Errorf("list?%s = %d, want 400", q, res.status)
		}
	}
}

func TestTechnicallyRejectedDecidedAtOnce(t *testing.T) {
	e := start(t)
	id := e.docID(1)
	e.publish(e.ctx, events.TypeDocumentRejected, "0101", id, []string{id, "r1"}, events.DocumentRejected{
		DocumentID: id, BundleID: e.bundle, Kommune: "0101", Reference: "REF", Sender: events.Sender{Type: "CVR", ID: "12345674"},
		ReceiptNo: "R-1", DocumentNo: "F-1", DocumentType: events.DocumentInvoice, Ruleset: "efaktura-2.1.0/r1", RejectedAt: t0,
		Findings: []events.Finding{{Rule: "V26", Severity: events.SeverityError, Path: "/INVOICES/DOCUMENT[1]/HEADER/CHECKSUM", Message: "wrong checksum"}},
	})
	r := e.waitState(cw0101, id, decide.StateRejected)
	if r.Verdict == nil || r.Verdict.By != events.DecidedBySystem || len(r.Findings) != 1 {
		t.Errorf("record = %+v", r)
	}
	e.received("0101", 1, "R-1") // late: fills in, changes nothing else
	bustest.Eventually(t, "the receipt recorded", func() error {
		r, status := e.get(cw0101, id)
		if r == nil {
			return fmt.Errorf("GET %d", status)
		}
		return is(r.Index, 1)
	})
	e.settled()
	decided := eventsOf[events.DocumentDecided](e, "0101", events.TypeDocumentDecided)
	if len(decided) != 1 {
		t.Fatalf("%d document.decided events, want 1", len(decided))
	}
	d := decided[0]
	if d.Decision != events.OutcomeRejected || d.DecidedBy != events.DecidedBySystem || len(d.Findings) != 1 ||
		len(d.Reasons) != 1 || d.Reasons[0].Code != events.ReasonOther || d.Reasons[0].Text != "V26: wrong checksum" {
		t.Errorf("document.decided = %+v", d)
	}
	if res := e.do(http.MethodPost, verdictPath(id), cw0101, approve); res.status != http.StatusConflict {
		t.Errorf("approving a technically rejected document = %d, want 409", res.status)
	}
}

func (e *env) submit(v events.VerdictSubmitted) {
	e.t.Helper()
	ev, err := events.New(events.TypeVerdictSubmitted, events.SourceAdmin, v.Kommune, v.DocumentID, []string{v.VerdictID}, v, t0)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.bus.Publish(e.ctx, ev); err != nil {
		e.t.Fatal(err)
	}
}

func busVerdict(id, verdictID string, d events.Decision, reasons ...events.Reason) events.VerdictSubmitted {
	return events.VerdictSubmitted{VerdictID: verdictID, DocumentID: id, Kommune: "0101", Decision: d, Reasons: reasons,
		Caseworker: "ui-user", SubmittedAt: t0.Add(time.Minute)}
}

func TestBusVerdicts(t *testing.T) {
	e := start(t)
	id := e.awaiting("0101", 1)
	v1 := busVerdict(id, "11111111-1111-4111-8111-111111111111", events.DecisionApprove)
	e.submit(v1)
	e.waitState(cw0101, id, decide.StateApproved)

	// The same verdict under another id: no-op. A different one: refused.
	same := v1
	same.VerdictID = "22222222-2222-4222-8222-222222222222"
	e.submit(same)
	other := busVerdict(id, "33333333-3333-4333-8333-333333333333", events.DecisionReject, events.Reason{Code: events.ReasonPrices})
	e.submit(other)
	bustest.Eventually(t, "verdict.refused", func() error { return is(e.count("0101", events.TypeVerdictRefused), 1) })
	e.settled()
	refused := eventsOf[events.VerdictRefused](e, "0101", events.TypeVerdictRefused)
	if len(refused) != 1 || refused[0].VerdictID != other.VerdictID || refused[0].DecisionInForce != events.OutcomeApproved {
		t.Errorf("verdict.refused = %+v, want one for %s with approved in force", refused, other.VerdictID)
	}
	if n := e.count("0101", events.TypeDocumentDecided); n != 1 {
		t.Errorf("%d document.decided, want 1", n)
	}
	if r, _ := e.get(cw0101, id); r.Verdict.ID != v1.VerdictID {
		t.Errorf("verdict in force %s, want %s", r.Verdict.ID, v1.VerdictID)
	}
	// An invalid verdict is refused at once.
	bad := busVerdict(e.awaiting("0101", 2), "44444444-4444-4444-8444-444444444444", events.DecisionReject)
	e.submit(bad)
	bustest.Eventually(t, "the invalid verdict refused", func() error { return is(e.count("0101", events.TypeVerdictRefused), 2) })
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
}

// A verdict that comes before its document waits for it; one whose
// document never comes is dead-lettered and refused.
func TestVerdictBeforeDocument(t *testing.T) {
	e := start(t)
	id := e.docID(1)
	v := busVerdict(id, "55555555-5555-4555-8555-555555555555", events.DecisionReject, events.Reason{Code: events.ReasonOther, Text: "no contract"})
	e.submit(v)
	// Tried, found waiting for its document, and tried again.
	bustest.Delivered(t, e.js, "EFAKTURA", "decide-"+decide.HandlerVerdictSubmitted, 2)
	e.validated("0101", 1, "R-1", "x") // and validated before received
	e.received("0101", 1, "R-1")
	r := e.waitState(cw0101, id, decide.StateRejected)
	if r.Verdict.ID != v.VerdictID || r.Index != 1 {
		t.Errorf("record = %+v", r)
	}

	lost := busVerdict(e.docID(2), "66666666-6666-4666-8666-666666666666", events.DecisionApprove)
	e.submit(lost)
	bustest.Eventually(t, "the lost verdict refused", func() error { return is(e.count("0101", events.TypeVerdictRefused), 1) })
	if rf := eventsOf[events.VerdictRefused](e, "0101", events.TypeVerdictRefused)[0]; rf.VerdictID != lost.VerdictID || rf.Reason != "the document is unknown" {
		t.Errorf("verdict.refused = %+v", rf)
	}
	if n := e.deadLetters(); n != 1 {
		t.Errorf("%d dead letters, want 1 (the lost verdict)", n)
	}
}

func TestConcurrentVerdictsConcurrentSafe(t *testing.T) {
	e := start(t)
	const docs = 5
	for i := 1; i <= docs; i++ {
		id := e.awaiting("0101", i)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for j, body := range []any{approve, rejectPrices} {
			wg.Go(func() {
				statuses[j] = e.do(http.MethodPost, verdictPath(id), []string{cw0101, cw0101b}[j], body).status
			})
		}
		wg.Wait()
		ok, conflict := 0, 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
				conflict++
			}
		}
		if ok != 1 || conflict != 1 {
			t.Errorf("document %d: statuses %v, want one 200 and one 409", i, statuses)
		}
	}
	e.settled()
	if n := e.count("0101", events.TypeDocumentDecided); n != docs {
		t.Errorf("%d document.decided, want %d", n, docs)
	}
	decided := eventsOf[events.DocumentDecided](e, "0101", events.TypeDocumentDecided)
	for _, d := range decided {
		r, _ := e.get(cw0101, d.DocumentID)
		if string(r.State) != string(d.Decision) || r.Verdict.ID != d.VerdictID {
			t.Errorf("document %s: record %s by %s, event %s by %s", d.DocumentID, r.State, r.Verdict.ID, d.Decision, d.VerdictID)
		}
	}
	// Verdicts given over HTTP learn their refusal from the 409: no
	// verdict.refused, which is for verdicts from the bus.
	if n := e.count("0101", events.TypeVerdictRefused); n != 0 {
		t.Errorf("%d verdict.refused for HTTP verdicts, want 0", n)
	}
}

// Two writers racing on the same documents through the bus, as two replicas
// would: every record ends with exactly the events applied.
func TestBusWritersConcurrentSafe(t *testing.T) {
	e := start(t)
	const docs = 20
	var wg sync.WaitGroup
	for i := 1; i <= docs; i++ {
		wg.Go(func() {
			e.received("0101", i, "R")
		})
		wg.Go(func() {
			e.validated("0101", i, "R", "x")
		})
	}
	wg.Wait()
	for i := 1; i <= docs; i++ {
		r := e.waitState(cw0101, e.docID(i), decide.StateAwaitingVerdict)
		bustest.Eventually(t, "both events applied", func() error {
			var status int
			if r, status = e.get(cw0101, e.docID(i)); r == nil {
				return fmt.Errorf("GET %d", status)
			}
			if r.Index != i {
				return fmt.Errorf("index %d", r.Index)
			}
			// Besides received and validated, the history may say the
			// documents are possible duplicates of each other (the same
			// sender, total and date).
			n := 0
			for _, h := range r.History {
				if h.What == decide.WhatReceived || h.What == decide.WhatValidated {
					n++
				}
			}
			return is(n, 2)
		})
	}
}

var _ decide.Authenticator = tokens(nil)

func TestNewRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	nc := natstest.Connect(t, natstest.Start(t))
	b, err := bus.New(ctx, nc, bus.Config{Service: "decide", Subjects: events.StreamSubjects(), Storage: "memory"}, bus.WithSubjects(events.SubjectOf))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decide.New(ctx, b, nil, decide.Config{}); err == nil {
		t.Error("New without an authenticator succeeded")
	}
	if _, err := decide.New(ctx, b, testTokens, decide.Config{Bucket: "a.b"}); !errors.Is(err, jetstream.ErrInvalidBucketName) {
		t.Errorf("New with bucket a.b = %v, want jetstream.ErrInvalidBucketName", err)
	}
	if _, err := decide.New(ctx, b, testTokens, decide.Config{}, decide.WithLogger(nil)); err == nil {
		t.Error("New with a nil logger succeeded")
	}
	if _, err := decide.New(ctx, b, testTokens, decide.Config{Bucket: "docs"}); err != nil {
		t.Errorf("New: %v", err)
	}
}

// list returns the ids of every page of GET /v1/documents?<query> as token sees them.
func (e *env) list(token, query string) []string {
	e.t.Helper()
	var ids []string
	for page := 1; ; page++ {
		res := e.do(http.MethodGet, fmt.Sprintf("/v1/documents?per_page=10&page=%d&%s", page, query), token, nil)
		var p decide.Page
		if err := json.Unmarshal(res.body, &p); err != nil || res.status != http.StatusOK {
			e.t.Fatalf("list?%s: %d %s", query, res.status, res.body)
		}
		for _, r := range p.Documents {
			ids = append(ids, r.ID)
		}
		if p.NextPage == 0 {
			return ids
		}
	}
}

func TestListFollowsBucketWrites(t *testing.T) {
	e := start(t)
	e.settled() // the bus runs before the test ends
	kv, err := e.js.KeyValue(e.ctx, decide.DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	// Written straight to the bucket, as another replica would.
	put := func(id string, s decide.State) {
		t.Helper()
		raw, err := json.Marshal(decide.Record{ID: id, Kommune: "0101", State: s, CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(e.ctx, "0101."+id, raw); err != nil {
			t.Fatal(err)
		}
	}
	id := e.docID(1)
	listed := func(query, want string) {
		t.Helper()
		bustest.Eventually(t, fmt.Sprintf("list?%s = [%s]", query, want), func() error {
			return is(strings.Join(e.list(cw0101, query), ","), want)
		})
	}
	put(id, decide.StateAwaitingVerdict)
	listed("state=awaiting_verdict", id)
	put(id, decide.StateApproved)
	listed("state=awaiting_verdict", "")
	listed("state=approved", id)
	if err := kv.Delete(e.ctx, "0101."+id); err != nil {
		t.Fatal(err)
	}
	listed("", "")
	put(id, decide.StateReceived)
	listed("state=received", id)
	if err := kv.Purge(e.ctx, "0101."+id); err != nil {
		t.Fatal(err)
	}
	listed("", "")
}

func TestListAfterVerdictShowsNewState(t *testing.T) {
	e := start(t)
	ids := []string{e.awaiting("0101", 1), e.awaiting("0101", 2)}
	bustest.Eventually(t, "both documents queued", func() error {
		return is(strings.Join(e.list(cw0101, "state=awaiting_verdict"), ","), strings.Join(ids, ","))
	})
	if res := e.do(http.MethodPost, verdictPath(ids[0]), cw0101, approve); res.status != http.StatusOK {
		t.Fatalf("approve: %d %s", res.status, res.body)
	}
	// This replica wrote the record: the very next list shows it.
	if got := e.list(cw0101, "state=awaiting_verdict"); strings.Join(got, ",") != ids[1] {
		t.Errorf("queue after the verdict = %v, want [%s]", got, ids[1])
	}
	bustest.Eventually(t, "the approved document listed as approved", func() error {
		return is(strings.Join(e.list(cw0101, "state=approved"), ","), ids[0])
	})
}

func TestListCreatesNoConsumers(t *testing.T) {
	e := start(t)
	e.awaiting("0101", 1)
	consumers := func() int {
		t.Helper()
		s, err := e.js.Stream(e.ctx, "KV_"+decide.DefaultBucket)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Consumers
	}
	before := consumers()
	for range 20 {
		if got := e.list(cw0101, "state=awaiting_verdict"); len(got) != 1 {
			t.Fatalf("queue = %v, want one document", got)
		}
	}
	if after := consumers(); after != before {
		t.Errorf("consumers on the bucket = %d after 20 lists, want %d as before", after, before)
	}
}

// TestEventForAnotherKommuneIsRefused: a verdict published on one
// municipality's subject must not decide another municipality's document,
// whatever its payload says.
func TestEventForAnotherKommuneIsRefused(t *testing.T) {
	e := start(t)
	id := e.awaiting("0101", 1)
	v := busVerdict(id, "55555555-5555-4555-8555-555555555555", events.DecisionApprove)
	ev, err := events.New(events.TypeVerdictSubmitted, events.SourceAdmin, v.Kommune, v.DocumentID, []string{v.VerdictID}, v, t0)
	if err != nil {
		t.Fatal(err)
	}
	ev.SetExtension(events.ExtensionKommune, "0202") // on 0202's subject, about 0101's document
	if err := e.bus.Publish(e.ctx, ev); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, "the event dead-lettered", func() error { return is(e.deadLetters(), 1) })
	if r, _ := e.get(cw0101, id); r.State != decide.StateAwaitingVerdict {
		t.Errorf("state = %s after another municipality's verdict, want awaiting_verdict", r.State)
	}
}

// A verdict written but never announced (the process stopped between the
// two) is announced by the sweep, once: a decision whose answer respond has
// reported on is left alone, so is one past the duplicate window (a copy
// could be answered twice), and announcing again stores no second event.
func TestUnannouncedDecisionIsAnnouncedAgain(t *testing.T) {
	logs := &logRecorder{}
	e := startWith(t, decide.Config{Reannounce: 200 * time.Millisecond}, decide.WithLogger(slog.New(logs)))
	lost, answered, old := e.awaiting("0101", 1), e.awaiting("0101", 2), e.awaiting("0101", 3)
	kv, err := e.js.KeyValue(e.ctx, decide.DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	decideDirectly := func(id string, answer decide.AnswerStatus, at time.Time) {
		t.Helper()
		entry, err := kv.Get(e.ctx, "0101."+id)
		if err != nil {
			t.Fatal(err)
		}
		var r decide.Record
		if err := json.Unmarshal(entry.Value(), &r); err != nil {
			t.Fatal(err)
		}
		r.State, r.DecidedAt, r.UpdatedAt = decide.StateApproved, &at, at
		r.Verdict = &decide.Verdict{ID: "v-" + id, Decision: events.DecisionApprove, By: "cw", At: at}
		r.Answer.Status = answer
		raw, _ := json.Marshal(r)
		if _, err := kv.Update(e.ctx, "0101."+id, raw, entry.Revision()); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	decideDirectly(lost, decide.StatusPending, now)
	decideDirectly(answered, decide.StatusDelivered, now)
	decideDirectly(old, decide.StatusPending, now.Add(-e.bus.Config().DuplicateWindow))

	bustest.Eventually(t, "the lost decision announced", func() error { return is(e.count("0101", events.TypeDocumentDecided), 1) })
	// The sweep that announces it again, a second later, has looked at the
	// other two again too; each sweep that announces logs how many.
	var sweeps []slog.Record
	bustest.Eventually(t, "a second sweep announcing", func() error {
		if sweeps = logs.records("decisions announced again"); len(sweeps) < 2 {
			return fmt.Errorf("%d so far", len(sweeps))
		}
		return nil
	})
	for _, r := range sweeps {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "count" && a.Value.Int64() != 1 {
				t.Errorf("a sweep announced %v decisions, want only the lost one", a.Value)
			}
			return true
		})
	}
	decided := eventsOf[events.DocumentDecided](e, "0101", events.TypeDocumentDecided)
	if len(decided) != 1 || decided[0].DocumentID != lost || decided[0].VerdictID != "v-"+lost {
		t.Errorf("document.decided events %+v, want one, for %s", decided, lost)
	}
}

// logRecorder is a slog.Handler keeping what is logged, so a test can wait
// on what a background loop reports.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

// records returns the records logged so far whose message starts with msg.
func (l *logRecorder) records(msg string) []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []slog.Record
	for _, r := range l.recs {
		if strings.HasPrefix(r.Message, msg) {
			out = append(out, r)
		}
	}
	return out
}

func TestReannounceMustStayInsideTheDuplicateWindow(t *testing.T) {
	ctx := context.Background()
	b, err := bus.New(ctx, natstest.Connect(t, natstest.Start(t)), bus.Config{Service: "decide", DuplicateWindow: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, err = decide.New(ctx, b, testTokens, decide.Config{Reannounce: 9 * time.Minute})
	if !errors.Is(err, decide.ErrConfig) {
		t.Errorf("New with reannounce 9m and a 10m duplicate window = %v, want ErrConfig", err)
	}
}
