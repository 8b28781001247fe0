package server_test

import (
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestAuthzWithAWSCLI shows authorization through the AWS CLI: users,
// roles and policies made with `aws iam` and `aws sts`, KMS called with
// their credentials, and AWS's exceptions and messages as botocore prints
// them. TestAuthz* in authz_sdk_test.go covers the same ground, and more,
// through the Go SDK.
func TestAuthzWithAWSCLI(t *testing.T) {
	bin := cliPath(t)
	t.Parallel()
	const acct = servertest.AccountID

	// setup starts a server and returns the CLI, the root's credentials
	// and a key with the default key policy.
	setup := func(t *testing.T, opts ...servertest.Option) (*awsCLI, cliCreds, string) {
		env := servertest.Start(t, opts...)
		cli := newAWSCLI(t, bin, env)
		root := cliCreds{servertest.AccessKeyID, env.Secret, ""}
		keyARN := cliField(cli.ok(root, "kms", "create-key"), "KeyMetadata", "Arn")
		if keyARN == "" {
			t.Fatal("create-key gave no ARN")
		}
		return cli, root, keyARN
	}
	// user creates a user of the account admin administers, with inline
	// policies, and returns its credentials and ARN.
	user := func(cli *awsCLI, admin cliCreds, acct, name string, policies ...string) (cliCreds, string) {
		cli.t.Helper()
		cli.ok(admin, "iam", "create-user", "--user-name", name)
		for i, doc := range policies {
			cli.ok(admin, "iam", "put-user-policy", "--user-name", name, "--policy-name", "p"+strconv.Itoa(i), "--policy-document", doc)
		}
		k := cli.ok(admin, "iam", "create-access-key", "--user-name", name)
		return cliCreds{cliField(k, "AccessKey", "AccessKeyId"), cliField(k, "AccessKey", "SecretAccessKey"), ""}, "arn:aws:iam::" + acct + ":user/" + name
	}
	// The helpers report to the subtest that owns cli.
	//
	// encrypt encrypts with creds and returns the name of a file with the
	// ciphertext, for fileb://.
	encrypt := func(cli *awsCLI, creds cliCreds, keyID, name string) string {
		cli.t.Helper()
		out := cli.ok(creds, "kms", "encrypt", "--key-id", keyID, "--plaintext", "fileb://"+cli.file("plain.txt", []byte("secret")))
		ct, err := base64.StdEncoding.DecodeString(cliField(out, "CiphertextBlob"))
		if err != nil || len(ct) == 0 {
			cli.t.Fatalf("encrypt: CiphertextBlob %q", cliField(out, "CiphertextBlob"))
		}
		return cli.file(name, ct)
	}
	decrypt := func(cli *awsCLI, creds cliCreds, ctFile string) {
		cli.t.Helper()
		out := cli.ok(creds, "kms", "decrypt", "--ciphertext-blob", "fileb://"+ctFile)
		if pt, _ := base64.StdEncoding.DecodeString(cliField(out, "Plaintext")); string(pt) != "secret" {
			cli.t.Errorf("decrypt gave %q", pt)
		}
	}
	putKeyPolicy := func(cli *awsCLI, creds cliCreds, keyARN, doc string) {
		cli.t.Helper()
		cli.ok(creds, "kms", "put-key-policy", "--key-id", keyARN, "--policy-name", "default", "--policy", "file://"+cli.file("policy.json", []byte(doc)))
	}

	t.Run("encrypt-only user and explicit deny", func(t *testing.T) {
		t.Parallel()
		cli, root, keyARN := setup(t)
		enc, encARN := user(cli, root, acct, "cli-enc", authzPolicy(`{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}`))
		ct := encrypt(cli, enc, keyARN, "ct.bin")
		decrypt(cli, root, ct)
		cli.fails(enc, "AccessDeniedException", "User: "+encARN+" is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext "+
			"because no identity-based policy allows the kms:Decrypt action", "kms", "decrypt", "--ciphertext-blob", "fileb://"+ct)
		cli.fails(enc, "AccessDeniedException", "User: "+encARN+" is not authorized to perform: kms:ListKeys on resource: * "+
			"because no identity-based policy allows the kms:ListKeys action", "kms", "list-keys")

		// Identity policy: Allow kms:*, Deny kms:Decrypt.
		nodec, nodecARN := user(cli, root, acct, "cli-nodec", authzPolicy(
			`{"Effect":"Allow","Action":"kms:*","Resource":"*"}`, `{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}`))
		encrypt(cli, nodec, keyARN, "ct2.bin")
		cli.fails(nodec, "AccessDeniedException", "User: "+nodecARN+" is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext "+
			"with an explicit deny in an identity-based policy", "kms", "decrypt", "--ciphertext-blob", "fileb://"+ct)
		// Key policy: Deny kms:Encrypt to the user whom IAM allows kms:*.
		putKeyPolicy(cli, root, keyARN, authzPolicy(authzRootStatement(acct),
			`{"Effect":"Deny","Principal":{"AWS":"`+nodecARN+`"},"Action":"kms:Encrypt","Resource":"*"}`))
		cli.fails(nodec, "AccessDeniedException", "User: "+nodecARN+" is not authorized to perform: kms:Encrypt on resource: "+keyARN+
			" with an explicit deny in a resource-based policy", "kms", "encrypt", "--key-id", keyARN, "--plaintext", "fileb://"+cli.file("p", []byte("x")))
		encrypt(cli, root, keyARN, "ct3.bin")
	})

	t.Run("assumed role until expiry", func(t *testing.T) {
		t.Parallel()
		cli, root, keyARN := setup(t)
		alice, _ := user(cli, root, acct, "cli-alice")
		cli.ok(root, "iam", "create-role", "--role-name", "cli-crypto", "--assume-role-policy-document",
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:user/cli-alice"},"Action":"sts:AssumeRole"}]}`)
		cli.ok(root, "iam", "put-role-policy", "--role-name", "cli-crypto", "--policy-name", "use",
			"--policy-document", authzPolicy(`{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"`+keyARN+`"}`))
		out := cli.ok(alice, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+acct+":role/cli-crypto", "--role-session-name", "cli", "--duration-seconds", "900")
		c := func(k string) string { return cliField(out, "Credentials", k) }
		session := cliCreds{c("AccessKeyId"), c("SecretAccessKey"), c("SessionToken")}
		ct := encrypt(cli, session, keyARN, "ct.bin")
		decrypt(cli, session, ct)
		cli.env.Clock.Advance(16 * time.Minute)
		cli.fails(session, "ExpiredTokenException", "The security token included in the request is expired",
			"kms", "decrypt", "--ciphertext-blob", "fileb://"+ct)
	})

	t.Run("cross-account", func(t *testing.T) {
		t.Parallel()
		cli, rootA, _ := setup(t)
		b := cli.env.CreateAccount(t)
		rootB := cliCreds{b.AccessKeyID, b.Secret, ""}
		create := func(doc string) string {
			t.Helper()
			return cliField(cli.ok(rootA, "kms", "create-key", "--policy", doc), "KeyMetadata", "Arn")
		}
		keyForB := create(authzPolicy(authzRootStatement(acct),
			`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+b.ID+`:root"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}`))
		keyNotForB := create(authzPolicy(authzRootStatement(acct)))
		iamAllows := authzPolicy(`{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"arn:aws:kms:*:` + acct + `:key/*"}`)
		bob, bobARN := user(cli, rootB, b.ID, "cli-bob", iamAllows)
		carol, carolARN := user(cli, rootB, b.ID, "cli-carol")

		ct := encrypt(cli, bob, keyForB, "ct.bin")
		decrypt(cli, rootA, ct)
		decrypt(cli, bob, ct)
		cli.fails(carol, "AccessDeniedException", "User: "+carolARN+" is not authorized to perform: kms:Encrypt on resource: "+keyForB+
			" because no identity-based policy allows the kms:Encrypt action",
			"kms", "encrypt", "--key-id", keyForB, "--plaintext", "fileb://"+cli.file("p", []byte("x")))
		cli.fails(bob, "AccessDeniedException", "User: "+bobARN+" is not authorized to perform: kms:Encrypt on this resource because the resource does not exist "+
			"in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access",
			"kms", "encrypt", "--key-id", keyNotForB, "--plaintext", "fileb://"+cli.file("p", []byte("x")))
	})

	t.Run("source IP", func(t *testing.T) {
		t.Parallel()
		cli, root, keyARN := setup(t)
		fromRange := func(cidr string) string {
			return authzPolicy(`{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"` + cidr + `"}}}`)
		}
		local, _ := user(cli, root, acct, "cli-local", fromRange("127.0.0.0/8"))
		encrypt(cli, local, keyARN, "ct.bin")
		remote, remoteARN := user(cli, root, acct, "cli-remote", fromRange("10.0.0.0/8"))
		cli.fails(remote, "AccessDeniedException", "User: "+remoteARN+" is not authorized to perform: kms:Encrypt on resource: "+keyARN+
			" because no identity-based policy allows the kms:Encrypt action",
			"kms", "encrypt", "--key-id", keyARN, "--plaintext", "fileb://"+cli.file("p", []byte("x")))
		putKeyPolicy(cli, root, keyARN, authzPolicy(authzRootStatement(acct),
			`{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`))
		cli.fails(local, "AccessDeniedException", "User: arn:aws:iam::"+acct+":user/cli-local is not authorized to perform: kms:Encrypt on resource: "+keyARN+
			" with an explicit deny in a resource-based policy",
			"kms", "encrypt", "--key-id", keyARN, "--plaintext", "fileb://"+cli.file("p", []byte("x")))
	})

	t.Run("secure transport", func(t *testing.T) {
		t.Parallel()
		cli, root, keyARN := setup(t, servertest.WithInsecureHTTP())
		tls, tlsARN := user(cli, root, acct, "cli-tls-only", authzPolicy(
			`{"Effect":"Allow","Action":"kms:*","Resource":"*"}`,
			`{"Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`))
		cli.fails(tls, "AccessDeniedException", "User: "+tlsARN+" is not authorized to perform: kms:Encrypt on resource: "+keyARN+
			" with an explicit deny in an identity-based policy",
			"kms", "encrypt", "--key-id", keyARN, "--plaintext", "fileb://"+cli.file("p", []byte("x")))
	})

	t.Run("key policy operations", func(t *testing.T) {
		t.Parallel()
		cli, root, keyARN := setup(t)
		out := cli.ok(root, "kms", "get-key-policy", "--key-id", keyARN, "--policy-name", "default")
		want := `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::111122223333:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`
		if cliField(out, "Policy") != want {
			t.Errorf("get-key-policy: %q", cliField(out, "Policy"))
		}
		out = cli.ok(root, "kms", "list-key-policies", "--key-id", keyARN)
		if names, _ := out["PolicyNames"].([]any); len(names) != 1 || names[0] != "default" {
			t.Errorf("list-key-policies: %v", out)
		}
		cli.fails(root, "NotFoundException", "", "kms", "get-key-policy", "--key-id", keyARN, "--policy-name", "other")
		cli.fails(root, "MalformedPolicyDocumentException", "The policy document is not valid JSON: EOF.",
			"kms", "put-key-policy", "--key-id", keyARN, "--policy-name", "default", "--policy", `{"Statement":[`)

		_, ownerARN := user(cli, root, acct, "cli-owner")
		ownerOnly := authzPolicy(`{"Effect":"Allow","Principal":{"AWS":"` + ownerARN + `"},"Action":"kms:*","Resource":"*"}`)
		cli.fails(root, "MalformedPolicyDocumentException", "The new key policy will not allow you to update the key policy in the future.",
			"kms", "put-key-policy", "--key-id", keyARN, "--policy-name", "default", "--policy", ownerOnly)
		cli.ok(root, "kms", "put-key-policy", "--key-id", keyARN, "--policy-name", "default", "--policy", ownerOnly, "--bypass-policy-lockout-safety-check")
		cli.fails(root, "AccessDeniedException", "User: arn:aws:iam::"+acct+":root is not authorized to perform: kms:GetKeyPolicy on resource: "+keyARN+
			" because no resource-based policy allows the kms:GetKeyPolicy action", "kms", "get-key-policy", "--key-id", keyARN, "--policy-name", "default")

		// A user whom IAM allows kms:PutKeyPolicy edits a key policy.
		key2 := cliField(cli.ok(root, "kms", "create-key"), "KeyMetadata", "Arn")
		admin, _ := user(cli, root, acct, "cli-policy-admin", authzPolicy(`{"Effect":"Allow","Action":["kms:GetKeyPolicy","kms:PutKeyPolicy"],"Resource":"`+key2+`"}`))
		edited := authzPolicy(authzRootStatement(acct), `{"Sid":"Owner","Effect":"Allow","Principal":{"AWS":"`+ownerARN+`"},"Action":"kms:DescribeKey","Resource":"*"}`)
		putKeyPolicy(cli, admin, key2, edited)
		if got := cliField(cli.ok(admin, "kms", "get-key-policy", "--key-id", key2, "--policy-name", "default"), "Policy"); got != edited {
			t.Errorf("get-key-policy after the edit: %q", got)
		}

		// create-key --policy naming a role: its session needs no IAM policy.
		cli.ok(root, "iam", "create-role", "--role-name", "cli-app", "--assume-role-policy-document",
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"`+ownerARN+`"},"Action":"sts:AssumeRole"}]}`)
		appKey := cliField(cli.ok(root, "kms", "create-key", "--policy", authzPolicy(authzRootStatement(acct),
			`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:role/cli-app"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}`)), "KeyMetadata", "Arn")
		k := cli.ok(root, "iam", "create-access-key", "--user-name", "cli-owner")
		owner := cliCreds{cliField(k, "AccessKey", "AccessKeyId"), cliField(k, "AccessKey", "SecretAccessKey"), ""}
		out = cli.ok(owner, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+acct+":role/cli-app", "--role-session-name", "app")
		c := func(k string) string { return cliField(out, "Credentials", k) }
		app := cliCreds{c("AccessKeyId"), c("SecretAccessKey"), c("SessionToken")}
		decrypt(cli, app, encrypt(cli, app, appKey, "app.bin"))
	})
}
