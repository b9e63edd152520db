package idem

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultBucket is the KV bucket [NewKV] uses when [KVConfig.Bucket] is "".
const DefaultBucket = "efaktura_idem"

// markerTTL is how long the bucket keeps the delete markers that an expired
// key or a Release leaves behind (the bucket's LimitMarkerTTL). Nothing
// reads them but a human running "nats kv history"; a minute keeps them
// visible briefly and the bucket small.
const markerTTL = time.Minute

// maxPlainKey is the longest key that [kvKey] keeps readable.
const maxPlainKey = 200

// KVConfig is what operators set for a [KVStore]. A zero field takes the
// default shown.
type KVConfig struct {
	// Bucket names the KV bucket (its stream is "KV_" + Bucket): letters,
	// digits, '-' and '_'. Default "efaktura_idem".
	Bucket string
	// Replicas of the bucket: 1, or 3 in a cluster (max 5). Default 1.
	Replicas int
	// Storage of the bucket. Default jetstream.FileStorage (the zero
	// value); jetstream.MemoryStorage forgets every key on a restart.
	Storage jetstream.StorageType
}

func (c KVConfig) withDefaults() KVConfig {
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	return c
}

// Validate reports every problem of c at once, each wrapping [ErrInvalid].
// Zero fields are valid: they take their defaults.
func (c KVConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("%w: replicas %d: use 1 to 5", ErrInvalid, c.Replicas))
	}
	if c.Storage != jetstream.FileStorage && c.Storage != jetstream.MemoryStorage {
		errs = append(errs, fmt.Errorf("%w: storage %d: use file or memory", ErrInvalid, c.Storage))
	}
	return errors.Join(errs...)
}

var _ Store = (*KVStore)(nil)

// KVStore is a [Store] in a JetStream key-value bucket, for deployments
// without Redis. A key's record is one KV entry: "p:<token>" with a per-key
// TTL of the lease, replaced by "d:<token>" with a TTL of ttl on Complete.
// Writes are compare-and-set on the entry's revision, so they are atomic
// like Redis's scripts, and in a replicated bucket they commit through a
// quorum.
//
// Keys: a key made only of ASCII letters, digits and "-/_=." (no leading,
// trailing or doubled dot) of at most 200 bytes is stored readable, as
// "k.<key>"; any other key as "h.<hex sha256 of key>". The two forms never
// collide. "validate/4f1c…" and other CloudEvent ids stay readable in
// "nats kv ls".
//
// Durations: the server truncates a message TTL to whole seconds (1.9s
// lives 1s) and rejects one under a second, so leases and ttls are rounded
// up to whole seconds (300ms becomes 1s); a lease is never cut short.
// Expiry is done by a server timer on a one-second wheel, not at access: a
// record may outlive its rounded duration by a fraction of a second before
// a new Claim succeeds (tests see 1.0 to 1.25s for 1s). Because expiry runs
// in the background, a Complete that lands at the very instant its lease
// expires can be accepted and then erased by the expiry's delete marker
// (a subject roll-up); the key is then claimed afresh and the work
// repeated. Leave the lease a margin over the work, as for any lease.
//
// Reads go through direct get. In a replicated bucket a lagging replica may
// answer: Claim may then report the state of a moment ago, and Complete or
// Release may return [ErrNotOwner] right after a Claim. A stale token is
// never accepted, since every write is a compare-and-set on the leader.
//
// A KVStore is safe for concurrent use.
type KVStore struct {
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	pre string // subject prefix of writes: [API prefix] "$KV.<bucket>."
}

// NewKV creates the bucket of cfg, or updates it to the configuration this
// store needs (history 1, per-key TTLs enabled with LimitMarkerTTL), and
// returns a store on it. It is safe to call on every start and from many
// processes. It returns an error wrapping [ErrInvalid] for an invalid cfg,
// or JetStream's error; the server must be nats-server 2.11 or later (per-key
// TTLs), else the error wraps jetstream.ErrLimitMarkerTTLNotSupported.
func NewKV(ctx context.Context, js jetstream.JetStream, cfg KVConfig) (*KVStore, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         cfg.Bucket,
		Description:    "idempotency keys of package idem: leases and completions",
		History:        1,
		Replicas:       cfg.Replicas,
		Storage:        cfg.Storage,
		LimitMarkerTTL: markerTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("idem: create or update KV bucket %s: %w", cfg.Bucket, err)
	}
	return &KVStore{js: js, kv: kv, pre: writePrefix(js.Options(), cfg.Bucket)}, nil
}

// writePrefix is the subject prefix nats.go's KV Put, Create and Update
// publish to (jetstream/kv.go, updateRevision): "$KV.<bucket>.", behind the
// JetStream API prefix when that is not the default one.
func writePrefix(o jetstream.JetStreamOptions, bucket string) string {
	pre := "$KV." + bucket + "."
	api := ""
	switch {
	case o.Domain != "":
		api = "$JS." + o.Domain + ".API."
	case o.APIPrefix != "":
		api = o.APIPrefix
		if !strings.HasSuffix(api, ".") {
			api += "."
		}
	}
	if api == "" || api == jetstream.DefaultAPIPrefix {
		return pre
	}
	return api + pre
}

// Claim implements [Store.Claim] with a KV Create of "p:<token>" with
// KeyTTL(lease), lease rounded up to whole seconds. When the key exists it
// reads the entry and reports Done or Busy. It returns an error wrapping
// [ErrInvalid] for an empty key or a lease that is not positive, ctx's
// error, or JetStream's error.
func (s *KVStore) Claim(ctx context.Context, key string, lease time.Duration) (string, State, error) {
	if err := checkClaim(ctx, key, lease); err != nil {
		return "", 0, err
	}
	k, token := kvKey(key), newToken()
	// A key may vanish between the failed Create and the Get (released,
	// expired, or a stale replica answered the Get): try again a few times.
	for range 4 {
		_, err := s.kv.Create(ctx, k, []byte(pendingPrefix+token), jetstream.KeyTTL(seconds(lease)))
		if err == nil {
			return token, Claimed, nil
		}
		// Create reports an existing key as ErrKeyExists, but a lost race on
		// a deleted key's marker as a bare wrong-last-sequence error.
		if !errors.Is(err, jetstream.ErrKeyExists) && !wrongLastSeq(err) {
			return "", 0, fmt.Errorf("idem: claim %q: %w", key, err)
		}
		e, err := s.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return "", 0, fmt.Errorf("idem: claim %q: %w", key, err)
		}
		st, err := stateOf(string(e.Value()))
		if err != nil {
			return "", 0, fmt.Errorf("idem: claim %q: %w", key, err)
		}
		return "", st, nil
	}
	// The key keeps changing under us: someone else is at it.
	return "", Busy, nil
}

// Complete implements [Store.Complete]: it reads the entry, checks that it
// is "p:<token>", and publishes "d:<token>" to the key's subject with
// Nats-Expected-Last-Subject-Sequence set to the entry's revision and a
// Nats-TTL of ttl rounded up to whole seconds (kv.Update cannot set a TTL).
// It returns nil at once when the entry is already "d:<token>", and
// [ErrNotOwner] when it is anything else, is gone, or changed between the
// read and the write; an error wrapping [ErrInvalid]
// for an empty key or token or a ttl that is not positive; ctx's error; or
// JetStream's error.
func (s *KVStore) Complete(ctx context.Context, key, token string, ttl time.Duration) error {
	if err := checkComplete(ctx, key, token, ttl); err != nil {
		return err
	}
	k := kvKey(key)
	rev, done, err := s.lease(ctx, "complete", key, k, token)
	if err != nil || done {
		return err
	}
	msg := &nats.Msg{Subject: s.pre + k, Header: nats.Header{}, Data: []byte(donePrefix + token)}
	_, err = s.js.PublishMsg(ctx, msg,
		jetstream.WithExpectLastSequencePerSubject(rev),
		jetstream.WithMsgTTL(seconds(ttl)))
	if wrongLastSeq(err) {
		return ErrNotOwner
	}
	if err != nil {
		return fmt.Errorf("idem: complete %q: %w", key, err)
	}
	return nil
}

// Release implements [Store.Release]: it reads the entry, checks that it is
// "p:<token>", and purges the key on that revision (the purge marker
// expires after a minute). It returns [ErrNotOwner] when the entry is
// anything else, is gone, or changed between the read and the purge; an
// error wrapping [ErrInvalid] for an empty key or token; ctx's error; or
// JetStream's error.
func (s *KVStore) Release(ctx context.Context, key, token string) error {
	if err := checkRelease(ctx, key, token); err != nil {
		return err
	}
	k := kvKey(key)
	rev, done, err := s.lease(ctx, "release", key, k, token)
	if err != nil {
		return err
	}
	if done {
		return ErrNotOwner
	}
	err = s.kv.Purge(ctx, k, jetstream.LastRevision(rev), jetstream.PurgeTTL(markerTTL))
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || wrongLastSeq(err) {
		return ErrNotOwner
	}
	if err != nil {
		return fmt.Errorf("idem: release %q: %w", key, err)
	}
	return nil
}

// lease reads k, the KV key of key, for op: the revision of its entry if it
// is "p:<token>", or done if it is "d:<token>"; otherwise ErrNotOwner, as
// is, or JetStream's error wrapped with op and key.
func (s *KVStore) lease(ctx context.Context, op, key, k, token string) (rev uint64, done bool, err error) {
	e, err := s.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return 0, false, ErrNotOwner
	}
	if err != nil {
		return 0, false, fmt.Errorf("idem: %s %q: %w", op, key, err)
	}
	switch string(e.Value()) {
	case pendingPrefix + token:
		return e.Revision(), false, nil
	case donePrefix + token:
		return 0, true, nil
	}
	return 0, false, ErrNotOwner
}

// wrongLastSeq reports whether err is JetStream's answer to a failed
// compare-and-set: 10071, or 10164 from a replicated stream.
func wrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// seconds rounds d up to whole seconds: the server truncates Nats-TTL to
// seconds and rejects anything under 1s (nats-server parseMessageTTL).
func seconds(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

// kvKey maps an idempotency key to a valid KV key; see [KVStore].
func kvKey(key string) string {
	if len(key) <= maxPlainKey && plainKey(key) {
		return "k." + key
	}
	sum := sha256.Sum256([]byte(key))
	return "h." + hex.EncodeToString(sum[:])
}

// plainKey reports whether key is a KV key as nats.go accepts it
// (^[-/_=.a-zA-Z0-9]+$, no leading, trailing or doubled dot).
func plainKey(key string) bool {
	if key == "" || key[0] == '.' || key[len(key)-1] == '.' || strings.Contains(key, "..") {
		return false
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '/', c == '_', c == '=', c == '.':
		default:
			return false
		}
	}
	return true
}
