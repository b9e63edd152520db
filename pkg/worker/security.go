package worker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/pkg/natsauth"
)

// Security is how a worker proves who it is to NATS and Redis and how it
// encrypts the way there, and whether its HTTP API speaks TLS (issue 16).
// Secrets come from files or the environment, never from flags, which
// show in process lists.
type Security struct {
	// NATSCreds is a NATS credentials file (a user JWT and its nkey seed,
	// as nsc writes it); NATSNKey a file holding an nkey seed ("SU...");
	// NATSUser a user name, whose password is NATS_PASSWORD. At most one.
	NATSCreds, NATSNKey, NATSUser string
	natsPassword                  string
	// NATSCA verifies the NATS servers' certificates (and makes the
	// connection TLS); NATSCert and NATSKey are a client certificate, for
	// servers that ask for one.
	NATSCA, NATSCert, NATSKey string
	// RedisCA verifies the Redis server's certificate for a rediss:// URL;
	// RedisCert and RedisKey are a client certificate for one that asks.
	RedisCA, RedisCert, RedisKey string
	// TLSCert and TLSKey, both set, make the worker's HTTP API and admin
	// API serve HTTPS; without them an ingress terminates TLS.
	TLSCert, TLSKey string
}

// securityFlags defines the settings of s on fs, their defaults from env.
func securityFlags(fs *flag.FlagSet, env *Env, s *Security) {
	fs.StringVar(&s.NATSCreds, "nats-creds", env.String("NATS_CREDS", ""), "NATS credentials `file` (user JWT and nkey seed) of this worker's identity (env NATS_CREDS)")
	fs.StringVar(&s.NATSNKey, "nats-nkey", env.String("NATS_NKEY", ""), "`file` holding the nkey seed of this worker's NATS identity (env NATS_NKEY)")
	fs.StringVar(&s.NATSUser, "nats-user", env.String("NATS_USER", ""), "NATS user `name` of this worker's identity; the password is NATS_PASSWORD (env NATS_USER)")
	fs.StringVar(&s.NATSCA, "nats-ca", env.String("NATS_CA", ""), "PEM `file` of the CA that signed the NATS servers' certificates; makes the connection TLS (env NATS_CA)")
	fs.StringVar(&s.NATSCert, "nats-cert", env.String("NATS_CERT", ""), "PEM `file` of a client certificate for NATS, with --nats-key (env NATS_CERT)")
	fs.StringVar(&s.NATSKey, "nats-key", env.String("NATS_KEY", ""), "PEM `file` of the client certificate's key for NATS (env NATS_KEY)")
	fs.StringVar(&s.RedisCA, "redis-ca", env.String("REDIS_CA", ""), "PEM `file` of the CA that signed Redis's certificate, for a rediss:// URL (env REDIS_CA)")
	fs.StringVar(&s.RedisCert, "redis-cert", env.String("REDIS_CERT", ""), "PEM `file` of a client certificate for Redis, with --redis-key (env REDIS_CERT)")
	fs.StringVar(&s.RedisKey, "redis-key", env.String("REDIS_KEY", ""), "PEM `file` of the client certificate's key for Redis (env REDIS_KEY)")
	fs.StringVar(&s.TLSCert, "tls-cert", env.String("EFAKTURA_TLS_CERT", ""), "PEM `file` of the HTTP API's certificate (chain); with --tls-key the API serves HTTPS, else an ingress terminates TLS (env EFAKTURA_TLS_CERT)")
	fs.StringVar(&s.TLSKey, "tls-key", env.String("EFAKTURA_TLS_KEY", ""), "PEM `file` of the HTTP API certificate's key (env EFAKTURA_TLS_KEY)")
}

// check reports what does not fit together; files are read at connect.
func (s *Security) check(getenv func(string) string) error {
	s.natsPassword = getenv("NATS_PASSWORD")
	var errs []error
	n := 0
	for _, v := range []string{s.NATSCreds, s.NATSNKey, s.NATSUser} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		errs = append(errs, errors.New("give one NATS identity: --nats-creds, --nats-nkey or --nats-user (NATS_CREDS, NATS_NKEY, NATS_USER)"))
	}
	if s.NATSUser != "" && s.natsPassword == "" {
		errs = append(errs, errors.New("--nats-user (NATS_USER) needs NATS_PASSWORD"))
	}
	for _, p := range []struct{ what, cert, key string }{
		{"--nats-cert and --nats-key (NATS_CERT, NATS_KEY)", s.NATSCert, s.NATSKey},
		{"--redis-cert and --redis-key (REDIS_CERT, REDIS_KEY)", s.RedisCert, s.RedisKey},
		{"--tls-cert and --tls-key (EFAKTURA_TLS_CERT, EFAKTURA_TLS_KEY)", s.TLSCert, s.TLSKey},
	} {
		if (p.cert == "") != (p.key == "") {
			errs = append(errs, fmt.Errorf("%s go together", p.what))
		}
	}
	return errors.Join(errs...)
}

// NATSOptions are the connection options of identity name: its
// credentials, its own inbox prefix (its permissions allow replies there
// only) and TLS.
func (s Security) NATSOptions(name string) []nats.Option {
	opts := []nats.Option{nats.CustomInboxPrefix(natsauth.InboxPrefix(name))}
	switch {
	case s.NATSCreds != "":
		opts = append(opts, nats.UserCredentials(s.NATSCreds))
	case s.NATSNKey != "":
		opt, err := nats.NkeyOptionFromSeed(s.NATSNKey)
		if err != nil {
			opt = func(*nats.Options) error { return fmt.Errorf("NATS nkey seed file: %w", err) }
		}
		opts = append(opts, opt)
	case s.NATSUser != "":
		opts = append(opts, nats.UserInfo(s.NATSUser, s.natsPassword))
	}
	if s.NATSCA != "" {
		opts = append(opts, nats.RootCAs(s.NATSCA))
	}
	if s.NATSCert != "" {
		opts = append(opts, nats.ClientCert(s.NATSCert, s.NATSKey))
	}
	return opts
}

// RedisTLS adds the CA and client certificate to o, a rediss:// URL's
// options (ParseURL sets o.TLSConfig for rediss only).
func (s Security) RedisTLS(o *redis.Options) error {
	if o.TLSConfig == nil {
		if s.RedisCA != "" || s.RedisCert != "" {
			return errors.New("--redis-ca and --redis-cert (REDIS_CA, REDIS_CERT) need a rediss:// URL")
		}
		return nil
	}
	if s.RedisCA != "" {
		pem, err := os.ReadFile(s.RedisCA)
		if err != nil {
			return fmt.Errorf("redis CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("redis CA %s: no PEM certificate in it", s.RedisCA)
		}
		o.TLSConfig.RootCAs = pool
	}
	if s.RedisCert != "" {
		cert, err := tls.LoadX509KeyPair(s.RedisCert, s.RedisKey)
		if err != nil {
			return fmt.Errorf("redis client certificate: %w", err)
		}
		o.TLSConfig.Certificates = []tls.Certificate{cert}
	}
	o.TLSConfig.MinVersion = tls.VersionTLS12
	return nil
}

// RedisClient opens the client of a Redis URL with s's TLS settings.
func (s Security) RedisClient(url string) (*redis.Client, error) {
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %s is not a valid Redis URL", RedactURL(url))
	}
	if err := s.RedisTLS(ro); err != nil {
		return nil, err
	}
	return redis.NewClient(ro), nil
}

// listen listens on addr, with TLS when s has a certificate and useTLS is
// set. The certificate is read at start, so a missing or bad one stops the
// worker, and again whenever its file changes: a renewed certificate
// (cert-manager's, say) is served without a restart.
func (s Security) listen(addr string, useTLS bool) (net.Listener, error) {
	if !useTLS || s.TLSCert == "" {
		return net.Listen("tcp", addr)
	}
	r := &certReloader{cert: s.TLSCert, key: s.TLSKey}
	if _, err := r.get(nil); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return tls.NewListener(ln, &tls.Config{GetCertificate: r.get, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}), nil
}

// certReloader serves a certificate from files, read again when the
// certificate file's modification time changes.
type certReloader struct {
	cert, key string
	mu        sync.Mutex
	mod       time.Time
	current   *tls.Certificate
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fi, err := os.Stat(r.cert)
	if err != nil {
		if r.current != nil {
			return r.current, nil // mid-rotation: keep the last good one
		}
		return nil, fmt.Errorf("HTTP API certificate: %w", err)
	}
	if r.current != nil && fi.ModTime().Equal(r.mod) {
		return r.current, nil
	}
	cert, err := tls.LoadX509KeyPair(r.cert, r.key)
	if err != nil {
		if r.current != nil {
			return r.current, nil
		}
		return nil, fmt.Errorf("HTTP API certificate: %w", err)
	}
	r.current, r.mod = &cert, fi.ModTime()
	return r.current, nil
}

// natsErrors logs the errors the NATS server sends a connection outside a
// request, a permissions violation above all: a worker whose identity
// lacks a permission it needs says so in its log, naming the subject.
func natsErrors(log *slog.Logger) nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		attrs := []any{"err", err}
		if sub != nil {
			attrs = append(attrs, "subject", sub.Subject)
		}
		log.Error("NATS error (a permissions violation names the subject refused)", attrs...)
	})
}

// LogValue is the start-up line's view: which kinds of credentials and
// TLS are set, never the files' contents.
func (s Security) LogValue() slog.Value {
	identity := "none"
	switch {
	case s.NATSCreds != "":
		identity = "creds"
	case s.NATSNKey != "":
		identity = "nkey"
	case s.NATSUser != "":
		identity = "user " + s.NATSUser
	}
	return slog.GroupValue(
		slog.String("nats_identity", identity),
		slog.Bool("nats_tls", s.NATSCA != "" || s.NATSCert != ""),
		slog.Bool("http_tls", s.TLSCert != ""),
	)
}

// SecurityFromEnv reads the NATS identity and TLS settings from the
// environment alone (NATS_CREDS, NATS_NKEY, NATS_USER and NATS_PASSWORD,
// NATS_CA, NATS_CERT, NATS_KEY), as the operator commands take them for
// the admin identity.
func SecurityFromEnv(getenv func(string) string) (Security, error) {
	var s Security
	fs := flag.NewFlagSet("security", flag.ContinueOnError)
	env := NewEnv(getenv)
	securityFlags(fs, env, &s)
	return s, errors.Join(env.Err(), s.check(getenv))
}
