package server_test

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

// TestIAMWithAWSCLI drives the IAM and STS APIs with the AWS CLI, pointed
// at the server with --endpoint-url: its parsers are botocore's, not ours.
func TestIAMWithAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the AWS CLI")
	}
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	t.Parallel()
	env := servertest.Start(t)
	home := t.TempDir()
	ca := filepath.Join(env.DataDir, server.TLSDir, "ca.pem")

	// run runs the CLI with credentials and nothing from the environment.
	run := func(akid, secret, token string, args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.Command(cli, append(args, "--endpoint-url", env.Server.URL, "--ca-bundle", ca, "--output", "json")...)
		cmd.Env = []string{
			"HOME=" + home, "PATH=" + os.Getenv("PATH"),
			"AWS_ACCESS_KEY_ID=" + akid, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_SESSION_TOKEN=" + token,
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=" + filepath.Join(home, "none"),
			"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"), "AWS_MAX_ATTEMPTS=1", "AWS_PAGER=",
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var out map[string]any
		if err == nil && stdout.Len() > 0 {
			if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
				t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), jerr, stdout.Bytes())
			}
		}
		return out, stderr.String(), err
	}
	asRoot := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, err := run(servertest.AccessKeyID, env.Secret, "", args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}
	field := func(m map[string]any, path ...string) string {
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
