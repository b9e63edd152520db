package tenant_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

func TestAgreementLifeCycle(t *testing.T) {
	all := []tenant.AgreementState{"", tenant.Requested, tenant.Approved, tenant.Rejected, tenant.Withdrawn}
	allowed := map[[2]tenant.AgreementState]bool{
		{"", tenant.Requested}: true, {"", tenant.Approved}: true, {"", tenant.Rejected}: true,
		{tenant.Requested, tenant.Approved}: true, {tenant.Requested, tenant.Rejected}: true,
		{tenant.Approved, tenant.Withdrawn}:  true,
		{tenant.Rejected, tenant.Requested}:  true,
		{tenant.Withdrawn, tenant.Requested}: true,
	}
	for _, from := range all {
		for _, to := range all[1:] {
			want := from == to || allowed[[2]tenant.AgreementState{from, to}]
			if got := tenant.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%q, %q) = %v, want %v", from, to, got, want)
			}
		}
	}
	for _, tc := range []struct {
		from, to tenant.AgreementState
		want     []tenant.AgreementState
	}{
		{tenant.Approved, tenant.Requested, []tenant.AgreementState{tenant.Withdrawn, tenant.Requested}},
		{tenant.Rejected, tenant.Approved, []tenant.AgreementState{tenant.Requested, tenant.Approved}},
		{tenant.Requested, tenant.Approved, []tenant.AgreementState{tenant.Approved}},
		{tenant.Approved, tenant.Approved, nil},
	} {
		if got := tenant.TransitionPath(tc.from, tc.to); !slices.Equal(got, tc.want) {
			t.Errorf("TransitionPath(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

// Every change goes into the municipality's history, in the same write:
// who, when, from and to; invalid transitions are refused, by SetAgreement
// and by Put alike, and change nothing.
func TestAgreementHistory(t *testing.T) {
	e := newEnv(t)
	ctx := tenant.WithActor(e.ctx, "tenants file")
	created, err := e.store.Put(ctx, example("0101"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(created.History) != 2 || created.History[0].By != "tenants file" || created.History[0].From != "" ||
		created.History[0].To != tenant.Approved || created.History[1].Agreement != tenant.Bagside || created.History[1].To != tenant.Requested {
		t.Fatalf("history of a new tenant = %+v; want forside approved and bagside requested by the tenants file", created.History)
	}
	// In JSON an agreement's first change keeps its empty "from", as
	// before the rules' changes joined the history.
	if b, err := json.Marshal(created.History[0]); err != nil || !strings.Contains(string(b), `"from":""`) || strings.Contains(string(b), `"rules"`) {
		t.Errorf("an agreement's change in JSON: %s (%v)", b, err)
	}
	admin := tenant.WithActor(e.ctx, "admin")
	got, err := e.store.SetAgreement(admin, "0101", tenant.Bagside, tenant.Approved, "")
	if err != nil {
		t.Fatal(err)
	}
	last := got.History[len(got.History)-1]
	if len(got.History) != 3 || last.By != "admin" || last.From != tenant.Requested || last.To != tenant.Approved ||
		!last.At.Equal(got.UpdatedAt) || got.Agreements[tenant.Bagside].ChangedBy != "admin" {
		t.Fatalf("history after approving bagside = %+v, agreement %+v", got.History, got.Agreements[tenant.Bagside])
	}
	// The same state again changes nothing, history included.
	if again, err := e.store.SetAgreement(admin, "0101", tenant.Bagside, tenant.Approved, ""); err != nil || len(again.History) != 3 {
		t.Fatalf("approving again: %v, history %+v", err, again.History)
	}
	// Approved cannot become rejected: it is withdrawn.
	_, err = e.store.SetAgreement(admin, "0101", tenant.Bagside, tenant.Rejected, "")
	var te *tenant.TransitionError
	if !errors.Is(err, tenant.ErrTransition) || !errors.As(err, &te) || te.From != tenant.Approved || te.To != tenant.Rejected ||
		!strings.Contains(err.Error(), "from approved to rejected") {
		t.Fatalf("approved to rejected: %v; want a transition error naming both", err)
	}
	change := example("0101")
	change.Agreements[tenant.Forside] = tenant.Agreement{State: tenant.Requested, EconomySystem: "opus-kbh"}
	if _, err := e.store.Put(admin, change, 0); !errors.Is(err, tenant.ErrTransition) {
		t.Fatalf("Put approved to requested: %v, want ErrTransition", err)
	}
	// A history sent in a Put is ignored: the store keeps it.
	change = example("0101")
	change.Agreements = nil
	change.History = []tenant.Change{{By: "forged"}}
	change.Name = "København K"
	put, err := e.store.Put(admin, change, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(put.History) != 3 || put.History[0].By == "forged" {
		t.Fatalf("history after a Put with a forged one: %+v", put.History)
	}
	// Withdrawn, then a new request and approval: the history is bounded.
	for range tenant.MaxHistory {
		for _, s := range []tenant.AgreementState{tenant.Withdrawn, tenant.Requested, tenant.Approved} {
			if _, err := e.store.SetAgreement(admin, "0101", tenant.Forside, s, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err = e.store.Get(e.ctx, "0101")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.History); n != tenant.MaxHistory || got.History[n-1].To != tenant.Approved || got.History[n-1].From != tenant.Requested {
		t.Errorf("history holds %d changes ending %+v; want the last %d", n, got.History[n-1], tenant.MaxHistory)
	}
	if err := e.registry.WaitVersion(e.ctx, "0101", got.Version); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.registry.Get("0101"); len(r.History) != tenant.MaxHistory {
		t.Errorf("the registry holds %d changes, want %d", len(r.History), tenant.MaxHistory)
	}
}
