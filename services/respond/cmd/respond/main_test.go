package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/redistest"
	"github.com/kp-efaktura/efaktura/services/respond"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigFlagsWinOverEnvironment(t *testing.T) {
	c, err := loadConfig([]string{"--nats", "nats://flag:4222", "--concurrency", "8"}, env(map[string]string{
		"NATS_URL":                      "nats://env:4222",
		"REDIS_URL":                     "redis://env:6379",
		"EFAKTURA_RESPOND_CONCURRENCY":  "2",
		"EFAKTURA_RESPOND_HTTP_TIMEOUT": "3s",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.natsURL != "nats://flag:4222" || c.redisURL != "redis://env:6379" || c.worker.Concurrency != 8 || c.httpTimeout != 3*time.Second {
		t.Errorf("loadConfig = %+v, want the flags over the environment over the defaults", c)
	}
	if c.metrics != ":9090" || c.stream != "EFAKTURA" || c.replicas != 1 || c.worker.Sweep != time.Minute {
		t.Errorf("loadConfig defaults = %+v", c)
	}
}

func TestLoadConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, map[string]string{"EFAKTURA_RESPOND_SWEEP": "often"}, "EFAKTURA_RESPOND_SWEEP"},
		{nil, map[string]string{"EFAKTURA_REPLICAS": "three"}, "EFAKTURA_REPLICAS"},
		{[]string{"--http-timeout", "0s"}, nil, "http timeout"},
		{[]string{"extra"}, nil, "no arguments"},
		{[]string{"--bogus"}, nil, "bogus"},
	} {
		_, err := loadConfig(tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("loadConfig(%q, %v) = %v, want an error about %s", tc.args, tc.env, err, tc.want)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestRunServesMetricsAndStops(t *testing.T) {
	runUntilMetrics(t)
}

func TestRunWithRedisIdempotency(t *testing.T) {
	runUntilMetrics(t, "--redis", redistest.Start(t).URL())
}

// runUntilMetrics runs the worker until its metrics are served, then stops
// it and expects a clean shutdown.
func runUntilMetrics(t *testing.T, args ...string) {
	t.Helper()
	s := natstest.Start(t)
	metrics := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"--nats", s.ClientURL(), "--metrics", metrics}, args...), env(nil), io.Discard)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + metrics + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), "go_goroutines") {
				break
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics not served: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let it get to consuming before it is stopped.
	nc := natstest.Connect(t, s)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{respond.HandlerDecided, respond.HandlerAgreements, respond.HandlerTenants} {
		for {
			if _, err := js.Consumer(ctx, "EFAKTURA", "respond-"+name); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("consumer respond-%s not created", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
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

func TestRunReportsAnUnreachableNATS(t *testing.T) {
	err := run(context.Background(), []string{"--nats", "nats://" + freeAddr(t), "--metrics", ""}, env(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "connect to NATS") {
		t.Errorf("run = %v, want an error saying NATS is unreachable", err)
	}
}
