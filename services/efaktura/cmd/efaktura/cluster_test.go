package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

// The whole flow on a 3-node JetStream cluster with every stream, consumer
// and bucket replicated 3 times; one node stops mid-flow and comes back.
// Each document must get exactly one answer, and nothing may be left
// behind in the streams.
func TestClusterLosesANodeMidFlow(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	s := startUpConfig(t, upConfig{HTTPAddr: freeAddr(t), DataDir: t.TempDir(), NATSURL: c.URL(), Replicas: 3},
		// Short retries: the test is about answers once each across a lost
		// node, and the default backoff (1s doubling to 5m, jittered) can
		// outgrow the test's patience when a loaded machine slows the
		// cluster's elections.
		map[string]string{"EFAKTURA_ACK_WAIT": "2s", "EFAKTURA_LEASE": "3s", "RESPOND_BACKOFF": "200ms,2s"})
	bustest.Eventually(t, "the system to be ready", func() error {
		if code, body := s.do("GET", "/readyz", "", nil); code != 200 {
			return fmt.Errorf("GET /readyz: %d %s", code, body)
		}
		return nil
	})

	const bundles, perBundle = 5, 3
	accepted := s.postSamples("ingest-t", bundles, perBundle, 500)
	if len(accepted) != bundles*perBundle {
		t.Fatalf("%d documents accepted, want %d", len(accepted), bundles*perBundle)
	}

	// Approve as a caseworker would: a third of the documents first; node 1
	// stops once their answers are out, the rest are approved while it is
	// down, and it comes back three seconds later.
	var stoppedAt time.Time
	restarted, approved, atStop := false, 0, 0
	bustest.Eventually(t, "an answer for every document", func() error {
		limit := len(accepted)
		if stoppedAt.IsZero() {
			limit = len(accepted)/3 - approved
		}
		_, newly := s.approveWaiting("case-t", limit)
		approved += newly
		n := len(s.answers())
		switch {
		case stoppedAt.IsZero() && n >= len(accepted)/3:
			c.Stop(1)
			stoppedAt, atStop = time.Now(), n
		case !stoppedAt.IsZero() && !restarted && time.Since(stoppedAt) > 3*time.Second:
			c.Restart(1)
			restarted = true
		}
		if !restarted || n < len(accepted) {
			return fmt.Errorf("%d of %d answers, node 1 stopped %v, restarted %v", n, len(accepted), !stoppedAt.IsZero(), restarted)
		}
		return nil
	})
	if atStop >= len(accepted) {
		t.Fatalf("the node stopped after all %d answers were out, not mid-flow", atStop)
	}
	t.Logf("node 1 stopped with %d of %d answers out", atStop, len(accepted))
	got := receipts(s.answers())
	slices.Sort(accepted)
	if !slices.Equal(got, accepted) {
		t.Errorf("answers for receipts %v, want exactly one for each of %v", got, accepted)
	}

	// Nothing left behind: every consumer has handled and acked all.
	s.quiet()
	if n := len(s.answers()); n != len(accepted) {
		t.Errorf("%d answers after the drain, want %d", n, len(accepted))
	}
}
