package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// readyTenantsFile is a second municipality, 0202, whose agreements are
// approved: ready from the start.
const readyTenantsFile = `tenants:
  - kommune: "0202"
    name: Anden Kommune
    cvr: "11223344"
    economy_system: {id: erp-0202, name: ERP, endpoint: "http://127.0.0.1:1/answers", secret: s}
    senders: [{type: CVR, id: "12345674", nets: false}]
    agreements:
      forside: {state: approved}
      bagside: {state: approved}
    tokens: [{role: caseworker, name: other, token: case-0202}, {role: ingest, name: erp-0202, token: ingest-0202}]
`

const testDeadline = "2026-02-09"

// startTwoMunicipalities runs up with the demo municipality 0101 pending and
// 0202 ready, and the rollout's deadline.
func startTwoMunicipalities(t *testing.T) *system {
	t.Helper()
	file := writeFile(t, "tenants.yaml", []byte(readyTenantsFile))
	return startUpConfig(t, upConfig{HTTPAddr: freeAddr(t), DataDir: t.TempDir(), Pending: true, TenantsFile: file},
		map[string]string{"EFAKTURA_AGREEMENTS_DEADLINE": testDeadline})
}

// agreements returns GET /v1/agreements+query as the admin.
func (s *system) agreements(query string) []tenant.Readiness {
	s.t.Helper()
	code, body := s.do("GET", "/v1/agreements"+query, "admin-t", nil)
	if code != 200 {
		s.t.Fatalf("GET /v1/agreements%s: %d %s", query, code, body)
	}
	var l tenant.AgreementsList
	if err := json.Unmarshal(body, &l); err != nil {
		s.t.Fatal(err)
	}
	return l.Municipalities
}

func rowKommunes(rows []tenant.Readiness) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.Kommune)
	}
	return out
}

func rowOf(rows []tenant.Readiness, kommune string) tenant.Readiness {
	for _, r := range rows {
		if r.Kommune == kommune {
			return r
		}
	}
	return tenant.Readiness{}
}

// TestAgreementsAcrossMunicipalities is issue 15 end to end: two
// municipalities, one ready and one pending with parked answers; the
// table, its filters, the CSV and the metrics; a mismatch; approving the
// second agreement sends the parked answers in decision order; a
// withdrawal parks the next answer and touches none delivered; roles.
func TestAgreementsAcrossMunicipalities(t *testing.T) {
	s := startTwoMunicipalities(t)
	if code, body := s.post("valid-bundle-3-documents.xml"); code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	var waiting []docJSON
	bustest.Eventually(t, "three documents awaiting a verdict", func() error { waiting = s.documents("awaiting_verdict"); return is(len(waiting), 3) })
	order := []int{2, 0, 1}
	for _, i := range order {
		if code, resp := s.verdict(waiting[i].ID, `{"decision":"approve"}`); code != 200 {
			t.Fatalf("verdict: %d %s", code, resp)
		}
	}
	before := time.Now().Add(-time.Minute)
	bustest.Eventually(t, "three answers parked in the table", func() error {
		return is(rowOf(s.agreements(""), demoKommune).ParkedAnswers, uint64(3))
	})

	rows := s.agreements("")
	if got := rowKommunes(rows); !slices.Equal(got, []string{"0101", "0202"}) {
		t.Fatalf("rows %v", got)
	}
	pending, ready := rows[0], rows[1]
	if pending.Ready || pending.Mismatch || pending.Forside.State != tenant.Requested || pending.Bagside.State != tenant.Requested ||
		pending.OldestParkedAt == nil || pending.OldestParkedAt.Before(before) || pending.Deadline != testDeadline ||
		pending.Forside.ChangedBy != "efaktura up" || pending.Forside.ChangedAt == nil {
		t.Errorf("0101 = %+v; want pending with 3 answers parked just now, by efaktura up", pending)
	}
	if !ready.Ready || ready.Mismatch || ready.ParkedAnswers != 0 || ready.OldestParkedAt != nil || ready.Name != "Anden Kommune" ||
		ready.Bagside.State != tenant.Approved || ready.Bagside.EconomySystem != "erp-0202" || ready.Bagside.ChangedBy != "tenants file" {
		t.Errorf("0202 = %+v; want ready with nothing parked, from the tenants file", ready)
	}
	for query, want := range map[string][]string{
		"?ready=true": {"0202"}, "?ready=false": {"0101"}, "?mismatch=true": {},
	} {
		if got := rowKommunes(s.agreements(query)); !slices.Equal(got, want) {
			t.Errorf("GET /v1/agreements%s = %v, want %v", query, got, want)
		}
	}
	bustest.Eventually(t, "the readiness metrics", func() error {
		return expect(s.scrape(), []sample{
			eq("efaktura_municipalities_ready", nil, 1), eq("efaktura_municipalities_not_ready", nil, 1),
			eq("efaktura_agreements_deadline_timestamp_seconds", nil, float64(time.Date(2026, 2, 9, 0, 0, 0, 0, time.UTC).Unix())),
			eq("efaktura_answers_parked", labels{"kommune": demoKommune}, 3),
		})
	})

	// Roles: only an admin token reads the table.
	for _, tok := range []string{"case-t", "ingest-t", "case-0202"} {
		if code, body := s.do("GET", "/v1/agreements", tok, nil); code != 403 {
			t.Errorf("GET /v1/agreements with %s: %d %s, want 403", tok, code, body)
		}
	}
	if code, _ := s.do("GET", "/v1/agreements", "", nil); code != 401 {
		t.Errorf("GET /v1/agreements without a token: %d, want 401", code)
	}

	// The same data from the CLI, as CSV for the letters.
	code, out, stderr := runCmd(t, nil, "agreement", "status", "--api", s.base, "--token", "admin-t", "--ready", "false", "--csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != exitOK || err != nil || len(recs) != 2 || recs[1][0] != demoKommune || recs[1][13] != "3" || recs[1][15] != testDeadline {
		t.Errorf("agreement status --ready false --csv: exit %d, %v, %q %s", code, err, out, stderr)
	}
	if code, out, _ := runCmd(t, nil, "agreement", "status", "--api", s.base, "--token", "admin-t"); code != exitOK ||
		!strings.Contains(out, "0101") || !strings.Contains(out, "0202") || !strings.Contains(out, "PARKED") {
		t.Errorf("agreement status: exit %d, %q", code, out)
	}

	setAgreement := func(name, body string, want int) {
		t.Helper()
		if code, resp := s.do("PUT", "/v1/tenants/0101/agreements/"+name, "admin-t", []byte(body)); code != want {
			t.Fatalf("PUT agreement %s %s: %d %s, want %d", name, body, code, resp, want)
		}
	}
	// A mismatch: forside approved naming another economy system.
	setAgreement("forside", `{"state":"approved","economy_system":"another-erp"}`, 200)
	setAgreement("bagside", `{"state":"approved"}`, 200)
	row := rowOf(s.agreements("?mismatch=true"), demoKommune)
	if row.Kommune != demoKommune || row.Ready || row.Forside.EconomySystem != "another-erp" || row.Forside.ChangedBy != "admin" {
		t.Errorf("mismatch row = %+v", row)
	}
	bustest.Quiet(t, s.jetStream(), "EFAKTURA")
	if n := len(s.answers()); n != 0 {
		t.Fatalf("%d answers delivered under a mismatch", n)
	}
	// Withdrawing a requested agreement is no transition.
	if code, body := s.do("PUT", "/v1/tenants/0202/agreements/bagside", "admin-t", []byte(`{"state":"requested"}`)); code != 409 ||
		!strings.Contains(string(body), "from approved to requested") {
		t.Errorf("approved to requested: %d %s, want 409 naming both", code, body)
	}

	// The correction makes 0101 ready: the parked answers leave in order.
	setAgreement("forside", `{"state":"approved","economy_system":"erp-sim"}`, 200)
	s.waitAnswersInOrder(t, waiting, order)
	bustest.Eventually(t, "both ready, nothing parked", func() error {
		if r := rowOf(s.agreements(""), demoKommune); !r.Ready || r.ParkedAnswers != 0 || r.OldestParkedAt != nil {
			return fmt.Errorf("%+v", r)
		}
		return expect(s.scrape(), []sample{eq("efaktura_municipalities_ready", nil, 2), eq("efaktura_municipalities_not_ready", nil, 0)})
	})
	if got := rowKommunes(s.agreements("?ready=false")); len(got) != 0 {
		t.Errorf("not ready after approval: %v", got)
	}

	// A withdrawal parks the next answer; the three delivered stay as
	// they are, each delivered once.
	setAgreement("bagside", `{"state":"withdrawn"}`, 200)
	setAgreement("bagside", `{"state":"approved"}`, 409) // a new request first
	s.postSamples("ingest-t", 1, 1, 1500)
	bustest.Eventually(t, "a fourth document awaiting a verdict", func() error { waiting = s.documents("awaiting_verdict"); return is(len(waiting), 1) })
	if code, resp := s.verdict(waiting[0].ID, `{"decision":"approve"}`); code != 200 {
		t.Fatalf("verdict: %d %s", code, resp)
	}
	bustest.Eventually(t, "the fourth answer parked", func() error {
		r := rowOf(s.agreements("?ready=false"), demoKommune)
		return is(r.ParkedAnswers, uint64(1))
	})
	got := s.answers()
	if len(got) != 3 {
		t.Errorf("%d answers at the economy system after the withdrawal, want the 3 delivered before", len(got))
	}
	for _, a := range got {
		if a.Deliveries != 1 {
			t.Errorf("answer %s delivered %d times", a.IdempotencyKey, a.Deliveries)
		}
	}

	// The history, one click away: every change, by whom, from and to.
	code, body := s.do("GET", "/v1/tenants/0101/history", "admin-t", nil)
	var h tenant.HistoryList
	if err := json.Unmarshal(body, &h); code != 200 || err != nil {
		t.Fatalf("history: %d %s", code, body)
	}
	var steps []string
	for _, c := range h.History {
		steps = append(steps, fmt.Sprintf("%s %s:%s>%s", c.By, c.Agreement, c.From, c.To))
	}
	want := []string{"efaktura up forside:>requested", "efaktura up bagside:>requested",
		"admin forside:requested>approved", "admin bagside:requested>approved", "admin forside:approved>approved", "admin bagside:approved>withdrawn"}
	if !slices.Equal(steps, want) {
		t.Errorf("history %q, want %q", steps, want)
	}
}
