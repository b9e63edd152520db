package erpsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/services/erpsim"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newServer(t *testing.T, cfg erpsim.Config) (*erpsim.Simulator, *httptest.Server) {
	t.Helper()
	if cfg.Secrets == nil {
		cfg.Secrets = map[string]string{"es-1": "s3cret"}
	}
	cfg.Logger = quiet()
	sim := erpsim.New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

func newAnswer(id string) answer.Answer {
	return answer.Answer{AnswerID: id, Kommune: "0101", EconomySystem: "es-1", Decision: "approved", Reasons: []answer.Reason{}, DecidedAt: time.Date(2026, 2, 9, 10, 0, 0, 0, time.UTC)}
}

// request is one POST; each field can be spoiled by a test.
type request struct {
	body        []byte
	secret      string
	key         string
	id          string // webhook-id; default key
	timestamp   string
	signature   string // default: the right one for secret, timestamp and body
	contentType string
}

func signed(a answer.Answer) request {
	body, _ := json.Marshal(a)
	return request{body: body, secret: "s3cret", key: a.AnswerID, timestamp: answer.Timestamp(time.Now()), contentType: "application/json"}
}

// sign is the Standard Webhooks signature of r with its secret (plain, as
// the simulator's configuration gives it).
func sign(t *testing.T, r request) string {
	t.Helper()
	sec, err := strconv.ParseInt(r.timestamp, 10, 64)
	if err != nil {
		sec = 0 // a spoiled timestamp: sign with some other
	}
	id := r.id
	if id == "" {
		id = r.key
	}
	if id == "" {
		id = "no-id"
	}
	sig, err := answer.SignWebhook([]string{answer.SecretFromRaw(r.secret)}, id, time.Unix(sec, 0), r.body)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func post(t *testing.T, srv *httptest.Server, r request) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+erpsim.PathAnswers, bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	sig := r.signature
	if sig == "" {
		sig = sign(t, r)
	}
	id := r.id
	if id == "" {
		id = r.key
	}
	req.Header.Set("Content-Type", r.contentType)
	req.Header.Set(answer.HeaderIdempotencyKey, r.key)
	req.Header.Set(answer.HeaderWebhookID, id)
	req.Header.Set(answer.HeaderWebhookTimestamp, r.timestamp)
	req.Header.Set(answer.HeaderWebhookSignature, sig)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestRecordsEachKeyOnce(t *testing.T) {
	sim, srv := newServer(t, erpsim.Config{})
	for i, want := range []string{"recorded", "duplicate", "duplicate"} {
		status, out := post(t, srv, signed(newAnswer("a-1")))
		if status != http.StatusOK || out["status"] != want {
			t.Fatalf("POST #%d = %d %v, want 200 %s", i+1, status, out, want)
		}
	}
	if status, _ := post(t, srv, signed(newAnswer("a-2"))); status != http.StatusOK {
		t.Fatalf("POST a-2 = %d, want 200", status)
	}
	got := sim.Answers()
	if len(got) != 2 || got[0].IdempotencyKey != "a-1" || got[0].Deliveries != 3 || got[1].IdempotencyKey != "a-2" || got[1].Deliveries != 1 {
		t.Fatalf("Answers = %+v, want a-1 (3 deliveries) then a-2 (1)", got)
	}
	if got[0].Answer.EconomySystem != "es-1" || got[0].ReceivedAt.IsZero() {
		t.Errorf("recorded %+v, want the answer and its arrival time", got[0])
	}

	resp, err := srv.Client().Get(srv.URL + erpsim.PathAnswers)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var listed []erpsim.Recorded
	if err := json.NewDecoder(resp.Body).Decode(&listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 || listed[0].IdempotencyKey != "a-1" || listed[0].Deliveries != 3 || listed[1].Answer.AnswerID != "a-2" {
		t.Errorf("GET %s = %+v, want both answers in arrival order", erpsim.PathAnswers, listed)
	}
	if st := sim.Stats(); st != (erpsim.Stats{Requests: 4, Recorded: 2, Repeats: 2}) {
		t.Errorf("Stats = %+v", st)
	}

	req, _ := http.NewRequest(http.MethodDelete, srv.URL+erpsim.PathAnswers, nil)
	if resp, err := srv.Client().Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE = %v, %v; want 204", resp, err)
	}
	if got := sim.Answers(); len(got) != 0 {
		t.Errorf("after DELETE, %d answers remain", len(got))
	}
}

func TestRefusesWhatItCannotTrust(t *testing.T) {
	good := signed(newAnswer("a-1"))
	for _, tc := range []struct {
		name   string
		spoil  func(*request)
		status int
	}{
		{"wrong secret", func(r *request) { r.secret = "guess" }, http.StatusUnauthorized},
		{"tampered body", func(r *request) {
			r.signature = sign(t, *r)
			r.body = bytes.Replace(r.body, []byte("approved"), []byte("rejected"), 1)
		}, http.StatusUnauthorized},
		{"replayed an hour later", func(r *request) { r.timestamp = answer.Timestamp(time.Now().Add(-time.Hour)) }, http.StatusUnauthorized},
		{"no signature", func(r *request) { r.signature = "none" }, http.StatusUnauthorized},
		{"unknown economy system", func(r *request) {
			a := newAnswer("a-1")
			a.EconomySystem = "es-2"
			r.body, _ = json.Marshal(a)
		}, http.StatusUnauthorized},
		{"signed for another webhook-id", func(r *request) {
			r.signature = sign(t, *r)
			r.id = "a-2"
		}, http.StatusUnauthorized},
		{"no webhook-id", func(r *request) {
			r.signature = sign(t, *r)
			r.id = " "
		}, http.StatusUnauthorized},
		{"webhook-id is not the idempotency key", func(r *request) { r.id = "a-2" }, http.StatusBadRequest},
		{"the old X-Efaktura-Signature scheme", func(r *request) { r.signature = "sha256=" + strings.Repeat("ab", 32) }, http.StatusUnauthorized},
		{"no idempotency key", func(r *request) { r.key = ""; r.id = "a-1" }, http.StatusBadRequest},
		{"key is not the answer id", func(r *request) { r.key = "a-2" }, http.StatusBadRequest},
		{"not JSON", func(r *request) { r.body = []byte("<answer/>") }, http.StatusBadRequest},
		{"wrong content type", func(r *request) { r.contentType = "application/xml" }, http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, srv := newServer(t, erpsim.Config{})
			r := good
			tc.spoil(&r)
			status, out := post(t, srv, r)
			if status != tc.status || out["error"] == "" {
				t.Errorf("POST = %d %v, want %d with an error", status, out, tc.status)
			}
			if got := sim.Answers(); len(got) != 0 {
				t.Errorf("recorded %+v from a refused request", got)
			}
		})
	}
}

func TestInjectedFailuresComeBeforeRecording(t *testing.T) {
	sim, srv := newServer(t, erpsim.Config{FailRatio: 1, RetryAfter: 1500 * time.Millisecond})
	r := signed(newAnswer("a-1"))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+erpsim.PathAnswers, bytes.NewReader(r.body))
	req.Header.Set("Content-Type", r.contentType)
	req.Header.Set(answer.HeaderIdempotencyKey, r.key)
	req.Header.Set(answer.HeaderWebhookID, r.key)
	req.Header.Set(answer.HeaderWebhookTimestamp, r.timestamp)
	req.Header.Set(answer.HeaderWebhookSignature, sign(t, r))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("POST with fail ratio 1 = %d, Retry-After %q; want 503, 2 (seconds, rounded up)", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := sim.Answers(); len(got) != 0 {
		t.Fatalf("a failed request was recorded: %+v", got)
	}
	sim.SetFailRatio(0)
	if status, out := post(t, srv, signed(newAnswer("a-1"))); status != http.StatusOK || out["status"] != "recorded" {
		t.Fatalf("POST after SetFailRatio(0) = %d %v, want 200 recorded", status, out)
	}
	if got := sim.Answers(); len(got) != 1 || got[0].Deliveries != 1 {
		t.Errorf("Answers = %+v, want one with 1 delivery", got)
	}
}

// outcomes posts every key until it is accepted and returns the statuses.
func outcomes(t *testing.T, srv *httptest.Server, keys int) []int {
	var out []int
	for k := range keys {
		for {
			status, _ := post(t, srv, signed(newAnswer(fmt.Sprintf("a-%d", k))))
			out = append(out, status)
			if status == http.StatusOK {
				break
			}
		}
	}
	return out
}

func TestFailRatioIsReproducible(t *testing.T) {
	_, srv1 := newServer(t, erpsim.Config{FailRatio: 0.3, Seed: 40})
	_, srv2 := newServer(t, erpsim.Config{FailRatio: 0.3, Seed: 40})
	a, b := outcomes(t, srv1, 300), outcomes(t, srv2, 300)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("two simulators with the same seed failed different requests")
	}
	failed := 0
	for _, s := range a {
		if s == http.StatusServiceUnavailable {
			failed++
		}
	}
	if share := float64(failed) / float64(len(a)); share < 0.25 || share > 0.35 {
		t.Errorf("%d of %d requests failed (%.2f), want about 0.3", failed, len(a), share)
	}
}

func TestConfigEndpoint(t *testing.T) {
	_, srv := newServer(t, erpsim.Config{})
	put := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+erpsim.PathConfig, strings.NewReader(body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := put(`{"fail_ratio":0.5,"delay":"150ms"}`); status != http.StatusOK || !strings.Contains(body, `"fail_ratio":0.5`) || !strings.Contains(body, `"delay":"150ms"`) {
		t.Fatalf("PUT = %d %s, want 200 with the new settings", status, body)
	}
	for _, bad := range []string{`{"fail_ratio":1.5}`, `{"delay":"soon"}`, `{"delay":"-1s"}`, `{"fail":0.1}`, `not json`} {
		if status, _ := put(bad); status != http.StatusBadRequest {
			t.Errorf("PUT %s = %d, want 400", bad, status)
		}
	}
	resp, err := srv.Client().Get(srv.URL + erpsim.PathConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"fail_ratio":0.5`) || !strings.Contains(string(b), `"stats":`) {
		t.Errorf("GET %s = %s, want the settings and stats", erpsim.PathConfig, b)
	}
	put(`{"fail_ratio":0}`)
	began := time.Now()
	if status, _ := post(t, srv, signed(newAnswer("a-1"))); status != http.StatusOK {
		t.Fatalf("POST = %d, want 200", status)
	}
	if took := time.Since(began); took < 150*time.Millisecond {
		t.Errorf("POST took %v, want the configured delay of 150ms", took)
	}
}

// Rotation: efaktura signs with the old and the new secret while the
// economy system moves; a receiver that knows only the new one verifies.
func TestVerifiesDuringRotation(t *testing.T) {
	oldS, newS := answer.SecretFromRaw("s3cret"), "whsec_"+"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	_, srv := newServer(t, erpsim.Config{Secrets: map[string]string{"es-1": newS}})
	for _, tc := range []struct {
		name    string
		secrets []string
		status  int
	}{
		{"old and new", []string{oldS, newS}, http.StatusOK},
		{"new and old", []string{newS, oldS}, http.StatusOK},
		{"old only", []string{oldS}, http.StatusUnauthorized},
	} {
		r := signed(newAnswer("a-" + strings.ReplaceAll(tc.name, " ", "-")))
		sec, _ := strconv.ParseInt(r.timestamp, 10, 64)
		sig, err := answer.SignWebhook(tc.secrets, r.key, time.Unix(sec, 0), r.body)
		if err != nil {
			t.Fatal(err)
		}
		r.signature = sig
		if status, out := post(t, srv, r); status != tc.status {
			t.Errorf("%s: POST = %d %v, want %d", tc.name, status, out, tc.status)
		}
	}
}
