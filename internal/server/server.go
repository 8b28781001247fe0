// Package server assembles kagi from its parts: it turns a typed Config
// into storage, the root key, key stores, identities and the KMS service,
// and serves them on a listener. Tests and the command line share Start.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kagikms/kagi/internal/api"
	"github.com/kagikms/kagi/internal/audit"
	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/clock"
	"github.com/kagikms/kagi/internal/iam"
	"github.com/kagikms/kagi/internal/keystore/software"
	"github.com/kagikms/kagi/internal/kms"
	"github.com/kagikms/kagi/internal/metrics"
	"github.com/kagikms/kagi/internal/quota"
	"github.com/kagikms/kagi/internal/rootkey"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// Defaults of `kagi serve`.
const (
	DefaultAddr    = "127.0.0.1:9443"
	DefaultDataDir = "./kagi-data"
)

// Files under the data directory.
const (
	RootKeyFile     = "root.key"
	DBFile          = "kagi.db"
	AuditDir        = "audit"
	CredentialsFile = "credentials"
	TLSDir          = "tls"
)

// Config is everything `kagi serve` can be told.
type Config struct {
	DataDir      string
	TLSCert      string // with TLSKey: serve this certificate instead of a generated one
	TLSKey       string
	InsecureHTTP bool // plain HTTP; refused unless the listener is on a loopback address

	// TLSClientCA, a PEM file of CA certificates, turns on client
	// certificate authentication (mTLS): every client must present a
	// certificate that chains to one of them. SigV4 is still required.
	TLSClientCA string

	// Bootstrap identity for the first start; generated when empty.
	AccountID           string
	RootAccessKeyID     string
	RootSecretAccessKey string

	// Clock is the time every schedule reads (nil: the system clock).
	// Signature checks always use the system clock.
	Clock clock.Clock
	// SweepInterval is how often due deletions are carried out (0: 1 minute).
	SweepInterval time.Duration
	// LastUseFlushInterval is how often the keys' last uses
	// (GetKeyLastUsage) are written to storage (0: 10 seconds); they are
	// also written when the server stops.
	LastUseFlushInterval time.Duration
	// NoLastUse turns last-use tracking off: the baseline of the benchmark
	// that measures it.
	NoLastUse bool
	// NoAudit turns the audit trail off: requests leave no record. It is
	// the baseline of the benchmark that measures the trail's cost, not a
	// mode to run in.
	NoAudit bool
	// KeyCacheSize bounds the unsealed key material kept in memory.
	KeyCacheSize int
	// AuditSyncInterval, when positive, relaxes the audit log: a call is
	// answered once its record is written to the OS, and the log is
	// fsynced every AuditSyncInterval, so a machine crash loses up to that
	// much of the records of answered calls. 0: no call is answered before
	// its record is on disk.
	AuditSyncInterval time.Duration
	// AuditDigestInterval is the time between signed audit digests
	// (0: one hour); the server writes one when it stops too.
	AuditDigestInterval time.Duration

	// Limits bound connections and slow clients (zero: the defaults).
	Limits Limits

	// MetricsAddr is where Prometheus metrics are served (GET /metrics,
	// plain HTTP, no authentication), apart from the API; "": nowhere.
	MetricsAddr string
	// MetricsKeyCountMaxAge is how long the key count by state
	// (kagi_kms_keys) is reused between scrapes (0: 15 seconds; negative:
	// counted at every scrape). Counting reads every key record.
	MetricsKeyCountMaxAge time.Duration

	// QuotaFile (JSON) and then Quotas ("NAME=RATE", RATE "off" or
	// requests per second) override AWS's default request quotas per
	// account and Region (quota.Defaults); NoQuotas enforces none.
	QuotaFile string
	Quotas    []string
	NoQuotas  bool
	// MaxKeysPerRegion is the customer managed keys quota per account and
	// Region (0: AWS's 100,000).
	MaxKeysPerRegion int

	Logger *slog.Logger
	// Out receives the generated root credentials on first start (nil: stderr).
	Out io.Writer
}

// Server is a running kagi.
type Server struct {
	URL     string // https://host:port or http://host:port
	DataDir string
	// MetricsURL is http://host:port/metrics when Config.MetricsAddr is
	// set, "" otherwise.
	MetricsURL string

	http   *http.Server
	store  *bolt.Store
	audit  *audit.Log
	certs  *certReloader // nil for plain HTTP
	ids    *iam.Store
	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan error
	once   sync.Once

	// metrics serves /metrics; nil without Config.MetricsAddr.
	metrics *http.Server
}

// Start opens (or creates) the data directory and serves kagi on ln until
// Close. It returns once the server accepts requests.
func Start(ctx context.Context, ln net.Listener, cfg Config) (*Server, error) {
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	return start(ctx, host, func() (net.Listener, error) { return ln, nil }, cfg)
}

// Listen is Start for an address not yet bound: it binds addr only once the
// data directory, credentials and TLS files exist, so a client that can
// connect can also read them.
func Listen(ctx context.Context, addr string, cfg Config) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--addr %q: %w", addr, err)
	}
	return start(ctx, host, func() (net.Listener, error) { return net.Listen("tcp", addr) }, cfg)
}

func start(ctx context.Context, host string, listen func() (net.Listener, error), cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Minute
	}
	if cfg.LastUseFlushInterval <= 0 {
		cfg.LastUseFlushInterval = 10 * time.Second
	}
	if cfg.KeyCacheSize <= 0 {
		cfg.KeyCacheSize = 10000
	}
	if cfg.MetricsKeyCountMaxAge == 0 {
		cfg.MetricsKeyCountMaxAge = 15 * time.Second
	}
	if cfg.Out == nil {
		cfg.Out = os.Stderr
	}
	if cfg.InsecureHTTP && !isLoopback(host) {
		return nil, fmt.Errorf("--insecure-http is allowed only on a loopback address, not %s", host)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if cfg.InsecureHTTP && cfg.TLSClientCA != "" {
		return nil, errors.New("--tls-client-ca needs TLS, not --insecure-http")
	}
	// The quotas first: a typo in them should not leave a new data dir.
	var limiter kms.Limiter
	if !cfg.NoQuotas {
		rates := quota.DefaultRates()
		if cfg.QuotaFile != "" {
			if err := rates.LoadFile(cfg.QuotaFile); err != nil {
				return nil, err
			}
		}
		for _, q := range cfg.Quotas {
			if err := rates.SetFlag(q); err != nil {
				return nil, err
			}
		}
		limiter = quota.New(rates)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}

	root, created, err := rootkey.LoadOrCreateFile(filepath.Join(cfg.DataDir, RootKeyFile))
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("created a root key file: it protects every key in this data dir and is meant for development; keep it secret and back it up with the data dir",
			"path", filepath.Join(cfg.DataDir, RootKeyFile))
	}
	store, err := bolt.Open(filepath.Join(cfg.DataDir, DBFile))
	if err != nil {
		return nil, err
	}
	auditKey, err := loadOrCreateAuditKey(cfg.DataDir, root)
	if err != nil {
		store.Close()
		return nil, err
	}
	// The metrics, made below, take the audit log's fsync times from the
	// first one they can see.
	var fsyncMetrics atomic.Pointer[metrics.Metrics]
	auditLog, err := audit.OpenWith(filepath.Join(cfg.DataDir, AuditDir), audit.Options{
		OnFsync: func(d time.Duration) {
			if m := fsyncMetrics.Load(); m != nil {
				m.ObserveAuditFsync(d)
			}
		},
		Signer:         auditKey,
		Logger:         log,
		SyncInterval:   cfg.AuditSyncInterval,
		DigestInterval: cfg.AuditDigestInterval,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	s := &Server{DataDir: cfg.DataDir, store: store, audit: auditLog, done: make(chan error, 1)}
	ok := false
	defer func() {
		if !ok {
			store.Close()
			auditLog.Close()
		}
	}()

	// Session tokens expire by cfg.Clock, the clock tests move; signatures
	// are checked against the system clock.
	ids := iam.New(store, root, "aws", cfg.Clock)
	s.ids = ids
	if err := bootstrap(ctx, ids, &cfg, log); err != nil {
		return nil, err
	}
	keystore := software.New(root, cfg.KeyCacheSize)
	svc, err := kms.New(kms.Config{
		Limiter:          limiter,
		MaxKeysPerRegion: cfg.MaxKeysPerRegion,
		Store:            store,
		Keystore:         keystore,
		Sealer:           root,
		Principals:       ids,
		Services:         ids,
		Clock:            cfg.Clock,
		Logger:           log,
		NoLastUse:        cfg.NoLastUse,
	})
	if err != nil {
		return nil, err
	}
	if err := svc.InitLastUse(ctx); err != nil {
		return nil, fmt.Errorf("last use tracking: %w", err)
	}
	var mtr *metrics.Metrics
	var observer api.Observer
	if cfg.MetricsAddr != "" {
		mtr = metrics.New(metrics.Config{
			Cache:          keystore,
			Keys:           svc,
			KeyCountMaxAge: cfg.MetricsKeyCountMaxAge,
			Logger:         log,
		})
		observer = requestObserver{mtr}
		if !cfg.NoAudit {
			mtr.WatchAudit(func() metrics.AuditStats {
				st := auditLog.Stats()
				return metrics.AuditStats{QueueDepth: st.QueueDepth, Fsyncs: st.Fsyncs, LastFsync: st.LastFsync}
			})
			fsyncMetrics.Store(mtr)
		}
	}
	var trail api.AuditLog = auditLog
	if cfg.NoAudit {
		trail = nil
	}
	handler := api.New(api.Config{
		Service:  svc,
		IAM:      ids,
		Auth:     &auth.Verifier{Credentials: ids, Services: []string{"kms", "iam", "sts", "cloudtrail"}},
		Audit:    trail,
		Events:   audit.Events{Dir: filepath.Join(cfg.DataDir, AuditDir)},
		Logger:   log,
		Observer: observer,
	})
	lim := cfg.Limits.withDefaults()
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	scheme := "http"
	var tc *tls.Config
	if !cfg.InsecureHTTP {
		cert, key := cfg.TLSCert, cfg.TLSKey
		if cert == "" {
			var extra []string
			if host != "" && !isUnspecified(host) {
				extra = append(extra, host)
			}
			var made bool
			cert, key, made, err = ensureDevCert(filepath.Join(cfg.DataDir, TLSDir), extra, time.Now())
			if err != nil {
				return nil, err
			}
			if made {
				log.Info("created a TLS CA and server certificate; clients trust the CA", "ca", filepath.Join(cfg.DataDir, TLSDir, caFile))
			}
		}
		if s.certs, err = newCertReloader(cert, key, log); err != nil {
			return nil, err
		}
		var clientCAs *x509.CertPool
		if cfg.TLSClientCA != "" {
			if clientCAs, err = loadClientCAs(cfg.TLSClientCA); err != nil {
				return nil, err
			}
		}
		tc = tlsConfig(s.certs, clientCAs)
		scheme = "https"
	}
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	var mln net.Listener
	if mtr != nil {
		if mln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
		s.metrics = metricsServer(mtr, log)
		s.MetricsURL = "http://" + urlHost(mln.Addr()) + "/metrics"
	}
	ln = newLimitListener(ln, lim.MaxConnections, log)
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	s.URL = scheme + "://" + urlHost(ln.Addr())

	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		svc.RunDeletionSweeper(bg, cfg.SweepInterval)
	}()
	go func() {
		defer s.wg.Done()
		svc.RunLastUseFlusher(bg, cfg.LastUseFlushInterval)
	}()
	go func() {
		defer s.wg.Done()
		err := s.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	if s.metrics != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.metrics.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server stopped", "err", err)
			}
		}()
		log.Info("serving metrics", "url", s.MetricsURL)
	}
	ok = true
	log.Info("kagi is serving", "url", s.URL, "data_dir", cfg.DataDir)
	return s, nil
}

// CreateAccount creates another account and returns its id and the root
// principal's new access key; the secret is returned only here. Tests use
// it for cross-account access.
func (s *Server) CreateAccount(ctx context.Context) (accountID, accessKeyID, secret string, err error) {
	return s.ids.CreateAccount(ctx)
}

// CreateService registers a service principal (<name>.amazonaws.com) and
// returns its new access key; the secret is returned only here. Tests use
// it as `kagi admin create-service` is used on a stopped server.
func (s *Server) CreateService(ctx context.Context, name string) (principal, accessKeyID, secret string, err error) {
	return s.ids.CreateService(ctx, name, "")
}

// ReloadTLS reads the TLS certificate and key files again (`kagi serve`
// calls it on SIGHUP); on an error the previous certificate stays in use.
// Without TLS there is nothing to reload.
func (s *Server) ReloadTLS(reason string) error {
	if s.certs == nil {
		return nil
	}
	return s.certs.Reload(reason)
}

// AuditStats reports the audit log's queue depth and fsyncs, for metrics.
func (s *Server) AuditStats() audit.Stats { return s.audit.Stats() }

// Done reports the server's end: nil after Close, or the error that
// stopped it.
func (s *Server) Done() <-chan error { return s.done }

// Close stops serving, waits for requests in flight (up to 10 seconds),
// lets the background work end (the last-use flusher writes what it holds)
// and closes the store.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = s.http.Shutdown(ctx)
		if s.metrics != nil {
			err = errors.Join(err, s.metrics.Shutdown(ctx))
		}
		s.cancel()
		s.wg.Wait()
		err = errors.Join(err, s.store.Close(), s.audit.Close())
	})
	return err
}

// bootstrap makes sure the first account and its root credentials exist.
func bootstrap(ctx context.Context, ids *iam.Store, cfg *Config, log *slog.Logger) error {
	given := cfg.AccountID != "" || cfg.RootAccessKeyID != "" || cfg.RootSecretAccessKey != ""
	if given {
		if cfg.AccountID == "" || cfg.RootAccessKeyID == "" || cfg.RootSecretAccessKey == "" {
			return errors.New("KAGI_ACCOUNT_ID, KAGI_ROOT_ACCESS_KEY_ID and KAGI_ROOT_SECRET_ACCESS_KEY go together")
		}
		if err := ids.EnsureRootAccessKey(ctx, cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey); err != nil {
			return fmt.Errorf("bootstrap identity: %w", err)
		}
		return nil
	}
	has, err := ids.HasAccounts(ctx)
	if err != nil || has {
		return err
	}
	acct, err := iam.NewAccountID()
	if err != nil {
		return err
	}
	akid, secret, err := iam.NewAccessKey()
	if err != nil {
		return err
	}
	if err := ids.EnsureRootAccessKey(ctx, acct, akid, secret); err != nil {
		return err
	}
	path := filepath.Join(cfg.DataDir, CredentialsFile)
	creds := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", akid, secret)
	if err := writeFileAtomic(path, []byte(creds), 0o600); err != nil {
		return err
	}
	// Printed once, on the first start only, as the operator's copy.
	fmt.Fprintf(cfg.Out, "kagi: created account %s with root credentials (also in %s):\n  aws_access_key_id = %s\n  aws_secret_access_key = %s\n",
		acct, path, akid, secret)
	log.Info("created the first account", "account", acct, "access_key", akid, "credentials_file", path)
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isUnspecified(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

func urlHost(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if isUnspecified(host) {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
