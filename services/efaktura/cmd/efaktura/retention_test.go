package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/redistest"
)

// TestRetentionReport runs efaktura retention against a running system: it
// lists the stores a document passes through, with what each keeps, and
// counts what goes within the horizon.
func TestRetentionReport(t *testing.T) {
	s := startUp(t, false)
	if code, body := s.post("valid-bundle-3-documents.xml"); code != 202 {
		t.Fatalf("POST bundle: %d %s", code, body)
	}
	bustest.Eventually(t, "three documents awaiting a verdict", func() error { return is(len(s.documents("awaiting_verdict")), 3) })

	// 92 days: past the raw documents' 90 and the events' 30.
	code, out, stderr := runCmd(t, nil, "retention", "--dry-run", "--nats", s.natsURL, "--within", "2208h", "--json")
	if code != exitOK {
		t.Fatalf("retention: exit %d, %s", code, stderr)
	}
	stores := map[string]storeRetention{}
	for line := range strings.Lines(out) {
		var sr storeRetention
		if err := json.Unmarshal([]byte(line), &sr); err != nil {
			t.Fatalf("retention --json line %q: %v", line, err)
		}
		stores[sr.Store] = sr
	}
	raw, ok := stores["EFAKTURA_BUNDLES"]
	if !ok || raw.Items != 3 || raw.Going == nil || *raw.Going != 3 || !strings.Contains(raw.Kept, "TTL") {
		t.Errorf("raw documents = %+v; want 3 kept by TTL, all going within 92 days", raw)
	}
	ev, ok := stores["EFAKTURA"]
	if !ok || ev.Items == 0 || ev.Going == nil || *ev.Going != ev.Items {
		t.Errorf("events = %+v; want every one going within 92 days", ev)
	}
	for _, name := range []string{"EFAKTURA_ANSWERS", "KV_EFAKTURA_documents", "KV_EFAKTURA_archive", "EFAKTURA_ARCHIVE", "KV_EFAKTURA_tenants"} {
		if _, ok := stores[name]; !ok {
			t.Errorf("no %s in the report: %v", name, out)
		}
	}
	// Within a day nothing of a fresh system goes.
	code, out, _ = runCmd(t, nil, "retention", "--nats", s.natsURL, "--json")
	if code != exitOK || strings.Contains(out, `"going":1`) || strings.Contains(out, `"going":3`) {
		t.Errorf("retention within a day: exit %d, %s; want nothing going", code, out)
	}
}

// TestNoCPRSurvivesRetention takes an invoice with a CPR number
// (FINAL_CUSTOMER 0101001234) through the whole system, approved and
// answered, with a raw-document retention of seconds. While it is open the
// number is where it must be, in the raw document; once the retention has
// run out it is nowhere: no message of any stream (events, dead letters,
// answer queues, raw documents, the archive, every KV bucket), no key or
// value in Redis, in clear or base64.
func TestNoCPRSurvivesRetention(t *testing.T) {
	const cpr = "0101001234"
	redisURL := redistest.Start(t).URL()
	s := startUpConfig(t, upConfig{HTTPAddr: freeAddr(t), DataDir: t.TempDir()},
		map[string]string{"INGEST_RAW_RETENTION": "5s", "REDIS_URL": redisURL})
	if code, body := s.post("valid-invoice.xml"); code != 202 {
		t.Fatalf("POST invoice: %d %s", code, body)
	}
	var waiting []docJSON
	bustest.Eventually(t, "the invoice awaiting a verdict", func() error { waiting = s.documents("awaiting_verdict"); return is(len(waiting), 1) })
	// The scan finds the number where it is, or it proves nothing.
	if where := cprIn(t, s.jetStream(), redisURL, cpr); !slices.ContainsFunc(where, func(w string) bool { return strings.HasPrefix(w, "EFAKTURA_BUNDLES") }) {
		t.Fatalf("CPR number found in %v before the retention ran out; want it in the raw document", where)
	}
	if code, body := s.verdict(waiting[0].ID, `{"decision":"approve"}`); code != 200 {
		t.Fatalf("verdict: %d %s", code, body)
	}
	bustest.Eventually(t, "the invoice answered and archived", func() error { return is(len(s.archived("approved")), 1) })
	bustest.Eventually(t, "the raw document expired", func() error {
		st, err := s.jetStream().Stream(t.Context(), "EFAKTURA_BUNDLES")
		if err != nil {
			return err
		}
		info, err := st.Info(t.Context())
		if err != nil {
			return err
		}
		return is(int(info.State.Msgs), 0)
	})
	if where := cprIn(t, s.jetStream(), redisURL, cpr); len(where) > 0 {
		t.Errorf("CPR number %s survives the retention in %v", cpr, where)
	}
}

// cprIn returns where number stands in clear, with a dash (ddmmyy-xxxx) or
// in base64: each stream's messages, headers and data, and Redis's keys and
// values.
func cprIn(t *testing.T, js jetstream.JetStream, redisURL, number string) []string {
	t.Helper()
	needles := [][]byte{[]byte(number), []byte(number[:6] + "-" + number[6:])}
	// base64 of the number at each of the three alignments, without the
	// characters its neighbours change.
	for pad := range 3 {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", pad) + number))
		needles = append(needles, []byte(enc[4:len(enc)-4]))
	}
	holds := func(b []byte) bool {
		return slices.ContainsFunc(needles, func(n []byte) bool { return bytes.Contains(b, n) })
	}
	var where []string
	ctx := t.Context()
	streams := js.ListStreams(ctx)
	for info := range streams.Info() {
		if info.State.Msgs == 0 {
			continue
		}
		c, err := js.OrderedConsumer(ctx, info.Config.Name, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for read := uint64(0); read < info.State.Msgs; {
			batch, err := c.Fetch(int(min(info.State.Msgs-read, 500)), jetstream.FetchMaxWait(2*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for m := range batch.Messages() {
				n++
				var hdr bytes.Buffer
				for k, vs := range m.Headers() {
					hdr.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
				}
				if holds(m.Data()) || holds(hdr.Bytes()) || holds([]byte(m.Subject())) {
					where = append(where, info.Config.Name+" "+m.Subject())
				}
			}
			if n == 0 {
				break // expired while read
			}
			read += uint64(n)
		}
	}
	if err := streams.Err(); err != nil {
		t.Fatal(err)
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	iter := rc.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		val, _ := rc.Get(ctx, key).Bytes() // not a string key: nothing to read
		if holds([]byte(key)) || holds(val) {
			where = append(where, "redis "+key)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return where
}
