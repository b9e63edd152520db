package decide_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/services/decide"
)

// queuedDoc is document i of 0101 as validate summarizes it.
type queuedDoc struct {
	i        int
	typ      events.DocumentType
	supplier string
	due      string
	amount   string
	received time.Time
}

// queued makes d await a verdict.
func (e *env) queued(d queuedDoc) string {
	e.t.Helper()
	id := e.docID(d.i)
	p := events.DocumentReceived{
		DocumentID: id, BundleID: e.bundle, Kommune: "0101", Index: d.i, ReceiptNo: fmt.Sprintf("R-%d", d.i),
		DocumentNo: fmt.Sprintf("F-%d", d.i), DocumentType: d.typ,
		Sender: events.Sender{Type: "CVR", ID: "12345674"}, Reference: "REF", ReceivedAt: d.received,
	}
	e.publish(e.ctx, events.TypeDocumentReceived, "0101", id, []string{id}, p)
	e.publish(e.ctx, events.TypeDocumentValidated, "0101", id, []string{id, "r1"}, events.DocumentValidated{
		DocumentID: id, BundleID: e.bundle, Kommune: "0101", Reference: p.Reference, Sender: p.Sender,
		ReceiptNo: p.ReceiptNo, DocumentNo: p.DocumentNo, DocumentType: d.typ,
		Ruleset: "efaktura-2.1.0/r1", ValidatedAt: d.received.Add(time.Second),
		Summary: events.Summary{Currency: "DKK", TotalAmountInclVAT: d.amount, DocumentDate: "2025-06-01",
			BillToName: "Kærholm Kommune", Lines: 1, DueDate: d.due, BilledFromName: d.supplier},
	})
	return id
}

// page returns GET /v1/documents?<query> as token sees it.
func (e *env) page(token, query string) (decide.Page, response) {
	e.t.Helper()
	res := e.do(http.MethodGet, "/v1/documents?"+query, token, nil)
	var p decide.Page
	if res.status == http.StatusOK {
		if err := json.Unmarshal(res.body, &p); err != nil {
			e.t.Fatal(err)
		}
	}
	return p, res
}

// TestQueueFiltersAndSorts: the queue's items carry the supplier, amount,
// currency, due date and overdue flag; they are filtered by text, type
// and overdue, and sorted by due date (the default), receipt or amount,
// either way, with the clock fixed.
func TestQueueFiltersAndSorts(t *testing.T) {
	cph, _ := time.LoadLocation("Europe/Copenhagen")
	now := time.Date(2025, 7, 3, 10, 0, 0, 0, cph) // a Thursday
	e := startWith(t, decide.Config{PerPage: 10, MaxPerPage: 10}, decide.WithClock(func() time.Time { return now }))
	docs := []queuedDoc{
		// Due on Wednesday the 2nd: overdue on the 3rd.
		{1, events.DocumentInvoice, "Østbyens Hjælpemidler ApS", "2025-07-02", "4431,25", t0.Add(2 * time.Hour)},
		// Due on Saturday the 5th: the last day to pay is Monday the 7th.
		{2, events.DocumentCreditNote, "Nordlys Rengøring A/S", "2025-07-05", "100,00", t0.Add(1 * time.Hour)},
		// Due on Saturday 28 June: the last day was Monday the 30th.
		{3, events.DocumentInvoice, "Kontorland", "2025-06-28", "20000,50", t0.Add(3 * time.Hour)},
		// Validated before summaries had the supplier and the due date.
		{4, events.DocumentReminder, "", "", "", t0},
	}
	ids := map[int]string{}
	for _, d := range docs {
		ids[d.i] = e.queued(d)
	}
	for _, d := range docs {
		e.waitState(cw0101, ids[d.i], decide.StateAwaitingVerdict)
	}
	order := func(query string, want ...int) {
		t.Helper()
		p, res := e.page(cw0101, query)
		var got, wantIDs []string
		for _, it := range p.Documents {
			got = append(got, it.ID)
		}
		for _, i := range want {
			wantIDs = append(wantIDs, ids[i])
		}
		if res.status != http.StatusOK || strings.Join(got, ",") != strings.Join(wantIDs, ",") || p.Total != len(want) {
			t.Errorf("list?%s: %d, total %d, %v; want documents %v", query, res.status, p.Total, got, want)
		}
	}
	order("", 3, 1, 2, 4)
	order("sort=due_date&order=desc", 2, 1, 3, 4)
	order("sort=amount", 2, 1, 3, 4)
	order("sort=amount&order=desc", 3, 1, 2, 4)
	order("sort=received_at", 4, 2, 1, 3)
	order("sort=received_at&order=desc", 3, 1, 2, 4)
	order("overdue=true", 3, 1)
	order("overdue=false", 2, 4)
	order("q=%C3%B8STBYENS", 1) // øSTBYENS
	order("q=f-2", 2)
	order("q=R-4", 4)
	order("document_type=CREDIT_NOTE", 2)
	order("document_type=INVOICE&overdue=true&sort=due_date&order=desc", 1, 3)
	order("state=received")

	p, _ := e.page(cw0101, "q=F-1")
	if len(p.Documents) != 1 {
		t.Fatalf("list?q=F-1: %d documents", len(p.Documents))
	}
	it := p.Documents[0]
	if it.BilledFromName != "Østbyens Hjælpemidler ApS" || it.TotalAmountInclVAT != "4431.25" || it.Currency != "DKK" ||
		it.DueDate != "2025-07-02" || !it.Overdue || it.State != decide.StateAwaitingVerdict || it.DocumentNo != "F-1" {
		t.Errorf("item = %+v", it)
	}
	p, _ = e.page(cw0101, "q=R-4")
	if it := p.Documents[0]; it.BilledFromName != "" || it.TotalAmountInclVAT != "" || it.DueDate != "" || it.Overdue {
		t.Errorf("item of a document without the new summary fields = %+v", it)
	}
	res := e.do(http.MethodGet, "/v1/documents/"+ids[3], cw0101, nil)
	var one map[string]any
	if err := json.Unmarshal(res.body, &one); err != nil {
		t.Fatal(err)
	}
	if one["billed_from_name"] != "Kontorland" || one["total_amount_incl_vat"] != "20000.50" || one["due_date"] != "2025-06-28" ||
		one["overdue"] != true || one["currency"] != "DKK" || one["id"] != ids[3] {
		t.Errorf("GET /v1/documents/{id} = %s", res.body)
	}
	if p, _ := e.page(cw0202, ""); p.Total != 0 {
		t.Errorf("another municipality's caseworker lists %d documents", p.Total)
	}
	for _, q := range []string{"sort=supplier", "order=up", "overdue=yes", "document_type=BILL", "q=" + strings.Repeat("x", 201)} {
		if _, res := e.page(cw0101, q); res.status != http.StatusBadRequest || !strings.Contains(string(res.body), "problems") {
			t.Errorf("list?%.20s: %d %s, want 400 with problems", q, res.status, res.body)
		}
	}
}

// TestOverdueCountsBankDays: the last day to pay is the due date, or the
// next bank day after it; today is Copenhagen's.
func TestOverdueCountsBankDays(t *testing.T) {
	cph, _ := time.LoadLocation("Europe/Copenhagen")
	at := func(date string, hour int) time.Time {
		d, err := time.ParseInLocation(time.DateOnly, date, cph)
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(time.Duration(hour) * time.Hour)
	}
	for _, c := range []struct {
		due  string
		now  time.Time
		want bool
	}{
		{"2025-07-02", at("2025-07-02", 23), false}, // on the day
		{"2025-07-02", at("2025-07-03", 0), true},
		{"2025-07-05", at("2025-07-07", 12), false}, // Saturday: Monday is the last day
		{"2025-07-05", at("2025-07-08", 0), true},
		// Good Friday: then Saturday, Sunday and Easter Monday; Tuesday is the last day.
		{"2025-04-18", at("2025-04-22", 23), false},
		{"2025-04-18", time.Date(2025, 4, 22, 22, 30, 0, 0, time.UTC), true}, // 00:30 on the 23rd in Copenhagen
		{"2025-06-05", at("2025-06-06", 12), false},                          // Constitution Day
		{"2025-06-05", at("2025-06-07", 12), true},
		{"", at("2030-01-01", 0), false},
		{"2. juli", at("2030-01-01", 0), false},
	} {
		if got := decide.Overdue(c.due, c.now); got != c.want {
			t.Errorf("Overdue(%q, %v) = %v, want %v", c.due, c.now, got, c.want)
		}
	}
}
