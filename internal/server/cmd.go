package server

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kagikms/kagi/internal/quota"
)

// Main runs `kagi serve` with args (after the subcommand name) and returns
// the process exit code. getenv supplies the bootstrap identity variables.
func Main(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kagi serve", flag.ContinueOnError)
	var flagOut bytes.Buffer
	fs.SetOutput(&flagOut)
	fs.Usage = func() {
		fmt.Fprintf(&flagOut, `Usage: kagi serve [flags]

Runs kagi, the AWS KMS API, on an embedded store in the data directory.
On the first start it creates the data directory, a root key, a TLS CA and
server certificate (DIR/tls/ca.pem), and the first account with its root
credentials (DIR/credentials, AWS shared-credentials format), unless the
environment sets KAGI_ACCOUNT_ID, KAGI_ROOT_ACCESS_KEY_ID and
KAGI_ROOT_SECRET_ACCESS_KEY.

With --metrics-addr (or KAGI_METRICS_ADDR) it serves Prometheus metrics at
http://HOST:PORT/metrics, plain HTTP without authentication, never on the
API's address: bind it to loopback or a network only the scraper reaches.

Flags:
`)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", DefaultAddr, "address to listen on, `HOST:PORT`")
	dataDir := fs.String("data-dir", DefaultDataDir, "data `directory`: root key, store, TLS files, credentials")
	tlsCert := fs.String("tls-cert", "", "TLS certificate `file` (PEM); default: a generated one")
	tlsKey := fs.String("tls-key", "", "TLS private key `file` (PEM), with --tls-cert")
	tlsClientCA := fs.String("tls-client-ca", "", "require client certificates issued by a CA in this PEM `file` (mTLS)")
	insecure := fs.Bool("insecure-http", false, "serve plain HTTP (loopback addresses only)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	requireFIPS := fs.Bool("fips", false, "refuse to start unless Go's FIPS 140-3 mode is on (GODEBUG=fips140=on or a GOFIPS140 build); see README")
	metricsAddr := fs.String("metrics-addr", getenv("KAGI_METRICS_ADDR"), "serve Prometheus metrics at http://`HOST:PORT`/metrics (default: $KAGI_METRICS_ADDR; none when empty)")
	auditSync := fs.Duration("audit-sync-interval", 0, "relax the audit log: answer calls once their record is written, fsync every `interval`; a machine crash loses up to that much of answered calls' records (0: answer only once the record is on disk)")
	auditDigest := fs.Duration("audit-digest-interval", time.Hour, "time between signed audit digest files")
	quotaFile := fs.String("quota-file", "", "JSON `file` of request quota overrides: {\"symmetric\": 20000, \"CreateKey\": 10, \"rsa\": \"off\"}")
	var quotas []string
	fs.Func("quota", "override one request quota per account and Region, `NAME=RATE` (requests per second, or off; NAME all sets every quota); repeatable, applied after --quota-file", func(s string) error {
		quotas = append(quotas, s)
		return quota.DefaultRates().SetFlag(s)
	})
	noQuotas := fs.Bool("no-quotas", false, "enforce no request quotas")
	maxConns := fs.Int("max-connections", DefaultMaxConnections, "connections open at once; beyond it new connections wait until one closes")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			stdout.Write(flagOut.Bytes()) // asked for: not an error
			return 0
		}
		stderr.Write(flagOut.Bytes())
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kagi serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *auditSync < 0 || *auditDigest <= 0 {
		fmt.Fprintf(stderr, "kagi serve: --audit-sync-interval must be 0 or more and --audit-digest-interval more than 0\n")
		return 2
	}
	if *maxConns <= 0 {
		fmt.Fprintf(stderr, "kagi serve: --max-connections must be more than 0\n")
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "kagi serve: bad --log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := startFIPS(*requireFIPS, log); err != nil {
		fmt.Fprintf(stderr, "kagi serve: %v\n", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads the TLS certificate and key. It is caught from before
	// the server starts, so an early one does not end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	srv, err := Listen(ctx, *addr, Config{
		DataDir:             *dataDir,
		TLSCert:             *tlsCert,
		TLSKey:              *tlsKey,
		TLSClientCA:         *tlsClientCA,
		InsecureHTTP:        *insecure,
		MetricsAddr:         *metricsAddr,
		AccountID:           getenv("KAGI_ACCOUNT_ID"),
		RootAccessKeyID:     getenv("KAGI_ROOT_ACCESS_KEY_ID"),
		RootSecretAccessKey: getenv("KAGI_ROOT_SECRET_ACCESS_KEY"),
		Logger:              log,
		Out:                 stdout,
		AuditSyncInterval:   *auditSync,
		AuditDigestInterval: *auditDigest,
		QuotaFile:           *quotaFile,
		Quotas:              quotas,
		NoQuotas:            *noQuotas,
		Limits:              Limits{MaxConnections: *maxConns},
	})
	if err != nil {
		fmt.Fprintf(stderr, "kagi serve: %v\n", err)
		return 1
	}
	go reloadOnSignal(ctx, hup, srv)
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		start := time.Now()
		if err := srv.Close(); err != nil {
			log.Error("shutdown", "err", err)
			return 1
		}
		log.Info("stopped", "took", time.Since(start))
		return 0
	case err := <-srv.Done():
		if err != nil {
			log.Error("server stopped", "err", err)
			return 1
		}
		return 0
	}
}

// reloadOnSignal reloads the server's TLS certificate on every SIGHUP
// until ctx ends. A failure is logged and keeps the previous certificate.
func reloadOnSignal(ctx context.Context, sig <-chan os.Signal, srv *Server) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
			srv.ReloadTLS("SIGHUP")
		}
	}
}
