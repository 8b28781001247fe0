package server_test

// Tests of kagi's TLS policy from outside: OpenSSL's s_client and sslscan,
// independent implementations, and Go's client for the post-quantum group.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// policyServers starts two servers: one on the generated ECDSA
// certificate, one on an RSA certificate (so that a refused RSA key
// exchange or ECDHE-RSA-CBC suite is the policy's doing, not the key's).
type policyServer struct {
	name   string
	addr   string
	caFile string
	roots  *x509.CertPool
}

func policyServers(t *testing.T) (ecdsaSrv, rsaSrv policyServer) {
	t.Helper()
	dev := servertest.Start(t)
	ecdsaSrv = policyServer{name: "ECDSA", addr: hostPort(dev.Server.URL), caFile: filepath.Join(dev.DataDir, server.TLSDir, "ca.pem")}
	ca := newTestCA(t, "RSA server CA")
	dir := t.TempDir()
	cert, key := writePair(t, dir, ca.issue(t, "localhost", false, true))
	rsaEnv := servertest.Start(t, servertest.WithTLSFiles(cert, key))
	rsaSrv = policyServer{name: "RSA", addr: hostPort(rsaEnv.Server.URL), caFile: filepath.Join(dir, "ca.pem"), roots: ca.pool()}
	replaceFile(t, rsaSrv.caFile, ca.pem)
	pem, err := os.ReadFile(ecdsaSrv.caFile)
	if err != nil {
		t.Fatal(err)
	}
	ecdsaSrv.roots = x509.NewCertPool()
	ecdsaSrv.roots.AppendCertsFromPEM(pem)
	return ecdsaSrv, rsaSrv
}

// sClient runs `openssl s_client -trace` against addr and returns its
// output and whether it exited 0 (a completed handshake).
func sClient(t *testing.T, openssl string, srv policyServer, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append([]string{"s_client", "-connect", srv.addr, "-CAfile", srv.caFile, "-verify_return_error", "-trace"}, args...)
	cmd := exec.CommandContext(ctx, openssl, full...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no OPENSSL_CONF or the like from outside
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("openssl %s: timed out\n%s", strings.Join(full, " "), out)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("openssl: %v", err)
	}
	return string(out), err == nil
}

// TestTLSPolicyOpenSSL: OpenSSL's client, told to offer what kagi must
// refuse (SECLEVEL=0 lets it offer TLS 1.0/1.1 and weak suites), is
// refused by the server: the trace shows the ClientHello that offered it
// and the server's fatal alert in reply. The accepted handshakes are the
// controls that the same command line otherwise works.
func TestTLSPolicyOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is not installed; .ci/run installs it")
	}
	ecdsaSrv, rsaSrv := policyServers(t)
	for _, c := range []struct {
		srv     policyServer
		args    []string
		offered string // in the sent ClientHello
		alert   string // the server's fatal alert; "" for an accepted handshake
		cipher  string // the negotiated "New, <version>, Cipher is <suite>"
	}{
		// Old protocol versions.
		{ecdsaSrv, []string{"-tls1", "-cipher", "DEFAULT@SECLEVEL=0"}, "client_version=0x301 (TLS 1.0)", "protocol version(70)", ""},
		{ecdsaSrv, []string{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}, "client_version=0x302 (TLS 1.1)", "protocol version(70)", ""},
		{rsaSrv, []string{"-tls1", "-cipher", "DEFAULT@SECLEVEL=0"}, "client_version=0x301 (TLS 1.0)", "protocol version(70)", ""},
		{rsaSrv, []string{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}, "client_version=0x302 (TLS 1.1)", "protocol version(70)", ""},
		// TLS 1.2 suites without forward secrecy (RSA key exchange), with
		// CBC, or with finite-field DHE.
		{rsaSrv, []string{"-tls1_2", "-cipher", "AES128-GCM-SHA256:@SECLEVEL=0"}, "TLS_RSA_WITH_AES_128_GCM_SHA256", "handshake failure(40)", ""},
		{rsaSrv, []string{"-tls1_2", "-cipher", "AES256-GCM-SHA384:@SECLEVEL=0"}, "TLS_RSA_WITH_AES_256_GCM_SHA384", "handshake failure(40)", ""},
		{rsaSrv, []string{"-tls1_2", "-cipher", "AES256-SHA:@SECLEVEL=0"}, "TLS_RSA_WITH_AES_256_CBC_SHA", "handshake failure(40)", ""},
		{rsaSrv, []string{"-tls1_2", "-cipher", "AES128-SHA256:@SECLEVEL=0"}, "TLS_RSA_WITH_AES_128_CBC_SHA256", "handshake failure(40)", ""},
		{rsaSrv, []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"}, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "handshake failure(40)", ""},
		{rsaSrv, []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES256-SHA384:@SECLEVEL=0"}, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "handshake failure(40)", ""},
		{rsaSrv, []string{"-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"}, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "handshake failure(40)", ""},
		{ecdsaSrv, []string{"-tls1_2", "-cipher", "AES128-GCM-SHA256:@SECLEVEL=0"}, "TLS_RSA_WITH_AES_128_GCM_SHA256", "handshake failure(40)", ""},
		{ecdsaSrv, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"}, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "handshake failure(40)", ""},
		{ecdsaSrv, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384:@SECLEVEL=0"}, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "handshake failure(40)", ""},
		// Controls: forward-secret AEAD suites, and TLS 1.3.
		{ecdsaSrv, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "", "TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"},
		{ecdsaSrv, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"}, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "", "TLSv1.2, Cipher is ECDHE-ECDSA-AES256-GCM-SHA384"},
		{ecdsaSrv, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "", "TLSv1.2, Cipher is ECDHE-ECDSA-CHACHA20-POLY1305"},
		{rsaSrv, []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"}, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "", "TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256"},
		{rsaSrv, []string{"-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"}, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "", "TLSv1.2, Cipher is ECDHE-RSA-CHACHA20-POLY1305"},
		{ecdsaSrv, []string{"-tls1_3"}, "TLS_AES_128_GCM_SHA256", "", "TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256"},
		{rsaSrv, []string{"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"}, "TLS_CHACHA20_POLY1305_SHA256", "", "TLSv1.3, Cipher is TLS_CHACHA20_POLY1305_SHA256"},
	} {
		t.Run(c.srv.name+" "+strings.Join(c.args, " "), func(t *testing.T) {
			out, ok := sClient(t, openssl, c.srv, c.args...)
			sent, received, _ := strings.Cut(out, "Received Record")
			if !strings.Contains(sent, "Sent Record") || !strings.Contains(sent, "ClientHello") || !strings.Contains(sent, c.offered) {
				t.Fatalf("the client did not offer %q:\n%s", c.offered, out)
			}
			if c.alert == "" {
				if !ok || !strings.Contains(out, "New, "+c.cipher) || !strings.Contains(out, "Verification: OK") {
					t.Fatalf("handshake not completed with %q:\n%s", c.cipher, out)
				}
				return
			}
			if ok || !strings.Contains(received, "Alert") || !strings.Contains(received, "Level=fatal(2), description="+c.alert) ||
				!strings.Contains(out, "Cipher is (NONE)") {
				t.Fatalf("want the server's fatal %s alert after the ClientHello:\n%s", c.alert, out)
			}
			if strings.Contains(out, "no protocols available") || strings.Contains(out, "no ciphers available") {
				t.Fatalf("the client refused on its own:\n%s", out)
			}
		})
	}
}

// TestTLSPolicyGoClient: Go's client negotiates TLS 1.3 with the hybrid
// post-quantum group X25519MLKEM768; one offering only X25519 (or P-256)
// still connects; TLS 1.2 gets a forward-secret AEAD suite, and older
// versions or CBC-only offers are refused.
func TestTLSPolicyGoClient(t *testing.T) {
	ecdsaSrv, rsaSrv := policyServers(t)
	for _, c := range []struct {
		name    string
		srv     policyServer
		cfg     *tls.Config
		version uint16
		curve   tls.CurveID
		suite   uint16
		err     string // the server's alert
	}{
		{"default client", ecdsaSrv, &tls.Config{}, tls.VersionTLS13, tls.X25519MLKEM768, tls.TLS_AES_128_GCM_SHA256, ""},
		{"default client, RSA", rsaSrv, &tls.Config{}, tls.VersionTLS13, tls.X25519MLKEM768, tls.TLS_AES_128_GCM_SHA256, ""},
		{"X25519 only", ecdsaSrv, &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}}, tls.VersionTLS13, tls.X25519, tls.TLS_AES_128_GCM_SHA256, ""},
		{"SecP256r1MLKEM768 only", ecdsaSrv, &tls.Config{CurvePreferences: []tls.CurveID{tls.SecP256r1MLKEM768}}, tls.VersionTLS13, tls.SecP256r1MLKEM768, tls.TLS_AES_128_GCM_SHA256, ""},
		{"SecP384r1MLKEM1024 only", ecdsaSrv, &tls.Config{CurvePreferences: []tls.CurveID{tls.SecP384r1MLKEM1024}}, tls.VersionTLS13, tls.SecP384r1MLKEM1024, tls.TLS_AES_128_GCM_SHA256, ""},
		{"X25519 listed before X25519MLKEM768", ecdsaSrv, &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519, tls.X25519MLKEM768}}, tls.VersionTLS13, tls.X25519MLKEM768, tls.TLS_AES_128_GCM_SHA256, ""},
		{"P-521 only", ecdsaSrv, &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP521}}, 0, 0, 0, "remote error: tls: handshake failure"},
		{"P-256 only", ecdsaSrv, &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256}}, tls.VersionTLS13, tls.CurveP256, tls.TLS_AES_128_GCM_SHA256, ""},
		{"TLS 1.2", ecdsaSrv, &tls.Config{MaxVersion: tls.VersionTLS12}, tls.VersionTLS12, tls.X25519, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ""},
		{"TLS 1.2, RSA", rsaSrv, &tls.Config{MaxVersion: tls.VersionTLS12}, tls.VersionTLS12, tls.X25519, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, ""},
		{"TLS 1.2 ChaCha20", ecdsaSrv, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, tls.VersionTLS12, tls.X25519, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, ""},
		{"TLS 1.1", ecdsaSrv, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, 0, 0, 0, "remote error: tls: protocol version not supported"},
		{"TLS 1.2 CBC only", rsaSrv, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256}}, 0, 0, 0, "remote error: tls: handshake failure"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg.Clone()
			cfg.RootCAs = c.srv.roots
			st, err := handshake(c.srv.addr, cfg)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("handshake: %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if st.Version != c.version || st.CurveID != c.curve || st.CipherSuite != c.suite {
				t.Errorf("negotiated %s, %v, %s; want %s, %v, %s", tls.VersionName(st.Version), st.CurveID, tls.CipherSuiteName(st.CipherSuite),
					tls.VersionName(c.version), c.curve, tls.CipherSuiteName(c.suite))
			}
		})
	}
}

// sslscanAccepted matches sslscan's lines for accepted suites.
var sslscanAccepted = regexp.MustCompile(`(?m)^(?:Preferred|Accepted)\s+(\S+)\s+\d+ bits\s+(\S+)`)

// TestTLSPolicySSLScan runs sslscan (Debian's; .ci/run installs it), as
// docs/tls-sslscan.txt shows it, and checks its findings: only TLS 1.2
// and 1.3, and exactly the forward-secret AEAD suites.
func TestTLSPolicySSLScan(t *testing.T) {
	sslscan, err := exec.LookPath("sslscan")
	if err != nil {
		t.Fatal("sslscan is not installed; .ci/run installs it (Debian package sslscan)")
	}
	ecdsaSrv, rsaSrv := policyServers(t)
	for _, c := range []struct {
		srv    policyServer
		suites []string
	}{
		{ecdsaSrv, []string{"TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384", "TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305"}},
		{rsaSrv, []string{"TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2 ECDHE-RSA-CHACHA20-POLY1305"}},
	} {
		t.Run(c.srv.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, sslscan, "--no-colour", c.srv.addr)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			b, err := cmd.CombinedOutput()
			out := string(b)
			if err != nil {
				t.Fatalf("sslscan: %v\n%s", err, out)
			}
			for _, p := range []string{"SSLv2     disabled", "SSLv3     disabled", "TLSv1.0   disabled", "TLSv1.1   disabled", "TLSv1.2   enabled", "TLSv1.3   enabled"} {
				if !strings.Contains(out, "\n"+p+"\n") {
					t.Errorf("sslscan does not say %q", p)
				}
			}
			var got []string
			for _, m := range sslscanAccepted.FindAllStringSubmatch(out, -1) {
				got = append(got, m[1]+" "+m[2])
			}
			want := append([]string{"TLSv1.3 TLS_AES_128_GCM_SHA256", "TLSv1.3 TLS_AES_256_GCM_SHA384", "TLSv1.3 TLS_CHACHA20_POLY1305_SHA256"}, c.suites...)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("sslscan's accepted suites:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if t.Failed() {
				t.Logf("sslscan output:\n%s", out)
			}
		})
	}
}
