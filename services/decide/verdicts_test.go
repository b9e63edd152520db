package decide_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/services/decide"
)

// bulk posts a bulk verdict and returns its results.
func (e *env) bulk(token string, body any) (decide.BulkVerdictResponse, response) {
	e.t.Helper()
	res := e.do(http.MethodPost, "/v1/verdicts", token, body)
	var out decide.BulkVerdictResponse
	if res.status == http.StatusOK {
		if err := json.Unmarshal(res.body, &out); err != nil {
			e.t.Fatal(err)
		}
	}
	return out, res
}

// TestBulkVerdicts: one result per document, in order, each as the single
// verdict would answer it (422 for a document not awaiting a verdict yet);
// the same request again repeats, and announces nothing new.
func TestBulkVerdicts(t *testing.T) {
	e := start(t)
	a, b, single, taken := e.awaiting("0101", 1), e.awaiting("0101", 2), e.awaiting("0101", 3), e.awaiting("0101", 4)
	if res := e.do(http.MethodPost, verdictPath(single), cw0101, approve); res.status != http.StatusOK {
		t.Fatalf("single approve: %d %s", res.status, res.body)
	}
	if res := e.do(http.MethodPost, verdictPath(taken), cw0101b, rejectPrices); res.status != http.StatusOK {
		t.Fatalf("reject by another caseworker: %d %s", res.status, res.body)
	}
	e.received("0101", 5, "R-5")
	notYet := e.docID(5)
	e.waitState(cw0101, notYet, decide.StateReceived)
	others := e.awaiting("0202", 7)
	unknown := e.docID(6)

	req := map[string]any{"decision": "approve", "documents": []string{a, b, single, taken, notYet, unknown, others, "not/an id"}}
	want := []struct {
		status  int
		outcome decide.VerdictOutcome
		state   decide.State
	}{
		{200, decide.VerdictApplied, decide.StateApproved},
		{200, decide.VerdictApplied, decide.StateApproved},
		{200, decide.VerdictRepeated, decide.StateApproved}, // the single verdict's id: the same verdict
		{409, "", decide.StateRejected},
		{422, "", decide.StateReceived},
		{404, "", ""},
		{404, "", ""}, // another municipality's
		{404, "", ""},
	}
	check := func(round int, out decide.BulkVerdictResponse, res response, repeat bool) {
		t.Helper()
		if res.status != http.StatusOK || len(out.Results) != len(want) {
			t.Fatalf("round %d: %d %s", round, res.status, res.body)
		}
		for i, r := range out.Results {
			w := want[i]
			if repeat && w.outcome == decide.VerdictApplied {
				w.outcome = decide.VerdictRepeated
			}
			if r.DocumentID != req["documents"].([]string)[i] || r.Status != w.status || r.Outcome != w.outcome || r.State != w.state {
				t.Errorf("round %d, result %d = %+v; want status %d, outcome %q, state %q", round, i, r, w.status, w.outcome, w.state)
			}
			if r.Status != http.StatusOK && r.Error == "" {
				t.Errorf("round %d, result %d has no error text", round, i)
			}
		}
		if v := out.Results[3].Verdict; v == nil || v.By != "cd" || v.Decision != events.DecisionReject {
			t.Errorf("round %d: the 409's verdict in force = %+v; want cd's rejection", round, v)
		}
	}
	out, res := e.bulk(cw0101, req)
	check(1, out, res, false)
	out, res = e.bulk(cw0101, req)
	check(2, out, res, true)
	e.settled()
	if n := e.count("0101", events.TypeDocumentDecided); n != 4 {
		t.Errorf("%d document.decided events, want 4 (a, b, the single one, the rejected one)", n)
	}
	for _, id := range []string{a, b} {
		if r, _ := e.get(cw0101, id); r.State != decide.StateApproved || r.Verdict == nil || r.Verdict.By != "ab" {
			t.Errorf("document %s after the bulk approval: %+v", id, r)
		}
	}

	// A bulk rejection with a reason.
	c, d := e.awaiting("0101", 8), e.awaiting("0101", 9)
	out, res = e.bulk(cw0101, map[string]any{"decision": "reject", "reasons": []map[string]string{{"code": "QTY", "text": "antal"}},
		"note": "n", "documents": []string{c, d}})
	if res.status != http.StatusOK || len(out.Results) != 2 || out.Results[0].Status != 200 || out.Results[1].State != decide.StateRejected {
		t.Errorf("bulk reject: %d %s", res.status, res.body)
	}
	if r, _ := e.get(cw0101, d); r.Verdict == nil || r.Verdict.Reasons[0].Code != events.ReasonQuantity || r.Verdict.Note != "n" {
		t.Errorf("rejected by bulk: %+v", r.Verdict)
	}
}

// TestBulkVerdictRequestsRefused: a bad body is 400 with its problems, and
// only a caseworker decides.
func TestBulkVerdictRequestsRefused(t *testing.T) {
	e := start(t)
	id := e.awaiting("0101", 1)
	many := make([]string, decide.MaxBulkDocuments+1)
	for i := range many {
		many[i] = fmt.Sprintf("d%d", i)
	}
	for name, body := range map[string]any{
		"no documents":        map[string]any{"decision": "approve", "documents": []string{}},
		"no documents at all": map[string]any{"decision": "approve"},
		"a document twice":    map[string]any{"decision": "approve", "documents": []string{id, id}},
		"1001 documents":      map[string]any{"decision": "approve", "documents": many},
		"reject, no reason":   map[string]any{"decision": "reject", "documents": []string{id}},
		"unknown field":       map[string]any{"decision": "approve", "documents": []string{id}, "by": "x"},
		"not JSON":            "{",
	} {
		_, res := e.bulk(cw0101, body)
		if res.status != http.StatusBadRequest || !strings.Contains(string(res.body), "problems") {
			t.Errorf("%s: %d %s, want 400 with problems", name, res.status, res.body)
		}
	}
	ok := map[string]any{"decision": "approve", "documents": []string{id}}
	if _, res := e.bulk(admin, ok); res.status != http.StatusForbidden {
		t.Errorf("an admin: %d, want 403", res.status)
	}
	if _, res := e.bulk("", ok); res.status != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", res.status)
	}
	if _, res := e.bulk(cw0101, map[string]any{"decision": "approve", "documents": []string{strings.Repeat("x", 200<<10)}}); res.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body too large: %d, want 413", res.status)
	}
	if r, _ := e.get(cw0101, id); r.State != decide.StateAwaitingVerdict {
		t.Errorf("after refused requests the document is %s", r.State)
	}
}
