package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// No Docker engine runs where the tests do, so the compose file's
// structure is checked instead: the services the stack needs, what every
// worker must be told, and that the files it mounts exist and load.
func TestComposeFile(t *testing.T) {
	const deploy = "../../deploy"
	raw, err := os.ReadFile(filepath.Join(deploy, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			Ports       []string          `yaml:"ports"`
			Restart     string            `yaml:"restart"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"nats-0", "nats-1", "nats-2", "redis", "otel-collector", "jaeger", "prometheus", "ingest", "validate", "decide", "respond", "erpsim"} {
		s, ok := compose.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if s.Image == "" {
			t.Errorf("%s has no image", name)
		}
		// Workers started before NATS has formed its cluster exit after
		// --start-wait; so may anything else that starts too early.
		if s.Restart != "unless-stopped" && s.Restart != "always" {
			t.Errorf("%s has restart %q; nothing would start it again", name, s.Restart)
		}
		for _, v := range s.Volumes {
			if src, _, _ := strings.Cut(v, ":"); strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(deploy, src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			}
		}
	}
	for i, name := range []string{"nats-0", "nats-1", "nats-2"} {
		cmd := strings.Join(compose.Services[name].Command, " ")
		for _, want := range []string{"--jetstream", "--cluster_name=efaktura", "--routes="} {
			if !strings.Contains(cmd, want) {
				t.Errorf("%s runs %q, without %s", name, cmd, want)
			}
		}
		for j := range 3 {
			if peer := "nats-" + string(rune('0'+j)); j != i && !strings.Contains(cmd, peer+":6222") {
				t.Errorf("%s has no route to %s", name, peer)
			}
		}
	}
	if cmd := strings.Join(compose.Services["redis"].Command, " "); !strings.Contains(cmd, "--appendonly yes") {
		t.Errorf("redis runs %q, without append-only persistence", cmd)
	}
	for _, want := range []string{"--port 0 --tls-port 6379", "--user default off", "--user efaktura on >redis-compose"} {
		if cmd := strings.Join(compose.Services["redis"].Command, " "); !strings.Contains(cmd, want) {
			t.Errorf("redis runs %q, without %s: TLS only, no default user, one ACL user", cmd, want)
		}
	}
	for _, name := range []string{"nats-0", "nats-1", "nats-2"} {
		s := compose.Services[name]
		if !slices.Contains(s.Command, "--config=/etc/nats/nats-compose.conf") || !slices.Contains(s.Volumes, "./nats:/etc/nats:ro") {
			t.Errorf("%s does not load deploy/nats/nats-compose.conf (users, permissions, TLS)", name)
		}
	}
	if s, ok := compose.Services["certs"]; !ok || !slices.Contains(s.Volumes, "./certs.sh:/certs.sh:ro") {
		t.Error("no one-shot certs service making the stack's certificates with deploy/certs.sh")
	}

	documented, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	var collector struct {
		Service struct {
			Pipelines map[string]any `yaml:"pipelines"`
		} `yaml:"service"`
	}
	raw, err = os.ReadFile(filepath.Join(deploy, "otel-collector.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &collector); err != nil {
		t.Fatalf("otel-collector.yaml: %v", err)
	}
	if _, ok := collector.Service.Pipelines["traces"]; !ok {
		t.Error("the collector has no traces pipeline")
	}
	_, collectsMetrics := collector.Service.Pipelines["metrics"]
	for _, name := range []string{"ingest", "validate", "decide", "respond"} {
		s := compose.Services[name]
		if want := "/usr/local/bin/" + name; !slices.Equal(s.Command, []string{want}) {
			t.Errorf("%s runs %v, want %s", name, s.Command, want)
		}
		env := s.Environment
		for _, node := range []string{"nats-0", "nats-1", "nats-2"} {
			if !strings.Contains(env["NATS_URL"], "nats://"+node+":4222") {
				t.Errorf("%s: NATS_URL %q lacks %s", name, env["NATS_URL"], node)
			}
		}
		// Issue 16: its own NATS user, TLS to NATS and Redis, Redis's ACL user.
		users, err := os.ReadFile(filepath.Join(deploy, "nats", "users-compose.conf"))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("{user: %q, password: %q, permissions: $EFAKTURA_%s_PERMISSIONS}", name, env["NATS_PASSWORD"], strings.ToUpper(name)); env["NATS_USER"] != name || !strings.Contains(string(users), want) {
			t.Errorf("%s connects to NATS as %q, not as its own user of users-compose.conf", name, env["NATS_USER"])
		}
		if env["NATS_CA"] == "" || env["REDIS_CA"] == "" || !slices.Contains(s.Volumes, "certs:/certs:ro") {
			t.Errorf("%s does not verify NATS's and Redis's certificates with the stack's CA", name)
		}
		if env["REDIS_URL"] != "rediss://efaktura:redis-compose@redis:6379/0" || env["EFAKTURA_REPLICAS"] != "3" || env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "" || env["EFAKTURA_METRICS"] != ":9090" {
			t.Errorf("%s: environment %v lacks Redis, replicas 3, the collector or metrics on :9090", name, env)
		}
		// With the endpoint alone a worker pushes metrics over OTLP too.
		if !collectsMetrics && env["OTEL_METRICS_EXPORTER"] != "none" {
			t.Errorf("%s pushes metrics over OTLP to a collector without a metrics pipeline", name)
		}
		// The configuration must load as the worker would load it.
		if _, err := Load(name, "", nil, func(k string) string { return env[k] }, nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for k := range env {
			if !strings.Contains(string(documented), k) && !strings.HasPrefix(k, "EFAKTURA_SECRET_") {
				t.Errorf("%s sets %s, which docs/configuration.md does not know", name, k)
			}
		}
	}
	decide := compose.Services["decide"].Environment
	if decide["EFAKTURA_TENANTS"] == "" || decide["EFAKTURA_ADMIN_HTTP"] == "" {
		t.Error("decide neither stores the tenants file nor serves the admin API")
	}
	tenants, err := tenant.LoadFile(filepath.Join(deploy, "tenants.yaml"), func(k string) string { return decide[k] })
	if err != nil || len(tenants) == 0 {
		t.Fatalf("deploy/tenants.yaml as decide loads it: %v", err)
	}
	if got, want := tenants[0].EconomySystem.Endpoint, "http://erpsim:8090/erp-sim/answers"; got != want {
		t.Errorf("the municipality's economy system is %s, want the simulator's %s", got, want)
	}
	if es := tenants[0].EconomySystem; len(es.Secrets) == 0 || !strings.Contains(compose.Services["erpsim"].Environment["EFAKTURA_ERPSIM_SECRETS"], es.ID+"="+es.Secrets[len(es.Secrets)-1]) {
		t.Error("the simulator does not know the municipality's signing secret")
	}

	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "FROM gcr.io/distroless/static", "USER 65532:65532"} {
		if !strings.Contains(string(dockerfile), want) {
			t.Errorf("Dockerfile lacks %q: images must be static and run as non-root", want)
		}
	}
}
