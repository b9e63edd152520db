package tenant

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
)

// Readiness is one municipality's row of GET /v1/agreements (issue 15):
// where its two service agreements stand, whether answers can reach its
// economy system, and how many wait until they can.
type Readiness struct {
	Kommune string        `json:"kommune"`
	Name    string        `json:"name"`
	Forside AgreementView `json:"forside"`
	Bagside AgreementView `json:"bagside"`
	// Ready: both agreements approved, both naming the municipality's own
	// economy system ([Tenant.AnswersAllowed]).
	Ready bool `json:"ready"`
	// Mismatch: an agreement names another economy system than the
	// municipality's, whatever its state.
	Mismatch bool `json:"mismatch"`
	// EconomySystem is the municipality's own.
	EconomySystem string `json:"economy_system"`
	// ParkedAnswers wait in the municipality's paused answer queue;
	// OldestParkedAt is when the oldest of them was queued (absent when
	// none waits).
	ParkedAnswers  uint64     `json:"parked_answers"`
	OldestParkedAt *time.Time `json:"oldest_parked_at"`
	// Deadline is the rollout's date by which both agreements must be
	// approved (YYYY-MM-DD); absent when none is configured.
	Deadline string `json:"deadline,omitempty"`
}

// AgreementView is one agreement in a [Readiness] row. State is "missing"
// for an agreement not recorded.
type AgreementView struct {
	State         AgreementState `json:"state"`
	EconomySystem string         `json:"economy_system"`
	ChangedAt     *time.Time     `json:"changed_at"`
	ChangedBy     string         `json:"changed_by"`
}

// Missing is the [AgreementView] state of an agreement not recorded.
const Missing AgreementState = "missing"

// ReadinessOf returns t's row without the parked answers and the deadline.
func ReadinessOf(t Tenant) Readiness {
	r := Readiness{Kommune: t.Kommune, Name: t.Name, EconomySystem: t.EconomySystem.ID}
	r.Ready, _, _ = t.AnswersAllowed()
	for _, name := range AgreementNames {
		v := AgreementView{State: Missing}
		if a, ok := t.Agreements[name]; ok {
			v = AgreementView{State: a.State, EconomySystem: a.EconomySystem, ChangedBy: a.ChangedBy}
			if !a.UpdatedAt.IsZero() {
				at := a.UpdatedAt.UTC()
				v.ChangedAt = &at
			}
			if a.EconomySystem != t.EconomySystem.ID {
				r.Mismatch = true
			}
		}
		if name == Forside {
			r.Forside = v
		} else {
			r.Bagside = v
		}
	}
	return r
}

// Parked is what a municipality's answer queue holds back.
type Parked struct {
	Answers  uint64
	OldestAt time.Time // zero when none waits
}

// ParkedAnswers reads how many answers each municipality's queue holds
// back. [AnswerQueues] reads them from respond's queues in JetStream.
type ParkedAnswers interface {
	// Parked returns the parked answers of every municipality with any,
	// by kommune code.
	Parked(ctx context.Context) (map[string]Parked, error)
}

// Names of respond's answer queues, which [AnswerQueues] reads. They are
// services/respond's (DefaultStream, and the consumer
// "respond-answers-<kommune>" of its handler QueueHandler): pkg cannot
// import the services, and respond's tests check that AnswerQueues agrees
// with respond.Queues.
const (
	AnswerStream        = "EFAKTURA_ANSWERS"
	AnswerQueuePrefix   = "respond-answers-"
	answerQueuesListCap = 1000 // consumers read per request, bounded anyway
)

// AnswerQueues reads parked answers from respond's queues in JetStream: a
// queue's answers are parked while its consumer is paused, as respond's
// efaktura_answers_parked counts them.
//
// Cost per call: one stream lookup, one consumer listing (JetStream pages
// it by 256 consumers: one request for 98 municipalities) and one message
// read per municipality that has parked answers, for the oldest one's
// time: at most 2 + 98 small requests at 98 municipalities, whatever the
// number of answers. Reading needs the NATS permissions
// $JS.API.STREAM.INFO, $JS.API.CONSUMER.LIST and $JS.API.STREAM.MSG.GET of
// the stream (pkg/natsauth gives them to decide, which serves the admin
// API).
type AnswerQueues struct {
	JS jetstream.JetStream
	// Stream of the queued answers; default [AnswerStream].
	Stream string
}

// Parked implements [ParkedAnswers]. Without the stream (respond never
// ran) nothing is parked.
func (q AnswerQueues) Parked(ctx context.Context) (map[string]Parked, error) {
	stream := q.Stream
	if stream == "" {
		stream = AnswerStream
	}
	s, err := q.JS.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return map[string]Parked{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tenant: answer stream %s: %w", stream, err)
	}
	out := map[string]Parked{}
	lister := s.ListConsumers(ctx)
	n := 0
	for info := range lister.Info() {
		if n++; n > answerQueuesListCap {
			break
		}
		kommune, ok := strings.CutPrefix(info.Name, AnswerQueuePrefix)
		if !ok || !events.ValidKommune(kommune) || !info.Paused {
			continue
		}
		p := Parked{Answers: info.NumPending + uint64(info.NumAckPending)}
		if p.Answers == 0 {
			continue
		}
		subject, _ := events.Subject(kommune, events.TypeAnswerQueued)
		head, err := s.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(subject))
		switch {
		case err == nil:
			p.OldestAt = head.Time.UTC()
		case !errors.Is(err, jetstream.ErrMsgNotFound): // sent meanwhile
			return nil, fmt.Errorf("tenant: head of %s's answer queue: %w", kommune, err)
		}
		out[kommune] = p
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("tenant: list answer queues: %w", err)
	}
	return out, nil
}

// readinessCSVHeader are the columns of the CSV export, in order.
var readinessCSVHeader = []string{"kommune", "name", "ready", "mismatch", "economy_system",
	"forside_state", "forside_economy_system", "forside_changed_at", "forside_changed_by",
	"bagside_state", "bagside_economy_system", "bagside_changed_at", "bagside_changed_by",
	"parked_answers", "oldest_parked_at", "deadline"}

// WriteReadinessCSV writes rows as CSV (RFC 4180, UTF-8, a header row),
// the columns of [Readiness] flattened, times in RFC 3339 UTC: what
// efaktura agreement status --csv prints and the desk's export downloads.
func WriteReadinessCSV(w io.Writer, rows []Readiness) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(readinessCSVHeader); err != nil {
		return err
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, r := range rows {
		rec := []string{r.Kommune, cell(r.Name), strconv.FormatBool(r.Ready), strconv.FormatBool(r.Mismatch), cell(r.EconomySystem)}
		for _, a := range []AgreementView{r.Forside, r.Bagside} {
			rec = append(rec, string(a.State), cell(a.EconomySystem), ts(a.ChangedAt), cell(a.ChangedBy))
		}
		rec = append(rec, strconv.FormatUint(r.ParkedAnswers, 10), ts(r.OldestParkedAt), r.Deadline)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a text from being read as a formula when the CSV is opened in
// a spreadsheet (OWASP's CSV injection): one that starts with =, +, -, @,
// a tab or a carriage return gets a leading apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
