package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/redistest"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
	"github.com/kp-efaktura/efaktura/services/erpsim"
	"github.com/kp-efaktura/efaktura/services/respond"
)

// syncBuffer is a buffer several goroutines may write, for the log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// system is an all-in-one under test.
type system struct {
	t    *testing.T
	base string
	log  *syncBuffer
	// natsURL is where its NATS listens; js, made on first use, is a
	// JetStream client of it.
	natsURL string
	js      jetstream.JetStream
}

var demoTokens = map[string]string{
	"EFAKTURA_DEMO_INGEST_TOKEN": "ingest-t", "EFAKTURA_DEMO_CASEWORKER_TOKEN": "case-t",
	"EFAKTURA_DEMO_ADMIN_TOKEN": "admin-t", "EFAKTURA_DEMO_ERP_SECRET": "erp-secret",
}

func startUp(t *testing.T, pending bool) *system { return startUpWith(t, pending, "") }

func startUpWith(t *testing.T, pending bool, tenantsFile string) *system {
	t.Helper()
	return startUpConfig(t, upConfig{HTTPAddr: freeAddr(t), DataDir: t.TempDir(), Pending: pending, TenantsFile: tenantsFile})
}

// startUpConfig runs up with c, the demo tokens and the variables of env
// until the test ends, and waits until its API answers. The embedded NATS
// listens on a free port unless c names one, so the test can watch the
// streams.
func startUpConfig(t *testing.T, c upConfig, env ...map[string]string) *system {
	t.Helper()
	natsURL := c.NATSURL
	if natsURL == "" {
		if c.NATSPort == 0 {
			_, port, _ := net.SplitHostPort(freeAddr(t))
			c.NATSPort, _ = strconv.Atoi(port)
		}
		natsURL = fmt.Sprintf("nats://127.0.0.1:%d", c.NATSPort)
	}
	log := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	vars := maps.Clone(demoTokens)
	for _, e := range env {
		maps.Copy(vars, e)
	}
	go func() {
		done <- up(ctx, c, func(k string) string { return vars[k] }, io.Discard, telemetry.NewLogger(log, slog.LevelInfo))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("up returned %v after shutdown", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("up did not stop")
		}
	})
	s := &system{t: t, base: "http://" + c.HTTPAddr, log: log, natsURL: natsURL}
	bustest.Eventually(t, "the API to answer", s.healthy)
	return s
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (s *system) do(method, path, token string, body []byte) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == "POST" && strings.HasPrefix(path, "/v1/bundles") {
		req.Header.Set("Content-Type", "application/xml")
	} else if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// healthy returns nil once the system answers /healthz with 200.
func (s *system) healthy() error {
	if code, body := s.do("GET", "/healthz", "", nil); code != 200 {
		return fmt.Errorf("GET /healthz: %d %s", code, body)
	}
	return nil
}

// is returns nil when got is want, and otherwise what got is, for
// bustest.Eventually.
func is[T comparable](got, want T) error {
	if got != want {
		return fmt.Errorf("got %v", got)
	}
	return nil
}

// jetStream returns a JetStream client of the system's NATS, connected on
// first use until the test ends.
func (s *system) jetStream() jetstream.JetStream {
	s.t.Helper()
	if s.js == nil {
		nc, err := nats.Connect(s.natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		if err != nil {
			s.t.Fatalf("connect to the system's NATS: %v", err)
		}
		s.t.Cleanup(nc.Close)
		if s.js, err = jetstream.New(nc); err != nil {
			s.t.Fatal(err)
		}
	}
	return s.js
}

// quiet waits until the workers have done all they were given: every
// consumer of the event stream and of the answer queues has acked all it
// got, and neither stream grew meanwhile (bustest.Quiet). What has not
// happened then, a second answer say, will not happen.
func (s *system) quiet() {
	s.t.Helper()
	bustest.Quiet(s.t, s.jetStream(), "EFAKTURA", respond.DefaultStream)
}

// queue returns the state of kommune's answer queue.
func (s *system) queue(kommune string) (respond.QueueStatus, error) {
	qs, err := respond.Queues(s.t.Context(), s.jetStream(), "", "")
	if err != nil {
		return respond.QueueStatus{}, err
	}
	for _, q := range qs {
		if q.Kommune == kommune {
			return q, nil
		}
	}
	return respond.QueueStatus{}, fmt.Errorf("no answer queue for %s among %+v", kommune, qs)
}

type docJSON struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	ReceiptNo string `json:"receipt_no"`
	Answer    struct {
		Status string `json:"status"`
	} `json:"answer"`
}

func (s *system) documents(state string) []docJSON {
	s.t.Helper()
	code, body := s.do("GET", "/v1/documents?state="+state, "case-t", nil)
	if code != 200 {
		s.t.Fatalf("GET documents: %d %s", code, body)
	}
	var page struct {
		Documents []docJSON `json:"documents"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		s.t.Fatal(err)
	}
	return page.Documents
}

// archived returns the answered documents in state of the archive, as the
// caseworker of the test municipality sees them, oldest first.
func (s *system) archived(state string) []docJSON {
	s.t.Helper()
	var out []docJSON
	for cursor := ""; ; {
		code, body := s.do("GET", "/v1/archive?limit=500&state="+state+"&cursor="+cursor, "case-t", nil)
		if code != 200 {
			s.t.Fatalf("GET archive: %d %s", code, body)
		}
		var page struct {
			Documents  []docJSON `json:"documents"`
			NextCursor string    `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, page.Documents...)
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
	}
}

func (s *system) answers() []erpsim.Recorded {
	s.t.Helper()
	_, body := s.do("GET", "/erp-sim/answers", "", nil)
	var out []erpsim.Recorded
	json.Unmarshal(body, &out) // a failed request is no answers yet: callers poll
	return out
}

// receipts returns the sorted receipt numbers of answers.
func receipts(answers []erpsim.Recorded) []string {
	var out []string
	for _, a := range answers {
		out = append(out, a.Answer.ReceiptNo)
	}
	slices.Sort(out)
	return out
}

func (s *system) post(file string) (int, []byte) {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		s.t.Fatal(err)
	}
	return s.do("POST", "/v1/bundles", "ingest-t", b)
}

// postSamples posts bundles sample bundles of perBundle documents each,
// seeded from seed, with the ingest token, and returns their receipt
// numbers.
func (s *system) postSamples(token string, bundles, perBundle int, seed int64) []string {
	s.t.Helper()
	var receipts []string
	for i := range bundles {
		b, err := efaktura.Sample(efaktura.SampleOptions{Documents: perBundle, LinesPerDocument: 2, Seed: seed + int64(i)}).Bytes()
		if err != nil {
			s.t.Fatal(err)
		}
		code, body := s.do("POST", "/v1/bundles", token, b)
		if code != 202 {
			s.t.Fatalf("POST bundle %d: %d %s", i, code, body)
		}
		var accepted struct {
			Documents []struct {
				ReceiptNo string `json:"receipt_no"`
			} `json:"documents"`
		}
		json.Unmarshal(body, &accepted)
		for _, d := range accepted.Documents {
			receipts = append(receipts, d.ReceiptNo)
		}
	}
	return receipts
}

// approveWaiting approves up to limit of the documents awaiting a verdict,
// as the caseworker with token; it returns how many were waiting and how
// many it approved. A failing request counts as nothing waiting: callers
// poll.
func (s *system) approveWaiting(token string, limit int) (waiting, approved int) {
	code, body := s.do("GET", "/v1/documents?state=awaiting_verdict&per_page=500", token, nil)
	if code != 200 {
		return 0, 0
	}
	var page struct {
		Documents []docJSON `json:"documents"`
	}
	json.Unmarshal(body, &page)
	for _, d := range page.Documents[:min(limit, len(page.Documents))] {
		if code, _ := s.do("POST", "/v1/documents/"+d.ID+"/verdict", token, []byte(`{"decision":"approve"}`)); code == 200 {
			approved++
		}
	}
	return len(page.Documents), approved
}

func (s *system) verdict(id, body string) (int, []byte) {
	return s.do("POST", "/v1/documents/"+id+"/verdict", "case-t", []byte(body))
}

// TestEndToEnd is the mission: bundles in, documents validated, verdicts,
// answers at the economy system exactly once.
func TestEndToEnd(t *testing.T) {
	s := startUp(t, false)
	if code, body := s.post("valid-bundle-3-documents.xml"); code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	if code, body := s.post("valid-invoice.xml"); code != 202 { // holds CPR 0101001234
		t.Fatalf("POST invoice: %d %s", code, body)
	}
	if code, _ := s.post("valid-invoice.xml"); code != 409 {
		t.Errorf("duplicate bundle: %d, want 409", code)
	}
	if code, _ := s.do("POST", "/v1/bundles", "wrong", []byte("<x/>")); code != 401 {
		t.Errorf("wrong token: %d, want 401", code)
	}
	// A technically invalid document is rejected at once.
	bad, _ := os.ReadFile("testdata/valid-creditnote.xml")
	bad = bytes.Replace(bad, []byte("<VERSION>2.1.0<"), []byte("<VERSION>2.0.0<"), 1)
	if code, body := s.do("POST", "/v1/bundles", "ingest-t", bad); code != 202 {
		t.Fatalf("POST bundle with an invalid document: %d %s", code, body)
	}

	var waiting []docJSON
	bustest.Eventually(t, "four documents awaiting a verdict", func() error { waiting = s.documents("awaiting_verdict"); return is(len(waiting), 4) })
	bustest.Eventually(t, "the invalid document rejected", func() error {
		return is(len(s.documents("rejected"))+len(s.archived("rejected")), 1) // archived once answered
	})
	for i, d := range waiting {
		body := `{"decision":"approve"}`
		if i == 1 {
			body = `{"decision":"reject","reasons":[{"code":"PRI","text":"Prisen svarer ikke til aftalen"}]}`
		}
		if code, resp := s.verdict(d.ID, body); code != 200 {
			t.Fatalf("verdict on %s: %d %s", d.ID, code, resp)
		}
	}
	if code, _ := s.verdict(waiting[0].ID, `{"decision":"approve"}`); code != 200 {
		t.Errorf("the same verdict again: %d, want 200", code)
	}
	if code, _ := s.verdict(waiting[0].ID, `{"decision":"reject","reasons":[{"code":"NON"}]}`); code != 409 {
		t.Errorf("a conflicting verdict: %d, want 409", code)
	}

	bustest.Eventually(t, "five answers at the economy system", func() error {
		if n := len(s.answers()); n < 5 {
			return fmt.Errorf("%d answers", n)
		}
		return nil
	})
	s.quiet() // a duplicate would have arrived by now
	got := s.answers()
	decisions := map[string]int{}
	for _, a := range got {
		decisions[a.Answer.Decision]++
	}
	want := []string{"NRD-2025-001180", "NRD-2025-001181", "OEH-2025-000412", "OEH-2025-000431", "SH-88123"}
	if r := receipts(got); !slices.Equal(r, want) {
		t.Errorf("answered receipts = %v, want each of %v once", r, want)
	}
	if decisions["approved"] != 3 || decisions["rejected"] != 2 {
		t.Errorf("decisions = %v, want 3 approved and 2 rejected", decisions)
	}
	// Each answered document leaves the open lists for the archive.
	bustest.Eventually(t, "the answered documents archived", func() error {
		if open := len(s.documents("approved")) + len(s.documents("rejected")); open > 0 {
			return fmt.Errorf("%d decided documents still open", open)
		}
		return is(len(s.archived("approved"))+len(s.archived("rejected")), 5)
	})
	for _, d := range append(s.archived("approved"), s.archived("rejected")...) {
		if d.Answer.Status != "delivered" {
			t.Errorf("archived document %s: answer %s, want delivered", d.ID, d.Answer.Status)
		}
	}
	if strings.Contains(s.log.String(), "0101001234") {
		t.Error("the log holds the CPR number 0101001234")
	}
	if !strings.Contains(s.log.String(), `"trace_id"`) {
		t.Error("the log lines carry no trace_id")
	}
}

// TestAnswersWaitForTheAgreements: with both agreements pending, answers are
// parked; an agreement naming the wrong economy system keeps them parked;
// once both are approved and right, they are delivered in decision order.
func TestAnswersWaitForTheAgreements(t *testing.T) {
	s := startUp(t, true)
	if code, body := s.post("valid-bundle-3-documents.xml"); code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	var waiting []docJSON
	bustest.Eventually(t, "three documents awaiting a verdict", func() error { waiting = s.documents("awaiting_verdict"); return is(len(waiting), 3) })
	// A verdict's 200 comes once its document.decided is stored, so the
	// decision order is the order of the requests.
	order := []int{2, 0, 1}
	for _, i := range order {
		if code, resp := s.verdict(waiting[i].ID, `{"decision":"approve"}`); code != 200 {
			t.Fatalf("verdict: %d %s", code, resp)
		}
	}
	bustest.Eventually(t, "three answers parked", func() error {
		n := 0
		for _, d := range s.documents("approved") {
			if d.Answer.Status == "parked" {
				n++
			}
		}
		return is(n, 3)
	})
	setAgreement := func(name, body string) {
		t.Helper()
		if code, resp := s.do("PUT", "/v1/tenants/0101/agreements/"+name, "admin-t", []byte(body)); code != 200 {
			t.Fatalf("PUT agreement %s: %d %s", name, code, resp)
		}
	}
	setAgreement("forside", `{"state":"approved","economy_system":"erp-sim"}`)
	setAgreement("bagside", `{"state":"approved","economy_system":"another-erp"}`)
	// Every change handled (the queue's own consumer aside, which is
	// paused with the answers waiting, so not quiet): the queue must still
	// be paused with all three, and none at the economy system.
	bustest.Quiet(t, s.jetStream(), "EFAKTURA")
	if q, err := s.queue(demoKommune); err != nil || !q.Paused || q.Waiting != 3 {
		t.Fatalf("answer queue %+v, %v; want it paused with 3 waiting although bagside names another economy system", q, err)
	}
	if n := len(s.answers()); n != 0 {
		t.Fatalf("%d answers delivered although bagside names another economy system", n)
	}
	// efaktura answers list shows the queue as the server keeps it.
	code, out, stderr := runCmd(t, nil, "answers", "list", "--nats", s.natsURL, "--json")
	var q respond.QueueStatus
	if err := json.Unmarshal([]byte(out), &q); code != exitOK || err != nil {
		t.Fatalf("answers list --json: exit %d, %v in %q, %s", code, err, out, stderr)
	}
	if q.Kommune != demoKommune || !q.Paused || q.Waiting != 3 || q.HeadQueuedAt.IsZero() {
		t.Errorf("answers list --json = %+v; want %s paused with 3 waiting and the head's time", q, demoKommune)
	}
	// The header's five columns, then the queue's row.
	if code, out, _ := runCmd(t, nil, "answers", "list", "--nats", s.natsURL); code != exitOK || len(strings.Fields(out)) < 8 ||
		!slices.Equal(strings.Fields(out)[5:8], []string{demoKommune, "paused", "3"}) {
		t.Errorf("answers list: exit %d, %q; want %s paused with 3 waiting", code, out, demoKommune)
	}
	setAgreement("bagside", `{"state":"approved","economy_system":"erp-sim"}`)
	s.waitAnswersInOrder(t, waiting, order)
}

// TestAnswersSurviveAFailingEconomySystem: the economy system is down, then
// refuses 30 % of requests; every document still gets exactly one recorded
// answer.
//
// Which requests the simulator refuses at 30 % depends on the answer ids,
// which derive from the year of receipt: the outage first makes failures
// certain, whatever the date. A short RESPOND_BACKOFF keeps the retries,
// and the test, to seconds.
func TestAnswersSurviveAFailingEconomySystem(t *testing.T) {
	s := startUpConfig(t, upConfig{HTTPAddr: freeAddr(t), DataDir: t.TempDir()}, map[string]string{"RESPOND_BACKOFF": "20ms,50ms,100ms"})
	config := func(body string) erpsim.Stats {
		t.Helper()
		method := "GET"
		if body != "" {
			method = "PUT"
		}
		code, resp := s.do(method, "/erp-sim/config", "", []byte(body))
		if code != 200 {
			t.Fatalf("%s /erp-sim/config: %d %s", method, code, resp)
		}
		var cfg struct {
			Stats erpsim.Stats `json:"stats"`
		}
		json.Unmarshal(resp, &cfg) // PUT answers the settings alone
		return cfg.Stats
	}
	config(`{"fail_ratio":1}`)
	const n = 20
	bundle, err := efaktura.Sample(efaktura.SampleOptions{Documents: n, LinesPerDocument: 1, Seed: 77}).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if code, body := s.do("POST", "/v1/bundles", "ingest-t", bundle); code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	var waiting []docJSON
	bustest.Eventually(t, "the documents awaiting a verdict", func() error { waiting = s.documents("awaiting_verdict"); return is(len(waiting), n) })
	for _, d := range waiting {
		if code, resp := s.verdict(d.ID, `{"decision":"approve"}`); code != 200 {
			t.Fatalf("verdict: %d %s", code, resp)
		}
	}
	// The answer at the head of the queue is tried through the backoff's
	// every step while the others wait behind it.
	bustest.Eventually(t, "three failed attempts", func() error {
		if st := config(""); st.Injected < 3 {
			return fmt.Errorf("simulator stats %+v", st)
		}
		return nil
	})
	if got := s.answers(); len(got) != 0 {
		t.Fatalf("%d answers recorded while the economy system was down", len(got))
	}
	config(`{"fail_ratio":0.3}`)
	bustest.Eventually(t, "every answer", func() error { return is(len(s.answers()), n) })
	s.quiet() // a duplicate would have been recorded by now
	stats := config("")
	if r := receipts(s.answers()); len(r) != n || len(slices.Compact(slices.Clone(r))) != n {
		t.Errorf("answered receipts %v, want %d distinct", r, n)
	}
	if stats.Recorded != n {
		t.Errorf("simulator stats %+v; want %d answers recorded once", stats, n)
	}
	t.Logf("%d requests refused on purpose; %d answers recorded once, %d repeated", stats.Injected, stats.Recorded, stats.Repeats)

	// efaktura trace shows the first answer's failed attempts, each with the
	// economy system's status, then its delivery.
	code, out, stderr := runCmd(t, nil, "trace", "--api", s.base, "--token", "admin-t", waiting[0].ID)
	if code != exitOK {
		t.Fatalf("efaktura trace: exit %d, %s", code, stderr)
	}
	t.Logf("efaktura trace:\n%s", out)
	for _, want := range []string{"document " + waiting[0].ID, "\ntrace    ", "received", "validated", "verdict", "answer_failed #1", "503", "answer_delivered #", "200"} {
		if !strings.Contains(out, want) {
			t.Errorf("efaktura trace lacks %q:\n%s", want, out)
		}
	}
}

// TestMunicipalitiesAreIsolated: a caseworker of one municipality cannot
// see or decide another's documents.
func TestMunicipalitiesAreIsolated(t *testing.T) {
	file := writeFile(t, "tenants.yaml", []byte(`tenants:
  - kommune: "0202"
    name: Anden Kommune
    cvr: "11223344"
    economy_system: {id: erp-0202, name: ERP, endpoint: "http://127.0.0.1:1/answers", secret: s}
    senders: [{type: CVR, id: "12345674", nets: false}]
    tokens: [{role: caseworker, name: other, token: case-0202}]
`))
	s := startUpWith(t, false, file)
	if code, body := s.post("valid-invoice.xml"); code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	var waiting []docJSON
	bustest.Eventually(t, "the document awaiting a verdict", func() error { waiting = s.documents("awaiting_verdict"); return is(len(waiting), 1) })
	id := waiting[0].ID
	if code, body := s.do("GET", "/v1/documents?state=awaiting_verdict", "case-0202", nil); code != 200 || strings.Contains(string(body), id) {
		t.Errorf("another municipality's queue: %d %s; want it without document %s", code, body, id)
	}
	if code, _ := s.do("GET", "/v1/documents/"+id, "case-0202", nil); code != 404 {
		t.Errorf("another municipality's document: %d, want 404", code)
	}
	if code, _ := s.do("POST", "/v1/documents/"+id+"/verdict", "case-0202", []byte(`{"decision":"approve"}`)); code != 404 {
		t.Errorf("deciding another municipality's document: %d, want 404", code)
	}
	if code, _ := s.do("GET", "/v1/documents/"+id, "case-t", nil); code != 200 {
		t.Errorf("the own municipality's document: %d, want 200", code)
	}
}

// TestMemoryStorage: with EFAKTURA_STORAGE=memory every stream and bucket,
// the idempotency bucket included when Redis holds no keys, is created in
// memory, once, and the system answers as it does on file.
func TestMemoryStorage(t *testing.T) {
	for _, withRedis := range []bool{false, true} {
		t.Run(fmt.Sprintf("redis=%v", withRedis), func(t *testing.T) {
			env := map[string]string{"EFAKTURA_STORAGE": "memory"}
			if withRedis {
				env["REDIS_URL"] = redistest.Start(t).URL()
			}
			s := startUpConfig(t, upConfig{HTTPAddr: freeAddr(t), DataDir: t.TempDir()}, env)
			if code, body := s.post("valid-bundle-3-documents.xml"); code != 202 {
				t.Fatalf("POST bundle: %d %s", code, body)
			}
			bustest.Eventually(t, "three documents approved", func() error {
				s.approveWaiting("case-t", 3)
				return is(len(s.documents("approved"))+len(s.archived("approved")), 3)
			})
			bustest.Eventually(t, "three answers at the economy system", func() error { return is(len(s.answers()), 3) })
		})
	}
}

// TestCLIsFindTheAllInOne: with neither --nats nor NATS_URL, the operator
// CLIs use the embedded server of the efaktura up on $EFAKTURA_DATA, on
// whatever port it listens; once up has stopped they no longer do.
func TestCLIsFindTheAllInOne(t *testing.T) {
	data := t.TempDir()
	t.Setenv("NATS_URL", "")
	t.Setenv("EFAKTURA_DATA", data)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := upConfig{HTTPAddr: freeAddr(t), DataDir: data}
	go func() {
		done <- up(ctx, c, func(k string) string { return demoTokens[k] }, io.Discard, telemetry.NewLogger(io.Discard, slog.LevelInfo))
	}()
	s := &system{t: t, base: "http://" + c.HTTPAddr}
	bustest.Eventually(t, "the API to answer", s.healthy)

	recorded, err := os.ReadFile(filepath.Join(data, natsURLFile))
	if err != nil || !strings.HasPrefix(string(recorded), "nats://127.0.0.1:") {
		t.Fatalf("%s = %q, %v; want the embedded server's URL", natsURLFile, recorded, err)
	}
	if got := defaultNATSURL(); got != strings.TrimSpace(string(recorded)) {
		t.Errorf("defaultNATSURL() = %q; want the recorded %q", got, recorded)
	}
	for _, args := range [][]string{{"answers", "list", "--json"}, {"dlq", "list"}, {"retention", "--json"}} {
		if code, out, stderr := runCmd(t, nil, args...); code != exitOK {
			t.Errorf("efaktura %s without --nats: exit %d, %s%s", strings.Join(args, " "), code, out, stderr)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("up: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, natsURLFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after up stopped, %s: %v; want it removed", natsURLFile, err)
	}
	if got := defaultNATSURL(); got != nats.DefaultURL {
		t.Errorf("after up stopped, defaultNATSURL() = %q; want %q", got, nats.DefaultURL)
	}
}

// waitAnswersInOrder waits for an answer to each of docs at the economy
// system and checks that they came in the decision order: docs[order[0]]
// first.
func (s *system) waitAnswersInOrder(t *testing.T, docs []docJSON, order []int) {
	t.Helper()
	var got []erpsim.Recorded
	bustest.Eventually(t, fmt.Sprintf("%d answers delivered", len(order)), func() error { got = s.answers(); return is(len(got), len(order)) })
	var gotOrder, wantOrder []string
	for _, a := range got {
		gotOrder = append(gotOrder, a.Answer.ReceiptNo)
	}
	for _, i := range order {
		wantOrder = append(wantOrder, docs[i].ReceiptNo)
	}
	if !slices.Equal(gotOrder, wantOrder) {
		t.Errorf("delivery order = %v, want the decision order %v", gotOrder, wantOrder)
	}
}
