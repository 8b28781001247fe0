// Package metrics keeps kagi's Prometheus metrics and serves them in the
// text exposition format. It owns a private registry, so several servers
// in one process (tests) never share or collide on a metric.
//
// It knows no other kagi package: what it reads from the key store, the
// KMS service and the audit log comes through the small interfaces and the
// audit snapshot function below,
// and internal/server connects them.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names, for the alert rules in docs/alerts and their test.
const (
	RequestsTotal        = "kagi_requests_total"
	RequestDuration      = "kagi_request_duration_seconds"
	ThrottledTotal       = "kagi_throttled_requests_total"
	UnusableKeyUseTotal  = "kagi_kms_unusable_key_use_total"
	Keys                 = "kagi_kms_keys"
	KeyCountErrorsTotal  = "kagi_kms_key_count_errors_total"
	CacheHitsTotal       = "kagi_keystore_cache_hits_total"
	CacheMissesTotal     = "kagi_keystore_cache_misses_total"
	AuditQueueDepth      = "kagi_audit_queue_depth"
	AuditFsyncsTotal     = "kagi_audit_fsyncs_total"
	AuditLastFsync       = "kagi_audit_last_fsync_seconds"
	AuditFsyncDuration   = "kagi_audit_fsync_duration_seconds"
	throttlingException  = "ThrottlingException"
	outcomeSuccess       = "success"
	outcomeClientError   = "client_error"
	outcomeServerError   = "server_error"
	keyCountScrapeBudget = 30 * time.Second
)

// Request is one answered request (api.RequestInfo, without importing
// api).
type Request struct {
	Service   string // "kms", "iam", "sts"
	Operation string // bounded by the caller: an operation of the protocol or "Unknown"
	ErrorCode string // the AWS exception name; "" on success
	Status    int    // HTTP status
	KeyState  string // the key's state when it caused the error; "" otherwise
	Duration  time.Duration
}

// CacheStats reports the key store's unsealed-key cache;
// keystore/software.Store implements it.
type CacheStats interface {
	CacheStats() (hits, misses uint64)
}

// KeyCounter counts keys by state; kms.Service implements it. It is called
// at scrape time (at most once per Config.KeyCountMaxAge).
type KeyCounter interface {
	KeyCountsByState(ctx context.Context) (map[string]int, error)
}

// AuditStats is a snapshot of the audit log's work, read at each scrape
// through the function given to Metrics.WatchAudit.
type AuditStats struct {
	QueueDepth int           // records waiting to be written
	Fsyncs     uint64        // fsyncs of the log's files so far
	LastFsync  time.Duration // how long the last one took
}

// Config says what the metrics read besides requests. A nil member leaves
// its metrics out.
type Config struct {
	Cache CacheStats
	Keys  KeyCounter
	// KeyCountMaxAge is how long a key count is reused before the keys
	// are counted again; 0 counts at every scrape. Counting reads every
	// key record.
	KeyCountMaxAge time.Duration
	Logger         *slog.Logger
}

// Metrics holds kagi's metrics. Its methods are safe for concurrent use.
type Metrics struct {
	reg       *prometheus.Registry
	log       *slog.Logger
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	throttled prometheus.Counter
	unusable  *prometheus.CounterVec
	fsync     prometheus.Histogram
	auditOnce sync.Once
	fsyncOnce sync.Once
}

// New returns kagi's metrics in a registry of their own, with the Go
// runtime's and the process's metrics.
func New(cfg Config) *Metrics {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RequestsTotal,
			Help: "Requests answered, by service (kms, iam, sts), operation, outcome (success, client_error, server_error) and error code (the AWS exception name; empty on success).",
		}, []string{"service", "operation", "outcome", "error_code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: RequestDuration,
			Help: "Time from a request's arrival to its answer, by service and operation.",
			// From a cached-key Encrypt (well under a millisecond) to a
			// compaction or an RSA-4096 key generation (seconds).
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"service", "operation"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ThrottledTotal,
			Help: "Requests refused with ThrottlingException (request quotas).",
		}),
		unusable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: UnusableKeyUseTotal,
			Help: "Requests refused because of their key's state (DisabledException, KMSInvalidStateException), by operation and key state (Disabled, PendingDeletion, PendingImport).",
		}, []string{"operation", "key_state"}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    AuditFsyncDuration,
			Help:    "Time each fsync of the audit log took.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.throttled, m.unusable,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if c := cfg.Cache; c != nil {
		m.reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: CacheHitsTotal,
				Help: "Uses of key material that found it unsealed in the key store's cache.",
			}, func() float64 { h, _ := c.CacheStats(); return float64(h) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: CacheMissesTotal,
				Help: "Uses of key material that had to unseal it under the root key.",
			}, func() float64 { _, mi := c.CacheStats(); return float64(mi) }),
		)
	}
	if cfg.Keys != nil {
		m.reg.MustRegister(newKeyCollector(cfg.Keys, cfg.KeyCountMaxAge, log))
	}
	return m
}

// ObserveRequest counts one answered request.
func (m *Metrics) ObserveRequest(r Request) {
	outcome := outcomeSuccess
	switch {
	case r.ErrorCode == "":
	case r.Status >= 500:
		outcome = outcomeServerError
	default:
		outcome = outcomeClientError
	}
	m.requests.WithLabelValues(r.Service, r.Operation, outcome, r.ErrorCode).Inc()
	m.duration.WithLabelValues(r.Service, r.Operation).Observe(r.Duration.Seconds())
	if r.ErrorCode == throttlingException {
		m.throttled.Inc()
	}
	if r.KeyState != "" {
		m.unusable.WithLabelValues(r.Operation, r.KeyState).Inc()
	}
}

// WatchAudit adds the audit log's queue depth, fsync count and last fsync
// latency to the metrics, read from stats at each scrape. Call it once the
// audit log is open; later calls do nothing.
func (m *Metrics) WatchAudit(stats func() AuditStats) {
	m.auditOnce.Do(func() {
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: AuditQueueDepth,
				Help: "Audit records waiting to be written.",
			}, func() float64 { return float64(stats().QueueDepth) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: AuditFsyncsTotal,
				Help: "Fsyncs of the audit log's files.",
			}, func() float64 { return float64(stats().Fsyncs) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: AuditLastFsync,
				Help: "How long the audit log's last fsync took.",
			}, func() float64 { return stats().LastFsync.Seconds() }),
		)
	})
}

// ObserveAuditFsync records one fsync of the audit log in a histogram, for
// an audit log that reports each one (a hook called after every fsync);
// the histogram is shown from the first call on.
func (m *Metrics) ObserveAuditFsync(d time.Duration) {
	m.fsyncOnce.Do(func() { m.reg.MustRegister(m.fsync) })
	m.fsync.Observe(d.Seconds())
}

// Handler serves the metrics in the Prometheus text exposition format (or
// OpenMetrics, when the scraper asks for it). A collector that fails is
// logged and left out; the rest are served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            slogAdapter{m.log},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             keyCountScrapeBudget,
	})
}

type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Println(v ...any) {
	a.log.Warn("metrics", "err", v)
}

// keyCollector reports kagi_kms_keys{state} from a KeyCounter, counting
// again once the last count is older than maxAge.
type keyCollector struct {
	counter KeyCounter
	maxAge  time.Duration
	log     *slog.Logger
	desc    *prometheus.Desc
	errors  prometheus.Counter

	mu     sync.Mutex
	at     time.Time
	counts map[string]int
}

func newKeyCollector(c KeyCounter, maxAge time.Duration, log *slog.Logger) *keyCollector {
	return &keyCollector{
		counter: c, maxAge: maxAge, log: log,
		desc: prometheus.NewDesc(Keys, "KMS keys of every account and Region, by key state.", []string{"state"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: KeyCountErrorsTotal,
			Help: "Scrapes whose key count failed (the count is then left out).",
		}),
	}
}

func (k *keyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- k.desc
	k.errors.Describe(ch)
}

func (k *keyCollector) Collect(ch chan<- prometheus.Metric) {
	defer k.errors.Collect(ch)
	k.mu.Lock() // one count at a time; concurrent scrapes share it
	defer k.mu.Unlock()
	if k.counts == nil || k.maxAge <= 0 || time.Since(k.at) >= k.maxAge {
		ctx, cancel := context.WithTimeout(context.Background(), keyCountScrapeBudget)
		counts, err := k.counter.KeyCountsByState(ctx)
		cancel()
		if err != nil {
			k.errors.Inc()
			k.log.Error("metrics: count keys by state", "err", err)
			return
		}
		k.counts, k.at = counts, time.Now()
	}
	for state, n := range k.counts {
		ch <- prometheus.MustNewConstMetric(k.desc, prometheus.GaugeValue, float64(n), state)
	}
}
