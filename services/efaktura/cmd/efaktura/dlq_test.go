package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

func TestDLQListAndReplay(t *testing.T) {
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	ctx := t.Context()
	b, err := bus.New(ctx, nc, bus.Config{Service: "validate", Subjects: []string{"efaktura.>"}, MaxDeliver: 1})
	if err != nil {
		t.Fatal(err)
	}
	healed := make(chan struct{})
	b.Handle("docs", "efaktura.*.document.received", bus.EmitsOnly, func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) {
		select {
		case <-healed:
			return nil, nil
		default:
			return nil, errors.New("validator broken")
		}
	})
	bustest.Run(t, b)
	e := cloudevents.NewEvent()
	e.SetID("ev-1")
	e.SetType("efaktura.0101.document.received")
	e.SetSource("/test")
	if err := b.Publish(ctx, e); err != nil {
		t.Fatal(err)
	}

	url := s.ClientURL()
	var out string
	bustest.Eventually(t, "a dead letter listed", func() error {
		code, stdout, stderr := runCmd(t, nil, "dlq", "list", "--nats", url, "--json")
		if code != exitOK {
			t.Fatalf("dlq list: exit %d, %s", code, stderr)
		}
		if out = stdout; out == "" {
			return errors.New("none yet")
		}
		return nil
	})
	var dl struct {
		Seq        uint64 `json:"seq"`
		Consumer   string `json:"consumer"`
		EventID    string `json:"event_id"`
		Deliveries int    `json:"deliveries"`
		Error      string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &dl); err != nil {
		t.Fatalf("dlq list --json: %v in %q", err, out)
	}
	if dl.Consumer != "validate-docs" || dl.EventID != "ev-1" || dl.Deliveries != 1 || dl.Error != "validator broken" {
		t.Errorf("dead letter = %+v", dl)
	}
	code, stdout, _ := runCmd(t, nil, "dlq", "list", "--nats", url)
	if code != exitOK || !strings.Contains(stdout, "validate-docs") || !strings.Contains(stdout, "validator broken") {
		t.Errorf("dlq list: exit %d, output %q", code, stdout)
	}

	close(healed)
	code, stdout, stderr := runCmd(t, nil, "dlq", "replay", "--nats", url, "1")
	if code != exitOK || !strings.Contains(stdout, "replayed dead letter 1") {
		t.Fatalf("dlq replay: exit %d, %q, %q", code, stdout, stderr)
	}
	// The event, then its replay, handled and acked.
	bustest.Settled(t, b.JetStream(), "EFAKTURA", "validate-docs", 2)
	if code, stdout, _ := runCmd(t, nil, "dlq", "list", "--nats", url); code != exitOK || !strings.Contains(stdout, "no dead letters") {
		t.Errorf("after replay: exit %d, %q", code, stdout)
	}
	if code, _, stderr := runCmd(t, nil, "dlq", "replay", "--nats", url, "1"); code != exitError || !strings.Contains(stderr, "no such dead letter") {
		t.Errorf("second replay: exit %d, %q", code, stderr)
	}
}

func TestDLQUsage(t *testing.T) {
	for _, args := range [][]string{{"dlq"}, {"dlq", "purge"}, {"dlq", "replay"}, {"dlq", "replay", "x"}, {"dlq", "list", "extra"}} {
		if code, _, _ := runCmd(t, nil, args...); code != exitError {
			t.Errorf("efaktura %v: exit %d, want 2", args, code)
		}
	}
	if code, _, stderr := runCmd(t, nil, "dlq", "list", "--nats", "nats://127.0.0.1:1"); code != exitError || !strings.Contains(stderr, "connect to NATS") {
		t.Errorf("unreachable NATS: exit %d, %q", code, stderr)
	}
}
