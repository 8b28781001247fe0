package server

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// freeAddr returns a loopback address nothing listens on (for a moment).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer is a bytes.Buffer safe to write from the server while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeMetricsAddr runs `kagi serve --metrics-addr`, scrapes the
// address it was given, and stops it as an operator does (SIGTERM).
// KAGI_METRICS_ADDR is the flag's default; the flag wins over it.
func TestServeMetricsAddr(t *testing.T) {
	env := map[string]string{
		"KAGI_ACCOUNT_ID":             "111122223333",
		"KAGI_ROOT_ACCESS_KEY_ID":     "AKIAKAGITESTROOT0001",
		"KAGI_ROOT_SECRET_ACCESS_KEY": "0123456789abcdef0123456789abcdef01234567",
	}
	getenv := func(k string) string { return env[k] }

	t.Run("the variable alone", func(t *testing.T) {
		// A busy address shows that the variable was read.
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		env["KAGI_METRICS_ADDR"] = busy.Addr().String()
		defer delete(env, "KAGI_METRICS_ADDR")
		var out, errb syncBuffer
		code := Main([]string{"--addr", freeAddr(t), "--insecure-http", "--data-dir", t.TempDir()}, getenv, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), "--metrics-addr") {
			t.Fatalf("exit %d, stderr %q; want 1 and the --metrics-addr bind error", code, errb.String())
		}
	})

	t.Run("the flag over the variable", func(t *testing.T) {
		env["KAGI_METRICS_ADDR"] = "256.0.0.1:1" // would fail if used
		defer delete(env, "KAGI_METRICS_ADDR")
		maddr := freeAddr(t)
		var out, errb syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- Main([]string{"--addr", freeAddr(t), "--insecure-http", "--data-dir", t.TempDir(), "--metrics-addr", maddr}, getenv, &out, &errb)
		}()
		url := "http://" + maddr + "/metrics"
		var body string
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get(url)
			if err == nil {
				var b bytes.Buffer
				b.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					body = b.String()
					break
				}
			}
			select {
			case code := <-done:
				t.Fatalf("kagi serve exited %d before serving metrics: %s", code, errb.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no metrics at %s: %v; stderr %s", url, err, errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(body, "# TYPE kagi_throttled_requests_total counter") {
			t.Errorf("metrics at %s lack kagi_throttled_requests_total:\n%.2000s", url, body)
		}
		// The server is up, so its signal handler is in place.
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("exit %d after SIGTERM: %s", code, errb.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatal("kagi serve did not stop on SIGTERM")
		}
	})

	t.Run("help", func(t *testing.T) {
		var out, errb syncBuffer
		if code := Main([]string{"--help"}, getenv, &out, &errb); code != 0 || !strings.Contains(out.String(), "-metrics-addr HOST:PORT") {
			t.Fatalf("exit %d, help %q", code, out.String())
		}
	})
}
