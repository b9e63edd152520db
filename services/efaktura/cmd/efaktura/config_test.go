package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/worker/workertest"
)

func TestUpConfigurationIsDocumented(t *testing.T) {
	t.Setenv("EFAKTURA_HTTP", "") // the documented defaults, whatever the shell says
	t.Setenv("EFAKTURA_DATA", "")
	fs, _ := newUpFlags()
	workertest.Documented(t, workertest.Doc, "efaktura up", fs.FlagSet, nil)
}

// samples are a valid value, other than the default, for every variable a
// worker's flag reads; the test below fails for a variable missing here.
var samples = map[string]string{
	"NATS_URL":                     "nats://nats.example:4222",
	"REDIS_URL":                    "redis://redis.example:6379/2",
	"EFAKTURA_HTTP":                "127.0.0.1:7001",
	"EFAKTURA_METRICS":             "127.0.0.1:7002",
	"EFAKTURA_ADMIN_HTTP":          "127.0.0.1:7003",
	"EFAKTURA_STREAM":              "OTHER",
	"EFAKTURA_REPLICAS":            "3",
	"EFAKTURA_STORAGE":             "memory",
	"EFAKTURA_ACK_WAIT":            "1m7s",
	"EFAKTURA_LEASE":               "9m0s",
	"EFAKTURA_START_WAIT":          "7m0s",
	"EFAKTURA_MAX_AGE":             "2160h0m0s",
	"EFAKTURA_AGREEMENTS_DEADLINE": "2026-02-09",
	"EFAKTURA_TENANTS":             "/etc/efaktura/tenants.yaml",
	"EFAKTURA_ADMIN_TOKEN_SHA256":  strings.Repeat("ab", 32),
	"EFAKTURA_LOG_LEVEL":           "debug",
	"VALIDATE_CONCURRENCY":         "7",
	"INGEST_CONCURRENCY":           "7",
	"INGEST_SPOOL_DIR":             "/var/spool/efaktura",
	"INGEST_MIN_UPLOAD_RATE":       "7000",
	"INGEST_UPLOAD_WINDOW":         "7s",
	"INGEST_UPLOADS_PER_TOKEN":     "7",
	"INGEST_RATE_PER_TOKEN":        "7.5",
	"INGEST_BURST_PER_TOKEN":       "70",
	"INGEST_RAW_RETENTION":         "720h0m0s",
	"DECIDE_BUCKET":                "OTHER_documents",
	"DECIDE_CONCURRENCY":           "7",
	"DECIDE_ARCHIVE_RETENTION":     "70h0m0s",
	"RESPOND_HTTP_TIMEOUT":         "7m0s",
	"RESPOND_BACKOFF":              "1s,7s",
	"RESPOND_RETRY_AFTER_MAX":      "7m0s",
	"NATS_CREDS":                   "/etc/efaktura/nats/ingest.creds",
	"NATS_NKEY":                    "/etc/efaktura/nats/ingest.nk",
	"NATS_CA":                      "/etc/efaktura/tls/ca.crt",
	"NATS_CERT":                    "/etc/efaktura/tls/tls.crt",
	"NATS_KEY":                     "/etc/efaktura/tls/tls.key",
	"REDIS_CA":                     "/etc/efaktura/tls/ca.crt",
	"REDIS_CERT":                   "/etc/efaktura/tls/tls.crt",
	"REDIS_KEY":                    "/etc/efaktura/tls/tls.key",
	"EFAKTURA_TLS_CERT":            "/etc/efaktura/api/tls.crt",
	"EFAKTURA_TLS_KEY":             "/etc/efaktura/api/tls.key",
	"NATS_USER":                    "ingest",
}

// partners are the variables that go with a sample's, since a worker
// refuses one without the other (a certificate without its key, a user
// without a password).
var partners = map[string]map[string]string{
	"NATS_CERT":         {"NATS_KEY": samples["NATS_KEY"]},
	"NATS_KEY":          {"NATS_CERT": samples["NATS_CERT"]},
	"REDIS_CERT":        {"REDIS_KEY": samples["REDIS_KEY"]},
	"REDIS_KEY":         {"REDIS_CERT": samples["REDIS_CERT"]},
	"EFAKTURA_TLS_CERT": {"EFAKTURA_TLS_KEY": samples["EFAKTURA_TLS_KEY"]},
	"EFAKTURA_TLS_KEY":  {"EFAKTURA_TLS_CERT": samples["EFAKTURA_TLS_CERT"]},
	"NATS_USER":         {"NATS_PASSWORD": "secret"},
}

// upsOwn are the variables efaktura up replaces with its own flags
// (docs/configuration.md, "efaktura up"): one address serves everything,
// and up connects to NATS itself, once.
var upsOwn = map[string]bool{"NATS_URL": true, "EFAKTURA_HTTP": true, "EFAKTURA_METRICS": true, "EFAKTURA_ADMIN_HTTP": true, "EFAKTURA_START_WAIT": true}

var envOfUsage = regexp.MustCompile(`\(env ([A-Z0-9_]+)`)

// TestEveryVariableWorksAloneAndInUp sets each variable of each worker's
// flags and loads the worker's configuration as its bin/ command does and
// as efaktura up does: both take the value. A value that does not parse
// stops both, with an error naming the variable and the value. Since up
// hands the configuration it loads to the same Connect and Setup as a
// worker run alone, the value then does the same in both.
func TestEveryVariableWorksAloneAndInUp(t *testing.T) {
	for _, cmd := range workers() {
		cmd.FlagSet().VisitAll(func(f *flag.Flag) {
			m := envOfUsage.FindStringSubmatch(f.Usage)
			if m == nil {
				return
			}
			name := m[1]
			t.Run(cmd.Name+"/"+name, func(t *testing.T) {
				sample, ok := samples[name]
				if !ok {
					t.Fatalf("no sample value for %s in this test", name)
				}
				getenv := func(k string) string {
					if k == name {
						return sample
					}
					return partners[name][k]
				}
				alone, err := cmd.Load(nil, getenv)
				if err != nil {
					t.Fatalf("%s alone with %s=%s: %v", cmd.Name, name, sample, err)
				}
				if got := alone.Flags[f.Name]; got != sample {
					t.Errorf("%s alone: --%s = %q with %s=%s", cmd.Name, f.Name, got, name, sample)
				}
				inUp, err := upConfig{}.load(cmd, getenv, "admin")
				if err != nil {
					t.Fatalf("%s in up with %s=%s: %v", cmd.Name, name, sample, err)
				}
				if got := inUp.Flags[f.Name]; got != sample && !upsOwn[name] {
					t.Errorf("%s in up: --%s = %q with %s=%s", cmd.Name, f.Name, got, name, sample)
				}

				switch fmt.Sprintf("%T", f.Value) {
				case "*flag.intValue", "*flag.int64Value", "*flag.float64Value", "*flag.durationValue", "*worker.DurationsFlag":
				default:
					return // only numbers and durations have a parse error to show
				}
				bad := func(k string) string {
					if k == name {
						return "x7"
					}
					return ""
				}
				_, errAlone := cmd.Load(nil, bad)
				_, errUp := upConfig{}.load(cmd, bad, "admin")
				for where, err := range map[string]error{"alone": errAlone, "in up": errUp} {
					if err == nil || !strings.Contains(err.Error(), name+`="x7"`) {
						t.Errorf("%s %s with %s=x7: %v, want an error naming the variable and the value", cmd.Name, where, name, err)
					}
				}
			})
		})
	}
}

// A size that does not parse stops up before anything starts, naming the
// variable and the value; the embedded server's limits with --nats are a
// usage error.
func TestUpRefusesBadLimits(t *testing.T) {
	t.Setenv("EFAKTURA_NATS_MAX_STORE", "20G")
	code, _, stderr := runCmd(t, nil, "up", "--data", t.TempDir(), "--http", freeAddr(t))
	if code != exitError || !strings.Contains(stderr, `EFAKTURA_NATS_MAX_STORE="20G"`) {
		t.Errorf("up with EFAKTURA_NATS_MAX_STORE=20G: exit %d, %q; want %d and an error naming the variable and the value", code, stderr, exitError)
	}
	t.Setenv("EFAKTURA_NATS_MAX_STORE", "")
	code, _, stderr = runCmd(t, nil, "up", "--nats", "nats://127.0.0.1:1", "--nats-max-memory", "1GiB")
	if code != exitError || !strings.Contains(stderr, "bound the embedded server") {
		t.Errorf("up --nats with --nats-max-memory: exit %d, %q; want %d and a usage error", code, stderr, exitError)
	}
}

// --nats-max-store reaches the embedded server: a stream written past it is
// refused (issue 10).
func TestUpNATSMaxStore(t *testing.T) {
	addr, natsAddr := freeAddr(t), freeAddr(t)
	_, natsPort, _ := net.SplitHostPort(natsAddr)
	const maxStore = 4 << 20
	startChild(t, fmt.Sprintf("up --http %s --data %s --nats-port %s --nats-max-store 4MiB", addr, t.TempDir(), natsPort))
	s := &system{t: t, base: "http://" + addr, natsURL: "nats://" + natsAddr}
	bustest.Eventually(t, "the system to answer", s.healthy)
	js := s.jetStream()
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe"}}); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), 64<<10)
	for i := range 2 * maxStore / len(payload) {
		_, err := js.Publish(t.Context(), "probe", payload)
		var api *jetstream.APIError
		switch {
		case err == nil:
			continue
		case !errors.As(err, &api) || api.ErrorCode != 10023: // insufficient resources
			t.Fatalf("publish %d: %v; want insufficient resources", i+1, err)
		}
		t.Logf("publish %d refused after %d bytes: %v", i+1, i*len(payload), err)
		return
	}
	t.Errorf("%d bytes stored with --nats-max-store 4MiB", 2*maxStore)
}
