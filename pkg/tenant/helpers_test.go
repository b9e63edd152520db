package tenant_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Tokens and the secret of the example tenant; tests check that none of them
// leaks into an event or a response.
const (
	adminToken      = "admin-token-for-tests"
	ingestToken     = "ingest-token-0101"
	caseworkerToken = "caseworker-token-0101-mj"
	secret          = "s3cret-signing-key-0101"
)

// env is a real embedded JetStream with the event stream of a real bus, a
// Store publishing through it and a Registry following the bucket.
type env struct {
	ctx       context.Context
	js        jetstream.JetStream
	store     *tenant.Store
	registry  *tenant.Registry
	publishes *counter // calls of the bus's Publish
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) add() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // runs before the server's cleanup: the registry stops first
	b, err := bus.New(ctx, nc, bus.Config{Service: "admin", Subjects: events.StreamSubjects()}, bus.WithSubjects(events.SubjectOf))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: ctx, js: js, publishes: &counter{}}
	publish := func(ctx context.Context, evs ...cloudevents.Event) error {
		e.publishes.add()
		return b.Publish(ctx, evs...)
	}
	if e.store, err = tenant.NewStore(ctx, js, tenant.StoreConfig{}, publish); err != nil {
		t.Fatal(err)
	}
	if e.registry, err = tenant.NewRegistry(ctx, js, tenant.StoreConfig{}, tenant.HashToken(adminToken)); err != nil {
		t.Fatal(err)
	}
	return e
}

// put stores tn with version 0 and waits until the registry has seen it.
func (e *env) put(t *testing.T, tn tenant.Tenant) tenant.Tenant {
	t.Helper()
	saved, err := e.store.Put(e.ctx, tn, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.registry.WaitVersion(e.ctx, saved.Kommune, saved.Version); err != nil {
		t.Fatal(err)
	}
	return saved
}

// example is a valid tenant with a secret and two tokens.
func example(kommune string) tenant.Tenant {
	return tenant.Tenant{
		Kommune: kommune,
		Name:    "København",
		CVR:     "64942212",
		EconomySystem: tenant.EconomySystem{
			ID:       "opus-kbh",
			Name:     "KMD Opus",
			Endpoint: "https://erp.kbh.example/svar",
			Secret:   secret,
		},
		Senders: []tenant.Sender{{Type: "CVR", ID: "12345674"}, {Type: "EAN", ID: "5790000000012", Nets: true}},
		Agreements: map[tenant.AgreementName]tenant.Agreement{
			tenant.Forside: {State: tenant.Approved, EconomySystem: "opus-kbh"},
			tenant.Bagside: {State: tenant.Requested, EconomySystem: "opus-kbh"},
		},
		Tokens: []tenant.Token{
			{Role: tenant.RoleIngest, Name: "opus", SHA256: tenant.HashToken(ingestToken + kommune)},
			{Role: tenant.RoleCaseworker, Name: "mj", SHA256: tenant.HashToken(caseworkerToken + kommune)},
		},
	}
}

// stored is how the store keeps the example's plain secret: in the
// whsec_ form, with the same key.
func storedSecrets() []string { return []string{answer.SecretFromRaw(secret)} }

// secrets are the strings no event and no API response may contain.
func secrets(kommune string) []string {
	return []string{
		secret, answer.SecretFromRaw(secret),
		tenant.HashToken(ingestToken + kommune), ingestToken + kommune,
		tenant.HashToken(caseworkerToken + kommune), caseworkerToken + kommune,
		tenant.HashToken(adminToken), adminToken,
	}
}

// streamed is an event read back from the stream, with the raw message.
type streamed struct {
	subject string
	raw     string // headers and data, to look for secrets
	event   cloudevents.Event
}

// readEvents returns every event in the EFAKTURA stream, in order.
func readEvents(t *testing.T, ctx context.Context, js jetstream.JetStream) []streamed {
	t.Helper()
	st, err := js.Stream(ctx, "EFAKTURA")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []streamed
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get message %d: %v", seq, err)
		}
		e, err := bus.Decode(ctx, m.Header, m.Data)
		if err != nil {
			t.Fatalf("message %d is no CloudEvent: %v", seq, err)
		}
		out = append(out, streamed{subject: m.Subject, raw: rawOf(m), event: e})
	}
	return out
}

func rawOf(m *jetstream.RawStreamMsg) string {
	var b strings.Builder
	for k, vs := range m.Header {
		b.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
	}
	b.Write(m.Data)
	return b.String()
}

// diff returns "" when want and got are deeply equal, else both.
func diff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	return fmt.Sprintf("want %+v\n got %+v", want, got)
}
