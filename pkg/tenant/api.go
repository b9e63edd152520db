package tenant

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds a request body of the admin API.
const maxBody = 1 << 20

// NewAdminAPI returns the admin HTTP API over store, authenticating with
// registry. Every request needs "Authorization: Bearer <token>" of
// [RoleAdmin]: 401 without a token or with an unknown one, 403 for another
// role.
//
//	GET /v1/tenants                                     {"tenants": [Tenant...]}
//	GET /v1/tenants/{kommune}                           Tenant
//	PUT /v1/tenants/{kommune}                           body Tenant; Tenant
//	PUT /v1/tenants/{kommune}/agreements/{agreement}    body {"state": "...", "economy_system": "..."}; Tenant
//	GET /v1/tenants/{kommune}/rules                     Rules (rules.go)
//	PUT /v1/tenants/{kommune}/rules                     body Rules; Rules, or 400 {"error", "problems"}
//	GET /v1/tenants/{kommune}/history                   HistoryList: the agreements' and the rules' changes
//	GET /v1/agreements[?ready=true|false][&mismatch=true][&format=csv]
//	                                                    AgreementsList: readiness per municipality
//
// An agreement changes only by the life cycle (lifecycle.go): any other
// change of state is 409, naming from and to. Every change is recorded in
// the municipality's history as made by the token's holder.
//
// Responses show tenants without their signing secrets and token hashes
// ([Tenant.Public]), with the version as ETag. PUT /v1/tenants/{kommune}
// takes the Tenant JSON, secrets and token hashes included, with
// [Store.Put]'s semantics: the economy system's "secrets" (a list in the
// whsec_ form) replace the stored ones, and so does a legacy single
// "secret" (see [EconomySystem]); without either, and without a "tokens"
// key, the stored ones are kept, so a
// tenant read with GET can be changed and put back. "If-Match: <version>"
// makes it compare-and-set; without it, it creates or replaces. The body's
// kommune, when given, must be the path's; its version is ignored.
//
// Errors are JSON {"error": "..."}: 400 for a malformed or invalid body
// (every validation problem), 404 for an unknown tenant, 409 when If-Match
// is not the stored version, 413 for a body over 1 MiB, 500 when the change
// was saved but not published (repeating the request publishes it).
func NewAdminAPI(store *Store, registry *Registry, opts ...AdminOption) http.Handler {
	a := &adminAPI{store: store, registry: registry, log: slog.Default().With("component", "tenant.AdminAPI")}
	for _, opt := range opts {
		opt(a)
	}
	mux := http.NewServeMux()
	// Issue 15 (agreements_api.go).
	mux.HandleFunc("GET /v1/agreements", a.agreements)
	mux.HandleFunc("GET /v1/tenants/{kommune}/history", a.history)
	mux.Handle("/v1/agreements", methodNotAllowed("GET"))
	mux.Handle("/v1/tenants/{kommune}/history", methodNotAllowed("GET"))
	mux.HandleFunc("GET /v1/tenants", a.list)
	mux.HandleFunc("GET /v1/tenants/{kommune}", a.get)
	mux.HandleFunc("PUT /v1/tenants/{kommune}", a.put)
	mux.HandleFunc("PUT /v1/tenants/{kommune}/agreements/{agreement}", a.setAgreement)
	mux.HandleFunc("GET /v1/tenants/{kommune}/rules", a.getRules)
	mux.HandleFunc("PUT /v1/tenants/{kommune}/rules", a.putRules)
	// The rest in JSON too: ServeMux's own 404 and 405 are plain text.
	mux.Handle("/v1/tenants", methodNotAllowed("GET"))
	mux.Handle("/v1/tenants/{kommune}", methodNotAllowed("GET, PUT"))
	mux.Handle("/v1/tenants/{kommune}/agreements/{agreement}", methodNotAllowed("PUT"))
	mux.Handle("/v1/tenants/{kommune}/rules", methodNotAllowed("GET, PUT"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such resource; see /v1/tenants and /v1/agreements")
	})
	return a.requireAdmin(mux)
}

type adminAPI struct {
	store    *Store
	registry *Registry
	log      *slog.Logger
	parked   ParkedAnswers // nil counts nothing parked
	deadline time.Time     // zero for none
}

// AgreementRequest is the body of PUT /v1/tenants/{kommune}/agreements/{agreement}.
type AgreementRequest struct {
	State AgreementState `json:"state"`
	// EconomySystem is the economy system the agreement names; empty keeps
	// the one it names (a new agreement names the municipality's).
	EconomySystem string `json:"economy_system,omitempty"`
}

// TenantList is the body of GET /v1/tenants.
type TenantList struct {
	Tenants []Tenant `json:"tenants"`
}

func (a *adminAPI) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := Bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="efaktura admin"`)
			writeError(w, http.StatusUnauthorized, "an admin bearer token is required (Authorization: Bearer <token>)")
			return
		}
		p, err := a.registry.Authenticate(token)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="efaktura admin", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "the bearer token is not valid")
			return
		}
		if p.Role != RoleAdmin {
			writeError(w, http.StatusForbidden, fmt.Sprintf("a %s token cannot manage municipalities; use an admin token", p.Role))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithActor(r.Context(), p.Name)))
	})
}

func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed here; use %s", r.Method, allow))
	})
}

// Bearer returns the token of r's Authorization header, whose scheme is
// Bearer in any case (RFC 9110), and whether there is one.
func Bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func (a *adminAPI) list(w http.ResponseWriter, r *http.Request) {
	ts, err := a.store.List(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := TenantList{Tenants: make([]Tenant, 0, len(ts))}
	for _, t := range ts {
		out.Tenants = append(out.Tenants, t.Public())
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *adminAPI) get(w http.ResponseWriter, r *http.Request) {
	t, err := a.store.Get(r.Context(), r.PathValue("kommune"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeTenant(w, t)
}

func (a *adminAPI) put(w http.ResponseWriter, r *http.Request) {
	kommune := r.PathValue("kommune")
	var version uint64
	if v := r.Header.Get("If-Match"); v != "" {
		n, err := strconv.ParseUint(strings.Trim(strings.TrimSpace(v), `"`), 10, 64)
		if err != nil || n == 0 {
			writeError(w, http.StatusBadRequest, "If-Match must be a tenant version, e.g. If-Match: \"7\"")
			return
		}
		version = n
	}
	var t Tenant
	if !decodeBody(w, r, &t) {
		return
	}
	if t.Kommune == "" {
		t.Kommune = kommune
	}
	if t.Kommune != kommune {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the body is kommune %q, the path %q", t.Kommune, kommune))
		return
	}
	saved, err := a.store.Put(r.Context(), t, version)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.settle(r.Context(), saved.Kommune, saved.Version)
	writeTenant(w, saved)
}

func (a *adminAPI) setAgreement(w http.ResponseWriter, r *http.Request) {
	var req AgreementRequest
	if !decodeBody(w, r, &req) {
		return
	}
	saved, err := a.store.SetAgreement(r.Context(), r.PathValue("kommune"), AgreementName(r.PathValue("agreement")), req.State, req.EconomySystem)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.settle(r.Context(), saved.Kommune, saved.Version)
	writeTenant(w, saved)
}

// decodeBody reads a bounded JSON body into v; on failure it answers and
// returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit))
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "the body is not valid JSON for this request: "+err.Error())
		return false
	}
	return true
}

// fail answers with the status that err calls for.
func (a *adminAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrTransition):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, err.Error()+"; read the tenant again and retry with its version")
	case errors.Is(err, ErrNotPublished):
		a.log.ErrorContext(r.Context(), "tenant change not published", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, err.Error()+"; repeat the request to publish it")
	default:
		a.log.ErrorContext(r.Context(), "admin request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error; see the server's log")
	}
}

func writeTenant(w http.ResponseWriter, t Tenant) {
	w.Header().Set("ETag", strconv.Quote(strconv.FormatUint(t.Version, 10)))
	writeJSON(w, http.StatusOK, t.Public())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a failed write is the client's problem
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
