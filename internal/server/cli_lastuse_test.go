package server_test

import (
	"regexp"
	"testing"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestGetKeyLastUsageWithAWSCLI: botocore's get-key-last-usage reads
// kagi's answer: nothing for a new key, then the encrypt the CLI made,
// with the request id of that call (read from the CLI's --debug log).
func TestGetKeyLastUsageWithAWSCLI(t *testing.T) {
	bin := cliPath(t)
	t.Parallel()
	env := servertest.Start(t)
	cli := newAWSCLI(t, bin, env)
	root := cliCreds{servertest.AccessKeyID, env.Secret, ""}
	key := cli.ok(root, "kms", "create-key")
	id := cliField(key, "KeyMetadata", "KeyId")

	out := cli.ok(root, "kms", "get-key-last-usage", "--key-id", id)
	if cliField(out, "KeyId") != id || out["KeyCreationDate"] == nil || out["TrackingStartDate"] == nil {
		t.Errorf("get-key-last-usage of a new key: %v", out)
	}
	if u, ok := out["KeyLastUsage"].(map[string]any); ok && len(u) != 0 {
		t.Errorf("a new key has KeyLastUsage %v", u)
	}

	_, stderr, err := cli.run(root, "kms", "encrypt", "--key-id", id, "--plaintext", "fileb://"+cli.file("pt", []byte("x")), "--debug")
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	m := regexp.MustCompile(`(?i)'x-amzn-requestid': '([0-9a-f-]{36})'`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("the CLI's debug log shows no x-amzn-RequestId:\n%s", stderr)
	}
	out = cli.ok(root, "kms", "get-key-last-usage", "--key-id", cliField(key, "KeyMetadata", "Arn"))
	if cliField(out, "KeyLastUsage", "Operation") != "Encrypt" || cliField(out, "KeyLastUsage", "KmsRequestId") != m[1] {
		t.Errorf("after encrypt: %v, want Operation Encrypt and KmsRequestId %s", out, m[1])
	}
	cli.fails(root, "NotFoundException", "", "kms", "get-key-last-usage", "--key-id", "alias/none")
}
