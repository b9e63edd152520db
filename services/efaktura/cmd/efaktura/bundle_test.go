package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/services/decide"
)

// TestBundleStatus: an economy system posts a bundle, a caseworker decides
// two of its three documents, and GET /v1/bundles/{id} (and efaktura
// bundle status) tells the economy system, with its own ingest token, where
// each document stands and how far its answer got; another municipality's
// tokens find no such bundle.
func TestBundleStatus(t *testing.T) {
	file := writeFile(t, "tenants.yaml", []byte(`tenants:
  - kommune: "0202"
    name: Anden Kommune
    cvr: "11223344"
    economy_system: {id: erp-0202, name: ERP, endpoint: "http://127.0.0.1:1/answers", secret: s}
    senders: [{type: CVR, id: "12345674", nets: false}]
    tokens:
      - {role: caseworker, name: other, token: case-0202}
      - {role: ingest, name: erp-0202, token: ingest-0202}
`))
	s := startUpWith(t, false, file)
	code, body := s.post("valid-bundle-3-documents.xml")
	if code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	var accepted struct {
		BundleID  string `json:"bundle_id"`
		Reference string `json:"reference"`
		Documents []struct {
			ID        string `json:"id"`
			Index     int    `json:"index"`
			ReceiptNo string `json:"receipt_no"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(body, &accepted); err != nil || len(accepted.Documents) != 3 {
		t.Fatalf("POST bundle answered %s (%v)", body, err)
	}
	id := accepted.BundleID
	bustest.Eventually(t, "three documents awaiting a verdict", func() error { return is(len(s.documents("awaiting_verdict")), 3) })
	docs := accepted.Documents
	if code, resp := s.verdict(docs[0].ID, `{"decision":"approve"}`); code != 200 {
		t.Fatalf("approve: %d %s", code, resp)
	}
	if code, resp := s.verdict(docs[1].ID, `{"decision":"reject","reasons":[{"code":"PRI","text":"Prisen svarer ikke til aftalen"}]}`); code != 200 {
		t.Fatalf("reject: %d %s", code, resp)
	}

	status := func(token string) (decide.BundleStatus, int, []byte) {
		code, body := s.do("GET", "/v1/bundles/"+id, token, nil)
		var st decide.BundleStatus
		if code == 200 {
			if err := json.Unmarshal(body, &st); err != nil {
				t.Fatal(err)
			}
		}
		return st, code, body
	}
	var st decide.BundleStatus
	bustest.Eventually(t, "both answers delivered and the documents archived", func() error {
		var code int
		var body []byte
		if st, code, body = status("ingest-t"); code != 200 {
			return fmt.Errorf("GET %d %s", code, body)
		}
		archived := 0
		for _, d := range st.Documents {
			if d.Archived {
				archived++
			}
		}
		// Delivered comes first; archived follows a moment later.
		return is(fmt.Sprintf("%d delivered, %d archived", st.Answers[decide.StatusDelivered], archived), "2 delivered, 2 archived")
	})
	if st.BundleID != id || st.Kommune != "0101" || st.Reference != accepted.Reference || st.DocumentCount != 3 || st.Rejected != nil ||
		st.ReceivedAt.IsZero() || len(st.Documents) != 3 {
		t.Fatalf("bundle status = %+v", st)
	}
	want := []struct {
		state  decide.State
		answer decide.AnswerStatus
	}{
		{decide.StateApproved, decide.StatusDelivered},
		{decide.StateRejected, decide.StatusDelivered},
		{decide.StateAwaitingVerdict, decide.StatusPending},
	}
	for i, d := range st.Documents {
		a := docs[i]
		if d.ID != a.ID || d.Index != a.Index || d.ReceiptNo != a.ReceiptNo || d.State != want[i].state || d.AnswerStatus != want[i].answer {
			t.Errorf("document %d = %+v; want %+v, state %s, answer %s", i+1, d, a, want[i].state, want[i].answer)
		}
		if delivered := d.AnswerStatus == decide.StatusDelivered; (d.AnswerAt != nil) != delivered || d.Archived != delivered {
			t.Errorf("document %d: answered at %v, archived %v", i+1, d.AnswerAt, d.Archived)
		}
	}

	for _, tok := range []string{"case-t", "admin-t"} {
		if _, code, body := status(tok); code != 200 {
			t.Errorf("GET as %s: %d %s, want 200", tok, code, body)
		}
	}
	for _, tok := range []string{"ingest-0202", "case-0202"} {
		if _, code, _ := status(tok); code != 404 {
			t.Errorf("GET as %s of another municipality: %d, want 404", tok, code)
		}
	}
	if _, code, _ := status(""); code != 401 {
		t.Errorf("GET without a token: %d, want 401", code)
	}
	if _, code, _ := status("wrong"); code != 401 {
		t.Errorf("GET with a wrong token: %d, want 401", code)
	}

	// The CLI, with the ingest token from the environment.
	t.Setenv("EFAKTURA_TOKEN", "ingest-t")
	t.Setenv("EFAKTURA_ADMIN_TOKEN", "")
	code, out, stderr := runCmd(t, nil, "bundle", "status", "--api", s.base, id)
	if code != exitOK {
		t.Fatalf("efaktura bundle status: exit %d, %s%s", code, out, stderr)
	}
	for _, w := range []string{id, "documents  3: 1 awaiting_verdict, 1 approved, 1 rejected; answers 1 pending, 2 delivered",
		"INDEX", docs[2].ReceiptNo, "awaiting_verdict", "delivered"} {
		if !strings.Contains(out, w) {
			t.Errorf("efaktura bundle status lacks %q:\n%s", w, out)
		}
	}
	code, out, stderr = runCmd(t, nil, "bundle", "status", "--api", s.base, "--json", id)
	var raw decide.BundleStatus
	if code != exitOK || json.Unmarshal([]byte(out), &raw) != nil || raw.BundleID != id || len(raw.Documents) != 3 {
		t.Errorf("efaktura bundle status --json: exit %d, %s%s", code, out, stderr)
	}
	code, _, stderr = runCmd(t, nil, "bundle", "status", "--api", s.base, "--token", "ingest-0202", id)
	if code != exitInvalid || !strings.Contains(stderr, "404") {
		t.Errorf("efaktura bundle status with another municipality's token: exit %d, %s; want 1 and 404", code, stderr)
	}
	t.Setenv("EFAKTURA_TOKEN", "")
	if code, _, stderr := runCmd(t, nil, "bundle", "status", "--api", s.base, id); code != exitError || !strings.Contains(stderr, "EFAKTURA_TOKEN") {
		t.Errorf("efaktura bundle status without a token: exit %d, %s; want 2", code, stderr)
	}
}
