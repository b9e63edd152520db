package respond_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
	"github.com/kp-efaktura/efaktura/services/erpsim"
	"github.com/kp-efaktura/efaktura/services/respond"
)

const (
	kommune = "0101"
	esID    = "es-1"
	secret  = "s3cret"
)

// env is an embedded JetStream server with a real tenant store, an ERP
// simulator over real HTTP, and respond workers started on it.
type env struct {
	t     *testing.T
	ctx   context.Context
	srv   *server.Server
	js    jetstream.JetStream
	admin *bus.Bus // publishes decisions and, through the store, changes
	store *tenant.Store
	sim   *erpsim.Simulator
	url   string // the simulator's endpoint for answers
	rec   *bustest.Recorder
	// cfg is the workers' configuration; start gives a zero one fast
	// retries.
	cfg respond.Config
	// opts are the buses' options besides subjects and logger, e.g.
	// telemetry.
	opts []bus.Option
	// posts are the times of the requests the simulator got, in order.
	mu    sync.Mutex
	posts []time.Time
}

// postTimes returns the times of the requests the simulator got so far.
func (e *env) postTimes() []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.posts)
}

// busConfig is the workers' bus in these tests: memory storage, fast
// retries of the bus's own, a short lease.
func busConfig(service string) bus.Config {
	return bus.Config{
		Service: service, Subjects: events.StreamSubjects(), Storage: "memory",
		Backoff: []time.Duration{10 * time.Millisecond}, AckWait: 2 * time.Second, Lease: 3 * time.Second, Drain: 5 * time.Second,
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newEnv(t *testing.T, sim erpsim.Config, opts ...bus.Option) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, srv: natstest.Start(t), opts: opts}
	nc := natstest.Connect(t, e.srv)
	var err error
	if e.admin, err = bus.New(ctx, nc, busConfig("admin"), e.busOptions()...); err != nil {
		t.Fatal(err)
	}
	e.js = e.admin.JetStream()
	if e.store, err = tenant.NewStore(ctx, e.js, tenant.StoreConfig{Storage: jetstream.MemoryStorage}, e.admin.Publish); err != nil {
		t.Fatal(err)
	}
	if sim.Secrets == nil {
		sim.Secrets = map[string]string{esID: secret}
	}
	sim.Logger = quiet()
	e.sim = erpsim.New(sim)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			e.mu.Lock()
			e.posts = append(e.posts, time.Now())
			e.mu.Unlock()
		}
		e.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	e.url = hs.URL + erpsim.PathAnswers
	e.rec = bustest.Record(t, e.js, "EFAKTURA", "efaktura.*.answer.>")
	return e
}

// start runs a respond worker, one replica, on its own connection until
// the test ends or stop is called.
func (e *env) start() (stop func() error) {
	e.t.Helper()
	nc := natstest.Connect(e.t, e.srv)
	ctx, cancel := context.WithCancel(e.ctx)
	b, err := bus.New(ctx, nc, busConfig("respond"), e.busOptions()...)
	if err != nil {
		e.t.Fatal(err)
	}
	reg, err := tenant.NewRegistry(ctx, b.JetStream(), tenant.StoreConfig{Storage: jetstream.MemoryStorage})
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := e.cfg
	if cfg == (respond.Config{}) {
		cfg = respond.Config{BackoffInitial: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond}
	}
	d := respond.NewHTTPDeliverer(5*time.Second, respond.WithTracerProvider(b.TracerProvider()))
	w, err := respond.New(ctx, b, reg, d, cfg, respond.WithLogger(quiet()))
	if err != nil {
		e.t.Fatal(err)
	}
	w.Register(ctx)
	stopBus := bustest.Run(e.t, b)
	return func() error { err := stopBus(); cancel(); return err }
}

func (e *env) busOptions() []bus.Option {
	return append([]bus.Option{bus.WithSubjects(events.SubjectOf), bus.WithLogger(quiet())}, e.opts...)
}

// put stores municipality k with both agreements in state, naming es, and
// its economy system at the simulator with the given secret.
func (e *env) put(k string, state tenant.AgreementState, es, withSecret string) {
	e.t.Helper()
	cur, err := e.store.Get(e.ctx, k)
	if err != nil && !errors.Is(err, tenant.ErrNotFound) {
		e.t.Fatal(err)
	}
	t := tenant.Tenant{
		Kommune: k, Name: "Kommune " + k, CVR: "64942212",
		EconomySystem: tenant.EconomySystem{ID: esID, Name: "ERP", Endpoint: e.url, Secret: withSecret},
		Agreements: map[tenant.AgreementName]tenant.Agreement{
			tenant.Forside: {State: state, EconomySystem: es},
			tenant.Bagside: {State: state, EconomySystem: es},
		},
	}
	if _, err := e.store.Put(e.ctx, t, cur.Version); err != nil {
		e.t.Fatal(err)
	}
	for _, name := range tenant.AgreementNames {
		if _, err := e.store.SetAgreement(e.ctx, k, name, state, es); err != nil {
			e.t.Fatal(err)
		}
	}
}

// approve approves both of municipality k's agreements, naming es-1.
func (e *env) approve(k string) {
	e.t.Helper()
	for _, name := range tenant.AgreementNames {
		if _, err := e.store.SetAgreement(e.ctx, k, name, tenant.Approved, esID); err != nil {
			e.t.Fatal(err)
		}
	}
}

// setEndpoint points municipality k's economy system at url.
func (e *env) setEndpoint(k, url string) {
	e.t.Helper()
	cur, err := e.store.Get(e.ctx, k)
	if err != nil {
		e.t.Fatal(err)
	}
	cur.EconomySystem.Endpoint = url
	if _, err := e.store.Put(e.ctx, cur, cur.Version); err != nil {
		e.t.Fatal(err)
	}
}

// decide publishes document.decided for document i of kommune k, decided
// at a fixed time plus i minutes; it returns the answer id.
func (e *env) decide(k string, i int) string {
	e.t.Helper()
	bundle := events.BundleID("sp", "CVR", "12345674", "REF-"+k, 2026)
	doc := events.DocumentID(bundle, i)
	d := events.DocumentDecided{
		DocumentID: doc, BundleID: bundle, Kommune: k, Reference: "REF-" + k,
		Sender: events.Sender{Type: "CVR", ID: "12345674"}, ReceiptNo: fmt.Sprintf("R-%03d", i), DocumentNo: fmt.Sprintf("F-%03d", i),
		DocumentType: events.DocumentInvoice, Decision: events.OutcomeApproved,
		DecidedAt: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute),
		DecidedBy: "cw1", VerdictID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Ruleset: "efaktura-2.1.0/r1",
	}
	ev, err := events.New(events.TypeDocumentDecided, events.SourceDecide, k, doc, []string{doc}, d, d.DecidedAt)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.admin.Publish(e.ctx, ev); err != nil {
		e.t.Fatal(err)
	}
	return ev.ID()
}

// decideMany decides documents from..to of kommune k, in order.
func (e *env) decideMany(k string, from, to int) []string {
	var ids []string
	for i := from; i <= to; i++ {
		ids = append(ids, e.decide(k, i))
	}
	return ids
}

// recorded waits until the simulator has n answers and returns their ids
// in the order it first received them.
func (e *env) recorded(n int) []string {
	e.t.Helper()
	var got []erpsim.Recorded
	bustest.Eventually(e.t, fmt.Sprintf("%d answers at the economy system", n), func() error {
		if got = e.sim.Answers(); len(got) < n {
			return fmt.Errorf("%d recorded", len(got))
		}
		return nil
	})
	if len(got) != n {
		e.t.Fatalf("simulator recorded %d answers, want %d", len(got), n)
	}
	ids := make([]string, n)
	for i, r := range got {
		ids[i] = r.IdempotencyKey
		if r.Deliveries != 1 {
			e.t.Errorf("answer %s was accepted %d times, want once", r.IdempotencyKey, r.Deliveries)
		}
	}
	return ids
}

// queue waits until kommune k's queue is in the given state with waiting
// answers, and so has handled everything that led there.
func (e *env) queue(k string, paused bool, waiting uint64) {
	e.t.Helper()
	bustest.Eventually(e.t, fmt.Sprintf("queue %s paused=%v with %d waiting", k, paused, waiting), func() error {
		qs, err := respond.Queues(e.ctx, e.js, "", "")
		if err != nil {
			return err
		}
		for _, q := range qs {
			if q.Kommune == k {
				if q.Paused != paused || q.Waiting != waiting {
					return fmt.Errorf("%+v", q)
				}
				return nil
			}
		}
		return fmt.Errorf("no queue in %+v", qs)
	})
}

func answerIDs[T any](e *env, typ string, id func(T) string) []string {
	var out []string
	for _, p := range bustest.Payloads[T](e.t, e.rec.Events(typ)) {
		out = append(out, id(p))
	}
	return out
}

func deliveredIDs(e *env) []string {
	return answerIDs(e, events.TypeAnswerDelivered, func(d events.AnswerDelivered) string { return d.AnswerID })
}

func TestAnswersWaitForBothAgreementsThenGoInDecisionOrder(t *testing.T) {
	e := newEnv(t, erpsim.Config{})
	e.put(kommune, tenant.Requested, esID, secret)
	stop := e.start()
	ids := e.decideMany(kommune, 1, 3)
	parked := bustest.Payloads[events.AnswerParked](t, e.rec.Wait(t, events.TypeAnswerParked, 3))
	for i, p := range parked {
		if p.AnswerID != ids[i] || p.Reason != events.ParkAgreementNotApproved {
			t.Errorf("answer.parked %d = %+v, want %s waiting for the agreements", i, p, ids[i])
		}
	}
	e.queue(kommune, true, 3)
	if n := len(e.sim.Answers()); n != 0 {
		t.Fatalf("%d answers sent before the agreements were approved", n)
	}

	// The pause is the server's: a new replica finds the queue paused.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	e.start()
	if _, err := e.store.SetAgreement(e.ctx, kommune, tenant.Forside, tenant.Approved, esID); err != nil {
		t.Fatal(err)
	}
	e.queue(kommune, true, 3) // one agreement is not enough
	if _, err := e.store.SetAgreement(e.ctx, kommune, tenant.Bagside, tenant.Approved, esID); err != nil {
		t.Fatal(err)
	}
	if got := e.recorded(3); !slices.Equal(got, ids) {
		t.Errorf("economy system got %v, want %v in decision order", got, ids)
	}
	e.rec.Wait(t, events.TypeAnswerDelivered, 3)
	if got := deliveredIDs(e); !slices.Equal(got, ids) {
		t.Errorf("answer.delivered for %v, want %v", got, ids)
	}
	e.queue(kommune, false, 0)
}

// The decisions are queued one at a time and a failed one is tried until
// it is queued: dead-lettered, it would be queued behind later ones when
// replayed.
func TestDecisionsAreQueuedOneAtATimeUntilQueued(t *testing.T) {
	e := newEnv(t, erpsim.Config{})
	e.start()
	var c jetstream.Consumer
	bustest.Eventually(t, "respond's consumer of decisions", func() (err error) {
		c, err = e.js.Consumer(e.ctx, "EFAKTURA", "respond-"+respond.HandlerDecided)
		return err
	})
	if cfg := c.CachedInfo().Config; cfg.MaxAckPending != 1 || cfg.MaxDeliver != -1 {
		t.Errorf("consumer %s has MaxAckPending %d, MaxDeliver %d; want 1 and -1 (no limit)", cfg.Durable, cfg.MaxAckPending, cfg.MaxDeliver)
	}
}

func TestMismatchedEconomySystemKeepsAnswersQueued(t *testing.T) {
	e := newEnv(t, erpsim.Config{})
	e.put(kommune, tenant.Approved, "another-erp", secret)
	e.start()
	id := e.decide(kommune, 1)
	p := bustest.Payloads[events.AnswerParked](t, e.rec.Wait(t, events.TypeAnswerParked, 1))[0]
	if p.Reason != events.ParkEconomySystemMismatch || !strings.Contains(p.Detail, "another-erp") {
		t.Errorf("answer.parked = %+v, want economy_system_mismatch naming another-erp", p)
	}
	e.queue(kommune, true, 1)
	e.put(kommune, tenant.Approved, esID, secret)
	if got := e.recorded(1); got[0] != id {
		t.Errorf("economy system got %v, want %s", got, id)
	}
}

// The simulator fails a share of the requests with 503: each answer is
// tried until it is taken, and the queue keeps decision order.
func TestFailingEconomySystemGetsEachAnswerOnceInOrder(t *testing.T) {
	for _, ratio := range []float64{0.3, 0.6} {
		t.Run(fmt.Sprint(ratio), func(t *testing.T) {
			e := newEnv(t, erpsim.Config{FailRatio: ratio, Seed: 2})
			e.put(kommune, tenant.Approved, esID, secret)
			e.start()
			ids := e.decideMany(kommune, 1, 20)
			if got := e.recorded(20); !slices.Equal(got, ids) {
				t.Errorf("economy system got %v, want %v in decision order", got, ids)
			}
			e.rec.Wait(t, events.TypeAnswerDelivered, 20)
			bustest.Settled(t, e.js, respond.DefaultStream, "respond-"+respond.QueueHandler(kommune), 20)
			if got := deliveredIDs(e); !slices.Equal(got, ids) {
				t.Errorf("answer.delivered for %v, want one for each of %v", got, ids)
			}
			failed := bustest.Payloads[events.AnswerFailed](t, e.rec.Events(events.TypeAnswerFailed))
			st := e.sim.Stats()
			if st.Injected == 0 || len(failed) != st.Injected {
				t.Errorf("%d answer.failed for %d injected failures (%+v), want one each", len(failed), st.Injected, st)
			}
			for _, f := range failed {
				if f.Permanent || !strings.Contains(f.Error, "503") {
					t.Errorf("answer.failed %+v, want a transient 503", f)
				}
				if f.NextAttemptAt == nil || !f.NextAttemptAt.After(f.FailedAt) {
					t.Errorf("answer.failed %+v: next_attempt_at %v; want the time of the retry, after failed_at", f, f.NextAttemptAt)
				}
			}
		})
	}
}

// An economy system that cannot be reached (the connection drops before
// any status) is an answer that cannot be taken now: it is tried again
// after the backoff, without a change of the municipality's record, and
// the answers behind it wait, in order.
func TestUnreachableEconomySystemIsTriedAgainWithoutARecordChange(t *testing.T) {
	e := newEnv(t, erpsim.Config{})
	var drops atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if drops.Add(1) <= 3 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close() // no status: a network error
			}
			return
		}
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, e.url, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer flaky.Close()
	e.put(kommune, tenant.Approved, esID, secret)
	e.setEndpoint(kommune, flaky.URL)
	e.start()
	ids := e.decideMany(kommune, 1, 2)
	if got := e.recorded(2); !slices.Equal(got, ids) {
		t.Errorf("economy system got %v, want %v in decision order", got, ids)
	}
	for _, f := range bustest.Payloads[events.AnswerFailed](t, e.rec.Wait(t, events.TypeAnswerFailed, 3)) {
		if f.Permanent || f.AnswerID != ids[0] {
			t.Errorf("answer.failed %+v, want a transient failure of %s", f, ids[0])
		}
	}
	e.queue(kommune, false, 0)
}

// An answer the economy system refuses for itself (422) is dead-lettered
// and the answers behind it go on; a replay of the dead letter sends it.
func TestAnswerRefusedForItselfIsDeadLetteredAndReplayed(t *testing.T) {
	e := newEnv(t, erpsim.Config{})
	var (
		fixed  atomic.Bool
		refuse atomic.Value // the answer id to refuse
	)
	refuse.Store("no answer yet")
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !fixed.Load() && bytes.Contains(body, []byte(refuse.Load().(string))) {
			http.Error(w, "unknown RECEIPT_NO", http.StatusUnprocessableEntity)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, e.url, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	e.put(kommune, tenant.Requested, esID, secret)
	e.setEndpoint(kommune, proxy.URL)
	e.start()
	ids := e.decideMany(kommune, 1, 3)
	refuse.Store(ids[0])
	e.queue(kommune, true, 3)
	e.approve(kommune)
	if got := e.recorded(2); !slices.Equal(got, ids[1:]) {
		t.Errorf("economy system got %v, want the answers behind the refused one, %v", got, ids[1:])
	}
	f := bustest.Payloads[events.AnswerFailed](t, e.rec.Wait(t, events.TypeAnswerFailed, 1))[0]
	if f.AnswerID != ids[0] || !f.Permanent || !strings.Contains(f.Error, "422") {
		t.Errorf("answer.failed = %+v, want a permanent 422 for %s", f, ids[0])
	}
	dlq := bus.OpenDeadLetters(e.js, busConfig("respond"))
	letters, err := dlq.List(e.ctx, "respond", 10)
	if err != nil || len(letters) != 1 || letters[0].Consumer != "respond-answers-0101" || letters[0].Event.ID() != events.ID(events.TypeAnswerQueued, ids[0]) {
		t.Fatalf("dead letters = %+v, %v; want the queued answer %s", letters, err, ids[0])
	}

	fixed.Store(true)
	if err := dlq.Replay(e.ctx, letters[0].Seq); err != nil {
		t.Fatal(err)
	}
	if got := e.recorded(3); got[2] != ids[0] {
		t.Errorf("economy system got %v, want the replayed %s last", got, ids[0])
	}
}

// 401 says the economy system refuses efaktura itself: every answer would
// fail alike, so the queue pauses, in order, until the municipality's
// record changes.
func TestEconomySystemRefusingEfakturaHoldsTheQueueUntilItsRecordChanges(t *testing.T) {
	e := newEnv(t, erpsim.Config{})
	e.put(kommune, tenant.Approved, esID, "a stale secret")
	e.start()
	ids := e.decideMany(kommune, 1, 2)
	f := bustest.Payloads[events.AnswerFailed](t, e.rec.Wait(t, events.TypeAnswerFailed, 1))[0]
	if f.AnswerID != ids[0] || !f.Permanent || !strings.Contains(f.Error, "401") {
		t.Errorf("answer.failed = %+v, want a permanent 401 for %s", f, ids[0])
	}
	// The second answer is never tried while the first waits.
	e.queue(kommune, true, 2)
	if st := e.sim.Stats(); st.Refused == 0 || st.Recorded != 0 {
		t.Errorf("simulator %+v, want refused requests and nothing recorded", st)
	}
	refusals := e.sim.Stats().Refused

	e.put(kommune, tenant.Approved, esID, secret)
	if got := e.recorded(2); !slices.Equal(got, ids) {
		t.Errorf("economy system got %v, want %v", got, ids)
	}
	d := bustest.Payloads[events.AnswerDelivered](t, e.rec.Wait(t, events.TypeAnswerDelivered, 2))
	// Attempts are JetStream's deliveries, which a delivery handed back
	// unhandled (a replica restarting its fetching) counts too.
	if d[0].Attempts <= refusals || d[1].Attempts < 1 {
		t.Errorf("answer.delivered attempts %d, %d; want more than %d (the refusals) and at least 1", d[0].Attempts, d[1].Attempts, refusals)
	}
}

// An agreement no longer approved parks the answers decided after it;
// nothing delivered before is touched.
// Withdrawing an approved agreement parks new answers again; what was
// delivered stays delivered, once (recorded checks every answer was
// accepted once), and nothing is sent again when the agreement is
// requested and approved anew: only the parked answer goes.
func TestAgreementNoLongerApprovedParksNewAnswers(t *testing.T) {
	e := newEnv(t, erpsim.Config{})
	e.put(kommune, tenant.Approved, esID, secret)
	e.start()
	first := e.decide(kommune, 1)
	e.recorded(1)
	if _, err := e.store.SetAgreement(e.ctx, kommune, tenant.Bagside, tenant.Withdrawn, esID); err != nil {
		t.Fatal(err)
	}
	e.queue(kommune, true, 0)
	second := e.decide(kommune, 2)
	e.queue(kommune, true, 1)
	p := bustest.Payloads[events.AnswerParked](t, e.rec.Wait(t, events.TypeAnswerParked, 1))[0]
	if p.AnswerID != second {
		t.Errorf("answer.parked for %s, want %s", p.AnswerID, second)
	}
	if got := deliveredIDs(e); !slices.Equal(got, []string{first}) {
		t.Errorf("answer.delivered for %v after the withdrawal, want only %s", got, first)
	}
	for _, s := range []tenant.AgreementState{tenant.Requested, tenant.Approved} {
		if _, err := e.store.SetAgreement(e.ctx, kommune, tenant.Bagside, s, esID); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.recorded(2); !slices.Equal(got, []string{first, second}) {
		t.Errorf("economy system got %v, want %s then %s", got, first, second)
	}
}

// Two replicas share every queue: each answer goes once, in decision
// order per municipality, also for a municipality added while they run,
// and one replica alone carries on when the other stops.
func TestReplicasShareTheQueues(t *testing.T) {
	e := newEnv(t, erpsim.Config{})
	e.put(kommune, tenant.Approved, esID, secret)
	stopA := e.start()
	e.start()
	const added = "0202"
	e.put(added, tenant.Approved, esID, secret)
	var ids0101, ids0202 []string
	for i := 1; i <= 15; i++ {
		ids0101 = append(ids0101, e.decide(kommune, i))
		ids0202 = append(ids0202, e.decide(added, i))
	}
	got := e.recorded(30)
	if g := filter(got, ids0101); !slices.Equal(g, ids0101) {
		t.Errorf("%s's answers arrived as %v, want %v", kommune, g, ids0101)
	}
	if g := filter(got, ids0202); !slices.Equal(g, ids0202) {
		t.Errorf("%s's answers arrived as %v, want %v", added, g, ids0202)
	}
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	more := e.decideMany(added, 16, 20)
	if got := e.recorded(35); !slices.Equal(got[30:], more) {
		t.Errorf("after one replica stopped, the economy system got %v, want %v", got[30:], more)
	}
}

// filter keeps the ids of want found in got, in got's order.
func filter(got, want []string) []string {
	var out []string
	for _, id := range got {
		if slices.Contains(want, id) {
			out = append(out, id)
		}
	}
	return out
}

func TestNewRejectsBadConfig(t *testing.T) {
	e := newEnv(t, erpsim.Config{})
	reg, err := tenant.NewRegistry(e.ctx, e.js, tenant.StoreConfig{Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	d := respond.NewHTTPDeliverer(0)
	for _, tc := range []struct {
		name string
		cfg  respond.Config
	}{
		{"negative backoff", respond.Config{BackoffInitial: -time.Second}},
		{"longest pause below the first", respond.Config{BackoffInitial: time.Minute, BackoffMax: time.Second}},
		{"negative retry-after maximum", respond.Config{RetryAfterMax: -time.Second}},
	} {
		if _, err := respond.New(e.ctx, e.admin, reg, d, tc.cfg); !errors.Is(err, respond.ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", tc.name, err)
		}
	}
	if _, err := respond.New(e.ctx, e.admin, nil, d, respond.Config{}); !errors.Is(err, respond.ErrConfig) {
		t.Errorf("New without tenants = %v, want ErrConfig", err)
	}
}

// The admin API counts parked answers with tenant.AnswerQueues, which
// repeats respond's names because pkg cannot import respond: it must read
// what Queues reads.
func TestAdminAPIParkedAnswersAgreeWithQueues(t *testing.T) {
	e := newEnv(t, erpsim.Config{})
	e.put(kommune, tenant.Requested, esID, secret)
	e.put("0202", tenant.Approved, esID, secret)
	e.start()
	e.decideMany(kommune, 1, 3)
	e.queue(kommune, true, 3)
	e.decide("0202", 1)
	e.recorded(1)
	if tenant.AnswerStream != respond.DefaultStream || tenant.AnswerQueuePrefix != "respond-"+respond.QueueHandler("") {
		t.Fatalf("tenant names the queues %s %s*, respond %s respond-%s*", tenant.AnswerStream, tenant.AnswerQueuePrefix, respond.DefaultStream, respond.QueueHandler(""))
	}
	qs, err := respond.Queues(e.ctx, e.js, "", "")
	if err != nil {
		t.Fatal(err)
	}
	parked, err := tenant.AnswerQueues{JS: e.js}.Parked(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		p, ok := parked[q.Kommune]
		switch {
		case q.Paused && (!ok || p.Answers != q.Waiting || !p.OldestAt.Equal(q.HeadQueuedAt)):
			t.Errorf("queue %+v, admin API's parked answers %+v", q, p)
		case !q.Paused && ok:
			t.Errorf("queue %+v is not paused, the admin API counts %+v parked", q, p)
		}
	}
	if p := parked[kommune]; p.Answers != 3 {
		t.Errorf("parked of %s = %+v, want 3", kommune, p)
	}
}
