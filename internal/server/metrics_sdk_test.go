package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	dto "github.com/prometheus/client_model/go"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestSDKMetrics drives a real server with the SDK — successes, an
// AccessDeniedException, a DisabledException on a disabled key, a
// KMSInvalidStateException on a key pending deletion, a NotFoundException,
// an STS call — scrapes /metrics over HTTP and checks every counter
// exactly, the histograms' counts against them, the key count by state
// and the key store's cache.
func TestSDKMetrics(t *testing.T) {
	env := servertest.Start(t, servertest.WithMetrics())
	if env.Server.MetricsURL == "" || strings.HasPrefix(env.Server.MetricsURL, env.Server.URL) {
		t.Fatalf("MetricsURL %q, API %q: want metrics on an address of their own", env.Server.MetricsURL, env.Server.URL)
	}
	ctx := t.Context()
	c := env.KMS
	enabled := sdkCreateKey(t, c, nil)
	disabled := sdkCreateKey(t, c, nil)
	pending := sdkCreateKey(t, c, nil)
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: disabled.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: pending.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	encrypt := func(c *kms.Client, keyID string) error {
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("metrics")})
		return err
	}
	for range 3 {
		if err := encrypt(c, *enabled.KeyId); err != nil {
			t.Fatal(err)
		}
	}
	other := env.CreateAccount(t)
	sdkWantErr(t, "Encrypt from another account", encrypt(env.Client(t, servertest.Region, other.AccessKeyID, other.Secret), *enabled.Arn), "AccessDeniedException")
	sdkWantErr(t, "Encrypt with a disabled key", encrypt(c, *disabled.KeyId), "DisabledException")
	sdkWantErr(t, "Encrypt with a key pending deletion", encrypt(c, *pending.KeyId), "KMSInvalidStateException")
	_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab")})
	sdkWantErr(t, "DescribeKey of no key", err, "NotFoundException")
	rootIAMCaller(t, env).ok(t, nil, "sts", "GetCallerIdentity")

	mfs := scrape(t, env.Server.MetricsURL)

	type req struct{ service, op, outcome, code string }
	want := map[req]float64{
		{"kms", "CreateKey", "success", ""}:                            3,
		{"kms", "DisableKey", "success", ""}:                           1,
		{"kms", "ScheduleKeyDeletion", "success", ""}:                  1,
		{"kms", "Encrypt", "success", ""}:                              3,
		{"kms", "Encrypt", "client_error", "AccessDeniedException"}:    1,
		{"kms", "Encrypt", "client_error", "DisabledException"}:        1,
		{"kms", "Encrypt", "client_error", "KMSInvalidStateException"}: 1,
		{"kms", "DescribeKey", "client_error", "NotFoundException"}:    1,
		{"sts", "GetCallerIdentity", "success", ""}:                    1,
	}
	total := 0.0
	for r, n := range want {
		got, ok := metricValue(mfs, "kagi_requests_total", map[string]string{"service": r.service, "operation": r.op, "outcome": r.outcome, "error_code": r.code})
		if !ok || got != n {
			t.Errorf("kagi_requests_total%v = %v (present %v), want %v", r, got, ok, n)
		}
		total += n
	}
	if n := len(mfs["kagi_requests_total"].GetMetric()); n != len(want) {
		t.Errorf("kagi_requests_total has %d series, want %d: %s", n, len(want), metricSeries(mfs, "kagi_requests_total"))
	}

	// The latency histograms count every request once, by operation.
	perOp := map[[2]string]float64{}
	for r, n := range want {
		perOp[[2]string{r.service, r.op}] += n
	}
	histTotal := 0.0
	for _, m := range mfs["kagi_request_duration_seconds"].GetMetric() {
		h := m.GetHistogram()
		var svc, op string
		for _, lp := range m.GetLabel() {
			switch lp.GetName() {
			case "service":
				svc = lp.GetValue()
			case "operation":
				op = lp.GetValue()
			}
		}
		if got, want := float64(h.GetSampleCount()), perOp[[2]string{svc, op}]; got != want {
			t.Errorf("kagi_request_duration_seconds_count{%s,%s} = %v, want %v", svc, op, got, want)
		}
		if h.GetSampleSum() <= 0 {
			t.Errorf("kagi_request_duration_seconds_sum{%s,%s} = %v, want > 0", svc, op, h.GetSampleSum())
		}
		// Buckets are cumulative and the last one holds every sample.
		bs := h.GetBucket()
		for i := 1; i < len(bs); i++ {
			if bs[i].GetCumulativeCount() < bs[i-1].GetCumulativeCount() {
				t.Errorf("{%s,%s}: bucket %v holds fewer than the one before", svc, op, bs[i].GetUpperBound())
			}
		}
		if last := bs[len(bs)-1].GetCumulativeCount(); last > h.GetSampleCount() {
			t.Errorf("{%s,%s}: last bucket %d > count %d", svc, op, last, h.GetSampleCount())
		}
		histTotal += float64(h.GetSampleCount())
	}
	if histTotal != total {
		t.Errorf("histograms count %v requests, counters %v", histTotal, total)
	}

	// The seeds' alert: each refused use of an unusable key, by its state.
	for _, tc := range []struct {
		state string
		n     float64
	}{{"Disabled", 1}, {"PendingDeletion", 1}} {
		got, ok := metricValue(mfs, "kagi_kms_unusable_key_use_total", map[string]string{"operation": "Encrypt", "key_state": tc.state})
		if !ok || got != tc.n {
			t.Errorf("kagi_kms_unusable_key_use_total{Encrypt,%s} = %v (present %v), want %v", tc.state, got, ok, tc.n)
		}
	}
	if n := len(mfs["kagi_kms_unusable_key_use_total"].GetMetric()); n != 2 {
		t.Errorf("kagi_kms_unusable_key_use_total has %d series, want 2: %s", n, metricSeries(mfs, "kagi_kms_unusable_key_use_total"))
	}
	if got, ok := metricValue(mfs, "kagi_throttled_requests_total", nil); !ok || got != 0 {
		t.Errorf("kagi_throttled_requests_total = %v (present %v), want 0", got, ok)
	}

	for state, n := range map[string]float64{"Enabled": 1, "Disabled": 1, "PendingDeletion": 1, "PendingImport": 0} {
		if got, ok := metricValue(mfs, "kagi_kms_keys", map[string]string{"state": state}); !ok || got != n {
			t.Errorf("kagi_kms_keys{state=%q} = %v (present %v), want %v", state, got, ok, n)
		}
	}

	// CreateKey leaves the new material in the cache: the three Encrypts
	// hit it; the refused ones never reach the key store.
	checkCache(t, mfs, 3, 0)

	// After a restart the cache is empty: the first use unseals.
	env.Restart(t)
	for range 2 {
		if err := encrypt(env.KMS, *enabled.KeyId); err != nil {
			t.Fatal(err)
		}
	}
	mfs = scrape(t, env.Server.MetricsURL)
	checkCache(t, mfs, 1, 1)
	if got, ok := metricValue(mfs, "kagi_requests_total", map[string]string{"service": "kms", "operation": "Encrypt", "outcome": "success"}); !ok || got != 2 {
		t.Errorf("after a restart, Encrypt successes = %v (present %v), want 2", got, ok)
	}
	// The audit log's stats: each of the two Encrypts, one after the
	// other, waited for its own fsync.
	if got, ok := metricValue(mfs, "kagi_audit_fsyncs_total", nil); !ok || got < 2 {
		t.Errorf("kagi_audit_fsyncs_total = %v (present %v), want at least 2", got, ok)
	}
	if h := mfs["kagi_audit_fsync_duration_seconds"]; h == nil || len(h.Metric) != 1 || h.Metric[0].GetHistogram().GetSampleCount() < 2 {
		t.Errorf("kagi_audit_fsync_duration_seconds: %v, want a histogram of at least 2 fsyncs", h)
	}
	if got, ok := metricValue(mfs, "kagi_audit_queue_depth", nil); !ok || got != 0 {
		t.Errorf("kagi_audit_queue_depth = %v (present %v), want 0 between requests", got, ok)
	}
	// Seven days on, the key pending deletion is gone.
	env.Clock.Advance(7*24*time.Hour + time.Second)
	mfs = scrape(t, env.Server.MetricsURL)
	for state, n := range map[string]float64{"Enabled": 1, "Disabled": 1, "PendingDeletion": 0} {
		if got, ok := metricValue(mfs, "kagi_kms_keys", map[string]string{"state": state}); !ok || got != n {
			t.Errorf("after the deletion date, kagi_kms_keys{state=%q} = %v (present %v), want %v", state, got, ok, n)
		}
	}
}

func checkCache(t *testing.T, mfs map[string]*dto.MetricFamily, hits, misses float64) {
	t.Helper()
	if got, ok := metricValue(mfs, "kagi_keystore_cache_hits_total", nil); !ok || got != hits {
		t.Errorf("kagi_keystore_cache_hits_total = %v (present %v), want %v", got, ok, hits)
	}
	if got, ok := metricValue(mfs, "kagi_keystore_cache_misses_total", nil); !ok || got != misses {
		t.Errorf("kagi_keystore_cache_misses_total = %v (present %v), want %v", got, ok, misses)
	}
}

// TestMetricsNotOnAPIPort checks that the API answers /metrics like any
// other unknown request, that the metrics address serves nothing else, and
// that a server started without metrics has none.
func TestMetricsNotOnAPIPort(t *testing.T) {
	env := servertest.Start(t, servertest.WithMetrics())
	resp, err := env.HTTPClient(t).Get(env.Server.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "kagi_requests_total") {
		t.Fatalf("API port answered GET /metrics with %d: %s", resp.StatusCode, body)
	}
	if code := resp.Header.Get("X-Amzn-ErrorType"); code != "UnknownOperationException" {
		t.Errorf("API port's GET /metrics: X-Amzn-ErrorType %q, want UnknownOperationException", code)
	}
	base := strings.TrimSuffix(env.Server.MetricsURL, "/metrics")
	for _, tc := range []struct{ method, path string }{{"GET", "/"}, {"GET", "/metricsx"}, {"POST", "/metrics"}} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s on the metrics address: %d, want 404 or 405", tc.method, tc.path, resp.StatusCode)
		}
	}

	// Neither request named an operation kagi knows: both count as
	// "Unknown", so a client cannot grow the label set.
	req, _ := http.NewRequest(http.MethodPost, env.Server.URL+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "TrentService.Frobnicate")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err = env.HTTPClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mfs := scrape(t, env.Server.MetricsURL)
	if got := metricSeries(mfs, "kagi_requests_total"); strings.Contains(got, "Frobnicate") || strings.Count(got, "operation=Unknown") != 2 {
		t.Errorf("kagi_requests_total: %s; want the two requests under operation=Unknown", got)
	}

	plain := servertest.Start(t)
	if plain.Server.MetricsURL != "" {
		t.Errorf("a server without metrics has MetricsURL %q", plain.Server.MetricsURL)
	}
}
