package tenant_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// parkAnswers makes kommune's answer queue as respond keeps it, in real
// JetStream: the stream of queued answers, the paused durable consumer
// respond-answers-<kommune>, and n answers queued on it.
func parkAnswers(t *testing.T, e *env, kommune string, n int) {
	t.Helper()
	s, err := e.js.CreateOrUpdateStream(e.ctx, jetstream.StreamConfig{
		Name: tenant.AnswerStream, Subjects: []string{events.AnswerQueueSubjects}, Retention: jetstream.WorkQueuePolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	subject, err := events.Subject(kommune, events.TypeAnswerQueued)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{
		Durable: tenant.AnswerQueuePrefix + kommune, FilterSubject: subject, AckPolicy: jetstream.AckExplicitPolicy,
		PauseUntil: new(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)),
	}); err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := e.js.Publish(e.ctx, subject, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	// The consumer counts a stored message as pending a moment after the
	// publish is acknowledged: wait for that, as respond's queue would.
	c, err := s.Consumer(e.ctx, tenant.AnswerQueuePrefix+kommune)
	if err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, fmt.Sprintf("%d answers pending on %s's queue", n, kommune), func() error {
		info, err := c.Info(e.ctx)
		if err != nil {
			return err
		}
		if info.NumPending != uint64(n) {
			return fmt.Errorf("%d pending", info.NumPending)
		}
		return nil
	})
}

func TestAdminAPIAgreements(t *testing.T) {
	e := newEnv(t)
	deadline, err := tenant.ParseDeadline("2026-02-09")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant.NewAdminAPI(e.store, e.registry, tenant.WithParked(tenant.AnswerQueues{JS: e.js}), tenant.WithDeadline(deadline)))
	t.Cleanup(srv.Close)
	a := &api{t: t, srv: srv, e: e}

	ready := example("0101")
	ready.Agreements[tenant.Bagside] = tenant.Agreement{State: tenant.Approved}
	e.put(t, ready)
	e.put(t, example("0751")) // bagside requested
	mismatch := example("0851")
	mismatch.Agreements[tenant.Bagside] = tenant.Agreement{State: tenant.Approved, EconomySystem: "another-erp"}
	e.put(t, mismatch)
	before := time.Now().UTC().Add(-time.Second)
	parkAnswers(t, e, "0751", 2)

	list := func(query string) []tenant.Readiness {
		t.Helper()
		status, body, _ := a.do("GET", "/v1/agreements"+query, adminToken, "")
		if status != http.StatusOK {
			t.Fatalf("GET /v1/agreements%s = %d %s", query, status, body)
		}
		var l tenant.AgreementsList
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		return l.Municipalities
	}
	kommunes := func(rows []tenant.Readiness) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.Kommune)
		}
		return out
	}
	rows := list("")
	if got := kommunes(rows); !slices.Equal(got, []string{"0101", "0751", "0851"}) {
		t.Fatalf("rows %v", got)
	}
	r0, r1, r2 := rows[0], rows[1], rows[2]
	if !r0.Ready || r0.Mismatch || r0.ParkedAnswers != 0 || r0.OldestParkedAt != nil || r0.Deadline != "2026-02-09" || r0.Name != "København" ||
		r0.Forside.State != tenant.Approved || r0.Forside.EconomySystem != "opus-kbh" || r0.Forside.ChangedAt == nil || r0.Forside.ChangedBy != "system" {
		t.Errorf("ready row = %+v", r0)
	}
	if r1.Ready || r1.Mismatch || r1.Bagside.State != tenant.Requested || r1.ParkedAnswers != 2 || r1.OldestParkedAt == nil || r1.OldestParkedAt.Before(before) {
		t.Errorf("pending row = %+v, want not ready with 2 parked answers queued just now", r1)
	}
	if r2.Ready || !r2.Mismatch || r2.Bagside.EconomySystem != "another-erp" {
		t.Errorf("mismatch row = %+v", r2)
	}
	for query, want := range map[string][]string{
		"?ready=true":                {"0101"},
		"?ready=false":               {"0751", "0851"},
		"?mismatch=true":             {"0851"},
		"?ready=false&mismatch=true": {"0851"},
		"?mismatch=false":            {"0101", "0751"},
	} {
		if got := kommunes(list(query)); !slices.Equal(got, want) {
			t.Errorf("GET /v1/agreements%s = %v, want %v", query, got, want)
		}
	}
	if status, body, _ := a.do("GET", "/v1/agreements?ready=yes", adminToken, ""); status != http.StatusBadRequest || !strings.Contains(body, "ready") {
		t.Errorf("ready=yes: %d %s, want 400", status, body)
	}
	// Roles.
	for _, tc := range []struct {
		token string
		want  int
	}{{"", 401}, {ingestToken + "0101", 403}, {caseworkerToken + "0101", 403}} {
		for _, path := range []string{"/v1/agreements", "/v1/tenants/0101/history"} {
			if status, body, _ := a.do("GET", path, tc.token, ""); status != tc.want {
				t.Errorf("GET %s with %q: %d %s, want %d", path, tc.token, status, body, tc.want)
			}
		}
	}

	// The CSV export: the same rows, filtered.
	req, _ := http.NewRequest("GET", srv.URL+"/v1/agreements?ready=false", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Accept", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(recs) != 3 {
		t.Fatalf("CSV: %d %s %v %q", resp.StatusCode, resp.Header.Get("Content-Type"), err, raw)
	}
	if recs[0][0] != "kommune" || recs[1][0] != "0751" || recs[1][2] != "false" || recs[1][13] != "2" || recs[1][15] != "2026-02-09" {
		t.Errorf("CSV rows %q", recs)
	}

	// The life cycle through the API: a requested agreement cannot be
	// withdrawn (409 naming both states); approving it makes 0751 ready,
	// and the change is in its history, by the admin.
	if status, body, _ := a.do("PUT", "/v1/tenants/0751/agreements/bagside", adminToken, `{"state":"withdrawn"}`); status != http.StatusConflict ||
		!strings.Contains(body, "from requested to withdrawn") {
		t.Errorf("withdrawing a requested agreement: %d %s, want 409 naming from and to", status, body)
	}
	if status, body, _ := a.do("PUT", "/v1/tenants/0751/agreements/bagside", adminToken, `{"state":"approved"}`); status != http.StatusOK {
		t.Fatalf("approving: %d %s", status, body)
	}
	if got := kommunes(list("?ready=true")); !slices.Equal(got, []string{"0101", "0751"}) {
		t.Errorf("ready after approving 0751's bagside: %v", got)
	}
	status, body, _ := a.do("GET", "/v1/tenants/0751/history", adminToken, "")
	var h tenant.HistoryList
	if err := json.Unmarshal([]byte(body), &h); status != 200 || err != nil {
		t.Fatalf("history: %d %s", status, body)
	}
	last := h.History[len(h.History)-1]
	if h.Kommune != "0751" || len(h.History) != 3 || last.By != "admin" || last.From != tenant.Requested || last.To != tenant.Approved || last.Agreement != tenant.Bagside {
		t.Errorf("history = %+v", h)
	}
	if status, _, _ := a.do("GET", "/v1/tenants/0999/history", adminToken, ""); status != 404 {
		t.Errorf("history of an unknown municipality: %d, want 404", status)
	}
}
