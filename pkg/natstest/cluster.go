package natstest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/natsembed"
)

// Cluster is a JetStream cluster of embedded servers on loopback, whose
// nodes can be stopped and restarted on their ports and data.
type Cluster struct {
	t       testing.TB
	configs []natsembed.Config
	Servers []*server.Server // nil while a node is stopped
}

// StartCluster starts an n-node JetStream cluster, waits until it has a
// JetStream meta leader, and shuts it down when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t, Servers: make([]*server.Server, n)}
	var routes []string
	clientPorts, routePorts := make([]int, n), make([]int, n)
	for i := range n {
		clientPorts[i], routePorts[i] = freePort(t), freePort(t)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i]))
	}
	for i := range n {
		c.configs = append(c.configs, natsembed.Config{
			StoreDir: t.TempDir(), Port: clientPorts[i], Name: fmt.Sprintf("node-%d", i),
			Cluster: &natsembed.Cluster{Name: "natstest", Port: routePorts[i], Routes: routes},
		})
	}
	t.Cleanup(func() {
		for i := range c.Servers {
			c.Stop(i)
		}
	})
	for i := range n {
		c.Restart(i)
	}
	c.WaitForJetStream()
	return c
}

// URL is every node's client URL, comma-separated, as nats.Connect takes.
func (c *Cluster) URL() string {
	var urls []string
	for _, cfg := range c.configs {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", cfg.Port))
	}
	return strings.Join(urls, ",")
}

// Stop shuts node i down, as a crash would from the clients' view.
func (c *Cluster) Stop(i int) {
	if s := c.Servers[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.Servers[i] = nil
	}
}

// Restart starts node i again on its ports and data.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	s, err := natsembed.Start(c.configs[i])
	if err != nil {
		c.t.Fatalf("natstest: node %d: %v", i, err)
	}
	c.Servers[i] = s
}

// WaitForJetStream waits until the cluster's JetStream API answers.
func (c *Cluster) WaitForJetStream() {
	c.t.Helper()
	nc, err := nats.Connect(c.URL())
	if err != nil {
		c.t.Fatalf("natstest: connect to the cluster: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := js.AccountInfo(c.t.Context())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("natstest: cluster JetStream not ready in 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
