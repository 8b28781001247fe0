package server_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// alertRules is the shape of a Prometheus rule file.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var (
	selectorRE = regexp.MustCompile(`\b(kagi_[a-z0-9_]+)\b(\{[^}]*\})?`)
	matcherRE  = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*$`)
	byRE       = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
)

// TestAlertRules checks docs/alerts/kagi-alerts.yaml without promtool:
// the file parses as a Prometheus rule file, and every selector in its
// expressions names a metric that a real server's /metrics serves, with
// labels that metric has. The key alerts' selectors must select the
// series that the events they watch (a refused use of a disabled key and
// of a key pending deletion, DisableKey, ScheduleKeyDeletion) produce.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile("../../docs/alerts/kagi-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules alertRules
	if err := yaml.UnmarshalStrict(b, &rules); err != nil {
		t.Fatalf("kagi-alerts.yaml: %v", err)
	}

	env := servertest.Start(t, servertest.WithMetrics())
	ctx := t.Context()
	c := env.KMS
	k1, k2 := sdkCreateKey(t, c, nil), sdkCreateKey(t, c, nil)
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k1.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: k2.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []*string{k1.KeyId, k2.KeyId} {
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k, Plaintext: []byte("x")})
		if err == nil {
			t.Fatal("Encrypt with an unusable key succeeded")
		}
	}
	mfs := scrape(t, env.Server.MetricsURL)

	alerts := 0
	for _, g := range rules.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: needs a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			alerts++
			if r.Alert == "" || r.Record != "" {
				t.Errorf("group %s: a rule without an alert name (%q)", g.Name, r.Record)
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: needs a severity label and a summary", r.Alert)
			}
			if r.For != "" {
				if _, err := model.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", r.Alert, err)
				}
			}
			checkExpr(t, r.Alert, r.Expr, mfs, g.Name == "kagi-kms-keys")
		}
	}
	if alerts < 2 {
		t.Fatalf("%d alerts in the file", alerts)
	}
}

// checkExpr checks each selector of expr against the scraped families;
// mustSelect requires each to select at least one series.
func checkExpr(t *testing.T, alert, expr string, mfs map[string]*dto.MetricFamily, mustSelect bool) {
	t.Helper()
	sels := selectorRE.FindAllStringSubmatch(expr, -1)
	if len(sels) == 0 {
		t.Errorf("%s: no kagi metric in %q", alert, expr)
		return
	}
	labelsOf := map[string]bool{}
	for _, s := range sels {
		name := s[1]
		mf, ok := mfs[name]
		if !ok {
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if base, cut := strings.CutSuffix(name, suffix); cut && mfs[base] != nil && mfs[base].GetType() == dto.MetricType_HISTOGRAM {
					mf, ok = mfs[base], true
				}
			}
		}
		if !ok {
			t.Errorf("%s: %s is not on /metrics", alert, name)
			continue
		}
		have := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = true
				labelsOf[lp.GetName()] = true
			}
		}
		type matcher struct{ name, op, value string }
		var ms []matcher
		if s[2] != "" {
			for _, part := range strings.Split(strings.Trim(s[2], "{}"), ",") {
				p := matcherRE.FindStringSubmatch(part)
				if p == nil {
					t.Errorf("%s: cannot read matcher %q", alert, part)
					continue
				}
				if !have[p[1]] {
					t.Errorf("%s: %s has no label %q", alert, name, p[1])
				}
				ms = append(ms, matcher{p[1], p[2], p[3]})
			}
		}
		if !mustSelect {
			continue
		}
		selected := false
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			all := true
			for _, mt := range ms {
				v := got[mt.name]
				re := regexp.MustCompile("^(?:" + mt.value + ")$")
				switch mt.op {
				case "=":
					all = all && v == mt.value
				case "!=":
					all = all && v != mt.value
				case "=~":
					all = all && re.MatchString(v)
				case "!~":
					all = all && !re.MatchString(v)
				}
			}
			if all {
				selected = true
				break
			}
		}
		if !selected {
			t.Errorf("%s: %s%s selects none of: %s", alert, name, s[2], metricSeries(mfs, name))
		}
	}
	for _, by := range byRE.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(by[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !labelsOf[l] {
				t.Errorf("%s: by (%s): no metric of the expression has label %q", alert, by[1], l)
			}
		}
	}
}
