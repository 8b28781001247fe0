package server_test

// Helpers for the cli_*_test.go files: they run the AWS CLI (aws, v1 or
// v2, on PATH) against a test server, so that requests are built and
// answers parsed by botocore rather than by Go.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// cliPath returns the AWS CLI's path; the test is skipped without it, and
// in -short mode (each call starts a Python interpreter).
func cliPath(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the AWS CLI")
	}
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	return cli
}

// awsCLI runs the AWS CLI against one test server.
type awsCLI struct {
	t    *testing.T
	bin  string
	env  *servertest.Env
	home string // HOME, and the place of any files the CLI reads
}

func newAWSCLI(t *testing.T, bin string, env *servertest.Env) *awsCLI {
	return &awsCLI{t: t, bin: bin, env: env, home: t.TempDir()}
}

// cliCreds are the credentials one CLI call signs with.
type cliCreds struct{ akid, secret, token string }

// run runs the CLI with creds and nothing from the machine's environment
// (no profile, config, CA bundle or region but the ones given here), with
// --endpoint-url and, over TLS, the server's CA. It returns the JSON output
// (nil if none), stderr, and the exit error.
func (c *awsCLI) run(creds cliCreds, args ...string) (map[string]any, string, error) {
	c.t.Helper()
	full := append(append([]string{}, args...), "--endpoint-url", c.env.Server.URL, "--output", "json")
	if strings.HasPrefix(c.env.Server.URL, "https:") {
		full = append(full, "--ca-bundle", filepath.Join(c.env.DataDir, server.TLSDir, "ca.pem"))
	}
	cmd := exec.Command(c.bin, full...)
	cmd.Dir = c.home
	cmd.Env = []string{
		"HOME=" + c.home, "PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=" + creds.akid, "AWS_SECRET_ACCESS_KEY=" + creds.secret, "AWS_SESSION_TOKEN=" + creds.token,
		"AWS_DEFAULT_REGION=" + servertest.Region, "AWS_CONFIG_FILE=" + filepath.Join(c.home, "none"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(c.home, "none"), "AWS_MAX_ATTEMPTS=1", "AWS_PAGER=",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var out map[string]any
	if err == nil && stdout.Len() > 0 {
		if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
			c.t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), jerr, stdout.Bytes())
		}
	}
	return out, stderr.String(), err
}

// ok runs a command that must succeed and returns its JSON output.
func (c *awsCLI) ok(creds cliCreds, args ...string) map[string]any {
	c.t.Helper()
	out, stderr, err := c.run(creds, args...)
	if err != nil {
		c.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// fails runs a command that must fail with the AWS error code, and whose
// message, if want is not "", is exactly want. botocore prints
// "An error occurred (<code>) when calling the <Op> operation: <message>".
func (c *awsCLI) fails(creds cliCreds, code, want string, args ...string) {
	c.t.Helper()
	_, stderr, err := c.run(creds, args...)
	if err == nil {
		c.t.Errorf("aws %s: succeeded, want %s", strings.Join(args, " "), code)
		return
	}
	prefix := "An error occurred (" + code + ") when calling the "
	i := strings.Index(stderr, prefix)
	if i < 0 {
		c.t.Errorf("aws %s: %v\n%s\nwant %s", strings.Join(args, " "), err, stderr, code)
		return
	}
	if want == "" {
		return
	}
	rest := stderr[i+len(prefix):]
	if j := strings.Index(rest, " operation: "); j >= 0 {
		rest = rest[j+len(" operation: "):]
	}
	if got := strings.TrimSpace(rest); got != want {
		c.t.Errorf("aws %s: message\n  %q\nwant\n  %q", strings.Join(args, " "), got, want)
	}
}

// file writes b to a file in the CLI's home and returns its name, for
// fileb:// and file:// arguments.
func (c *awsCLI) file(name string, b []byte) string {
	c.t.Helper()
	p := filepath.Join(c.home, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// cliField returns the string at a path of keys in a CLI's JSON output.
func cliField(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}
