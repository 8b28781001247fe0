package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// limitsTLS dials the test server's TLS endpoint as a client that trusts
// its generated CA.
func limitsTLS(t *testing.T, env *servertest.Env) *tls.Conn {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(env.DataDir, server.TLSDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", limitsAddr(env), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func limitsAddr(env *servertest.Env) string {
	return strings.TrimPrefix(strings.TrimPrefix(env.Server.URL, "https://"), "http://")
}

// limitsDial opens a plain TCP connection to the server.
func limitsDial(t *testing.T, env *servertest.Env) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", limitsAddr(env), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// limitsClosedWithin reads c until the server closes it and returns how
// long that took from start, failing the test if the connection is still
// open after bound. What the server sent before closing is returned too.
func limitsClosedWithin(t *testing.T, c net.Conn, start time.Time, bound time.Duration) (time.Duration, []byte) {
	t.Helper()
	c.SetReadDeadline(start.Add(bound))
	got, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v (read %q)", bound, got)
	}
	return time.Since(start), got
}

// TestLimitsSlowHeaders: a slowloris client that dribbles its headers
// (one every 100 ms, forever) is cut off once ReadHeaderTimeout has
// passed since its request began, over TLS as kagi serves by default;
// so is a client that connects and never starts its TLS handshake.
func TestLimitsSlowHeaders(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	env := servertest.Start(t, servertest.WithLimits(server.Limits{ReadHeaderTimeout: timeout, ReadTimeout: 10 * time.Second}))

	c := limitsTLS(t, env)
	start := time.Now()
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: kagi\r\n"); err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; i < 100; i++ { // bounded: 10 s at most
			time.Sleep(100 * time.Millisecond)
			if _, err := io.WriteString(c, "X-Slow: a\r\n"); err != nil {
				return
			}
		}
	}()
	took, _ := limitsClosedWithin(t, c, start, timeout+3*time.Second)
	if took < timeout-500*time.Millisecond {
		t.Errorf("slowloris cut off after %v, before the %v timeout: was it the timeout?", took, timeout)
	}
	t.Logf("slowloris client cut off after %v (ReadHeaderTimeout %v)", took, timeout)

	// No TLS handshake at all.
	raw := limitsDial(t, env)
	start = time.Now()
	took, _ = limitsClosedWithin(t, raw, start, timeout+3*time.Second)
	t.Logf("silent client cut off after %v", took)

	// The server still serves.
	if _, err := env.KMS.ListKeys(t.Context(), &kms.ListKeysInput{}); err != nil {
		t.Fatal(err)
	}
}

// TestLimitsSlowBody: a client that sends its headers at once and then
// its body a byte every 100 ms is cut off once ReadTimeout has passed,
// with a 400 if an answer gets out at all — never a 5xx.
func TestLimitsSlowBody(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	env := servertest.Start(t, servertest.WithLimits(server.Limits{ReadHeaderTimeout: time.Second, ReadTimeout: timeout}))
	c := limitsTLS(t, env)
	start := time.Now()
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: kagi\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Length: 1000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; i < 100; i++ {
			time.Sleep(100 * time.Millisecond)
			if _, err := io.WriteString(c, " "); err != nil {
				return
			}
		}
	}()
	took, got := limitsClosedWithin(t, c, start, timeout+3*time.Second)
	if took < timeout-500*time.Millisecond {
		t.Errorf("slow body cut off after %v, before the %v timeout", took, timeout)
	}
	if len(got) > 0 {
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(got))), nil)
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("answer to a slow body: %v %q, want a 400", err, got)
		}
	}
	t.Logf("slow-body client cut off after %v (ReadTimeout %v), answer %d bytes", took, timeout, len(got))
}

// TestLimitsIdle: a keep-alive connection that sends no next request is
// closed once IdleTimeout has passed.
func TestLimitsIdle(t *testing.T) {
	t.Parallel()
	const idle = time.Second
	env := servertest.Start(t, servertest.WithInsecureHTTP(), servertest.WithLimits(server.Limits{IdleTimeout: idle}))
	c := limitsDial(t, env)
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: kagi\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("healthz: %d, close %v", resp.StatusCode, resp.Close)
	}
	start := time.Now()
	c.SetReadDeadline(start.Add(idle + 3*time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: %v, want closed by the server", err)
	}
	if took := time.Since(start); took < idle-500*time.Millisecond {
		t.Errorf("idle connection closed after %v, before the %v timeout", took, idle)
	} else {
		t.Logf("idle connection closed after %v (IdleTimeout %v)", took, idle)
	}
}

// TestLimitsMaxConnections: with --max-connections 2, two connections
// that hold their slots (through their TLS handshake, then silent) keep a
// third client waiting; once one closes, the third is served.
func TestLimitsMaxConnections(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithLimits(server.Limits{MaxConnections: 2, ReadHeaderTimeout: 30 * time.Second}))
	// A finished handshake shows the server accepted the connection.
	a, b := limitsTLS(t, env), limitsTLS(t, env)
	_ = b

	ctx, cancel := contextWithTimeout(t, 1500*time.Millisecond)
	defer cancel()
	if _, err := env.KMS.ListKeys(ctx, &kms.ListKeysInput{}); err == nil {
		t.Fatal("a third connection was served past --max-connections 2")
	}
	a.Close()
	ctx2, cancel2 := contextWithTimeout(t, 10*time.Second)
	defer cancel2()
	if _, err := env.KMS.ListKeys(ctx2, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("after a slot freed: %v", err)
	}
}

// TestLimitsSizes: a header block over 64 KiB (and net/http's 4 KiB of
// slack) is 431 Request Header
// Fields Too Large; a body over 1 MiB is 413 with
// RequestEntityTooLargeException in AWS's error shape.
func TestLimitsSizes(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	w := newSDKWire(t, env)
	hc := env.HTTPClient(t)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, env.Server.URL+"/", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "TrentService.ListKeys")
	req.Header.Set("X-Big", strings.Repeat("a", server.MaxHeaderBytes+8<<10)) // net/http allows 4 KiB of slack
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("72 KiB header: HTTP %d, want 431", resp.StatusCode)
	}

	big := w.do(w.root(sdkWireReq{target: "TrentService.ListKeys", body: `{"Marker":"` + strings.Repeat("a", 1<<20) + `"}`}))
	if big.status != http.StatusRequestEntityTooLarge || big.obj["__type"] != "RequestEntityTooLargeException" {
		t.Errorf("body over 1 MiB: HTTP %d %.200s, want 413 RequestEntityTooLargeException", big.status, big.body)
	}
	// Just under the bound, the body is read and judged on its merits.
	under := w.do(w.root(sdkWireReq{target: "TrentService.ListKeys", body: `{"Marker":"` + strings.Repeat("a", 1<<20-20) + `"}`}))
	w.checkError("body just under 1 MiB", under, "ValidationException")
}

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}
