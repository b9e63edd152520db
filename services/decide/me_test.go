package decide_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
	"github.com/kp-efaktura/efaktura/services/decide"
)

// registry is a map-based decide.Tenants.
type registry map[string]tenant.Tenant

func (r registry) Get(kommune string) (tenant.Tenant, bool) {
	t, ok := r[kommune]
	return t, ok
}

// TestMe: who the token is, and whether the municipality's two service
// agreements let answers reach its economy system, as respond decides it.
func TestMe(t *testing.T) {
	erp := tenant.EconomySystem{ID: "demo-erp", Name: "Demo ERP", Endpoint: "http://erp.example/answers", Secret: "s3cret"}
	e := startWith(t, decide.Config{}, decide.WithTenants(registry{
		"0101": {Kommune: "0101", Name: "Demo Kommune", EconomySystem: erp, Agreements: map[tenant.AgreementName]tenant.Agreement{
			tenant.Forside: {State: tenant.Approved, EconomySystem: "demo-erp"},
			tenant.Bagside: {State: tenant.Requested, EconomySystem: "demo-erp"},
		}},
		"0202": {Kommune: "0202", Name: "Anden Kommune", EconomySystem: erp, Agreements: map[tenant.AgreementName]tenant.Agreement{
			tenant.Forside: {State: tenant.Approved, EconomySystem: "demo-erp"},
			tenant.Bagside: {State: tenant.Approved, EconomySystem: "demo-erp"},
		}},
	}))
	me := func(token string) (map[string]any, response) {
		t.Helper()
		res := e.do(http.MethodGet, "/v1/me", token, nil)
		var m map[string]any
		if res.status == http.StatusOK {
			if err := json.Unmarshal(res.body, &m); err != nil {
				t.Fatal(err)
			}
		}
		return m, res
	}
	m, res := me(cw0101)
	want := `{"agreements":{"bagside":{"economy_system":"demo-erp","state":"requested"},"forside":{"economy_system":"demo-erp","state":"approved"}},` +
		`"answers_allowed":false,"kommune":"0101","municipality":"Demo Kommune","name":"ab","role":"caseworker"}`
	if got, _ := json.Marshal(m); res.status != http.StatusOK || string(got) != want || res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET /v1/me as 0101's caseworker: %d %s\nwant %s", res.status, got, want)
	}
	if m, _ := me(cw0202); m["answers_allowed"] != true || m["municipality"] != "Anden Kommune" {
		t.Errorf("GET /v1/me as 0202's caseworker: %v", m)
	}
	m, res = me(admin)
	if _, ok := m["answers_allowed"]; res.status != http.StatusOK || m["role"] != "admin" || m["name"] != "admin" || ok || m["kommune"] != nil || m["agreements"] != nil {
		t.Errorf("GET /v1/me as admin: %d %s", res.status, res.body)
	}
	if _, res := me(""); res.status != http.StatusUnauthorized {
		t.Errorf("GET /v1/me without a token: %d, want 401", res.status)
	}
	if _, res := me(ingest); res.status != http.StatusForbidden {
		t.Errorf("GET /v1/me with the economy system's token: %d, want 403", res.status)
	}
}
