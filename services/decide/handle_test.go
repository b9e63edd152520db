package decide

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

var (
	t0       = time.Date(2025, 8, 4, 9, 0, 0, 0, time.UTC)
	bundleID = events.BundleID("sp", "CVR", "12345674", "REF-1", 2025)
	docID    = events.DocumentID(bundleID, 1)
	meta     = Meta{Now: t0.Add(time.Hour), TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
	sender   = events.Sender{Type: "CVR", ID: "12345674"}
)

func received() events.DocumentReceived {
	return events.DocumentReceived{
		DocumentID: docID, BundleID: bundleID, Kommune: "0101", Index: 1,
		ReceiptNo: "OEH-2025-000412", DocumentNo: "F-2025-0412", DocumentType: events.DocumentInvoice,
		Sender: sender, Reference: "REF-1", ReceivedAt: t0,
	}
}

func validated() events.DocumentValidated {
	return events.DocumentValidated{
		DocumentID: docID, BundleID: bundleID, Kommune: "0101", Reference: "REF-1", Sender: sender,
		ReceiptNo: "OEH-2025-000412", DocumentNo: "F-2025-0412", DocumentType: events.DocumentInvoice,
		Ruleset: "efaktura-2.1.0/r1", ValidatedAt: t0.Add(time.Second),
		Summary:  events.Summary{Currency: "DKK", TotalAmountInclVAT: "1812,50", DocumentDate: "2025-08-01", BillToName: "Jens Hansen", Lines: 2},
		Findings: []events.Finding{{Rule: "V40", Severity: events.SeverityWarning, Path: "/INVOICES/DOCUMENT[1]", Message: "a warning"}},
	}
}

func rejected() events.DocumentRejected {
	return events.DocumentRejected{
		DocumentID: docID, BundleID: bundleID, Kommune: "0101", Reference: "REF-1", Sender: sender,
		ReceiptNo: "OEH-2025-000412", DocumentNo: "F-2025-0412", DocumentType: events.DocumentInvoice,
		Ruleset: "efaktura-2.1.0/r1", RejectedAt: t0.Add(time.Second),
		Findings: []events.Finding{
			{Rule: "V26", Severity: events.SeverityError, Path: "/INVOICES/DOCUMENT[1]/HEADER/CHECKSUM", Message: "CHECKSUM is 1; expected 2"},
			{Rule: "V40", Severity: events.SeverityWarning, Path: "/INVOICES/DOCUMENT[1]", Message: "a warning"},
			{Rule: "V31", Severity: events.SeverityError, Path: "/INVOICES/DOCUMENT[1]/LINE[1]", Message: "NET_PRICE missing"},
		},
	}
}

func verdict(d events.Decision, reasons ...events.Reason) events.VerdictSubmitted {
	return events.VerdictSubmitted{
		VerdictID: events.ID("test-verdict", string(d), reasonsKey(reasons)), DocumentID: docID, Kommune: "0101",
		Decision: d, Reasons: reasons, Caseworker: "cw1", SubmittedAt: t0.Add(time.Minute),
	}
}

func reasonsKey(rs []events.Reason) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(string(r.Code) + "/" + r.Text + ";")
	}
	return b.String()
}

var (
	reasonPrices = events.Reason{Code: events.ReasonPrices, Text: "the unit price is wrong"}
	reasonOther  = events.Reason{Code: events.ReasonOther, Text: "not ours"}
)

// must returns a function that fails the test on err and returns v:
// must(f(x))(t).
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// awaiting is a record validated and waiting for a verdict.
func awaiting(t *testing.T) *Record {
	t.Helper()
	r := must(Received(nil, received(), meta))(t)
	return must(Validated(r, validated(), meta))(t)
}

// decided is a record with v applied.
func decided(t *testing.T, v events.VerdictSubmitted) *Record {
	t.Helper()
	res, err := ApplyVerdict(awaiting(t), v, meta)
	if err != nil || res.Outcome != VerdictApplied {
		t.Fatalf("ApplyVerdict = %v, %v; want applied", res.Outcome, err)
	}
	return res.Record
}

func checkEvents(t *testing.T, evs []cloudevents.Event) {
	t.Helper()
	for _, e := range evs {
		if err := events.Check(e); err != nil {
			t.Errorf("output %s fails the catalogue: %v", e.Type(), err)
		}
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReceivedThenValidatedAwaitsVerdict(t *testing.T) {
	r, err := Received(nil, received(), meta)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != StateReceived || r.Index != 1 || r.TraceID != meta.TraceID || !r.CreatedAt.Equal(meta.Now) {
		t.Errorf("Received(nil) = state %s, index %d, trace %q, created %v", r.State, r.Index, r.TraceID, r.CreatedAt)
	}
	before := asJSON(t, r)
	v, err := Validated(r, validated(), Meta{Now: meta.Now.Add(time.Minute), TraceID: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if asJSON(t, r) != before {
		t.Error("Validated changed its input record")
	}
	if v.State != StateAwaitingVerdict || v.Summary == nil || v.Summary.BillToName != "Jens Hansen" || v.Ruleset != "efaktura-2.1.0/r1" {
		t.Errorf("Validated = %+v", v)
	}
	if v.TraceID != meta.TraceID {
		t.Errorf("trace id = %q, want the first event's %q", v.TraceID, meta.TraceID)
	}
	if !v.CreatedAt.Equal(meta.Now) || !v.UpdatedAt.Equal(meta.Now.Add(time.Minute)) {
		t.Errorf("created %v updated %v", v.CreatedAt, v.UpdatedAt)
	}
	if got, want := whats(v), []string{WhatReceived, WhatValidated}; !cmp.Equal(got, want) {
		t.Errorf("history = %v, want %v", got, want)
	}
	if v.Answer.Status != StatusPending {
		t.Errorf("answer status = %s, want pending", v.Answer.Status)
	}
}

func whats(r *Record) []string {
	var w []string
	for _, e := range r.History {
		w = append(w, e.What)
	}
	return w
}

// Either order of received and validated gives the same document.
func TestValidatedBeforeReceived(t *testing.T) {
	inOrder := awaiting(t)
	v := must(Validated(nil, validated(), meta))(t)
	if v.State != StateAwaitingVerdict || v.Index != 0 || !v.ReceivedAt.IsZero() {
		t.Fatalf("Validated(nil) = state %s index %d received %v", v.State, v.Index, v.ReceivedAt)
	}
	both := must(Received(v, received(), meta))(t)
	if diff := cmp.Diff(inOrder, both); diff != "" {
		t.Errorf("validated then received differs from received then validated (-in order +reversed):\n%s", diff)
	}
}

func TestRejectedBeforeReceived(t *testing.T) {
	r, evs, err := TechnicallyRejected(nil, rejected(), meta)
	if err != nil || r == nil || len(evs) != 1 {
		t.Fatalf("TechnicallyRejected(nil) = %v, %d events, %v", r, len(evs), err)
	}
	r2 := must(Received(r, received(), meta))(t)
	if r2.State != StateRejected || r2.Index != 1 {
		t.Errorf("after received: state %s index %d; want rejected, 1", r2.State, r2.Index)
	}
	if got, want := whats(r2), []string{WhatReceived, WhatRejectedTechnically}; !cmp.Equal(got, want) {
		t.Errorf("history = %v, want %v (in order of time)", got, want)
	}
}

func TestTechnicallyRejectedAtOnce(t *testing.T) {
	r := must(Received(nil, received(), meta))(t)
	n, evs, err := TechnicallyRejected(r, rejected(), meta)
	if err != nil {
		t.Fatal(err)
	}
	if n.State != StateRejected || n.Verdict == nil || n.Verdict.By != events.DecidedBySystem || n.DecidedAt == nil {
		t.Fatalf("TechnicallyRejected = state %s verdict %+v decided %v", n.State, n.Verdict, n.DecidedAt)
	}
	wantReasons := []events.Reason{
		{Code: events.ReasonOther, Text: "V26: CHECKSUM is 1; expected 2"},
		{Code: events.ReasonLegal, Text: "V31: NET_PRICE missing"}, // V31's code, as respond answers
	}
	if diff := cmp.Diff(wantReasons, n.Verdict.Reasons); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	if len(evs) != 1 || evs[0].Type() != events.TypeDocumentDecided {
		t.Fatalf("events = %v", evs)
	}
	checkEvents(t, evs)
	if evs[0].ID() != events.ID(events.TypeDocumentDecided, docID) {
		t.Errorf("event id = %s, want ID(decided, document id)", evs[0].ID())
	}
	d := must(events.Decode[events.DocumentDecided](evs[0]))(t)
	if d.Decision != events.OutcomeRejected || d.DecidedBy != events.DecidedBySystem || d.VerdictID != "" ||
		len(d.Findings) != 3 || !d.DecidedAt.Equal(rejected().RejectedAt) || d.ReceiptNo != "OEH-2025-000412" {
		t.Errorf("decided = %+v", d)
	}
	if diff := cmp.Diff(wantReasons, d.Reasons); diff != "" {
		t.Errorf("decided reasons (-want +got):\n%s", diff)
	}

	// Redelivered: no write, the same event again.
	again, evs2, err := TechnicallyRejected(n, rejected(), meta)
	if err != nil || again != nil || len(evs2) != 1 || evs2[0].ID() != evs[0].ID() || string(evs2[0].Data()) != string(evs[0].Data()) {
		t.Errorf("TechnicallyRejected again = %v, %v, %v; want nil record and the same event", again, evs2, err)
	}
}

func TestFirstJudgementWins(t *testing.T) {
	r := awaiting(t)
	n, evs, err := TechnicallyRejected(r, rejected(), meta)
	if n != nil || len(evs) != 0 || err != nil {
		t.Errorf("rejected after validated = %v, %v, %v; want ignored", n, evs, err)
	}
	rj, _, _ := TechnicallyRejected(nil, rejected(), meta)
	if n, err := Validated(rj, validated(), meta); n != nil || err != nil {
		t.Errorf("validated after rejected = %v, %v; want ignored", n, err)
	}
}

// Every transition applied to its own result changes nothing.
func TestTransitionsIdempotent(t *testing.T) {
	r := must(Received(nil, received(), meta))(t)
	if n, err := Received(r, received(), meta); n != nil || err != nil {
		t.Errorf("Received twice = %v, %v", n, err)
	}
	r = must(Validated(r, validated(), meta))(t)
	if n, err := Validated(r, validated(), meta); n != nil || err != nil {
		t.Errorf("Validated twice = %v, %v", n, err)
	}
	r = decided(t, verdict(events.DecisionApprove))
	parked := events.AnswerParked{AnswerID: "a", DocumentID: docID, Kommune: "0101", Reason: events.ParkAgreementMissing, ParkedAt: t0.Add(2 * time.Hour)}
	r = must(AnswerParked(r, parked, meta))(t)
	if n, err := AnswerParked(r, parked, meta); n != nil || err != nil {
		t.Errorf("AnswerParked twice = %v, %v", n, err)
	}
	next := t0.Add(3*time.Hour + time.Minute)
	failed := events.AnswerFailed{AnswerID: "a", DocumentID: docID, Kommune: "0101", Attempts: 1, Error: "503", FailedAt: t0.Add(3 * time.Hour), NextAttemptAt: &next}
	r = must(AnswerFailed(r, failed, meta))(t)
	if n, err := AnswerFailed(r, failed, meta); n != nil || err != nil {
		t.Errorf("AnswerFailed twice = %v, %v", n, err)
	}
	if a := r.Answer; a.Status != StatusFailed || a.Attempts != 1 || a.NextAttemptAt == nil || !a.NextAttemptAt.Equal(next) {
		t.Errorf("after a transient failure the answer is %+v; want failed, 1 attempt, the next at %v", a, next)
	}
	delivered := events.AnswerDelivered{AnswerID: "a", DocumentID: docID, Kommune: "0101", Attempts: 2, DeliveredAt: t0.Add(4 * time.Hour), StatusCode: 200}
	r = must(AnswerDelivered(r, delivered, meta))(t)
	if r.Answer.NextAttemptAt != nil {
		t.Errorf("delivered answer still has next_attempt_at %v", r.Answer.NextAttemptAt)
	}
	if n, err := AnswerDelivered(r, delivered, meta); n != nil || err != nil {
		t.Errorf("AnswerDelivered twice = %v, %v", n, err)
	}
}

func TestApplyVerdict(t *testing.T) {
	approve := verdict(events.DecisionApprove)
	reject := verdict(events.DecisionReject, reasonPrices)
	rejectSpaced := reject
	rejectSpaced.VerdictID = events.ID("another submission")
	rejectSpaced.Caseworker = "cw2"
	rejectSpaced.Reasons = []events.Reason{{Code: events.ReasonPrices, Text: "  the unit price is wrong\n"}}
	rejectOther := verdict(events.DecisionReject, reasonOther)
	systemRejected, _, _ := TechnicallyRejected(nil, rejected(), meta)

	tests := []struct {
		name    string
		r       *Record
		v       events.VerdictSubmitted
		want    VerdictOutcome
		state   State
		inForce events.Outcome // of a refusal
	}{
		{"approve awaiting", awaiting(t), approve, VerdictApplied, StateApproved, ""},
		{"reject awaiting", awaiting(t), reject, VerdictApplied, StateRejected, ""},
		{"same approve again", decided(t, approve), approve, VerdictRepeated, StateApproved, ""},
		{"same reject again", decided(t, reject), reject, VerdictRepeated, StateRejected, ""},
		{"same reject, other submission, spaces", decided(t, reject), rejectSpaced, VerdictRepeated, StateRejected, ""},
		{"reject after approve", decided(t, approve), reject, VerdictRefused, StateApproved, events.OutcomeApproved},
		{"approve after reject", decided(t, reject), approve, VerdictRefused, StateRejected, events.OutcomeRejected},
		{"reject with other reasons", decided(t, reject), rejectOther, VerdictRefused, StateRejected, events.OutcomeRejected},
		{"reject after system rejection", systemRejected, reject, VerdictRefused, StateRejected, events.OutcomeRejected},
		{"invalid verdict", awaiting(t), verdict(events.DecisionReject), VerdictRefused, StateAwaitingVerdict, ""},
		{"invalid verdict, unknown document", nil, verdict("maybe"), VerdictRefused, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before string
			if tt.r != nil {
				before = asJSON(t, tt.r)
			}
			res, err := ApplyVerdict(tt.r, tt.v, meta)
			if err != nil {
				t.Fatalf("ApplyVerdict = %v", err)
			}
			if res.Outcome != tt.want {
				t.Fatalf("ApplyVerdict outcome = %s (%s), want %s", res.Outcome, res.Reason, tt.want)
			}
			if tt.r != nil && asJSON(t, tt.r) != before {
				t.Error("ApplyVerdict changed its input record")
			}
			if res.Record != nil && res.Record.State != tt.state {
				t.Errorf("state = %s, want %s", res.Record.State, tt.state)
			}
			checkEvents(t, res.Events)
			if len(res.Events) != 1 {
				t.Fatalf("%d events, want 1", len(res.Events))
			}
			e := res.Events[0]
			switch tt.want {
			case VerdictApplied, VerdictRepeated:
				if e.Type() != events.TypeDocumentDecided || e.ID() != events.ID(events.TypeDocumentDecided, docID) {
					t.Errorf("event %s %s, want document.decided with the document's id", e.Type(), e.ID())
				}
				d := must(events.Decode[events.DocumentDecided](e))(t)
				if d.VerdictID != res.Record.Verdict.ID || d.DecidedBy == events.DecidedBySystem || len(d.Findings) != 0 {
					t.Errorf("decided = %+v", d)
				}
				if tt.want == VerdictRepeated && res.Record != tt.r {
					t.Error("a repeated verdict returned a new record")
				}
			case VerdictRefused:
				rf := must(events.Decode[events.VerdictRefused](e))(t)
				if e.ID() != events.ID(events.TypeVerdictRefused, tt.v.VerdictID) || rf.DecisionInForce != tt.inForce || rf.Reason == "" {
					t.Errorf("refused %s = %+v; want id of the verdict, in force %q", e.ID(), rf, tt.inForce)
				}
			}
		})
	}
}

func TestApplyVerdictErrors(t *testing.T) {
	noID := verdict(events.DecisionApprove)
	noID.VerdictID = ""
	otherKommune := verdict(events.DecisionApprove)
	otherKommune.Kommune = "0202"
	tests := []struct {
		name string
		r    *Record
		v    events.VerdictSubmitted
		want error
	}{
		{"unknown document", nil, verdict(events.DecisionApprove), ErrUnknownDocument},
		{"another kommune's document", awaiting(t), otherKommune, ErrUnknownDocument},
		{"not validated yet", must(Received(nil, received(), meta))(t), verdict(events.DecisionApprove), ErrNotValidated},
		{"no verdict id", awaiting(t), noID, ErrInvalidEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ApplyVerdict(tt.r, tt.v, meta); !errors.Is(err, tt.want) {
				t.Errorf("ApplyVerdict = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestApplyVerdictRecord(t *testing.T) {
	v := verdict(events.DecisionReject, events.Reason{Code: events.ReasonOther, Text: " wrong recipient "})
	v.Note = "called them"
	r := decided(t, v)
	want := &Verdict{ID: v.VerdictID, Decision: events.DecisionReject, Reasons: []events.Reason{{Code: events.ReasonOther, Text: "wrong recipient"}},
		Note: "called them", By: "cw1", At: v.SubmittedAt}
	if diff := cmp.Diff(want, r.Verdict); diff != "" {
		t.Errorf("verdict (-want +got):\n%s", diff)
	}
	if r.DecidedAt == nil || !r.DecidedAt.Equal(v.SubmittedAt) || r.Answer.Status != StatusPending {
		t.Errorf("decided at %v, answer %+v", r.DecidedAt, r.Answer)
	}
	if last := r.History[len(r.History)-1]; last.What != WhatVerdict || last.By != "cw1" || last.State != StateRejected {
		t.Errorf("last history entry = %+v", last)
	}
}

func TestCheckVerdictValid(t *testing.T) {
	tests := []struct {
		d       events.Decision
		reasons []events.Reason
	}{
		{events.DecisionApprove, nil},
		{events.DecisionReject, []events.Reason{{Code: events.ReasonPrices}}},
		{events.DecisionReject, []events.Reason{{Code: events.ReasonOther, Text: "x"}, {Code: events.ReasonQuantity, Text: "two, not three"}}},
		{events.DecisionReject, []events.Reason{{Code: events.ReasonOther, Text: strings.Repeat("æ", MaxReasonText)}}},
	}
	for _, c := range ReasonCodes() {
		tests = append(tests, struct {
			d       events.Decision
			reasons []events.Reason
		}{events.DecisionReject, []events.Reason{{Code: c, Text: "t"}}})
	}
	for _, tt := range tests {
		if err := CheckVerdict(tt.d, tt.reasons, "note"); err != nil {
			t.Errorf("CheckVerdict(%q, %v) = %v, want nil", tt.d, tt.reasons, err)
		}
	}
}

func TestCheckVerdictInvalid(t *testing.T) {
	many := make([]events.Reason, MaxReasons+1)
	for i := range many {
		many[i] = events.Reason{Code: events.ReasonPrices}
	}
	tests := []struct {
		name    string
		d       events.Decision
		reasons []events.Reason
		note    string
		want    []string // substrings, one per problem
	}{
		{"unknown decision", "maybe", nil, "", []string{"neither approve nor reject"}},
		{"empty decision", "", nil, "", []string{"neither approve nor reject"}},
		{"reject without reasons", events.DecisionReject, nil, "", []string{"at least one reason"}},
		{"approve with reasons", events.DecisionApprove, []events.Reason{{Code: events.ReasonPrices}}, "", []string{"approval carries no reasons"}},
		{"unknown code", events.DecisionReject, []events.Reason{{Code: "XYZ"}}, "", []string{`reason 1: code "XYZ"`}},
		{"lower-case code", events.DecisionReject, []events.Reason{{Code: "pri"}}, "", []string{`code "pri"`}},
		{"OTH without text", events.DecisionReject, []events.Reason{{Code: events.ReasonOther}}, "", []string{"reason 1: OTH needs a text"}},
		{"OTH with blank text", events.DecisionReject, []events.Reason{{Code: events.ReasonPrices}, {Code: events.ReasonOther, Text: " \t"}}, "", []string{"reason 2: OTH needs a text"}},
		{"text too long", events.DecisionReject, []events.Reason{{Code: events.ReasonPrices, Text: strings.Repeat("x", MaxReasonText+1)}}, "", []string{"text of 501 characters"}},
		{"too many reasons", events.DecisionReject, many, "", []string{"21 reasons"}},
		{"note too long", events.DecisionApprove, nil, strings.Repeat("n", MaxNote+1), []string{"note of 2001 characters"}},
		{"every problem at once", "x", []events.Reason{{Code: "BAD"}, {Code: events.ReasonOther}}, "", []string{"neither approve", `code "BAD"`, "OTH needs a text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckVerdict(tt.d, tt.reasons, tt.note)
			var iv *InvalidVerdictError
			if !errors.As(err, &iv) || !errors.Is(err, ErrInvalidVerdict) {
				t.Fatalf("CheckVerdict = %v, want an InvalidVerdictError", err)
			}
			if len(iv.Problems) != len(tt.want) {
				t.Fatalf("problems = %q, want %d matching %q", iv.Problems, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(iv.Problems[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, iv.Problems[i], w)
				}
			}
		})
	}
}

func TestAutomaticReasons(t *testing.T) {
	var fs []events.Finding
	for i := range 25 {
		fs = append(fs, events.Finding{Rule: "V31", Severity: events.SeverityError, Message: "m" + strings.Repeat("x", i)})
	}
	rs := AutomaticReasons(fs)
	if len(rs) != maxAutoReasons {
		t.Fatalf("%d reasons, want %d", len(rs), maxAutoReasons)
	}
	if last := rs[len(rs)-1]; last.Text != "6 more rule violations; see the findings" {
		t.Errorf("last reason = %q", last.Text)
	}
	for i, r := range rs {
		// V31's Peppol code, as in the answer; the count of the rest is OTH.
		want := events.ReasonLegal
		if i == len(rs)-1 {
			want = events.ReasonOther
		}
		if r.Code != want || r.Text == "" {
			t.Errorf("reason %d %+v, want %s with a text", i, r, want)
		}
	}
	for _, rule := range []string{"V26", "V35", "V99"} {
		got := AutomaticReasons([]events.Finding{{Rule: rule, Severity: events.SeverityError, Message: "m"}})
		if want := events.ReasonCode(efaktura.ReasonCode(rule)); len(got) != 1 || got[0].Code != want {
			t.Errorf("AutomaticReasons(%s) = %v, want code %s", rule, got, want)
		}
	}
	if err := CheckVerdict(events.DecisionReject, rs, ""); err != nil {
		t.Errorf("automatic reasons fail CheckVerdict: %v", err)
	}
	if rs := AutomaticReasons([]events.Finding{{Rule: "V40", Severity: events.SeverityWarning}}); len(rs) != 1 || rs[0].Code != events.ReasonOther {
		t.Errorf("AutomaticReasons(warnings only) = %v, want one generic OTH", rs)
	}
	long := AutomaticReasons([]events.Finding{{Rule: "V26", Severity: events.SeverityError, Message: strings.Repeat("y", 2*MaxReasonText)}})
	if n := len([]rune(long[0].Text)); n != MaxReasonText {
		t.Errorf("long finding gives a text of %d characters, want %d", n, MaxReasonText)
	}
}

func TestAnswerStatus(t *testing.T) {
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	parked := events.AnswerParked{AnswerID: "a", DocumentID: docID, Kommune: "0101", Reason: events.ParkAgreementNotApproved, ParkedAt: at(2)}
	failed := events.AnswerFailed{AnswerID: "a", DocumentID: docID, Kommune: "0101", EconomySystemID: "erp", Attempts: 1, Error: "HTTP 503", FailedAt: at(3)}
	failedAgain := failed
	failedAgain.Attempts, failedAgain.FailedAt, failedAgain.Permanent = 5, at(5), true
	delivered := events.AnswerDelivered{AnswerID: "a", DocumentID: docID, Kommune: "0101", EconomySystemID: "erp", Attempts: 2, DeliveredAt: at(4), StatusCode: 200}

	type step func(*Record) (*Record, error)
	park := func(r *Record) (*Record, error) { return AnswerParked(r, parked, meta) }
	fail := func(r *Record) (*Record, error) { return AnswerFailed(r, failed, meta) }
	failHard := func(r *Record) (*Record, error) { return AnswerFailed(r, failedAgain, meta) }
	deliver := func(r *Record) (*Record, error) { return AnswerDelivered(r, delivered, meta) }
	tests := []struct {
		name     string
		steps    []step
		status   AnswerStatus
		attempts int
		history  int // answer entries
	}{
		{"parked", []step{park}, StatusParked, 0, 1},
		{"parked, failed, delivered", []step{park, fail, deliver}, StatusDelivered, 2, 3},
		{"delivered, then late parked and failed", []step{deliver, park, fail}, StatusDelivered, 2, 1},
		{"failed, then an older parked", []step{fail, park}, StatusFailed, 1, 1},
		{"failed for good", []step{park, fail, failHard}, StatusFailed, 5, 3},
		{"failed for good, then an older failure", []step{failHard, fail}, StatusFailed, 5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := decided(t, verdict(events.DecisionApprove))
			base := len(r.History)
			for _, s := range tt.steps {
				n, err := s(r)
				if err != nil {
					t.Fatal(err)
				}
				if n != nil {
					r = n
				}
			}
			if r.Answer.Status != tt.status || r.Answer.Attempts != tt.attempts || len(r.History)-base != tt.history {
				t.Errorf("answer = %+v with %d answer entries; want %s, %d attempts, %d entries", r.Answer, len(r.History)-base, tt.status, tt.attempts, tt.history)
			}
			if (r.Answer.DeliveredAt != nil) != (tt.status == StatusDelivered) {
				t.Errorf("delivered_at = %v with status %s", r.Answer.DeliveredAt, r.Answer.Status)
			}
		})
	}
	if _, err := AnswerDelivered(nil, delivered, meta); !errors.Is(err, ErrUnknownDocument) {
		t.Errorf("AnswerDelivered(nil) = %v, want ErrUnknownDocument", err)
	}
}

func TestInvalidEvents(t *testing.T) {
	p := received()
	p.Kommune = "101"
	if _, err := Received(nil, p, meta); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("Received with kommune 101 = %v, want ErrInvalidEvent", err)
	}
	v := validated()
	v.DocumentID = "a.b"
	if _, err := Validated(nil, v, meta); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("Validated with id a.b = %v, want ErrInvalidEvent", err)
	}
	rj := rejected()
	rj.DocumentID = ""
	if _, _, err := TechnicallyRejected(nil, rj, meta); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("TechnicallyRejected without id = %v, want ErrInvalidEvent", err)
	}
}

func TestMasked(t *testing.T) {
	r := decided(t, verdict(events.DecisionReject, events.Reason{Code: events.ReasonOther, Text: "borger 010203-1234"}))
	r.ReceiptNo = "0102031234"
	r.Reference = "ref 010203-1234"
	r.Summary.BillToName = "Jens 010203-1234"
	r.Findings = []events.Finding{{Rule: "V26", Message: "CPR 0102031234 wrong",
		MessageDA: "CPR 010203-1234 er forkert", MessageEN: "CPR 010203-1234 is wrong"}}
	r.Verdict.Note = "see 010203-1234"
	before := asJSON(t, r)
	m := r.Masked()
	if asJSON(t, r) != before {
		t.Error("Masked changed the record")
	}
	got := asJSON(t, m)
	if strings.Contains(got, "0102031234") || strings.Contains(got, "010203-1234") {
		t.Errorf("masked record still holds a CPR number: %s", got)
	}
	if m.ID != r.ID || m.BundleID != r.BundleID || m.TraceID != r.TraceID {
		t.Error("Masked changed the ids")
	}
	if m.ReceiptNo != "XXXXXXXXXX" || m.Verdict.Reasons[0].Text != "borger XXXXXX-XXXX" {
		t.Errorf("masked receipt %q, reason %q", m.ReceiptNo, m.Verdict.Reasons[0].Text)
	}
	if f := m.Findings[0]; f.MessageDA != "CPR XXXXXX-XXXX er forkert" || f.MessageEN != "CPR XXXXXX-XXXX is wrong" {
		t.Errorf("masked finding messages %q, %q", f.MessageDA, f.MessageEN)
	}
}

func TestTraceOf(t *testing.T) {
	e := cloudevents.NewEvent()
	if id, parent := TraceOf(e); id != "" || parent != "" {
		t.Errorf("TraceOf(no traceparent) = %q, %q; want empty", id, parent)
	}
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	e.SetExtension(telemetry.TraceParentExtension, traceparent)
	if id, parent := TraceOf(e); id != "4bf92f3577b34da6a3ce929d0e0e4736" || parent != traceparent {
		t.Errorf("TraceOf = %q, %q", id, parent)
	}
	e.SetExtension(telemetry.TraceParentExtension, "garbage")
	if id, parent := TraceOf(e); id != "" || parent != "" {
		t.Errorf("TraceOf(garbage) = %q, %q; want empty", id, parent)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).withDefaults().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
	err := Config{Concurrency: -1, Attempts: -1, MaxBody: 1, PerPage: 10, MaxPerPage: 5, Timeout: -1}.Validate()
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("Validate = %v, want ErrConfig", err)
	}
	for _, w := range []string{"concurrency", "attempts", "max body", "per page", "timeout"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate error %q does not mention %s", err, w)
		}
	}
}
