package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadPrecedence(t *testing.T) {
	hash := tenant.HashToken("secret")
	var extra int
	c, err := Load("decide", ":8082", []string{"--http", "127.0.0.1:9000", "--n", "3"}, env(map[string]string{
		"NATS_URL": "nats://user:pw@nats:4222", "EFAKTURA_HTTP": ":1", "EFAKTURA_ADMIN_TOKEN": "plain",
		"EFAKTURA_REPLICAS": "3", "EFAKTURA_ADMIN_TOKEN_SHA256": " " + hash + " ,", "REDIS_URL": "redis://:pw@redis:6379/0",
		"EFAKTURA_ACK_WAIT": "5s", "EFAKTURA_LEASE": "1m", "EFAKTURA_MAX_AGE": "2160h",
	}), func(fs *flag.FlagSet, _ *Env) { fs.IntVar(&extra, "n", 1, "") })
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9000" || extra != 3 || c.NATSURL != "nats://user:pw@nats:4222" || c.Bus.Replicas != 3 ||
		len(c.AdminTokenHashes) != 2 || c.AdminTokenHashes[0] != hash || c.AdminTokenHashes[1] != tenant.HashToken("plain") || c.Bus.Service != "decide" ||
		c.Bus.AckWait != 5*time.Second || c.Bus.Lease != time.Minute || c.Bus.MaxAge != 90*24*time.Hour {
		t.Errorf("Load = %+v", c)
	}
	if got := c.LogValue().String(); strings.Contains(got, "pw") || strings.Contains(got, hash) || strings.Contains(got, "plain") {
		t.Errorf("LogValue leaks a secret: %s", got)
	}
	d, err := Load("validate", "", nil, env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.HTTPAddr != "" || d.MetricsAddr != ":9090" || d.Bus.Storage != "file" || d.Bus.Stream != "EFAKTURA" || d.NATSURL != "nats://127.0.0.1:4222" ||
		d.Bus.MaxAge != 30*24*time.Hour {
		t.Errorf("defaults = %+v", d)
	}
}

func TestLoadProblems(t *testing.T) {
	_, err := Load("decide", ":8082", []string{"--replicas", "2", "--storage", "tape", "--log-level", "loud", "--http", "nonsense", "extra"},
		env(map[string]string{"EFAKTURA_ADMIN_TOKEN_SHA256": "abc", "EFAKTURA_ACK_WAIT": "soon", "EFAKTURA_START_WAIT": "-1s"}), nil)
	if err == nil {
		t.Fatal("Load accepted a bad configuration")
	}
	for _, w := range []string{"replicas", "storage", "log level", "http address", "unexpected arguments", "admin token hash", "EFAKTURA_ACK_WAIT", "start wait"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %s", err, w)
		}
	}
	// A max age of 0 is refused, not taken as the default or as forever;
	// one under the duplicate window is refused before JetStream would.
	for _, v := range []string{"0s", "30m"} {
		_, err := Load("decide", "", []string{"--max-age", v}, env(nil), nil)
		if err == nil || !strings.Contains(err.Error(), "max age") {
			t.Errorf("Load(--max-age %s) = %v, want an error about the max age", v, err)
		}
	}
	if _, err := Load("decide", "", nil, env(map[string]string{"EFAKTURA_MAX_AGE": "30d"}), nil); err == nil || !strings.Contains(err.Error(), `EFAKTURA_MAX_AGE="30d"`) {
		t.Errorf("Load(EFAKTURA_MAX_AGE=30d) = %v, want an error naming the variable and the value", err)
	}
	if _, err := Load("decide", "", []string{"-h"}, env(nil), nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Load(-h) = %v, want flag.ErrHelp", err)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs Run with cfg and setup (nil for none) until stop, or the
// end of the test; stop returns Run's result.
func start(t *testing.T, cfg Config, getenv func(string) string, setup func(context.Context, *Deps) error) (stop func() error) {
	t.Helper()
	if setup == nil {
		setup = func(context.Context, *Deps) error { return nil }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, getenv, setup) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("Run did not return within 30s after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// getUntil GETs url, with token when not empty, until the server answers
// and until, when not nil, holds for the answer (bustest.Eventually), and
// returns that answer.
func getUntil(t *testing.T, url, token string, until func(code int, body string) bool) (code int, body string) {
	t.Helper()
	bustest.Eventually(t, "GET "+url, func() error {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if code, body = resp.StatusCode, string(b); until != nil && !until(code, body) {
			return fmt.Errorf("%d %q", code, body)
		}
		return nil
	})
	return code, body
}

func TestRunServesHealthAndStops(t *testing.T) {
	s := natstest.Start(t)
	metrics, api := freeAddr(t), freeAddr(t)
	cfg, err := Load("probe", api, []string{"--nats", s.ClientURL(), "--metrics", metrics}, env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, cfg, env(nil), func(_ context.Context, d *Deps) error {
		d.Mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi") })
		return nil
	})
	// Ready once the consumers are provisioned, which follows the first
	// answer of the metrics server.
	if code, body := getUntil(t, "http://"+metrics+"/readyz", "", func(code int, body string) bool { return code == 200 }); body != "ready\n" {
		t.Fatalf("/readyz = %d %q, never ready", code, body)
	}
	for path, want := range map[string]string{"/healthz": "ok", "/metrics": "target_info"} {
		if code, body := getUntil(t, "http://"+metrics+path, "", nil); code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d %q", path, code, body)
		}
	}
	if code, body := getUntil(t, "http://"+api+"/hello", "", nil); code != 200 || body != "hi" {
		t.Errorf("the worker's API: %d %q", code, body)
	}
	if err := stop(); err != nil {
		t.Errorf("after a shutdown: %v, want nil", err)
	}
}

// A worker started before NATS (compose without health checks, a
// Kubernetes rollout) keeps trying and becomes ready once NATS is up,
// rather than exiting at once.
func TestRunWaitsForNATS(t *testing.T) {
	natsAddr, metrics := freeAddr(t), freeAddr(t)
	_, port, _ := net.SplitHostPort(natsAddr)
	cfg, err := Load("probe", "", []string{"--nats", "nats://" + natsAddr, "--metrics", metrics, "--start-wait", "30s"}, env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Until NATS is up, a listener on its address takes each attempt and
	// hangs up, so the test knows when a few have failed.
	fake, err := net.Listen("tcp", natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	go func() {
		for {
			c, err := fake.Accept()
			if err != nil {
				return
			}
			attempts.Add(1)
			c.Close()
		}
	}()
	stop := start(t, cfg, env(nil), nil)
	bustest.Eventually(t, "a few attempts to fail", func() error {
		if n := attempts.Load(); n < 3 {
			return fmt.Errorf("%d attempts", n)
		}
		return nil
	})
	fake.Close()
	p, _ := strconv.Atoi(port)
	natstest.StartWith(t, natstest.Options{Port: p})
	if code, body := getUntil(t, "http://"+metrics+"/readyz", "", func(code int, _ string) bool { return code == 200 }); code != 200 {
		t.Fatalf("/readyz = %d %q; the worker did not come up after NATS did", code, body)
	}
	if err := stop(); err != nil {
		t.Errorf("after a shutdown: %v, want nil", err)
	}
}

// Past --start-wait the worker gives up, saying what it waited for, and
// leaves the restart to its supervisor.
func TestRunGivesUpAfterStartWait(t *testing.T) {
	cfg, err := Load("probe", "", []string{"--nats", "nats://user:secret@" + freeAddr(t), "--metrics", freeAddr(t), "--start-wait", "1s"}, env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	err = Run(context.Background(), cfg, env(nil), func(context.Context, *Deps) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "connect to NATS") || !strings.Contains(err.Error(), "--start-wait") || strings.Contains(err.Error(), "secret") {
		t.Errorf("Run without NATS = %v; want a connect error naming --start-wait, without the password", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("Run gave up after %v, with --start-wait 1s", took)
	}
}

func TestSecretsStayOutOfMessages(t *testing.T) {
	if got := RedactURL("nats://u:secret@a:4222,nats://u:secret@b:4222"); strings.Contains(got, "secret") {
		t.Errorf("RedactURL kept a password: %s", got)
	}
	_, err := Load("x", "", []string{"--redis", "redis://:secret@[bad"}, env(map[string]string{"EFAKTURA_ADMIN_TOKEN_SHA256": "plain-token"}), nil)
	if err == nil || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "plain-token") {
		t.Errorf("Load error = %v; want an error that quotes no secret", err)
	}
}

func TestRunFailsWhenItsPortIsTaken(t *testing.T) {
	s := natstest.Start(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg, err := Load("probe", taken.Addr().String(), []string{"--nats", s.ClientURL(), "--metrics", freeAddr(t)}, env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Bounded, so the old behaviour (running on without the API) fails
	// the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = Run(ctx, cfg, env(nil), func(context.Context, *Deps) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "listen on "+taken.Addr().String()) {
		t.Errorf("Run with its API port taken = %v, want a listen error", err)
	}
}

func TestReadyzNamesWhatIsNotReady(t *testing.T) {
	s := natstest.Start(t)
	metrics := freeAddr(t)
	// Nothing listens on the Redis address.
	cfg, err := Load("probe", "", []string{"--nats", s.ClientURL(), "--metrics", metrics, "--redis", "redis://" + freeAddr(t)}, env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	start(t, cfg, env(nil), nil)
	code, body := getUntil(t, "http://"+metrics+"/readyz", "", func(_ int, body string) bool { return strings.Contains(body, "redis") })
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not ready: redis") {
		t.Errorf("/readyz with Redis down = %d %q, want 503 naming redis", code, body)
	}
}

// A worker with --admin-http serves the admin API there, and --tenants
// stores municipalities at start unless stored already, so separate
// workers are managed as the all-in-one is, and a restart undoes nothing.
func TestRunStoresTenantsAndServesTheAdminAPI(t *testing.T) {
	s := natstest.Start(t)
	getenv := env(map[string]string{"EFAKTURA_ADMIN_TOKEN": "admin-dev", "EFAKTURA_SECRET_0101": "kbh-secret"})
	// get starts a worker, reads municipality 0101 through its admin API
	// and stops it.
	get := func() string {
		t.Helper()
		api := freeAddr(t)
		cfg, err := Load("probe", "", []string{"--nats", s.ClientURL(), "--metrics", freeAddr(t), "--admin-http", api, "--tenants", "../tenant/testdata/tenants.yaml"}, getenv, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer start(t, cfg, getenv, nil)()
		code, body := getUntil(t, "http://"+api+"/v1/tenants/0101", "admin-dev", func(code int, _ string) bool { return code == 200 })
		if code != 200 {
			t.Fatalf("GET /v1/tenants/0101 = %d %s, want 200", code, body)
		}
		return body
	}
	if body := get(); !strings.Contains(body, "opus-kbh") || strings.Contains(body, "kbh-secret") {
		t.Errorf("GET /v1/tenants/0101 = %s; want the stored municipality, without its secret", body)
	}

	// An operator renames it through the store; a restart keeps that.
	js, err := jetstream.New(natstest.Connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	store, err := tenant.NewStore(t.Context(), js, tenant.StoreConfig{}, func(context.Context, ...cloudevents.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	stored, err := store.Get(t.Context(), "0101")
	if err != nil {
		t.Fatal(err)
	}
	stored.Name = "Renamed by the operator"
	if _, err := store.Put(t.Context(), stored, stored.Version); err != nil {
		t.Fatal(err)
	}
	if body := get(); !strings.Contains(body, "Renamed by the operator") {
		t.Errorf("after a restart GET /v1/tenants/0101 = %s; the tenants file undid the operator's change", body)
	}
}
