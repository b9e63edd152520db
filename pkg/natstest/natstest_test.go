package natstest

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
)

func TestStartAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := StartWith(t, Options{StoreDir: dir})
	nc := Connect(t, s)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	url, port := s.ClientURL(), s.Addr().(*net.TCPAddr).Port
	s.Shutdown()
	s.WaitForShutdown()

	s2 := StartWith(t, Options{StoreDir: dir, Port: port})
	if s2.ClientURL() != url {
		t.Fatalf("restarted on %s, want %s", s2.ClientURL(), url)
	}
	// The old connection reconnects and the message survived.
	bustest.Eventually(t, "the connection to reconnect", func() error {
		if !nc.IsConnected() {
			return fmt.Errorf("status %v", nc.Status())
		}
		return nil
	})
	st, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil || info.State.Msgs != 1 {
		t.Fatalf("after restart: %d messages, %v; want 1", info.State.Msgs, err)
	}
}

func TestClusterKeepsAReplicatedStreamThroughANodeRestart(t *testing.T) {
	c := StartCluster(t, 3)
	nc, err := nats.Connect(c.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	publish := func(n int) {
		for i := range n {
			bustest.Eventually(t, "a publish, through a leader election", func() error {
				_, err := js.Publish(ctx, "r3.x", []byte{byte(i)})
				return err
			})
		}
	}
	publish(10)
	c.Stop(0)
	publish(10)
	c.Restart(0)
	publish(10)
	s, err := js.Stream(ctx, "R3")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 30 {
		t.Errorf("stream holds %d messages, want 30", info.State.Msgs)
	}
}
