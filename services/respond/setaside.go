package respond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

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
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("parking bucket %s: %w", bucket, err)
	}
	lister, err := kv.ListKeysFiltered(ctx, failedPrefix+">")
	if err != nil {
		return nil, fmt.Errorf("list set-aside answers: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list set-aside answers: %w", err)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	s := &parking{kv: kv}
	out := make([]Parked, 0, len(keys))
	for _, k := range keys {
		p, found, err := s.get(ctx, k)
		if err != nil {
			return nil, err
		}
		if found {
			p.Key = strings.TrimPrefix(k, failedPrefix)
			out = append(out, p)
		}
	}
	return out, nil
}

// Resend puts the answer set aside under key back into its municipality's
// queue, at its place in decision order, for the next release or sweep to
// send, once whatever the economy system refused is fixed on its side. It
// is safe to repeat while the answer waits in the queue: it stays as it is.
func Resend(ctx context.Context, js jetstream.JetStream, bucket, key string) error {
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		return fmt.Errorf("parking bucket %s: %w", bucket, err)
	}
	s := &parking{kv: kv}
	p, found, err := s.get(ctx, failedPrefix+key)
	if err != nil {
		return err
	}
	if !found {
		if _, queued, err := s.get(ctx, key); err != nil || queued {
			return err // resent already
		}
		return fmt.Errorf("%w: %s", ErrNotSetAside, key)
	}
	p.Blocked, p.BlockedVersion = false, 0
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode answer %s: %w", key, err)
	}
	// Create, not Put: a repeated resend must not undo the attempts the
	// queue has recorded since.
	if _, err := kv.Create(ctx, key, raw); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("requeue answer %s: %w", key, err)
	}
	if err := kv.Delete(ctx, failedPrefix+key); err != nil {
		return fmt.Errorf("forget set-aside answer %s: %w", key, err)
	}
	return nil
}
