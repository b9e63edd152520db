package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
)

// The whole flow on a 3-node JetStream cluster with every stream, consumer
// and bucket replicated 3 times; one node stops mid-flow and comes back.
// Each document must get exactly one answer, and nothing may be left
// behind in the streams.
func TestClusterLosesANodeMidFlow(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	log := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- up(ctx, upConfig{HTTPAddr: addr, DataDir: t.TempDir(), NATSURL: c.URL(), Replicas: 3, AckWait: 2 * time.Second, Lease: 3 * time.Second},
			func(k string) string { return demoTokens[k] }, io.Discard, telemetry.NewLogger(log, slog.LevelInfo))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("up returned %v after shutdown", err)
		}
	}()
	s := &system{t: t, base: "http://" + addr, log: log}
	s.within(40*time.Second, "the system to be ready", func() bool { code, _ := s.do("GET", "/readyz", "", nil); return code == 200 })

	const bundles, perBundle = 5, 3
	receipts := s.postSamples("ingest-t", bundles, perBundle, 500)
	if len(receipts) != bundles*perBundle {
		t.Fatalf("%d documents accepted, want %d", len(receipts), bundles*perBundle)
	}

	// Approve as a caseworker would: a third of the documents first; node 1
	// stops once their answers are out, the rest are approved while it is
	// down, and it comes back three seconds later.
	var stoppedAt time.Time
	restarted, approved, atStop := false, 0, 0
	s.within(50*time.Second, "an answer for every document", func() bool {
		limit := len(receipts)
		if stoppedAt.IsZero() {
			limit = len(receipts)/3 - approved
		}
		_, newly := s.approveWaiting("case-t", limit)
		approved += newly
		n := len(s.answers())
		switch {
		case stoppedAt.IsZero() && n >= len(receipts)/3:
			c.Stop(1)
			stoppedAt, atStop = time.Now(), n
		case !stoppedAt.IsZero() && !restarted && time.Since(stoppedAt) > 3*time.Second:
			c.Restart(1)
			restarted = true
		}
		return restarted && n >= len(receipts)
	})
	if atStop >= len(receipts) {
		t.Fatalf("the node stopped after all %d answers were out, not mid-flow", atStop)
	}
	t.Logf("node 1 stopped with %d of %d answers out", atStop, len(receipts))
	var got []string
	for _, a := range s.answers() {
		got = append(got, a.Answer.ReceiptNo)
	}
	slices.Sort(got)
	slices.Sort(receipts)
	if !slices.Equal(got, receipts) {
		t.Errorf("answers for receipts %v, want exactly one for each of %v", got, receipts)
	}

	// Nothing left behind: every consumer has handled and acked all.
	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	s.within(30*time.Second, "every consumer to be drained", func() bool {
		left = left[:0]
		stream, err := js.Stream(ctx, "EFAKTURA")
		if err != nil {
			return false
		}
		for name := range stream.ListConsumers(ctx).Info() {
			if name.NumPending > 0 || name.NumAckPending > 0 {
				left = append(left, name.Name)
			}
		}
		return len(left) == 0
	})
	if n := len(s.answers()); n != len(receipts) {
		t.Errorf("%d answers after the drain, want %d", n, len(receipts))
	}
}
