package natsauth_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/natsauth"
	"github.com/kp-efaktura/efaktura/pkg/natsauth/natsauthtest"
)

var update = flag.Bool("update", false, "write the generated files (deploy/nats/permissions.conf, the chart's copy)")

// shipped are the checked-in copies of Config(Layout{}): the deployment's
// and the Helm chart's (helm cannot read files outside the chart).
var shipped = []string{"deploy/nats/permissions.conf", "helm/efaktura/files/nats-permissions.conf"}

// TestShippedPermissions keeps the checked-in server configuration equal to
// the code, so the permissions cannot drift from the event catalogue.
func TestShippedPermissions(t *testing.T) {
	root := filepath.Dir(filepath.Dir(filepath.Dir(natsauthtest.PermissionsFile(t))))
	want := natsauth.Config(natsauth.Layout{})
	for _, rel := range shipped {
		p := filepath.Join(root, rel)
		if *update {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (write it with: cd pkg && go test ./natsauth -run TestShippedPermissions -update)", err)
		}
		if string(got) != want {
			t.Errorf("%s differs from natsauth.Config; regenerate it: cd pkg && go test ./natsauth -run TestShippedPermissions -update", rel)
		}
	}
}

// Every event type has exactly one publishing worker, but
// bundle.submitted, which comes from upstream (the submitter identity).
func TestEveryEventTypeHasOnePublisher(t *testing.T) {
	for _, typ := range events.Types() {
		var by []string
		for _, w := range natsauth.Workers {
			if slices.Contains(natsauth.Publishes(w), typ) {
				by = append(by, w)
			}
		}
		want := 1
		if typ == events.TypeBundleSubmitted {
			want = 0
		}
		if len(by) != want {
			t.Errorf("%s is published by %v; want %d worker(s)", typ, by, want)
		}
	}
}

// conn connects as identity name and records the errors the server sends.
type conn struct {
	*nats.Conn
	js   jetstream.JetStream
	mu   sync.Mutex
	errs []string
}

func connect(t *testing.T, s *natsauthtest.Server, name string, opts ...nats.Option) *conn {
	t.Helper()
	c := &conn{}
	id := s.Identities[name]
	seed, err := nats.NkeyOptionFromSeed(id.SeedFile)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]nats.Option{seed, nats.CustomInboxPrefix(natsauth.InboxPrefix(name)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			c.mu.Lock()
			c.errs = append(c.errs, err.Error())
			c.mu.Unlock()
		})}, opts...)
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("connect as %s: %v", name, err)
	}
	t.Cleanup(nc.Close)
	c.Conn = nc
	c.js, _ = jetstream.New(nc)
	return c
}

// refused waits until the server has refused subject to c with a
// permissions violation.
func (c *conn) refused(t *testing.T, what, subject string) {
	t.Helper()
	bustest.Eventually(t, what+" refused", func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range c.errs {
			if strings.Contains(e, "ermissions violation") && strings.Contains(e, `"`+subject+`"`) {
				return nil
			}
		}
		return fmt.Errorf("no permissions violation for %s; errors so far: %q", subject, c.errs)
	})
}

// TestEachIdentityIsHeldToItsPermissions starts the embedded server with
// the shipped permissions: each worker publishes its own event types, and
// is refused, with a permissions violation, when it publishes another
// worker's, reads a bucket or stream it does not use, or deletes a stream.
func TestEachIdentityIsHeldToItsPermissions(t *testing.T) {
	s := natsauthtest.Start(t, natsauthtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := connect(t, s, natsauth.Admin)
	if _, err := admin.js.CreateStream(ctx, jetstream.StreamConfig{Name: "EFAKTURA", Subjects: events.StreamSubjects()}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.js.CreateStream(ctx, jetstream.StreamConfig{Name: events.RawStream, Subjects: []string{events.RawSubjects}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "EFAKTURA_documents"}); err != nil {
		t.Fatal(err)
	}

	for _, w := range natsauth.Workers {
		t.Run(w, func(t *testing.T) {
			c := connect(t, s, w)
			for _, typ := range events.Types() {
				subject, _ := events.Subject("0101", typ)
				if slices.Contains(natsauth.Publishes(w), typ) {
					if typ == events.TypeAnswerQueued {
						continue // its stream is respond's own, not created here
					}
					if _, err := c.js.Publish(ctx, subject, []byte("{}")); err != nil {
						t.Errorf("%s publishes its own %s: %v", w, typ, err)
					}
					continue
				}
				if err := c.Publish(subject, []byte("{}")); err != nil {
					t.Fatal(err)
				}
				c.refused(t, w+" publishing "+typ, subject)
			}

			// A bucket or stream the worker does not use.
			short, stop := context.WithTimeout(ctx, 500*time.Millisecond)
			defer stop()
			if w == natsauth.Decide {
				_, err := c.js.Stream(short, events.RawStream)
				if err == nil {
					t.Errorf("decide looked up stream %s", events.RawStream)
				}
				c.refused(t, "decide reading the raw documents", "$JS.API.STREAM.INFO."+events.RawStream)
			} else {
				_, err := c.js.KeyValue(short, "EFAKTURA_documents")
				if err == nil {
					t.Errorf("%s opened decide's bucket", w)
				}
				c.refused(t, w+" reading decide's bucket", "$JS.API.STREAM.INFO.KV_EFAKTURA_documents")
			}
			if w != natsauth.Decide {
				if err := c.Publish("$KV.EFAKTURA_tenants.0101", []byte("{}")); err != nil {
					t.Fatal(err)
				}
				c.refused(t, w+" writing a municipality", "$KV.EFAKTURA_tenants.0101")
			}

			// Deleting or purging the event stream.
			del, stop2 := context.WithTimeout(ctx, 500*time.Millisecond)
			defer stop2()
			if err := c.js.DeleteStream(del, "EFAKTURA"); err == nil {
				t.Errorf("%s deleted the event stream", w)
			}
			c.refused(t, w+" deleting the event stream", "$JS.API.STREAM.DELETE.EFAKTURA")
			if err := c.Publish("$JS.API.STREAM.PURGE.EFAKTURA", nil); err != nil {
				t.Fatal(err)
			}
			c.refused(t, w+" purging the event stream", "$JS.API.STREAM.PURGE.EFAKTURA")
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		_, err := nats.Connect(s.ClientURL())
		if err == nil || !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("connect without credentials: %v, want an authorization violation", err)
		}
	})
	if t.Failed() {
		t.Logf("the server logged: %q", s.Violations())
	}
}

// Clients reach the server over TLS with a test CA, with a client
// certificate when the server demands one; a client without one, or
// without the CA, is refused.
func TestTLS(t *testing.T) {
	ca := natsauthtest.NewCA(t)
	s := natsauthtest.Start(t, natsauthtest.Options{TLS: ca, Verify: true})
	cert, key := ca.Issue(t, "validate", false)
	c := connect(t, s, natsauth.Validate, nats.RootCAs(ca.File), nats.ClientCert(cert, key))
	if !c.TLSRequired() {
		t.Error("the connection is not TLS")
	}
	if err := c.Publish("efaktura.0101.document.validated", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	seed, _ := nats.NkeyOptionFromSeed(s.Identities[natsauth.Validate].SeedFile)
	if _, err := nats.Connect(s.ClientURL(), seed, nats.RootCAs(ca.File)); err == nil {
		t.Error("connected without a client certificate to a server that demands one")
	}
	if _, err := nats.Connect(s.ClientURL(), seed, nats.ClientCert(cert, key)); err == nil {
		t.Error("connected without the CA that signed the server's certificate")
	}
}

// Users refuses a user without credentials and an unknown identity.
func TestUsers(t *testing.T) {
	if _, err := natsauth.Users("p.conf", []natsauth.User{{Identity: "ingest"}}); err == nil {
		t.Error("a user without credentials was accepted")
	}
	if _, err := natsauth.Users("p.conf", []natsauth.User{{Identity: "mallory", NKey: "UABC"}}); err == nil {
		t.Error("an unknown identity was accepted")
	}
	got, err := natsauth.Users("p.conf", []natsauth.User{{Identity: "ingest", NKey: "UABC"}, {Identity: "ingest", Name: "ingest-2", Password: "$2a$11$x"}})
	if err != nil || !strings.Contains(got, `permissions: $EFAKTURA_INGEST_PERMISSIONS`) {
		t.Errorf("Users: %v\n%s", err, got)
	}
}

// A worker's NATS credential rotates without downtime: the identity has
// two users while the workers move to the new key, and once the old one
// is removed and the server reloaded, the old key is refused and its
// connections closed.
func TestRotation(t *testing.T) {
	s := natsauthtest.Start(t, natsauthtest.Options{})
	var users []natsauth.User
	for _, name := range natsauth.Identities {
		users = append(users, natsauth.User{Identity: name, NKey: s.Identities[name].Public})
	}
	old := s.Identities[natsauth.Ingest]
	next := natsauthtest.NewIdentity(t, t.TempDir(), natsauth.Ingest)
	s.SetUsers(t, append(users, natsauth.User{Identity: natsauth.Ingest, NKey: next.Public}))

	oldConn := connect(t, s, natsauth.Ingest)
	s.Identities[natsauth.Ingest] = next
	nextConn := connect(t, s, natsauth.Ingest)
	for _, c := range []*conn{oldConn, nextConn} {
		if err := c.Publish("efaktura.0101.bundle.received", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if v := s.Violations(); len(v) > 0 {
		t.Fatalf("refused during the change: %q", v)
	}

	// The old key removed: the users file lists the new one only.
	for i := range users {
		if users[i].Identity == natsauth.Ingest {
			users[i].NKey = next.Public
		}
	}
	s.SetUsers(t, users)
	bustest.Eventually(t, "the old key's connection to be closed", func() error {
		if oldConn.IsConnected() {
			return errors.New("still connected")
		}
		return nil
	})
	seed, _ := nats.NkeyOptionFromSeed(old.SeedFile)
	if _, err := nats.Connect(s.ClientURL(), seed, nats.NoReconnect()); err == nil {
		t.Error("the removed key still connects")
	}
	if err := nextConn.Publish("efaktura.0101.bundle.received", nil); err != nil {
		t.Fatal(err)
	}
	if err := nextConn.Flush(); err != nil {
		t.Errorf("the new key's connection after the reload: %v", err)
	}
}
