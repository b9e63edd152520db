package natsembed_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/natsembed"
)

func start(t *testing.T, c natsembed.Config) *server.Server {
	t.Helper()
	s, err := natsembed.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// Without MaxMemory and MaxStore the server chooses, as documented on
// Config: both limits are set, from the machine.
func TestStartDefaultLimits(t *testing.T) {
	js := start(t, natsembed.Config{StoreDir: t.TempDir()}).JetStreamConfig()
	if js.MaxMemory <= 0 || js.MaxStore <= 0 {
		t.Errorf("JetStream limits with the defaults: max memory %d, max store %d; want the server's, both positive", js.MaxMemory, js.MaxStore)
	}
}

// MaxMemory and MaxStore reach JetStream, and a full store refuses
// publishes rather than filling the disk (issue 10).
func TestStartLimits(t *testing.T) {
	const maxStore = 1 << 20
	s := start(t, natsembed.Config{StoreDir: t.TempDir(), MaxMemory: 64 << 20, MaxStore: maxStore})
	if js := s.JetStreamConfig(); js.MaxMemory != 64<<20 || js.MaxStore != maxStore {
		t.Fatalf("JetStream limits: max memory %d, max store %d; want %d and %d", js.MaxMemory, js.MaxStore, 64<<20, maxStore)
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), 64<<10)
	for i := range 2 * maxStore / len(payload) {
		_, err := js.Publish(t.Context(), "s", payload)
		if err == nil {
			continue
		}
		// 10023 is JetStream's "insufficient resources"; nats.go names no
		// error for it.
		var api *jetstream.APIError
		if !errors.As(err, &api) || api.ErrorCode != 10023 {
			t.Fatalf("publish %d: %v; want insufficient resources", i+1, err)
		}
		if stored := int64(i) * int64(len(payload)); stored > maxStore {
			t.Errorf("refused only after %d bytes, more than the %d of MaxStore", stored, maxStore)
		}
		t.Logf("publish %d refused after %d bytes: %v", i+1, i*len(payload), err)
		return
	}
	t.Errorf("%d bytes published into a store of %d", 2*maxStore, maxStore)
}

func TestStartRefusesNegativeLimits(t *testing.T) {
	for _, c := range []natsembed.Config{{MaxMemory: -1}, {MaxStore: -1}} {
		c.StoreDir = t.TempDir()
		if s, err := natsembed.Start(c); err == nil {
			s.Shutdown()
			t.Errorf("Start(MaxMemory %d, MaxStore %d) started; want an error", c.MaxMemory, c.MaxStore)
		}
	}
}
