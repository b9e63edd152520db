// Package natstest starts real, embedded NATS JetStream servers for tests,
// as net/http/httptest starts real HTTP servers.
//
// Servers listen on a free loopback port and keep their store in a
// temporary directory. Clients connect over TCP rather than in-process:
// in-process connections with long pull expiries were seen to stall for 30 s
// (shared/research/ceilings.md).
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/natsembed"
)

// Options adjust a test server. The zero value is a single JetStream server
// with its store in a fresh temporary directory.
type Options struct {
	// StoreDir keeps JetStream's data; set it to restart a server on the
	// same data. Default: t.TempDir().
	StoreDir string
	// Port to listen on; 0 picks a free one. Set it to restart a server
	// where its clients expect it.
	Port int
}

// Start starts a JetStream server and shuts it down when the test ends.
func Start(t testing.TB) *server.Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a JetStream server with o and shuts it down when the
// test ends.
func StartWith(t testing.TB, o Options) *server.Server {
	t.Helper()
	if o.StoreDir == "" {
		o.StoreDir = t.TempDir()
	}
	s, err := natsembed.Start(natsembed.Config{StoreDir: o.StoreDir, Port: o.Port, Name: "natstest"})
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Connect opens a client connection to s and closes it when the test ends.
// Reconnection is on, so a connection survives a server restart on the
// same port.
func Connect(t testing.TB, s *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	opts = append([]nats.Option{nats.Name(t.Name()), nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond)}, opts...)
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("natstest: connect to %s: %v", s.ClientURL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// Bucket starts a server and returns a connection to it and a new KV bucket
// named name on it, with history 1 and file storage.
func Bucket(t testing.TB, name string) (*nats.Conn, jetstream.KeyValue) {
	t.Helper()
	nc := Connect(t, Start(t))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: name})
	if err != nil {
		t.Fatal(err)
	}
	return nc, kv
}
