package decide

import (
	"net/http"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Me is the body of GET /v1/me: who the token is and, for a caseworker,
// whether their municipality's answers can reach its economy system (the
// desk's banner when they cannot: decisions are kept, answers wait).
type Me struct {
	Role tenant.Role `json:"role"`
	Name string      `json:"name"`
	// Kommune and Municipality are the caseworker's municipality's code
	// and name; absent for an admin.
	Kommune      string `json:"kommune,omitempty"`
	Municipality string `json:"municipality,omitempty"`
	// Agreements are the municipality's SF1590_D service agreements as
	// the registry holds them; one that was never requested is absent.
	Agreements map[tenant.AgreementName]MeAgreement `json:"agreements,omitempty"`
	// AnswersAllowed is [tenant.Tenant.AnswersAllowed]'s verdict, the one
	// respond parks answers by; absent for an admin.
	AnswersAllowed *bool `json:"answers_allowed,omitempty"`
}

// MeAgreement is one service agreement in [Me].
type MeAgreement struct {
	State         tenant.AgreementState `json:"state"`
	EconomySystem string                `json:"economy_system"`
}

// getMe serves GET /v1/me: 200 with [Me]; 401, 403 as every route. A
// caseworker's municipality comes from the registry ([WithTenants]); one
// the registry does not hold (yet) allows no answers.
func (w *Worker) getMe(rw http.ResponseWriter, req *http.Request) {
	p, ok := w.authenticate(rw, req)
	if !ok {
		return
	}
	me := Me{Role: p.Role, Name: p.Name}
	if p.Role == tenant.RoleCaseworker && w.tenants != nil {
		me.Kommune = p.Kommune
		t, found := w.tenants.Get(p.Kommune)
		allowed := false
		if found {
			me.Municipality = t.Name
			me.Agreements = map[tenant.AgreementName]MeAgreement{}
			for name, a := range t.Agreements {
				me.Agreements[name] = MeAgreement{State: a.State, EconomySystem: a.EconomySystem}
			}
			allowed, _, _ = t.AnswersAllowed()
		}
		me.AnswersAllowed = &allowed
	} else if p.Role == tenant.RoleCaseworker {
		me.Kommune = p.Kommune
	}
	writeJSON(rw, http.StatusOK, me)
}
