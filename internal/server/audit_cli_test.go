package server_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestServerAuditLog: the server keeps its audit log in <data dir>/audit
// with a digest key sealed in the data directory, and the log it leaves
// verifies with kagi audit verify.
func TestServerAuditLog(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	env.Restart(t)
	env.Stop(t)
	fi, err := os.Stat(filepath.Join(env.DataDir, server.AuditKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("audit key mode %v", fi.Mode())
	}
	var out, errb bytes.Buffer
	if code := server.AuditMain([]string{"verify", "--data-dir", env.DataDir}, &out, &errb); code != 0 || !strings.Contains(out.String(), "verified") {
		t.Fatalf("kagi audit verify: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := server.AuditMain([]string{"public-key", "--data-dir", env.DataDir}, &out, &errb); code != 0 || !strings.Contains(out.String(), "PUBLIC KEY") {
		t.Fatalf("kagi audit public-key: exit %d\n%s%s", code, out.String(), errb.String())
	}
}
