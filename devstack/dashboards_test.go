package devstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/worker"
	"github.com/qesflow/qesflow/workflows"
)

const (
	dashboardFile = "../deploy/grafana/qesflow.json"
	alertsFile    = "../deploy/prometheus/alerts.yml"
)

// alertRules is the Prometheus rule file format, the fields an alert rule may carry.
type alertRules struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func readAlertRules(t *testing.T) alertRules {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	require.NoError(t, err)
	var rules alertRules
	require.NoError(t, yaml.UnmarshalStrict(b, &rules), "unknown or misplaced fields in %s", alertsFile)
	return rules
}

// TestAlertRulesWellFormed: the alert rules parse strictly (no unknown field) and every rule
// has a unique name, an expression, a duration, a severity and a summary.
func TestAlertRulesWellFormed(t *testing.T) {
	rules := readAlertRules(t)
	require.NotEmpty(t, rules.Groups)
	duration := regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)
	seen := map[string]bool{}
	for _, g := range rules.Groups {
		require.NotEmpty(t, g.Name)
		require.NotEmpty(t, g.Rules, "group %s", g.Name)
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "a rule without a name in %s", g.Name)
			require.False(t, seen[r.Alert], "alert %s defined twice", r.Alert)
			seen[r.Alert] = true
			require.NotEmpty(t, strings.TrimSpace(r.Expr), r.Alert)
			require.Regexp(t, duration, r.For, "%s: for", r.Alert)
			require.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], "%s: labels.severity", r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], "%s: annotations.summary", r.Alert)
			_, err := promQLMetricNames(r.Expr)
			require.NoError(t, err, r.Alert)
		}
	}
}

// dashboardExprs returns every PromQL expression of the dashboard's panels, by panel title.
func dashboardExprs(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	out := map[string][]string{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.Expr, "panel %q", p.Title)
			out[p.Title] = append(out[p.Title], tg.Expr)
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestDashboardAndAlertsUseExportedMetrics runs the dev stack through a fraud case that a
// compliance officer rejects (webhooks, API calls, workflow and SDK metrics all emitted),
// collects the metric names its registry describes and exports, adds the worker process's
// own registry (Treezor health, outbound deliveries, built as `qesflow worker` builds them),
// and fails if any dashboard panel or alert rule names a metric that is not among them.
func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	s := startStack(t, freeConfig(t.TempDir(), true))
	fraudCase(t, s, "7601")
	code := call(t, http.MethodPost, s.APIURL+"/v1/onboardings/7601/compliance-decision", s.Credentials.ComplianceKey,
		map[string]string{"decision": "reject", "note": "forged"}, nil)
	require.Equal(t, http.StatusOK, code)
	waitState(t, s, "7601", workflows.StateRejected)

	workerReg := prometheus.NewRegistry()
	worker.NewTreezorHealth(workerReg)
	_, err := outbound.DeliveryCounter(workerReg)
	require.NoError(t, err)
	exported := exportedMetrics(t, s.Registry, workerReg)

	check := func(where, expr string) {
		t.Helper()
		names, err := promQLMetricNames(expr)
		require.NoError(t, err, "%s: %s", where, expr)
		require.NotEmpty(t, names, "%s: no metric in %s", where, expr)
		for _, n := range names {
			require.True(t, exported.has(n), "%s uses %s, which the product does not export (expr %s)", where, n, expr)
		}
	}
	for title, exprs := range dashboardExprs(t) {
		for _, e := range exprs {
			check("dashboard panel "+title, e)
		}
	}
	for _, g := range readAlertRules(t).Groups {
		for _, r := range g.Rules {
			check("alert "+r.Alert, r.Expr)
		}
	}
	// The control: a made-up name is caught.
	require.False(t, exported.has("qesflow_onboardings_lost_total"))
	require.False(t, exported.has("qesflow_bridge_requests_bucket"), "a counter has no buckets")
}

// metricSet is the exported metric families and their types (UNTYPED when only described).
type metricSet map[string]dto.MetricType

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// exportedMetrics gathers what the registries export and describe.
func exportedMetrics(t *testing.T, regs ...*prometheus.Registry) metricSet {
	t.Helper()
	set := metricSet{}
	for _, reg := range regs {
		ch := make(chan *prometheus.Desc, 64)
		go func() { reg.Describe(ch); close(ch) }()
		for d := range ch {
			m := fqName.FindStringSubmatch(d.String())
			require.NotNil(t, m, "desc %s", d)
			if _, ok := set[m[1]]; !ok {
				set[m[1]] = dto.MetricType_UNTYPED
			}
		}
		families, err := reg.Gather()
		require.NoError(t, err)
		for _, f := range families {
			set[f.GetName()] = f.GetType()
		}
	}
	return set
}

// has reports whether a series name used in PromQL is exported: a family's name, or the
// _bucket/_sum/_count series of a histogram (_sum/_count of a summary).
func (s metricSet) has(name string) bool {
	if _, ok := s[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		switch s[base] {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			return true
		case dto.MetricType_SUMMARY:
			return suffix != "_bucket"
		}
	}
	return false
}

// promQL words that are not metric names: aggregations, functions, operators and modifiers.
var promQLWords = map[string]bool{
	"and": true, "or": true, "unless": true, "by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "bool": true, "offset": true, "inf": true, "nan": true, "atan2": true,
}

// labelListWords are followed by a parenthesised list of label names.
var labelListWords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// promQLMetricNames returns the metric names a PromQL expression selects. It drops string
// literals, label matchers ({...}), ranges and subqueries ([...]), label lists after
// by/without/on/ignoring/group_left/group_right, function and aggregation names (an
// identifier followed by "("), keywords, numbers, durations after offset, and Grafana
// variables ($name).
func promQLMetricNames(expr string) ([]string, error) {
	var b strings.Builder
	depthBrace, depthBracket := 0, 0
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= len(expr) {
				return nil, fmt.Errorf("unterminated string in %q", expr)
			}
			i = j
			b.WriteByte(' ')
		case c == '{':
			depthBrace++
		case c == '}':
			depthBrace--
			b.WriteByte(' ')
		case c == '[':
			depthBracket++
		case c == ']':
			depthBracket--
			b.WriteByte(' ')
		default:
			if depthBrace == 0 && depthBracket == 0 {
				b.WriteByte(c)
			}
		}
		if depthBrace < 0 || depthBracket < 0 {
			return nil, fmt.Errorf("unbalanced brackets in %q", expr)
		}
	}
	if depthBrace != 0 || depthBracket != 0 {
		return nil, fmt.Errorf("unbalanced brackets in %q", expr)
	}
	tokens := promQLTokens.FindAllString(b.String(), -1)
	var names []string
	for i := 0; i < len(tokens); i++ {
		tok := tokens[i]
		next := ""
		if i+1 < len(tokens) {
			next = tokens[i+1]
		}
		switch {
		case labelListWords[strings.ToLower(tok)] && next == "(":
			for i < len(tokens) && tokens[i] != ")" {
				i++
			}
		case strings.ToLower(tok) == "offset":
			i++ // the duration
		case promQLWords[strings.ToLower(tok)], next == "(":
		case strings.EqualFold(next, "by") || strings.EqualFold(next, "without"): // an aggregation: sum by (le) (...)
		case tok[0] == '$' || (tok[0] >= '0' && tok[0] <= '9') || tok[0] == '.':
		case isIdent(tok):
			if !slices.Contains(names, tok) {
				names = append(names, tok)
			}
		}
	}
	return names, nil
}

// promQLTokens splits what remains of an expression into identifiers, variables, numbers and
// single punctuation characters.
var promQLTokens = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|[A-Za-z_:][A-Za-z0-9_:]*|[0-9.][0-9.eE+\-xXa-fA-F]*[a-z]*|[()]`)

var identRE = regexp.MustCompile(`^[A-Za-z_:][A-Za-z0-9_:]*$`)

func isIdent(s string) bool { return identRE.MatchString(s) }

// TestPromQLMetricNames pins the tokenizer on the forms the files use.
func TestPromQLMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum(rate(a_total{x="y",z=~"5.."}[5m]))`:                                                  {"a_total"},
		`histogram_quantile(0.99, sum by (le, route) (rate(b_seconds_bucket[$__rate_interval])))`: {"b_seconds_bucket"},
		`sum(increase(c_total[2h])) == 0 and on() sum(d_total offset 1h) > 0`:                     {"c_total", "d_total"},
		`max by (reason) (e) == 1`:                                                                {"e"},
		`sum by (endpoint) (f{outcome="failed"}) unless sum by (endpoint) (f) > 2 * 86400`:        {"f"},
		`g{a="}"} / ignoring(code) group_left(route) h`:                                           {"g", "h"},
	} {
		got, err := promQLMetricNames(expr)
		require.NoError(t, err, expr)
		require.Equal(t, want, got, expr)
	}
	_, err := promQLMetricNames(`sum(a{x="y"`)
	require.Error(t, err)
}

// TestAlertRulesPromtool checks the rule file with Prometheus's own checker (Debian's
// prometheus package; .ci/run installs it): PromQL syntax, templates, durations.
func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no promtool on PATH: .ci/run must install Debian's prometheus package")
		}
		t.Skip("no promtool on PATH (apt-get install prometheus); CI runs this test")
	}
	out, err := exec.Command(promtool, "check", "rules", alertsFile).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "SUCCESS")
}
