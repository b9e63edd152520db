package tenant_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

func TestRegistryLoadsExistingTenants(t *testing.T) {
	e := newEnv(t)
	saved, err := e.store.Put(e.ctx, example("0101"), 0)
	if err != nil {
		t.Fatal(err)
	}
	// A second registry starts after the write: it has the tenant at once.
	r, err := tenant.NewRegistry(e.ctx, e.js, tenant.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := r.Get("0101")
	if !ok {
		t.Fatal("Get(0101) = false right after NewRegistry")
	}
	if diff := diff(saved, got); diff != "" {
		t.Errorf("Get(0101) (-store +registry):\n%s", diff)
	}
}

func TestRegistryFollowsChangesAndDeletes(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	if _, ok := e.registry.Get("0101"); ok {
		t.Fatal("Get(0101) = true in an empty bucket")
	}
	v1 := e.put(t, example("0101"))
	got, ok := e.registry.Get("0101")
	if !ok || got.Version != v1.Version || !slices.Equal(got.EconomySystem.Secrets, storedSecrets()) {
		t.Errorf("Get(0101) = %+v, %v; want version %d with its secret", got, ok, v1.Version)
	}
	senders := e.registry.Senders("0101")
	if s, ok, err := senders.LookupSender(ctx, "EAN", "5790000000012"); err != nil || !ok || !s.Nets {
		t.Errorf("LookupSender(EAN 5790000000012) = %+v, %v, %v; want the Nets sender", s, ok, err)
	}
	if _, ok, _ := senders.LookupSender(ctx, "CVR", "87654321"); ok {
		t.Error("LookupSender(CVR 87654321) = true before it is registered")
	}

	change := example("0101")
	change.Senders = append(change.Senders, tenant.Sender{Type: "CVR", ID: "87654321"})
	v2, err := e.store.Put(ctx, change, v1.Version)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.registry.WaitVersion(ctx, "0101", v2.Version); err != nil {
		t.Fatal(err)
	}
	// The register handed out before the change follows it.
	if _, ok, _ := senders.LookupSender(ctx, "CVR", "87654321"); !ok {
		t.Error("LookupSender(CVR 87654321) = false after the change")
	}
	v3, err := e.store.SetAgreement(ctx, "0101", tenant.Bagside, tenant.Approved, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.registry.WaitVersion(ctx, "0101", v3.Version); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.registry.Get("0101"); got.Agreements[tenant.Bagside].State != tenant.Approved {
		t.Errorf("bagside = %s after SetAgreement, want approved", got.Agreements[tenant.Bagside].State)
	}
	if _, err := e.store.Put(ctx, example("0751"), 0); err != nil {
		t.Fatal(err)
	}

	// Deletes are an operator's KV operation; the registry follows them.
	kv, err := e.js.KeyValue(ctx, tenant.DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "0101"); err != nil {
		t.Fatal(err)
	}
	hist, err := kv.History(ctx, "0101")
	if err != nil {
		t.Fatal(err)
	}
	deleted := hist[len(hist)-1].Revision()
	if err := e.registry.WaitVersion(ctx, "0101", deleted); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.registry.Get("0101"); ok {
		t.Error("Get(0101) = true after the delete")
	}
	if _, ok, _ := senders.LookupSender(ctx, "CVR", "12345674"); ok {
		t.Error("the sender register of a deleted tenant still knows its senders")
	}
	if _, err := e.registry.Authenticate(ingestToken + "0101"); !errors.Is(err, tenant.ErrAuth) {
		t.Errorf("Authenticate(token of a deleted tenant) = %v, want ErrAuth", err)
	}
	list := e.registry.List()
	if len(list) != 1 || list[0].Kommune != "0751" {
		t.Errorf("List after the delete = %d tenants, want only 0751", len(list))
	}
}

func TestRegistryAuthenticate(t *testing.T) {
	e := newEnv(t)
	e.put(t, example("0101"))
	for _, tc := range []struct {
		token string
		want  tenant.Principal
	}{
		{ingestToken + "0101", tenant.Principal{Role: tenant.RoleIngest, Kommune: "0101", Name: "opus-kbh"}},
		{caseworkerToken + "0101", tenant.Principal{Role: tenant.RoleCaseworker, Kommune: "0101", Name: "mj"}},
		{adminToken, tenant.Principal{Role: tenant.RoleAdmin, Name: "admin"}},
	} {
		got, err := e.registry.Authenticate(tc.token)
		if err != nil || got != tc.want {
			t.Errorf("Authenticate(%.8s…) = %+v, %v; want %+v", tc.token, got, err, tc.want)
		}
	}
	for _, token := range []string{"", "no-such-token-xyz", tenant.HashToken(adminToken), strings.ToUpper(adminToken)} {
		_, err := e.registry.Authenticate(token)
		if !errors.Is(err, tenant.ErrAuth) {
			t.Errorf("Authenticate(%q) = %v, want ErrAuth", token, err)
		}
		if token != "" && strings.Contains(err.Error(), token) {
			t.Errorf("Authenticate's error quotes the token: %v", err)
		}
	}

	// A token registered by two tenants is refused rather than guessed.
	other := example("0751")
	other.Tokens = append(other.Tokens, tenant.Token{Role: tenant.RoleCaseworker, Name: "mj", SHA256: tenant.HashToken(caseworkerToken + "0101")})
	e.put(t, other)
	if _, err := e.registry.Authenticate(caseworkerToken + "0101"); !errors.Is(err, tenant.ErrAuth) {
		t.Errorf("Authenticate(token of two tenants) = %v, want ErrAuth", err)
	}

	// Revoking every token of a tenant: tokens [].
	revoke := example("0101")
	revoke.Tokens = []tenant.Token{}
	e.put(t, revoke)
	if _, err := e.registry.Authenticate(ingestToken + "0101"); !errors.Is(err, tenant.ErrAuth) {
		t.Errorf("Authenticate(revoked token) = %v, want ErrAuth", err)
	}
}

func TestNewRegistryRejectsBadAdminHash(t *testing.T) {
	e := newEnv(t)
	_, err := tenant.NewRegistry(e.ctx, e.js, tenant.StoreConfig{}, tenant.HashToken("ok"), "plain-admin-token")
	if !errors.Is(err, tenant.ErrInvalid) {
		t.Fatalf("NewRegistry(plain token as hash) = %v, want ErrInvalid", err)
	}
	if strings.Contains(err.Error(), "plain-admin-token") {
		t.Errorf("the error quotes what may be a token: %v", err)
	}
	if _, err := tenant.NewRegistry(e.ctx, e.js, tenant.StoreConfig{Replicas: 9}); !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("NewRegistry(replicas 9) = %v, want ErrInvalid", err)
	}
}

// An admin token configured as NAME:HASH authenticates as that name, so
// histories say who changed what; one without a name as "admin".
func TestNamedAdminTokens(t *testing.T) {
	e := newEnv(t)
	r, err := tenant.NewRegistry(e.ctx, e.js, tenant.StoreConfig{}, "anna.jensen:"+tenant.HashToken("anna-token"), tenant.HashToken("shared-token"))
	if err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]string{"anna-token": "anna.jensen", "shared-token": "admin"} {
		if p, err := r.Authenticate(token); err != nil || p.Role != tenant.RoleAdmin || p.Name != want {
			t.Errorf("Authenticate(%s) = %+v, %v; want an admin named %s", token, p, err, want)
		}
	}
	if _, err := tenant.NewRegistry(e.ctx, e.js, tenant.StoreConfig{}, "anna:plain-admin-token"); !errors.Is(err, tenant.ErrInvalid) || strings.Contains(err.Error(), "plain-admin-token") {
		t.Errorf("NewRegistry(name and a plain token) = %v; want ErrInvalid that does not quote it", err)
	}
}

func TestRegistryWaitVersionEnds(t *testing.T) {
	e := newEnv(t)
	short, cancel := context.WithTimeout(e.ctx, 50*time.Millisecond)
	defer cancel()
	if err := e.registry.WaitVersion(short, "0101", 1000); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitVersion(never reached) = %v, want context.DeadlineExceeded", err)
	}

	ctx, stop := context.WithCancel(e.ctx)
	r, err := tenant.NewRegistry(ctx, e.js, tenant.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- r.WaitVersion(e.ctx, "0101", 1000) }()
	stop()
	select {
	case err := <-waited:
		if !errors.Is(err, tenant.ErrStopped) {
			t.Errorf("WaitVersion after the registry stopped = %v, want ErrStopped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitVersion still blocks 10 s after the registry stopped")
	}
}

func TestRegistryConcurrentSafe(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	e.put(t, example("0101"))
	var last uint64
	var wg sync.WaitGroup
	wg.Go(func() { // one writer
		// Round the life cycle from requested, the example's state.
		states := []tenant.AgreementState{tenant.Approved, tenant.Withdrawn, tenant.Requested}
		for i := range 30 {
			v, err := e.store.SetAgreement(ctx, "0101", tenant.Bagside, states[i%3], "")
			if err != nil {
				t.Error(err)
				return
			}
			last = v.Version
		}
	})
	for range 4 { // readers
		wg.Go(func() {
			senders := e.registry.Senders("0101")
			for range 200 {
				if tn, ok := e.registry.Get("0101"); ok {
					tn.Agreements[tenant.Forside] = tenant.Agreement{} // a copy: must not touch the registry
					tn.Senders[0].ID = "changed"
				}
				_ = e.registry.List()
				if _, err := e.registry.Authenticate(adminToken); err != nil {
					t.Error(err)
					return
				}
				if _, ok, _ := senders.LookupSender(ctx, "CVR", "12345674"); !ok {
					t.Error("LookupSender(CVR 12345674) = false during updates")
					return
				}
			}
		})
	}
	wg.Wait()
	if err := e.registry.WaitVersion(ctx, "0101", last); err != nil {
		t.Fatal(err)
	}
	got, _ := e.registry.Get("0101")
	if got.Agreements[tenant.Forside].State != tenant.Approved || got.Senders[0].ID != "12345674" {
		t.Errorf("a reader's change to its copy reached the registry: %+v", got)
	}
	if got.Agreements[tenant.Bagside].State != tenant.Requested { // 30th write: index 29, 29%3 = 2
		t.Errorf("bagside = %s after the writer, want requested", got.Agreements[tenant.Bagside].State)
	}
}

// The registry and the store agree on the bucket; memory storage works too.
func TestRegistryMemoryBucket(t *testing.T) {
	e := newEnv(t)
	cfg := tenant.StoreConfig{Bucket: "tenants_mem", Storage: jetstream.MemoryStorage}
	store, err := tenant.NewStore(e.ctx, e.js, cfg, func(context.Context, ...cloudevents.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	r, err := tenant.NewRegistry(e.ctx, e.js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := store.Put(e.ctx, example("0101"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WaitVersion(e.ctx, "0101", v.Version); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.registry.Get("0101"); ok {
		t.Error("the default registry sees a tenant of another bucket")
	}
}
