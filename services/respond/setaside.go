package respond

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultBucket is the parking bucket of [Config] when Bucket is empty.
const DefaultBucket = "EFAKTURA_parked"

// ErrNotSetAside is returned by [Resend] for a key no set-aside answer has.
var ErrNotSetAside = errors.New("respond: no answer set aside under this key")

// SetAside returns the answers the economy system refused for themselves
// (a 4xx other than 401, 403, 404 and 410), which a release took out of
// their municipality's queue, in key order. Key is the answer's place in
// the queue, as [Resend] takes it.
func SetAside(ctx context.Context, js jetstream.JetStream, bucket string) ([]Parked, error) {
	s, err := openParking(ctx, js, bucket)
	if err != nil {
		return nil, err
	}
	keys, err := s.sortedKeys(ctx, failedPrefix+">")
	if err != nil {
		return nil, fmt.Errorf("list set-aside answers: %w", err)
	}
	out, err := s.getAll(ctx, keys)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Key = strings.TrimPrefix(out[i].Key, failedPrefix)
	}
	return out, nil
}

// Resend puts the answer set aside under key back into its municipality's
// queue, at its place in decision order, for the next release or sweep to
// send, once whatever the economy system refused is fixed on its side.
//
// The answer is queued and its set-aside copy dropped in one atomic write
// (see [parking.atomically]): were they two, a resend cut short between
// them would leave the answer both queued and set aside, and resending it
// again after the queue had sent it would send it twice. Repeating Resend
// is therefore harmless: while the answer waits in the queue it stays as it
// is, and once it is sent there is nothing set aside to resend
// ([ErrNotSetAside]).
func Resend(ctx context.Context, js jetstream.JetStream, bucket, key string) error {
	s, err := openParking(ctx, js, bucket)
	if err != nil {
		return err
	}
	// The bucket may have been made by a respond that did not yet move
	// answers atomically, or a respond starting now may have just turned
	// atomic writes off (see allowAtomicWrites).
	if err := allowAtomicWrites(ctx, js, bucket); err != nil {
		return fmt.Errorf("parking bucket %s: %w", bucket, err)
	}
	// Each round reads both keys and writes on condition that neither
	// changed since; a conflict (a concurrent resend, or a release setting
	// the answer aside again) is read afresh.
	const rounds = 3
	for range rounds {
		done, err := s.resend(ctx, key)
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("resend answer %s: its records kept changing; try again", key)
}

// resend is one round of [Resend]; false without an error means another
// writer changed the records meanwhile.
func (s *parking) resend(ctx context.Context, key string) (bool, error) {
	p, found, err := s.get(ctx, failedPrefix+key)
	if err != nil {
		return false, err
	}
	queued, last, err := s.last(ctx, key)
	if err != nil {
		return false, err
	}
	switch {
	case !found && queued:
		return true, nil // resent already
	case !found:
		return true, fmt.Errorf("%w: %s", ErrNotSetAside, key)
	case queued:
		// Both copies exist only after a move between queue and set-aside
		// that was two writes and was cut short (before those moves were
		// atomic). The queued one is the one to keep: it holds the attempts
		// the queue recorded, and the queue sends it.
		err := s.kv.Delete(ctx, failedPrefix+key, jetstream.LastRevision(p.revision))
		if isConflict(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("forget set-aside answer %s: %w", key, err)
		}
		return true, nil
	}
	p.Blocked, p.BlockedVersion = false, 0
	raw, err := json.Marshal(p)
	if err != nil {
		return false, fmt.Errorf("encode answer %s: %w", key, err)
	}
	err = s.atomically(ctx,
		kvWrite{key: key, value: raw, revision: &last},
		kvWrite{key: failedPrefix + key, del: true, revision: &p.revision})
	if isConflict(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("requeue answer %s: %w", key, err)
	}
	return true, nil
}

// openParking opens the parking bucket for the operator's commands.
func openParking(ctx context.Context, js jetstream.JetStream, bucket string) (*parking, error) {
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("parking bucket %s: %w", bucket, err)
	}
	return &parking{kv: kv, js: js}, nil
}

// last reports whether key holds a value now, and the revision of its last
// entry, deletion markers included: 0 when it has none (never written, or
// its marker purged). A write conditioned on that revision fails if anyone
// wrote the key since.
func (s *parking) last(ctx context.Context, key string) (bool, uint64, error) {
	stream, err := s.js.Stream(ctx, kvStreamPrefix+s.kv.Bucket())
	if err != nil {
		return false, 0, fmt.Errorf("parking bucket %s: %w", s.kv.Bucket(), err)
	}
	m, err := stream.GetLastMsgForSubject(ctx, s.subject(key))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("read parked answer %s: %w", key, err)
	}
	op := m.Header.Get(kvOperationHeader)
	return op != kvDelete && op != kvPurge, m.Sequence, nil
}

// kvWrite is one write of [parking.atomically]: value under key, or a
// deletion marker when del. With revision set, the write is made only if
// key's last entry, deletion markers included, has that revision (0: the
// key has no entry).
type kvWrite struct {
	key      string
	value    []byte
	del      bool
	revision *uint64
}

// The JetStream KV conventions behind the bucket, which package jetstream
// uses without exporting: the stream and subject of a bucket, and the
// header that marks a deletion.
const (
	kvStreamPrefix    = "KV_"
	kvSubjectPrefix   = "$KV."
	kvOperationHeader = "KV-Operation"
	kvDelete          = "DEL"
	kvPurge           = "PURGE"
)

// The headers of a JetStream atomic batch publish (NATS server 2.12 and
// later, on a stream with AllowAtomicPublish; ADR-50).
const (
	batchIDHeader       = "Nats-Batch-Id"
	batchSequenceHeader = "Nats-Batch-Sequence"
	batchCommitHeader   = "Nats-Batch-Commit"
)

func (s *parking) subject(key string) string {
	return kvSubjectPrefix + s.kv.Bucket() + "." + key
}

// atomically makes the writes as one JetStream atomic batch: the server
// stores all of them or, if any condition fails or the batch is not
// committed because the writer stopped half-way, none. Moving an answer
// between its queue and the set-aside keys takes two writes, and only this
// makes a crash between them impossible. The bucket's stream must allow
// atomic publishes, which [New] sees to.
func (s *parking) atomically(ctx context.Context, writes ...kvWrite) error {
	nc := s.js.Conn()
	msgs := s.batch(writes)
	last := writes[len(writes)-1].key
	for _, m := range msgs[:len(msgs)-1] {
		// The server answers only the commit, for the whole batch.
		if err := nc.PublishMsg(m); err != nil {
			return fmt.Errorf("atomic write of %s: %w", last, err)
		}
	}
	reply, err := nc.RequestMsgWithContext(ctx, msgs[len(msgs)-1])
	if err != nil {
		return fmt.Errorf("atomic write of %s: %w", last, err)
	}
	var ack struct {
		Error *jetstream.APIError `json:"error"`
		Count int                 `json:"count"`
	}
	if err := json.Unmarshal(reply.Data, &ack); err != nil {
		return fmt.Errorf("atomic write of %s: decode the server's answer: %w", last, err)
	}
	if ack.Error != nil {
		return fmt.Errorf("atomic write of %s: %w", last, ack.Error)
	}
	if ack.Count != len(writes) {
		return fmt.Errorf("atomic write of %s: the server stored %d of %d writes", last, ack.Count, len(writes))
	}
	return nil
}

// batch returns the messages of one atomic batch making the writes, the
// last one committing it.
func (s *parking) batch(writes []kvWrite) []*nats.Msg {
	id := rand.Text()
	msgs := make([]*nats.Msg, len(writes))
	for i, w := range writes {
		m := nats.NewMsg(s.subject(w.key))
		m.Data = w.value
		if w.del {
			m.Header.Set(kvOperationHeader, kvDelete)
		}
		if w.revision != nil {
			m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(*w.revision, 10))
		}
		m.Header.Set(batchIDHeader, id)
		m.Header.Set(batchSequenceHeader, strconv.Itoa(i+1))
		msgs[i] = m
	}
	msgs[len(msgs)-1].Header.Set(batchCommitHeader, "1")
	return msgs
}

// provisionParking creates or updates the parking bucket and lets
// [parking.atomically] write to its stream. CreateOrUpdateKeyValue rewrites
// the stream's configuration from the bucket's, which has no such setting,
// so it turns atomic writes off until [allowAtomicWrites] turns them on
// again: a move attempted in between, by another replica, fails and is
// tried again by the next release, or by the operator. So the bucket is
// only updated when its configuration differs, which a restart of an
// unchanged deployment never does.
func provisionParking(ctx context.Context, js jetstream.JetStream, want jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	if stream, err := js.Stream(ctx, kvStreamPrefix+want.Bucket); err == nil {
		c := stream.CachedInfo().Config
		// Zero history and replicas mean 1, as the bucket is created.
		if c.AllowAtomicPublish && c.Description == want.Description && c.MaxMsgsPerSubject == int64(max(want.History, 1)) &&
			c.Replicas == max(want.Replicas, 1) && c.Storage == want.Storage {
			return js.KeyValue(ctx, want.Bucket)
		}
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, want)
	if err != nil {
		return nil, err
	}
	if err := allowAtomicWrites(ctx, js, want.Bucket); err != nil {
		return nil, err
	}
	return kv, nil
}

// allowAtomicWrites turns on atomic writes to the bucket's stream; see
// [provisionParking].
func allowAtomicWrites(ctx context.Context, js jetstream.JetStream, bucket string) error {
	stream, err := js.Stream(ctx, kvStreamPrefix+bucket)
	if err != nil {
		return fmt.Errorf("allow atomic writes: %w", err)
	}
	cfg := stream.CachedInfo().Config
	if cfg.AllowAtomicPublish {
		return nil
	}
	cfg.AllowAtomicPublish = true
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("allow atomic writes: %w", err)
	}
	return nil
}

// isConflict reports whether err is a write refused because its key had
// changed since it was read.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
