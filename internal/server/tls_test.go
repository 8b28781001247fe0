package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
	"github.com/kagikms/kagi/internal/testutil"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issued is a certificate and its key, in PEM and ready for crypto/tls.
type issued struct {
	certPEM, keyPEM []byte
	serial          *big.Int
	pair            tls.Certificate
}

// issue makes a server certificate for 127.0.0.1 and localhost
// (client: a client certificate) with an ECDSA P-256 or RSA 2048 key;
// mods change the template.
func (ca *testCA) issue(t testing.TB, cn string, client, rsaKey bool, mods ...func(*x509.Certificate)) issued {
	t.Helper()
	var key crypto.Signer
	var err error
	if rsaKey {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(t),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if rsaKey {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames, tmpl.IPAddresses = nil, nil
	}
	for _, m := range mods {
		m(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	is := issued{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		serial:  tmpl.SerialNumber,
	}
	if is.pair, err = tls.X509KeyPair(is.certPEM, is.keyPEM); err != nil {
		t.Fatal(err)
	}
	return is
}

func randSerial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// replaceFile puts data at path the way a deployment tool should: written
// aside, then renamed over the old file.
func replaceFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// writePair writes a certificate and key as cert.pem and key.pem in dir.
func writePair(t testing.TB, dir string, is issued) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	replaceFile(t, certFile, is.certPEM)
	replaceFile(t, keyFile, is.keyPEM)
	return certFile, keyFile
}

// hostPort is the address in a server URL.
func hostPort(url string) string {
	_, a, _ := strings.Cut(url, "://")
	return a
}

// handshake connects to addr with cfg and completes a TLS handshake.
func handshake(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.ConnectionState(), nil
}

// servedSerial is the serial number of the certificate a new handshake
// gets (verified against roots).
func servedSerial(t testing.TB, addr string, roots *x509.CertPool) *big.Int {
	t.Helper()
	st, err := handshake(addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	return st.PeerCertificates[0].SerialNumber
}

// waitForSerial makes new handshakes until one is served the certificate
// with serial want, for up to 10 seconds.
func waitForSerial(t testing.TB, addr string, roots *x509.CertPool, want *big.Int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := servedSerial(t, addr, roots)
		if got.Cmp(want) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s a handshake still gets serial %x, want %x", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitForLog waits up to 20 seconds for the log to hold every one of subs
// on a single line, making a handshake each time round (the server looks
// at its certificate files during handshakes) trusting roots, if not nil.
func waitForLog(t testing.TB, log interface{ Bytes() []byte }, addr string, roots *x509.CertPool, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, line := range strings.Split(string(log.Bytes()), "\n") {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(line, s)
			}
			if all {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q after 20 s; log:\n%s", subs, log.Bytes())
		}
		if roots != nil {
			servedSerial(t, addr, roots)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTLSReloadOnFileChange: a replaced certificate and key are served to
// new handshakes without a restart; a broken replacement is logged and
// the previous certificate stays.
func TestTLSReloadOnFileChange(t *testing.T) {
	ca := newTestCA(t, "reload CA")
	a, b := ca.issue(t, "A", false, false), ca.issue(t, "B", false, true) // B: RSA, another size
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, a)
	var log syncBuffer
	env := servertest.Start(t, servertest.WithTLSFiles(certFile, keyFile), servertest.WithLogOutput(&log))
	addr, roots := hostPort(env.Server.URL), ca.pool()

	if got := servedSerial(t, addr, roots); got.Cmp(a.serial) != 0 {
		t.Fatalf("first handshake gets serial %x, want A's %x", got, a.serial)
	}
	// An SDK call works over it.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	t.Cleanup(hc.CloseIdleConnections)
	c := servertest.NewClient(env.Server.URL, hc, servertest.Region, servertest.AccessKeyID, env.Secret)
	if _, err := c.ListKeys(context.Background(), &kms.ListKeysInput{}); err != nil {
		t.Fatalf("ListKeys over certificate A: %v", err)
	}

	writePair(t, dir, b)
	waitForSerial(t, addr, roots, b.serial)
	waitForLog(t, &log, addr, nil, "reloaded the TLS certificate", "reason=\"files changed\"", "serial="+b.serial.Text(16))

	// Broken replacements: each is logged, and B is still served.
	other := ca.issue(t, "other", false, true)
	for _, bad := range []struct {
		name      string
		cert, key []byte
		logged    string
	}{
		{"key of another certificate", b.certPEM, other.keyPEM, "private key does not match public key"},
		{"unparsable certificate", []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"), b.keyPEM, "x509"},
		{"no PEM at all", []byte("garbage"), []byte("garbage"), "failed to find any PEM data"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			replaceFile(t, certFile, bad.cert)
			replaceFile(t, keyFile, bad.key)
			waitForLog(t, &log, addr, roots, "level=ERROR", "TLS certificate not reloaded", bad.logged)
			if got := servedSerial(t, addr, roots); got.Cmp(b.serial) != 0 {
				t.Errorf("after a broken pair the server sends serial %x, want B's %x", got, b.serial)
			}
		})
	}
	if _, err := c.ListKeys(context.Background(), &kms.ListKeysInput{}); err != nil {
		t.Fatalf("ListKeys after the broken pairs: %v", err)
	}
	// Fixed files are taken up again.
	writePair(t, dir, a)
	waitForSerial(t, addr, roots, a.serial)
}

// TestTLSReloadMethod: Server.ReloadTLS (SIGHUP's) reads the files at
// once and reports a bad pair, which does not replace the good one.
func TestTLSReloadMethod(t *testing.T) {
	ca := newTestCA(t, "reload CA")
	a, b := ca.issue(t, "A", false, false), ca.issue(t, "B", false, false)
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, a)
	var log syncBuffer
	env := servertest.Start(t, servertest.WithTLSFiles(certFile, keyFile), servertest.WithLogOutput(&log))
	addr, roots := hostPort(env.Server.URL), ca.pool()

	writePair(t, dir, b)
	if err := env.Server.ReloadTLS("test"); err != nil {
		t.Fatalf("ReloadTLS: %v", err)
	}
	waitForLog(t, &log, addr, nil, "reloaded the TLS certificate", "reason=test", "serial="+b.serial.Text(16))
	if got := servedSerial(t, addr, roots); got.Cmp(b.serial) != 0 {
		t.Fatalf("after ReloadTLS a handshake gets %x, want B's %x", got, b.serial)
	}
	replaceFile(t, keyFile, a.keyPEM)
	err := env.Server.ReloadTLS("test")
	if err == nil || !strings.Contains(err.Error(), "private key does not match public key") {
		t.Fatalf("ReloadTLS with A's key for B's certificate = %v, want a mismatch", err)
	}
	if bytes.Contains(log.Bytes(), a.keyPEM[30:60]) {
		t.Error("the log holds private key bytes")
	}
	if got := servedSerial(t, addr, roots); got.Cmp(b.serial) != 0 {
		t.Fatalf("after a failed ReloadTLS a handshake gets %x, want B's %x", got, b.serial)
	}
	// Certificates every client would refuse.
	expired := ca.issue(t, "expired", false, false, func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	})
	future := ca.issue(t, "future", false, false, func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(time.Hour), time.Now().Add(48*time.Hour)
	})
	for _, c := range []struct {
		pair issued
		want string
	}{{expired, "certificate expired at"}, {future, "certificate is not valid before"}} {
		writePair(t, dir, c.pair)
		if err := env.Server.ReloadTLS("test"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReloadTLS with %s = %v, want %q", c.pair.pair.Leaf.Subject, err, c.want)
		}
		if got := servedSerial(t, addr, roots); got.Cmp(b.serial) != 0 {
			t.Fatalf("after ReloadTLS with %s a handshake gets %x, want B's %x", c.pair.pair.Leaf.Subject, got, b.serial)
		}
	}

	os.Remove(keyFile)
	if err := env.Server.ReloadTLS("test"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReloadTLS without a key file = %v, want not-exist", err)
	}
	if got := servedSerial(t, addr, roots); got.Cmp(b.serial) != 0 {
		t.Fatalf("without a key file a handshake gets %x, want B's %x", got, b.serial)
	}
}

// TestTLSStartWarnsOfExpiredCert: an expired certificate on start is
// served (there is nothing else), with a warning.
func TestTLSStartWarnsOfExpiredCert(t *testing.T) {
	ca := newTestCA(t, "CA")
	expired := ca.issue(t, "expired", false, false, func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	})
	certFile, keyFile := writePair(t, t.TempDir(), expired)
	var log syncBuffer
	env := servertest.Start(t, servertest.WithTLSFiles(certFile, keyFile), servertest.WithLogOutput(&log))
	waitForLog(t, &log, "", nil, "level=WARN", "serving a TLS certificate that clients will refuse", "certificate expired at")
	_, err := handshake(hostPort(env.Server.URL), &tls.Config{RootCAs: ca.pool()})
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("handshake with an expired certificate: %v", err)
	}
}

// TestTLSReloadDevCert: the generated certificate under DIR/tls is
// watched the same way.
func TestTLSReloadDevCert(t *testing.T) {
	env := servertest.Start(t)
	ca := newTestCA(t, "replacement CA")
	n := ca.issue(t, "replacement", false, false)
	tlsDir := filepath.Join(env.DataDir, server.TLSDir)
	roots := ca.pool()
	devCA, err := os.ReadFile(filepath.Join(tlsDir, "ca.pem"))
	if err != nil || !roots.AppendCertsFromPEM(devCA) {
		t.Fatalf("read the generated CA: %v", err)
	}
	// The generated certificate names each loopback address once
	// (servertest listens on 127.0.0.1, which is always in it).
	st, err := handshake(hostPort(env.Server.URL), &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	leaf := st.PeerCertificates[0]
	if fmt.Sprint(leaf.DNSNames, leaf.IPAddresses) != "[localhost] [127.0.0.1 ::1]" {
		t.Errorf("generated certificate names %v %v", leaf.DNSNames, leaf.IPAddresses)
	}
	replaceFile(t, filepath.Join(tlsDir, "server.pem"), n.certPEM)
	replaceFile(t, filepath.Join(tlsDir, "server-key.pem"), n.keyPEM)
	waitForSerial(t, hostPort(env.Server.URL), roots, n.serial)
}

// TestTLSStartRefusesBadFiles: a server does not start on a bad pair, a
// bad client CA file, or mTLS over plain HTTP.
func TestTLSStartRefusesBadFiles(t *testing.T) {
	ca := newTestCA(t, "CA")
	a, b := ca.issue(t, "A", false, false), ca.issue(t, "B", false, false)
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, a)
	wrongKey := filepath.Join(dir, "wrong-key.pem")
	replaceFile(t, wrongKey, b.keyPEM)
	notPEM := filepath.Join(dir, "not.pem")
	replaceFile(t, notPEM, []byte("not PEM"))
	for _, c := range []struct {
		name string
		cfg  server.Config
		want string
	}{
		{"mismatched key", server.Config{TLSCert: certFile, TLSKey: wrongKey}, "private key does not match"},
		{"client CA not PEM", server.Config{TLSCert: certFile, TLSKey: keyFile, TLSClientCA: notPEM}, "no PEM certificate"},
		{"client CA missing", server.Config{TLSCert: certFile, TLSKey: keyFile, TLSClientCA: filepath.Join(dir, "missing.pem")}, "no such file"},
		{"client CA over HTTP", server.Config{InsecureHTTP: true, TLSClientCA: certFile}, "--tls-client-ca needs TLS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			c.cfg.DataDir = t.TempDir()
			c.cfg.Out = &bytes.Buffer{}
			var log syncBuffer
			c.cfg.Logger = slogTo(&log)
			srv, err := server.Start(context.Background(), ln, c.cfg)
			if err == nil {
				srv.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want %q", err, c.want)
			}
		})
	}
}

// TestMutualTLS: with a client CA, a client must present a certificate
// from it; SigV4 is still checked on top.
func TestMutualTLS(t *testing.T) {
	serverCA, clientCA, otherCA := newTestCA(t, "server CA"), newTestCA(t, "client CA"), newTestCA(t, "other CA")
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, serverCA.issue(t, "kagi", false, false))
	caFile := filepath.Join(dir, "client-ca.pem")
	replaceFile(t, caFile, clientCA.pem)
	env := servertest.Start(t, servertest.WithTLSFiles(certFile, keyFile), servertest.WithTLSClientCA(caFile))
	addr := hostPort(env.Server.URL)
	good := clientCA.issue(t, "alice", true, false)
	foreign := otherCA.issue(t, "mallory", true, false)
	serverAuthOnly := clientCA.issue(t, "server-only", false, false) // no clientAuth usage

	// The client sends its certificate (if any) whatever CAs the server
	// names: crypto/tls would otherwise hold back one the server does not
	// accept, and the test is of the server's check.
	clientConfig := func(cert *tls.Certificate) *tls.Config {
		return &tls.Config{RootCAs: serverCA.pool(), GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert == nil {
				return &tls.Certificate{}, nil
			}
			return cert, nil
		}}
	}
	client := func(cert *tls.Certificate) *http.Client {
		tr := &http.Transport{TLSClientConfig: clientConfig(cert)}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	ctx := context.Background()
	for _, c := range []struct {
		name             string
		cert             *tls.Certificate
		alert13, alert12 string // the server's alert, as crypto/tls reports it
	}{
		{"no client certificate", nil, "certificate required", "handshake failure"},
		{"certificate from another CA", &foreign.pair, "unknown certificate authority", "unknown certificate authority"},
		{"certificate without clientAuth usage", &serverAuthOnly.pair, "bad certificate", "bad certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// TLS 1.3 and 1.2: in 1.3 the client finishes first and sees
			// the server's alert on its first read.
			for v, alert := range map[uint16]string{tls.VersionTLS13: c.alert13, tls.VersionTLS12: c.alert12} {
				cfg := clientConfig(c.cert)
				cfg.MinVersion, cfg.MaxVersion = v, v
				conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
				if err == nil {
					conn.SetDeadline(time.Now().Add(10 * time.Second))
					_, err = conn.Read(make([]byte, 1))
					conn.Close()
				}
				if err == nil || !strings.Contains(err.Error(), "remote error: tls: "+alert) {
					t.Errorf("%s: %v, want the server's %q alert", tls.VersionName(v), err, alert)
				}
			}
			// The SDK's call fails in the transport, with no response (its
			// last retry may see the closed connection rather than the
			// alert, which the raw handshakes above checked).
			k := servertest.NewClient(env.Server.URL, client(c.cert), servertest.Region, servertest.AccessKeyID, env.Secret)
			_, err := k.ListKeys(ctx, &kms.ListKeysInput{})
			var ae smithy.APIError
			if err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), "request send failed") {
				t.Errorf("SDK call: %v, want a failure to send", err)
			}
		})
	}

	hc := client(&good.pair)
	k := servertest.NewClient(env.Server.URL, hc, servertest.Region, servertest.AccessKeyID, env.Secret)
	key, err := k.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatalf("CreateKey with a good client certificate: %v", err)
	}
	ct, err := k.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("mtls")})
	if err != nil {
		t.Fatalf("Encrypt with a good client certificate: %v", err)
	}
	if _, err := k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob}); err != nil {
		t.Fatalf("Decrypt with a good client certificate: %v", err)
	}
	// The certificate does not stand in for a signature.
	bad := servertest.NewClient(env.Server.URL, hc, servertest.Region, servertest.AccessKeyID, env.Secret+"x")
	if _, err := bad.ListKeys(ctx, &kms.ListKeysInput{}); err == nil || !strings.Contains(err.Error(), "IncorrectSignature") && !strings.Contains(err.Error(), "InvalidSignature") {
		t.Errorf("good client certificate, wrong secret: %v, want a signature error", err)
	}
	if _, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/none")}); err == nil || !strings.Contains(err.Error(), "NotFoundException") {
		t.Errorf("DescribeKey of a missing alias: %v", err)
	}
}

// slogTo is a debug-level text logger writing to w.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestServeReloadsOnSIGHUP runs the built kagi and sends it (a child
// process, never this test binary) SIGHUP: it reloads the certificate at
// once, keeps it on a broken pair, and keeps serving.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the kagi binary")
	}
	bin := testutil.BuildKagi(t)
	ca := newTestCA(t, "sighup CA")
	a, b := ca.issue(t, "A", false, false), ca.issue(t, "B", false, false)
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, a)
	addr := testutil.FreePort(t)
	var log syncBuffer
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", filepath.Join(dir, "data"),
		"--tls-cert", certFile, "--tls-key", keyFile)
	cmd.Env = []string{"KAGI_ACCOUNT_ID=" + servertest.AccountID, "KAGI_ROOT_ACCESS_KEY_ID=" + servertest.AccessKeyID,
		"KAGI_ROOT_SECRET_ACCESS_KEY=sighup-test-secret-0123456789"}
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})
	roots := ca.pool()
	waitForLog(t, &log, addr, nil, "kagi is serving")
	if got := servedSerial(t, addr, roots); got.Cmp(a.serial) != 0 {
		t.Fatalf("serving serial %x, want A's %x", got, a.serial)
	}

	writePair(t, dir, b)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// No handshake in between: the reload is the signal's.
	waitForLog(t, &log, addr, nil, "reloaded the TLS certificate", "reason=SIGHUP", "serial="+b.serial.Text(16))
	if got := servedSerial(t, addr, roots); got.Cmp(b.serial) != 0 {
		t.Fatalf("after SIGHUP serial %x, want B's %x", got, b.serial)
	}

	replaceFile(t, keyFile, a.keyPEM)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, &log, addr, nil, "level=ERROR", "TLS certificate not reloaded", "reason=SIGHUP", "private key does not match")
	if got := servedSerial(t, addr, roots); got.Cmp(b.serial) != 0 {
		t.Fatalf("after SIGHUP with a broken pair serial %x, want B's %x", got, b.serial)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("kagi serve after SIGTERM: %v\n%s", waitErr, log.Bytes())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("kagi serve did not stop within 20 s of SIGTERM\n%s", log.Bytes())
	}
}
