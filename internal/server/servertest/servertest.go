// Package servertest starts a real kagi server on 127.0.0.1 for tests and
// gives them aws-sdk-go-v2 clients for it. Every test that needs a server
// uses it, so there is one way to start one.
package servertest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/clock"
	"github.com/kagikms/kagi/internal/server"
)

// The identity every test server is bootstrapped with.
const (
	AccountID   = "111122223333"
	AccessKeyID = "AKIAKAGITESTROOT0001"
	Region      = "us-east-1"
)

// Env is a running test server.
type Env struct {
	Server  *server.Server
	Clock   *clock.Fake
	DataDir string
	Secret  string
	// KMS is a client for Region with the root credentials (nil
	// WithTLSFiles).
	KMS *kms.Client

	cfg server.Config
}

// Option changes the server configuration.
type Option func(*server.Config)

// WithSweepInterval sets how often due deletions run.
func WithSweepInterval(d time.Duration) Option {
	return func(c *server.Config) { c.SweepInterval = d }
}

// WithLastUseFlushInterval sets how often last uses are written to
// storage (they are also written when the server stops).
func WithLastUseFlushInterval(d time.Duration) Option {
	return func(c *server.Config) { c.LastUseFlushInterval = d }
}

// WithoutLastUse turns last-use tracking off (a benchmark's baseline).
func WithoutLastUse() Option {
	return func(c *server.Config) { c.NoLastUse = true }
}

// WithoutAudit turns the audit trail off (a benchmark's baseline).
func WithoutAudit() Option {
	return func(c *server.Config) { c.NoAudit = true }
}

// WithLimits sets the connection and timeout limits (zero fields: the
// defaults).
func WithLimits(l server.Limits) Option {
	return func(c *server.Config) { c.Limits = l }
}

// WithAuditSyncInterval relaxes the audit log: a call is answered once its
// record is written to the OS, and the log is fsynced every d.
func WithAuditSyncInterval(d time.Duration) Option {
	return func(c *server.Config) { c.AuditSyncInterval = d }
}

// WithLogOutput sends the server's log (at debug level) to w.
func WithLogOutput(w io.Writer) Option {
	return func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// WithMetrics serves Prometheus metrics on another port of 127.0.0.1
// (Env.Server.MetricsURL), with the key count taken at every scrape.
func WithMetrics() Option {
	return func(c *server.Config) {
		c.MetricsAddr = "127.0.0.1:0"
		c.MetricsKeyCountMaxAge = -1
	}
}

// WithInsecureHTTP serves plain HTTP instead of TLS (kagi allows it on a
// loopback address only), so that requests have aws:SecureTransport false.
func WithInsecureHTTP() Option {
	return func(c *server.Config) { c.InsecureHTTP = true }
}

// WithTLSFiles serves the certificate and key in these PEM files instead
// of a generated pair. The test brings its own clients: Env.KMS is nil
// and Env.HTTPClient does not trust the certificate.
func WithTLSFiles(cert, key string) Option {
	return func(c *server.Config) { c.TLSCert, c.TLSKey = cert, key }
}

// WithTLSClientCA requires client certificates issued by a CA in caFile.
func WithTLSClientCA(caFile string) Option {
	return func(c *server.Config) { c.TLSClientCA = caFile }
}

// WithQuotas enforces AWS's default request quotas with these
// overrides, "NAME=RATE" (kagi serve --quota). Without it a test server
// enforces none, so that tests which create many keys are not slowed by
// CreateKey's 5 per second.
func WithQuotas(overrides ...string) Option {
	return func(c *server.Config) { c.NoQuotas, c.Quotas = false, overrides }
}

// WithQuotaFile enforces the request quotas with the overrides of a JSON
// file (kagi serve --quota-file).
func WithQuotaFile(path string) Option {
	return func(c *server.Config) { c.NoQuotas, c.QuotaFile = false, path }
}

// WithMaxKeys lowers the customer managed keys quota per account and
// Region (AWS's default: 100,000).
func WithMaxKeys(n int) Option {
	return func(c *server.Config) { c.MaxKeysPerRegion = n }
}

// Start starts kagi over TLS (plain HTTP WithInsecureHTTP) on 127.0.0.1
// with a fresh data directory and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	var b [20]byte
	rand.Read(b[:])
	e := &Env{Clock: &clock.Fake{}, DataDir: t.TempDir(), Secret: hex.EncodeToString(b[:])}
	e.cfg = server.Config{
		DataDir:             e.DataDir,
		AccountID:           AccountID,
		RootAccessKeyID:     AccessKeyID,
		RootSecretAccessKey: e.Secret,
		Clock:               e.Clock,
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
		Out:                 io.Discard,
		NoQuotas:            true,
	}
	if testing.Verbose() {
		e.cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	for _, o := range opts {
		o(&e.cfg)
	}
	// Registered before any client's cleanup, so it runs after them: the
	// clients close their idle connections first and the server's
	// Shutdown does not wait out connections that never sent a request.
	t.Cleanup(func() {
		if e.Server != nil {
			e.Server.Close()
		}
	})
	e.start(t)
	return e
}

func (e *Env) start(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(context.Background(), ln, e.cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("start kagi: %v", err)
	}
	e.Server = srv
	if e.cfg.TLSCert == "" {
		e.KMS = e.Client(t, Region, AccessKeyID, e.Secret)
	}
}

// Stop stops the server and releases its data directory, for a test that
// works on the directory (kagi admin) before Restart.
func (e *Env) Stop(t testing.TB) {
	t.Helper()
	if err := e.Server.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// Restart stops the server, if it is running, and starts it again on the
// same data directory.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	if err := e.Server.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	e.start(t)
}

// HTTPClient returns an HTTP client that trusts the server's generated CA
// (a plain one for a server started WithInsecureHTTP).
func (e *Env) HTTPClient(t testing.TB) *http.Client {
	if e.cfg.InsecureHTTP {
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	return HTTPClient(t, filepath.Join(e.DataDir, server.TLSDir, "ca.pem"))
}

// Account is an account and its root credentials.
type Account struct {
	ID          string
	AccessKeyID string
	Secret      string
}

// CreateAccount creates another account on the server, for tests of
// cross-account access. (The server's own account is AccountID.)
func (e *Env) CreateAccount(t testing.TB) Account {
	t.Helper()
	id, akid, secret, err := e.Server.CreateAccount(context.Background())
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	return Account{ID: id, AccessKeyID: akid, Secret: secret}
}

// Service is a registered service principal and its credentials.
type Service struct {
	Principal   string // "<name>.amazonaws.com"
	AccessKeyID string
	Secret      string
}

// CreateService registers a service principal on the server, as `kagi
// admin create-service --name name` does on a stopped one.
func (e *Env) CreateService(t testing.TB, name string) Service {
	t.Helper()
	p, akid, secret, err := e.Server.CreateService(context.Background(), name)
	if err != nil {
		t.Fatalf("create service %s: %v", name, err)
	}
	return Service{Principal: p, AccessKeyID: akid, Secret: secret}
}

// HTTPClient returns an HTTP client that trusts the CA in caFile only.
func HTTPClient(t testing.TB, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
		ForceAttemptHTTP2:   false,
	}
	// An idle connection the server has never seen a request on would make
	// its Shutdown wait (net/http gives new connections 5 s).
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}
}

// Client returns a KMS client for a region and credentials. Everything is
// set explicitly, so nothing is inherited from the environment
// (AWS_CA_BUNDLE, profiles, AWS_REGION). The SDK's retries stay on.
func (e *Env) Client(t testing.TB, region, akid, secret string) *kms.Client {
	return NewClient(e.Server.URL, e.HTTPClient(t), region, akid, secret)
}

// ClientWithToken returns a KMS client for temporary credentials: an
// access key, its secret and its session token.
func (e *Env) ClientWithToken(t testing.TB, region, akid, secret, token string) *kms.Client {
	return NewClientWithToken(e.Server.URL, e.HTTPClient(t), region, akid, secret, token)
}

// NewClient returns a KMS client for an endpoint.
func NewClient(url string, hc *http.Client, region, akid, secret string) *kms.Client {
	return NewClientWithToken(url, hc, region, akid, secret, "")
}

// NewClientWithToken returns a KMS client for an endpoint and credentials
// with a session token (none if token is empty).
func NewClientWithToken(url string, hc *http.Client, region, akid, secret, token string) *kms.Client {
	return kms.New(kms.Options{
		BaseEndpoint: aws.String(url),
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, token),
		HTTPClient:   hc,
	})
}
