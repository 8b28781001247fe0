package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func newKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rec(i int) []byte {
	return fmt.Appendf(nil, `{"eventVersion":"1.11","eventID":"%08d","eventName":"Encrypt","eventSource":"kms.amazonaws.com"}`, i)
}

func appendN(t testing.TB, l *Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := l.Append(context.Background(), rec(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// buildLog writes a closed log of 30 records: 12, a digest, 12, a digest,
// 6 and the digest of Close, in segments of a few records each.
func buildLog(t testing.TB, key crypto.Signer) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "audit")
	l, err := OpenWith(dir, Options{Signer: key, SegmentSize: 700})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 12)
	if err := l.WriteDigest(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 12, 12)
	if err := l.WriteDigest(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 24, 6)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyDir copies the files of dir into a new directory.
func copyDir(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "copy")
	if err := os.MkdirAll(out, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// files lists dir's files with the prefix and suffix, in order.
func files(t testing.TB, dir, prefix, suffix string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) && strings.HasSuffix(e.Name(), suffix) {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// lines reads a file's lines (without newlines).
func lines(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func writeLines(t testing.TB, path string, ls [][]byte) {
	t.Helper()
	b := append(bytes.Join(ls, []byte("\n")), '\n')
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustVerify(t testing.TB, dir string, pub crypto.PublicKey) *Report {
	t.Helper()
	r, err := Verify(dir, pub)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readAll(t testing.TB, dir string) []string {
	t.Helper()
	var got []string
	if err := Read(dir, func(r []byte) error { got = append(got, string(r)); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}
