package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kagikms/kagi/internal/audit"
	"github.com/kagikms/kagi/internal/rootkey"
)

func auditCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = AuditMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

// auditDataDir makes a data directory as kagi serve leaves it (root key,
// sealed audit key) with a log of 20 records under two digests.
func auditDataDir(t *testing.T) string {
	t.Helper()
	dataDir := t.TempDir()
	root, _, err := rootkey.LoadOrCreateFile(filepath.Join(dataDir, RootKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := loadOrCreateAuditKey(dataDir, root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.OpenWith(filepath.Join(dataDir, AuditDir), audit.Options{Signer: key, SegmentSize: 600})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 20 {
		if err := l.Append(ctx, fmt.Appendf(nil, `{"eventID":"%d","eventName":"Decrypt","eventSource":"kms.amazonaws.com"}`, i)); err != nil {
			t.Fatal(err)
		}
		if i == 9 {
			if err := l.WriteDigest(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dataDir
}

// TestAuditCLI: kagi audit verify passes an untouched log and its export,
// and fails, saying why, on an edited record, a removed file and a
// removed digest, and on an edited exported file.
func TestAuditCLI(t *testing.T) {
	t.Parallel()
	dataDir := auditDataDir(t)
	auditDir := filepath.Join(dataDir, AuditDir)

	code, out, errs := auditCmd("verify", "--data-dir", dataDir)
	if code != 0 || !strings.Contains(out, "verified") || !strings.Contains(out, "20 records: 20 covered") {
		t.Fatalf("verify of an untouched log: exit %d\n%s%s", code, out, errs)
	}
	code, pem, errs := auditCmd("public-key", "--data-dir", dataDir)
	if code != 0 || !strings.HasPrefix(pem, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("public-key: exit %d\n%s%s", code, pem, errs)
	}
	pemFile := filepath.Join(t.TempDir(), "audit.pem")
	os.WriteFile(pemFile, []byte(pem), 0o600)
	if code, out, errs := auditCmd("verify", "--data-dir", dataDir, "--public-key", pemFile); code != 0 {
		t.Fatalf("verify with the pinned key: exit %d\n%s%s", code, out, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(dataDir, AuditKeyFile)); bytes.Contains(b, []byte("PRIVATE KEY")) || len(b) == 0 {
		t.Errorf("the audit signing key is not sealed: %q", b)
	}

	exp := filepath.Join(t.TempDir(), "export")
	if code, out, errs := auditCmd("export", "--data-dir", dataDir, "--out", exp); code != 0 || !strings.Contains(out, "exported 20 records") {
		t.Fatalf("export: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := auditCmd("verify", "--dir", exp, "--public-key", pemFile); code != 0 || !strings.Contains(out, "exported audit files") {
		t.Fatalf("verify of the export: exit %d\n%s%s", code, out, errs)
	}

	segs, _ := filepath.Glob(filepath.Join(auditDir, "seg-*.jsonl"))
	digests, _ := filepath.Glob(filepath.Join(auditDir, "digest-*.json"))
	exported, _ := filepath.Glob(filepath.Join(exp, "records-*.json.gz"))
	if len(segs) < 3 || len(digests) != 2 || len(exported) < 2 {
		t.Fatalf("%d segments, %d digests, %d exported files", len(segs), len(digests), len(exported))
	}
	tests := []struct {
		name   string
		dir    []string // the flags that name the directory
		file   string
		change func([]byte) []byte // nil: remove the file
		want   string
	}{
		{"edit a record", []string{"--data-dir", dataDir}, segs[1], func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"eventName":"Decrypt"`), []byte(`"eventName":"Encrypt"`), 1)
		}, "chain is broken"},
		{"remove a segment", []string{"--data-dir", dataDir}, segs[1], nil, "is missing"},
		{"remove a digest", []string{"--data-dir", dataDir}, digests[0], nil, "is missing"},
		{"remove the last digest", []string{"--data-dir", dataDir}, digests[1], nil, "the digest was removed"},
		{"edit an exported file", []string{"--dir", exp}, exported[0], func(b []byte) []byte { b[len(b)-5] ^= 0xff; return b }, exported[0][len(exp)+1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(tt.file, orig, 0o600)
			if tt.change == nil {
				os.Remove(tt.file)
			} else {
				os.WriteFile(tt.file, tt.change(bytes.Clone(orig)), 0o600)
			}
			code, out, errs := auditCmd(append([]string{"verify"}, tt.dir...)...)
			if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, tt.want) || !strings.Contains(errs, "does not verify") {
				t.Fatalf("exit %d, want 1 and %q\n%s%s", code, tt.want, out, errs)
			}
		})
	}
}
