package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape serves m over HTTP and parses what a scraper gets.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	ts := httptest.NewServer(m.Handler())
	defer ts.Close()
	resp, err := ts.Client().Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// value returns the value of the one sample of name whose labels include
// labels; ok is false when none matches.
func value(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (v float64, ok bool) {
	for _, m := range mfs[name].GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, want := range labels {
			if got[k] != want {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestOutcomesAndThrottles(t *testing.T) {
	m := New(Config{})
	for _, r := range []Request{
		{Service: "kms", Operation: "Encrypt", Status: 200, Duration: time.Millisecond},
		{Service: "kms", Operation: "Encrypt", ErrorCode: "ThrottlingException", Status: 400},
		{Service: "kms", Operation: "Encrypt", ErrorCode: "ThrottlingException", Status: 400},
		{Service: "kms", Operation: "Decrypt", ErrorCode: "KMSInternalException", Status: 500},
		{Service: "kms", Operation: "Decrypt", ErrorCode: "DryRunOperationException", Status: 412},
		{Service: "kms", Operation: "Sign", ErrorCode: "KMSInvalidStateException", Status: 400, KeyState: "PendingImport"},
	} {
		m.ObserveRequest(r)
	}
	mfs := scrape(t, m)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{RequestsTotal, map[string]string{"operation": "Encrypt", "outcome": "success", "error_code": ""}, 1},
		{RequestsTotal, map[string]string{"operation": "Encrypt", "outcome": "client_error", "error_code": "ThrottlingException"}, 2},
		{RequestsTotal, map[string]string{"operation": "Decrypt", "outcome": "server_error", "error_code": "KMSInternalException"}, 1},
		{RequestsTotal, map[string]string{"operation": "Decrypt", "outcome": "client_error", "error_code": "DryRunOperationException"}, 1},
		{ThrottledTotal, nil, 2},
		{UnusableKeyUseTotal, map[string]string{"operation": "Sign", "key_state": "PendingImport"}, 1},
		{RequestDuration, map[string]string{"operation": "Encrypt"}, 3},
		{RequestDuration, map[string]string{"operation": "Decrypt"}, 2},
	} {
		if got, ok := value(mfs, tc.name, tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	// Two servers in one process keep their own counts.
	if got, _ := value(scrape(t, New(Config{})), ThrottledTotal, nil); got != 0 {
		t.Errorf("a second Metrics starts with %v throttles", got)
	}
}

func TestAudit(t *testing.T) {
	m := New(Config{})
	mfs := scrape(t, m)
	for _, name := range []string{AuditQueueDepth, AuditFsyncsTotal, AuditLastFsync, AuditFsyncDuration} {
		if _, ok := mfs[name]; ok {
			t.Errorf("%s shown without an audit log", name)
		}
	}
	var depth atomic.Int64
	depth.Store(7)
	stats := func() AuditStats {
		return AuditStats{QueueDepth: int(depth.Load()), Fsyncs: 42, LastFsync: 1500 * time.Microsecond}
	}
	m.WatchAudit(stats)
	m.WatchAudit(stats) // a second call does nothing (and does not panic)
	mfs = scrape(t, m)
	for name, want := range map[string]float64{AuditQueueDepth: 7, AuditFsyncsTotal: 42, AuditLastFsync: 0.0015} {
		if got, ok := value(mfs, name, nil); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if _, ok := mfs[AuditFsyncDuration]; ok {
		t.Errorf("%s shown before any fsync was reported", AuditFsyncDuration)
	}
	depth.Store(0)
	m.ObserveAuditFsync(time.Millisecond)
	m.ObserveAuditFsync(2 * time.Millisecond)
	mfs = scrape(t, m)
	if got, _ := value(mfs, AuditQueueDepth, nil); got != 0 {
		t.Errorf("%s = %v after the queue drained, want 0", AuditQueueDepth, got)
	}
	if got, ok := value(mfs, AuditFsyncDuration, nil); !ok || got != 2 {
		t.Errorf("%s count = %v (present %v), want 2", AuditFsyncDuration, got, ok)
	}
}

type keyCounter struct {
	calls atomic.Int64
	err   error
}

func (k *keyCounter) KeyCountsByState(context.Context) (map[string]int, error) {
	k.calls.Add(1)
	if k.err != nil {
		return nil, k.err
	}
	return map[string]int{"Enabled": 2, "Disabled": 0}, nil
}

func TestKeyCount(t *testing.T) {
	t.Run("cached", func(t *testing.T) {
		kc := &keyCounter{}
		m := New(Config{Keys: kc, KeyCountMaxAge: time.Hour})
		for range 3 {
			mfs := scrape(t, m)
			if got, ok := value(mfs, Keys, map[string]string{"state": "Enabled"}); !ok || got != 2 {
				t.Fatalf("Enabled keys = %v (present %v), want 2", got, ok)
			}
			if got, ok := value(mfs, Keys, map[string]string{"state": "Disabled"}); !ok || got != 0 {
				t.Fatalf("Disabled keys = %v (present %v), want 0", got, ok)
			}
		}
		if n := kc.calls.Load(); n != 1 {
			t.Errorf("counted %d times in 3 scrapes within the max age, want 1", n)
		}
	})
	t.Run("every scrape", func(t *testing.T) {
		kc := &keyCounter{}
		m := New(Config{Keys: kc})
		scrape(t, m)
		scrape(t, m)
		if n := kc.calls.Load(); n != 2 {
			t.Errorf("counted %d times in 2 scrapes, want 2", n)
		}
	})
	t.Run("error", func(t *testing.T) {
		m := New(Config{Keys: &keyCounter{err: errors.New("disk on fire")}})
		m.ObserveRequest(Request{Service: "kms", Operation: "Encrypt", Status: 200})
		mfs := scrape(t, m) // the rest is still served
		if _, ok := mfs[Keys]; ok {
			t.Errorf("%s shown although counting failed", Keys)
		}
		if got, ok := value(mfs, KeyCountErrorsTotal, nil); !ok || got != 1 {
			t.Errorf("%s = %v (present %v), want 1", KeyCountErrorsTotal, got, ok)
		}
		if got, ok := value(mfs, RequestsTotal, map[string]string{"operation": "Encrypt"}); !ok || got != 1 {
			t.Errorf("requests lost with the key count: %v (present %v)", got, ok)
		}
	})
}

// BenchmarkObserveRequest is the cost metrics add to each request.
func BenchmarkObserveRequest(b *testing.B) {
	m := New(Config{})
	r := Request{Service: "kms", Operation: "Encrypt", Status: 200, Duration: 300 * time.Microsecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest(r)
		}
	})
}
