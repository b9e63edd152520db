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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/cpr"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
	"github.com/kp-efaktura/efaktura/pkg/worker"
	"github.com/kp-efaktura/efaktura/services/decide"
)

// delivered publishes respond's answer.delivered for document id.
func (e *env) delivered(kommune, id string) {
	e.t.Helper()
	e.publish(e.ctx, events.TypeAnswerDelivered, kommune, id, []string{"a-" + id}, events.AnswerDelivered{
		AnswerID: "a-" + id, DocumentID: id, Kommune: kommune, EconomySystemID: "erp", Attempts: 2,
		DeliveredAt: t0.Add(2 * time.Hour), StatusCode: 200})
}

// archived waits until GET /v1/documents/{id} serves the document from the
// archive, as token sees it, and returns it.
func (e *env) archived(token, id string) *decide.AuditSummary {
	e.t.Helper()
	var a decide.AuditSummary
	bustest.Eventually(e.t, "document "+id+" archived", func() error {
		res := e.do(http.MethodGet, "/v1/documents/"+id, token, nil)
		if res.status != http.StatusOK {
			return fmt.Errorf("GET %d", res.status)
		}
		if err := json.Unmarshal(res.body, &a); err != nil {
			return err
		}
		return is(a.Archived, true)
	})
	return &a
}

// answered takes document i of kommune through a caseworker's verdict
// (with token) and the delivery of its answer, and waits until it is
// archived.
func (e *env) answered(kommune string, i int, token string, verdict any) string {
	e.t.Helper()
	id := e.awaiting(kommune, i)
	if res := e.do(http.MethodPost, verdictPath(id), token, verdict); res.status != http.StatusOK {
		e.t.Fatalf("verdict on %s: %d %s", id, res.status, res.body)
	}
	e.delivered(kommune, id)
	e.archived(token, id)
	return id
}

// archivePage is GET /v1/archive?<query> as token sees it.
func (e *env) archivePage(token, query string) (decide.ArchivePage, int) {
	e.t.Helper()
	res := e.do(http.MethodGet, "/v1/archive?"+query, token, nil)
	var p decide.ArchivePage
	if res.status == http.StatusOK {
		if err := json.Unmarshal(res.body, &p); err != nil {
			e.t.Fatal(err)
		}
	}
	return p, res.status
}

// archive returns the ids of every page of GET /v1/archive?<query> as
// token sees them, limit per page, and how many pages there were.
func (e *env) archive(token, query string, limit int) ([]string, int) {
	e.t.Helper()
	var ids []string
	cursor := ""
	for pages := 1; ; pages++ {
		p, status := e.archivePage(token, fmt.Sprintf("limit=%d&cursor=%s&%s", limit, cursor, query))
		if status != http.StatusOK {
			e.t.Fatalf("archive?%s: %d", query, status)
		}
		if len(p.Documents) > limit {
			e.t.Fatalf("archive?%s: a page of %d, limit %d", query, len(p.Documents), limit)
		}
		for _, d := range p.Documents {
			ids = append(ids, d.ID)
		}
		if p.NextCursor == "" {
			return ids, pages
		}
		if pages > 100 {
			e.t.Fatalf("archive?%s: more than 100 pages", query)
		}
		cursor = p.NextCursor
	}
}

// bucketHolds returns how many messages the stream behind the records
// bucket holds: records and purge markers.
func (e *env) bucketHolds() uint64 {
	e.t.Helper()
	s, err := e.js.Stream(e.ctx, "KV_"+decide.DefaultBucket)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}

// TestAnsweredDocumentIsArchived: once its answer is delivered, a document
// leaves the records bucket and the index for the archive, with no CPR
// number left, and GET still serves it; late and replayed events for it
// change nothing.
func TestAnsweredDocumentIsArchived(t *testing.T) {
	e := start(t)
	const cprNo, cprPlain = "010203-1234", "0102031234"
	id := e.docID(1)
	receipt := "R-" + cprPlain // free texts that hold CPR numbers
	e.received("0101", 1, receipt)
	e.validated("0101", 1, receipt, "Jens "+cprNo)
	e.waitState(cw0101, id, decide.StateAwaitingVerdict)
	reject := map[string]any{"decision": "reject", "note": "ring " + cprNo,
		"reasons": []map[string]string{{"code": "OTH", "text": "ukendt person " + cprNo}}}
	if res := e.do(http.MethodPost, verdictPath(id), cw0101, reject); res.status != http.StatusOK {
		t.Fatalf("reject: %d %s", res.status, res.body)
	}
	e.publish(e.ctx, events.TypeAnswerFailed, "0101", id, []string{"a-" + id, "1"}, events.AnswerFailed{
		AnswerID: "a-" + id, DocumentID: id, Kommune: "0101", Attempts: 1, Error: "503 for " + cprNo, FailedAt: t0.Add(time.Hour)})
	e.delivered("0101", id)

	a := e.archived(cw0101, id)
	if a.State != decide.StateRejected || a.Answer.Status != decide.StatusDelivered || a.Verdict == nil ||
		a.Verdict.Decision != events.DecisionReject || len(a.Verdict.Reasons) != 1 || a.Verdict.Reasons[0].Text != "ukendt person XXXXXX-XXXX" ||
		a.ReceiptNo != "R-XXXXXXXXXX" || a.Sender.ID != "12345674" || a.Summary == nil || a.Summary.Currency != "DKK" {
		t.Errorf("archived document = %+v", a)
	}
	// The open record is gone: from the bucket, the index and the lists.
	kv, err := e.js.KeyValue(e.ctx, decide.DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(e.ctx, "0101."+id); !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrKeyDeleted) {
		t.Errorf("the record in the bucket: %v, want it gone", err)
	}
	bustest.Eventually(t, "the index empty", func() error { return is(e.w.IndexLen(), 0) })
	if got := e.list(cw0101, ""); len(got) != 0 {
		t.Errorf("open documents = %v, want none", got)
	}
	// No CPR number anywhere in the archive: the bucket's value and the
	// stream's message.
	akv, err := e.js.KeyValue(e.ctx, decide.ArchiveBucket)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := akv.Get(e.ctx, "0101."+id)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.js.Stream(e.ctx, decide.ArchiveStream)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(e.ctx, decide.ArchiveSubject("0101", decide.StateRejected))
	if err != nil {
		t.Fatal(err)
	}
	for what, raw := range map[string][]byte{"archive bucket": entry.Value(), "archive stream": msg.Data} {
		if cpr.Contains(string(raw)) || bytes.Contains(raw, []byte("Jens")) || bytes.Contains(raw, []byte("ring")) {
			t.Errorf("the %s holds a CPR number or a personal free text: %s", what, raw)
		}
		if !bytes.Contains(raw, []byte(`"archived":true`)) || !bytes.Contains(raw, []byte(id)) {
			t.Errorf("the %s does not hold the summary: %s", what, raw)
		}
	}
	// Who may see it: as before.
	if _, status := e.get(cw0202, id); status != http.StatusNotFound {
		t.Errorf("GET by 0202's caseworker = %d, want 404", status)
	}
	if a := e.archived(admin, id); a.Kommune != "0101" {
		t.Errorf("GET by admin = %+v", a)
	}

	// Late and replayed events (new ids, as a dead-letter replay or a
	// lagging consumer would bring them) do not bring it back.
	e.publish(e.ctx, events.TypeDocumentReceived, "0101", id, []string{id, "replay"}, events.DocumentReceived{
		DocumentID: id, BundleID: e.bundle, Kommune: "0101", Index: 1, ReceiptNo: receipt, DocumentNo: "F-1",
		DocumentType: events.DocumentInvoice, Sender: events.Sender{Type: "CVR", ID: "12345674"}, ReceivedAt: t0})
	e.publish(e.ctx, events.TypeDocumentRejected, "0101", id, []string{id, "replay"}, events.DocumentRejected{
		DocumentID: id, BundleID: e.bundle, Kommune: "0101", ReceiptNo: receipt, DocumentNo: "F-1",
		DocumentType: events.DocumentInvoice, Ruleset: "r2", RejectedAt: t0,
		Findings: []events.Finding{{Rule: "V26", Severity: events.SeverityError, Message: "x"}}})
	e.publish(e.ctx, events.TypeAnswerParked, "0101", id, []string{"a-" + id, "late"}, events.AnswerParked{
		AnswerID: "a-" + id, DocumentID: id, Kommune: "0101", Reason: events.ParkAgreementMissing, ParkedAt: t0.Add(3 * time.Hour)})
	e.publish(e.ctx, events.TypeAnswerDelivered, "0101", id, []string{"a-" + id, "again"}, events.AnswerDelivered{
		AnswerID: "a-" + id, DocumentID: id, Kommune: "0101", EconomySystemID: "erp", Attempts: 2, DeliveredAt: t0.Add(2 * time.Hour)})
	other := busVerdict(id, "77777777-7777-4777-8777-777777777777", events.DecisionApprove)
	e.submit(other)
	bustest.Eventually(t, "the late verdict refused", func() error { return is(e.count("0101", events.TypeVerdictRefused), 1) })
	e.settled()
	if _, err := kv.Get(e.ctx, "0101."+id); !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrKeyDeleted) {
		t.Errorf("the record in the bucket after replays: %v, want it gone", err)
	}
	if n := e.w.IndexLen(); n != 0 {
		t.Errorf("index holds %d records after replays, want 0", n)
	}
	if n := e.count("0101", events.TypeDocumentDecided); n != 1 {
		t.Errorf("%d document.decided, want 1", n)
	}
	if rf := eventsOf[events.VerdictRefused](e, "0101", events.TypeVerdictRefused)[0]; rf.DecisionInForce != events.OutcomeRejected {
		t.Errorf("verdict.refused = %+v, want rejected in force", rf)
	}
	if info, err := s.Info(e.ctx); err != nil || info.State.Msgs != 1 {
		t.Errorf("archive stream holds %v messages (%v), want 1", info.State.Msgs, err)
	}
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
	// Over HTTP: the verdict in force again is a repeat, another a conflict.
	if res := e.do(http.MethodPost, verdictPath(id), cw0101, reject); res.status != http.StatusOK || res.header.Get(decide.VerdictHeader) != "repeated" {
		t.Errorf("the same verdict on the archived document: %d %s, want 200 repeated", res.status, res.body)
	}
	if res := e.do(http.MethodPost, verdictPath(id), cw0101, approve); res.status != http.StatusConflict || !bytes.Contains(res.body, []byte(`"state":"rejected"`)) {
		t.Errorf("another verdict on the archived document: %d %s, want 409 with the rejection", res.status, res.body)
	}
}

// TestArchiveListPagesAndIsolates: GET /v1/archive pages through the
// archive with a cursor, oldest first, and shows a caseworker only their
// own municipality's documents.
func TestArchiveListPagesAndIsolates(t *testing.T) {
	e := start(t)
	var approved, rejected, other []string
	for i := 1; i <= 5; i++ {
		if i%2 == 0 {
			rejected = append(rejected, e.answered("0101", i, cw0101, rejectPrices))
		} else {
			approved = append(approved, e.answered("0101", i, cw0101, approve))
		}
	}
	for i := 6; i <= 7; i++ {
		other = append(other, e.answered("0202", i, cw0202, approve))
	}
	all0101 := []string{approved[0], rejected[0], approved[1], rejected[1], approved[2]} // in the order archived

	for _, tc := range []struct {
		name, token, query string
		limit              int
		want               []string
		pages              int
	}{
		{"own, pages of 2", cw0101, "", 2, all0101, 3},
		{"own, one page", cw0101, "", 10, all0101, 1},
		{"own, approved", cw0101, "state=approved", 2, approved, 2},
		{"own, rejected", cw0101, "state=rejected", 2, rejected, 1},
		{"own, named", cw0101, "kommune=0101", 4, all0101, 2},
		{"another's", cw0101, "kommune=0202", 2, nil, 1},
		{"the other municipality", cw0202, "", 1, other, 2},
		{"admin, all", admin, "", 3, slices.Concat(all0101, other), 3},
		{"admin, one municipality", admin, "kommune=0202&state=approved", 5, other, 1},
		{"admin, none", admin, "kommune=0303", 5, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := e.archive(tc.token, tc.query, tc.limit)
			if !slices.Equal(got, tc.want) || pages != tc.pages {
				t.Errorf("archive?%s limit %d = %v in %d pages, want %v in %d", tc.query, tc.limit, got, pages, tc.want, tc.pages)
			}
		})
	}
	for _, q := range []string{"state=awaiting_verdict", "limit=0", "limit=11", "cursor=xyz", "cursor=" + "czEuMA", "kommune=1"} {
		if _, status := e.archivePage(cw0101, q); status != http.StatusBadRequest {
			t.Errorf("archive?%s = %d, want 400", q, status)
		}
	}
	if _, status := e.archivePage(ingest, ""); status != http.StatusForbidden {
		t.Errorf("archive with an ingest token = %d, want 403", status)
	}
	if _, status := e.archivePage("", ""); status != http.StatusUnauthorized {
		t.Errorf("archive without a token = %d, want 401", status)
	}
	// Each page is read through a consumer of its own, deleted afterwards.
	s, err := e.js.Stream(e.ctx, decide.ArchiveStream)
	if err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, "no consumer left on the archive", func() error {
		info, err := s.Info(e.ctx)
		if err != nil {
			return err
		}
		return is(info.State.Consumers, 0)
	})
}

// TestRestartHoldsOnlyOpenDocuments: after many archived documents, a
// replica that starts (a restart) loads only the open ones, and the
// records bucket holds nothing else once the purge markers have expired.
func TestRestartHoldsOnlyOpenDocuments(t *testing.T) {
	e := startWith(t, decide.Config{PerPage: 2, MaxPerPage: 10}, decide.WithMarkerTTL(time.Second))
	const archived, open = 20, 3
	for i := 1; i <= archived; i++ {
		e.answered("0101", i, cw0101, approve)
	}
	for i := archived + 1; i <= archived+open; i++ {
		e.awaiting("0101", i)
	}
	bustest.Eventually(t, "the purge markers expired", func() error { return is(e.bucketHolds(), uint64(open)) })

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	w, err := decide.New(ctx, e.bus, testTokens, decide.Config{}, decide.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, "the new replica ready", func() error { return w.Ready(ctx) })
	if n := w.IndexLen(); n != open {
		t.Errorf("the restarted index holds %d records, want the %d open ones", n, open)
	}
	if n := e.w.IndexLen(); n != open {
		t.Errorf("the running index holds %d records, want the %d open ones", n, open)
	}
	if got, _ := e.archive(cw0101, "", 10); len(got) != archived {
		t.Errorf("%d documents in the archive, want %d", len(got), archived)
	}
}

// TestReadinessWaitsForTheIndex: /readyz answers 503 and lists wait (then
// 503) until the index has loaded the open documents.
func TestReadinessWaitsForTheIndex(t *testing.T) {
	gate := make(chan struct{})
	var once bool
	open := func() {
		if !once {
			once = true
			close(gate)
		}
	}
	t.Cleanup(open)
	e := startWith(t, decide.Config{Timeout: 200 * time.Millisecond}, decide.WithLoadGate(gate))
	health := httptest.NewServer(worker.Health(&telemetry.Providers{Metrics: http.NotFoundHandler()},
		worker.Check{Name: "document index", Ready: e.w.Ready}))
	t.Cleanup(health.Close)
	readyz := func() (int, string) {
		t.Helper()
		res, err := http.Get(health.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "document index") {
		t.Errorf("/readyz before the index loaded = %d %q, want 503 naming the index", code, body)
	}
	if res := e.do(http.MethodGet, "/v1/documents", cw0101, nil); res.status != http.StatusServiceUnavailable {
		t.Errorf("list before the index loaded = %d %s, want 503", res.status, res.body)
	}
	open()
	bustest.Eventually(t, "ready", func() error {
		code, body := readyz()
		if code != http.StatusOK {
			return fmt.Errorf("%d %q", code, body)
		}
		return nil
	})
	if res := e.do(http.MethodGet, "/v1/documents", cw0101, nil); res.status != http.StatusOK {
		t.Errorf("list once the index loaded = %d %s, want 200", res.status, res.body)
	}
}

// TestCommandMakesTheIndexACheckOfReadiness: the worker as a process is
// ready only with its index loaded.
func TestCommandMakesTheIndexACheckOfReadiness(t *testing.T) {
	ctx := t.Context()
	b, err := bus.New(ctx, natstest.Connect(t, natstest.Start(t)), bus.Config{Service: "decide", Subjects: events.StreamSubjects(), Storage: "memory"},
		bus.WithSubjects(events.SubjectOf), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	d := &worker.Deps{Bus: b, Log: slog.New(slog.DiscardHandler), Mux: http.NewServeMux()}
	if err := decide.Command().Setup(ctx, d); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range d.Checks() {
		names = append(names, c.Name)
		if c.Name == "document index" {
			bustest.Eventually(t, "the index check holds", func() error { return c.Ready(ctx) })
		}
	}
	if !slices.Contains(names, "document index") {
		t.Errorf("checks %v, want one named document index", names)
	}
}
