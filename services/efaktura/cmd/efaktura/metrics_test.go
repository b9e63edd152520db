package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
)

// scrape returns the system's /metrics.
func (s *system) scrape() string {
	s.t.Helper()
	code, body := s.do("GET", "/metrics", "", nil)
	if code != 200 {
		s.t.Fatalf("GET /metrics: %d %s", code, body)
	}
	return string(body)
}

// series is one line of the Prometheus text format: name, labels, value.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

var seriesLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// parseMetrics reads the series of a scrape; comments are skipped.
func parseMetrics(body string) []series {
	var out []series
	for line := range strings.SplitSeq(body, "\n") {
		m := seriesLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		s := series{name: m[1], labels: map[string]string{}, value: v}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[p[1]] = p[2]
		}
		out = append(out, s)
	}
	return out
}

// seriesValue returns the value of the one series named name whose labels
// include want, or an error naming the series of that name there are.
func seriesValue(all []series, name string, want map[string]string) (float64, error) {
	var have []string
	for _, s := range all {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
			}
		}
		if match {
			return s.value, nil
		}
		have = append(have, fmt.Sprint(s.labels, " ", s.value))
	}
	return 0, fmt.Errorf("no %s%v; there are %q", name, want, have)
}

// expect returns nil when every (name, labels) of want has its value in
// body.
func expect(body string, want []sample) error {
	all := parseMetrics(body)
	for _, w := range want {
		v, err := seriesValue(all, w.name, w.labels)
		if err != nil {
			return err
		}
		if !w.check(v) {
			return fmt.Errorf("%s%v = %v, want %s", w.name, w.labels, v, w.what)
		}
	}
	return nil
}

type sample struct {
	name   string
	labels map[string]string
	what   string
	check  func(float64) bool
}

func eq(name string, labels map[string]string, want float64) sample {
	return sample{name, labels, fmt.Sprint(want), func(v float64) bool { return v == want }}
}

func gt(name string, labels map[string]string, than float64) sample {
	return sample{name, labels, fmt.Sprint("> ", than), func(v float64) bool { return v > than }}
}

type labels = map[string]string

// TestMetricsAfterAFlow scrapes efaktura up's /metrics, as Prometheus
// does, before and after a small flow: municipality 0101 with its
// agreements pending (an answer parks, then goes once they are approved),
// and 0202, whose economy system refuses every answer with 422 (the answer
// is set aside in the dead-letter stream). Every metric of issue 12 shows
// with the labels and values the flow implies.
func TestMetricsAfterAFlow(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "the answer names no document of ours", http.StatusUnprocessableEntity)
	}))
	defer refusing.Close()
	tenants := writeFile(t, "tenants.yaml", []byte(fmt.Sprintf(`tenants:
  - kommune: "0202"
    name: Refusing Kommune
    cvr: "11223344"
    economy_system: {id: erp-0202, name: ERP, endpoint: %s/answers, secret: secret-0202}
    senders:
      - {type: CVR, id: "12345674", nets: false}
      - {type: CVR, id: "24680134", nets: false}
      - {type: EAN, id: "7350000000030", nets: false}
    agreements:
      forside: {state: approved}
      bagside: {state: approved}
    tokens:
      - {role: ingest, name: erp-0202, token: ingest-0202}
      - {role: caseworker, name: cw, token: case-0202}
`, refusing.URL)))
	// With the rollout's deadline, which respond exports for its alert.
	s := startUpConfig(t, upConfig{HTTPAddr: freeAddr(t), DataDir: t.TempDir(), Pending: true, TenantsFile: tenants},
		map[string]string{"EFAKTURA_AGREEMENTS_DEADLINE": "2026-02-09"})
	k1, k2 := labels{"kommune": "0101"}, labels{"kommune": "0202"}

	// At start-up: the backlog of every worker's consumers, even under up
	// (issue 12), the failure counters at 0, no dead letters, no scope
	// labels.
	bustest.Eventually(t, "the metrics at start-up", func() error {
		body := s.scrape()
		if strings.Contains(body, "otel_scope_") {
			return fmt.Errorf("/metrics carries otel_scope_* labels")
		}
		var want []sample
		for _, c := range []string{"ingest-bundles", "validate-documents", "decide-document-validated", "respond-decided", "respond-answers-0101", "respond-answers-0202"} {
			want = append(want, eq("efaktura_consumer_pending", labels{"consumer": c}, 0),
				eq("efaktura_events_failed_total", labels{"consumer": c}, 0),
				eq("efaktura_events_dead_lettered_total", labels{"consumer": c}, 0),
				eq("efaktura_events_retried_total", labels{"consumer": c}, 0))
		}
		for _, svc := range []string{"ingest", "validate", "decide", "respond"} {
			want = append(want, eq("efaktura_dead_letters", labels{"service": svc, "stream": "EFAKTURA_DLQ"}, 0))
		}
		for _, by := range []string{"caseworker", "rule", "automatic"} {
			want = append(want, eq("efaktura_documents_decided_total", labels{"by": by}, 0))
		}
		want = append(want,
			eq("efaktura_documents_awaiting_verdict", k1, 0),
			eq("efaktura_answers_parked", k1, 0), eq("efaktura_answers_set_aside", k1, 0),
			eq("efaktura_answers_parked", k2, 0), eq("efaktura_answers_set_aside", k2, 0),
			// Issue 15: 0202 is ready, 0101 pending, from start-up.
			eq("efaktura_municipalities_ready", nil, 1), eq("efaktura_municipalities_not_ready", nil, 1),
			eq("efaktura_agreements_deadline_timestamp_seconds", nil, 1770595200))
		return expect(body, want)
	})

	s.postSamples("ingest-t", 1, 2, 700)
	s.postSamples("ingest-0202", 1, 1, 800)
	bustest.Eventually(t, "three documents awaiting a verdict", func() error {
		return expect(s.scrape(), []sample{
			eq("efaktura_documents_awaiting_verdict", k1, 2),
			eq("efaktura_documents_awaiting_verdict", k2, 1),
			gt("efaktura_documents_awaiting_verdict_oldest_age_seconds", k1, 0),
			gt("http_server_request_duration_seconds_count", labels{"http_route": "/v1/bundles", "http_request_method": "POST", "http_response_status_code": "202"}, 1),
		})
	})

	// One of 0101's documents approved: its answer parks.
	bustest.Eventually(t, "0101's documents listed", func() error { return is(len(s.documents("awaiting_verdict")), 2) })
	if code, body := s.verdict(s.documents("awaiting_verdict")[0].ID, `{"decision":"approve"}`); code != 200 {
		t.Fatalf("verdict: %d %s", code, body)
	}
	// 0202's approved: its economy system refuses the answer.
	code, body := s.do("GET", "/v1/documents?state=awaiting_verdict", "case-0202", nil)
	id := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(string(body))
	if code != 200 || id == nil {
		t.Fatalf("0202's documents: %d %s", code, body)
	}
	if code, body := s.do("POST", "/v1/documents/"+id[1]+"/verdict", "case-0202", []byte(`{"decision":"approve"}`)); code != 200 {
		t.Fatalf("0202's verdict: %d %s", code, body)
	}
	bustest.Eventually(t, "a parked answer and a set-aside one", func() error {
		return expect(s.scrape(), []sample{
			eq("efaktura_documents_awaiting_verdict", k1, 1),
			eq("efaktura_documents_awaiting_verdict", k2, 0),
			eq("efaktura_answers_parked", k1, 1),
			gt("efaktura_answers_parked_oldest_age_seconds", k1, 0),
			eq("efaktura_answers_set_aside", k2, 1),
			eq("efaktura_answers_parked", k2, 0),
			eq("efaktura_dead_letters", labels{"service": "respond", "stream": "EFAKTURA_DLQ"}, 1),
			eq("efaktura_events_dead_lettered_total", labels{"consumer": "respond-answers-0202"}, 1),
			eq("efaktura_delivery_duration_seconds_count", labels{"outcome": "refused"}, 1),
			eq("efaktura_consumer_pending", labels{"consumer": "respond-answers-0101"}, 1),
		})
	})

	// The agreements approved: the parked answer goes.
	for _, name := range []string{"forside", "bagside"} {
		if code, resp := s.do("PUT", "/v1/tenants/0101/agreements/"+name, "admin-t", []byte(`{"state":"approved","economy_system":"erp-sim"}`)); code != 200 {
			t.Fatalf("PUT agreement %s: %d %s", name, code, resp)
		}
	}
	bustest.Eventually(t, "the answer delivered", func() error {
		return expect(s.scrape(), []sample{
			eq("efaktura_answers_parked", k1, 0),
			eq("efaktura_answers_parked_oldest_age_seconds", k1, 0),
			eq("efaktura_delivery_duration_seconds_count", labels{"outcome": "delivered"}, 1),
			eq("efaktura_document_time_to_answer_seconds_count", nil, 1),
			gt("efaktura_document_time_to_answer_seconds_sum", nil, 0),
			eq("efaktura_consumer_pending", labels{"consumer": "respond-answers-0101"}, 0),
		})
	})

	// No label holds a document id.
	all := parseMetrics(s.scrape())
	for _, ser := range all {
		for k, v := range ser.labels {
			if strings.Contains(v, id[1]) {
				t.Errorf("%s has label %s=%q, a document id", ser.name, k, v)
			}
		}
	}
	exported := exportedNames(all)
	for _, name := range issue12Metrics {
		if !slices.Contains(exported, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	checkQueriesName(t, exported)
	checkMetricsDocumented(t, exported)
}

// checkQueriesName: every metric the dashboard's panels and the alerts
// query is one this scrape of efaktura up exports, or one Prometheus makes
// (up) or the rules record.
func checkQueriesName(t *testing.T, exported []string) {
	t.Helper()
	known := append(slices.Clone(exported), "up", "efaktura:alert_threshold")
	raw, err := os.ReadFile("../../../../deploy/grafana/efaktura.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("deploy/grafana/efaktura.json: %v", err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	if len(dash.Panels) < 10 {
		t.Errorf("the dashboard has %d panels", len(dash.Panels))
	}
	alerts, err := os.ReadFile("../../../../deploy/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Expr string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(alerts, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	for _, e := range exprs {
		names := metricNames(e)
		if len(names) == 0 && !strings.HasPrefix(e, "vector(") {
			t.Errorf("no metric found in %q", e)
		}
		for _, n := range names {
			if !slices.Contains(known, n) {
				t.Errorf("%q queries %s, which efaktura up does not export", e, n)
			}
		}
	}
}

var (
	promStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
)

// metricNames returns the metric names a PromQL expression selects:
// identifiers that are not functions, keywords, labels or strings.
func metricNames(expr string) []string {
	e := promStrings.ReplaceAllString(expr, "")
	e = promMatchers.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	var out []string
	for _, m := range promIdent.FindAllStringSubmatch(e, -1) {
		if m[1] != "" || slices.Contains(promKeywords, strings.ToLower(m[0])) {
			continue // a function or an aggregation, or a keyword
		}
		out = append(out, m[0])
	}
	return out
}

// checkMetricsDocumented: docs/operations.md's Metrics section names every
// efaktura metric and the HTTP duration this scrape exports.
func checkMetricsDocumented(t *testing.T, exported []string) {
	t.Helper()
	doc, err := os.ReadFile("../../../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "\n## Metrics\n")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, name := range exported {
		if !strings.HasPrefix(name, "efaktura_") && !strings.HasPrefix(name, "http_server_") {
			continue
		}
		if base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum"); base != name && slices.Contains(exported, base) {
			continue // a histogram's series, documented by its family
		}
		if !strings.Contains(section, "`"+name+"`") && !strings.Contains(section, "`"+name+"{") {
			t.Errorf("docs/operations.md's Metrics section does not name %s", name)
		}
	}
}

// issue12Metrics are the metrics issue 12 asks for by name.
var issue12Metrics = []string{
	"efaktura_documents_awaiting_verdict", "efaktura_answers_parked", "efaktura_answers_set_aside",
	"efaktura_dead_letters", "efaktura_document_time_to_answer_seconds", "efaktura_delivery_duration_seconds",
	"http_server_request_duration_seconds", "efaktura_consumer_pending",
}

// exportedNames returns the metric names of a scrape, histograms by their
// family name (without _bucket, _count, _sum) as well as by their series'.
func exportedNames(all []series) []string {
	var out []string
	for _, s := range all {
		out = append(out, s.name)
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if base, ok := strings.CutSuffix(s.name, suffix); ok {
				out = append(out, base)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`max by (kommune) (efaktura_answers_parked)`: {"efaktura_answers_parked"},
		`histogram_quantile(0.95, sum by (le, outcome) (rate(efaktura_delivery_duration_seconds_bucket{outcome!="x y"}[5m])))`: {"efaktura_delivery_duration_seconds_bucket"},
		`(a > on() group_left() efaktura:alert_threshold{alert="A"}) and max by (consumer) (deriv(b[10m])) > 0`:                {"a", "efaktura:alert_threshold", "b"},
		`up{job=~".*efaktura.*"} == 0`: {"up"},
		`vector(86400)`:                {},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}
