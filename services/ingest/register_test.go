package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects a logger's output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestCompletionRetriedInTheBackground: when completing a bundle's key
// fails, the request is answered at once and the worker keeps trying in
// the background; the same bundle sent again is "not now" (503) until the
// key is completed, then a duplicate (409).
func TestCompletionRetriedInTheBackground(t *testing.T) {
	var store *flaky
	f := setupWith(t, Config{}, options{store: withFlaky(&store)})
	store.completeDown.Store(true)
	bundle := example(t, "valid-invoice.xml")
	if code, body := f.post(t, "erp-token", bundle); code != http.StatusAccepted {
		t.Fatalf("bundle while completing fails: %d %v, want 202", code, body)
	}
	if code, body := f.post(t, "erp-token", bundle); code != http.StatusServiceUnavailable {
		t.Errorf("the same bundle before its key is completed: %d %v, want 503", code, body)
	}
	store.completeDown.Store(false)
	waitFor(t, func() bool {
		code, _ := f.post(t, "erp-token", bundle)
		return code == http.StatusConflict
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.w.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestCloseGivesALastTry: Close does not wait out a retry's lease: it
// makes every pending completion try once more at once and returns, and a
// key still not kept is logged.
func TestCloseGivesALastTry(t *testing.T) {
	var store *flaky
	var logs logBuffer
	f := setupWith(t, Config{}, options{store: withFlaky(&store), log: logs.logger()})
	store.completeDown.Store(true)
	if code, body := f.post(t, "erp-token", example(t, "valid-invoice.xml")); code != http.StatusAccepted {
		t.Fatalf("bundle while completing fails: %d %v, want 202", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // the lease is 2 minutes
	defer cancel()
	if err := f.w.Close(ctx); err != nil {
		t.Fatalf("Close: %v; want it back after one last try", err)
	}
	if !strings.Contains(logs.String(), "duplicate-bundle key not kept") {
		t.Errorf("log = %s; want the lost key reported", logs.String())
	}
}
