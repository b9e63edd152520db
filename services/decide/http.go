package decide

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Routes adds the caseworkers' API to mux:
//
//	GET  /v1/me                          who the token is; for a caseworker, the municipality's agreements and answers_allowed
//	GET  /v1/documents                   the open documents (?state=&q=&document_type=&overdue=&sort=&order=&page=&per_page=; an admin also &kommune=)
//	GET  /v1/documents/{id}              one document, in full; an archived one as its audit summary
//	GET  /v1/documents/{id}/invoice      its content as JSON, CPR numbers masked (?reveal=cpr shows them, and is logged in its history)
//	GET  /v1/documents/{id}/original     its XML as received (ISO-8859-1)
//	GET  /v1/documents/{id}/flow         the document's way through the workers, and its trace id
//	POST /v1/documents/{id}/verdict      decide a document (a caseworker of its municipality)
//	POST /v1/verdicts                    decide up to 1000 documents with one verdict, one result each
//	GET  /v1/archive                     page through the archived documents (?state=&limit=&cursor=; an admin also &kommune=)
//	GET  /v1/bundles/{id}                what became of a bundle and each of its documents (also with the municipality's ingest token)
//
// Every request needs "Authorization: Bearer <token>". A caseworker sees and
// decides only their own municipality's documents: another's answer 404, as
// unknown ones do, so existence does not leak. An admin sees every
// municipality's documents but decides none. Errors are JSON,
// {"error": "...", "problems": [...]}; see the handlers for the status
// codes. Every response has Cache-Control: no-store.
func (w *Worker) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/me", w.getMe)
	mux.HandleFunc("GET /v1/documents", w.listDocuments)
	mux.HandleFunc("GET /v1/documents/{id}", w.getDocument)
	mux.HandleFunc("GET /v1/documents/{id}/invoice", w.getInvoice)
	mux.HandleFunc("GET /v1/documents/{id}/original", w.getOriginal)
	mux.HandleFunc("GET /v1/documents/{id}/flow", w.getFlow)
	mux.HandleFunc("POST /v1/documents/{id}/verdict", w.postVerdict)
	mux.HandleFunc("POST /v1/verdicts", w.postVerdicts)
	mux.HandleFunc("GET /v1/archive", w.listArchive)
	// GET only: ingest serves POST /v1/bundles on the same mux under
	// efaktura up.
	mux.HandleFunc("GET /v1/bundles/{id}", w.getBundle)
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
	return w.authenticateRoles(rw, req, tenant.RoleCaseworker, tenant.RoleAdmin)
}

// authenticateRoles is [Worker.authenticate] for the given roles: an admin,
// or a caseworker or economy system (ingest) of a municipality.
func (w *Worker) authenticateRoles(rw http.ResponseWriter, req *http.Request, roles ...tenant.Role) (tenant.Principal, bool) {
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
	case !slices.Contains(roles, p.Role):
	case p.Role == tenant.RoleAdmin:
		return p, true
	case events.ValidKommune(p.Kommune):
		return p, true
	}
	msg := "only caseworkers and admins use this API"
	if slices.Contains(roles, tenant.RoleIngest) {
		msg = "only the municipality's economy system, its caseworkers and admins use this API"
	}
	writeError(rw, http.StatusForbidden, msg)
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

// getDocument serves GET /v1/documents/{id}: 200 with the [Item] of an
// open document (its [Record] and the queue's fields), CPR numbers
// unmasked (the caseworker needs the document as it is), or with the
// [AuditSummary] of an archived one ("archived": true); 401, 403; 404 for
// an unknown document or another municipality's.
func (w *Worker) getDocument(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticate(rw, req)
	if !ok {
		return
	}
	r, a, ok := w.locate(req.Context(), rw, p, req.PathValue("id"))
	switch {
	case !ok:
	case r != nil:
		writeJSON(rw, http.StatusOK, item(r.normalized(), w.now()))
	default:
		writeJSON(rw, http.StatusOK, a.normalized())
	}
}

// Page is the body of GET /v1/documents.
type Page struct {
	// Documents are the page's items, in the order asked for, with CPR
	// numbers masked.
	Documents []*Item `json:"documents"`
	// Page is the 1-based page number, PerPage its size.
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	// Total counts the documents on every page.
	Total int `json:"total"`
	// NextPage is the number of the next page; absent on the last.
	NextPage int `json:"next_page,omitempty"`
}

// listDocuments serves GET /v1/documents?state=&q=&document_type=
// &overdue=&sort=&order=&page=&per_page=, a caseworker's queue with
// state=awaiting_verdict: 200 with a [Page] of [Item]s, the caseworker's
// own municipality's open documents (an admin's: every municipality's, or
// one with kommune=): received, awaiting a verdict, or decided with the
// answer not delivered yet. Answered documents are in the archive
// ([Worker.listArchive]). Filtered and sorted as [Query] says: by due
// date, oldest first, unless sort= and order= say otherwise; ties by
// received_at, created_at and id. List items have CPR numbers masked. 400
// for a bad parameter; 401, 403; 503 while the replica has not loaded its
// index yet.
//
// A list filters the open documents of the municipality in the index,
// then sorts what is left: its cost grows with open work, not history.
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
	query, problems := parseQuery(q.Get)
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
			writeJSON(rw, http.StatusOK, Page{Documents: []*Item{}, Page: page, PerPage: perPage})
			return
		}
		kommune = p.Kommune
	}
	// Only while the replica starts can the index be unloaded: wait for it,
	// but not forever.
	ctx, cancel := context.WithTimeout(req.Context(), w.cfg.Timeout)
	defer cancel()
	rs, err := w.store.idx.records(ctx, kommune, query.State, query.keep)
	if err != nil {
		w.log.WarnContext(req.Context(), "list documents", "err", err)
		writeError(rw, http.StatusServiceUnavailable, "the documents cannot be listed yet; try again")
		return
	}
	now := w.now()
	items := queue(rs, query, now)
	out := Page{Documents: []*Item{}, Page: page, PerPage: perPage, Total: len(items)}
	if from := (page - 1) * perPage; from < len(items) {
		to := min(from+perPage, len(items))
		for _, it := range items[from:to] {
			out.Documents = append(out.Documents, item(it.Record.Masked().normalized(), now))
		}
		if to < len(items) {
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
