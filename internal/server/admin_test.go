package server_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
	"github.com/kagikms/kagi/internal/testutil"
)

// lockedMessage is what kagi admin says when a server holds the data dir.
const lockedMessage = "kagi admin needs the data dir while no kagi serve uses it: stop the server"

// admin runs `kagi admin args...` in-process.
func admin(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = server.AdminMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

// mustAdmin runs `kagi admin args...` and fails the test unless it succeeds.
func mustAdmin(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := admin(t, args...)
	if code != 0 {
		t.Fatalf("kagi admin %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout, stderr
}

// sharedCredentials reads a profile from a credentials file with the AWS
// SDK's own parser, so the test checks the format, not our idea of it.
func sharedCredentials(t *testing.T, file, profile string) (akid, secret string) {
	t.Helper()
	sc, err := config.LoadSharedConfigProfile(context.Background(), profile, func(o *config.LoadSharedConfigOptions) {
		o.CredentialsFiles = []string{file}
		o.ConfigFiles = []string{}
	})
	if err != nil {
		b, _ := os.ReadFile(file)
		t.Fatalf("profile %s in %s: %v\n%s", profile, file, err, b)
	}
	return sc.Credentials.AccessKeyID, sc.Credentials.SecretAccessKey
}

// appendCredentials appends printed credentials to a credentials file that
// already holds a profile and, like many hand-edited files, lacks a final
// newline; it returns the file's path.
func appendCredentials(t *testing.T, printed string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "credentials")
	before := "[default]\naws_access_key_id = AKIAEXISTINGPROFILE1\naws_secret_access_key = existing-secret-0123456789"
	if err := os.WriteFile(file, []byte(before+printed), 0o600); err != nil {
		t.Fatal(err)
	}
	if akid, secret := sharedCredentials(t, file, "default"); akid != "AKIAEXISTINGPROFILE1" || secret != "existing-secret-0123456789" {
		t.Fatalf("appending broke the existing profile: %q %q", akid, secret)
	}
	return file
}

// keyIDs lists the key ids a client sees.
func keyIDs(t *testing.T, c *kms.Client) []string {
	t.Helper()
	out, err := c.ListKeys(context.Background(), &kms.ListKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range out.Keys {
		ids = append(ids, *k.KeyId)
	}
	return ids
}

var createdAccount = regexp.MustCompile(`created account (\d{12}) `)

// TestAdminCreateAccount creates accounts on a data dir a server made,
// starts the server again, and uses the new root credentials through the
// SDK: the new account's keys are its own.
func TestAdminCreateAccount(t *testing.T) {
	env := servertest.Start(t)
	ctx := context.Background()
	first, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("first account's")})
	if err != nil {
		t.Fatal(err)
	}
	firstCT, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: first.KeyMetadata.KeyId, Plaintext: []byte("first")})
	if err != nil {
		t.Fatal(err)
	}
	env.Stop(t)

	// A random id, a chosen profile.
	printed, note := mustAdmin(t, "create-account", "--data-dir", env.DataDir, "--profile", "second")
	m := createdAccount.FindStringSubmatch(note)
	if m == nil {
		t.Fatalf("stderr does not name the account: %q", note)
	}
	acct := m[1]
	if acct == servertest.AccountID {
		t.Fatalf("the new account has the first account's id %s", acct)
	}
	if !strings.HasPrefix(printed, "\n# kagi account "+acct+": ") || !strings.Contains(printed, "\n[second]\n") {
		t.Errorf("printed credentials:\n%s", printed)
	}
	file := appendCredentials(t, printed)
	akid, secret := sharedCredentials(t, file, "second")
	if !strings.HasPrefix(akid, "AKIA") || len(secret) != 40 {
		t.Fatalf("credentials %q / %d-byte secret", akid, len(secret))
	}
	if strings.Contains(note, secret) {
		t.Error("the secret went to stderr")
	}
	// Printed, never written: the store keeps it sealed.
	filepath.WalkDir(env.DataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, err := os.ReadFile(path); err != nil || bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the new secret (%v)", path, err)
		}
		return nil
	})

	// A chosen id; the profile defaults to it.
	const chosen = "444455556666"
	printed2, _ := mustAdmin(t, "create-account", "--data-dir", env.DataDir, "--account-id", chosen)
	akid2, secret2 := sharedCredentials(t, appendCredentials(t, printed2), chosen)

	// Both are listed, with the first, and dated today.
	list, _ := mustAdmin(t, "list-accounts", "--data-dir", env.DataDir)
	lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
	seen := map[string]bool{}
	for _, line := range lines {
		id, created, ok := strings.Cut(line, "\t")
		at, err := time.Parse(time.RFC3339, created)
		if !ok || err != nil || time.Since(at) > time.Hour || time.Since(at) < -time.Minute {
			t.Errorf("list-accounts line %q (%v)", line, err)
		}
		seen[id] = true
	}
	if len(lines) != 3 || !seen[servertest.AccountID] || !seen[acct] || !seen[chosen] {
		t.Errorf("list-accounts:\n%s\nwant %s, %s and %s", list, servertest.AccountID, acct, chosen)
	}

	env.Restart(t)
	for _, c := range []struct{ acct, akid, secret string }{{acct, akid, secret}, {chosen, akid2, secret2}} {
		client := env.Client(t, servertest.Region, c.akid, c.secret)
		k, err := client.CreateKey(ctx, &kms.CreateKeyInput{})
		if err != nil {
			t.Fatalf("account %s: CreateKey: %v", c.acct, err)
		}
		if *k.KeyMetadata.AWSAccountId != c.acct || !strings.Contains(*k.KeyMetadata.Arn, ":"+c.acct+":key/") {
			t.Errorf("account %s made key %s", c.acct, *k.KeyMetadata.Arn)
		}
		pt := []byte("secret of account " + c.acct)
		ct, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: pt})
		if err != nil {
			t.Fatalf("account %s: Encrypt: %v", c.acct, err)
		}
		dec, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob})
		if err != nil || !bytes.Equal(dec.Plaintext, pt) {
			t.Fatalf("account %s: Decrypt: %v", c.acct, err)
		}
		if ids := keyIDs(t, client); len(ids) != 1 || ids[0] != *k.KeyMetadata.KeyId {
			t.Errorf("account %s lists keys %v, want only its own %s", c.acct, ids, *k.KeyMetadata.KeyId)
		}
		// The accounts do not share keys either way.
		if _, err := env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyMetadata.Arn}); err == nil {
			t.Errorf("the first account can describe account %s's key", c.acct)
		}
		if _, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob}); err == nil {
			t.Errorf("the first account decrypted account %s's ciphertext", c.acct)
		}
		if _, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: firstCT.CiphertextBlob}); err == nil {
			t.Errorf("account %s decrypted the first account's ciphertext", c.acct)
		}
	}
	if ids := keyIDs(t, env.KMS); len(ids) != 1 || ids[0] != *first.KeyMetadata.KeyId {
		t.Errorf("the first account lists keys %v, want only %s", ids, *first.KeyMetadata.KeyId)
	}
}

// TestAdminCreateAccessKey gives the first account's root a second key,
// which works next to the first; a third is refused.
func TestAdminCreateAccessKey(t *testing.T) {
	env := servertest.Start(t)
	ctx := context.Background()
	env.Stop(t)

	printed, note := mustAdmin(t, "create-access-key", "--data-dir", env.DataDir, "--account-id", servertest.AccountID, "--profile", "rotated")
	akid, secret := sharedCredentials(t, appendCredentials(t, printed), "rotated")
	if akid == servertest.AccessKeyID || !strings.Contains(note, akid) || strings.Contains(note, secret) {
		t.Errorf("second key %s; stderr %q", akid, note)
	}

	code, stdout, stderr := admin(t, "create-access-key", "--data-dir", env.DataDir, "--account-id", servertest.AccountID)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "has 2 access keys already") {
		t.Errorf("third key: exit %d, stdout %q, stderr %q; want exit 1 and the quota", code, stdout, stderr)
	}

	env.Restart(t)
	second := env.Client(t, servertest.Region, akid, secret)
	k, err := second.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatalf("CreateKey with the second key: %v", err)
	}
	if *k.KeyMetadata.AWSAccountId != servertest.AccountID {
		t.Errorf("the second key made a key in account %s", *k.KeyMetadata.AWSAccountId)
	}
	ct, err := second.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: []byte("rotated")})
	if err != nil {
		t.Fatal(err)
	}
	// The same root, so the first key sees and uses the same key.
	if _, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob}); err != nil {
		t.Errorf("the first key cannot decrypt what the second encrypted: %v", err)
	}
}

// TestAdminServices registers a service on a stopped server, uses its
// credentials to call on a user's behalf, and removes it again.
func TestAdminServices(t *testing.T) {
	env := servertest.Start(t)
	ctx := context.Background()
	env.Stop(t)

	printed, note := mustAdmin(t, "create-service", "--data-dir", env.DataDir, "--name", "objects", "--display-name", "Object Store")
	akid, secret := sharedCredentials(t, appendCredentials(t, printed), "service-objects")
	if !strings.Contains(printed, "# kagi service objects.amazonaws.com: ") || !strings.Contains(note, akid) || strings.Contains(note, secret) {
		t.Errorf("printed %q; stderr %q", printed, note)
	}
	if code, _, stderr := admin(t, "create-service", "--data-dir", env.DataDir, "--name", "objects"); code != 1 || !strings.Contains(stderr, "exists already") {
		t.Errorf("second create-service: exit %d, %q", code, stderr)
	}
	list, _ := mustAdmin(t, "list-services", "--data-dir", env.DataDir)
	if !strings.HasPrefix(list, "objects.amazonaws.com\tObject Store\t") || strings.Count(list, "\n") != 1 {
		t.Errorf("list-services:\n%s", list)
	}

	env.Restart(t)
	svc := env.Client(t, servertest.Region, akid, secret)
	out, err := svc.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/objects"), Plaintext: []byte("x")}, onBehalfOf(servertest.AccessKeyID, ""))
	if err != nil {
		t.Fatalf("Encrypt through the registered service: %v", err)
	}
	md := sdkDescribe(t, env.KMS, *out.KeyId)
	if aws.ToString(md.Description) != "Default key that protects my Object Store data when no other key is defined" {
		t.Errorf("description %q", aws.ToString(md.Description))
	}

	env.Stop(t)
	mustAdmin(t, "delete-service", "--data-dir", env.DataDir, "--name", "objects")
	if list, _ := mustAdmin(t, "list-services", "--data-dir", env.DataDir); list != "" {
		t.Errorf("list-services after delete-service: %q", list)
	}
	env.Restart(t)
	svc = env.Client(t, servertest.Region, akid, secret)
	_, err = svc.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/objects"), Plaintext: []byte("x")}, onBehalfOf(servertest.AccessKeyID, ""), sdkNoRetry)
	if code := sdkErrCode(err); code != "UnrecognizedClientException" {
		t.Errorf("a removed service's request: %v, want UnrecognizedClientException", err)
	}
	// Its managed key stays in the account.
	if got := sdkDescribe(t, env.KMS, "alias/aws/objects"); *got.KeyId != *md.KeyId {
		t.Errorf("alias/aws/objects now names %s, was %s", *got.KeyId, *md.KeyId)
	}
}

// TestAdminWhileServing: a running server holds the store; kagi admin says
// so within seconds instead of hanging, and changes nothing.
func TestAdminWhileServing(t *testing.T) {
	env := servertest.Start(t)
	t.Run("refused", func(t *testing.T) {
		for _, args := range [][]string{
			{"list-accounts", "--data-dir", env.DataDir},
			{"create-account", "--data-dir", env.DataDir},
			{"create-access-key", "--data-dir", env.DataDir, "--account-id", servertest.AccountID},
			{"compact", "--data-dir", env.DataDir},
		} {
			t.Run(args[0], func(t *testing.T) {
				t.Parallel() // each waits out the lock timeout
				start := time.Now()
				code, stdout, stderr := admin(t, args...)
				if took := time.Since(start); took > 10*time.Second {
					t.Errorf("took %v against a running server", took)
				}
				if code != 1 || stdout != "" || !strings.Contains(stderr, lockedMessage) {
					t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
				}
			})
		}
	})
	if ids := keyIDs(t, env.KMS); len(ids) != 0 {
		t.Errorf("keys %v", ids)
	}
	env.Stop(t)
	if list, _ := mustAdmin(t, "list-accounts", "--data-dir", env.DataDir); strings.Count(list, "\n") != 1 || !strings.HasPrefix(list, servertest.AccountID+"\t") {
		t.Errorf("after the refused commands, list-accounts:\n%s", list)
	}
}

// TestAdminUsage checks --help, bad flags, bad ids and refusals; none of
// the failures may create anything.
func TestAdminUsage(t *testing.T) {
	env := servertest.Start(t)
	env.Stop(t)
	dir := env.DataDir
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"--help"}, 0, "create-access-key", ""},
		{[]string{"help"}, 0, "list-accounts", ""},
		{nil, 2, "", "Usage: kagi admin COMMAND"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"create-account", "--help"}, 0, "Usage: kagi admin create-account", ""},
		{[]string{"create-access-key", "-h"}, 0, "Usage: kagi admin create-access-key", ""},
		{[]string{"list-accounts", "--help"}, 0, "Usage: kagi admin list-accounts", ""},
		{[]string{"create-account", "--no-such-flag"}, 2, "", "flag provided but not defined"},
		{[]string{"create-account", "--no-such-flag"}, 2, "", "Usage: kagi admin create-account"},
		{[]string{"list-accounts", "--data-dir", dir, "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"create-access-key", "--data-dir"}, 2, "", "flag needs an argument"},
		{[]string{"create-account", "--data-dir", dir, "--account-id", "12345"}, 2, "", `--account-id "12345" is not an account id: it must be 12 digits`},
		{[]string{"create-account", "--data-dir", dir, "--account-id", "1234567890123"}, 2, "", "must be 12 digits"},
		{[]string{"create-account", "--data-dir", dir, "--account-id", "12345678901x"}, 2, "", "must be 12 digits"},
		{[]string{"create-account", "--data-dir", dir, "--account-id", "arn:aws:iam::123456789012:root"}, 2, "", "must be 12 digits"},
		{[]string{"create-account", "--data-dir", dir, "--profile", "a]b"}, 2, "", "--profile"},
		{[]string{"create-account", "--data-dir", dir, "--profile", "two words"}, 2, "", "--profile"},
		{[]string{"create-access-key", "--data-dir", dir}, 2, "", "--account-id is required"},
		{[]string{"create-access-key", "--data-dir", dir, "--account-id", "1111-2222-3333"}, 2, "", "must be 12 digits"},
		{[]string{"create-account", "--data-dir", dir, "--account-id", servertest.AccountID}, 1, "", "account " + servertest.AccountID + " exists already"},
		{[]string{"create-access-key", "--data-dir", dir, "--account-id", "999988887777"}, 1, "", "there is no account 999988887777"},
		{[]string{"create-service", "--help"}, 0, "X-Kagi-Forwarded-Access-Key-Id", ""},
		{[]string{"create-service", "--data-dir", dir}, 2, "", "--name is required"},
		{[]string{"create-service", "--data-dir", dir, "--name", "S3"}, 2, "", "lower-case letters"},
		{[]string{"create-service", "--data-dir", dir, "--name", "s3.amazonaws.com"}, 2, "", "lower-case letters"},
		{[]string{"create-service", "--data-dir", dir, "--name", "s3", "--display-name", `a"b`}, 1, "", "display name"},
		{[]string{"delete-service", "--data-dir", dir, "--name", "sqs"}, 1, "", "there is no service sqs"},
	}
	for _, tt := range tests {
		code, stdout, stderr := admin(t, tt.args...)
		if code != tt.code || !strings.Contains(stdout, tt.inStdout) || !strings.Contains(stderr, tt.inStderr) {
			t.Errorf("kagi admin %q: exit %d\nstdout %q\nstderr %q\nwant exit %d with %q / %q",
				tt.args, code, stdout, stderr, tt.code, tt.inStdout, tt.inStderr)
		}
		if code == 0 && stderr != "" || code != 0 && stdout != "" {
			t.Errorf("kagi admin %q: exit %d wrote stdout %q, stderr %q", tt.args, code, stdout, stderr)
		}
	}
	if list, _ := mustAdmin(t, "list-accounts", "--data-dir", dir); strings.Count(list, "\n") != 1 || !strings.HasPrefix(list, servertest.AccountID+"\t") {
		t.Errorf("the refusals created accounts:\n%s", list)
	}
}

// TestAdminRefusesNonDataDir: kagi admin never starts a new deployment: a
// directory without a store and a root key is refused and left as it was.
func TestAdminRefusesNonDataDir(t *testing.T) {
	empty := t.TempDir()
	missing := filepath.Join(t.TempDir(), "nothing-here")
	keyOnly := t.TempDir()
	env := servertest.Start(t)
	env.Stop(t)
	key, err := os.ReadFile(filepath.Join(env.DataDir, server.RootKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keyOnly, server.RootKeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ dir, says string }{
		{empty, "is not a kagi data dir: it has no " + server.RootKeyFile},
		{missing, "does not exist"},
		{keyOnly, "is not a kagi data dir: it has no " + server.DBFile},
	} {
		for _, args := range [][]string{
			{"create-account", "--data-dir", tt.dir},
			{"create-access-key", "--data-dir", tt.dir, "--account-id", servertest.AccountID},
			{"list-accounts", "--data-dir", tt.dir},
		} {
			code, stdout, stderr := admin(t, args...)
			if code != 1 || stdout != "" || !strings.Contains(stderr, tt.says) || !strings.Contains(stderr, "kagi admin does not create one") {
				t.Errorf("kagi admin %q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
			}
		}
	}
	if ents, err := os.ReadDir(empty); err != nil || len(ents) != 0 {
		t.Errorf("the empty dir now holds %d entries (%v)", len(ents), err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the missing dir was created: %v", err)
	}
	if ents, err := os.ReadDir(keyOnly); err != nil || len(ents) != 1 {
		t.Errorf("the dir with only a root key now holds %d entries (%v)", len(ents), err)
	}
}

// TestAdminBinary runs the built kagi: against a data dir that a server in
// another process holds, then after it stops, and uses what it printed.
func TestAdminBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the kagi binary")
	}
	bin := testutil.BuildKagi(t)
	env := servertest.Start(t)
	run := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}

	if code, stdout, stderr := run("admin", "create-account", "--help"); code != 0 || !strings.Contains(stdout, "-profile name") || stderr != "" {
		t.Errorf("create-account --help: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr := run("admin", "list-accounts", "--bogus"); code != 2 || !strings.Contains(stderr, "Usage: kagi admin list-accounts") {
		t.Errorf("list-accounts --bogus: exit %d, stderr %q", code, stderr)
	}

	start := time.Now()
	code, stdout, stderr := run("admin", "create-account", "--data-dir", env.DataDir)
	if code != 1 || stdout != "" || !strings.Contains(stderr, lockedMessage) || time.Since(start) > 15*time.Second {
		t.Fatalf("while serving: exit %d after %v, stdout %q, stderr %q", code, time.Since(start), stdout, stderr)
	}

	env.Stop(t)
	code, stdout, stderr = run("admin", "create-account", "--data-dir", env.DataDir, "--account-id", "777788889999", "--profile", "bin")
	if code != 0 {
		t.Fatalf("create-account: exit %d, stderr %q", code, stderr)
	}
	akid, secret := sharedCredentials(t, appendCredentials(t, stdout), "bin")
	code, stdout, _ = run("admin", "list-accounts", "--data-dir", env.DataDir)
	if code != 0 || !strings.Contains(stdout, servertest.AccountID+"\t") || !strings.Contains(stdout, "777788889999\t") {
		t.Errorf("list-accounts: exit %d\n%s", code, stdout)
	}

	env.Restart(t)
	k, err := env.Client(t, "eu-west-1", akid, secret).CreateKey(context.Background(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *k.KeyMetadata.Arn != "arn:aws:kms:eu-west-1:777788889999:key/"+*k.KeyMetadata.KeyId {
		t.Errorf("ARN %s", *k.KeyMetadata.Arn)
	}
}
