package respond_test

import (
	"slices"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
	"github.com/kp-efaktura/efaktura/services/erpsim"
	"github.com/kp-efaktura/efaktura/services/respond"
)

// With the real tenant store and registry: the store publishes the
// agreement and tenant events, and the release waits for the registry to
// see the version they name.
func TestWithTenantStoreAndRegistry(t *testing.T) {
	cfg := tenant.StoreConfig{Storage: jetstream.MemoryStorage}
	var store *tenant.Store
	h := startWith(t, erpsim.Config{}, func(h *harness) respond.Tenants {
		var err error
		store, err = tenant.NewStore(h.ctx, h.js, cfg, h.bus.Publish)
		if err != nil {
			t.Fatal(err)
		}
		reg, err := tenant.NewRegistry(h.ctx, h.js, cfg)
		if err != nil {
			t.Fatal(err)
		}
		saved, err := store.Put(h.ctx, newTenant(h.url, tenant.Requested), 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.WaitVersion(h.ctx, kommune, saved.Version); err != nil {
			t.Fatal(err)
		}
		return reg
	})
	ids := []string{h.decide(1, 0), h.decide(2, 1), h.decide(3, 2)}
	h.parked(func(ps []events.AnswerParked) bool { return len(ps) == 3 })

	if _, err := store.SetAgreement(h.ctx, kommune, tenant.Forside, tenant.Approved, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetAgreement(h.ctx, kommune, tenant.Bagside, tenant.Approved, ""); err != nil {
		t.Fatal(err)
	}
	if got := h.recorded(3); !slices.Equal(answerIDs(got), ids) {
		t.Errorf("received %v, want %v", answerIDs(got), ids)
	}
	h.delivered(3)
}
