package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/services/respond"
)

// scaleDocs is how many documents BenchmarkScale pushes; 0 skips it.
// scaleHeap is a directory for heap profiles of each step.
var (
	scaleDocs = flag.Int("scale", 0, "documents BenchmarkScale pushes through the all-in-one, measured at 10k, 50k, 100k and the total (make bench-scale); 0 skips it")
	scaleHeap = flag.String("scale-heap", "", "`directory` where BenchmarkScale writes a heap profile at each step's end, heap-N.pprof, and after its restart, heap-N-restarted.pprof")
)

// The scale benchmark's load besides BenchmarkEndToEnd's: the documents
// that stay in the caseworkers' queue throughout, and how many requests
// each latency is measured over.
const (
	scaleOpen        = 100
	scaleQueueProbes = 200
	scaleGetProbes   = 1000
	// scaleSettle is how long the system rests, quiet, before its memory
	// is measured: the NATS server drops a message block's cache 10 s
	// after its last use, so the live heap is then what the system keeps,
	// not what it just wrote.
	scaleSettle = 12 * time.Second
)

// scaleSteps are the totals BenchmarkScale measures at: those of 10k, 50k
// and 100k that are under total, then total.
func scaleSteps(total int) []int {
	var steps []int
	for _, s := range []int{10_000, 50_000, 100_000} {
		if s < total {
			steps = append(steps, s)
		}
	}
	return append(steps, total)
}

// BenchmarkScale is a year of production compressed (issue 10): it pushes
// -scale documents through one all-in-one (up) as BenchmarkEndToEnd does
// (the same driver, push), on file-backed embedded JetStream in a
// temporary directory and a real Redis, in steps up to 10k, 50k and 100k
// documents. Every document is approved and answered once; the ERP
// simulator's answers are checked and then forgotten at each step. Before
// the first step it posts scaleOpen documents that stay awaiting a verdict
// to the end, the open work a municipality's queue holds; they are
// approved and their answers checked last.
//
// After each step, with the system quiet and settled (scaleSettle), a
// sub-benchmark docs=N reports:
//
//   - docs/s and cpu-µs/doc of the step's documents (the process's CPU:
//     the all-in-one, its NATS server, the driver; not Redis);
//   - live-heap-MB after two forced GCs, rss-MB (VmRSS) and hwm-MB (VmHWM,
//     the peak so far) of the process;
//   - disk-KB/doc: the data directory's allocated size over every
//     document so far, and data-MB;
//   - queue-p95-ms: GET /v1/documents?state=awaiting_verdict, the
//     caseworkers' first page, scaleQueueProbes times in a row;
//   - get-p95-ms: GET /v1/documents/{id} of scaleGetProbes ids drawn from
//     every document so far;
//   - other-cpu-%: the share of the machine's CPU that other processes
//     (Redis among them) used during the step;
//   - restart-s: up stopped and started again on the same data, until
//     /readyz answers 200 and the queue lists exactly the open documents;
//     ready-s until /readyz alone answers 200; restart-heap-MB the live
//     heap once the restarted system is quiet.
//
// It takes minutes, so it runs only when -scale is given:
//
//	make bench-scale                 # 100,000 documents
//	go test -run '^$' -bench Scale -benchtime 1x -timeout 2h ./services/efaktura/cmd/efaktura -args -scale 20000 [-scale-heap DIR]
//
// With -scale-heap, go tool pprof -sample_index=inuse_space shows what
// the live heap holds (build the test binary with -o to read them).
func BenchmarkScale(b *testing.B) {
	if *scaleDocs <= 0 {
		b.Skip("pushes 100,000 documents, for minutes: run it with make bench-scale, or -args -scale N")
	}
	_, port, _ := net.SplitHostPort(freeAddr(b))
	natsPort, _ := strconv.Atoi(port)
	s := newE2E(b, upConfig{NATSPort: natsPort}, map[string]string{
		// The driver posts 60-100 bundles a second from one economy
		// system, past its default limit of 10.
		"INGEST_RATE_PER_TOKEN": "1000", "INGEST_BURST_PER_TOKEN": "1000",
	})
	s.start()
	s.waitHealthy(b)
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", natsPort), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	quiet := func(b *testing.B) { b.Helper(); bustest.Quiet(b, js, "EFAKTURA", respond.DefaultStream) }

	open := s.postOpen(b)
	history := newReservoir(scaleGetProbes)
	for _, id := range open {
		history.add(id)
	}
	done := 0
	for _, total := range scaleSteps(*scaleDocs) {
		ok := b.Run(fmt.Sprintf("docs=%d", total), func(b *testing.B) {
			busy0, cpu0, wall0 := machineBusy(b), processCPU(b), time.Now()
			r := s.push(b, load{bundles: (total - done) / e2eDocsPerBundle, body: func(int) ([]byte, error) { return sampleBundle() }, ignore: setOf(open)})
			others := (machineBusy(b) - busy0) - (processCPU(b) - cpu0)
			wall := time.Since(wall0)
			done += r.docs
			for _, id := range r.ids {
				history.add(id)
			}
			r.ids = nil
			s.forgetAnswers(b)
			quiet(b)
			time.Sleep(scaleSettle)
			m := measure(b, s.config.DataDir)
			heapProfile(b, fmt.Sprintf("heap-%d.pprof", total))
			queue := s.probe(b, scaleQueueProbes, func(int) string { return "/v1/documents?state=awaiting_verdict" })
			get := s.probe(b, scaleGetProbes, func(i int) string { return "/v1/documents/" + history.ids[i%len(history.ids)] })
			ready, correct := s.restart(b, open)
			quiet(b)
			time.Sleep(scaleSettle)
			after := measure(b, s.config.DataDir)
			heapProfile(b, fmt.Sprintf("heap-%d-restarted.pprof", total))

			docs := float64(done + len(open))
			b.ReportMetric(r.rate(), "docs/s")
			b.ReportMetric(float64(r.cpu.Microseconds())/float64(r.docs), "cpu-µs/doc")
			b.ReportMetric(mb(m.liveHeap), "live-heap-MB")
			b.ReportMetric(mb(m.rss), "rss-MB")
			b.ReportMetric(mb(m.hwm), "hwm-MB")
			b.ReportMetric(float64(m.disk)/1e3/docs, "disk-KB/doc")
			b.ReportMetric(mb(m.disk), "data-MB")
			b.ReportMetric(ms(percentile(queue, 0.95)), "queue-p95-ms")
			b.ReportMetric(ms(percentile(get, 0.95)), "get-p95-ms")
			b.ReportMetric(ready.Seconds(), "ready-s")
			b.ReportMetric(correct.Seconds(), "restart-s")
			b.ReportMetric(mb(after.liveHeap), "restart-heap-MB")
			b.ReportMetric(100*others.Seconds()/wall.Seconds()/float64(runtime.NumCPU()), "other-cpu-%")
			b.Logf("%d documents in all (%d open), %d this step in %.1fs; queue p50 %.2fms, get p50 %.2fms; after the restart rss %.0fMB; disk per document by stream: %s",
				int(docs), len(open), r.docs, r.elapsed.Seconds(), ms(percentile(queue, 0.5)), ms(percentile(get, 0.5)), mb(after.rss), m.perDocument(docs))
		})
		if !ok {
			return
		}
	}
	s.answerOpen(b, open)
	s.stop(b)
}

// postOpen posts scaleOpen documents and waits until the queue lists
// them all, awaiting a verdict; it returns their ids.
func (s *e2eSystem) postOpen(b *testing.B) []string {
	b.Helper()
	for range scaleOpen / e2eDocsPerBundle {
		body, err := sampleBundle()
		if err != nil {
			b.Fatal(err)
		}
		if code, resp, _ := s.do("POST", "/v1/bundles", "bench-ingest", body); code != 202 {
			b.Fatalf("POST bundle: %d %s", code, resp)
		}
	}
	var open []string
	bustest.Eventually(b, "the open documents in the queue", func() error {
		ids, err := s.queue()
		if err != nil {
			return err
		}
		if open = ids; len(open) != scaleOpen {
			return fmt.Errorf("%d of %d in the queue", len(open), scaleOpen)
		}
		return nil
	})
	return open
}

// queue returns the sorted ids of the documents the queue lists.
func (s *e2eSystem) queue() ([]string, error) {
	code, body, _ := s.do("GET", "/v1/documents?state=awaiting_verdict&per_page=500", "bench-case", nil)
	var page struct {
		Documents []struct {
			ID string `json:"id"`
		} `json:"documents"`
		NextPage int `json:"next_page"`
	}
	if code != 200 || json.Unmarshal(body, &page) != nil {
		return nil, fmt.Errorf("GET the queue: %d %.200s", code, body)
	}
	if page.NextPage != 0 {
		return nil, fmt.Errorf("the queue holds more than 500 documents")
	}
	var ids []string
	for _, d := range page.Documents {
		ids = append(ids, d.ID)
	}
	slices.Sort(ids)
	return ids, nil
}

// answerOpen approves the open documents and checks that the ERP
// simulator, which holds no answer yet, records one answer for each.
func (s *e2eSystem) answerOpen(b *testing.B, open []string) {
	b.Helper()
	for _, id := range open {
		if code, body, _ := s.do("POST", "/v1/documents/"+id+"/verdict", "bench-case", []byte(`{"decision":"approve"}`)); code != 200 {
			b.Fatalf("verdict on %s: %d %s", id, code, body)
		}
	}
	var got []string
	bustest.Eventually(b, "the open documents' answers", func() error {
		code, body, _ := s.do("GET", "/erp-sim/answers", "", nil)
		var answers []struct {
			Answer struct {
				DocumentID string `json:"document_id"`
				Decision   string `json:"decision"`
			} `json:"answer"`
			Deliveries int `json:"deliveries"`
		}
		if code != 200 || json.Unmarshal(body, &answers) != nil {
			return fmt.Errorf("GET /erp-sim/answers: %d %.200s", code, body)
		}
		got = got[:0]
		for _, a := range answers {
			if a.Answer.Decision != "approved" || a.Deliveries != 1 {
				b.Fatalf("document %s: decision %q delivered %d times; want approved, once", a.Answer.DocumentID, a.Answer.Decision, a.Deliveries)
			}
			got = append(got, a.Answer.DocumentID)
		}
		return is(len(got), len(open))
	})
	slices.Sort(got)
	if !slices.Equal(got, open) {
		b.Fatalf("answers for %v, want one for each open document %v", got, open)
	}
}

// forgetAnswers empties the ERP simulator, whose records are the
// benchmark's, not the system's, and would count in the live heap.
func (s *e2eSystem) forgetAnswers(b *testing.B) {
	b.Helper()
	if code, body, _ := s.do("DELETE", "/erp-sim/answers", "", nil); code/100 != 2 {
		b.Fatalf("DELETE /erp-sim/answers: %d %s", code, body)
	}
}

// probe GETs path(i) n times in a row as the caseworker and returns each
// round trip; every answer must be 200.
func (s *e2eSystem) probe(b *testing.B, n int, path func(i int) string) []time.Duration {
	b.Helper()
	out := make([]time.Duration, n)
	for i := range out {
		sent := time.Now()
		code, body, at := s.do("GET", path(i), "bench-case", nil)
		if code != 200 {
			b.Fatalf("GET %s: %d %.200s", path(i), code, body)
		}
		out[i] = at.Sub(sent)
	}
	return out
}

// restart stops the system and starts it again on the same data. It
// returns how long the new one took, from the start, until /readyz
// answered 200, and until /readyz answered 200 and the queue listed
// exactly the open documents.
func (s *e2eSystem) restart(b *testing.B, open []string) (ready, correct time.Duration) {
	b.Helper()
	s.stop(b)
	start := time.Now()
	s.start()
	var last error
	for deadline := start.Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		s.checkRunning(b)
		code, body, at := s.do("GET", "/readyz", "", nil)
		if code != 200 {
			last = fmt.Errorf("/readyz: %d %s", code, body)
			continue
		}
		if ready == 0 {
			ready = at.Sub(start)
		}
		ids, err := s.queue()
		if err == nil && !slices.Equal(ids, open) {
			err = fmt.Errorf("the queue lists %d documents, not the %d open ones", len(ids), len(open))
		}
		if last = err; err == nil {
			return ready, time.Since(start)
		}
	}
	b.Fatalf("5 minutes after the restart: %v", last)
	return 0, 0
}

// machineBusy returns the CPU time all processes of the machine have used
// (/proc/stat: user, nice, system, irq, softirq, steal). Less this
// process's, it is what Redis and anything else running took meanwhile:
// a measurement to distrust when that is large.
func machineBusy(b *testing.B) time.Duration {
	b.Helper()
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		b.Fatalf("/proc/stat begins %q", line)
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			b.Fatalf("/proc/stat: %v", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// measured is the process's memory and the data directory's size.
type measured struct {
	liveHeap, rss, hwm, disk int64 // bytes
	// streams are the bytes of each JetStream stream in the data
	// directory, KV buckets (KV_*) and object stores (OBJ_*) included.
	streams map[string]int64
}

// measure forces a garbage collection and reads the live heap, the
// process's resident memory now and at its peak (VmRSS, VmHWM), and the
// disk space dir takes.
func measure(b *testing.B, dir string) measured {
	b.Helper()
	// Twice: what sync.Pools hold survives one collection (the NATS
	// server's pooled block buffers, up to 90 MB here), and it is cache,
	// not what the system keeps.
	runtime.GC()
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	m := measured{liveHeap: int64(sample[0].Value.Uint64()), streams: map[string]int64{}}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		name, value, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			m.rss = kb << 10
		case "VmHWM":
			m.hwm = kb << 10
		}
	}
	// Allocated blocks, as du counts them, not file lengths.
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		m.disk += st.Blocks * 512
		// .../jetstream/$G/streams/NAME/...
		if _, rest, ok := strings.Cut(filepath.ToSlash(path), "/streams/"); ok {
			name, _, _ := strings.Cut(rest, "/")
			m.streams[name] += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// heapProfile writes a heap profile to name in the -scale-heap directory,
// if one is given; measure has just collected the garbage.
func heapProfile(b *testing.B, name string) {
	b.Helper()
	if *scaleHeap == "" {
		return
	}
	f, err := os.Create(filepath.Join(*scaleHeap, name))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// perDocument lists the streams' sizes over docs documents, largest first.
func (m measured) perDocument(docs float64) string {
	names := slices.Collect(maps.Keys(m.streams))
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(m.streams[b], m.streams[a]) })
	var parts []string
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f KB", name, float64(m.streams[name])/1e3/docs))
	}
	return strings.Join(parts, ", ")
}

func mb(n int64) float64 { return float64(n) / 1e6 }

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// reservoir keeps a uniform sample of the ids it was given (Vitter's
// algorithm R), so the benchmark's own memory does not grow with history.
type reservoir struct {
	ids  []string
	seen int
	rand *rand.Rand
}

func newReservoir(n int) *reservoir {
	return &reservoir{ids: make([]string, 0, n), rand: rand.New(rand.NewPCG(1, 2))}
}

func (r *reservoir) add(id string) {
	r.seen++
	if len(r.ids) < cap(r.ids) {
		r.ids = append(r.ids, id)
	} else if j := r.rand.IntN(r.seen); j < len(r.ids) {
		r.ids[j] = id
	}
}
