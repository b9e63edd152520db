package tenant

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AdminOption configures [NewAdminAPI].
type AdminOption func(*adminAPI)

// WithParked makes GET /v1/agreements count each municipality's parked
// answers with p, e.g. [AnswerQueues]. Without it the counts are 0.
func WithParked(p ParkedAnswers) AdminOption {
	return func(a *adminAPI) { a.parked = p }
}

// WithDeadline sets the rollout's deadline for approving the agreements,
// a date, which GET /v1/agreements shows on every row. The zero time shows
// none.
func WithDeadline(d time.Time) AdminOption {
	return func(a *adminAPI) { a.deadline = d }
}

// ParseDeadline reads a deadline as configured: a date, YYYY-MM-DD, or ""
// for none.
func ParseDeadline(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: deadline %q is not a date YYYY-MM-DD", ErrInvalid, s)
	}
	return d, nil
}

// AgreementsList is the body of GET /v1/agreements.
type AgreementsList struct {
	Municipalities []Readiness `json:"municipalities"`
}

// HistoryList is the body of GET /v1/tenants/{kommune}/history.
type HistoryList struct {
	Kommune string   `json:"kommune"`
	Name    string   `json:"name"`
	History []Change `json:"history"`
}

// agreements serves GET /v1/agreements[?ready=true|false][&mismatch=true]:
// one [Readiness] row per municipality, sorted by kommune, from this
// process's registry (no request per municipality) and one read of the
// answer queues ([AnswerQueues] says what that costs). With
// "Accept: text/csv" or format=csv it is CSV ([WriteReadinessCSV]).
func (a *adminAPI) agreements(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var problems []string
	boolFilter := func(name string) *bool {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil || (v != "true" && v != "false") {
			problems = append(problems, fmt.Sprintf("%s must be true or false, not %q", name, v))
			return nil
		}
		return &b
	}
	ready, mismatch := boolFilter("ready"), boolFilter("mismatch")
	format := q.Get("format")
	if format == "" && strings.Contains(r.Header.Get("Accept"), "text/csv") {
		format = "csv"
	}
	if format != "" && format != "json" && format != "csv" {
		problems = append(problems, fmt.Sprintf("format must be json or csv, not %q", format))
	}
	if len(problems) > 0 {
		writeError(w, http.StatusBadRequest, strings.Join(problems, "; "))
		return
	}
	rows, err := a.readiness(r.Context())
	if err != nil {
		a.log.Error("parked answers not read", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the answer queues could not be read; try again: "+err.Error())
		return
	}
	out := AgreementsList{Municipalities: make([]Readiness, 0, len(rows))}
	for _, row := range rows {
		if (ready != nil && row.Ready != *ready) || (mismatch != nil && row.Mismatch != *mismatch) {
			continue
		}
		out.Municipalities = append(out.Municipalities, row)
	}
	if format == "csv" {
		var b bytes.Buffer
		if err := WriteReadinessCSV(&b, out.Municipalities); err != nil {
			a.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="serviceaftaler.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b.Bytes())
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// readiness returns every municipality's row, parked answers and deadline
// included.
func (a *adminAPI) readiness(ctx context.Context) ([]Readiness, error) {
	parked := map[string]Parked{}
	if a.parked != nil {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var err error
		if parked, err = a.parked.Parked(ctx); err != nil {
			return nil, err
		}
	}
	var deadline string
	if !a.deadline.IsZero() {
		deadline = a.deadline.Format(time.DateOnly)
	}
	ts := a.registry.List()
	rows := make([]Readiness, 0, len(ts))
	for _, t := range ts {
		row := ReadinessOf(t)
		row.Deadline = deadline
		if p, ok := parked[t.Kommune]; ok {
			row.ParkedAnswers = p.Answers
			if !p.OldestAt.IsZero() {
				at := p.OldestAt
				row.OldestParkedAt = &at
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// history serves GET /v1/tenants/{kommune}/history: the municipality's
// agreement changes, oldest first.
func (a *adminAPI) history(w http.ResponseWriter, r *http.Request) {
	t, err := a.store.Get(r.Context(), r.PathValue("kommune"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := HistoryList{Kommune: t.Kommune, Name: t.Name, History: t.History}
	if out.History == nil {
		out.History = []Change{}
	}
	writeJSON(w, http.StatusOK, out)
}

// settle waits, briefly, until this process's registry holds version of
// kommune, so that GET /v1/agreements right after a change shows it.
func (a *adminAPI) settle(ctx context.Context, kommune string, version uint64) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = a.registry.WaitVersion(ctx, kommune, version) // a lagging view is shown as it is
}
