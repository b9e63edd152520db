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

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/redistest"
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

// kvKeys lists every key of every JetStream KV bucket on the server, also
// those deleted or purged (their markers keep the name).
func (f *fixture) kvKeys(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	names := f.js.StreamNames(ctx)
	for name := range names.Name() {
		if !strings.HasPrefix(name, "KV_") {
			continue
		}
		s, err := f.js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx, jetstream.WithSubjectFilter(">"))
		if err != nil {
			t.Fatal(err)
		}
		for subject := range info.State.Subjects {
			keys = append(keys, subject)
		}
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestReferenceNeverInKeyNames: REFERENCE may hold a CPR number, so the
// duplicate-bundle keys carry a hash of it, never the value (issue 9), in
// Redis and in JetStream KV alike. Bundles go in over HTTP and NATS,
// accepted, duplicate and refused, and then every key of the stores is
// scanned, and the log.
func TestReferenceNeverInKeyNames(t *testing.T) {
	const reference = "0101001234" // CPR-shaped
	for _, store := range []string{"jetstream-kv", "redis"} {
		t.Run(store, func(t *testing.T) {
			var o options
			var logs logBuffer
			o.log = logs.logger()
			if store == "redis" {
				o.redis = redistest.Start(t)
			}
			f := setupWith(t, Config{}, o)
			f.w.Register()
			ctx := t.Context()
			bustest.Run(t, f.b)

			bundle := bytes.Replace(example(t, "valid-invoice.xml"), []byte("OEH-BUNDT-2025-0412"), []byte(reference), 1)
			if code, body := f.post(t, "erp-token", bundle); code != http.StatusAccepted || body["reference"] != reference {
				t.Fatalf("bundle with REFERENCE %s: %d %v, want 202", reference, code, body)
			}
			if code, body := f.post(t, "erp-token", bundle); code != http.StatusConflict {
				t.Errorf("the same again: %d %v, want 409", code, body)
			}
			foreign := bytes.Replace(bundle, []byte("<SENDER_ID>12345674<"), []byte("<SENDER_ID>11111111<"), 1)
			if code, body := f.post(t, "erp-token", foreign); code != http.StatusForbidden {
				t.Errorf("an unregistered sender: %d %v, want 403", code, body)
			}
			at := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
			for _, b := range [][]byte{bundle, bytes.Replace(bundle, []byte("<DOCUMENT_DATE>2025-06-02"), []byte("<DOCUMENT_DATE>2025-06-03"), 1)} {
				e, err := events.NewBundleSubmitted("/erp-nats", "0101", "", events.ContentTypeXML, b, at)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.b.Publish(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, func() bool {
				return f.stored(t, "efaktura.0101.bundle.received") == 2 && f.stored(t, "efaktura.0101.bundle.rejected") == 1
			})

			keys := f.kvKeys(t)
			if o.redis != nil {
				rc := redis.NewClient(&redis.Options{Addr: o.redis.Addr})
				defer rc.Close()
				redisKeys, err := rc.Keys(ctx, "*").Result()
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, redisKeys...)
			}
			var bundleKeys int
			for _, k := range keys {
				if strings.Contains(k, "bundle/") {
					bundleKeys++
				}
				if strings.Contains(k, reference) {
					t.Errorf("key %q holds REFERENCE", k)
				}
			}
			// The bundle over HTTP and the one over NATS; the refused one's
			// key is gone, or left as a purge marker in KV.
			if bundleKeys < 2 {
				t.Errorf("found %d duplicate-bundle keys; want the scan to see them", bundleKeys)
			}
			if strings.Contains(logs.String(), reference) {
				t.Errorf("the log holds REFERENCE:\n%s", logs.String())
			}
		})
	}
}

// TestLeaseFollowsTheBus: with no Lease of its own, ingest claims
// duplicate-bundle keys for the bus's Lease (--lease, EFAKTURA_LEASE), so a
// key left claimed by a failed intake frees itself after it (issue 9: an
// empty Config held them 2 minutes whatever the flag said).
func TestLeaseFollowsTheBus(t *testing.T) {
	const lease = 5 * time.Second
	var store *flaky
	f := setupWith(t, Config{}, options{bus: bus.Config{AckWait: time.Second, Lease: lease}, store: withFlaky(&store)})
	if f.w.cfg.Lease != lease {
		t.Errorf("Config.Lease = %v, want the bus's %v", f.w.cfg.Lease, lease)
	}

	// An unregistered sender is refused after its key was claimed; the
	// release fails, as if the worker had stopped, so the claim stays.
	store.releaseDown.Store(true)
	foreign := bytes.Replace(example(t, "valid-creditnote.xml"), []byte("<SENDER_ID>12345674<"), []byte("<SENDER_ID>11111111<"), 1)
	if code, body := f.post(t, "erp-token", foreign); code != http.StatusForbidden {
		t.Fatalf("unregistered sender: %d %v, want 403", code, body)
	}
	store.mu.Lock()
	leases := append([]time.Duration(nil), store.leases...)
	store.mu.Unlock()
	if len(leases) != 1 || leases[0] != lease {
		t.Errorf("claimed for %v, want [%v]", leases, lease)
	}
	var held bool
	waitFor(t, func() bool {
		code, _ := f.post(t, "erp-token", foreign)
		held = held || code == http.StatusServiceUnavailable
		return code == http.StatusForbidden
	})
	if !held {
		t.Errorf("the claim was never seen held; the test proves nothing")
	}
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
