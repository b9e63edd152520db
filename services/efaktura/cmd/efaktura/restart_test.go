package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/services/erpsim"
)

// TestMain lets a test run this binary as "efaktura up" in a child process,
// so that it can be killed with SIGKILL, as a crash would, or stopped with
// SIGTERM, as a container runtime does. The child runs main itself, so it
// handles signals exactly as bin/efaktura does.
func TestMain(m *testing.M) {
	if args := os.Getenv("EFAKTURA_TEST_CHILD"); args != "" {
		os.Args = append([]string{"efaktura"}, strings.Fields(args)...)
		main()
	}
	os.Exit(m.Run())
}

// child is "efaktura up" in a process of its own.
type child struct {
	cmd *exec.Cmd
	log *syncBuffer
}

func startChild(t *testing.T, args string) *child {
	t.Helper()
	c := &child{log: &syncBuffer{}}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	// Short timings, so the work of the killed process is taken up within
	// seconds: JetStream redelivers after the ack wait, and the claims of
	// the killed respond free up after the lease.
	c.cmd.Env = append(os.Environ(), "EFAKTURA_TEST_CHILD="+args, "EFAKTURA_ACK_WAIT=2s", "EFAKTURA_LEASE=3s")
	for k, v := range demoTokens {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cmd.Process.Kill(); c.cmd.Wait() })
	return c
}

// TestKilledMidFlightGivesExactlyOneAnswerPerDocument kills the whole
// system with SIGKILL while answers are flowing, starts it again on the
// same data, and finishes the work: every document is answered, and each
// exactly once.
func TestKilledMidFlightGivesExactlyOneAnswerPerDocument(t *testing.T) {
	// The economy system lives outside the process that is killed.
	sim := erpsim.New(erpsim.Config{Secrets: map[string]string{"erp-0202": "secret-0202"}})
	erp := httptest.NewServer(sim)
	defer erp.Close()
	dir := t.TempDir()
	tenants := writeFile(t, "tenants.yaml", []byte(fmt.Sprintf(`tenants:
  - kommune: "0202"
    name: Restart Kommune
    cvr: "11223344"
    economy_system: {id: erp-0202, name: ERP, endpoint: %s/erp-sim/answers, secret: secret-0202}
    senders:
      - {type: CVR, id: "12345674", nets: false}
      - {type: CVR, id: "24680134", nets: false}
      - {type: EAN, id: "7350000000030", nets: false}
    agreements:
      forside: {state: approved}
      bagside: {state: approved}
    tokens:
      - {role: ingest, name: erp-0202, token: ingest-0202}
      - {role: caseworker, name: cw, token: case-0202}
`, erp.URL)))
	addr, natsAddr := freeAddr(t), freeAddr(t)
	_, natsPort, _ := net.SplitHostPort(natsAddr)
	args := fmt.Sprintf("up --http %s --data %s --tenants %s --nats-port %s", addr, filepath.Join(dir, "data"), tenants, natsPort)
	s := &system{t: t, base: "http://" + addr, log: &syncBuffer{}, natsURL: "nats://" + natsAddr}

	first := startChild(t, args)
	bustest.Eventually(t, "the first system to answer", s.healthy)
	accepted := s.postSamples("ingest-0202", 10, 3, 100)
	approve := func(limit int) int { waiting, _ := s.approveWaiting("case-0202", limit); return waiting }
	// Approve half, and kill the system as soon as answers flow, with
	// verdicts, decisions and deliveries still in flight.
	bustest.Eventually(t, "all documents waiting", func() error { return is(approve(0), len(accepted)) })
	approve(len(accepted) / 2)
	bustest.Eventually(t, "answers flowing", func() error {
		if len(sim.Answers()) == 0 {
			return errors.New("no answer yet")
		}
		return nil
	})
	first.cmd.Process.Signal(syscall.SIGKILL)
	first.cmd.Wait()
	delivered := len(sim.Answers())
	if delivered >= len(accepted) {
		t.Fatalf("all %d answers were out before the kill; the test proves nothing", delivered)
	}

	startChild(t, args)
	bustest.Eventually(t, "the second system to answer", s.healthy)
	bustest.Eventually(t, "every document answered", func() error {
		approve(len(accepted))
		if n := len(sim.Answers()); n < len(accepted) {
			return fmt.Errorf("%d of %d answered", n, len(accepted))
		}
		return nil
	})
	s.quiet() // a duplicate would have arrived by now, redelivered once the ack wait and the lease ran out
	got := receipts(sim.Answers())
	slices.Sort(accepted)
	if !slices.Equal(got, accepted) {
		t.Errorf("answered %d receipts %v; want each of %d receipts once: %v", len(got), got, len(accepted), accepted)
	}
	t.Logf("killed after %d of %d answers; all %d recorded once after the restart", delivered, len(accepted), len(got))
}

// TestSIGTERMDrainsAndExitsZero stops the whole system with SIGTERM, as a
// container runtime or systemd does, right after the verdicts, while their
// answers are on the way: every worker drains, nothing is logged as an
// error, the exit status is 0, and a second start on the same data finds
// the verdicts (issue 10).
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	addr, dir := freeAddr(t), filepath.Join(t.TempDir(), "data")
	args := fmt.Sprintf("up --http %s --data %s", addr, dir)
	s := &system{t: t, base: "http://" + addr, log: &syncBuffer{}}
	first := startChild(t, args)
	bustest.Eventually(t, "the system to answer", s.healthy)
	accepted := s.postSamples("ingest-t", 4, 5, 300)
	var waiting []docJSON
	bustest.Eventually(t, "all documents waiting", func() error { waiting = s.documents("awaiting_verdict"); return is(len(waiting), len(accepted)) })
	for _, d := range waiting {
		if code, body := s.verdict(d.ID, `{"decision":"approve"}`); code != 200 {
			t.Fatalf("verdict on %s: %d %s", d.ID, code, body)
		}
	}

	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("after SIGTERM: %v (exit code %d); want exit status 0\n%s", err, first.cmd.ProcessState.ExitCode(), first.log)
		}
	case <-time.After(time.Minute): // the drain period is 25 s
		t.Fatalf("still running a minute after SIGTERM\n%s", first.log)
	}
	log := first.log.String()
	// Five buses drain: the admin's and the four workers'.
	if n := strings.Count(log, `"msg":"draining"`); n != 5 {
		t.Errorf("%d buses logged draining, want 5 (admin and the four workers)\n%s", n, log)
	}
	for _, bad := range []string{`"level":"ERROR"`, "drain period over"} {
		if strings.Contains(log, bad) {
			t.Errorf("the log after SIGTERM holds %s\n%s", bad, log)
		}
	}

	startChild(t, args)
	bustest.Eventually(t, "the second system to answer", s.healthy)
	for _, d := range waiting {
		code, body := s.do("GET", "/v1/documents/"+d.ID, "case-t", nil)
		var got docJSON
		if json.Unmarshal(body, &got); code != 200 || got.State != "approved" {
			t.Errorf("after the restart GET document %s: %d %s; want it approved", d.ID, code, body)
		}
	}
}
