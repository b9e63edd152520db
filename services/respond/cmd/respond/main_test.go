package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/redistest"
	"github.com/kp-efaktura/efaktura/services/respond"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRunWithRedisIdempotency runs the command against a real JetStream and
// a real redis-server until its metrics are served, then stops it.
func TestRunWithRedisIdempotency(t *testing.T) {
	s := natstest.Start(t)
	metrics := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- respond.Command().Run(ctx, []string{"--nats", s.ClientURL(), "--metrics", metrics, "--redis", redistest.Start(t).URL(), "--backoff", "50ms"}, env(nil))
	}()
	bustest.Eventually(t, "metrics served", func() error {
		resp, err := http.Get("http://" + metrics + "/metrics")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "go_goroutines") {
			return errors.New("no go_goroutines yet")
		}
		return nil
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v, want nil after a clean shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestRunRejectsBadConfiguration(t *testing.T) {
	err := respond.Command().Run(context.Background(), []string{"--replicas", "2", "extra"}, env(nil))
	if err == nil || !strings.Contains(err.Error(), "replicas") {
		t.Errorf("run = %v, want a configuration error", err)
	}
}
