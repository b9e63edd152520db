package redistest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TLS is what a TLS-only Redis with an ACL user needs: its certificate and
// key, the CA that signed them (and any client certificate), and the one
// user clients may log in as; the default user is off.
type TLS struct {
	CertFile, KeyFile, CAFile string
	User, Password            string
}

// StartTLS runs redis-server with TLS only (no plain port) and an ACL
// user, as deploy/compose.yaml and the Helm chart's production values do,
// and stops it when the test ends. Debian's redis-server is built with
// TLS support; a redis-server without it fails the test, saying so. The
// server's URL is rediss://USER:PASSWORD@127.0.0.1:PORT/0.
func StartTLS(t testing.TB, o TLS) *Server {
	t.Helper()
	bin := serverBinary(t)
	pem, err := os.ReadFile(o.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	dir := t.TempDir()
	ping := func(addr string) error { return tlsPing(addr, pool, o.User, o.Password) }
	s, err := onFreePort(t, func(port int) (*Server, error) {
		s, err := startWith(bin, dir, port, ping, "--port", "0", "--tls-port", strconv.Itoa(port),
			"--tls-cert-file", o.CertFile, "--tls-key-file", o.KeyFile, "--tls-ca-cert-file", o.CAFile,
			// Client certificates are optional: the ACL user's password
			// is the credential.
			"--tls-auth-clients", "optional",
			"--user", "default", "off",
			"--user", o.User, "on", ">"+o.Password, "~*", "&*", "+@all")
		if err == nil {
			s.url = (&url.URL{Scheme: "rediss", User: url.UserPassword(o.User, o.Password), Host: s.Addr, Path: "/0"}).String()
		}
		return s, err
	})
	if err != nil {
		t.Fatalf("redistest: TLS: %v (is redis-server built with TLS? redis-server --tls-port needs BUILD_TLS=yes)", err)
	}
	return s
}

// tlsPing logs in over TLS and expects PONG.
func tlsPing(addr string, pool *x509.CertPool, user, password string) error {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "AUTH %s %s\r\nPING\r\n", user, password)
	r := bufio.NewReader(c)
	for _, want := range []string{"+OK", "+PONG"} {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.TrimSpace(line) != want {
			return fmt.Errorf("answered %q, want %s", strings.TrimSpace(line), want)
		}
	}
	return nil
}
