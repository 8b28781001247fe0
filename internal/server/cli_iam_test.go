package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestIAMWithAWSCLI drives the IAM and STS APIs with the AWS CLI, pointed
// at the server with --endpoint-url: its parsers are botocore's, not ours.
func TestIAMWithAWSCLI(t *testing.T) {
	bin := cliPath(t)
	t.Parallel()
	env := servertest.Start(t)
	cli := newAWSCLI(t, bin, env)
	rootCreds := cliCreds{servertest.AccessKeyID, env.Secret, ""}
	run := func(akid, secret, token string, args ...string) (map[string]any, string, error) {
		t.Helper()
		return cli.run(cliCreds{akid, secret, token}, args...)
	}
	asRoot := func(args ...string) map[string]any {
		t.Helper()
		return cli.ok(rootCreds, args...)
	}
	field := cliField

	out := asRoot("iam", "create-user", "--user-name", "cli-user", "--tags", "Key=team,Value=blue")
	if field(out, "User", "Arn") != "arn:aws:iam::111122223333:user/cli-user" || !strings.HasPrefix(field(out, "User", "UserId"), "AIDA") {
		t.Errorf("create-user: %v", out)
	}
	out = asRoot("iam", "get-user", "--user-name", "cli-user")
	if tags, _ := out["User"].(map[string]any)["Tags"].([]any); len(tags) != 1 {
		t.Errorf("get-user: %v", out)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`
	asRoot("iam", "put-user-policy", "--user-name", "cli-user", "--policy-name", "kms", "--policy-document", doc)
	// The CLI decodes the URL-encoded document into JSON.
	out = asRoot("iam", "get-user-policy", "--user-name", "cli-user", "--policy-name", "kms")
	if got, _ := json.Marshal(out["PolicyDocument"]); string(got) != `{"Statement":[{"Action":"kms:*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}` {
		t.Errorf("get-user-policy document: %s", got)
	}
	out = asRoot("iam", "list-users")
	if users, _ := out["Users"].([]any); len(users) != 1 {
		t.Errorf("list-users: %v", out)
	}
	key := asRoot("iam", "create-access-key", "--user-name", "cli-user")
	akid, secret := field(key, "AccessKey", "AccessKeyId"), field(key, "AccessKey", "SecretAccessKey")

	// The user's key, through the CLI's STS client.
	out, stderr, err := run(akid, secret, "", "sts", "get-caller-identity")
	if err != nil || field(out, "Arn") != "arn:aws:iam::111122223333:user/cli-user" {
		t.Errorf("get-caller-identity as the user: %v %v %s", out, err, stderr)
	}

	// Errors reach the CLI with their codes.
	for _, tt := range []struct {
		args []string
		code string
	}{
		{[]string{"iam", "create-user", "--user-name", "cli-user"}, "EntityAlreadyExists"},
		{[]string{"iam", "get-user", "--user-name", "nobody"}, "NoSuchEntity"},
		{[]string{"iam", "put-user-policy", "--user-name", "cli-user", "--policy-name", "bad", "--policy-document", "{not json"}, "MalformedPolicyDocument"},
		{[]string{"iam", "delete-user", "--user-name", "cli-user"}, "DeleteConflict"},
	} {
		_, stderr, err := run(servertest.AccessKeyID, env.Secret, "", tt.args...)
		if err == nil || !strings.Contains(stderr, "("+tt.code+")") {
			t.Errorf("aws %s: %v, stderr %q, want %s", strings.Join(tt.args, " "), err, stderr, tt.code)
		}
	}

	// AssumeRole through the CLI, and the temporary credentials through it.
	trust := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/cli-user"},"Action":"sts:AssumeRole"}]}`
	asRoot("iam", "create-role", "--role-name", "cli-role", "--assume-role-policy-document", trust)
	out, stderr, err = run(akid, secret, "", "sts", "assume-role", "--role-arn", "arn:aws:iam::111122223333:role/cli-role", "--role-session-name", "cli")
	if err != nil {
		t.Fatalf("assume-role: %v %s", err, stderr)
	}
	c := func(k string) string { return field(out, "Credentials", k) }
	id, stderr, err := run(c("AccessKeyId"), c("SecretAccessKey"), c("SessionToken"), "sts", "get-caller-identity")
	if err != nil || field(id, "Arn") != "arn:aws:sts::111122223333:assumed-role/cli-role/cli" {
		t.Errorf("get-caller-identity as the role: %v %v %s", id, err, stderr)
	}
	_, stderr, err = run(c("AccessKeyId"), c("SecretAccessKey"), c("SessionToken")+"x", "sts", "get-caller-identity")
	if err == nil || !strings.Contains(stderr, "(InvalidClientTokenId)") {
		t.Errorf("a tampered token through the CLI: %v %s", err, stderr)
	}
}
