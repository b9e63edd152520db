package decide

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// Item is an open document as GET /v1/documents lists it and GET
// /v1/documents/{id} serves it: its [Record], and what a caseworker's
// queue shows of it from validate's summary (issue 11). The summary's
// fields are empty strings for a document not validated yet, or validated
// before summaries had them.
type Item struct {
	*Record
	// BilledFromName is the supplier, BILLED_FROM/NAME_1.
	BilledFromName string `json:"billed_from_name"`
	// TotalAmountInclVAT is TOTALAMOUNT/TOTAL_AMOUNT_INCL_VAT with a
	// decimal point, at the scale written: "4431.25".
	TotalAmountInclVAT string `json:"total_amount_incl_vat"`
	// Currency is CURRENCY/CURRENCY_CODE.
	Currency string `json:"currency"`
	// DueDate is PAYMENT_TERMS/DUE_DATE, "YYYY-MM-DD".
	DueDate string `json:"due_date"`
	// Overdue is true once the due date has passed in bank days
	// ([Overdue]), today in Copenhagen by the worker's clock.
	Overdue bool `json:"overdue"`
}

// copenhagen is the time zone of "today" for due dates.
var copenhagen = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		panic(err) // time/tzdata is linked in by pkg/efaktura
	}
	return loc
}()

// bankDays is the Danish bank calendar that due dates count in.
var bankDays = efaktura.DanishBankCalendar()

// Overdue reports whether a document due on due ("YYYY-MM-DD") is overdue
// at now: the last day to pay is the due date, or the next Danish bank day
// after it when it is not a bank day ([efaktura.DanishBankCalendar]), and
// the document is overdue when today, in Copenhagen, is after that day. A
// due date that is not a date is never overdue.
func Overdue(due string, now time.Time) bool {
	last, err := time.ParseInLocation(time.DateOnly, due, copenhagen)
	if err != nil {
		return false
	}
	// Weekends and holidays never run to more than a few days in a row.
	for range 10 {
		if bankDays.IsBankDay(last) {
			break
		}
		last = last.AddDate(0, 0, 1)
	}
	y, m, d := now.In(copenhagen).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, copenhagen).After(last)
}

// item returns r as an [Item] at now.
func item(r *Record, now time.Time) *Item {
	it := &Item{Record: r}
	if s := r.Summary; s != nil {
		it.BilledFromName, it.Currency, it.DueDate = s.BilledFromName, s.Currency, s.DueDate
		it.TotalAmountInclVAT = strings.Replace(s.TotalAmountInclVAT, ",", ".", 1)
		it.Overdue = Overdue(s.DueDate, now)
	}
	return it
}

// Sort orders of GET /v1/documents.
const (
	SortDueDate    = "due_date"
	SortReceivedAt = "received_at"
	SortAmount     = "amount"
)

// Query is what GET /v1/documents filters and sorts by.
type Query struct {
	// State keeps documents in that state; all when empty.
	State State
	// Text keeps documents whose supplier, document number or receipt
	// number holds it, ignoring case; all when empty.
	Text string
	// DocumentType keeps documents of that type; all when empty.
	DocumentType events.DocumentType
	// Overdue keeps only overdue documents when true, only documents not
	// overdue when false; all when nil.
	Overdue *bool
	// Sort is due_date (the default), received_at or amount; Desc reverses
	// it. Documents without a due date (or an amount) come after those
	// with one either way; ties go by received_at, created_at and id.
	Sort string
	Desc bool
}

// parseQuery reads a [Query] from a request's query parameters and lists
// the problems of bad values.
func parseQuery(get func(string) string) (Query, []string) {
	var q Query
	var problems []string
	q.State = State(get("state"))
	if q.State != "" && !slices.Contains(States, q.State) {
		problems = append(problems, "state must be one of received, awaiting_verdict, approved, rejected")
	}
	q.Text = strings.TrimSpace(get("q"))
	if len(q.Text) > 200 {
		problems = append(problems, "q must be at most 200 bytes")
	}
	q.DocumentType = events.DocumentType(get("document_type"))
	switch q.DocumentType {
	case "", events.DocumentInvoice, events.DocumentCreditNote, events.DocumentReminder:
	default:
		problems = append(problems, "document_type must be one of INVOICE, CREDIT_NOTE, REMINDER")
	}
	switch v := get("overdue"); v {
	case "":
	case "true", "false":
		b := v == "true"
		q.Overdue = &b
	default:
		problems = append(problems, "overdue must be true or false")
	}
	q.Sort = cmp.Or(get("sort"), SortDueDate)
	if !slices.Contains([]string{SortDueDate, SortReceivedAt, SortAmount}, q.Sort) {
		problems = append(problems, fmt.Sprintf("sort must be one of %s, %s, %s", SortDueDate, SortReceivedAt, SortAmount))
	}
	switch get("order") {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		problems = append(problems, "order must be asc or desc")
	}
	return q, problems
}

// keep reports whether r passes q's filters but for the state (which the
// index selects) and overdue (which needs the clock: see [queue]).
func (q Query) keep(r *Record) bool {
	if q.DocumentType != "" && r.DocumentType != q.DocumentType {
		return false
	}
	if q.Text == "" {
		return true
	}
	supplier := ""
	if r.Summary != nil {
		supplier = r.Summary.BilledFromName
	}
	return containsFold(supplier, q.Text) || containsFold(r.DocumentNo, q.Text) || containsFold(r.ReceiptNo, q.Text)
}

// containsFold reports whether s holds sub, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// queued is an item with its sort keys, computed once.
type queued struct {
	item     *Item
	received time.Time
	amount   float64
	noAmount bool
}

// queue filters records by q's overdue filter, makes them items at now,
// and sorts them by q. Sorting by amount compares float64s: two amounts
// that differ only past the 15th significant digit tie, and go by
// received_at.
func queue(rs []*Record, q Query, now time.Time) []*Item {
	qs := make([]queued, 0, len(rs))
	for _, r := range rs {
		it := item(r, now)
		if q.Overdue != nil && it.Overdue != *q.Overdue {
			continue
		}
		e := queued{item: it, received: r.ReceivedAt}
		if e.received.IsZero() {
			e.received = r.CreatedAt
		}
		if q.Sort == SortAmount {
			var err error
			e.amount, err = strconv.ParseFloat(it.TotalAmountInclVAT, 64)
			e.noAmount = err != nil
		}
		qs = append(qs, e)
	}
	dir := 1
	if q.Desc {
		dir = -1
	}
	slices.SortFunc(qs, func(a, b queued) int {
		var c int
		switch q.Sort {
		case SortDueDate:
			// "YYYY-MM-DD" sorts as text; none comes last.
			ad, bd := a.item.DueDate, b.item.DueDate
			c = cmp.Or(boolOrder(ad == "", bd == ""), dir*cmp.Compare(ad, bd))
		case SortAmount:
			c = cmp.Or(boolOrder(a.noAmount, b.noAmount), dir*cmp.Compare(a.amount, b.amount))
		case SortReceivedAt:
			c = dir * a.received.Compare(b.received)
		}
		return cmp.Or(c, a.received.Compare(b.received), a.item.CreatedAt.Compare(b.item.CreatedAt),
			cmp.Compare(a.item.ID, b.item.ID), cmp.Compare(a.item.Kommune, b.item.Kommune))
	})
	out := make([]*Item, len(qs))
	for i, e := range qs {
		out[i] = e.item
	}
	return out
}

// boolOrder orders false before true.
func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
