package respond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
)

// Parked is an answer held because the municipality's service agreements
// do not allow it to be sent yet, or because older answers of the same
// municipality are still held (a new answer never overtakes them). It is
// the JSON value of its key in the parking bucket.
type Parked struct {
	// Key is the answer's key in the bucket (see [ParkKey]); not stored in
	// the value.
	Key string `json:"-"`
	// Answer is the answer as built when it was parked. Its economy system
	// is set again from the municipality's record when it is sent.
	Answer Answer `json:"answer"`
	// Reason and Detail say why it is held, as the last answer.parked
	// event for it said.
	Reason events.ParkReason `json:"reason"`
	Detail string            `json:"detail,omitempty"`
	// ParkedAt is when it was parked.
	ParkedAt time.Time `json:"parked_at"`
	// Attempts counts failed attempts to send it during releases.
	Attempts int `json:"attempts,omitempty"`
	// LastError is the last failure, without payload data.
	LastError string `json:"last_error,omitempty"`
	// Blocked is set when the economy system refused the answer for good
	// (a permanent failure) during a release. The answer keeps its place,
	// so the municipality's later answers wait behind it; the next
	// tenant.changed or agreement.changed event tries it again, and so does
	// the periodic sweep once the municipality's record has another version
	// than BlockedVersion.
	Blocked        bool   `json:"blocked,omitempty"`
	BlockedVersion uint64 `json:"blocked_version,omitempty"`

	revision uint64
}

// ParkKey returns the key of a parked answer:
//
//	<kommune>.<decided at as Unix nanoseconds, 20 digits>.<answer id>
//
// with every character of the answer id other than letters, digits, '-'
// and '_' replaced by '_'. Keys of one municipality sort, as strings, in
// decision order (ties by answer id); times before 1970 count as 0.
func ParkKey(kommune string, decidedAt time.Time, answerID string) string {
	id := []byte(answerID)
	for i, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			id[i] = '_'
		}
	}
	if len(id) == 0 {
		id = []byte("_")
	}
	return fmt.Sprintf("%s.%020d.%s", kommune, max(0, decidedAt.UnixNano()), id)
}

// kommuneOfKey returns the municipality part of a parking key.
func kommuneOfKey(key string) string {
	k, _, _ := strings.Cut(key, ".")
	return k
}

// parking is the durable queue of parked answers: one JetStream KV key per
// answer.
type parking struct {
	kv jetstream.KeyValue
	js jetstream.JetStream // for the bucket's stream (see parking.atomically)
}

// park stores p under its key unless the key exists; it returns what is
// stored, and whether this call created it. A redelivered decision thus
// finds its answer parked already and keeps the first record. It returns
// errReleased when the key existed but the answer was released meanwhile.
func (s *parking) park(ctx context.Context, p Parked) (Parked, bool, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return Parked{}, false, fmt.Errorf("encode parked answer: %w", err)
	}
	rev, err := s.kv.Create(ctx, p.Key, raw)
	if err == nil {
		p.revision = rev
		return p, true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return Parked{}, false, fmt.Errorf("park answer %s: %w", p.Answer.AnswerID, err)
	}
	got, found, err := s.get(ctx, p.Key)
	if err != nil {
		return Parked{}, false, err
	}
	if !found {
		// Only a release deletes a key: the answer was sent between
		// Create and Get.
		return Parked{}, false, errReleased
	}
	return got, false, nil
}

// failedPrefix keeps dead-lettered answers in the bucket, out of every
// queue: an operator lists them with [SetAside] and sends one again with
// [Resend] (efaktura answers set-aside|resend).
const failedPrefix = "failed."

// fail moves a parked answer out of its queue, under failedPrefix, in one
// atomic write: a crash between two writes would leave it both queued and
// set aside, and a [Resend] after the queue had sent it would send it twice.
func (s *parking) fail(ctx context.Context, p *Parked) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode failed answer: %w", err)
	}
	err = s.atomically(ctx,
		kvWrite{key: failedPrefix + p.Key, value: raw},
		kvWrite{key: p.Key, del: true, revision: &p.revision})
	if err != nil {
		return fmt.Errorf("set failed answer %s aside: %w", p.Key, err)
	}
	return nil
}

// get returns the parked answer under key; false when there is none.
func (s *parking) get(ctx context.Context, key string) (Parked, bool, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Parked{}, false, nil
	}
	if err != nil {
		return Parked{}, false, fmt.Errorf("read parked answer %s: %w", key, err)
	}
	var p Parked
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return Parked{}, false, fmt.Errorf("decode parked answer %s: %w", key, err)
	}
	p.Key, p.revision = key, e.Revision()
	return p, true, nil
}

// update writes p back if nobody changed it since it was read.
func (s *parking) update(ctx context.Context, p *Parked) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode parked answer: %w", err)
	}
	rev, err := s.kv.Update(ctx, p.Key, raw, p.revision)
	if err != nil {
		return fmt.Errorf("update parked answer %s: %w", p.Key, err)
	}
	p.revision = rev
	return nil
}

// remove deletes a released answer.
func (s *parking) remove(ctx context.Context, key string) error {
	if err := s.kv.Delete(ctx, key); err != nil {
		return fmt.Errorf("remove released answer %s: %w", key, err)
	}
	return nil
}

// keys returns the keys of the parked answers of kommune, or of every
// municipality when kommune is "", sorted: per municipality in decision
// order.
func (s *parking) keys(ctx context.Context, kommune string) ([]string, error) {
	filter := ">"
	if kommune != "" {
		filter = kommune + ".>"
	}
	keys, err := s.sortedKeys(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list parked answers: %w", err)
	}
	return slices.DeleteFunc(keys, func(k string) bool { return strings.HasPrefix(k, failedPrefix) }), nil
}

// sortedKeys returns the bucket's keys matching filter, sorted, each once.
func (s *parking) sortedKeys(ctx context.Context, filter string) ([]string, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil // the lister may repeat a key written meanwhile
}

// list returns the parked answers of kommune in decision order.
func (s *parking) list(ctx context.Context, kommune string) ([]Parked, error) {
	keys, err := s.keys(ctx, kommune)
	if err != nil {
		return nil, err
	}
	return s.getAll(ctx, keys)
}

// getAll returns the records under keys, in their order, leaving out the
// keys deleted since they were listed.
func (s *parking) getAll(ctx context.Context, keys []string) ([]Parked, error) {
	out := make([]Parked, 0, len(keys))
	for _, k := range keys {
		p, found, err := s.get(ctx, k)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, p)
		}
	}
	return out, nil
}
