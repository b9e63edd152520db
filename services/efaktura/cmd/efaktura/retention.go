package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/pkg/worker"
)

// runRetention reports what each store keeps and what its retention takes
// away within a horizon. It deletes nothing: every store expires its data
// itself (JetStream by MaxAge and per-message TTLs, Redis by key TTLs), so
// a report is all an operator needs, before and after changing a
// retention setting.
func runRetention(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	const synopsis = "efaktura retention [--dry-run] [--within D] [--nats URL] [--redis URL] [--json]"
	fs := newFlagSet("retention", synopsis)
	fs.Bool("dry-run", true, "report only; always so: the stores delete by themselves")
	url := fs.String("nats", defaultNATSURL(), natsUsage)
	redisURL := fs.String("redis", envOr("REDIS_URL", ""), "Redis `URL` of the duplicate-bundle and idempotency keys (env REDIS_URL); empty skips Redis")
	within := fs.Duration("within", 24*time.Hour, "report what retention removes within this `duration` from now")
	asJSON := fs.Bool("json", false, "one JSON object per store")
	operands, err := fs.parse(args, stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	if len(operands) > 0 {
		return fs.usageError(stderr, "retention takes no arguments")
	}
	if *within < 0 {
		return fs.usageError(stderr, "--within %v must not be negative", *within)
	}
	js, closeNATS, err := connectJetStream(*url, "efaktura retention")
	if err != nil {
		fmt.Fprintf(stderr, "efaktura retention: %v\n", err)
		return exitError
	}
	defer closeNATS()
	now := time.Now()
	stores, err := streamRetention(ctx, js, now, *within)
	if err == nil && *redisURL != "" {
		var rs []storeRetention
		rs, err = redisRetention(ctx, *redisURL, *within)
		stores = append(stores, rs...)
	}
	if err != nil {
		fmt.Fprintf(stderr, "efaktura retention: %v\n", err)
		return exitError
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, s := range stores {
			enc.Encode(s)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "STORE\tKIND\tKEPT\tITEMS\tBYTES\tOLDEST\tGOING WITHIN %s\n", *within)
	for _, s := range stores {
		oldest := "-"
		if !s.Oldest.IsZero() {
			oldest = s.Oldest.Format(time.RFC3339)
		}
		going := "-"
		if s.Going != nil {
			going = fmt.Sprint(*s.Going)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.Store, s.Kind, s.Kept, s.Items, s.Bytes, oldest, going)
	}
	tw.Flush()
	fmt.Fprintln(stdout, "\nNothing is deleted by this command: JetStream and Redis expire what their retention says (docs/operations.md, Retention).")
	return exitOK
}

// storeRetention is what one store keeps and what goes.
type storeRetention struct {
	Store string `json:"store"`
	// Kind is stream, work queue, kv or redis keys.
	Kind string `json:"kind"`
	// Kept says for how long: a duration, "per-message TTL", "until
	// consumed" or "until deleted".
	Kept   string    `json:"kept"`
	Items  uint64    `json:"items"`
	Bytes  uint64    `json:"bytes"`
	Oldest time.Time `json:"oldest,omitzero"`
	// Going counts the items retention removes within the horizon; nil
	// where nothing expires by time.
	Going *uint64 `json:"going,omitempty"`
}

// streamRetention reports every stream of the account: events, dead
// letters, answer queues, raw documents, the archive, and the KV buckets
// and object stores, which are streams underneath.
func streamRetention(ctx context.Context, js jetstream.JetStream, now time.Time, within time.Duration) ([]storeRetention, error) {
	var out []storeRetention
	lister := js.ListStreams(ctx)
	for info := range lister.Info() {
		c, st := info.Config, info.State
		s := storeRetention{Store: c.Name, Kind: "stream", Kept: "until deleted", Items: st.Msgs, Bytes: st.Bytes}
		if st.Msgs > 0 {
			s.Oldest = st.FirstTime.UTC()
		}
		switch {
		case strings.HasPrefix(c.Name, "KV_"):
			s.Kind = "kv"
		case strings.HasPrefix(c.Name, "OBJ_"):
			s.Kind = "object store"
		case c.Retention == jetstream.WorkQueuePolicy:
			s.Kind, s.Kept = "work queue", "until consumed"
		}
		if c.AllowMsgTTL {
			s.Kept = "per-message TTL"
		}
		if c.MaxAge > 0 {
			s.Kept = c.MaxAge.String()
			if c.AllowMsgTTL {
				s.Kept += ", or a message's TTL"
			}
			going, err := olderThan(ctx, js, c.Name, st.Msgs, now.Add(within-c.MaxAge))
			if err != nil {
				return nil, err
			}
			s.Going = &going
		}
		out = append(out, s)
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	return out, nil
}

// olderThan counts the messages of stream stored before t: all of them but
// those an ordered consumer starting at t would get.
func olderThan(ctx context.Context, js jetstream.JetStream, stream string, msgs uint64, t time.Time) (uint64, error) {
	if msgs == 0 {
		return 0, nil
	}
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &t})
	if err != nil {
		return 0, fmt.Errorf("count what goes from %s: %w", stream, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("count what goes from %s: %w", stream, err)
	}
	return msgs - min(msgs, info.NumPending), nil
}

// redisRetention reports the keys in Redis, by the part of their name
// before the first "/" (bundle/... are duplicate-bundle keys, kept to the
// end of the Danish year and a week; the others idempotency keys).
func redisRetention(ctx context.Context, rawURL string, within time.Duration) ([]storeRetention, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis URL %s is not valid", worker.RedactURL(rawURL))
	}
	c := redis.NewClient(opts)
	defer c.Close()
	byPrefix := map[string]*storeRetention{}
	var order []string
	iter := c.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		prefix, _, _ := strings.Cut(key, "/")
		s := byPrefix[prefix]
		if s == nil {
			zero := uint64(0)
			s = &storeRetention{Store: "redis " + prefix + "/*", Kind: "redis keys", Kept: "key TTL", Going: &zero}
			byPrefix[prefix] = s
			order = append(order, prefix)
		}
		s.Items++
		ttl, err := c.TTL(ctx, key).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("redis TTL: %w", err)
		}
		if ttl >= 0 && ttl <= within {
			*s.Going++
		}
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("redis scan: %w", err)
	}
	out := make([]storeRetention, 0, len(order))
	for _, p := range order {
		out = append(out, *byPrefix[p])
	}
	return out, nil
}
