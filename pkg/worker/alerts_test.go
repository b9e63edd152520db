package worker

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// ruleFile is a Prometheus rule file, or a PrometheusRule's spec.
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name  string           `yaml:"name"`
	Rules []map[string]any `yaml:"rules"`
}

func readRules(t *testing.T, path string) ([]byte, ruleFile) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return raw, f
}

// TestAlertsHaveRunbooks: the chart's copy of the alerts is the file
// itself, every alert has a severity and a runbook_url naming a section of
// docs/operations.md, and the alerts are all there (promtool
// checks what they do, in make test).
func TestAlertsHaveRunbooks(t *testing.T) {
	raw, rules := readRules(t, "../../deploy/prometheus/alerts.yaml")
	if chartCopy, _ := readRules(t, "../../helm/efaktura/files/alerts.yaml"); !bytes.Equal(raw, chartCopy) {
		t.Error("helm/efaktura/files/alerts.yaml differs from deploy/prometheus/alerts.yaml: cp deploy/prometheus/alerts.yaml helm/efaktura/files/")
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(doc), -1) {
		anchors[githubAnchor(m[1])] = true
	}
	var alerts []string
	thresholds := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r["record"] == "efaktura:alert_threshold" {
				thresholds[r["labels"].(map[string]any)["alert"].(string)] = true
			}
			name, ok := r["alert"].(string)
			if !ok {
				continue
			}
			alerts = append(alerts, name)
			labels, _ := r["labels"].(map[string]any)
			annotations, _ := r["annotations"].(map[string]any)
			if labels["severity"] == nil || annotations["summary"] == nil {
				t.Errorf("%s has no severity or no summary", name)
			}
			url, _ := annotations["runbook_url"].(string)
			_, anchor, _ := strings.Cut(url, "docs/operations.md#")
			if anchor == "" || !anchors[anchor] {
				t.Errorf("%s: runbook_url %q names no section of docs/operations.md", name, url)
			}
			if expr, _ := r["expr"].(string); strings.Contains(expr, "efaktura:alert_threshold") && !thresholds[name] {
				t.Errorf("%s compares with a threshold the file does not record", name)
			}
		}
	}
	for _, want := range []string{"EfakturaDeadLetters", "EfakturaAnswerParkedTooLong", "EfakturaAnswersSetAside",
		"EfakturaConsumerLagGrowing", "EfakturaDeliveryFailureRatioHigh", "EfakturaDocumentsOverdue", "EfakturaWorkerDown"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
}

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestPrometheusRule renders the chart with prometheusRule.enabled: one
// PrometheusRule holding the groups of deploy/prometheus/alerts.yaml, the
// thresholds from values; none by default. It needs helm, as
// TestHelmChart does.
func TestPrometheusRule(t *testing.T) {
	helm := os.Getenv("EFAKTURA_HELM")
	if helm == "" {
		t.Skip("EFAKTURA_HELM is not set: make test installs helm and sets it")
	}
	if rules := prometheusRules(t, helm); len(rules) != 0 {
		t.Errorf("%d PrometheusRules by default, want none", len(rules))
	}
	rules := prometheusRules(t, helm, "--set", "prometheusRule.enabled=true,prometheusRule.labels.release=prometheus,prometheusRule.thresholds.EfakturaDocumentsOverdue=3600")
	if len(rules) != 1 {
		t.Fatalf("%d PrometheusRules, want 1", len(rules))
	}
	_, file := readRules(t, "../../deploy/prometheus/alerts.yaml")
	got := rules[0]
	if got.Metadata.Labels["release"] != "prometheus" {
		t.Errorf("labels %v lack prometheusRule.labels", got.Metadata.Labels)
	}
	byName := func(f ruleFile) map[string]ruleGroup {
		m := map[string]ruleGroup{}
		for _, g := range f.Groups {
			m[g.Name] = g
		}
		return m
	}
	want, have := byName(file), byName(got.Spec)
	if len(want) != len(have) {
		t.Errorf("groups %v, want those of alerts.yaml", slices.Collect(func(yield func(string) bool) {
			for k := range have {
				if !yield(k) {
					return
				}
			}
		}))
	}
	for name, g := range want {
		if name == "efaktura-thresholds" {
			continue
		}
		if !reflect.DeepEqual(have[name], g) {
			t.Errorf("group %s differs from alerts.yaml:\n%v\nwant\n%v", name, have[name], g)
		}
	}
	thresholds := map[string]string{}
	for _, r := range have["efaktura-thresholds"].Rules {
		thresholds[r["labels"].(map[string]any)["alert"].(string)] = r["expr"].(string)
	}
	for _, r := range want["efaktura-thresholds"].Rules {
		alert := r["labels"].(map[string]any)["alert"].(string)
		wantExpr := r["expr"].(string)
		if alert == "EfakturaDocumentsOverdue" {
			wantExpr = "vector(3600)"
		}
		if thresholds[alert] != wantExpr {
			t.Errorf("threshold of %s: %q, want %q (values.yaml's defaults are alerts.yaml's)", alert, thresholds[alert], wantExpr)
		}
	}
}

type prometheusRule struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec ruleFile `yaml:"spec"`
}

func prometheusRules(t *testing.T, helm string, more ...string) []prometheusRule {
	t.Helper()
	return renderAs(t, helm, func(r prometheusRule) bool { return r.Kind == "PrometheusRule" }, more...)
}

// TestGrafanaInCompose: compose's Prometheus loads the alerts, and its
// Grafana is provisioned with that Prometheus and the dashboard.
func TestGrafanaInCompose(t *testing.T) {
	const deploy = "../../deploy"
	raw, err := os.ReadFile(filepath.Join(deploy, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	mounts := func(service string) map[string]string {
		m := map[string]string{}
		for _, v := range compose.Services[service].Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 {
				m[parts[1]] = parts[0]
			}
		}
		return m
	}
	if src := mounts("prometheus")["/etc/prometheus/alerts.yaml"]; src != "./prometheus/alerts.yaml" {
		t.Errorf("prometheus mounts %q as its alerts, want ./prometheus/alerts.yaml", src)
	}
	var prom struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	if raw, err := os.ReadFile(filepath.Join(deploy, "prometheus.yaml")); err != nil || yaml.Unmarshal(raw, &prom) != nil || !slices.Contains(prom.RuleFiles, "/etc/prometheus/alerts.yaml") {
		t.Errorf("prometheus.yaml loads rule files %v, %v; want /etc/prometheus/alerts.yaml", prom.RuleFiles, err)
	}
	g := mounts("grafana")
	if g["/etc/grafana/provisioning"] != "./grafana/provisioning" || g["/var/lib/grafana/dashboards/efaktura.json"] != "./grafana/efaktura.json" {
		t.Errorf("grafana mounts %v; want the provisioning and the dashboard", g)
	}
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	raw, err = os.ReadFile(filepath.Join(deploy, "grafana/provisioning/datasources/prometheus.yaml"))
	if err != nil || yaml.Unmarshal(raw, &ds) != nil || len(ds.Datasources) != 1 ||
		ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" || ds.Datasources[0].UID != "prometheus" {
		t.Errorf("grafana's datasource %+v, %v; want compose's Prometheus, uid prometheus", ds, err)
	}
	var providers struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	raw, err = os.ReadFile(filepath.Join(deploy, "grafana/provisioning/dashboards/efaktura.yaml"))
	if err != nil || yaml.Unmarshal(raw, &providers) != nil || len(providers.Providers) != 1 || providers.Providers[0].Options.Path != "/var/lib/grafana/dashboards" {
		t.Errorf("grafana's dashboard provider %+v, %v; want /var/lib/grafana/dashboards", providers, err)
	}
}
