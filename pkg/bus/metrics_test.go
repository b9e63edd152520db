package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

// scrape returns what tel's /metrics serves.
func scrape(t testing.TB, tel *telemetry.Providers) string {
	t.Helper()
	rec := httptest.NewRecorder()
	tel.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// sample returns the value of the series whose line starts with prefix
// (name and labels, e.g. `efaktura_dead_letters{service="a",stream="T_DLQ"}`),
// or an error naming what the scrape had instead.
func sample(body, prefix string) (string, error) {
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, prefix+" "); ok {
			return v, nil
		}
	}
	name, _, _ := strings.Cut(prefix, "{")
	var have []string
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, name) {
			have = append(have, line)
		}
	}
	return "", fmt.Errorf("no series %s; of %s there are %q", prefix, name, have)
}

// TestMetricsOfTwoBusesOnOneProvider runs two buses on one MeterProvider,
// as efaktura up does: both report their consumers' pending gauge (the
// SDK once kept only the first bus's callback), every failure counter of
// a handler exists at 0 before any event, and a dead-lettered event shows
// in the dead letters gauge of its service only.
func TestMetricsOfTwoBusesOnOneProvider(t *testing.T) {
	ctx := context.Background()
	tel, err := telemetry.Start(ctx, telemetry.Config{ServiceName: "bus-test"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tel.Shutdown(context.Background()) })
	nc := natstest.Connect(t, natstest.Start(t))
	a := newBus(t, nc, testConfig("a"), WithTelemetry(tel))
	b := newBus(t, nc, testConfig("b"), WithTelemetry(tel))
	a.Handle("ok", "t.1", EmitsOnly, forward("t.2"))
	b.Handle("bad", "t.2", EmitsOnly, func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) {
		return nil, Permanent(errors.New("cannot ever work"))
	})

	body := scrape(t, tel)
	for _, prefix := range []string{
		`efaktura_events_failed_total{consumer="a-ok",event_type="t.1",service="a"}`,
		`efaktura_events_retried_total{consumer="b-bad",event_type="t.2",service="b"}`,
		`efaktura_events_dead_lettered_total{consumer="b-bad",event_type="t.2",service="b"}`,
		`efaktura_events_processed_total{consumer="a-ok",event_type="t.1",outcome="ok",service="a"}`,
	} {
		if v, err := sample(body, prefix); err != nil || v != "0" {
			t.Errorf("before any event: %s = %q, %v; want 0", prefix, v, err)
		}
	}
	if strings.Contains(body, "otel_scope_") {
		t.Error("/metrics carries otel_scope_* labels")
	}

	run(t, a)
	run(t, b)
	if err := a.Publish(ctx, newEvent(t, "m-1", "t.1", map[string]string{"x": "y"})); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		`efaktura_consumer_pending{consumer="a-ok",service="a"}`:                                     "0",
		`efaktura_consumer_pending{consumer="b-bad",service="b"}`:                                    "0",
		`efaktura_dead_letters{service="b",stream="T_DLQ"}`:                                          "1",
		`efaktura_dead_letters{service="a",stream="T_DLQ"}`:                                          "0",
		`efaktura_events_dead_lettered_total{consumer="b-bad",event_type="t.2",service="b"}`:         "1",
		`efaktura_events_processed_total{consumer="a-ok",event_type="t.1",outcome="ok",service="a"}`: "1",
	}
	eventually(t, 30*time.Second, "the dead letter in /metrics", func() bool {
		body = scrape(t, tel)
		for prefix, v := range want {
			if got, err := sample(body, prefix); err != nil || got != v {
				return false
			}
		}
		return true
	})
}
