// Package natsauthtest starts an embedded NATS JetStream server with the
// shipped permissions (deploy/nats/permissions.conf) and one nkey user per
// identity, and makes test certificates, for tests of efaktura's security
// model (issue 16). Nothing here is for production: the keys and
// certificates live in the test's temporary directory.
package natsauthtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/kp-efaktura/efaktura/pkg/natsauth"
	"github.com/kp-efaktura/efaktura/pkg/natsembed"
)

// PermissionsFile returns the path of the checked-in
// deploy/nats/permissions.conf, found by walking up from the working
// directory to the repository's root.
func PermissionsFile(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "deploy", "nats", "permissions.conf")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("natsauthtest: deploy/nats/permissions.conf not found above the working directory")
		}
		dir = parent
	}
}

// Identity is one identity's nkey: the public key the server knows and
// the file holding the seed, as NATS_NKEY names it.
type Identity struct {
	Public, SeedFile string
}

// Server is an embedded server with authentication.
type Server struct {
	*server.Server
	// Identities are the nkeys of natsauth.Identities, by name.
	Identities map[string]Identity
	// UsersFile is the users file the server loaded.
	UsersFile string

	config natsembed.Config
	dir    string

	mu         sync.Mutex
	violations []string
}

// Options adjust the server.
type Options struct {
	// TLS, when set, makes clients connect over TLS with a certificate of
	// this CA for 127.0.0.1, and demands a client certificate of it when
	// Verify is set.
	TLS    *CA
	Verify bool
	// Extra users, beside one nkey user per identity (e.g. a second user
	// of an identity during a rotation).
	Extra []natsauth.User
}

// Start starts the server and shuts it down when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{Identities: map[string]Identity{}}
	var users []natsauth.User
	for _, name := range natsauth.Identities {
		id := NewIdentity(t, dir, name)
		s.Identities[name] = id
		users = append(users, natsauth.User{Identity: name, NKey: id.Public})
	}
	users = append(users, o.Extra...)
	s.dir, s.UsersFile = dir, filepath.Join(dir, "users.conf")
	s.writeUsers(t, users)
	c := natsembed.Config{StoreDir: filepath.Join(dir, "store"), Name: "natsauthtest", ConfigFile: s.UsersFile}
	if o.TLS != nil {
		cert, key := o.TLS.Issue(t, "nats-server", true)
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: o.TLS.Pool, MinVersion: tls.VersionTLS12}
		if o.Verify {
			c.TLS.ClientAuth = tls.RequireAndVerifyClientCert
			c.TLSVerify = true
		}
	}
	s.config = c
	ns, err := natsembed.Start(c)
	if err != nil {
		t.Fatalf("natsauthtest: %v", err)
	}
	ns.SetLogger(violationLog{s}, false, false)
	s.Server = ns
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return s
}

// writeUsers writes the users file with users.
func (s *Server) writeUsers(t testing.TB, users []natsauth.User) {
	t.Helper()
	// NATS reads an include relative to the including file, whatever it
	// says.
	rel, err := filepath.Rel(s.dir, PermissionsFile(t))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := natsauth.Users(rel, users)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.UsersFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
}

// SetUsers rewrites the users file with users and reloads the server, as
// an operator does with nats-server --signal reload.
func (s *Server) SetUsers(t testing.TB, users []natsauth.User) {
	t.Helper()
	s.writeUsers(t, users)
	if err := natsembed.Reload(s.Server, s.config); err != nil {
		t.Fatal(err)
	}
	ns := s.Server
	ns.SetLogger(violationLog{s}, false, false)
}

// NewIdentity makes an nkey user and writes its seed to a file in dir.
func NewIdentity(t testing.TB, dir, name string) Identity {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	f := filepath.Join(dir, name+"-"+pub[:8]+".nk")
	if err := os.WriteFile(f, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return Identity{Public: pub, SeedFile: f}
}

// Violations are the permission violations the server logged so far.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// violationLog keeps the server's permission violations; the rest of its
// log is dropped, as natsembed does without Log.
type violationLog struct{ s *Server }

func (l violationLog) Errorf(format string, v ...any) {
	if msg := fmt.Sprintf(format, v...); strings.Contains(msg, "Violation") {
		l.s.mu.Lock()
		l.s.violations = append(l.s.violations, msg)
		l.s.mu.Unlock()
	}
}
func (violationLog) Noticef(string, ...any) {}
func (violationLog) Warnf(string, ...any)   {}
func (violationLog) Fatalf(string, ...any)  {}
func (violationLog) Debugf(string, ...any)  {}
func (violationLog) Tracef(string, ...any)  {}

// CA is a test certificate authority, made at test time.
type CA struct {
	// File is the CA certificate, PEM, as NATS_CA and REDIS_CA name it.
	File string
	Pool *x509.CertPool
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
	n    int64
}

// NewCA makes a CA valid for an hour.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "efaktura test CA"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &CA{cert: cert, key: key, dir: t.TempDir(), Pool: x509.NewCertPool(), n: 1}
	ca.Pool.AddCert(cert)
	ca.File = filepath.Join(ca.dir, "ca.pem")
	writePEM(t, ca.File, "CERTIFICATE", der)
	return ca
}

// Issue makes a certificate for name, a server's for 127.0.0.1 and
// localhost or a client's, and returns its certificate and key files.
func (ca *CA) Issue(t testing.TB, name string, isServer bool) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca.n++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.n), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if isServer {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(ca.dir, fmt.Sprintf("%s-%d.pem", name, ca.n))
	keyFile = filepath.Join(ca.dir, fmt.Sprintf("%s-%d-key.pem", name, ca.n))
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
