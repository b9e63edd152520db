package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
)

// TestSecondUpOnTheSameDataFails: an up on the data directory of a running
// one exits at once and names the running one's PID; the first runs on
// (issue 9).
func TestSecondUpOnTheSameDataFails(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	first := startChild(t, fmt.Sprintf("up --http %s --data %s", addr, data))
	s := &system{t: t, base: "http://" + addr, log: first.log}
	bustest.Eventually(t, "the first system to answer", s.healthy)

	// The deadline only keeps a second up that does start from hanging
	// the test; one that is refused returns long before it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	code := run(ctx, []string{"up", "--http", freeAddr(t), "--data", data}, nil, io.Discard, &stderr)
	if ctx.Err() != nil {
		t.Fatalf("the second up ran until the deadline; want it refused at once. Its log:\n%s", &stderr)
	}
	// Not the directory: the log masks its temporary name's CPR-shaped digits.
	want := fmt.Sprintf("is locked by process %d", first.cmd.Process.Pid)
	if code != exitError || !strings.Contains(stderr.String(), want) {
		t.Errorf("the second up exited with %d and logged:\n%s\nwant %d and a log line with %q", code, &stderr, exitError, want)
	}
	if err := s.healthy(); err != nil {
		t.Errorf("the first system stopped answering (%v); its log:\n%s", err, first.log)
	}
}
