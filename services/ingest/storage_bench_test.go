package ingest

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
)

// BenchmarkStoragePerDocument measures what ingest stores per document
// (issue 10): 2000 bundles of 10 documents with 2 lines each
// (efaktura.Sample, the end-to-end benchmark's shape) go in over HTTP, on
// a file-backed embedded JetStream server; then, per document:
//
//   - events-B/doc: the event stream's bytes (bundle.received and
//     document.received; JetStream's State.Bytes, headers included);
//   - raw-B/doc: the raw store's bytes, whichever there is: the stream
//     of raw documents, or before it the object store's stream
//     (OBJ_EFAKTURA_bundles);
//   - events-disk-B/doc and raw-disk-B/doc: the files of those two streams
//     on disk (a compressed stream's blocks take less than its bytes). JetStream
//     compresses a stream's block (when the stream is compressed) once the
//     block is full, so the 20 000 documents are enough for most of them to
//     be.
//
// It names no stream of the raw store, so the same file measures any commit.
//
//	go test -run '^$' -bench StoragePerDocument -benchtime 1x -count 3 ./services/ingest
func BenchmarkStoragePerDocument(b *testing.B) {
	const storageBundles, storageDocs = 2000, 10
	bundles := make([][]byte, storageBundles)
	for i := range bundles {
		var err error
		if bundles[i], err = efaktura.Sample(efaktura.SampleOptions{Documents: storageDocs, LinesPerDocument: 2, Seed: int64(i + 1)}).Bytes(); err != nil {
			b.Fatal(err)
		}
	}
	var s storage
	for b.Loop() {
		s = storeBundles(b, bundles)
	}
	n := float64(storageBundles * storageDocs)
	b.ReportMetric(s.events/n, "events-B/doc")
	b.ReportMetric(s.raw/n, "raw-B/doc")
	b.ReportMetric(s.eventsDisk/n, "events-disk-B/doc")
	b.ReportMetric(s.rawDisk/n, "raw-disk-B/doc")
}

// storage is what the event stream and the raw store hold, in bytes.
type storage struct {
	events, raw         float64 // JetStream's State.Bytes
	eventsDisk, rawDisk float64 // their files
}

// storeBundles takes bundles in on a fresh server and returns what the
// event stream and the raw store hold.
func storeBundles(b *testing.B, bundles [][]byte) storage {
	ctx := context.Background()
	dir := b.TempDir()
	nc := natstest.Connect(b, natstest.StartWith(b, natstest.Options{StoreDir: dir}))
	bs, err := bus.New(ctx, nc, bus.Config{Service: "ingest", Subjects: events.StreamSubjects()}, bus.WithSubjects(events.SubjectOf))
	if err != nil {
		b.Fatal(err)
	}
	store, err := idem.NewKV(ctx, bs.JetStream(), idem.KVConfig{Bucket: "bundles_idem"})
	if err != nil {
		b.Fatal(err)
	}
	w, err := New(ctx, bs, demo, store, Config{SpoolDir: b.TempDir(), BurstPerToken: len(bundles)}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(ctx)
	mux := http.NewServeMux()
	w.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for i, body := range bundles {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/bundles", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer erp-token")
		req.Header.Set("Content-Type", "application/xml")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("bundle %d: %d", i, resp.StatusCode)
		}
	}
	js := bs.JetStream()
	var st storage
	measured := map[string]bool{}
	for name := range js.StreamNames(ctx).Name() {
		s, err := js.Stream(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		switch {
		case name == "EFAKTURA":
			st.events += float64(info.State.Bytes)
		case strings.HasPrefix(name, "KV_") || name == "EFAKTURA_DLQ":
			continue
		default: // the raw store
			st.raw += float64(info.State.Bytes)
		}
		measured[name] = true
	}
	// The server keeps a stream's files under <store>/jetstream/<account>/streams/<name>.
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) > 4 && parts[2] == "streams" && measured[parts[3]] {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if parts[3] == "EFAKTURA" {
				st.eventsDisk += float64(fi.Size())
			} else {
				st.rawDisk += float64(fi.Size())
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return st
}
