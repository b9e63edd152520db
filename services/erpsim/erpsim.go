package erpsim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/answer"
)

// Paths the simulator serves.
const (
	PathAnswers = "/erp-sim/answers"
	PathConfig  = "/erp-sim/config"
)

// maxBody bounds a request body; an answer is a few hundred bytes.
const maxBody = 1 << 20

// Config sets a simulator up. The zero value accepts nothing: every answer
// names an economy system, and only those in Secrets are known.
type Config struct {
	// Secrets maps an economy system's id to the signing secret it knows:
	// in the Standard Webhooks form "whsec_<base64>", or plain text, whose
	// bytes are the key (answer.SecretFromRaw), as efaktura maps a plain
	// secret. An answer for an id not listed is refused with 401. It knows
	// one secret per economy system, as a receiver does: during a rotation
	// efaktura signs with the old and the new secret, and either verifies.
	Secrets map[string]string
	// FailRatio is the share of requests, 0 to 1, answered 503 before
	// anything is recorded; default 0.
	FailRatio float64
	// Delay is how long each request waits before it is answered; default
	// none.
	Delay time.Duration
	// RetryAfter, rounded up to whole seconds, is sent as the Retry-After
	// header of each injected 503; default none.
	RetryAfter time.Duration
	// Seed makes the failures reproducible: whether the n-th request with
	// a given Idempotency-Key fails depends only on Seed, the key and n, so
	// a test's outcome does not depend on how concurrent requests
	// interleave.
	Seed int64
	// Tolerance is how far a signature's timestamp may lie from the
	// simulator's clock; default answer.DefaultTolerance.
	Tolerance time.Duration
	// Logger logs each refused or failed request; default slog.Default().
	Logger *slog.Logger
}

// Recorded is an answer the simulator accepted.
type Recorded struct {
	// IdempotencyKey is the request's Idempotency-Key, the answer id.
	IdempotencyKey string `json:"idempotency_key"`
	// Answer is the answer as received.
	Answer answer.Answer `json:"answer"`
	// ReceivedAt is when it was first recorded.
	ReceivedAt time.Time `json:"received_at"`
	// Deliveries counts the accepted requests with this key: 1, or more
	// when the sender repeated the answer.
	Deliveries int `json:"deliveries"`
}

// Stats count the POSTs the simulator has answered since it started or was
// reset.
type Stats struct {
	Requests int `json:"requests"` // every POST
	Recorded int `json:"recorded"` // 200, first time for the key
	Repeats  int `json:"repeats"`  // 200, key seen before
	Injected int `json:"injected"` // 503, injected failure
	Refused  int `json:"refused"`  // 4xx: bad body, key, signature or economy system
}

// Settings are the simulator's adjustable behaviour, as GET and PUT
// /erp-sim/config show and take them.
type Settings struct {
	// FailRatio is the share of requests answered 503, 0 to 1.
	FailRatio float64 `json:"fail_ratio"`
	// Delay is a Go duration, e.g. "250ms".
	Delay string `json:"delay"`
}

// Simulator is a municipality's economy system for tests and demos: it
// receives answers, verifies their signatures and records each once per
// Idempotency-Key. It is an http.Handler serving
//
//	POST   /erp-sim/answers  receive an answer (see package respond's HTTPDeliverer)
//	GET    /erp-sim/answers  the recorded answers in arrival order, JSON
//	DELETE /erp-sim/answers  forget them
//	GET    /erp-sim/config   the current Settings and Stats
//	PUT    /erp-sim/config   change FailRatio and Delay, e.g.
//	                         {"fail_ratio":0.3,"delay":"200ms"}
//
// A POST gets 415 without a JSON body, 400 for an answer that does not
// decode or whose Idempotency-Key or webhook-id is missing or not its
// answer_id, 401 for an unknown economy system, a Standard Webhooks
// signature that does not verify (answer.VerifyWebhook) or a stale
// webhook-timestamp, 503 for
// an injected failure, and 200 {"status":"recorded"} (or
// {"status":"duplicate"} for a repeated key) otherwise.
//
// It is safe for concurrent use.
type Simulator struct {
	mux        *http.ServeMux
	secrets    map[string]string
	seed       int64
	tolerance  time.Duration
	retryAfter string // the header's value, "" for none
	log        *slog.Logger

	mu        sync.Mutex
	failRatio float64
	delay     time.Duration
	requests  map[string]int // per Idempotency-Key, every request that got past verification
	stats     Stats
	index     map[string]int // key -> position in answers
	answers   []Recorded
}

var _ http.Handler = (*Simulator)(nil)

// New returns a simulator with cfg.
func New(cfg Config) *Simulator {
	s := &Simulator{
		mux:       http.NewServeMux(),
		secrets:   make(map[string]string, len(cfg.Secrets)),
		seed:      cfg.Seed,
		tolerance: cfg.Tolerance,
		log:       cfg.Logger,
		failRatio: clamp(cfg.FailRatio),
		delay:     max(0, cfg.Delay),
		requests:  make(map[string]int),
		index:     make(map[string]int),
	}
	for id, secret := range cfg.Secrets {
		s.secrets[id] = answer.SecretFromRaw(secret)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.RetryAfter > 0 {
		s.retryAfter = strconv.FormatInt(int64((cfg.RetryAfter+time.Second-1)/time.Second), 10)
	}
	s.mux.HandleFunc("POST "+PathAnswers, s.receive)
	s.mux.HandleFunc("GET "+PathAnswers, s.list)
	s.mux.HandleFunc("DELETE "+PathAnswers, s.reset)
	s.mux.HandleFunc("GET "+PathConfig, s.getConfig)
	s.mux.HandleFunc("PUT "+PathConfig, s.putConfig)
	return s
}

// ServeHTTP serves the simulator's endpoints.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Answers returns the recorded answers in arrival order (a copy).
func (s *Simulator) Answers() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Recorded, len(s.answers))
	copy(out, s.answers)
	for i := range out {
		out[i].Answer.Reasons = append([]answer.Reason(nil), out[i].Answer.Reasons...)
	}
	return out
}

// SetFailRatio sets the share of requests answered 503, clamped to 0..1.
func (s *Simulator) SetFailRatio(r float64) {
	s.mu.Lock()
	s.failRatio = clamp(r)
	s.mu.Unlock()
}

// SetDelay sets how long each request waits before it is answered.
func (s *Simulator) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = max(0, d)
	s.mu.Unlock()
}

// Stats returns the request counts.
func (s *Simulator) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Reset forgets every recorded answer and request count.
func (s *Simulator) Reset() {
	s.mu.Lock()
	s.answers, s.index, s.requests, s.stats = nil, make(map[string]int), make(map[string]int), Stats{}
	s.mu.Unlock()
}

func clamp(r float64) float64 {
	if r != r || r < 0 { // NaN or negative
		return 0
	}
	return min(r, 1)
}

func (s *Simulator) receive(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delay := s.delay
	s.stats.Requests++
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.refuse(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxBody))
			return
		}
		s.refuse(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	var a answer.Answer
	if err := json.Unmarshal(body, &a); err != nil {
		s.refuse(w, http.StatusBadRequest, "body is not an answer: "+err.Error())
		return
	}
	secret, known := s.secrets[a.EconomySystem]
	if !known {
		s.refuse(w, http.StatusUnauthorized, fmt.Sprintf("unknown economy system %q", a.EconomySystem))
		return
	}
	if err := answer.VerifyWebhook([]string{secret}, r.Header, body, time.Now(), s.tolerance); err != nil {
		s.refuse(w, http.StatusUnauthorized, err.Error())
		return
	}
	key := r.Header.Get(answer.HeaderIdempotencyKey)
	if key == "" || key != a.AnswerID || r.Header.Get(answer.HeaderWebhookID) != key {
		s.refuse(w, http.StatusBadRequest, fmt.Sprintf("%s %q and %s %q must be the answer_id %q",
			answer.HeaderIdempotencyKey, key, answer.HeaderWebhookID, r.Header.Get(answer.HeaderWebhookID), a.AnswerID))
		return
	}

	s.mu.Lock()
	s.requests[key]++
	fail := s.fails(key, s.requests[key])
	status := "duplicate"
	switch i, seen := s.index[key]; {
	case fail:
		s.stats.Injected++
	case seen:
		s.answers[i].Deliveries++
		s.stats.Repeats++
	default:
		status = "recorded"
		s.stats.Recorded++
		s.index[key] = len(s.answers)
		s.answers = append(s.answers, Recorded{IdempotencyKey: key, Answer: a, ReceivedAt: time.Now().UTC(), Deliveries: 1})
	}
	s.mu.Unlock()
	if fail {
		if s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		s.refuse(w, http.StatusServiceUnavailable, "injected failure")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": status})
}

// fails decides whether the n-th request with key fails: a hash of the
// seed, the key and n, read as a number in [0, 1), below the fail ratio.
// s.mu must be held.
func (s *Simulator) fails(key string, n int) bool {
	if s.failRatio <= 0 {
		return false
	}
	if s.failRatio >= 1 {
		return true
	}
	h := sha256.New()
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(s.seed))
	h.Write(buf[:])
	h.Write([]byte(key))
	binary.BigEndian.PutUint64(buf[:], uint64(n))
	h.Write(buf[:])
	u := float64(binary.BigEndian.Uint64(h.Sum(nil)[:8])>>11) / (1 << 53)
	return u < s.failRatio
}

func (s *Simulator) list(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Answers())
}

func (s *Simulator) reset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Simulator) settings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Settings{FailRatio: s.failRatio, Delay: s.delay.String()}
}

func (s *Simulator) getConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Settings
		Stats Stats `json:"stats"`
	}{s.settings(), s.Stats()})
}

func (s *Simulator) putConfig(w http.ResponseWriter, r *http.Request) {
	var in struct {
		FailRatio *float64 `json:"fail_ratio"`
		Delay     *string  `json:"delay"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		s.refuse(w, http.StatusBadRequest, `expected {"fail_ratio": 0..1, "delay": "250ms"}: `+err.Error())
		return
	}
	if in.FailRatio != nil && (*in.FailRatio < 0 || *in.FailRatio > 1) {
		s.refuse(w, http.StatusBadRequest, "fail_ratio must lie between 0 and 1, got "+strconv.FormatFloat(*in.FailRatio, 'g', -1, 64))
		return
	}
	var delay time.Duration
	if in.Delay != nil {
		d, err := time.ParseDuration(*in.Delay)
		if err != nil || d < 0 {
			s.refuse(w, http.StatusBadRequest, fmt.Sprintf("delay %q is not a non-negative Go duration such as 250ms", *in.Delay))
			return
		}
		delay = d
	}
	if in.FailRatio != nil {
		s.SetFailRatio(*in.FailRatio)
	}
	if in.Delay != nil {
		s.SetDelay(delay)
	}
	writeJSON(w, http.StatusOK, s.settings())
}

// refuse answers with an error; the message never quotes the body.
func (s *Simulator) refuse(w http.ResponseWriter, status int, msg string) {
	if status != http.StatusServiceUnavailable {
		s.mu.Lock()
		s.stats.Refused++
		s.mu.Unlock()
		s.log.Info("erpsim refused a request", "status", status, "reason", msg)
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
