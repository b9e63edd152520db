package worker

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// manifest is the part of a rendered Kubernetes object the test reads.
type manifest struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Template struct {
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				TopologySpreadConstraints []any `yaml:"topologySpreadConstraints"`
				Containers                []struct {
					Name            string `yaml:"name"`
					Command         []string
					LivenessProbe   map[string]any `yaml:"livenessProbe"`
					ReadinessProbe  map[string]any `yaml:"readinessProbe"`
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
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// render runs helm template on the chart with the values files given.
func render(t *testing.T, helm string, values ...string) []manifest {
	t.Helper()
	args := []string{"template", "efaktura", "../../helm/efaktura"}
	for _, v := range values {
		args = append(args, "-f", v)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var ms []manifest
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var m manifest
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return ms
		}
		if err != nil {
			t.Fatalf("rendered chart: %v", err)
		}
		if m.Kind != "" {
			ms = append(ms, m)
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
		values     []string
		replicas   string // EFAKTURA_REPLICAS
		hpa        int
		monitors   int
		natsSecret bool
	}{
		{"default", nil, "1", 0, 0, false},
		{"production", []string{"../../helm/efaktura/ci/production-values.yaml"}, "3", 2, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kinds := map[string]int{}
			for _, m := range render(t, helm, tc.values...) {
				kinds[m.Kind]++
				if m.Kind != "Deployment" {
					continue
				}
				spec := m.Spec.Template.Spec
				if !spec.SecurityContext.RunAsNonRoot || len(spec.TopologySpreadConstraints) == 0 || len(spec.Containers) != 1 {
					t.Errorf("%s: pod not non-root, without topology spread, or not one container", m.Metadata.Name)
					continue
				}
				c := spec.Containers[0]
				if c.LivenessProbe == nil || c.ReadinessProbe == nil {
					t.Errorf("%s: probes missing", m.Metadata.Name)
				}
				if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
					t.Errorf("%s: resources %+v lack cpu and memory requests or a memory limit", m.Metadata.Name, c.Resources)
				}
				if p := c.SecurityContext.AllowPrivilegeEscalation; p == nil || *p || !c.SecurityContext.ReadOnlyRootFilesystem {
					t.Errorf("%s: container may escalate privileges or write its root filesystem", m.Metadata.Name)
				}
				env := map[string]string{}
				for _, e := range c.Env {
					env[e.Name] = e.Value
					if !strings.Contains(string(documented), e.Name) {
						t.Errorf("%s sets %s, which docs/configuration.md does not know", m.Metadata.Name, e.Name)
					}
					if e.Name == "NATS_URL" && (e.ValueFrom != nil) != tc.natsSecret {
						t.Errorf("%s: NATS_URL from a Secret is %v, want %v", m.Metadata.Name, e.ValueFrom != nil, tc.natsSecret)
					}
				}
				if env["EFAKTURA_REPLICAS"] != tc.replicas {
					t.Errorf("%s: EFAKTURA_REPLICAS = %q, want %s", m.Metadata.Name, env["EFAKTURA_REPLICAS"], tc.replicas)
				}
				if m.Spec.Replicas == nil && tc.hpa == 0 {
					t.Errorf("%s has no replica count and no autoscaler", m.Metadata.Name)
				}
			}
			for kind, want := range map[string]int{"Deployment": 4, "PodDisruptionBudget": 4, "Service": 4, "NetworkPolicy": 4, "HorizontalPodAutoscaler": tc.hpa, "ServiceMonitor": tc.monitors} {
				if kinds[kind] != want {
					t.Errorf("%d %s, want %d", kinds[kind], kind, want)
				}
			}
		})
	}
}
