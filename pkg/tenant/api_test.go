package tenant_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// api is an httptest server of the admin API that checks every response for
// secrets.
type api struct {
	t   *testing.T
	srv *httptest.Server
	e   *env
}

func newAPI(t *testing.T) *api {
	e := newEnv(t)
	srv := httptest.NewServer(tenant.NewAdminAPI(e.store, e.registry))
	t.Cleanup(srv.Close)
	return &api{t: t, srv: srv, e: e}
}

// do sends a request with token (none when empty) and returns the status and
// the body; the body must be JSON and hold no secret.
func (a *api) do(method, path, token, body string, header ...string) (int, string, http.Header) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		a.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if !json.Valid(raw) {
		a.t.Errorf("%s %s: body is not JSON: %q", method, path, raw)
	}
	for _, k := range []string{"0101", "0751"} {
		for _, sec := range append(secrets(k), "rotated-secret", answer.SecretFromRaw("rotated-secret")) {
			if strings.Contains(string(raw), sec) {
				a.t.Errorf("%s %s: the response contains a secret or token hash", method, path)
			}
		}
	}
	for _, field := range []string{`"secret"`, `"secrets"`, `"tokens"`, `"sha256"`} {
		if strings.Contains(string(raw), field) {
			a.t.Errorf("%s %s: the response has a field %s", method, path, field)
		}
	}
	return resp.StatusCode, string(raw), resp.Header
}

func tenantJSON(t *testing.T, tn tenant.Tenant) string {
	t.Helper()
	raw, err := json.Marshal(tn)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestAdminAPIAuth(t *testing.T) {
	a := newAPI(t)
	a.e.put(t, example("0101"))
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"unknown token", "guess", http.StatusUnauthorized},
		{"ingest token", ingestToken + "0101", http.StatusForbidden},
		{"caseworker token", caseworkerToken + "0101", http.StatusForbidden},
		{"admin token", adminToken, http.StatusOK},
	} {
		for _, path := range []string{"/v1/tenants", "/v1/tenants/0101"} {
			status, body, h := a.do("GET", path, tc.token, "")
			if status != tc.want {
				t.Errorf("%s: GET %s = %d %s, want %d", tc.name, path, status, body, tc.want)
			}
			if status == http.StatusUnauthorized && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: 401 without WWW-Authenticate: Bearer", tc.name)
			}
		}
	}
	// Writes too.
	if status, _, _ := a.do("PUT", "/v1/tenants/0101/agreements/bagside", caseworkerToken+"0101", `{"state":"approved"}`); status != http.StatusForbidden {
		t.Errorf("PUT agreement with a caseworker token = %d, want 403", status)
	}
	if status, _, _ := a.do("PUT", "/v1/tenants/0101", "", tenantJSON(t, example("0101"))); status != http.StatusUnauthorized {
		t.Errorf("PUT tenant without a token = %d, want 401", status)
	}
}

func TestAdminAPITenants(t *testing.T) {
	a := newAPI(t)
	ctx := a.e.ctx

	// Create without If-Match.
	status, body, h := a.do("PUT", "/v1/tenants/0101", adminToken, tenantJSON(t, example("0101")))
	if status != http.StatusOK {
		t.Fatalf("PUT /v1/tenants/0101 = %d %s", status, body)
	}
	var created tenant.Tenant
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	if created.Version == 0 || h.Get("ETag") == "" || created.Name != "København" {
		t.Errorf("PUT = %+v, ETag %q", created, h.Get("ETag"))
	}
	stored, err := a.e.store.Get(ctx, "0101")
	if err != nil || !slices.Equal(stored.EconomySystem.Secrets, storedSecrets()) || len(stored.Tokens) != 2 {
		t.Errorf("the store after PUT = %+v, %v; want the secret and two tokens", stored, err)
	}

	// A body without kommune takes the path's.
	aarhus := example("0751")
	aarhus.Kommune = ""
	aarhus.EconomySystem.Secret = "rotated-secret"
	aarhus.Tokens = nil
	if status, body, _ := a.do("PUT", "/v1/tenants/0751", adminToken, tenantJSON(t, aarhus)); status != http.StatusOK {
		t.Errorf("PUT /v1/tenants/0751 without kommune in the body = %d %s", status, body)
	}

	status, body, _ = a.do("GET", "/v1/tenants", adminToken, "")
	var list tenant.TenantList
	if err := json.Unmarshal([]byte(body), &list); err != nil || status != http.StatusOK {
		t.Fatalf("GET /v1/tenants = %d %s", status, body)
	}
	if len(list.Tenants) != 2 || list.Tenants[0].Kommune != "0101" || list.Tenants[1].Kommune != "0751" {
		t.Errorf("GET /v1/tenants = %s, want 0101 and 0751", body)
	}

	// Read, change, put back with If-Match: the secret and tokens stay.
	status, body, h = a.do("GET", "/v1/tenants/0101", adminToken, "")
	if status != http.StatusOK {
		t.Fatalf("GET /v1/tenants/0101 = %d %s", status, body)
	}
	etag := h.Get("ETag")
	changed := strings.Replace(body, `"KMD Opus"`, `"KMD Opus 2"`, 1)
	status, body, _ = a.do("PUT", "/v1/tenants/0101", adminToken, changed, "If-Match", etag)
	if status != http.StatusOK {
		t.Fatalf("PUT the GET body back with If-Match %s = %d %s", etag, status, body)
	}
	stored, _ = a.e.store.Get(ctx, "0101")
	if stored.EconomySystem.Name != "KMD Opus 2" || !slices.Equal(stored.EconomySystem.Secrets, storedSecrets()) || len(stored.Tokens) != 2 {
		t.Errorf("after GET, change, PUT: %+v; want the new name, the secret and both tokens", stored)
	}

	// A stale If-Match is a conflict.
	status, body, _ = a.do("PUT", "/v1/tenants/0101", adminToken, strings.Replace(changed, "KMD Opus 2", "KMD Opus 3", 1), "If-Match", etag)
	if status != http.StatusConflict || !strings.Contains(body, `"error"`) {
		t.Errorf("PUT with a stale If-Match = %d %s, want 409 with an error", status, body)
	}

	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		want                     int
		contains                 []string
	}{
		{"invalid tenant", "PUT", "/v1/tenants/0147", strings.NewReplacer(`"0101"`, `"0147"`, `"64942212"`, `"1"`, `"https://erp.kbh.example/svar"`, `"erp"`).Replace(tenantJSON(t, example("0101"))), nil,
			http.StatusBadRequest, []string{`cvr \"1\" is not 8 digits`, "is not an http or https URL"}},
		{"kommune mismatch", "PUT", "/v1/tenants/0147", tenantJSON(t, example("0101")), nil, http.StatusBadRequest, []string{"the path"}},
		{"unknown field", "PUT", "/v1/tenants/0101", `{"kommune":"0101","colour":"red"}`, nil, http.StatusBadRequest, []string{"colour"}},
		{"not JSON", "PUT", "/v1/tenants/0101", `{`, nil, http.StatusBadRequest, []string{"not valid JSON"}},
		{"bad If-Match", "PUT", "/v1/tenants/0101", tenantJSON(t, example("0101")), []string{"If-Match", "*"}, http.StatusBadRequest, []string{"If-Match"}},
		{"If-Match on an absent tenant", "PUT", "/v1/tenants/0147", strings.ReplaceAll(tenantJSON(t, example("0101")), `"0101"`, `"0147"`), []string{"If-Match", `"3"`}, http.StatusConflict, nil},
		{"too large", "PUT", "/v1/tenants/0101", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, nil, http.StatusRequestEntityTooLarge, nil},
		{"unknown tenant", "GET", "/v1/tenants/0999", "", nil, http.StatusNotFound, []string{"not found"}},
		{"malformed kommune", "GET", "/v1/tenants/abc", "", nil, http.StatusBadRequest, []string{"4 digits"}},
		{"agreement of unknown tenant", "PUT", "/v1/tenants/0999/agreements/forside", `{"state":"approved"}`, nil, http.StatusNotFound, nil},
		{"unknown agreement", "PUT", "/v1/tenants/0101/agreements/middle", `{"state":"approved"}`, nil, http.StatusBadRequest, []string{"neither forside nor bagside"}},
		{"unknown state", "PUT", "/v1/tenants/0101/agreements/forside", `{"state":"pending"}`, nil, http.StatusBadRequest, []string{"pending"}},
		{"agreement body field", "PUT", "/v1/tenants/0101/agreements/forside", `{"status":"approved"}`, nil, http.StatusBadRequest, nil},
	} {
		status, body, _ := a.do(tc.method, tc.path, adminToken, tc.body, tc.header...)
		if status != tc.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, status, body, tc.want)
			continue
		}
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
			t.Errorf(`%s: body %s, want {"error": "..."}`, tc.name, body)
		}
		for _, c := range tc.contains {
			if !strings.Contains(body, c) {
				t.Errorf("%s: body %s, want it to contain %s", tc.name, body, c)
			}
		}
	}

	// Agreements: bagside approved lets answers flow.
	status, body, _ = a.do("PUT", "/v1/tenants/0101/agreements/bagside", adminToken, `{"state":"approved","economy_system":"opus-kbh"}`)
	if status != http.StatusOK {
		t.Fatalf("PUT agreement = %d %s", status, body)
	}
	var got tenant.Tenant
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if ok, _, detail := got.AnswersAllowed(); !ok {
		t.Errorf("after bagside approved: AnswersAllowed = false: %s", detail)
	}
	if err := a.e.registry.WaitVersion(ctx, "0101", got.Version); err != nil {
		t.Fatal(err)
	}
	if reg, _ := a.e.registry.Get("0101"); reg.Agreements[tenant.Bagside].State != tenant.Approved {
		t.Errorf("the registry has bagside %s, want approved", reg.Agreements[tenant.Bagside].State)
	}
	if status, _, _ := a.do("POST", "/v1/tenants", adminToken, "{}"); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/tenants = %d, want 405", status)
	}
}
