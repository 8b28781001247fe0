package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeQuotaFlags checks that kagi serve refuses a bad --quota or
// --quota-file before serving, and before making a data dir, and names
// the fault.
func TestServeQuotaFlags(t *testing.T) {
	env := map[string]string{
		"KAGI_ACCOUNT_ID":             "111122223333",
		"KAGI_ROOT_ACCESS_KEY_ID":     "AKIAKAGITESTROOT0001",
		"KAGI_ROOT_SECRET_ACCESS_KEY": "0123456789abcdef0123456789abcdef01234567",
	}
	getenv := func(k string) string { return env[k] }
	bad := filepath.Join(t.TempDir(), "quotas.json")
	if err := os.WriteFile(bad, []byte(`{"symmetric": "fast"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown quota", []string{"--quota", "Symetric=5"}, 2, "no such quota"},
		{"not a rate", []string{"--quota", "CreateKey=-1"}, 2, "not a positive number"},
		{"no rate", []string{"--quota", "CreateKey"}, 2, "NAME=RATE"},
		{"missing file", []string{"--quota-file", filepath.Join(t.TempDir(), "none.json")}, 1, "quota file"},
		{"bad file", []string{"--quota-file", bad}, 1, "not a positive number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb syncBuffer
			dir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"--addr", freeAddr(t), "--insecure-http", "--data-dir", dir}, tc.args...)
			code := Main(args, getenv, &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), tc.code, tc.want)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Error("the refused start created the data dir")
			}
		})
	}
}
