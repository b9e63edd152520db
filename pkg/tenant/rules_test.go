package tenant_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

const rulesJSON = `{"mode": "enforce",
 "rules": [{"name": "small-trusted", "decision": "approve",
            "senders": ["CVR:12345674", "EAN:5790000000012"],
            "document_types": ["INVOICE", "CREDIT_NOTE", "REMINDER"],
            "max_amount_incl_vat": "5000.00", "currencies": ["DKK"]}]}`

func TestRulesAPI(t *testing.T) {
	a := newAPI(t)
	saved := a.e.put(t, example("0101"))

	// None yet: off.
	status, body, _ := a.do("GET", "/v1/tenants/0101/rules", adminToken, "")
	if status != http.StatusOK || strings.TrimSpace(body) != `{"mode":"off","rules":[]}` {
		t.Fatalf("GET rules before any = %d %s", status, body)
	}
	// Admin only.
	for _, tok := range []string{ingestToken + "0101", caseworkerToken + "0101"} {
		for _, m := range []string{"GET", "PUT"} {
			if status, body, _ := a.do(m, "/v1/tenants/0101/rules", tok, rulesJSON); status != http.StatusForbidden {
				t.Errorf("%s rules with a non-admin token = %d %s, want 403", m, status, body)
			}
		}
	}
	if status, _, _ := a.do("PUT", "/v1/tenants/0101/rules", "", rulesJSON); status != http.StatusUnauthorized {
		t.Errorf("PUT rules without a token = %d, want 401", status)
	}
	if status, _, _ := a.do("PUT", "/v1/tenants/9999/rules", adminToken, rulesJSON); status != http.StatusNotFound {
		t.Errorf("PUT rules of an unknown municipality = %d, want 404", status)
	}

	status, body, h := a.do("PUT", "/v1/tenants/0101/rules", adminToken, rulesJSON)
	if status != http.StatusOK {
		t.Fatalf("PUT rules = %d %s", status, body)
	}
	var got tenant.Rules
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Mode != tenant.RulesEnforce || len(got.Rules) != 1 || got.Rules[0].MaxAmountInclVAT != "5000.00" || h.Get("ETag") == "" {
		t.Errorf("PUT rules returned %+v, ETag %q", got, h.Get("ETag"))
	}
	// The change is in the municipality's history, by whom: it turned
	// automatic approval on.
	status, body, _ = a.do("GET", "/v1/tenants/0101/history", adminToken, "")
	var hist tenant.HistoryList
	if err := json.Unmarshal([]byte(body), &hist); err != nil || status != http.StatusOK || len(hist.History) == 0 {
		t.Fatalf("GET history = %d %s (%v)", status, body, err)
	}
	if last := hist.History[len(hist.History)-1]; last.By != "admin" || last.Agreement != "" || last.Rules == nil ||
		last.Rules.Mode != tenant.RulesEnforce || !slices.Equal(last.Rules.Names, []string{"small-trusted"}) {
		t.Errorf("the history's last change %+v, rules %+v; want the rules set by admin", last, last.Rules)
	}
	if strings.Contains(body, `"agreement":""`) {
		t.Errorf("a rules change carries empty agreement fields: %s", body)
	}
	// Stored with the municipality: the registry follows, a Put without
	// rules keeps them, and a new registry (another process) reads them.
	bustestWait(t, a.e, "0101")
	tn, _ := a.e.registry.Get("0101")
	if tn.Rules == nil || tn.Rules.Rules[0].Name != "small-trusted" {
		t.Fatalf("the registry's tenant has rules %+v", tn.Rules)
	}
	again := example("0101")
	again.Name = "København Kommune"
	if _, err := a.e.store.Put(a.e.ctx, again, 0); err != nil {
		t.Fatal(err)
	}
	stored, err := a.e.store.Get(a.e.ctx, "0101")
	if err != nil || stored.Rules == nil || stored.Name != "København Kommune" || stored.Version <= saved.Version {
		t.Fatalf("after a Put without rules: %+v, %v", stored.Rules, err)
	}
	fresh, err := tenant.NewRegistry(a.e.ctx, a.e.js, tenant.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if tn, ok := fresh.Get("0101"); !ok || tn.Rules == nil || tn.Rules.Mode != tenant.RulesEnforce {
		t.Errorf("a new registry reads rules %+v", tn.Rules)
	}
	// The same rules again write nothing.
	if _, err := a.e.store.SetRules(a.e.ctx, "0101", *stored.Rules); err != nil {
		t.Fatal(err)
	}
	if s2, _ := a.e.store.Get(a.e.ctx, "0101"); s2.Version != stored.Version || len(s2.History) != len(hist.History) {
		t.Errorf("the same rules wrote version %d over %d, history of %d changes over %d", s2.Version, stored.Version, len(s2.History), len(hist.History))
	}
	// GET shows them; the tenant's GET too.
	if status, body, _ := a.do("GET", "/v1/tenants/0101/rules", adminToken, ""); status != http.StatusOK || !strings.Contains(body, `"small-trusted"`) {
		t.Errorf("GET rules = %d %s", status, body)
	}
	if status, _, _ := a.do("DELETE", "/v1/tenants/0101/rules", adminToken, ""); status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE rules = %d, want 405", status)
	}
}

func bustestWait(t *testing.T, e *env, kommune string) {
	t.Helper()
	stored, err := e.store.Get(e.ctx, kommune)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.registry.WaitVersion(e.ctx, kommune, stored.Version); err != nil {
		t.Fatal(err)
	}
}

func TestRulesValidationNamesEveryProblem(t *testing.T) {
	a := newAPI(t)
	a.e.put(t, example("0101"))
	bad := `{"mode": "sometimes", "rules": [
	  {"name": "Big Ones", "decision": "reject", "senders": ["CVR:1234", "CVR:12345674", "CVR:12345674"],
	   "document_types": ["INVOICE", "ORDER"], "max_amount_incl_vat": "5.000,00", "currencies": ["dkk"]},
	  {"name": "dup", "decision": "approve", "senders": [], "document_types": [], "max_amount_incl_vat": "1.2345", "currencies": []},
	  {"name": "dup", "decision": "approve", "senders": ["EAN:5790000000012"], "document_types": ["REMINDER"], "max_amount_incl_vat": "-1", "currencies": ["DKK"]}]}`
	status, body, _ := a.do("PUT", "/v1/tenants/0101/rules", adminToken, bad)
	if status != http.StatusBadRequest {
		t.Fatalf("PUT bad rules = %d %s", status, body)
	}
	var got tenant.RulesProblems
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`mode "sometimes"`,
		`rules[0] (Big Ones): name must be`,
		`rules[0] (Big Ones): decision "reject": a rule can only approve`,
		`rules[0] (Big Ones): senders[0] "CVR:1234" is not`,
		`rules[0] (Big Ones): senders[2] "CVR:12345674" is listed twice`,
		`rules[0] (Big Ones): document_types[1] "ORDER"`,
		`rules[0] (Big Ones): max_amount_incl_vat "5.000,00"`,
		`rules[0] (Big Ones): currencies[0] "dkk"`,
		`rules[1] (dup): senders lists no sender`,
		`rules[1] (dup): document_types lists no type`,
		`rules[1] (dup): max_amount_incl_vat "1.2345"`,
		`rules[1] (dup): currencies lists no currency`,
		`rules[2] (dup): name is used by an earlier rule`,
		`rules[2] (dup): max_amount_incl_vat "-1"`,
	}
	if len(got.Problems) != len(want) {
		t.Errorf("%d problems, want %d: %q", len(got.Problems), len(want), got.Problems)
	}
	for _, w := range want {
		if !slices.ContainsFunc(got.Problems, func(p string) bool { return strings.HasPrefix(p, w) }) {
			t.Errorf("no problem starting %q in %q", w, got.Problems)
		}
		if !strings.Contains(got.Error, w) {
			t.Errorf("the error does not name %q", w)
		}
	}
	// Nothing stored; unknown fields refused.
	if tn, _ := a.e.store.Get(a.e.ctx, "0101"); tn.Rules != nil {
		t.Errorf("invalid rules were stored: %+v", tn.Rules)
	}
	if status, _, _ := a.do("PUT", "/v1/tenants/0101/rules", adminToken, `{"mode":"off","rules":[],"extra":1}`); status != http.StatusBadRequest {
		t.Errorf("an unknown field = %d, want 400", status)
	}
	// A tenant put with invalid rules is refused too.
	tn := example("0101")
	tn.Rules = &tenant.Rules{Mode: "x"}
	if _, err := a.e.store.Put(a.e.ctx, tn, 0); err == nil || !strings.Contains(err.Error(), "rules: mode") {
		t.Errorf("Put with invalid rules: %v", err)
	}
}

func TestRuleMaxAmountIsExact(t *testing.T) {
	for s, want := range map[string]string{"5000.00": "5000", "0.001": "0.001", "12345678901234567": "12345678901234567"} {
		d, err := tenant.Rule{MaxAmountInclVAT: s}.MaxAmount()
		if err != nil || d.String() != want {
			t.Errorf("MaxAmount(%q) = %v, %v; want %s", s, d, err, want)
		}
	}
	for _, s := range []string{"", "1e3", "1,00", " 1", "+1", "1.0000"} {
		if _, err := (tenant.Rule{MaxAmountInclVAT: s}).MaxAmount(); err == nil {
			t.Errorf("MaxAmount(%q) parsed", s)
		}
	}
}

// Rules without a rule are the same whether their list is nil or empty: a
// Put and a SetRules of the same rules write once, and a Put without rules
// keeps them (and the signing secrets) beside an agreement's change.
func TestRulesWithoutARuleAreStoredOnce(t *testing.T) {
	e := newEnv(t)
	tn := example("0101")
	tn.Rules = &tenant.Rules{Mode: tenant.RulesOff} // a nil list
	saved, err := e.store.Put(e.ctx, tn, 0)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.store.SetRules(e.ctx, "0101", tenant.Rules{Mode: tenant.RulesOff, Rules: []tenant.Rule{}})
	if err != nil || again.Version != saved.Version {
		t.Fatalf("SetRules(the same rules) = version %d, %v; want %d, nothing written", again.Version, err, saved.Version)
	}
	view := again.Public()
	view.Rules = nil
	view.Agreements[tenant.Bagside] = tenant.Agreement{State: tenant.Approved, EconomySystem: "opus-kbh"}
	put, err := e.store.Put(e.ctx, view, 0)
	if err != nil {
		t.Fatal(err)
	}
	if put.Rules == nil || put.Rules.Mode != tenant.RulesOff || !slices.Equal(put.EconomySystem.Secrets, storedSecrets()) || len(put.History) != 3 {
		t.Errorf("Put without rules or secrets = rules %+v, %d secrets, %d changes; want the rules and secret kept, 3 changes",
			put.Rules, len(put.EconomySystem.Secrets), len(put.History))
	}
}
