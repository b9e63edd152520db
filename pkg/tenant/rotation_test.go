package tenant_test

import (
	"errors"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Ingest and caseworker tokens rotate without downtime (issue 16,
// docs/operations.md): a municipality holds the old and the new token of a
// role at once, both authenticate while clients move, and once the old one
// is removed only the new one does.
func TestTokenRotation(t *testing.T) {
	e := newEnv(t)
	tn := example("0101")
	e.put(t, tn)
	for _, role := range []tenant.Role{tenant.RoleIngest, tenant.RoleCaseworker} {
		old := ingestToken + "0101"
		if role == tenant.RoleCaseworker {
			old = caseworkerToken + "0101"
		}
		next := "next-" + string(role) + "-token"

		current, _ := e.registry.Get("0101")
		during := current
		during.Tokens = append(append([]tenant.Token{}, current.Tokens...), tenant.Token{Role: role, Name: "next", SHA256: tenant.HashToken(next)})
		saved, err := e.store.Put(e.ctx, during, current.Version)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.registry.WaitVersion(e.ctx, "0101", saved.Version); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{old, next} {
			if p, err := e.registry.Authenticate(tok); err != nil || p.Role != role {
				t.Errorf("%s during the change: Authenticate = %+v, %v; want role %s", role, p, err, role)
			}
		}

		after := saved
		after.Tokens = nil
		for _, tok := range saved.Tokens {
			if tok.SHA256 != tenant.HashToken(old) {
				after.Tokens = append(after.Tokens, tok)
			}
		}
		saved, err = e.store.Put(e.ctx, after, saved.Version)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.registry.WaitVersion(e.ctx, "0101", saved.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := e.registry.Authenticate(old); !errors.Is(err, tenant.ErrAuth) {
			t.Errorf("%s: the removed token: %v, want ErrAuth", role, err)
		}
		if p, err := e.registry.Authenticate(next); err != nil || p.Role != role {
			t.Errorf("%s: the new token after the change: %+v, %v", role, p, err)
		}
	}
}
