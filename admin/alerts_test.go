package admin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	yaml "go.yaml.in/yaml/v3"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/admin/httpapi"
	"dmsdns.org/dms/authserver"
	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/xfr"
	"dmsdns.org/dms/zonedb"
)

// The shipped alerting rules and their promtool unit tests.
var (
	alertRules     = filepath.Join("..", "packaging", "prometheus", "dms-alerts.yml")
	alertRuleTests = filepath.Join("..", "packaging", "prometheus", "dms-alerts_test.yml")
)

// ruleFile is a Prometheus rule file, strictly: a key Prometheus would
// reject, or one this test does not know, fails the test.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// rule is one rule's name and expression.
type rule struct{ name, expr string }

func readRules(t *testing.T, path string) []rule {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []rule
	for _, g := range f.Groups {
		for i, r := range g.Rules {
			name := r.Alert + r.Record
			if name == "" || r.Alert != "" && r.Record != "" {
				t.Fatalf("%s: group %s, rule %d: give alert or record, not both or neither", path, g.Name, i+1)
			}
			if strings.TrimSpace(r.Expr) == "" {
				t.Fatalf("%s: %s: no expr", path, name)
			}
			if r.Alert != "" && (r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "") {
				t.Errorf("%s: %s: an alert needs labels.severity, annotations.summary and annotations.description", path, name)
			}
			out = append(out, rule{name, r.Expr})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rules", path)
	}
	return out
}

// selector is a metric named in an expression with its label matchers
// (nil when it has none).
type selector struct {
	metric   string
	matchers []matcher
}

type matcher struct{ label, op, value string }

var (
	reIdent   = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	reMatcher = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$`)
)

// selectors finds the dms_ metrics of a PromQL expression and their label
// matchers. String literals are skipped (a label value is not a metric);
// what it cannot read it reports rather than guesses.
func selectors(expr string) ([]selector, error) {
	var out []selector
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end := stringEnd(expr, i)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string at %q", expr[i:])
			}
			i = end
		case c == '#':
			// A comment to the end of the line.
			if j := strings.IndexByte(expr[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(expr)
			}
		case c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			id := reIdent.FindString(expr[i:])
			i += len(id)
			if !strings.HasPrefix(id, "dms_") {
				continue
			}
			s := selector{metric: id}
			j := i
			for j < len(expr) && (expr[j] == ' ' || expr[j] == '\t') {
				j++
			}
			if j < len(expr) && expr[j] == '{' {
				end := j + 1
				for end < len(expr) && expr[end] != '}' {
					if expr[end] == '"' {
						if end = stringEnd(expr, end); end < 0 {
							return nil, fmt.Errorf("%s: unterminated label value", id)
						}
						continue
					}
					end++
				}
				if end == len(expr) {
					return nil, fmt.Errorf("%s: no } after its label matchers", id)
				}
				for _, m := range splitMatchers(expr[j+1 : end]) {
					p := reMatcher.FindStringSubmatch(m)
					if p == nil {
						return nil, fmt.Errorf("%s: cannot read the label matcher %q", id, m)
					}
					s.matchers = append(s.matchers, matcher{p[1], p[2], p[3]})
				}
				i = end + 1
			}
			out = append(out, s)
		default:
			i++
		}
	}
	return out, nil
}

// stringEnd is the index just past the string literal starting at i, or
// -1.
func stringEnd(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1
		}
	}
	return -1
}

// splitMatchers splits a selector's braces on the commas outside quotes.
func splitMatchers(s string) []string {
	var out []string
	start, inq := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inq:
			i++
		case s[i] == '"':
			inq = !inq
		case s[i] == ',' && !inq:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

// TestSelectors: the expression reader finds the metrics of multi-line
// expressions and their matchers, skips label values and comments, and
// refuses what it cannot read.
func TestSelectors(t *testing.T) {
	got, err := selectors("sum by (job) (rate(dms_a_total{x=\"dms_not_a_metric\", y=~\"a|b\"}[5m]))\n  > 0.05 * dms_b # dms_comment\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []selector{{"dms_a_total", []matcher{{"x", "=", "dms_not_a_metric"}, {"y", "=~", "a|b"}}}, {"dms_b", nil}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{`dms_a{x="1"`, `dms_a{x=1}`, `dms_a{x="1}`} {
		if _, err := selectors(bad); err == nil {
			t.Errorf("%s: read", bad)
		}
	}
}

// fakeCluster is a cluster node for WatchCluster.
type fakeCluster struct{}

func (fakeCluster) Status(context.Context) any { return nil }
func (fakeCluster) Health() error              { return nil }
func (fakeCluster) Applied() uint64            { return 7 }
func (fakeCluster) LastHead() uint64           { return 9 }
func (fakeCluster) Leader() bool               { return true }

// servedMetrics builds the metrics the way dms serve does (admin/cli
// serve.go: NewMetrics and every Watch, the HTTP API's on the same
// registry, a cluster node's), with something behind each metric that
// shows only once there is something to show: a signed zone re-signed
// once (the soonest expiry), a secondary polled once (its state), an API
// request.
func servedMetrics(t *testing.T) *admin.Metrics {
	t.Helper()
	ctx := context.Background()
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := admin.New(db, nil)
	c := admin.Caller{User: "alice", Host: "master", Sectag: admin.SectagAdmin}
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."}} {
		if _, err := svc.ConfigSet(ctx, c, admin.ConfigSetRequest{Key: kv[0], Value: kv[1]}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.ZoneCreate(ctx, c, admin.ZoneCreateRequest{Name: "signed.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DNSSECEnable(ctx, c, admin.DNSSECRequest{Name: "signed.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateSG(zonedb.SG{Name: "ext"}, "test"); err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // a port nobody answers on
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().String()
	pc.Close()
	if _, err := db.CreateServer(zonedb.Server{Name: "ns2", Address: closed, SG: "ext", Type: "bind9"}); err != nil {
		t.Fatal(err)
	}

	m := admin.NewMetrics(db)
	monitor := xfr.NewMonitor(db, xfr.MonitorOptions{Timeout: 100 * time.Millisecond}, nil)
	resigner := dnssec.NewResigner(db, nil)
	m.WatchSecondaries(monitor)
	m.WatchDNSSEC(svc.Signer(), resigner)
	srv := authserver.NewServer(db, authserver.Options{}, nil)
	m.WatchServer(srv, svc)
	m.WatchBackups(db)
	m.WatchZoneChecks(svc)
	m.WatchCluster(fakeCluster{})
	api, err := httpapi.New(svc, httpapi.Options{Registerer: m.Registry})
	if err != nil {
		t.Fatal(err)
	}
	api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/zones", nil))
	monitor.CheckNow(ctx)
	resigner.Once(ctx)
	return m
}

// exported is what a registry exports: the families it gathers (with
// their series), and, for a metric with no series yet (a vector nobody
// used, a gauge shown only once it has a value), whether a collector
// describes it.
type exported struct {
	reg      *prometheus.Registry
	families map[string]*dto.MetricFamily
}

func exportedBy(t *testing.T, m *admin.Metrics) *exported {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	e := &exported{reg: m.Registry, families: map[string]*dto.MetricFamily{}}
	for _, f := range fams {
		e.families[f.GetName()] = f
	}
	return e
}

// described says whether a collector of the registry describes a metric
// of this name. The registry keeps every registered descriptor's name
// (from Describe) and refuses a new one with the same name and another
// help text: a probe of that name is refused exactly when the name is
// taken.
func (e *exported) described(name string) bool {
	probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "alerts_test probe: is " + name + " exported?"})
	if err := e.reg.Register(probe); err != nil {
		var are prometheus.AlreadyRegisteredError
		return errors.As(err, &are) || strings.Contains(err.Error(), "same fully-qualified name")
	}
	e.reg.Unregister(probe)
	return false
}

// family is the gathered family a series name belongs to: itself, or a
// histogram's or summary's _bucket, _sum or _count.
func (e *exported) family(name string) *dto.MetricFamily {
	if f := e.families[name]; f != nil {
		return f
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suf)
		if !ok {
			continue
		}
		if f := e.families[base]; f != nil {
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				return f
			case dto.MetricType_SUMMARY:
				if suf != "_bucket" {
					return f
				}
			}
		}
	}
	return nil
}

// check says what is wrong with a selector against what is exported: an
// unknown metric, a matcher no series can satisfy (an unknown label, a
// value no series has: state="lagging" for "LAGGING").
func (e *exported) check(s selector) error {
	f := e.family(s.metric)
	if f == nil {
		if !e.described(s.metric) {
			return fmt.Errorf("dms does not export %s", s.metric)
		}
		if len(s.matchers) > 0 {
			return fmt.Errorf("%s has no series here to check its label matchers against; give the test one", s.metric)
		}
		return nil
	}
	for _, mt := range s.matchers {
		var values []string
		switch mt.op {
		case "=":
			values = []string{mt.value}
		case "=~":
			if !regexp.MustCompile(`^[A-Za-z0-9_.-]+(\|[A-Za-z0-9_.-]+)*$`).MatchString(mt.value) {
				return fmt.Errorf("%s: cannot check the regexp %s=~%q (only alternatives of plain values)", s.metric, mt.label, mt.value)
			}
			values = strings.Split(mt.value, "|")
		default:
			continue // != and !~ narrow nothing down to a missing value
		}
		seen := map[string]bool{}
		hasLabel := false
		for _, mm := range f.GetMetric() {
			for _, lp := range mm.GetLabel() {
				if lp.GetName() == mt.label {
					hasLabel = true
					seen[lp.GetValue()] = true
				}
			}
		}
		if !hasLabel {
			return fmt.Errorf("%s has no label %s", s.metric, mt.label)
		}
		for _, v := range values {
			if !seen[v] {
				var have []string
				for k := range seen {
					have = append(have, k)
				}
				slices.Sort(have)
				return fmt.Errorf("%s{%s=%q}: no series has that value (values: %s)", s.metric, mt.label, v, strings.Join(have, ", "))
			}
		}
	}
	return nil
}

// TestAlertRulesUseExportedMetrics: every metric the shipped alerting
// rules name is one dms serve exports, with the labels and label values
// the rules match on; and each check does fail on a misspelt name, label
// or value.
func TestAlertRulesUseExportedMetrics(t *testing.T) {
	e := exportedBy(t, servedMetrics(t))
	n := 0
	for _, r := range readRules(t, alertRules) {
		sels, err := selectors(r.expr)
		if err != nil {
			t.Errorf("%s: %v", r.name, err)
			continue
		}
		for _, s := range sels {
			n++
			if err := e.check(s); err != nil {
				t.Errorf("%s: %v", r.name, err)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d dms_ metrics found in the rules", n)
	}
	// The checks themselves.
	for _, bad := range []selector{
		{metric: "dms_backup_last_succes_timestamp_seconds"},
		{metric: "dms_secondary_state", matchers: []matcher{{"state", "=", "lagging"}}},
		{metric: "dms_secondary_state", matchers: []matcher{{"status", "=", "LAGGING"}}},
		{metric: "dms_notify_total", matchers: []matcher{{"result", "=~", "failed|timeout"}}},
		{metric: "dms_xfr_duration_seconds_total"},
	} {
		if e.check(bad) == nil {
			t.Errorf("%v passes the check", bad)
		}
	}
	for _, good := range []selector{{metric: "dms_xfr_duration_seconds_bucket"}, {metric: "dms_dns_query_duration_seconds_count"}} {
		if err := e.check(good); err != nil {
			t.Errorf("%v: %v", good, err)
		}
	}
	// A metric with no series yet (a vector nobody used) is found by its
	// description, and the probe leaves nothing behind.
	fresh := &exported{reg: prometheus.NewRegistry(), families: map[string]*dto.MetricFamily{}}
	fresh.reg.MustRegister(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dms_unused_total", Help: "Nothing."}, []string{"l"}))
	if err := fresh.check(selector{metric: "dms_unused_total"}); err != nil {
		t.Errorf("a vector without series: %v", err)
	}
	if fresh.described("dms_unused") || fresh.described("dms_unused") {
		t.Errorf("dms_unused is described")
	}
}

// TestReadmeDocumentsEveryMetric: README's "Metrics and alerts" table
// lists every dms_ metric dms serve exports, and only those.
func TestReadmeDocumentsEveryMetric(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented, err := documentedMetrics(string(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range exportedBy(t, servedMetrics(t)).undocumented(documented) {
		t.Errorf("README.md, Metrics and alerts: %s", p)
	}
}

// documentedMetrics are the metrics of the table of README's section
// "Metrics and alerts": the rows that start with a dms_ name.
func documentedMetrics(readme string) (map[string]bool, error) {
	start := strings.Index(readme, "\n## Metrics and alerts\n")
	if start < 0 {
		return nil, errors.New(`README.md has no section "## Metrics and alerts"`)
	}
	section := readme[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if name, ok := strings.CutPrefix(line, "| `dms_"); ok {
			name, _, _ = strings.Cut(name, "`")
			documented["dms_"+name] = true
		}
	}
	if len(documented) == 0 {
		return nil, errors.New("README.md, Metrics and alerts: no table rows of the form | `dms_...` |")
	}
	return documented, nil
}

// undocumented lists the exported dms_ metrics the table lacks, and the
// table's metrics not exported.
func (e *exported) undocumented(documented map[string]bool) []string {
	var out []string
	for name := range e.families {
		if strings.HasPrefix(name, "dms_") && !documented[name] {
			out = append(out, name+" is exported but not in the table")
		}
	}
	for name := range documented {
		if e.families[name] == nil && !e.described(name) {
			out = append(out, name+" is in the table but dms does not export it")
		}
	}
	slices.Sort(out)
	return out
}

// TestAlertRulesPromtool: promtool (Debian package prometheus) accepts the
// rule file, and its unit tests (which alerts fire on which series) pass.
func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed: install the Debian package prometheus (apt-get install prometheus; make test does it through scripts/test-deps.sh): %v", err)
	}
	for _, args := range [][]string{{"check", "rules", alertRules}, {"test", "rules", alertRuleTests}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
