package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
)

// DefaultBucket is the JetStream KV bucket of the tenants when
// [StoreConfig].Bucket is "". Its stream is "KV_EFAKTURA_tenants".
const DefaultBucket = "EFAKTURA_tenants"

// bucketHistory is how many revisions of a tenant the bucket keeps, for an
// operator reading "nats kv history"; the code only needs the latest.
const bucketHistory = 5

// maxAttempts bounds the read-modify-write loops that retry when another
// writer changed a tenant in between.
const maxAttempts = 10

// StoreConfig is what operators set for the tenants' bucket. A zero field
// takes the default shown. [Store] and [Registry] must be given the same.
type StoreConfig struct {
	// Bucket names the KV bucket: letters, digits, '-' and '_'. Default
	// "EFAKTURA_tenants" ([DefaultBucket]). Renaming it starts from an
	// empty bucket.
	Bucket string
	// Replicas of the bucket: 1, or 3 in a cluster (at most 5). Default 1.
	Replicas int
	// Storage of the bucket. Default jetstream.FileStorage (the zero
	// value); jetstream.MemoryStorage forgets every tenant on a restart.
	Storage jetstream.StorageType
}

func (c StoreConfig) withDefaults() StoreConfig {
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	return c
}

// Validate reports every problem of c at once, wrapped in [ErrInvalid].
// Zero fields are valid: they take their defaults.
func (c StoreConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("replicas %d: use 1 to 5", c.Replicas))
	}
	if c.Storage != jetstream.FileStorage && c.Storage != jetstream.MemoryStorage {
		errs = append(errs, fmt.Errorf("storage %d: use file or memory", c.Storage))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: tenant store configuration: %w", ErrInvalid, err)
	}
	return nil
}

// openBucket creates the bucket or updates its configuration: safe on every
// start, from every process.
func openBucket(ctx context.Context, js jetstream.JetStream, cfg StoreConfig) (jetstream.KeyValue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "municipalities (tenants) of efaktura, one JSON record per kommune code; package tenant",
		History:     bucketHistory,
		Replicas:    cfg.Replicas,
		Storage:     cfg.Storage,
	})
	if err != nil {
		return nil, fmt.Errorf("tenant: create or update bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// Store keeps the tenants in a JetStream KV bucket, one JSON record per
// kommune code, and publishes every change as events. It is the writer;
// workers read through a [Registry]. A Store is safe for concurrent use, also
// from several processes: writes are compare-and-set on the record's revision.
//
// Records hold the economy system's signing secret and the token hashes in
// plain JSON: protect the bucket (JetStream encryption at rest, account
// permissions) like any other secret store.
//
// # Events
//
// Every change publishes, after the record is written, one
// [events.TypeTenantChanged] (the public view: no secret, no token hashes)
// with key (kommune, version), and one [events.TypeAgreementChanged] with key
// (kommune, agreement, version) for each agreement whose state or economy
// system changed, or that is new. Version is the record's new revision. The
// event ids derive from these keys ([events.ID]), so publishing the same
// change again is dropped by JetStream's duplicate window, and a consumer
// that keeps the highest version ignores it after that.
//
// When publishing fails, the record is saved all the same: Put and
// SetAgreement return the saved tenant with an error wrapping
// [ErrNotPublished] and the publisher's error. Calling them again with the
// same content writes nothing and publishes the events of the stored
// version again, with the same ids. The agreements whose events belong to a
// version are those whose UpdatedAt equals the tenant's.
type Store struct {
	kv      jetstream.KeyValue
	publish func(context.Context, ...cloudevents.Event) error
	now     func() time.Time
}

// NewStore creates or updates the bucket (idempotent, safe on every start)
// and returns a Store that publishes change events with publish, e.g. a
// bus's Publish. publish must route events by their kommune extension
// (bus.WithSubjects(events.SubjectOf)). The error wraps [ErrInvalid] for a
// bad configuration or a nil publish.
func NewStore(ctx context.Context, js jetstream.JetStream, cfg StoreConfig, publish func(context.Context, ...cloudevents.Event) error) (*Store, error) {
	if publish == nil {
		return nil, fmt.Errorf("%w: tenant store: nil publish function", ErrInvalid)
	}
	kv, err := openBucket(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	return &Store{kv: kv, publish: publish, now: time.Now}, nil
}

// Get returns the tenant of a kommune code, with its secret and tokens and
// Version set to its revision. The error wraps [ErrNotFound] when there is
// none, [ErrInvalid] when kommune is not 4 digits.
func (s *Store) Get(ctx context.Context, kommune string) (Tenant, error) {
	t, found, err := s.get(ctx, kommune)
	if err != nil {
		return Tenant{}, err
	}
	if !found {
		return Tenant{}, fmt.Errorf("%w: kommune %s", ErrNotFound, kommune)
	}
	return t, nil
}

func (s *Store) get(ctx context.Context, kommune string) (Tenant, bool, error) {
	if !events.ValidKommune(kommune) {
		return Tenant{}, false, fmt.Errorf("%w: kommune %q is not 4 digits", ErrInvalid, kommune)
	}
	e, err := s.kv.Get(ctx, kommune)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Tenant{}, false, nil
	}
	if err != nil {
		return Tenant{}, false, fmt.Errorf("tenant: get kommune %s: %w", kommune, err)
	}
	t, err := decodeEntry(e)
	if err != nil {
		return Tenant{}, false, err
	}
	return t, true, nil
}

// decodeEntry reads a record; Version is the entry's revision.
func decodeEntry(e jetstream.KeyValueEntry) (Tenant, error) {
	var t Tenant
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return Tenant{}, fmt.Errorf("tenant: record %s revision %d: %w", e.Key(), e.Revision(), err)
	}
	if t.Kommune != e.Key() {
		return Tenant{}, fmt.Errorf("tenant: record %s revision %d holds kommune %q", e.Key(), e.Revision(), t.Kommune)
	}
	// A record written before Standard Webhooks holds one plain "secret":
	// it reads as that secret in the whsec_ form (see EconomySystem).
	t.EconomySystem.Secrets, t.EconomySystem.Secret = t.EconomySystem.SigningSecrets(), ""
	t.Version = e.Revision()
	return t, nil
}

// List returns every tenant, sorted by kommune code, with secrets and tokens.
func (s *Store) List(ctx context.Context) ([]Tenant, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("tenant: list: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	out := make([]Tenant, 0, len(keys))
	for _, k := range keys {
		t, found, err := s.get(ctx, k)
		if err != nil {
			return nil, err
		}
		if found { // not deleted since it was listed
			out = append(out, t)
		}
	}
	return out, nil
}

// Put creates or replaces a tenant and publishes the change (see [Store] for
// the events). With version 0 it creates the tenant or replaces whatever is
// stored (retrying when another writer comes in between); with another
// version it replaces the tenant only while its stored Version is that one.
//
// Put validates t first ([Tenant.Normalized], then [Tenant.Validate]), and
// merges it with the stored record:
//   - no EconomySystem.Secrets (nor a legacy Secret) keeps the stored
//     secrets; any other list replaces them;
//   - nil Tokens keep the stored tokens; any other list, also an empty one,
//     replaces them;
//   - agreements missing from t keep their stored state: Put never removes
//     an agreement (use SetAgreement to change one);
//   - t.Version, t.UpdatedAt, t.History and the agreements' UpdatedAt and
//     ChangedBy are ignored: the store sets them;
//   - an agreement's state changes only by the life cycle (lifecycle.go);
//     otherwise the error wraps [ErrTransition] and nothing is written.
//
// Every agreement that changes goes into the tenant's history, made by
// [Actor] of ctx, in the same write.
//
// So a tenant read from the admin API (no secret, no tokens) can be changed
// and put back without losing its credentials.
//
// When the merged tenant equals the stored one, Put writes nothing, even if
// version is not the stored one, and publishes the stored version's events
// again: a retry after [ErrNotPublished] is safe.
//
// It returns the saved tenant, with its new Version. The error wraps
// [ErrInvalid], [ErrConflict] when the stored version is not version (or
// the tenant is absent and version is not 0), or [ErrNotPublished] (the
// tenant is then returned as saved).
func (s *Store) Put(ctx context.Context, t Tenant, version uint64) (Tenant, error) {
	t = t.Normalized()
	if err := t.Validate(); err != nil {
		return Tenant{}, fmt.Errorf("put kommune %s: %w", t.Kommune, err)
	}
	for attempt := 1; ; attempt++ {
		cur, found, err := s.get(ctx, t.Kommune)
		if err != nil {
			return Tenant{}, err
		}
		next := merge(cur, found, t)
		if found && sameContent(cur, next) {
			return s.republish(ctx, cur)
		}
		if err := checkTransitions(cur, found, next); err != nil {
			return Tenant{}, fmt.Errorf("put kommune %s: %w", t.Kommune, err)
		}
		if version != 0 && (!found || cur.Version != version) {
			stored := "absent"
			if found {
				stored = "version " + strconv.FormatUint(cur.Version, 10)
			}
			return Tenant{}, fmt.Errorf("put kommune %s at version %d: %w: it is %s", t.Kommune, version, ErrConflict, stored)
		}
		saved, err := s.commit(ctx, cur, found, next)
		if errors.Is(err, errRace) {
			if version == 0 && attempt < maxAttempts {
				continue
			}
			return Tenant{}, fmt.Errorf("put kommune %s: %w", t.Kommune, ErrConflict)
		}
		return saved, err
	}
}

// SetAgreement records a new state of one of a tenant's agreements and
// publishes the change (see [Store] for the events). An empty economySystem
// keeps the economy system the agreement names, or, for a new agreement,
// names the municipality's. When another writer changes the tenant in
// between, it reads it again and retries.
//
// When the agreement already has that state and economy system, it writes
// nothing and publishes the stored version's events again.
//
// The state changes only by the agreement life cycle (lifecycle.go):
// withdrawn only from approved, and so on. The change goes into the
// tenant's history, made by [Actor] of ctx, in the same write.
//
// The error wraps [ErrInvalid] for an unknown agreement or state,
// [ErrTransition] for a change the life cycle does not allow,
// [ErrNotFound] when there is no such tenant, [ErrConflict] when the
// retries ran out, or [ErrNotPublished] (the tenant is then returned as
// saved).
func (s *Store) SetAgreement(ctx context.Context, kommune string, name AgreementName, state AgreementState, economySystem string) (Tenant, error) {
	var errs []error
	if name != Forside && name != Bagside {
		errs = append(errs, fmt.Errorf("agreement %q is neither forside nor bagside", name))
	}
	switch state {
	case Requested, Approved, Rejected, Withdrawn:
	default:
		errs = append(errs, fmt.Errorf("state %q is not requested, approved, rejected or withdrawn", state))
	}
	if err := errors.Join(errs...); err != nil {
		return Tenant{}, fmt.Errorf("set agreement of kommune %s: %w: %w", kommune, ErrInvalid, err)
	}
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		cur, err := s.Get(ctx, kommune)
		if err != nil {
			return Tenant{}, err
		}
		next := cur.clone()
		es := economySystem
		if es == "" {
			if a, ok := cur.Agreements[name]; ok {
				es = a.EconomySystem
			} else {
				es = cur.EconomySystem.ID
			}
		}
		if next.Agreements == nil {
			next.Agreements = map[AgreementName]Agreement{}
		}
		prev := cur.Agreements[name]
		next.Agreements[name] = Agreement{State: state, EconomySystem: es, UpdatedAt: prev.UpdatedAt, ChangedBy: prev.ChangedBy}
		if sameContent(cur, next) {
			return s.republish(ctx, cur)
		}
		if err := checkTransitions(cur, true, next); err != nil {
			return Tenant{}, fmt.Errorf("set %s agreement: %w", name, err)
		}
		if err := next.Validate(); err != nil {
			return Tenant{}, fmt.Errorf("set %s agreement of kommune %s: %w", name, kommune, err)
		}
		saved, err := s.commit(ctx, cur, true, next)
		if errors.Is(err, errRace) {
			continue
		}
		return saved, err
	}
	return Tenant{}, fmt.Errorf("set %s agreement of kommune %s: %w", name, kommune, ErrConflict)
}

// errRace: another writer changed the record between read and write.
var errRace = errors.New("tenant: record changed since it was read")

// unstamped returns a copy of t without what the store sets: Version,
// UpdatedAt, History and the agreements' UpdatedAt and ChangedBy.
func unstamped(t Tenant) Tenant {
	t = t.clone()
	t.Version, t.UpdatedAt = 0, time.Time{}
	t.History = nil
	for name, a := range t.Agreements {
		a.UpdatedAt, a.ChangedBy = time.Time{}, ""
		t.Agreements[name] = a
	}
	return t
}

// merge applies an incoming tenant to the stored one (see [Store.Put]).
func merge(cur Tenant, found bool, in Tenant) Tenant {
	next := unstamped(in) // the stamps and history are the store's to keep
	if !found {
		return next
	}
	if len(next.EconomySystem.Secrets) == 0 {
		next.EconomySystem.Secrets = slices.Clone(cur.EconomySystem.Secrets)
	}
	if next.Tokens == nil {
		next.Tokens = slices.Clone(cur.Tokens)
	}
	if next.Rules == nil {
		next.Rules = cloneRules(cur.Rules)
	}
	for name, a := range cur.Agreements {
		if _, ok := next.Agreements[name]; !ok {
			if next.Agreements == nil {
				next.Agreements = map[AgreementName]Agreement{}
			}
			next.Agreements[name] = a
		}
	}
	// An agreement that did not change keeps its UpdatedAt.
	for name, a := range next.Agreements {
		if c, ok := cur.Agreements[name]; ok && sameAgreement(a, c) {
			a.UpdatedAt, a.ChangedBy = c.UpdatedAt, c.ChangedBy
			next.Agreements[name] = a
		}
	}
	return next
}

func sameAgreement(a, b Agreement) bool {
	return a.State == b.State && a.EconomySystem == b.EconomySystem
}

// sameContent reports whether a and b hold the same tenant, apart from what
// the store sets (versions and times) and the difference between nil and
// empty lists.
func sameContent(a, b Tenant) bool {
	return reflect.DeepEqual(contentOf(a), contentOf(b))
}

func contentOf(t Tenant) Tenant {
	t = unstamped(t)
	if len(t.Senders) == 0 {
		t.Senders = nil
	}
	if len(t.Tokens) == 0 {
		t.Tokens = nil
	}
	if len(t.Agreements) == 0 {
		t.Agreements = nil
	}
	if t.Rules != nil {
		rs := t.Rules.Normalized()
		t.Rules = &rs
	}
	return t
}

// commit stamps next with the time of the change, writes it over cur (or
// creates it) and publishes the change. It returns errRace when the record
// changed since cur was read.
func (s *Store) commit(ctx context.Context, cur Tenant, found bool, next Tenant) (Tenant, error) {
	now := s.now().UTC()
	// Strictly after the previous change, so that the agreements changed by
	// this version are exactly those stamped with its time (see Store).
	if !now.After(cur.UpdatedAt) {
		now = cur.UpdatedAt.Add(time.Nanosecond)
	}
	next.UpdatedAt = now
	// Each changed agreement is stamped with the time and who, and goes
	// into the history (lifecycle.go), in the same write as the change.
	record(cur, found, &next, Actor(ctx), now)
	if len(next.Tokens) == 0 {
		next.Tokens = nil
	}
	next.Version = 0 // the revision is the version; not stored
	value, err := json.Marshal(next)
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant: encode kommune %s: %w", next.Kommune, err)
	}
	var rev uint64
	if found {
		rev, err = s.kv.Update(ctx, next.Kommune, value, cur.Version)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return Tenant{}, errRace
		}
	} else {
		rev, err = s.kv.Create(ctx, next.Kommune, value)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return Tenant{}, errRace
		}
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant: write kommune %s: %w", next.Kommune, err)
	}
	next.Version = rev
	return s.republish(ctx, next)
}

// republish publishes the events of t's version and returns t.
func (s *Store) republish(ctx context.Context, t Tenant) (Tenant, error) {
	evs, err := changeEvents(t)
	if err != nil {
		return t, fmt.Errorf("%w: kommune %s version %d: %w", ErrNotPublished, t.Kommune, t.Version, err)
	}
	if err := s.publish(ctx, evs...); err != nil {
		return t, fmt.Errorf("%w: kommune %s version %d: %w", ErrNotPublished, t.Kommune, t.Version, err)
	}
	return t, nil
}

// changeEvents returns the events of a stored tenant's version, as [Store]
// publishes them: one [events.TypeTenantChanged] with the public view, then
// one [events.TypeAgreementChanged] per agreement changed by that version
// (its UpdatedAt equals the tenant's), forside first. Source
// [events.SourceAdmin], CE subject the kommune code, time t.UpdatedAt.
func changeEvents(t Tenant) ([]cloudevents.Event, error) {
	version := strconv.FormatUint(t.Version, 10)
	tc := events.TenantChanged{
		Kommune: t.Kommune,
		Name:    t.Name,
		CVR:     t.CVR,
		EconomySystem: events.EconomySystem{
			ID:       t.EconomySystem.ID,
			Name:     t.EconomySystem.Name,
			Endpoint: t.EconomySystem.Endpoint,
		},
		Version:   int64(t.Version),
		ChangedAt: t.UpdatedAt,
	}
	for _, snd := range t.Senders {
		tc.Senders = append(tc.Senders, events.RegisteredSender{Type: snd.Type, ID: snd.ID, Nets: snd.Nets})
	}
	e, err := events.New(events.TypeTenantChanged, events.SourceAdmin, t.Kommune, t.Kommune, []string{t.Kommune, version}, tc, t.UpdatedAt)
	if err != nil {
		return nil, err
	}
	out := []cloudevents.Event{e}
	names := slices.SortedFunc(maps.Keys(t.Agreements), func(a, b AgreementName) int {
		return slices.Index(AgreementNames, a) - slices.Index(AgreementNames, b)
	})
	for _, name := range names {
		a := t.Agreements[name]
		if !a.UpdatedAt.Equal(t.UpdatedAt) {
			continue
		}
		ac := events.AgreementChanged{
			Kommune:         t.Kommune,
			Agreement:       events.Agreement(name),
			State:           events.AgreementState(a.State),
			EconomySystemID: a.EconomySystem,
			Version:         int64(t.Version),
			ChangedAt:       t.UpdatedAt,
		}
		e, err := events.New(events.TypeAgreementChanged, events.SourceAdmin, t.Kommune, t.Kommune, []string{t.Kommune, string(name), version}, ac, t.UpdatedAt)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
