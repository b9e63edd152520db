package tenant

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// Registry is an in-memory view of the tenants' bucket that follows every
// change: what the workers read on each request (tenant, sender register,
// tokens) without a round trip to JetStream. It is safe for concurrent use.
//
// A Registry lags the [Store] by the time a KV update takes to arrive, a
// millisecond or so; [Registry.WaitVersion] waits for a known version, e.g.
// the one [Store.Put] returned.
type Registry struct {
	log *slog.Logger

	mu      sync.RWMutex
	tenants map[string]registered
	seen    map[string]uint64 // kommune → highest revision seen, deletes included
	creds   []credential      // every tenant's tokens, rebuilt on each change
	admins  []credential
	changed chan struct{} // closed and replaced on every change
	stopped bool

	done chan struct{} // closed when the watch ends
}

type registered struct {
	t       Tenant
	senders efaktura.SenderTable
}

type credential struct {
	hash [sha256.Size]byte
	p    Principal
}

// NewRegistry creates or updates the bucket as [NewStore] does, loads every
// tenant, and then follows changes (new versions and deletes) in a
// goroutine until ctx is done. It returns once the initial tenants are
// loaded.
//
// adminTokenHashes are the hex SHA-256 hashes ([HashToken]) of the
// operators' tokens, which [Registry.Authenticate] maps to [RoleAdmin];
// admin tokens are global, not part of any tenant. The error wraps
// [ErrInvalid] for a bad configuration or a hash that is not 64 hex digits.
//
// A record that does not decode is logged (key and revision only) and
// skipped; the previous version of that tenant stays in force.
func NewRegistry(ctx context.Context, js jetstream.JetStream, cfg StoreConfig, adminTokenHashes ...string) (*Registry, error) {
	r := &Registry{
		log:     slog.Default().With("component", "tenant.Registry"),
		tenants: map[string]registered{},
		seen:    map[string]uint64{},
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for i, h := range adminTokenHashes {
		name, h := SplitAdminHash(strings.TrimSpace(h))
		raw, err := hex.DecodeString(strings.ToLower(h))
		if err != nil || len(raw) != sha256.Size {
			// The value is not quoted: it may be a token given by mistake.
			return nil, fmt.Errorf("%w: admin token hash %d of %d is not 64 hex digits (the SHA-256 of the token)", ErrInvalid, i+1, len(adminTokenHashes))
		}
		c := credential{p: Principal{Role: RoleAdmin, Name: name}}
		copy(c.hash[:], raw)
		r.admins = append(r.admins, c)
	}
	kv, err := openBucket(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("tenant: watch bucket %s: %w", kv.Bucket(), err)
	}
	// The initial values, up to the nil marker.
	for loaded := false; !loaded; {
		select {
		case <-ctx.Done():
			stopWatch(w)
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("tenant: watch of bucket %s ended while loading", kv.Bucket())
			}
			if e == nil {
				loaded = true
				continue
			}
			r.apply(e)
		}
	}
	go r.follow(ctx, kv, w)
	return r, nil
}

// follow applies updates until ctx is done. When the watch ends under it
// (a lost connection, a server restart), it starts a new one, with a
// growing pause, rather than leave workers on a frozen view in which a
// revoked token would go on working.
func (r *Registry) follow(ctx context.Context, kv jetstream.KeyValue, w jetstream.KeyWatcher) {
	defer close(r.done)
	defer func() {
		r.mu.Lock()
		r.stopped = true
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			stopWatch(w)
			return
		case e, ok := <-w.Updates():
			if !ok {
				if w = r.rewatch(ctx, kv); w == nil {
					return // ctx is done
				}
				continue
			}
			if e != nil {
				r.apply(e)
			}
		}
	}
}

// stopWatch stops w and drains its channel for a while, so that the
// watcher's delivery goroutine, which blocks on a full channel, can see the
// subscription close.
func stopWatch(w jetstream.KeyWatcher) {
	_ = w.Stop() // fails only when the connection is already closed
	timeout := time.NewTimer(time.Second)
	defer timeout.Stop()
	for {
		select {
		case _, ok := <-w.Updates():
			if !ok {
				return
			}
		case <-timeout.C:
			return
		}
	}
}

// apply takes one KV entry into the view.
func (r *Registry) apply(e jetstream.KeyValueEntry) {
	var (
		t   Tenant
		put = e.Operation() == jetstream.KeyValuePut
		bad error
	)
	if put {
		t, bad = decodeEntry(e)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Revision() < r.seen[e.Key()] {
		return // a watch started again replays; an older revision never wins
	}
	switch {
	case bad != nil:
		r.log.Error("tenant record does not decode; keeping the previous version", "kommune", e.Key(), "revision", e.Revision(), "err", bad)
	case put:
		senders := efaktura.SenderTable{}
		for _, s := range t.Senders {
			senders.Add(efaktura.Sender{Type: s.Type, ID: s.ID, Nets: s.Nets})
		}
		r.tenants[t.Kommune] = registered{t: t, senders: senders}
	default: // delete or purge
		delete(r.tenants, e.Key())
	}
	r.seen[e.Key()] = max(r.seen[e.Key()], e.Revision())
	r.rebuildCredentials()
	close(r.changed)
	r.changed = make(chan struct{})
}

// rewatch starts a new watch of the bucket, pausing 100 ms, doubling up to
// 5 s, between tries; nil once ctx is done. The new watch replays the
// current values, which apply orders by revision.
func (r *Registry) rewatch(ctx context.Context, kv jetstream.KeyValue) jetstream.KeyWatcher {
	pause := 100 * time.Millisecond
	for {
		r.log.Warn("tenant registry's watch ended; starting it again", "in", pause)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		w, err := kv.WatchAll(ctx)
		if err == nil {
			return w
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// rebuildCredentials lists every tenant's tokens; r.mu is held.
func (r *Registry) rebuildCredentials() {
	r.creds = r.creds[:0]
	for _, reg := range r.tenants {
		for _, tok := range reg.t.Tokens {
			raw, err := hex.DecodeString(tok.SHA256)
			if err != nil || len(raw) != sha256.Size {
				continue // Validate keeps these out of the store
			}
			c := credential{p: Principal{Role: tok.Role, Kommune: reg.t.Kommune, Name: tok.Name}}
			if tok.Role == RoleIngest {
				c.p.Name = reg.t.EconomySystem.ID
			}
			copy(c.hash[:], raw)
			r.creds = append(r.creds, c)
		}
	}
}

// Get returns the current version of a tenant, with its secret and tokens,
// and whether there is one. The tenant shares nothing with the registry.
func (r *Registry) Get(kommune string) (Tenant, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	reg, ok := r.tenants[kommune]
	if !ok {
		return Tenant{}, false
	}
	return reg.t.clone(), true
}

// Changed returns a channel that is closed at the registry's next change
// (a tenant stored, changed or deleted), for a view that must follow the
// set of municipalities: wait on it, then read again and ask again.
func (r *Registry) Changed() <-chan struct{} {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.changed
}

// List returns every tenant, sorted by kommune code.
func (r *Registry) List() []Tenant {
	r.mu.RLock()
	out := make([]Tenant, 0, len(r.tenants))
	for _, reg := range r.tenants {
		out = append(out, reg.t.clone())
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Tenant) int { return strings.Compare(a.Kommune, b.Kommune) })
	return out
}

// Authenticate returns who holds a bearer token: an admin ([RoleAdmin],
// empty Kommune, Name "admin") for one of the admin token hashes, otherwise the role,
// kommune and name of the tenant token whose hash matches (for
// [RoleIngest] the name is the economy system's id). It compares the
// token's SHA-256 with every known hash in constant time, without stopping
// at a match. The error wraps [ErrAuth] for an empty or unknown token, and
// for a token listed by two principals. Nothing about the token is logged
// or put in the error.
func (r *Registry) Authenticate(token string) (Principal, error) {
	if token == "" {
		return Principal{}, fmt.Errorf("%w: no token", ErrAuth)
	}
	sum := sha256.Sum256([]byte(token))
	r.mu.RLock()
	defer r.mu.RUnlock()
	var (
		found   Principal
		matches int
	)
	for _, list := range [][]credential{r.admins, r.creds} {
		for i := range list {
			if subtle.ConstantTimeCompare(sum[:], list[i].hash[:]) == 1 {
				if matches == 0 || list[i].p != found {
					matches++
				}
				found = list[i].p
			}
		}
	}
	switch matches {
	case 0:
		return Principal{}, fmt.Errorf("%w: unknown token", ErrAuth)
	case 1:
		return found, nil
	default:
		// Two tenants (or a tenant and the admins) hold the same token:
		// refuse rather than guess which one is meant.
		return Principal{}, fmt.Errorf("%w: the token is registered more than once", ErrAuth)
	}
}

// Senders returns the sender register of a tenant (V24, V48). It reads the
// registry on each lookup, so it follows changes; for an unknown tenant no
// sender is known.
func (r *Registry) Senders(kommune string) efaktura.SenderRegister {
	return senderView{r: r, kommune: kommune}
}

type senderView struct {
	r       *Registry
	kommune string
}

var _ efaktura.SenderRegister = senderView{}

// LookupSender implements [efaktura.SenderRegister].
func (v senderView) LookupSender(ctx context.Context, idType, id string) (efaktura.Sender, bool, error) {
	v.r.mu.RLock()
	defer v.r.mu.RUnlock()
	return v.r.tenants[v.kommune].senders.LookupSender(ctx, idType, id)
}

// WaitVersion blocks until the registry has seen the tenant's record at
// version or later (a newer version or a delete), e.g. the Version that
// [Store.Put] returned. It returns ctx's error when ctx ends first, and
// [ErrStopped] when the registry no longer follows the bucket.
func (r *Registry) WaitVersion(ctx context.Context, kommune string, version uint64) error {
	for {
		r.mu.RLock()
		seen, stopped, changed := r.seen[kommune], r.stopped, r.changed
		r.mu.RUnlock()
		switch {
		case seen >= version:
			return nil
		case stopped:
			return fmt.Errorf("wait for kommune %s version %d: %w", kommune, version, ErrStopped)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for kommune %s version %d: %w", kommune, version, ctx.Err())
		case <-changed:
		}
	}
}

// SplitAdminHash splits an admin token's hash as configured, NAME:HASH or
// HASH alone, into the name its holder goes by in histories ("admin" when
// none is given) and the hex SHA-256 of the token.
func SplitAdminHash(s string) (name, hash string) {
	if name, hash, ok := strings.Cut(s, ":"); ok && strings.TrimSpace(name) != "" {
		return strings.TrimSpace(name), strings.TrimSpace(hash)
	}
	return string(RoleAdmin), strings.TrimPrefix(s, ":")
}
