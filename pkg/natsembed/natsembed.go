// Package natsembed runs a NATS JetStream server inside the process, for the
// all-in-one "efaktura up" and for tests (see natstest). A deployment that
// outgrows one machine runs a NATS cluster instead and points NATS_URL at it.
package natsembed

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config is what an embedded server needs. A zero field takes the default
// shown.
type Config struct {
	// StoreDir keeps JetStream's streams, buckets and objects; required.
	StoreDir string
	// Host and Port to listen on for clients; default 127.0.0.1 and a free
	// port. The server listens even in one process: workers run alone
	// against it with NATS_URL, and clustering needs a listener.
	Host string
	Port int
	// MaxPayload is the largest message, in bytes; default 8 MiB, room for
	// a large document in one event.
	MaxPayload int32
	// MaxMemory bounds, in bytes, what JetStream keeps in streams and
	// buckets with memory storage (EFAKTURA_STORAGE=memory); file storage
	// does not count against it, and it is no limit on the process's
	// memory. Default (0): the server's, 75 % of the machine's memory, or
	// of GOMEMLIMIT when that is lower.
	MaxMemory int64
	// MaxStore bounds, in bytes, what JetStream keeps on disk under
	// StoreDir; once it is reached, publishes are refused ("insufficient
	// resources") until retention frees space. Default (0): the server's,
	// 75 % of the space free on StoreDir's file system when the server
	// starts, or 1 TiB when that cannot be read.
	MaxStore int64
	// Name identifies the server in logs; default "efaktura".
	Name string
	// Log turns the server's own logging on.
	Log bool
	// Cluster joins the server to a JetStream cluster, for tests of
	// replicated streams; nil for a single server.
	Cluster *Cluster
	// ConfigFile is a NATS server configuration file whose accounts,
	// users and permissions the server takes, e.g. a users file that
	// includes deploy/nats/permissions.conf (issue 16); "" for none, and
	// then every client may do anything. The fields above win over the
	// file's listen address, store and limits.
	ConfigFile string
	// TLS makes clients connect over TLS with this configuration (its
	// certificate, and a ClientCAs pool to verify client certificates
	// when TLSVerify is set); nil for plain TCP.
	TLS       *tls.Config
	TLSVerify bool
}

// Cluster is a server's place in a cluster of embedded servers.
type Cluster struct {
	Name   string   // the same on every node
	Port   int      // this node's route port
	Routes []string // every node's route URL, e.g. nats://127.0.0.1:6222
}

// Start starts a JetStream server and waits until it accepts clients.
// Shut it down with Shutdown and WaitForShutdown.
func Start(c Config) (*server.Server, error) {
	if c.StoreDir == "" {
		return nil, fmt.Errorf("natsembed: a store directory is required")
	}
	if c.MaxMemory < 0 || c.MaxStore < 0 {
		return nil, fmt.Errorf("natsembed: max memory %d and max store %d must not be negative; 0 takes the server's default", c.MaxMemory, c.MaxStore)
	}
	c = c.withDefaults()
	o, err := c.options()
	if err != nil {
		return nil, err
	}
	s, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	if c.Log {
		s.ConfigureLogger()
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("natsembed: server on %s:%d not ready within 10s", c.Host, c.Port)
	}
	return s, nil
}

func (c Config) withDefaults() Config {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.Port == 0 {
		c.Port = server.RANDOM_PORT
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = 8 << 20
	}
	if c.Name == "" {
		c.Name = "efaktura"
	}
	return c
}

// options are the server's options under c, defaults applied.
func (c Config) options() (*server.Options, error) {
	o := &server.Options{}
	if c.ConfigFile != "" {
		var err error
		if o, err = server.ProcessConfigFile(c.ConfigFile); err != nil {
			return nil, fmt.Errorf("natsembed: %w", err)
		}
	}
	o.ServerName = c.Name
	o.Host, o.Port = c.Host, c.Port
	o.JetStream, o.StoreDir = true, c.StoreDir
	o.MaxPayload = c.MaxPayload
	o.NoLog, o.NoSigs = !c.Log, true
	// 0 leaves the choice to the server (see Config).
	o.JetStreamMaxMemory, o.JetStreamMaxStore = c.MaxMemory, c.MaxStore
	if c.TLS != nil {
		o.TLS, o.TLSConfig, o.TLSVerify, o.TLSTimeout = true, c.TLS, c.TLSVerify, 2
	}
	if c.Cluster != nil {
		o.Cluster = server.ClusterOpts{Name: c.Cluster.Name, Host: c.Host, Port: c.Cluster.Port}
		o.Routes = server.RoutesFromStr(strings.Join(c.Cluster.Routes, ","))
	}
	return o, nil
}

// Reload applies c's configuration file again to a server Start started
// with c, as a SIGHUP does to nats-server: users added or removed there
// take effect at once, and connections of removed users are closed. This
// is how a NATS credential is rotated without downtime (docs/operations.md).
func Reload(s *server.Server, c Config) error {
	c.Port = s.Addr().(*net.TCPAddr).Port
	o, err := c.withDefaults().options()
	if err != nil {
		return err
	}
	if err := s.ReloadOptions(o); err != nil {
		return fmt.Errorf("natsembed: reload: %w", err)
	}
	return nil
}
