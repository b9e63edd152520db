package decide_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/services/decide"
)

// bundleReceived publishes ingest's bundle.received for bundle id of
// kommune with n documents.
func (e *env) bundleReceived(kommune, id string, n int) {
	e.t.Helper()
	p := events.BundleReceived{BundleID: id, Kommune: kommune, ServiceProvider: "sp", Reference: "REF " + id[:8],
		Sender: events.Sender{Type: "CVR", ID: "12345674"}, ReceivedAt: t0, SHA256: "00", Size: 1, Ruleset: "r1"}
	for i := 1; i <= n; i++ {
		p.Documents = append(p.Documents, events.BundleDocument{DocumentID: events.DocumentID(id, i), Index: i,
			ReceiptNo: fmt.Sprintf("R-%d", i), DocumentNo: fmt.Sprintf("F-%d", i), DocumentType: events.DocumentInvoice})
	}
	e.publish(e.ctx, events.TypeBundleReceived, kommune, id, []string{id}, p)
}

// bundleStatus is GET /v1/bundles/{id} as token sees it.
func (e *env) bundleStatus(token, id string) (decide.BundleStatus, response) {
	e.t.Helper()
	res := e.do(http.MethodGet, "/v1/bundles/"+id, token, nil)
	var st decide.BundleStatus
	if res.status == http.StatusOK {
		if err := json.Unmarshal(res.body, &st); err != nil {
			e.t.Fatal(err)
		}
	}
	return st, res
}

// waitBundle waits until check accepts the status of bundle id as token
// sees it.
func (e *env) waitBundle(token, id string, check func(decide.BundleStatus) error) decide.BundleStatus {
	e.t.Helper()
	var st decide.BundleStatus
	bustest.Eventually(e.t, "status of bundle "+id, func() error {
		var res response
		if st, res = e.bundleStatus(token, id); res.status != http.StatusOK {
			return fmt.Errorf("GET %d %s", res.status, res.body)
		}
		return check(st)
	})
	return st
}

func TestBundleStatus(t *testing.T) {
	e := start(t)
	e.bundleReceived("0101", e.bundle, 4)

	// 1: approved and answered (archived); 2: approved, answer parked;
	// 3: awaiting a verdict; 4: not known to decide yet.
	answered := e.answered("0101", 1, cw0101, approve)
	parked := e.awaiting("0101", 2)
	if res := e.do(http.MethodPost, verdictPath(parked), cw0101, rejectPrices); res.status != http.StatusOK {
		t.Fatalf("verdict: %d %s", res.status, res.body)
	}
	parkedAt := t0.Add(3 * time.Hour)
	e.publish(e.ctx, events.TypeAnswerParked, "0101", parked, []string{"a-" + parked, "p"}, events.AnswerParked{
		AnswerID: "a-" + parked, DocumentID: parked, Kommune: "0101",
		Reason: events.ParkAgreementNotApproved, ParkedAt: parkedAt})
	e.awaiting("0101", 3)
	deliveredAt := t0.Add(2 * time.Hour) // as e.delivered says

	st := e.waitBundle(ingest, e.bundle, func(st decide.BundleStatus) error {
		if len(st.Documents) != 4 {
			return fmt.Errorf("%d documents", len(st.Documents))
		}
		if !st.Documents[0].Archived { // the index may not have seen the purge yet
			return fmt.Errorf("document 1 not archived yet")
		}
		return is(st.Documents[1].AnswerStatus, decide.StatusParked)
	})
	if st.BundleID != e.bundle || st.Kommune != "0101" || st.Reference != "REF "+e.bundle[:8] || !st.ReceivedAt.Equal(t0) ||
		st.DocumentCount != 4 || st.Rejected != nil {
		t.Errorf("bundle facts = %+v", st)
	}
	want := []struct {
		id       string
		state    decide.State
		answer   decide.AnswerStatus
		archived bool
		at       *time.Time
	}{
		{answered, decide.StateApproved, decide.StatusDelivered, true, &deliveredAt},
		{parked, decide.StateRejected, decide.StatusParked, false, &parkedAt},
		{e.docID(3), decide.StateAwaitingVerdict, decide.StatusPending, false, nil},
		{e.docID(4), decide.StateReceived, decide.StatusPending, false, nil},
	}
	for i, w := range want {
		d := st.Documents[i]
		if d.ID != w.id || d.Index != i+1 || d.ReceiptNo != fmt.Sprintf("R-%d", i+1) || d.DocumentNo != fmt.Sprintf("F-%d", i+1) ||
			d.State != w.state || d.AnswerStatus != w.answer || d.Archived != w.archived {
			t.Errorf("document %d = %+v, want %+v", i+1, d, w)
		}
		if (d.AnswerAt == nil) != (w.at == nil) || d.AnswerAt != nil && !d.AnswerAt.Equal(*w.at) {
			t.Errorf("document %d answered at %v, want %v", i+1, d.AnswerAt, w.at)
		}
		if (d.DecidedAt != nil) != w.state.Decided() {
			t.Errorf("document %d decided at %v in state %s", i+1, d.DecidedAt, d.State)
		}
	}
	if st.States[decide.StateApproved] != 1 || st.States[decide.StateRejected] != 1 || st.States[decide.StateReceived] != 1 ||
		st.Answers[decide.StatusDelivered] != 1 || st.Answers[decide.StatusPending] != 2 {
		t.Errorf("counts: states %v, answers %v", st.States, st.Answers)
	}

	// The caseworker and an admin see the same; another municipality's
	// caseworker nothing; no token is 401.
	for _, tok := range []string{cw0101, admin} {
		if got, res := e.bundleStatus(tok, e.bundle); res.status != http.StatusOK || len(got.Documents) != 4 {
			t.Errorf("GET as %s: %d %s", tok, res.status, res.body)
		}
	}
	if _, res := e.bundleStatus(cw0202, e.bundle); res.status != http.StatusNotFound {
		t.Errorf("GET as another municipality's caseworker: %d %s, want 404", res.status, res.body)
	}
	if _, res := e.bundleStatus("", e.bundle); res.status != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d, want 401", res.status)
	}
	if _, res := e.bundleStatus("nonsense", e.bundle); res.status != http.StatusUnauthorized {
		t.Errorf("GET with a bad token: %d, want 401", res.status)
	}
	if _, res := e.bundleStatus(ingest, events.BundleID("sp", "CVR", "1", "unknown", 2025)); res.status != http.StatusNotFound {
		t.Errorf("GET of an unknown bundle: %d, want 404", res.status)
	}
	// The ingest token reaches this route only.
	if res := e.do(http.MethodGet, "/v1/documents/"+parked, ingest, nil); res.status != http.StatusForbidden {
		t.Errorf("GET a document with the ingest token: %d, want 403", res.status)
	}

	// A duplicate submission of the bundle changes nothing.
	e.publish(e.ctx, events.TypeBundleRejected, "0101", e.bundle, []string{"0101", "dup"}, events.BundleRejected{
		BundleID: e.bundle, Kommune: "0101", ServiceProvider: "sp", ReceivedAt: t0.Add(time.Hour), SHA256: "dup",
		Reason: events.RejectionDuplicate, DuplicateOf: e.bundle, Ruleset: "r1"})
	bustest.Settled(t, e.js, "EFAKTURA", "decide-"+decide.HandlerBundleRejected, 0)
	if got, _ := e.bundleStatus(ingest, e.bundle); got.Rejected != nil || got.DocumentCount != 4 {
		t.Errorf("after a duplicate: rejected %+v, %d documents", got.Rejected, got.DocumentCount)
	}
}

func TestBundleRejectedAsAWhole(t *testing.T) {
	e := start(t)
	rejected := func(at time.Time, rule string) {
		e.publish(e.ctx, events.TypeBundleRejected, "0101", e.bundle, []string{"0101", at.String()}, events.BundleRejected{
			BundleID: e.bundle, Kommune: "0101", ServiceProvider: "sp", Reference: "REF", ReceivedAt: at, SHA256: at.String(),
			Reason: events.RejectionInvalid, Ruleset: "r1",
			Findings: []events.Finding{{Rule: rule, Severity: events.SeverityError, Path: "/INVOICES", Line: 1, Column: 1,
				Message: "bad", MessageDA: "forkert, CPR 010203-1234", MessageEN: "bad"}}})
	}
	rejected(t0.Add(time.Hour), "V05")
	rejected(t0, "V04") // an older refusal, arriving later, changes nothing
	st := e.waitBundle(ingest, e.bundle, func(st decide.BundleStatus) error {
		if st.Rejected == nil {
			return fmt.Errorf("not rejected")
		}
		return nil
	})
	bustest.Settled(t, e.js, "EFAKTURA", "decide-"+decide.HandlerBundleRejected, 0)
	st, _ = e.bundleStatus(ingest, e.bundle)
	r := st.Rejected
	if r == nil || r.Reason != events.RejectionInvalid || !r.ReceivedAt.Equal(t0.Add(time.Hour)) || r.FindingsTotal != 1 ||
		len(r.Findings) != 1 || r.Findings[0].Rule != "V05" || r.Findings[0].MessageDA != "forkert, CPR XXXXXX-XXXX" {
		t.Errorf("rejection = %+v", r)
	}
	if st.DocumentCount != 0 || len(st.Documents) != 0 || st.Reference != "REF" {
		t.Errorf("rejected bundle = %+v", st)
	}

	// A corrected bundle with the same key is accepted under the same id.
	e.bundleReceived("0101", e.bundle, 2)
	st = e.waitBundle(ingest, e.bundle, func(st decide.BundleStatus) error { return is(st.DocumentCount, 2) })
	if st.Rejected != nil {
		t.Errorf("accepted bundle still rejected: %+v", st.Rejected)
	}
	rejected(t0.Add(2*time.Hour), "V06") // a later refusal under its id does not undo it
	bustest.Settled(t, e.js, "EFAKTURA", "decide-"+decide.HandlerBundleRejected, 0)
	if st, _ = e.bundleStatus(ingest, e.bundle); st.Rejected != nil || st.DocumentCount != 2 {
		t.Errorf("after a later refusal: %+v", st)
	}
}
