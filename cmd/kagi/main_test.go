package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"version"}, 0, "kagi ", ""},
		{[]string{"version", "--help"}, 0, "Usage: kagi version", ""},
		{[]string{"version"}, 0, "\nFIPS 140-3 mode: off; Go Cryptographic Module latest\n", ""},
		{[]string{"serve", "--fips"}, 1, "", "--fips: Go's FIPS 140-3 mode is off"},
		{[]string{"serve", "--help"}, 0, "-fips", ""},
		{[]string{"--help"}, 0, "kagi serve", ""},
		{[]string{"serve", "--help"}, 0, "-data-dir", ""},
		{[]string{"serve", "--no-such-flag"}, 2, "", "flag provided but not defined"},
		{[]string{"serve", "extra"}, 2, "", "unexpected argument"},
		{[]string{"serve", "--log-level", "loud"}, 2, "", "bad --log-level"},
		{[]string{"serve", "--audit-sync-interval", "-1s"}, 2, "", "--audit-sync-interval must be"},
		{[]string{"serve", "--audit-digest-interval", "0s"}, 2, "", "--audit-digest-interval more than 0"},
		{[]string{"serve", "--help"}, 0, "-audit-sync-interval", ""},
		{[]string{"serve", "--help"}, 0, "-max-connections", ""},
		{[]string{"serve", "--max-connections", "0"}, 2, "", "--max-connections must be more than 0"},
		{[]string{"admin", "--help"}, 0, "create-account", ""},
		{[]string{"admin", "list-accounts", "--help"}, 0, "Usage: kagi admin list-accounts", ""},
		{[]string{"admin"}, 2, "", "Usage: kagi admin"},
		{[]string{"admin", "create-account", "--account-id", "42"}, 2, "", "12 digits"},
		{[]string{"--help"}, 0, "kagi admin", ""},
		{[]string{"--help"}, 0, "kagi audit", ""},
		{[]string{"audit", "--help"}, 0, "verify", ""},
		{[]string{"audit", "verify", "--help"}, 0, "Usage: kagi audit verify", ""},
		{[]string{"audit", "export"}, 2, "", "--out is required"},
		{[]string{"audit", "verify", "--dir", "x", "--data-dir", "y"}, 2, "", "not both"},
		{[]string{"audit"}, 2, "", "Usage: kagi audit"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{nil, 2, "", "Usage:"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(tt.args, &out, &errb)
		if code != tt.code || !strings.Contains(out.String(), tt.inStdout) || !strings.Contains(errb.String(), tt.inStderr) {
			t.Errorf("kagi %v: exit %d, stdout %q, stderr %q; want exit %d with %q / %q",
				tt.args, code, out.String(), errb.String(), tt.code, tt.inStdout, tt.inStderr)
		}
	}
}

func TestServeRefusesBadBootstrap(t *testing.T) {
	var out, errb bytes.Buffer
	t.Setenv("KAGI_ACCOUNT_ID", "111122223333")
	t.Setenv("KAGI_ROOT_ACCESS_KEY_ID", "")
	t.Setenv("KAGI_ROOT_SECRET_ACCESS_KEY", "")
	code := run([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "go together") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
