package tenant_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

func TestStoreCRUD(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx

	aarhus := example("0751")
	aarhus.Name = "Aarhus"
	saved, err := e.store.Put(ctx, aarhus, 0)
	if err != nil {
		t.Fatalf("Put(0751) = %v", err)
	}
	if saved.Version == 0 || saved.UpdatedAt.IsZero() {
		t.Errorf("Put(0751) = version %d, updated %v; want both set", saved.Version, saved.UpdatedAt)
	}
	if _, err := e.store.Put(ctx, example("0101"), 0); err != nil {
		t.Fatalf("Put(0101) = %v", err)
	}

	got, err := e.store.Get(ctx, "0751")
	if err != nil {
		t.Fatalf("Get(0751) = %v", err)
	}
	if diff := diff(saved, got); diff != "" {
		t.Errorf("Get(0751) differs from what Put returned (-put +get):\n%s", diff)
	}
	if !slices.Equal(got.EconomySystem.Secrets, storedSecrets()) || len(got.Tokens) != 2 {
		t.Errorf("Get(0751) lost the secret or the tokens: %+v", got)
	}

	list, err := e.store.List(ctx)
	if err != nil {
		t.Fatalf("List = %v", err)
	}
	var kommuner []string
	for _, tn := range list {
		kommuner = append(kommuner, tn.Kommune)
	}
	if diff := diff([]string{"0101", "0751"}, kommuner); diff != "" {
		t.Errorf("List kommuner (-want +got):\n%s", diff)
	}

	if _, err := e.store.Get(ctx, "0999"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("Get(0999) = %v, want ErrNotFound", err)
	}
	if _, err := e.store.Get(ctx, "a.b"); !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("Get(a.b) = %v, want ErrInvalid", err)
	}

	bad := example("0147")
	bad.CVR = "123"
	bad.EconomySystem.Endpoint = "ftp://erp"
	_, err = e.store.Put(ctx, bad, 0)
	if !errors.Is(err, tenant.ErrInvalid) || !strings.Contains(err.Error(), "cvr") || !strings.Contains(err.Error(), "endpoint") {
		t.Errorf("Put(invalid) = %v, want ErrInvalid naming cvr and endpoint", err)
	}
	if _, err := e.store.Get(ctx, "0147"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("an invalid tenant was stored: Get(0147) = %v", err)
	}
}

func TestStorePutCompareAndSet(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	v1, err := e.store.Put(ctx, example("0101"), 0)
	if err != nil {
		t.Fatal(err)
	}

	change := example("0101")
	change.Name = "Københavns Kommune"
	v2, err := e.store.Put(ctx, change, v1.Version)
	if err != nil {
		t.Fatalf("Put at the current version = %v", err)
	}
	if v2.Version <= v1.Version || v2.Name != change.Name {
		t.Errorf("Put at the current version = version %d name %q; want above %d, %q", v2.Version, v2.Name, v1.Version, change.Name)
	}

	stale := example("0101")
	stale.Name = "Kbh"
	if _, err := e.store.Put(ctx, stale, v1.Version); !errors.Is(err, tenant.ErrConflict) {
		t.Errorf("Put at a stale version = %v, want ErrConflict", err)
	}
	if _, err := e.store.Put(ctx, example("0147"), 3); !errors.Is(err, tenant.ErrConflict) {
		t.Errorf("Put of an absent tenant at version 3 = %v, want ErrConflict", err)
	}

	// The same content at a stale version is a retry, not a conflict.
	again, err := e.store.Put(ctx, change, v1.Version)
	if err != nil || again.Version != v2.Version {
		t.Errorf("Put of the stored content at a stale version = version %d, %v; want %d, nil", again.Version, err, v2.Version)
	}

	got, _ := e.store.Get(ctx, "0101")
	if got.Name != change.Name {
		t.Errorf("after the conflict the name is %q, want %q", got.Name, change.Name)
	}
}

func TestStorePutMergesSecretsTokensAndAgreements(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	v1, err := e.store.Put(ctx, example("0101"), 0)
	if err != nil {
		t.Fatal(err)
	}

	// What the admin API shows: no secret, no tokens; and one agreement only.
	view := v1.Public()
	view.Name = "Københavns Kommune"
	view.Agreements = map[tenant.AgreementName]tenant.Agreement{tenant.Forside: view.Agreements[tenant.Forside]}
	v2, err := e.store.Put(ctx, view, v1.Version)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v2.EconomySystem.Secrets, storedSecrets()) {
		t.Errorf("no secrets replaced the stored ones: %d secrets", len(v2.EconomySystem.Secrets))
	}
	if diff := diff(v1.Tokens, v2.Tokens); diff != "" {
		t.Errorf("nil tokens changed the stored ones (-want +got):\n%s", diff)
	}
	if diff := diff(v1.Agreements, v2.Agreements); diff != "" {
		t.Errorf("a missing agreement changed the stored ones (-want +got):\n%s", diff)
	}

	rotate := v2.Public()
	rotate.EconomySystem.Secret = "rotated"
	rotate.Tokens = []tenant.Token{}
	v3, err := e.store.Put(ctx, rotate, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v3.EconomySystem.Secrets, []string{answer.SecretFromRaw("rotated")}) || v3.EconomySystem.Secret != "" || v3.Tokens != nil {
		t.Errorf("Put(new secret, tokens []) = secrets %q, secret %q, tokens %v; want rotated, none", v3.EconomySystem.Secrets, v3.EconomySystem.Secret, v3.Tokens)
	}

	// Rotation: the new secret added, then the old one removed.
	oldS, newS := answer.SecretFromRaw("rotated"), answer.SecretFromRaw("the next secret, 32 bytes long..")
	rotate = v3.Public()
	rotate.EconomySystem.Secrets = []string{oldS, newS}
	v4, err := e.store.Put(ctx, rotate, v3.Version)
	if err != nil || !slices.Equal(v4.EconomySystem.Secrets, []string{oldS, newS}) {
		t.Fatalf("Put(old and new secret) = %d secrets, %v; want both", len(v4.EconomySystem.Secrets), err)
	}
	rotate = v4.Public()
	rotate.EconomySystem.Secrets = []string{newS}
	v5, err := e.store.Put(ctx, rotate, v4.Version)
	if err != nil || !slices.Equal(v5.EconomySystem.Secrets, []string{newS}) {
		t.Fatalf("Put(new secret only) = %d secrets, %v; want the new one", len(v5.EconomySystem.Secrets), err)
	}
	if p := v5.Public().EconomySystem; len(p.Secrets) != 0 || p.Secret != "" {
		t.Error("Public() keeps the secrets")
	}

	// A secret not in the whsec_ form is refused, without being quoted.
	bad := v5.Public()
	bad.EconomySystem.Secrets = []string{"whsec_not base64!"}
	if _, err := e.store.Put(ctx, bad, 0); !errors.Is(err, tenant.ErrInvalid) || strings.Contains(err.Error(), "not base64!") {
		t.Errorf("Put(a malformed secret) = %v; want ErrInvalid, not quoting it", err)
	}
}

// A record written before Standard Webhooks holds a plain "secret": it
// reads as that secret in the whsec_ form, the same key.
func TestStoreReadsALegacySecret(t *testing.T) {
	e := newEnv(t)
	_, err := e.store.Put(e.ctx, example("0101"), 0)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := e.js.KeyValue(e.ctx, tenant.DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := kv.Get(e.ctx, "0101")
	if err != nil {
		t.Fatal(err)
	}
	legacy := strings.Replace(string(entry.Value()), fmt.Sprintf(`"secrets":[%q]`, answer.SecretFromRaw(secret)), fmt.Sprintf(`"secret":%q`, secret), 1)
	if legacy == string(entry.Value()) {
		t.Fatalf("the record has no secrets list to replace: %d bytes", len(legacy))
	}
	if _, err := kv.Update(e.ctx, "0101", []byte(legacy), entry.Revision()); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.Get(e.ctx, "0101")
	if err != nil || !slices.Equal(got.EconomySystem.Secrets, storedSecrets()) || got.EconomySystem.Secret != "" {
		t.Errorf("Get of a legacy record = %d secrets (secret set: %v), %v; want the whsec_ form of the plain secret", len(got.EconomySystem.Secrets), got.EconomySystem.Secret != "", err)
	}

}

func TestStoreEvents(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx

	// 1: created with both agreements: tenant.changed and two agreement.changed.
	v1, err := e.store.Put(ctx, example("0101"), 0)
	if err != nil {
		t.Fatal(err)
	}
	// 2: the name changes, the agreements do not.
	rename := example("0101")
	rename.Name = "Københavns Kommune"
	v2, err := e.store.Put(ctx, rename, v1.Version)
	if err != nil {
		t.Fatal(err)
	}
	// 3: bagside approved.
	v3, err := e.store.SetAgreement(ctx, "0101", tenant.Bagside, tenant.Approved, "")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, detail := v3.AnswersAllowed(); !ok {
		t.Errorf("after both agreements are approved, AnswersAllowed = false: %s", detail)
	}
	// 4 and 5: no change; the events of version 3 go out again with the
	// same ids, and JetStream drops them.
	calls := e.publishes.get()
	v4, err := e.store.SetAgreement(ctx, "0101", tenant.Bagside, tenant.Approved, "opus-kbh")
	if err != nil || v4.Version != v3.Version {
		t.Errorf("SetAgreement without a change = version %d, %v; want %d, nil", v4.Version, err, v3.Version)
	}
	v5, err := e.store.Put(ctx, v3.Public(), 0)
	if err != nil || v5.Version != v3.Version {
		t.Errorf("Put without a change = version %d, %v; want %d, nil", v5.Version, err, v3.Version)
	}
	if got := e.publishes.get() - calls; got != 2 {
		t.Errorf("calls without a change published %d times, want 2 (a republish each)", got)
	}

	got := readEvents(t, ctx, e.js)
	type row struct {
		Type, Subject, ID string
		Version           int64
		Agreement, State  string
	}
	var rows []row
	for _, s := range got {
		if err := events.Check(s.event); err != nil {
			t.Errorf("event %s does not conform: %v", s.event.ID(), err)
		}
		for _, sec := range secrets("0101") {
			if strings.Contains(s.raw, sec) {
				t.Errorf("event %s %s contains a secret or token", s.event.Type(), s.event.ID())
			}
		}
		r := row{Type: s.event.Type(), Subject: s.subject, ID: s.event.ID()}
		switch s.event.Type() {
		case events.TypeTenantChanged:
			p, err := events.Decode[events.TenantChanged](s.event)
			if err != nil {
				t.Fatal(err)
			}
			r.Version = p.Version
		case events.TypeAgreementChanged:
			p, err := events.Decode[events.AgreementChanged](s.event)
			if err != nil {
				t.Fatal(err)
			}
			r.Version, r.Agreement, r.State = p.Version, string(p.Agreement), string(p.State)
		}
		rows = append(rows, r)
	}
	ver := func(v uint64) string { return strconv.FormatUint(v, 10) }
	tc, ac := events.TypeTenantChanged, events.TypeAgreementChanged
	want := []row{
		{tc, "efaktura.0101.tenant.changed", events.ID(tc, "0101", ver(v1.Version)), int64(v1.Version), "", ""},
		{ac, "efaktura.0101.agreement.changed", events.ID(ac, "0101", "forside", ver(v1.Version)), int64(v1.Version), "forside", "approved"},
		{ac, "efaktura.0101.agreement.changed", events.ID(ac, "0101", "bagside", ver(v1.Version)), int64(v1.Version), "bagside", "requested"},
		{tc, "efaktura.0101.tenant.changed", events.ID(tc, "0101", ver(v2.Version)), int64(v2.Version), "", ""},
		{tc, "efaktura.0101.tenant.changed", events.ID(tc, "0101", ver(v3.Version)), int64(v3.Version), "", ""},
		{ac, "efaktura.0101.agreement.changed", events.ID(ac, "0101", "bagside", ver(v3.Version)), int64(v3.Version), "bagside", "approved"},
	}
	if diff := diff(want, rows); diff != "" {
		t.Errorf("events in the stream (-want +got):\n%s", diff)
	}

	p, err := events.Decode[events.TenantChanged](got[3].event)
	if err != nil {
		t.Fatal(err)
	}
	wantPayload := events.TenantChanged{
		Kommune: "0101", Name: "Københavns Kommune", CVR: "64942212",
		EconomySystem: events.EconomySystem{ID: "opus-kbh", Name: "KMD Opus", Endpoint: "https://erp.kbh.example/svar"},
		Senders:       []events.RegisteredSender{{Type: "CVR", ID: "12345674"}, {Type: "EAN", ID: "5790000000012", Nets: true}},
		Version:       int64(v2.Version), ChangedAt: v2.UpdatedAt,
	}
	if diff := diff(wantPayload, p); diff != "" {
		t.Errorf("tenant.changed payload of version %d (-want +got):\n%s", v2.Version, diff)
	}
}

// recorder is a publish function that fails while fail is set.
type recorder struct {
	mu     sync.Mutex
	fail   bool
	events []cloudevents.Event
}

func (r *recorder) publish(_ context.Context, evs ...cloudevents.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("nats: timeout")
	}
	r.events = append(r.events, evs...)
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, e := range r.events {
		ids = append(ids, e.Type()+" "+e.ID())
	}
	return ids
}

func newRecordingStore(t *testing.T) (context.Context, *tenant.Store, *recorder, jetstream.JetStream) {
	t.Helper()
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	store, err := tenant.NewStore(ctx, js, tenant.StoreConfig{Bucket: "tenants_test", Storage: jetstream.MemoryStorage}, rec.publish)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, store, rec, js
}

func TestStorePublishFailureThenRetry(t *testing.T) {
	ctx, store, rec, _ := newRecordingStore(t)
	rec.fail = true
	saved, err := store.Put(ctx, example("0101"), 0)
	if !errors.Is(err, tenant.ErrNotPublished) || !strings.Contains(err.Error(), "nats: timeout") {
		t.Fatalf("Put with a failing publisher = %v, want ErrNotPublished wrapping the publisher's error", err)
	}
	if saved.Version == 0 {
		t.Errorf("Put with a failing publisher returned no saved tenant")
	}
	if got, err := store.Get(ctx, "0101"); err != nil || got.Version != saved.Version {
		t.Errorf("Get after an unpublished Put = version %d, %v; want %d", got.Version, err, saved.Version)
	}

	rec.fail = false
	// The caller repeats its request, If-Match and all.
	again, err := store.Put(ctx, example("0101"), saved.Version)
	if err != nil || again.Version != saved.Version {
		t.Fatalf("repeated Put = version %d, %v; want %d, nil", again.Version, err, saved.Version)
	}
	v := strconv.FormatUint(saved.Version, 10)
	want := []string{
		events.TypeTenantChanged + " " + events.ID(events.TypeTenantChanged, "0101", v),
		events.TypeAgreementChanged + " " + events.ID(events.TypeAgreementChanged, "0101", "forside", v),
		events.TypeAgreementChanged + " " + events.ID(events.TypeAgreementChanged, "0101", "bagside", v),
	}
	if diff := diff(want, rec.ids()); diff != "" {
		t.Errorf("events of the repeated Put (-want +got):\n%s", diff)
	}

	rec.fail = true
	set, err := store.SetAgreement(ctx, "0101", tenant.Bagside, tenant.Approved, "")
	if !errors.Is(err, tenant.ErrNotPublished) {
		t.Fatalf("SetAgreement with a failing publisher = %v, want ErrNotPublished", err)
	}
	rec.fail = false
	if _, err := store.SetAgreement(ctx, "0101", tenant.Bagside, tenant.Approved, ""); err != nil {
		t.Fatal(err)
	}
	v = strconv.FormatUint(set.Version, 10)
	want = append(want,
		events.TypeTenantChanged+" "+events.ID(events.TypeTenantChanged, "0101", v),
		events.TypeAgreementChanged+" "+events.ID(events.TypeAgreementChanged, "0101", "bagside", v))
	if diff := diff(want, rec.ids()); diff != "" {
		t.Errorf("events after the repeated SetAgreement (-want +got):\n%s", diff)
	}
}

func TestStoreSetAgreement(t *testing.T) {
	ctx, store, _, _ := newRecordingStore(t)
	tn := example("0101")
	tn.Agreements = nil
	if _, err := store.Put(ctx, tn, 0); err != nil {
		t.Fatal(err)
	}

	got, err := store.SetAgreement(ctx, "0101", tenant.Forside, tenant.Requested, "")
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Agreements[tenant.Forside]; a.State != tenant.Requested || a.EconomySystem != "opus-kbh" || !a.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("new forside agreement = %+v, want requested naming opus-kbh, updated with the tenant", a)
	}
	got, err = store.SetAgreement(ctx, "0101", tenant.Forside, tenant.Approved, "other-erp")
	if err != nil {
		t.Fatal(err)
	}
	if ok, reason, _ := got.AnswersAllowed(); ok || reason != tenant.ParkEconomySystemMismatch {
		t.Errorf("AnswersAllowed with forside naming another system = %v, %s; want false, %s", ok, reason, tenant.ParkEconomySystemMismatch)
	}
	got, err = store.SetAgreement(ctx, "0101", tenant.Forside, tenant.Withdrawn, "")
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Agreements[tenant.Forside]; a.EconomySystem != "other-erp" {
		t.Errorf("an empty economy system replaced the agreement's: %+v", a)
	}

	for _, tc := range []struct {
		kommune string
		name    tenant.AgreementName
		state   tenant.AgreementState
		want    error
	}{
		{"0999", tenant.Forside, tenant.Approved, tenant.ErrNotFound},
		{"0101", "middle", tenant.Approved, tenant.ErrInvalid},
		{"0101", tenant.Bagside, "pending", tenant.ErrInvalid},
		{"01", tenant.Bagside, tenant.Approved, tenant.ErrInvalid},
		{"0101", tenant.Forside, tenant.Approved, tenant.ErrTransition}, // withdrawn: a new request first
	} {
		if _, err := store.SetAgreement(ctx, tc.kommune, tc.name, tc.state, ""); !errors.Is(err, tc.want) {
			t.Errorf("SetAgreement(%s, %s, %s) = %v, want %v", tc.kommune, tc.name, tc.state, err, tc.want)
		}
	}
}

func TestStoreSetAgreementConcurrentSafe(t *testing.T) {
	ctx, store, _, _ := newRecordingStore(t)
	if _, err := store.Put(ctx, example("0101"), 0); err != nil {
		t.Fatal(err)
	}
	// Writers race on the same record; each one's change must survive.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = store.SetAgreement(ctx, "0101", tenant.Forside, tenant.Approved, "erp-"+strconv.Itoa(i))
			} else {
				change := example("0101")
				change.Senders = append(change.Senders, tenant.Sender{Type: "CVR", ID: strconv.Itoa(10000000 + i)})
				change.Agreements = nil
				_, err = store.Put(ctx, change, 0)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent change: %v", err)
		}
	}
	got, err := store.Get(ctx, "0101")
	if err != nil {
		t.Fatal(err)
	}
	if es := got.Agreements[tenant.Forside].EconomySystem; !strings.HasPrefix(es, "erp-") {
		t.Errorf("forside names %q; want one of the concurrent writers' erp-N", es)
	}
}

func TestStoreConfigValidate(t *testing.T) {
	for _, cfg := range []tenant.StoreConfig{
		{Replicas: 7},
		{Storage: jetstream.StorageType(9)},
	} {
		if err := cfg.Validate(); !errors.Is(err, tenant.ErrInvalid) {
			t.Errorf("%+v.Validate() = %v, want ErrInvalid", cfg, err)
		}
	}
	if err := (tenant.StoreConfig{}).Validate(); err != nil {
		t.Errorf("zero StoreConfig.Validate() = %v, want nil", err)
	}
}

func TestNewStoreIsIdempotent(t *testing.T) {
	ctx, store, rec, js := newRecordingStore(t)
	if _, err := store.Put(ctx, example("0101"), 0); err != nil {
		t.Fatal(err)
	}
	again, err := tenant.NewStore(ctx, js, tenant.StoreConfig{Bucket: "tenants_test", Storage: jetstream.MemoryStorage}, rec.publish)
	if err != nil {
		t.Fatalf("NewStore on an existing bucket = %v", err)
	}
	if _, err := again.Get(ctx, "0101"); err != nil {
		t.Errorf("Get through a second Store = %v", err)
	}
	if _, err := tenant.NewStore(ctx, js, tenant.StoreConfig{}, nil); !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("NewStore(nil publish) = %v, want ErrInvalid", err)
	}
}
