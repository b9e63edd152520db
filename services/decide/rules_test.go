package decide_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
	"github.com/kp-efaktura/efaktura/services/decide"
)

// rulesEnv is a decide worker with a real municipality registry: the
// rules come from the tenant store, on file-backed embedded JetStream
// that can be restarted on the same data.
type rulesEnv struct {
	*env
	store *tenant.Store
	reg   *tenant.Registry
	dir   string
	port  int
	stop  func() // the worker, its bus and the server
}

func startRules(t *testing.T, dir string, port int) *rulesEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s := natstest.StartWith(t, natstest.Options{StoreDir: dir, Port: port})
	nc := natstest.Connect(t, s)
	quiet := slog.New(slog.DiscardHandler)
	b, err := bus.New(ctx, nc, bus.Config{
		Service: "decide", Subjects: events.StreamSubjects(),
		MaxDeliver: 5, Backoff: []time.Duration{100 * time.Millisecond}, Drain: 2 * time.Second,
	}, bus.WithSubjects(events.SubjectOf), bus.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	js := b.JetStream()
	store, err := tenant.NewStore(ctx, js, tenant.StoreConfig{}, b.Publish)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := tenant.NewRegistry(ctx, js, tenant.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := decide.New(ctx, b, testTokens, decide.Config{}, decide.WithLogger(quiet), decide.WithTenants(reg))
	if err != nil {
		t.Fatal(err)
	}
	w.Register()
	mux := http.NewServeMux()
	w.Routes(mux)
	srv := httptest.NewServer(mux)
	stopBus := bustest.Run(t, b)
	e := &rulesEnv{
		env:   &env{t: t, ctx: ctx, js: js, bus: b, w: w, url: srv.URL},
		store: store, reg: reg, dir: dir, port: s.Addr().(*net.TCPAddr).Port,
	}
	e.stop = func() {
		srv.Close()
		_ = stopBus()
		cancel()
		nc.Close()
		s.Shutdown()
		s.WaitForShutdown()
	}
	t.Cleanup(e.stop)
	return e
}

// setRules stores the municipality (once) and its rules, and waits for
// the registry decide reads.
func (e *rulesEnv) setRules(mode tenant.RulesMode) {
	e.t.Helper()
	if _, err := e.store.Get(e.ctx, "0101"); err != nil {
		if _, err := e.store.Put(e.ctx, tenant.Tenant{
			Kommune: "0101", Name: "Kommune", CVR: "64942212",
			EconomySystem: tenant.EconomySystem{ID: "erp", Name: "ERP", Endpoint: "https://erp.example/svar", Secret: "s"},
		}, 0); err != nil {
			e.t.Fatal(err)
		}
	}
	saved, err := e.store.SetRules(e.ctx, "0101", tenant.Rules{Mode: mode, Rules: []tenant.Rule{
		{Name: "big-trusted", Decision: "approve", Senders: []string{"CVR:87654321"}, DocumentTypes: []string{"INVOICE"}, MaxAmountInclVAT: "1000000", Currencies: []string{"DKK"}},
		{Name: "small-trusted", Decision: "approve", Senders: []string{"CVR:12345674", "EAN:5790000000012"},
			DocumentTypes: []string{"INVOICE", "CREDIT_NOTE"}, MaxAmountInclVAT: "5000.00", Currencies: []string{"DKK"}},
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	// decide reads its registry, which follows the bucket.
	if err := e.reg.WaitVersion(e.ctx, "0101", saved.Version); err != nil {
		e.t.Fatal(err)
	}
}

// doc is a valid invoice that small-trusted approves; change adjusts it.
type doc struct {
	ref, no  string
	sender   events.Sender
	typ      events.DocumentType
	total    string
	currency string
	date     string
	findings []events.Finding
}

func okDoc(ref, no string) doc {
	return doc{ref: ref, no: no, sender: events.Sender{Type: "CVR", ID: "12345674"}, typ: events.DocumentInvoice,
		total: "1234,50", currency: "DKK", date: "2025-08-01"}
}

// send publishes document.received and document.validated of d, the first
// document of bundle d.ref, and returns its id.
func (e *rulesEnv) send(d doc) string {
	e.t.Helper()
	bundle := events.BundleID("sp", d.sender.Type, d.sender.ID, d.ref, 2025)
	id := events.DocumentID(bundle, 1)
	e.publish(e.ctx, events.TypeDocumentReceived, "0101", id, []string{id}, events.DocumentReceived{
		DocumentID: id, BundleID: bundle, Kommune: "0101", Index: 1, ReceiptNo: "R-" + d.no,
		DocumentNo: d.no, DocumentType: d.typ, Sender: d.sender, Reference: d.ref, ReceivedAt: t0,
	})
	e.publish(e.ctx, events.TypeDocumentValidated, "0101", id, []string{id, "r1"}, events.DocumentValidated{
		DocumentID: id, BundleID: bundle, Kommune: "0101", Reference: d.ref, Sender: d.sender,
		ReceiptNo: "R-" + d.no, DocumentNo: d.no, DocumentType: d.typ, Findings: d.findings,
		Ruleset: "efaktura-2.1.0/r1", ValidatedAt: t0.Add(time.Second),
		Summary: events.Summary{Currency: d.currency, TotalAmountInclVAT: d.total, DocumentDate: d.date, BillToName: "Jens Hansen", Lines: 1},
	})
	return id
}

func history(r *decide.Record, what string) *decide.Entry {
	for i := range r.History {
		if r.History[i].What == what {
			return &r.History[i]
		}
	}
	return nil
}

// waitJudged waits for the document's validation (with its assessment) to
// be recorded and the handler to settle, and returns the record.
func (e *rulesEnv) waitJudged(id string) *decide.Record {
	e.t.Helper()
	var r *decide.Record
	bustest.Eventually(e.t, "document "+id+" validated", func() error {
		var status int
		if r, status = e.get(cw0101, id); r == nil {
			return fmt.Errorf("GET %d", status)
		}
		if r.JudgedAt.IsZero() {
			return fmt.Errorf("not judged yet")
		}
		return nil
	})
	e.settled()
	r, _ = e.get(cw0101, id)
	return r
}

func TestRuleApprovesAMatchingDocument(t *testing.T) {
	e := startRules(t, t.TempDir(), 0)
	e.setRules(tenant.RulesEnforce)
	d := okDoc("REF-1", "F-1")
	d.total = "5000,000" // exactly the limit, at another scale
	id := e.send(d)
	r := e.waitState(cw0101, id, decide.StateApproved)
	if r.Verdict == nil || r.Verdict.By != "rule:small-trusted" || r.Verdict.Decision != events.DecisionApprove || r.Verdict.ID == "" {
		t.Fatalf("verdict %+v", r.Verdict)
	}
	if r.Rule == nil || r.Rule.Mode != tenant.RulesEnforce || r.Rule.Name != "small-trusted" {
		t.Fatalf("rule outcome %+v", r.Rule)
	}
	m := history(r, decide.WhatRuleMatched)
	if m == nil || m.By != "rule:small-trusted" || !strings.Contains(m.Detail, "sender CVR:12345674 is listed") ||
		!strings.Contains(m.Detail, "the total 5000.000 DKK is at most 5000.00") || !strings.Contains(m.Detail, "no possible duplicate") {
		t.Errorf("rule_matched entry %+v", m)
	}
	if v := history(r, decide.WhatVerdict); v == nil || v.By != "rule:small-trusted" {
		t.Errorf("verdict entry %+v", v)
	}
	e.settled()
	decided := eventsOf[events.DocumentDecided](e.env, "0101", events.TypeDocumentDecided)
	if len(decided) != 1 || decided[0].DecidedBy != "rule:small-trusted" || decided[0].Decision != events.OutcomeApproved {
		t.Errorf("document.decided %+v", decided)
	}
	// Exactly one verdict wins: a caseworker's reject after it is refused.
	res := e.do(http.MethodPost, verdictPath(id), cw0101, `{"decision":"reject","reasons":[{"code":"OTH","text":"no"}]}`)
	if res.status != http.StatusConflict {
		t.Errorf("a caseworker's verdict after the rule's = %d %s", res.status, res.body)
	}
}

func TestRuleNonMatchesWaitForACaseworker(t *testing.T) {
	e := startRules(t, t.TempDir(), 0)
	e.setRules(tenant.RulesEnforce)
	earlier := e.send(okDoc("REF-0", "F-100"))
	e.waitState(cw0101, earlier, decide.StateApproved)
	for i, tc := range []struct {
		name, fact string
		change     func(*doc)
	}{
		{"sender", "sender CVR:11111111 is not listed", func(d *doc) { d.sender = events.Sender{Type: "CVR", ID: "11111111"} }},
		{"type", "document type REMINDER is not listed", func(d *doc) { d.typ = events.DocumentReminder }},
		{"amount", "the total 5000.01 DKK is over 5000.00", func(d *doc) { d.total = "5000,01" }},
		{"currency", "currency EUR is not listed", func(d *doc) { d.currency = "EUR" }},
		{"finding", "1 finding(s) (V33)", func(d *doc) {
			d.findings = []events.Finding{{Rule: "V33", Severity: events.SeverityWarning, Path: "/INVOICES/DOCUMENT[1]", Message: "a warning"}}
		}},
		{"duplicate", "possible duplicate of " + earlier + " (same_document_no, approved)", func(d *doc) { d.no = "F-100"; d.total = "1,00" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := okDoc("REF-"+tc.name, "F-"+tc.name)
			d.date = fmt.Sprintf("2025-09-%02d", i+1) // no same amount and date with the others
			tc.change(&d)
			id := e.send(d)
			r := e.waitJudged(id)
			if r.State != decide.StateAwaitingVerdict || r.Verdict != nil {
				t.Fatalf("state %s, verdict %+v: want awaiting_verdict", r.State, r.Verdict)
			}
			if r.Rule == nil || r.Rule.Name != "" || r.Rule.Mode != tenant.RulesEnforce {
				t.Errorf("rule outcome %+v, want no rule matched", r.Rule)
			}
			if h := history(r, decide.WhatRuleNotMatched); h == nil || !strings.Contains(h.Detail, tc.fact) {
				t.Errorf("rule_not_matched entry %+v", h)
			}
			// A caseworker decides it.
			if res := e.do(http.MethodPost, verdictPath(id), cw0101, `{"decision":"approve"}`); res.status != http.StatusOK {
				t.Errorf("caseworker's verdict = %d %s", res.status, res.body)
			}
		})
	}
}

func TestRuleDryRunDecidesNothing(t *testing.T) {
	e := startRules(t, t.TempDir(), 0)
	e.setRules(tenant.RulesDryRun)
	id := e.send(okDoc("REF-1", "F-1"))
	r := e.waitJudged(id)
	if r.State != decide.StateAwaitingVerdict || r.Verdict != nil {
		t.Fatalf("state %s, verdict %+v", r.State, r.Verdict)
	}
	if r.Rule == nil || r.Rule.Mode != tenant.RulesDryRun || r.Rule.Name != "small-trusted" || r.Rule.Decision != events.DecisionApprove {
		t.Errorf("rule outcome %+v", r.Rule)
	}
	if h := history(r, decide.WhatRuleDryRun); h == nil || h.By != "rule:small-trusted" || !strings.HasPrefix(h.Detail, "would approve (dry run): sender CVR:12345674 is listed") {
		t.Errorf("rule_dry_run entry %+v", h)
	}
	// The queue entry says it too.
	res := e.do(http.MethodGet, "/v1/documents?state=awaiting_verdict", cw0101, nil)
	var page struct {
		Documents []struct {
			ID   string              `json:"id"`
			Rule *decide.RuleOutcome `json:"rule"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(res.body, &page); err != nil || len(page.Documents) != 1 || page.Documents[0].Rule == nil || page.Documents[0].Rule.Name != "small-trusted" {
		t.Errorf("queue = %s (%v)", res.body, err)
	}
	if n := e.count("0101", events.TypeDocumentDecided); n != 0 {
		t.Errorf("%d document.decided in dry run", n)
	}
}

func TestResentInvoiceIsFlaggedAndHeld(t *testing.T) {
	e := startRules(t, t.TempDir(), 0)
	e.setRules(tenant.RulesEnforce)
	first := e.send(okDoc("REF-1", "F-7"))
	e.waitState(cw0101, first, decide.StateApproved)

	// The same invoice in a new bundle, with another REFERENCE: V10 does
	// not catch it; decide flags it, and the rule leaves it alone.
	again := e.send(okDoc("REF-1-resent", "F-7"))
	r := e.waitJudged(again)
	if r.State != decide.StateAwaitingVerdict {
		t.Fatalf("the resent invoice is %s", r.State)
	}
	want := []decide.PossibleDuplicate{
		{DocumentID: first, Reason: decide.SameDocumentNo, State: decide.StateApproved},
		{DocumentID: first, Reason: decide.SameAmountAndDate, State: decide.StateApproved},
	}
	if !slices.Equal(r.PossibleDuplicates, want) {
		t.Errorf("possible duplicates %+v, want %+v", r.PossibleDuplicates, want)
	}
	if h := history(r, decide.WhatPossibleDuplicate); h == nil || !strings.Contains(h.Detail, "same_document_no "+first+" (approved)") {
		t.Errorf("possible_duplicate entry %+v", h)
	}
	// The queue entry carries them; the first document does not (it is
	// the earlier one).
	res := e.do(http.MethodGet, "/v1/documents?state=awaiting_verdict", cw0101, nil)
	if !strings.Contains(string(res.body), `"possible_duplicates":[{"document_id":"`+first+`","reason":"same_document_no","state":"approved"}`) {
		t.Errorf("queue = %s", res.body)
	}
	if r, _ := e.get(cw0101, first); r == nil || len(r.PossibleDuplicates) != 0 {
		t.Errorf("the first document has possible duplicates")
	}
	// Another invoice with the same total and date (100,5 is 100,50) but
	// another number: flagged for the amount only.
	d := okDoc("REF-2", "F-8")
	d.total = "1234,500"
	third := e.send(d)
	r = e.waitJudged(third)
	if r.State != decide.StateAwaitingVerdict || len(r.PossibleDuplicates) != 2 ||
		r.PossibleDuplicates[0].Reason != decide.SameAmountAndDate || r.PossibleDuplicates[0].DocumentID != again ||
		r.PossibleDuplicates[1].DocumentID != first {
		t.Errorf("the third document: %s, %+v", r.State, r.PossibleDuplicates)
	}
	// Another sender's invoice with the same number is no duplicate.
	d = okDoc("REF-3", "F-7")
	d.sender = events.Sender{Type: "EAN", ID: "5790000000012"}
	other := e.send(d)
	if r := e.waitState(cw0101, other, decide.StateApproved); len(r.PossibleDuplicates) != 0 {
		t.Errorf("another sender's document: %+v", r.PossibleDuplicates)
	}
}

func TestRulesAndDuplicateIndexSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	e := startRules(t, dir, 0)
	e.setRules(tenant.RulesEnforce)
	first := e.send(okDoc("REF-1", "F-1"))
	e.waitState(cw0101, first, decide.StateApproved)
	e.settled()
	port := e.port
	e.stop()

	e = startRules(t, dir, port)
	// The rules, from the municipality's record.
	d := okDoc("REF-2", "F-2")
	d.total = "99,00"
	second := e.send(d)
	if r := e.waitState(cw0101, second, decide.StateApproved); r.Verdict.By != "rule:small-trusted" {
		t.Errorf("after the restart: verdict by %q", r.Verdict.By)
	}
	// The index: the first document's resend is flagged.
	resent := e.send(okDoc("REF-1-resent", "F-1"))
	r := e.waitJudged(resent)
	if r.State != decide.StateAwaitingVerdict || len(r.PossibleDuplicates) == 0 || r.PossibleDuplicates[0].DocumentID != first {
		t.Errorf("the resent document after the restart: %s, %+v", r.State, r.PossibleDuplicates)
	}
}
