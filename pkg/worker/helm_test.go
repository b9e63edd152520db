package worker

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// manifest is the part of a rendered Kubernetes object the test reads.
type manifest struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		// Selector is a Service's selector, or a ServiceMonitor's
		// (matchLabels).
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
			Labels      map[string]string `yaml:",inline"`
		} `yaml:"selector"`
		// Ports are a Service's.
		Ports []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
		// PodSelector and Ingress are a NetworkPolicy's.
		PodSelector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"podSelector"`
		Ingress []struct {
			Ports []struct {
				Port int `yaml:"port"`
			} `yaml:"ports"`
		} `yaml:"ingress"`
		PolicyTypes []string `yaml:"policyTypes"`
		Egress      []struct {
			To []struct {
				IPBlock *struct {
					CIDR string `yaml:"cidr"`
				} `yaml:"ipBlock"`
			} `yaml:"to"`
			Ports []struct {
				Port int `yaml:"port"`
			} `yaml:"ports"`
		} `yaml:"egress"`
		// SecretName is a cert-manager Certificate's.
		SecretName string `yaml:"secretName"`
		// Endpoints are a ServiceMonitor's.
		Endpoints []struct {
			Port string `yaml:"port"`
			Path string `yaml:"path"`
		} `yaml:"endpoints"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
				SecurityContext              struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				TopologySpreadConstraints []any       `yaml:"topologySpreadConstraints"`
				Containers                []container `yaml:"containers"`
				Volumes                   []struct {
					Name   string `yaml:"name"`
					Secret *struct {
						SecretName string `yaml:"secretName"`
					} `yaml:"secret"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type container struct {
	Name            string `yaml:"name"`
	Command         []string
	Ports           []containerPort `yaml:"ports"`
	LivenessProbe   *probe          `yaml:"livenessProbe"`
	ReadinessProbe  *probe          `yaml:"readinessProbe"`
	StartupProbe    *probe          `yaml:"startupProbe"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
	} `yaml:"securityContext"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	Env []struct {
		Name      string         `yaml:"name"`
		Value     string         `yaml:"value"`
		ValueFrom map[string]any `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		SecretRef struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
}

type containerPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"` // a port's name or number
	} `yaml:"httpGet"`
}

// port resolves a probe's or a Service's target port, a name or a number,
// against the container's ports; 0 when it names none.
func (c container) port(ref any) int {
	switch r := ref.(type) {
	case int:
		return r
	case string:
		for _, p := range c.Ports {
			if p.Name == r {
				return p.ContainerPort
			}
		}
	}
	return 0
}

// listens returns the port of the address the container's environment
// variable name sets (":9090" → 9090); 0 when unset or empty.
func (c container) listens(t *testing.T, name string) int {
	t.Helper()
	for _, e := range c.Env {
		if e.Name != name || e.Value == "" {
			continue
		}
		_, p, err := net.SplitHostPort(e.Value)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, e.Value, err)
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, e.Value, err)
		}
		return n
	}
	return 0
}

// render runs helm template on the chart with the arguments given (-f
// values files, --set).
func render(t *testing.T, helm string, more ...string) []manifest {
	t.Helper()
	return renderAs(t, helm, func(m manifest) bool { return m.Kind != "" }, more...)
}

// renderAs runs helm template on the chart with the arguments given and
// decodes each rendered document as a T, keeping those keep accepts.
func renderAs[T any](t *testing.T, helm string, keep func(T) bool, more ...string) []T {
	t.Helper()
	args := append([]string{"template", "efaktura", "../../helm/efaktura"}, more...)
	var stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var docs []T
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var d T
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("rendered chart: %v", err)
		}
		if keep(d) {
			docs = append(docs, d)
		}
	}
}

// TestHelmChart renders helm/efaktura with the default and the
// production-like values and checks what every deployment needs. make test
// installs helm at its pinned version and names it in EFAKTURA_HELM; a
// plain go test without it skips, saying so.
func TestHelmChart(t *testing.T) {
	helm := os.Getenv("EFAKTURA_HELM")
	if helm == "" {
		t.Skip("EFAKTURA_HELM is not set: make test installs helm and sets it")
	}
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("EFAKTURA_HELM: %v", err)
	}
	documented, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		replicas   string // EFAKTURA_REPLICAS
		hpa        int
		monitors   int
		natsSecret bool
		secrets    int  // Secrets the chart makes
		otlp       bool // the workers export traces
		secured    bool // issue 16: own NATS identities, TLS, cert-manager
	}{
		{"default", nil, "1", 0, 0, false, 0, false, false},
		{"production", []string{"-f", "../../helm/efaktura/ci/production-values.yaml"}, "3", 2, 1, true, 0, true, true},
		// Ports moved: probes, Services and the ServiceMonitor must follow.
		{"other ports", []string{"--set", "metricsPort=9191,workers.ingest.apiPort=8181,admin.port=8189,serviceMonitor.enabled=true"}, "1", 0, 1, false, 0, false, false},
		// Admin token hashes and economy systems' secrets given in values
		// go into the chart's own Secrets, never into a pod's spec.
		{"inline secrets", []string{"--set", "admin.tokenSha256={" + strings.Repeat("ab", 32) + "},tenants.secrets.EFAKTURA_SECRET_0101=s3cret"}, "1", 0, 0, false, 2, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kinds := map[string]int{}
			ms := render(t, helm, tc.args...)
			pods := map[string]container{} // by component
			for _, m := range ms {
				kinds[m.Kind]++
				if m.Kind != "Deployment" {
					continue
				}
				spec := m.Spec.Template.Spec
				if !spec.SecurityContext.RunAsNonRoot || len(spec.TopologySpreadConstraints) == 0 || len(spec.Containers) != 1 {
					t.Errorf("%s: pod not non-root, without topology spread, or not one container", m.Metadata.Name)
					continue
				}
				if a := spec.AutomountServiceAccountToken; a == nil || *a {
					t.Errorf("%s: pod mounts a service account token it has no use for", m.Metadata.Name)
				}
				c := spec.Containers[0]
				pods[m.Spec.Template.Metadata.Labels["app.kubernetes.io/component"]] = c
				if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
					t.Errorf("%s: resources %+v lack cpu and memory requests or a memory limit", m.Metadata.Name, c.Resources)
				}
				if p := c.SecurityContext.AllowPrivilegeEscalation; p == nil || *p || !c.SecurityContext.ReadOnlyRootFilesystem {
					t.Errorf("%s: container may escalate privileges or write its root filesystem", m.Metadata.Name)
				}
				env := map[string]string{}
				valueFrom := map[string]map[string]any{}
				for _, e := range c.Env {
					env[e.Name] = e.Value
					valueFrom[e.Name] = e.ValueFrom
					if !strings.Contains(string(documented), e.Name) {
						t.Errorf("%s sets %s, which docs/configuration.md does not know", m.Metadata.Name, e.Name)
					}
					if e.Name == "NATS_URL" && (e.ValueFrom != nil) != tc.natsSecret {
						t.Errorf("%s: NATS_URL from a Secret is %v, want %v", m.Metadata.Name, e.ValueFrom != nil, tc.natsSecret)
					}
				}
				if strings.Contains(strings.Join(slices.Collect(maps.Values(env)), " "), "s3cret") || strings.Contains(strings.Join(slices.Collect(maps.Values(env)), " "), strings.Repeat("ab", 32)) {
					t.Errorf("%s: a secret given in values is in the pod's spec", m.Metadata.Name)
				}
				if tc.secrets > 0 {
					if from, ok := valueFrom["EFAKTURA_ADMIN_TOKEN_SHA256"]; !ok || from == nil {
						t.Errorf("%s: EFAKTURA_ADMIN_TOKEN_SHA256 not from the chart's Secret", m.Metadata.Name)
					}
					component := m.Spec.Template.Metadata.Labels["app.kubernetes.io/component"]
					if fromSecret := len(c.EnvFrom) == 1 && c.EnvFrom[0].SecretRef.Name == "efaktura-economy-secrets"; fromSecret != (component == "decide") {
						t.Errorf("%s: economy systems' secrets in the environment: %v; only decide, which stores the tenants file, needs them", m.Metadata.Name, fromSecret)
					}
				}
				if _, ok := env["OTEL_EXPORTER_OTLP_ENDPOINT"]; ok != tc.otlp || ok && env["OTEL_METRICS_EXPORTER"] != "none" {
					t.Errorf("%s: OTLP endpoint set %v, want %v, with OTEL_METRICS_EXPORTER=none (Prometheus scrapes)", m.Metadata.Name, ok, tc.otlp)
				}
				if env["EFAKTURA_REPLICAS"] != tc.replicas {
					t.Errorf("%s: EFAKTURA_REPLICAS = %q, want %s", m.Metadata.Name, env["EFAKTURA_REPLICAS"], tc.replicas)
				}
				if m.Spec.Replicas == nil && tc.hpa == 0 {
					t.Errorf("%s has no replica count and no autoscaler", m.Metadata.Name)
				}
				checkPorts(t, m.Metadata.Name, c)
				if tc.secured {
					checkSecured(t, m, env)
				}
			}
			checkServices(t, ms, pods)
			checkEgress(t, ms, tc.secured)
			for kind, want := range map[string]int{"Deployment": 4, "PodDisruptionBudget": 4, "Service": 4, "NetworkPolicy": 4, "HorizontalPodAutoscaler": tc.hpa, "ServiceMonitor": tc.monitors, "Secret": tc.secrets} {
				if kinds[kind] != want {
					t.Errorf("%d %s, want %d", kinds[kind], kind, want)
				}
			}
		})
	}
}

// checkPorts: the probes ask the address the worker serves /healthz and
// /readyz on (EFAKTURA_METRICS), and the container declares every address
// the worker listens on under the name the Services use.
func checkPorts(t *testing.T, name string, c container) {
	t.Helper()
	metrics := c.listens(t, "EFAKTURA_METRICS")
	if metrics == 0 {
		t.Errorf("%s: EFAKTURA_METRICS unset: the probes would ask the default :9090 by luck", name)
	}
	for _, p := range []struct {
		kind string
		p    *probe
		path string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}, {"startup", c.StartupProbe, "/healthz"}} {
		if p.p == nil || p.p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", name, p.kind)
			continue
		}
		if got := c.port(p.p.HTTPGet.Port); got != metrics || p.p.HTTPGet.Path != p.path {
			t.Errorf("%s: %s probe asks %s on port %v (%d); the worker serves it on %d", name, p.kind, p.p.HTTPGet.Path, p.p.HTTPGet.Port, got, metrics)
		}
	}
	for env, port := range map[string]string{"EFAKTURA_METRICS": "metrics", "EFAKTURA_HTTP": "api", "EFAKTURA_ADMIN_HTTP": "admin"} {
		if want, got := c.listens(t, env), c.port(port); want != got {
			t.Errorf("%s: %s listens on %d, the container port %q is %d", name, env, want, port, got)
		}
	}
}

// checkServices: each Service selects one worker's pods and sends its
// metrics port to the port the worker serves /metrics on; the
// ServiceMonitor selects every Service and scrapes that port, and each
// worker's NetworkPolicy lets the scrape in.
func checkServices(t *testing.T, ms []manifest, pods map[string]container) {
	t.Helper()
	services := map[string]manifest{}
	for _, m := range ms {
		if m.Kind != "Service" {
			continue
		}
		services[m.Metadata.Name] = m
		c, ok := pods[m.Spec.Selector.Labels["app.kubernetes.io/component"]]
		if !ok {
			t.Errorf("Service %s selects %v, which no worker's pods carry", m.Metadata.Name, m.Spec.Selector.Labels)
			continue
		}
		named := map[string]bool{}
		for _, p := range m.Spec.Ports {
			named[p.Name] = true
			if c.port(p.TargetPort) == 0 {
				t.Errorf("Service %s: port %s targets %v, which the pod does not declare", m.Metadata.Name, p.Name, p.TargetPort)
			}
			if p.Name == "metrics" && c.port(p.TargetPort) != c.listens(t, "EFAKTURA_METRICS") {
				t.Errorf("Service %s: metrics targets %d; the worker serves /metrics on %d", m.Metadata.Name, c.port(p.TargetPort), c.listens(t, "EFAKTURA_METRICS"))
			}
		}
		if !named["metrics"] {
			t.Errorf("Service %s has no port named metrics", m.Metadata.Name)
		}
	}
	for _, m := range ms {
		if m.Kind != "NetworkPolicy" {
			continue
		}
		c, ok := pods[m.Spec.PodSelector.MatchLabels["app.kubernetes.io/component"]]
		if !ok {
			t.Errorf("NetworkPolicy %s selects %v, which no worker's pods carry", m.Metadata.Name, m.Spec.PodSelector.MatchLabels)
			continue
		}
		open := false
		for _, in := range m.Spec.Ingress {
			for _, p := range in.Ports {
				open = open || p.Port == c.listens(t, "EFAKTURA_METRICS")
			}
		}
		if !open {
			t.Errorf("NetworkPolicy %s keeps the metrics port %d closed", m.Metadata.Name, c.listens(t, "EFAKTURA_METRICS"))
		}
	}
	for _, m := range ms {
		if m.Kind != "ServiceMonitor" {
			continue
		}
		selected := 0
		for _, svc := range services {
			if matches(m.Spec.Selector.MatchLabels, svc.Metadata.Labels) {
				selected++
			}
		}
		if selected != len(services) || selected == 0 {
			t.Errorf("ServiceMonitor %s selects %d of %d Services", m.Metadata.Name, selected, len(services))
		}
		if len(m.Spec.Endpoints) != 1 || m.Spec.Endpoints[0].Port != "metrics" || m.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor %s scrapes %+v, want /metrics on the Services' port named metrics", m.Metadata.Name, m.Spec.Endpoints)
		}
	}
}

// matches reports whether labels carry every label of selector.
func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

// checkSecured: with the production values each worker connects as its own
// NATS identity, mounting its own credentials Secret and no other's, over
// TLS with its own client certificate, and serves its API over HTTPS
// (issue 16).
func checkSecured(t *testing.T, m manifest, env map[string]string) {
	t.Helper()
	component := m.Spec.Template.Metadata.Labels["app.kubernetes.io/component"]
	secrets := map[string]string{}
	for _, v := range m.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			secrets[v.Name] = v.Secret.SecretName
		}
	}
	if got := secrets["nats-credentials"]; got != "efaktura-nats-"+component || env["NATS_NKEY"] == "" {
		t.Errorf("%s: NATS identity from Secret %q (NATS_NKEY %q), want its own, efaktura-nats-%s", m.Metadata.Name, got, env["NATS_NKEY"], component)
	}
	if got := secrets["client-tls"]; got != "efaktura-"+component+"-client-tls" || env["NATS_CA"] == "" || env["NATS_CERT"] == "" || env["REDIS_CA"] == "" {
		t.Errorf("%s: client certificate from %q, NATS_CA %q, NATS_CERT %q, REDIS_CA %q", m.Metadata.Name, got, env["NATS_CA"], env["NATS_CERT"], env["REDIS_CA"])
	}
	if api := env["EFAKTURA_HTTP"] != ""; api != (env["EFAKTURA_TLS_CERT"] != "") {
		t.Errorf("%s: API on %q with certificate %q: every API serves HTTPS", m.Metadata.Name, env["EFAKTURA_HTTP"], env["EFAKTURA_TLS_CERT"])
	}
}

// checkEgress: each worker's NetworkPolicy limits egress to NATS (and DNS,
// Redis, the collector); only respond may leave the cluster, to the
// economy systems on 443. With the production values, cert-manager makes
// the API's certificate and one client certificate per worker, and the
// chart ships the NATS permissions as a ConfigMap equal to
// deploy/nats/permissions.conf.
func checkEgress(t *testing.T, ms []manifest, secured bool) {
	t.Helper()
	certs := map[string]bool{}
	for _, m := range ms {
		switch m.Kind {
		case "Certificate":
			certs[m.Spec.SecretName] = true
		case "NetworkPolicy":
			if !slices.Contains(m.Spec.PolicyTypes, "Egress") {
				t.Errorf("NetworkPolicy %s does not limit egress", m.Metadata.Name)
				continue
			}
			nats, outside := false, false
			for _, e := range m.Spec.Egress {
				for _, p := range e.Ports {
					nats = nats || p.Port == 4222
				}
				for _, to := range e.To {
					outside = outside || to.IPBlock != nil
				}
			}
			if !nats {
				t.Errorf("NetworkPolicy %s lets no traffic out to NATS", m.Metadata.Name)
			}
			if respond := m.Spec.PodSelector.MatchLabels["app.kubernetes.io/component"] == "respond"; outside != respond {
				t.Errorf("NetworkPolicy %s lets traffic leave the cluster: %v; only respond, to the economy systems, may", m.Metadata.Name, outside)
			}
		}
	}
	if !secured {
		return
	}
	for _, want := range []string{"efaktura-api-tls", "efaktura-ingest-client-tls", "efaktura-validate-client-tls", "efaktura-decide-client-tls", "efaktura-respond-client-tls"} {
		if !certs[want] {
			t.Errorf("no cert-manager Certificate for Secret %s", want)
		}
	}
	chart, err1 := os.ReadFile("../../helm/efaktura/files/nats-permissions.conf")
	shipped, err2 := os.ReadFile("../../deploy/nats/permissions.conf")
	if err1 != nil || err2 != nil || !bytes.Equal(chart, shipped) {
		t.Errorf("the chart's NATS permissions differ from deploy/nats/permissions.conf (%v, %v)", err1, err2)
	}
}
