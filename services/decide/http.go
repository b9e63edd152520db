package decide

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Routes adds the caseworkers' API to mux:
//
//	POST /v1/documents/{id}/verdict   decide a document (a caseworker of its municipality)
//	GET  /v1/documents                list the open documents (?state=&page=&per_page=; an admin also &kommune=)
//	GET  /v1/documents/{id}           one document, in full; an archived one as its audit summary
//	GET  /v1/archive                  page through the archived documents (?state=&limit=&cursor=; an admin also &kommune=)
//
// Every request needs "Authorization: Bearer <token>". A caseworker sees and
// decides only their own municipality's documents: another's answer 404, as
// unknown ones do, so existence does not leak. An admin sees every
// municipality's documents but decides none. Errors are JSON,
// {"error": "..."}; see the handlers for the status codes.
func (w *Worker) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/documents/{id}/verdict", w.postVerdict)
	mux.HandleFunc("GET /v1/documents", w.listDocuments)
	mux.HandleFunc("GET /v1/documents/{id}", w.getDocument)
	mux.HandleFunc("GET /v1/documents/{id}/invoice", w.getInvoice)
	mux.HandleFunc("GET /v1/documents/{id}/original", w.getOriginal)
	mux.HandleFunc("GET /v1/archive", w.listArchive)
}

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
	// Problems lists what is wrong with a verdict (400).
	Problems []string `json:"problems,omitempty"`
	// State and Verdict are the document's state and the verdict in force,
	// with 409.
	State   State    `json:"state,omitempty"`
	Verdict *Verdict `json:"verdict,omitempty"`
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	// Records hold personal data: no cache keeps them.
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

func writeError(rw http.ResponseWriter, status int, msg string) {
	writeJSON(rw, status, errorBody{Error: msg})
}

// authenticate returns the principal of the request's bearer token, or
// writes 401 (no or a bad token), 403 (a role other than caseworker or
// admin) or 503 and returns false.
func (w *Worker) authenticate(rw http.ResponseWriter, req *http.Request) (tenant.Principal, bool) {
	token, ok := tenant.Bearer(req)
	if !ok {
		rw.Header().Set("WWW-Authenticate", `Bearer realm="efaktura"`)
		writeError(rw, http.StatusUnauthorized, "a bearer token is required")
		return tenant.Principal{}, false
	}
	p, err := w.auth.Authenticate(token)
	switch {
	case errors.Is(err, tenant.ErrAuth), errors.Is(err, tenant.ErrNotFound):
		rw.Header().Set("WWW-Authenticate", `Bearer realm="efaktura", error="invalid_token"`)
		writeError(rw, http.StatusUnauthorized, "the token is not valid")
		return tenant.Principal{}, false
	case err != nil:
		w.log.WarnContext(req.Context(), "authenticate", "err", err)
		writeError(rw, http.StatusServiceUnavailable, "authentication is unavailable; try again")
		return tenant.Principal{}, false
	}
	switch {
	case p.Role == tenant.RoleAdmin:
		return p, true
	case p.Role == tenant.RoleCaseworker && events.ValidKommune(p.Kommune):
		return p, true
	}
	writeError(rw, http.StatusForbidden, "only caseworkers and admins use this API")
	return tenant.Principal{}, false
}

// locate returns the document id of the request path as p may see it: a
// caseworker's own municipality's, any for an admin (the lowest kommune
// code should two municipalities ever hold the same id); the open record,
// else the archived summary, exactly one of them. It writes 404 or 500 and
// returns false when there is none to show.
func (w *Worker) locate(ctx context.Context, rw http.ResponseWriter, p tenant.Principal, id string) (*Record, *AuditSummary, bool) {
	if !validID(id) {
		writeError(rw, http.StatusNotFound, "no such document")
		return nil, nil, false
	}
	r, err := w.findOpen(ctx, p, id)
	if err == nil && r != nil {
		return r, nil, true
	}
	var a *AuditSummary
	if err == nil {
		if p.Role == tenant.RoleCaseworker {
			a, err = w.store.arch.get(ctx, key(p.Kommune, id))
		} else {
			a, err = w.store.arch.find(ctx, id)
		}
	}
	if err != nil {
		w.log.ErrorContext(ctx, "read document", "document_id", id, "err", err)
		writeError(rw, http.StatusInternalServerError, "the document could not be read")
		return nil, nil, false
	}
	if a == nil {
		writeError(rw, http.StatusNotFound, "no such document")
		return nil, nil, false
	}
	return nil, a, true
}

// findOpen returns the open record of document id as p may see it; nil
// when there is none.
func (w *Worker) findOpen(ctx context.Context, p tenant.Principal, id string) (*Record, error) {
	var r *Record
	var err error
	if p.Role == tenant.RoleCaseworker {
		r, _, err = w.store.get(ctx, key(p.Kommune, id))
	} else {
		var rs []*Record
		rs, err = w.store.list(ctx, key("*", id), func(*Record) bool { return true })
		if len(rs) > 0 {
			r = rs[0]
			for _, o := range rs[1:] {
				if o.Kommune < r.Kommune {
					r = o
				}
			}
		}
	}
	return r, err
}

// getDocument serves GET /v1/documents/{id}: 200 with the [Record] of an
// open document, CPR numbers unmasked (the caseworker needs the document as
// it is), or with the [AuditSummary] of an archived one ("archived":
// true); 401, 403; 404 for an unknown document or another municipality's.
func (w *Worker) getDocument(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticate(rw, req)
	if !ok {
		return
	}
	r, a, ok := w.locate(req.Context(), rw, p, req.PathValue("id"))
	switch {
	case !ok:
	case r != nil:
		writeJSON(rw, http.StatusOK, r.normalized())
	default:
		writeJSON(rw, http.StatusOK, a.normalized())
	}
}

// Page is the body of GET /v1/documents.
type Page struct {
	// Documents are the page's records, oldest first (newest last), with
	// CPR numbers masked.
	Documents []*Record `json:"documents"`
	// Page is the 1-based page number, PerPage its size.
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	// Total counts the documents on every page.
	Total int `json:"total"`
	// NextPage is the number of the next page; absent on the last.
	NextPage int `json:"next_page,omitempty"`
}

// listDocuments serves GET /v1/documents?state=&page=&per_page=, a
// caseworker's queue with state=awaiting_verdict: 200 with a [Page] of the
// caseworker's own municipality's open documents (an admin's: every
// municipality's, or one with kommune=): received, awaiting a verdict, or
// decided with the answer not delivered yet. Answered documents are in the
// archive ([Worker.listArchive]). Sorted by created_at, newest last,
// so new documents join the last page and the pages before stay as they
// were. List items have CPR numbers masked. 400 for a bad parameter; 401,
// 403; 503 while the replica has not loaded its index yet.
//
// Lists come from the replica's in-memory [index], not the bucket: they
// are eventually consistent. A change made through this replica (a verdict
// posted to it) shows at once; one made elsewhere (another replica, the
// bus handlers of another process) shows once the index's watcher
// delivers it, in milliseconds as a rule. GET /v1/documents/{id} reads the
// bucket and is always current.
func (w *Worker) listDocuments(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticate(rw, req)
	if !ok {
		return
	}
	q := req.URL.Query()
	var problems []string
	state := State(q.Get("state"))
	if state != "" && !slices.Contains(States, state) {
		problems = append(problems, "state must be one of received, awaiting_verdict, approved, rejected")
	}
	page, err := intParam(q.Get("page"), 1)
	if err == nil && page > maxPage {
		err = fmt.Errorf("page %d is past the last possible page %d", page, maxPage)
	}
	if err != nil || page < 1 {
		problems = append(problems, fmt.Sprintf("page must be a whole number from 1 to %d", maxPage))
	}
	perPage, err := intParam(q.Get("per_page"), w.cfg.PerPage)
	if err != nil || perPage < 1 || perPage > w.cfg.MaxPerPage {
		problems = append(problems, fmt.Sprintf("per_page must be a whole number from 1 to %d", w.cfg.MaxPerPage))
	}
	kommune := q.Get("kommune")
	if kommune != "" && !events.ValidKommune(kommune) {
		problems = append(problems, "kommune must be 4 digits")
	}
	if len(problems) > 0 {
		writeJSON(rw, http.StatusBadRequest, errorBody{Error: "invalid query", Problems: problems})
		return
	}
	if p.Role == tenant.RoleCaseworker {
		if kommune != "" && kommune != p.Kommune {
			// Another municipality's documents do not exist for them.
			writeJSON(rw, http.StatusOK, Page{Documents: []*Record{}, Page: page, PerPage: perPage})
			return
		}
		kommune = p.Kommune
	}
	// Only while the replica starts can the index be unloaded: wait for it,
	// but not forever.
	ctx, cancel := context.WithTimeout(req.Context(), w.cfg.Timeout)
	defer cancel()
	rs, err := w.store.idx.list(ctx, kommune, state)
	if err != nil {
		w.log.WarnContext(req.Context(), "list documents", "err", err)
		writeError(rw, http.StatusServiceUnavailable, "the documents cannot be listed yet; try again")
		return
	}
	out := Page{Documents: []*Record{}, Page: page, PerPage: perPage, Total: len(rs)}
	if from := (page - 1) * perPage; from < len(rs) {
		to := min(from+perPage, len(rs))
		for _, r := range rs[from:to] {
			out.Documents = append(out.Documents, r.Masked().normalized())
		}
		if to < len(rs) {
			out.NextPage = page + 1
		}
	}
	writeJSON(rw, http.StatusOK, out)
}

// ArchivePage is the body of GET /v1/archive.
type ArchivePage struct {
	// Documents are the page's audit summaries, in the order they were
	// archived, oldest first.
	Documents []*AuditSummary `json:"documents"`
	// NextCursor fetches the next page (?cursor=); absent on the last.
	NextCursor string `json:"next_cursor,omitempty"`
}

// listArchive serves GET /v1/archive?state=&kommune=&limit=&cursor=, the
// history of answered documents: 200 with an [ArchivePage] of audit
// summaries (no CPR numbers), oldest first, from the archive stream, of
// the caseworker's own municipality (an admin's: every municipality's, or
// one with kommune=), approved or rejected ones with state=, up to limit
// (default Config.PerPage, at most Config.MaxPerPage), from the start or
// from cursor, an opaque next_cursor of an earlier page. A page costs time
// in proportion to its size, not to the history. 400 for a bad parameter;
// 401, 403; 503 when the archive cannot be read.
func (w *Worker) listArchive(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticate(rw, req)
	if !ok {
		return
	}
	q := req.URL.Query()
	var problems []string
	state := State(q.Get("state"))
	if state != "" && !state.Decided() {
		problems = append(problems, "state must be approved or rejected")
	}
	limit, err := intParam(q.Get("limit"), w.cfg.PerPage)
	if err != nil || limit < 1 || limit > w.cfg.MaxPerPage {
		problems = append(problems, fmt.Sprintf("limit must be a whole number from 1 to %d", w.cfg.MaxPerPage))
	}
	from, err := decodeCursor(q.Get("cursor"))
	if err != nil {
		problems = append(problems, "cursor must be a next_cursor of this API")
	}
	kommune := q.Get("kommune")
	if kommune != "" && !events.ValidKommune(kommune) {
		problems = append(problems, "kommune must be 4 digits")
	}
	if len(problems) > 0 {
		writeJSON(rw, http.StatusBadRequest, errorBody{Error: "invalid query", Problems: problems})
		return
	}
	if p.Role == tenant.RoleCaseworker {
		if kommune != "" && kommune != p.Kommune {
			// Another municipality's documents do not exist for them.
			writeJSON(rw, http.StatusOK, ArchivePage{Documents: []*AuditSummary{}})
			return
		}
		kommune = p.Kommune
	}
	subject := ArchiveSubject(cmp.Or(kommune, "*"), cmp.Or(state, "*"))
	ctx, cancel := context.WithTimeout(req.Context(), w.cfg.Timeout)
	defer cancel()
	docs, next, err := w.store.arch.page(ctx, subject, from, limit)
	if err != nil {
		w.log.WarnContext(req.Context(), "list the archive", "err", err)
		writeError(rw, http.StatusServiceUnavailable, "the archive cannot be read now; try again")
		return
	}
	out := ArchivePage{Documents: make([]*AuditSummary, len(docs))}
	for i, d := range docs {
		out.Documents[i] = d.normalized()
	}
	if next > 0 {
		out.NextCursor = encodeCursor(next)
	}
	writeJSON(rw, http.StatusOK, out)
}

// cursorPrefix versions the cursor of GET /v1/archive, a stream sequence.
const cursorPrefix = "s1."

func encodeCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(seq, 10)))
}

// decodeCursor returns the stream sequence of a cursor; 0 for none.
func decodeCursor(c string) (uint64, error) {
	if c == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, err
	}
	digits, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return 0, errors.New("not a cursor")
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || seq == 0 {
		return 0, errors.New("not a cursor")
	}
	return seq, nil
}

// maxPage bounds the page number, so the offset cannot overflow.
const maxPage = 1_000_000

func intParam(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	return strconv.Atoi(s)
}

// VerdictRequest is the body of POST /v1/documents/{id}/verdict.
type VerdictRequest struct {
	// Decision is approve or reject.
	Decision events.Decision `json:"decision"`
	// Reasons are why: at least one to reject, none to approve.
	Reasons []events.Reason `json:"reasons,omitempty"`
	// Note is an internal note, never sent to the municipality.
	Note string `json:"note,omitempty"`
}

// VerdictHeader names the response header of a verdict that was not
// refused: "applied" when it decided the document, "repeated" when the
// same verdict had decided it already (a no-op).
const VerdictHeader = "Verdict-Outcome"

// postVerdict serves POST /v1/documents/{id}/verdict for a caseworker of
// the document's municipality:
//
//   - 200 with the [Record] when the verdict decided the document, or when
//     the same verdict (same decision, same reasons) had decided it before:
//     a no-op, no second document.decided ([VerdictHeader] tells which);
//   - 400 {"error", "problems"} for a body that is not a valid verdict
//     ([CheckVerdict]; unknown fields are refused too);
//   - 401 without a valid token, 403 for an admin or another role;
//   - 404 for an unknown document or another municipality's;
//   - 409 {"error", "state", "verdict"} when another verdict decided the
//     document, or it is not awaiting one (received, not validated yet);
//   - 413 for a body over Config.MaxBody;
//   - 503 when the bus or the bucket failed; repeat the request (a verdict
//     recorded already is then a repeat, and announced).
//
// A verdict that would apply is written by compare-and-set, then announced
// with document.decided. It is not published as verdict.submitted first:
// that cost a stream write, a delivery and a second decision per verdict,
// only to cover a process that stops between the write and the
// announcement, which [Worker.reannounce] covers instead. A verdict that
// loses a race to a different one gets 409.
func (w *Worker) postVerdict(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticate(rw, req)
	if !ok {
		return
	}
	if p.Role != tenant.RoleCaseworker {
		writeError(rw, http.StatusForbidden, "only a caseworker of the document's municipality decides it")
		return
	}
	id := req.PathValue("id")
	var body VerdictRequest
	dec := json.NewDecoder(http.MaxBytesReader(rw, req.Body, w.cfg.MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(&body)
	if err == nil && dec.More() {
		err = errors.New("one JSON object expected")
	}
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("one JSON object expected")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(rw, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", w.cfg.MaxBody))
		return
	case err != nil:
		writeJSON(rw, http.StatusBadRequest, errorBody{Error: "the body is not a verdict", Problems: []string{jsonProblem(err)}})
		return
	}
	body.Reasons = NormalizeReasons(body.Reasons)
	if err := CheckVerdict(body.Decision, body.Reasons, body.Note); err != nil {
		var iv *InvalidVerdictError
		errors.As(err, &iv)
		writeJSON(rw, http.StatusBadRequest, errorBody{Error: "invalid verdict", Problems: iv.Problems})
		return
	}
	if !validID(id) {
		writeError(rw, http.StatusNotFound, "no such document")
		return
	}

	// From here on the work goes on if the client leaves.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), w.cfg.Timeout)
	defer cancel()
	caseworker := p.Name
	if caseworker == "" {
		caseworker = "caseworker"
	}
	v := events.VerdictSubmitted{
		VerdictID:  verdictID(p.Kommune, id, caseworker, body.Decision, body.Reasons),
		DocumentID: id, Kommune: p.Kommune, Decision: body.Decision, Reasons: body.Reasons, Note: body.Note,
		Caseworker: caseworker, SubmittedAt: w.now().UTC(),
	}
	m := Meta{Now: v.SubmittedAt}
	if sc := trace.SpanContextFromContext(ctx); sc.TraceID().IsValid() {
		m.TraceID = sc.TraceID().String()
	}
	log := w.log.With("document_id", id, "kommune", p.Kommune, "verdict_id", v.VerdictID)

	// One read-modify-write decides, refuses or repeats; another
	// municipality's document is unknown under this one's key.
	res, err := w.store.verdict(ctx, v, m)
	if errors.Is(err, ErrArchived) {
		w.archivedVerdictOverHTTP(ctx, rw, v, m, log)
		return
	}
	switch {
	case errors.Is(err, ErrNotValidated):
		writeJSON(rw, http.StatusConflict, errorBody{Error: "the document is not awaiting a verdict yet", State: res.Record.State})
		return
	case errors.Is(err, ErrUnknownDocument):
		writeError(rw, http.StatusNotFound, "no such document")
		return
	case errors.Is(err, ErrInvalidEvent):
		log.ErrorContext(ctx, "apply verdict", "err", err)
		writeError(rw, http.StatusInternalServerError, "the verdict could not be applied")
		return
	case err != nil:
		log.WarnContext(ctx, "store verdict", "err", err)
		writeError(rw, http.StatusServiceUnavailable, "the verdict could not be recorded; try again")
		return
	case res.Outcome == VerdictRefused:
		writeJSON(rw, http.StatusConflict, errorBody{Error: res.Reason, State: res.Record.State, Verdict: res.Record.Verdict})
		return
	}
	// Applied or repeated: announce the decision (again; the same event id,
	// so JetStream keeps one).
	// Should that fail, the caseworker's repeat announces it at once, as a
	// repeated verdict; without one, [Worker.reannounce] does, later.
	if err := w.bus.Publish(ctx, res.Events...); err != nil {
		log.WarnContext(ctx, "publish decision", "outcome", res.Outcome, "err", err)
		writeError(rw, http.StatusServiceUnavailable, "the verdict is recorded, but the decision could not be announced yet; repeat the request")
		return
	}
	log.InfoContext(ctx, "verdict", "outcome", res.Outcome)
	rw.Header().Set(VerdictHeader, string(res.Outcome))
	writeJSON(rw, http.StatusOK, res.Record.normalized())
}

// archivedVerdictOverHTTP answers a verdict on an archived document: 200
// ("repeated", with the summary) when it is the verdict in force, 409 with
// the verdict in force otherwise; nothing is announced, since the answer is
// delivered.
func (w *Worker) archivedVerdictOverHTTP(ctx context.Context, rw http.ResponseWriter, v events.VerdictSubmitted, m Meta, log *slog.Logger) {
	res, err := w.archivedVerdict(ctx, v, m)
	if err != nil {
		log.WarnContext(ctx, "read archived document", "err", err)
		writeError(rw, http.StatusServiceUnavailable, "the verdict could not be checked; try again")
		return
	}
	sum, err := w.store.arch.get(ctx, key(v.Kommune, v.DocumentID))
	if err != nil || sum == nil {
		log.WarnContext(ctx, "read archived document", "err", err)
		writeError(rw, http.StatusServiceUnavailable, "the verdict could not be checked; try again")
		return
	}
	if res.Outcome == VerdictRefused {
		writeJSON(rw, http.StatusConflict, errorBody{Error: res.Reason, State: sum.State, Verdict: sum.Verdict})
		return
	}
	rw.Header().Set(VerdictHeader, string(VerdictRepeated))
	writeJSON(rw, http.StatusOK, sum.normalized())
}

// verdictID derives the id of a verdict given over HTTP from who gave what
// on which document, so the same request repeated has the same id.
func verdictID(kommune, id, caseworker string, d events.Decision, reasons []events.Reason) string {
	parts := []string{"http", kommune, id, caseworker, string(d)}
	for _, r := range reasons {
		parts = append(parts, string(r.Code), r.Text)
	}
	return events.ID(events.TypeVerdictSubmitted, parts...)
}

// jsonProblem describes a decoding error without quoting the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s must be a %s", typ.Field, typ.Type)
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed JSON"
}
