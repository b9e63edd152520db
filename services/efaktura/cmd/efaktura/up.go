package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/kp-efaktura/efaktura/pkg/dirlock"
	"github.com/kp-efaktura/efaktura/pkg/natsauth"
	"github.com/kp-efaktura/efaktura/pkg/natsembed"
	"github.com/kp-efaktura/efaktura/pkg/telemetry"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
	"github.com/kp-efaktura/efaktura/pkg/worker"
	"github.com/kp-efaktura/efaktura/services/decide"
	"github.com/kp-efaktura/efaktura/services/erpsim"
	"github.com/kp-efaktura/efaktura/services/ingest"
	"github.com/kp-efaktura/efaktura/services/respond"
	"github.com/kp-efaktura/efaktura/services/validate"
)

// The demo municipality the all-in-one starts with: the senders of the
// format's example files may submit for it, and its economy system is the
// ERP simulator.
const (
	demoKommune       = "0101"
	demoEconomySystem = "erp-sim"
)

// upFlags are the values of efaktura up's flags.
type upFlags struct {
	httpAddr, dataDir, agreements, tenantsFile, natsURL *string
	natsPort, replicas                                  *int
	natsMaxMemory, natsMaxStore                         *worker.BytesFlag
	// env holds the variables behind the flags' defaults that did not
	// parse.
	env *worker.Env
}

// newUpFlags defines efaktura up's flags; docs/configuration.md lists
// them, and a test keeps the two in step. The workers' own settings come
// from the environment, as for the workers run alone.
func newUpFlags() (*flagSet, upFlags) {
	fs := newFlagSet("up", "efaktura up [--http ADDR] [--data DIR] [--agreements approved|pending] [--tenants FILE] [--nats-port N] [--nats-max-memory SIZE] [--nats-max-store SIZE] [--nats URL [--replicas N]]\n\n"+
		"Environment: every worker's variables (docs/configuration.md) configure the workers here as they do\n"+
		"alone, e.g. REDIS_URL, EFAKTURA_STORAGE, EFAKTURA_ACK_WAIT, VALIDATE_CONCURRENCY, RESPOND_BACKOFF; and\n"+
		"EFAKTURA_DEMO_INGEST_TOKEN, EFAKTURA_DEMO_CASEWORKER_TOKEN, EFAKTURA_DEMO_ADMIN_TOKEN, EFAKTURA_DEMO_ERP_SECRET\n"+
		"and OTEL_*.")
	env := worker.NewEnv(os.Getenv)
	maxMemory := worker.BytesFlag(env.Bytes("EFAKTURA_NATS_MAX_MEMORY", 0))
	maxStore := worker.BytesFlag(env.Bytes("EFAKTURA_NATS_MAX_STORE", 0))
	fs.Var(&maxMemory, "nats-max-memory", "`size` the embedded server keeps in memory storage, e.g. 512MiB (EFAKTURA_STORAGE=memory); 0 for the server's default, 75% of the machine's memory (env EFAKTURA_NATS_MAX_MEMORY)")
	fs.Var(&maxStore, "nats-max-store", "`size` the embedded server keeps on disk, e.g. 20GB; once it is full, every write (bundles, verdicts, answers) is refused until space is freed; 0 for the server's default, 75% of the free space under --data at start (env EFAKTURA_NATS_MAX_STORE)")
	return fs, upFlags{
		natsMaxMemory: &maxMemory, natsMaxStore: &maxStore, env: env,
		httpAddr:    fs.String("http", envOr("EFAKTURA_HTTP", "127.0.0.1:8080"), "`address` of the HTTP API, the ERP simulator, /healthz and /metrics (env EFAKTURA_HTTP)"),
		dataDir:     fs.String("data", envOr("EFAKTURA_DATA", "data"), "`directory` for JetStream's streams, buckets and objects (env EFAKTURA_DATA)"),
		agreements:  fs.String("agreements", "approved", "state of the demo municipality's two agreements: approved or pending"),
		tenantsFile: fs.String("tenants", envOr("EFAKTURA_TENANTS", ""), "YAML or JSON `file` of more municipalities, stored at start-up unless stored already (env EFAKTURA_TENANTS)"),
		natsPort:    fs.Int("nats-port", 0, "client `port` of the embedded NATS server, for workers run alone; 0 picks a free one"),
		natsURL:     fs.String("nats", "", "`URL`s of an external NATS JetStream (a cluster: comma-separated) instead of the embedded server"),
		replicas:    fs.Int("replicas", 0, "replicas of streams and buckets on an external cluster: 1, 3 or 5; 0 for EFAKTURA_REPLICAS, or 1"),
	}
}

// runUp runs the whole system in one process on embedded defaults.
func runUp(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, f := newUpFlags()
	if _, err := fs.parse(args, stdout, stderr); err != nil {
		return parseStatus(err)
	}
	if err := f.env.Err(); err != nil {
		return fs.usageError(stderr, "%v", err)
	}
	if *f.natsURL != "" && (*f.natsMaxMemory != 0 || *f.natsMaxStore != 0) {
		return fs.usageError(stderr, "--nats-max-memory and --nats-max-store (EFAKTURA_NATS_MAX_MEMORY, EFAKTURA_NATS_MAX_STORE) bound the embedded server; with --nats, set the limits on that server")
	}
	if *f.agreements != "approved" && *f.agreements != "pending" {
		return fs.usageError(stderr, "--agreements is %q; expected approved or pending", *f.agreements)
	}
	// The settings every worker shares, read once here for the log level
	// and to refuse a bad variable before anything starts.
	common, err := worker.Load("efaktura", "", nil, os.Getenv, nil)
	if err != nil {
		return fs.usageError(stderr, "%v", err)
	}
	log := telemetry.NewLogger(stderr, common.LogLevel)
	if err := up(ctx, upConfig{
		HTTPAddr: *f.httpAddr, DataDir: *f.dataDir, Pending: *f.agreements == "pending",
		TenantsFile: *f.tenantsFile, NATSPort: *f.natsPort, NATSURL: *f.natsURL, Replicas: *f.replicas,
		NATSMaxMemory: int64(*f.natsMaxMemory), NATSMaxStore: int64(*f.natsMaxStore),
	}, os.Getenv, stdout, log); err != nil {
		log.Error("efaktura up stopped", "err", err)
		return exitError
	}
	return exitOK
}

// upConfig is what efaktura up's flags set; the workers' settings come
// from the environment.
type upConfig struct {
	HTTPAddr, DataDir, TenantsFile string
	Pending                        bool
	NATSPort                       int
	// NATSMaxMemory and NATSMaxStore bound the embedded server's memory
	// and file storage, in bytes; 0 for the server's defaults
	// (natsembed.Config).
	NATSMaxMemory, NATSMaxStore int64
	// NATSURL is an external NATS (e.g. a cluster) to use instead of the
	// embedded server, with Replicas replicas of streams and buckets
	// (0 for EFAKTURA_REPLICAS, or 1).
	NATSURL  string
	Replicas int

	// spans, when not nil, receives every span besides what the OTEL_*
	// variables set up: for tests.
	spans sdktrace.SpanExporter
}

// load is a worker's configuration under up: as its command loads it
// alone, from the environment, save that up decides where NATS is (it
// connects once, for every worker) and how many replicas it keeps, and
// that the demo admin token is an admin's.
func (c upConfig) load(cmd worker.Command, getenv func(string) string, adminToken string) (worker.Config, error) {
	cfg, err := cmd.Load(nil, getenv)
	if err != nil {
		return worker.Config{}, fmt.Errorf("%s: %w", cmd.Name, err)
	}
	if c.Replicas != 0 {
		cfg.Bus.Replicas = c.Replicas
	}
	cfg.AdminTokenHashes = append(cfg.AdminTokenHashes, tenant.HashToken(adminToken))
	return cfg, nil
}

// demoToken returns the token in the environment variable, or a fresh one.
func demoToken(getenv func(string) string, name string) string {
	if t := getenv(name); t != "" {
		return t
	}
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// workers are the workers efaktura up runs, each wired by its own
// package as its bin/ command is.
func workers() []worker.Command {
	return []worker.Command{ingest.Command(), validate.Command(), decide.Command(), respond.Command()}
}

func up(ctx context.Context, c upConfig, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	tokens := map[string]string{
		"ingest":     demoToken(getenv, "EFAKTURA_DEMO_INGEST_TOKEN"),
		"caseworker": demoToken(getenv, "EFAKTURA_DEMO_CASEWORKER_TOKEN"),
		"admin":      demoToken(getenv, "EFAKTURA_DEMO_ADMIN_TOKEN"),
	}
	secret := demoToken(getenv, "EFAKTURA_DEMO_ERP_SECRET")
	load := func(cmd worker.Command) (worker.Config, error) { return c.load(cmd, getenv, tokens["admin"]) }
	adminCfg, err := load(worker.Command{Name: "admin"})
	if err != nil {
		return err
	}

	natsURL := c.NATSURL
	opts := []nats.Option{nats.Name("efaktura up"), nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond)}
	if natsURL == "" {
		// One up per data directory: a second would open the same store (issue 9).
		lock, err := dirlock.Lock(c.DataDir)
		if err != nil {
			return fmt.Errorf("lock the data directory: %w", err)
		}
		defer lock.Unlock()
		ns, err := natsembed.Start(natsembed.Config{
			StoreDir: filepath.Join(c.DataDir, "nats"), Port: c.NATSPort,
			MaxMemory: c.NATSMaxMemory, MaxStore: c.NATSMaxStore,
		})
		if err != nil {
			return err
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		natsURL = ns.ClientURL()
		// The operator CLIs (dlq, answers, retention) find this server by
		// the file, since the port is free to choose (issue 12).
		recorded := filepath.Join(c.DataDir, natsURLFile)
		if err := os.WriteFile(recorded, []byte(natsURL+"\n"), 0o600); err != nil {
			return fmt.Errorf("record the NATS URL: %w", err)
		}
		defer os.Remove(recorded)
		// The workers reach their own server in memory, not over loopback
		// TCP: a read and a write system call per message each way were
		// about a tenth of the CPU per document (issue 17). The operator
		// CLIs still use the recorded URL.
		opts = append(opts, nats.InProcessServer(ns))
	}
	if c.NATSURL != "" {
		// An external server: up runs every worker on one connection, so
		// it connects as the admin identity the environment names
		// (NATS_CREDS, NATS_NKEY or NATS_USER; NATS_CA, ...). The embedded
		// server listens on loopback without authentication.
		opts = append(adminCfg.Security.NATSOptions(natsauth.Admin), opts...)
	}
	nc, err := nats.Connect(natsURL, opts...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", worker.RedactURL(natsURL), err)
	}
	defer nc.Close()
	var telOpts []telemetry.Option
	if c.spans != nil {
		telOpts = append(telOpts, telemetry.WithSpanExporter(c.spans))
	}
	tel, err := telemetry.Start(ctx, telemetry.Config{ServiceName: "efaktura"}, getenv, telOpts...)
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))

	// The listener first: the demo municipality's economy system is the
	// simulator on this very address.
	ln, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.HTTPAddr, err)
	}
	// Until Serve takes it over; closing it twice does no harm.
	defer ln.Close()
	base := "http://" + ln.Addr().String()

	admin, err := worker.Connect(ctx, nc, adminCfg, tel, log.With("service", "admin"))
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	store, err := tenant.NewStore(ctx, admin.Bus.JetStream(), worker.TenantStore(admin.Bus.Config()), admin.Bus.Publish)
	if err != nil {
		return err
	}
	// The demo municipality is up's own: replaced on every start, so the
	// tokens printed below are the ones that work. Those of a tenants file
	// are stored only the first time, as by a worker's --tenants.
	demo := demoTenant(base, secret, tokens, c.Pending)
	if err := putDemo(tenant.WithActor(ctx, "efaktura up"), store, demo); err != nil {
		return fmt.Errorf("demo municipality: %w", err)
	}
	tenants := []tenant.Tenant{demo}
	if c.TenantsFile != "" {
		more, err := tenant.LoadFile(c.TenantsFile, getenv)
		if err != nil {
			return err
		}
		if _, err := tenant.Seed(tenant.WithActor(ctx, "tenants file"), store, more); err != nil {
			return err
		}
		tenants = append(tenants, more...)
	}

	// One part failing stops them all: a half-running system that looks
	// up would take bundles it can no longer answer. The workers are set
	// up on the context their buses run on, as worker.Run does, so what
	// they start beside their handlers (respond following the registry,
	// decide's announcements) ends with them.
	run, stop := context.WithCancel(ctx)
	defer stop()
	mux := http.NewServeMux()
	deps := []*worker.Deps{admin}
	for _, cmd := range workers() {
		cfg, err := load(cmd)
		if err != nil {
			return err
		}
		d, err := worker.Connect(ctx, nc, cfg, tel, log.With("service", cmd.Name))
		if err != nil {
			return fmt.Errorf("%s: %w", cmd.Name, err)
		}
		// Every worker's registry must know the municipalities before
		// work starts.
		for _, t := range tenants {
			stored, err := store.Get(ctx, t.Kommune)
			if err != nil {
				return err
			}
			if err := d.Tenants.WaitVersion(ctx, t.Kommune, stored.Version); err != nil {
				return err
			}
		}
		d.Mux = mux
		if err := cmd.Setup(run, d); err != nil {
			return fmt.Errorf("%s: %w", cmd.Name, err)
		}
		deps = append(deps, d)
	}
	adminAPI := tenant.NewAdminAPI(store, admin.Tenants, worker.AdminOptions(adminCfg, admin)...)
	for _, path := range worker.AdminPaths {
		mux.Handle(path, adminAPI)
	}
	mux.Handle("/erp-sim/", erpsim.New(erpsim.Config{Secrets: map[string]string{demoEconomySystem: secret}, Logger: log.With("service", "erpsim")}))
	var checks []worker.Check
	// The workers share one connection and one store: NATS and Redis are
	// checked once, each worker's consumers and own checks apart.
	for _, d := range deps {
		for _, c := range d.Checks() {
			if d == admin || c.Name != "nats" && c.Name != "redis" {
				c.Name = d.Bus.Config().Service + " " + c.Name
				checks = append(checks, c)
			}
		}
	}
	health := worker.Health(tel, checks...)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		mux.Handle("GET "+path, health)
	}
	// Traced and measured as a worker's API is (issue 12); /healthz,
	// /readyz and /metrics are left out there.
	srv := &http.Server{Handler: tel.HTTPHandler(mux), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		if err != nil {
			log.Error("http server stopped; stopping efaktura", "err", err)
			stop()
		}
		served <- err
	}()

	var wg sync.WaitGroup
	errs := make(chan error, len(deps))
	for _, d := range deps {
		wg.Go(func() {
			if err := d.Bus.Run(run); err != nil {
				name := d.Bus.Config().Service
				log.Error("worker stopped; stopping efaktura", "service", name, "err", err)
				errs <- fmt.Errorf("%s: %w", name, err)
				stop()
			}
		})
	}
	printBanner(stdout, base, worker.RedactURL(natsURL), c, adminCfg.RedisURL != "", tokens)
	wg.Wait()
	close(errs)
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	all := []error{<-served}
	for _, d := range deps {
		all = append(all, d.Close(shutdown))
	}
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// putDemo stores the demo municipality, replacing what is stored. Its
// agreements go to their state by the life cycle's transitions, each
// recorded: a restart with --agreements pending withdraws approved
// agreements and requests them anew.
func putDemo(ctx context.Context, store *tenant.Store, demo tenant.Tenant) error {
	if cur, err := store.Get(ctx, demo.Kommune); err == nil {
		for name, a := range demo.Agreements {
			path := tenant.TransitionPath(cur.Agreements[name].State, a.State)
			for _, state := range path[:max(0, len(path)-1)] {
				if _, err := store.SetAgreement(ctx, demo.Kommune, name, state, a.EconomySystem); err != nil {
					return err
				}
			}
		}
	} else if !errors.Is(err, tenant.ErrNotFound) {
		return err
	}
	_, err := store.Put(ctx, demo, 0)
	return err
}

// demoTenant is municipality 0101, answered through the ERP simulator.
func demoTenant(base, secret string, tokens map[string]string, pending bool) tenant.Tenant {
	state := tenant.Approved
	if pending {
		state = tenant.Requested
	}
	now := time.Now().UTC()
	return tenant.Tenant{
		Kommune: demoKommune, Name: "Kærholm Kommune (demo)", CVR: "29189846",
		EconomySystem: tenant.EconomySystem{ID: demoEconomySystem, Name: "ERP simulator", Endpoint: base + "/erp-sim/answers", Secret: secret},
		// The senders of the format's example files.
		Senders: []tenant.Sender{{Type: "CVR", ID: "12345674"}, {Type: "CVR", ID: "24680134"}, {Type: "EAN", ID: "7350000000030"}},
		Agreements: map[tenant.AgreementName]tenant.Agreement{
			tenant.Forside: {State: state, EconomySystem: demoEconomySystem, UpdatedAt: now},
			tenant.Bagside: {State: state, EconomySystem: demoEconomySystem, UpdatedAt: now},
		},
		Tokens: []tenant.Token{
			{Role: tenant.RoleIngest, Name: demoEconomySystem, SHA256: tenant.HashToken(tokens["ingest"])},
			{Role: tenant.RoleCaseworker, Name: "demo-caseworker", SHA256: tenant.HashToken(tokens["caseworker"])},
		},
	}
}

func printBanner(w io.Writer, base, natsURL string, c upConfig, redis bool, tokens map[string]string) {
	idem := "JetStream KV"
	if redis {
		idem = "Redis"
	}
	state := "approved"
	if c.Pending {
		state = "pending (answers are parked until you approve them)"
	}
	fmt.Fprintf(w, `efaktura is running.

  HTTP API        %[1]s
  ERP simulator   %[1]s/erp-sim/answers
  NATS            %[2]s   (workers run alone with NATS_URL=%[2]s)
  data            %[3]s   idempotency keys in %[4]s
  municipality    %[5]s, agreements %[6]s

Demo tokens (set EFAKTURA_DEMO_INGEST_TOKEN, _CASEWORKER_TOKEN, _ADMIN_TOKEN to fix them):
  ingest      %[7]s
  caseworker  %[8]s
  admin       %[9]s

Try:
  bin/efaktura sample --documents 3 > /tmp/bundle.xml
  curl -s -H 'Authorization: Bearer %[7]s' -H 'Content-Type: application/xml' --data-binary @/tmp/bundle.xml %[1]s/v1/bundles
  curl -s -H 'Authorization: Bearer %[8]s' '%[1]s/v1/documents?state=awaiting_verdict'
  curl -s -H 'Authorization: Bearer %[8]s' -H 'Content-Type: application/json' -d '{"decision":"approve"}' %[1]s/v1/documents/DOCUMENT_ID/verdict
  curl -s %[1]s/erp-sim/answers
  bin/efaktura agreement set --api %[1]s --token %[9]s %[5]s forside approved

`, base, natsURL, c.DataDir, idem, demoKommune, state, tokens["ingest"], tokens["caseworker"], tokens["admin"])
}
