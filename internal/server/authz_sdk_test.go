package server_test

// End-to-end authorization through aws-sdk-go-v2: IAM users, roles and
// accounts made through kagi's IAM and STS APIs, then KMS requests signed
// with their credentials. Each test states the AWS rule it shows.

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// authzUser creates a user in the account root administers, attaches the
// inline policies, and returns a KMS client with the user's access key and
// the user's ARN.
func authzUser(t *testing.T, env *servertest.Env, root *iamCaller, acct, name string, policies ...string) (*kms.Client, string) {
	t.Helper()
	akid, secret := iamAccessKey(t, root, name)
	for i, doc := range policies {
		root.ok(t, nil, "iam", "PutUserPolicy", "UserName", name, "PolicyName", fmt.Sprintf("p%d", i), "PolicyDocument", doc)
	}
	return env.Client(t, servertest.Region, akid, secret), "arn:aws:iam::" + acct + ":user/" + name
}

// authzDenied checks that err is an AccessDeniedException with exactly
// the message want.
func authzDenied(t *testing.T, what string, err error, want string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: %v, want AccessDeniedException", what, err)
		return
	}
	if ae.ErrorCode() != "AccessDeniedException" || ae.ErrorMessage() != want {
		t.Errorf("%s: %s\n  %q\nwant AccessDeniedException\n  %q", what, ae.ErrorCode(), ae.ErrorMessage(), want)
	}
	if s := sdkStatus(err); s != 400 {
		t.Errorf("%s: HTTP status %d, want 400 as AWS KMS answers", what, s)
	}
}

// authzPolicy is a policy document of the given statements.
func authzPolicy(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

// authzRootStatement is the default key policy's statement: the account
// root, and through it the account's IAM policies, may do anything.
func authzRootStatement(acct string) string {
	return `{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"}`
}

func authzEncrypt(t *testing.T, c *kms.Client, keyID string) ([]byte, error) {
	t.Helper()
	out, err := c.Encrypt(t.Context(), &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("secret")})
	if err != nil {
		return nil, err
	}
	return out.CiphertextBlob, nil
}

func authzDecrypt(t *testing.T, c *kms.Client, ct []byte) error {
	t.Helper()
	out, err := c.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: ct})
	if err == nil && string(out.Plaintext) != "secret" {
		t.Errorf("Decrypt gave %q", out.Plaintext)
	}
	return err
}

// TestAuthzEncryptOnlyUser: a user whose identity policy allows only
// kms:Encrypt can encrypt with a key that has the default key policy, and
// nothing else; the messages are AWS's.
func TestAuthzEncryptOnlyUser(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	acct := servertest.AccountID
	key := sdkCreateKey(t, env.KMS, nil)
	keyARN := aws.ToString(key.Arn)

	user, userARN := authzUser(t, env, root, acct, "enc-only",
		authzPolicy(`{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}`))
	ct, err := authzEncrypt(t, user, keyARN)
	if err != nil {
		t.Fatalf("Encrypt as enc-only: %v", err)
	}
	if err := authzDecrypt(t, env.KMS, ct); err != nil {
		t.Fatalf("the root decrypts the user's ciphertext: %v", err)
	}

	// Decrypt finds the key in the ciphertext; AWS does not name it.
	err = authzDecrypt(t, user, ct)
	authzDenied(t, "Decrypt", err, "User: "+userARN+" is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext "+
		"because no identity-based policy allows the kms:Decrypt action")
	// The caller named the key: the message names it.
	_, err = user.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: ct, KeyId: key.KeyId})
	authzDenied(t, "Decrypt with KeyId", err, "User: "+userARN+" is not authorized to perform: kms:Decrypt on resource: "+keyARN+
		" because no identity-based policy allows the kms:Decrypt action")
	_, err = user.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: key.KeyId, NumberOfBytes: aws.Int32(32)})
	authzDenied(t, "GenerateDataKey", err, "User: "+userARN+" is not authorized to perform: kms:GenerateDataKey on resource: "+keyARN+
		" because no identity-based policy allows the kms:GenerateDataKey action")
	_, err = user.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: key.KeyId})
	authzDenied(t, "DescribeKey", err, "User: "+userARN+" is not authorized to perform: kms:DescribeKey on resource: "+keyARN+
		" because no identity-based policy allows the kms:DescribeKey action")
	// Actions on no key name the resource "*", as AWS KMS does.
	_, err = user.CreateKey(t.Context(), &kms.CreateKeyInput{})
	authzDenied(t, "CreateKey", err, "User: "+userARN+" is not authorized to perform: kms:CreateKey on resource: * "+
		"because no identity-based policy allows the kms:CreateKey action")
	_, err = user.ListKeys(t.Context(), &kms.ListKeysInput{})
	authzDenied(t, "ListKeys", err, "User: "+userARN+" is not authorized to perform: kms:ListKeys on resource: * "+
		"because no identity-based policy allows the kms:ListKeys action")

	// An identity policy scoped to one key allows that key only.
	other := sdkCreateKey(t, env.KMS, nil)
	scoped, scopedARN := authzUser(t, env, root, acct, "one-key",
		authzPolicy(`{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"`+keyARN+`"}`))
	ct, err = authzEncrypt(t, scoped, keyARN)
	if err != nil {
		t.Fatalf("Encrypt with the policy's key: %v", err)
	}
	if err := authzDecrypt(t, scoped, ct); err != nil {
		t.Errorf("Decrypt with the policy's key: %v", err)
	}
	_, err = authzEncrypt(t, scoped, aws.ToString(other.KeyId))
	authzDenied(t, "Encrypt with another key", err, "User: "+scopedARN+" is not authorized to perform: kms:Encrypt on resource: "+
		aws.ToString(other.Arn)+" because no identity-based policy allows the kms:Encrypt action")
}

// TestAuthzExplicitDeny: a Deny beats every Allow, in an identity policy
// and in the key policy, and a key policy Deny binds the account root too.
func TestAuthzExplicitDeny(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	acct := servertest.AccountID
	key := sdkCreateKey(t, env.KMS, nil)
	keyARN := aws.ToString(key.Arn)
	allowAll := authzPolicy(`{"Effect":"Allow","Action":"kms:*","Resource":"*"}`)

	// Identity policy: Allow kms:* and, in a second policy, Deny kms:Decrypt.
	user, userARN := authzUser(t, env, root, acct, "no-decrypt", allowAll,
		authzPolicy(`{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}`))
	ct, err := authzEncrypt(t, user, keyARN)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	err = authzDecrypt(t, user, ct)
	authzDenied(t, "identity Deny", err, "User: "+userARN+" is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext "+
		"with an explicit deny in an identity-based policy")
	// The Deny in the same policy as the Allow works the same.
	same, sameARN := authzUser(t, env, root, acct, "no-decrypt-2", authzPolicy(
		`{"Effect":"Allow","Action":"kms:*","Resource":"*"}`,
		`{"Effect":"Deny","Action":"kms:Decrypt","Resource":"`+keyARN+`"}`))
	_, err = same.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: ct, KeyId: aws.String(keyARN)})
	authzDenied(t, "identity Deny, same policy", err, "User: "+sameARN+" is not authorized to perform: kms:Decrypt on resource: "+keyARN+
		" with an explicit deny in an identity-based policy")

	// Key policy: the account's IAM policies apply, except that worker may
	// not encrypt, although the key policy also names worker for it.
	worker, workerARN := authzUser(t, env, root, acct, "worker", allowAll)
	ct, err = authzEncrypt(t, worker, keyARN)
	if err != nil {
		t.Fatalf("worker Encrypt before the Deny: %v", err)
	}
	doc := authzPolicy(authzRootStatement(acct),
		`{"Effect":"Allow","Principal":{"AWS":"`+workerARN+`"},"Action":"kms:Encrypt","Resource":"*"}`,
		`{"Effect":"Deny","Principal":{"AWS":"`+workerARN+`"},"Action":"kms:Encrypt","Resource":"*"}`)
	if _, err := env.KMS.PutKeyPolicy(t.Context(), &kms.PutKeyPolicyInput{KeyId: key.KeyId, Policy: aws.String(doc)}); err != nil {
		t.Fatalf("PutKeyPolicy: %v", err)
	}
	_, err = authzEncrypt(t, worker, keyARN)
	authzDenied(t, "key policy Deny", err, "User: "+workerARN+" is not authorized to perform: kms:Encrypt on resource: "+keyARN+
		" with an explicit deny in a resource-based policy")
	if err := authzDecrypt(t, worker, ct); err != nil {
		t.Errorf("worker Decrypt, which the Deny does not cover: %v", err)
	}
	if _, err := authzEncrypt(t, env.KMS, keyARN); err != nil {
		t.Errorf("root Encrypt, which the Deny does not name: %v", err)
	}

	// A Deny for everyone binds the account root as well.
	doc = authzPolicy(authzRootStatement(acct), `{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*"}`)
	if _, err := env.KMS.PutKeyPolicy(t.Context(), &kms.PutKeyPolicyInput{KeyId: key.KeyId, Policy: aws.String(doc)}); err != nil {
		t.Fatalf("PutKeyPolicy: %v", err)
	}
	_, err = authzEncrypt(t, env.KMS, keyARN)
	authzDenied(t, "root under a Deny for *", err, "User: arn:aws:iam::"+acct+":root is not authorized to perform: kms:Encrypt on resource: "+keyARN+
		" with an explicit deny in a resource-based policy")
	if err := authzDecrypt(t, env.KMS, ct); err != nil {
		t.Errorf("root Decrypt: %v", err)
	}
}

// TestAuthzAssumedRoleExpires: a role session has the role's permissions
// until its credentials expire on the server's clock; then KMS answers
// ExpiredTokenException, as AWS does.
func TestAuthzAssumedRoleExpires(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	acct := servertest.AccountID
	key := sdkCreateKey(t, env.KMS, nil)
	keyARN := aws.ToString(key.Arn)
	other := sdkCreateKey(t, env.KMS, nil)

	// alice has no KMS permissions of her own: only the role has them.
	akid, secret := iamAccessKey(t, root, "alice")
	alice := newIAMCaller(t, env, akid, secret, "")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/alice"},"Action":"sts:AssumeRole"}]}`
	root.ok(t, nil, "iam", "CreateRole", "RoleName", "crypto", "AssumeRolePolicyDocument", trust)
	root.ok(t, nil, "iam", "PutRolePolicy", "RoleName", "crypto", "PolicyName", "use-key",
		"PolicyDocument", authzPolicy(`{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"`+keyARN+`"}`))

	_, err := authzEncrypt(t, env.Client(t, servertest.Region, akid, secret), keyARN)
	authzDenied(t, "alice herself", err, "User: arn:aws:iam::"+acct+":user/alice is not authorized to perform: kms:Encrypt on resource: "+keyARN+
		" because no identity-based policy allows the kms:Encrypt action")

	var out struct {
		Creds iamCredentials `xml:"AssumeRoleResult>Credentials"`
	}
	alice.ok(t, &out, "sts", "AssumeRole", "RoleArn", "arn:aws:iam::"+acct+":role/crypto", "RoleSessionName", "job-1", "DurationSeconds", "900")
	c := out.Creds
	session := env.ClientWithToken(t, servertest.Region, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	sessionARN := "arn:aws:sts::" + acct + ":assumed-role/crypto/job-1"

	ct, err := authzEncrypt(t, session, keyARN)
	if err != nil {
		t.Fatalf("Encrypt as the role: %v", err)
	}
	if err := authzDecrypt(t, session, ct); err != nil {
		t.Errorf("Decrypt as the role: %v", err)
	}
	_, err = authzEncrypt(t, session, aws.ToString(other.Arn))
	authzDenied(t, "the role with another key", err, "User: "+sessionARN+" is not authorized to perform: kms:Encrypt on resource: "+
		aws.ToString(other.Arn)+" because no identity-based policy allows the kms:Encrypt action")

	// A minute before the expiry the session still works.
	env.Clock.Advance(14 * time.Minute)
	if err := authzDecrypt(t, session, ct); err != nil {
		t.Errorf("Decrypt a minute before the expiry: %v", err)
	}
	env.Clock.Advance(2 * time.Minute)
	for _, op := range []struct {
		name string
		call func() error
	}{
		{"Decrypt", func() error { return authzDecrypt(t, session, ct) }},
		{"Encrypt", func() error { _, err := authzEncrypt(t, session, keyARN); return err }},
	} {
		err := op.call()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ExpiredTokenException" || ae.ErrorMessage() != "The security token included in the request is expired" {
			t.Errorf("%s after the expiry: %v, want ExpiredTokenException: The security token included in the request is expired", op.name, err)
		}
		if s := sdkStatus(err); s != 400 {
			t.Errorf("%s after the expiry: HTTP status %d, want 400", op.name, s)
		}
	}
	// A new session works again.
	alice.ok(t, &out, "sts", "AssumeRole", "RoleArn", "arn:aws:iam::"+acct+":role/crypto", "RoleSessionName", "job-2")
	c = out.Creds
	if err := authzDecrypt(t, env.ClientWithToken(t, servertest.Region, c.AccessKeyID, c.SecretAccessKey, c.SessionToken), ct); err != nil {
		t.Errorf("Decrypt with a new session: %v", err)
	}
}

// TestAuthzCrossAccount: a key of account A is usable by a principal of
// account B only when A's key policy allows B (its root or the principal)
// and B's identity policies allow the principal; B's root needs only the
// key policy. Neither side alone suffices (key-policy-modifying-external-accounts.html).
func TestAuthzCrossAccount(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	acctA := servertest.AccountID
	b := env.CreateAccount(t)
	if b.ID == acctA || len(b.ID) != 12 {
		t.Fatalf("second account %q", b.ID)
	}
	rootB := newIAMCaller(t, env, b.AccessKeyID, b.Secret, "")
	kmsB := env.Client(t, servertest.Region, b.AccessKeyID, b.Secret)
	var id callerIdentity
	rootB.ok(t, &id, "sts", "GetCallerIdentity")
	if id.Account != b.ID || id.Arn != "arn:aws:iam::"+b.ID+":root" {
		t.Fatalf("the second account's root is %+v", id)
	}

	useStatement := func(principal string) string {
		return `{"Sid":"External use","Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey"],"Resource":"*"}`
	}
	newKey := func(doc string) (id, arn string) {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Policy: aws.String(doc)})
		return aws.ToString(k.KeyId), aws.ToString(k.Arn)
	}
	keyForB, keyForBARN := newKey(authzPolicy(authzRootStatement(acctA), useStatement("arn:aws:iam::"+b.ID+":root")))
	// The bare account id is the same principal as its root ARN.
	_, keyForBIDARN := newKey(authzPolicy(authzRootStatement(acctA), useStatement(b.ID)))
	allowAKeys := authzPolicy(`{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey"],"Resource":"arn:aws:kms:*:` + acctA + `:key/*"}`)
	// A key policy may name only a user that exists.
	_, err := env.KMS.CreateKey(t.Context(), &kms.CreateKeyInput{Policy: aws.String(
		authzPolicy(authzRootStatement(acctA), useStatement("arn:aws:iam::"+b.ID+":user/bob")))})
	authzMalformed(t, "CreateKey naming a user of another account that does not exist yet", err,
		"Policy contains a statement with one or more invalid principals.")
	bob, bobARN := authzUser(t, env, rootB, b.ID, "bob", allowAKeys)
	_, keyForBobARN := newKey(authzPolicy(authzRootStatement(acctA), useStatement("arn:aws:iam::"+b.ID+":user/bob")))
	_, keyDefaultARN := newKey(authzPolicy(authzRootStatement(acctA)))
	carol, carolARN := authzUser(t, env, rootB, b.ID, "carol") // no IAM policy
	dave, daveARN := authzUser(t, env, rootB, b.ID, "dave", allowAKeys)

	ctA, err := authzEncrypt(t, env.KMS, keyForBARN)
	if err != nil {
		t.Fatal(err)
	}

	// Both sides allow.
	for _, keyARN := range []string{keyForBARN, keyForBIDARN, keyForBobARN} {
		ct, err := authzEncrypt(t, bob, keyARN)
		if err != nil {
			t.Errorf("bob Encrypt with %s: %v", keyARN, err)
			continue
		}
		if err := authzDecrypt(t, env.KMS, ct); err != nil {
			t.Errorf("A's root decrypts what bob encrypted: %v", err)
		}
	}
	if err := authzDecrypt(t, bob, ctA); err != nil {
		t.Errorf("bob decrypts A's ciphertext: %v", err)
	}
	if _, err := bob.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(keyForBARN)}); err != nil {
		t.Errorf("bob DescribeKey: %v", err)
	}
	// B's root is allowed by its own account: the key policy suffices.
	if _, err := authzEncrypt(t, kmsB, keyForBARN); err != nil {
		t.Errorf("B's root Encrypt: %v", err)
	}

	// The key policy allows B, B's IAM does not allow carol.
	_, err = authzEncrypt(t, carol, keyForBARN)
	authzDenied(t, "carol without an IAM policy", err, "User: "+carolARN+" is not authorized to perform: kms:Encrypt on resource: "+keyForBARN+
		" because no identity-based policy allows the kms:Encrypt action")
	// Named in the key policy by ARN, bob still needs his IAM policy; the
	// key policy names bob and not dave, so dave is refused by it.
	_, err = authzEncrypt(t, dave, keyForBobARN)
	hidden := " is not authorized to perform: kms:Encrypt on this resource because the resource does not exist in this Region, " +
		"no resource-based policies allow access, or a resource-based policy explicitly denies access"
	authzDenied(t, "dave with a key policy that names bob", err, "User: "+daveARN+hidden)

	// B's IAM allows, A's key policy does not name B: denied, and the
	// message does not tell B whether the key exists.
	_, err = authzEncrypt(t, bob, keyDefaultARN)
	authzDenied(t, "bob with a key whose policy does not name B", err, "User: "+bobARN+hidden)
	_, err = authzEncrypt(t, kmsB, keyDefaultARN)
	authzDenied(t, "B's root with a key whose policy does not name B", err, "User: arn:aws:iam::"+b.ID+":root"+hidden)
	ctDefault, err := authzEncrypt(t, env.KMS, keyDefaultARN)
	if err != nil {
		t.Fatal(err)
	}
	err = authzDecrypt(t, bob, ctDefault)
	authzDenied(t, "bob decrypts a ciphertext of a key whose policy does not name B", err,
		"User: "+bobARN+" is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because the resource does not exist in this Region, "+
			"no resource-based policies allow access, or a resource-based policy explicitly denies access")

	// An action outside the key policy's statement for B.
	_, err = bob.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: aws.String(keyForBARN), NumberOfBytes: aws.Int32(16)})
	authzDenied(t, "bob GenerateDataKey", err, "User: "+bobARN+" is not authorized to perform: kms:GenerateDataKey on this resource because the resource does not exist in this Region, "+
		"no resource-based policies allow access, or a resource-based policy explicitly denies access")

	// Another account's key is named by its ARN: a bare key id is looked
	// up in the caller's own account.
	_, err = authzEncrypt(t, bob, keyForB)
	sdkWantErr(t, "bob Encrypt by bare key id", err, "NotFoundException")
}

// TestAuthzSourceIP: aws:SourceIp is the address the request came from
// (127.0.0.1 here), in identity policies and in key policies.
func TestAuthzSourceIP(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	acct := servertest.AccountID
	key := sdkCreateKey(t, env.KMS, nil)
	keyARN := aws.ToString(key.Arn)
	fromRange := func(cidr string) string {
		return authzPolicy(`{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"` + cidr + `"}}}`)
	}

	local, _ := authzUser(t, env, root, acct, "from-loopback", fromRange("127.0.0.0/8"))
	if _, err := authzEncrypt(t, local, keyARN); err != nil {
		t.Errorf("Encrypt allowed from 127.0.0.0/8: %v", err)
	}
	exact, _ := authzUser(t, env, root, acct, "from-host", fromRange("127.0.0.1/32"))
	if _, err := authzEncrypt(t, exact, keyARN); err != nil {
		t.Errorf("Encrypt allowed from 127.0.0.1/32: %v", err)
	}
	remote, remoteARN := authzUser(t, env, root, acct, "from-office", fromRange("10.0.0.0/8"))
	_, err := authzEncrypt(t, remote, keyARN)
	authzDenied(t, "Encrypt allowed from 10.0.0.0/8 only", err, "User: "+remoteARN+" is not authorized to perform: kms:Encrypt on resource: "+keyARN+
		" because no identity-based policy allows the kms:Encrypt action")

	// A key policy that denies encryption from outside 10.0.0.0/8 denies
	// the root and the user at 127.0.0.1; decryption is unaffected.
	ct, err := authzEncrypt(t, env.KMS, keyARN)
	if err != nil {
		t.Fatal(err)
	}
	denyOutside := func(cidr string) {
		t.Helper()
		doc := authzPolicy(authzRootStatement(acct),
			`{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"`+cidr+`"}}}`)
		if _, err := env.KMS.PutKeyPolicy(t.Context(), &kms.PutKeyPolicyInput{KeyId: key.KeyId, Policy: aws.String(doc)}); err != nil {
			t.Fatalf("PutKeyPolicy: %v", err)
		}
	}
	denyOutside("10.0.0.0/8")
	_, err = authzEncrypt(t, env.KMS, keyARN)
	authzDenied(t, "root from outside 10.0.0.0/8", err, "User: arn:aws:iam::"+acct+":root is not authorized to perform: kms:Encrypt on resource: "+keyARN+
		" with an explicit deny in a resource-based policy")
	_, err = authzEncrypt(t, local, keyARN)
	if code := sdkErrCode(err); code != "AccessDeniedException" {
		t.Errorf("from-loopback from outside 10.0.0.0/8: %s", code)
	}
	if err := authzDecrypt(t, env.KMS, ct); err != nil {
		t.Errorf("Decrypt, which the Deny does not cover: %v", err)
	}
	// The same Deny with the loopback range does not apply.
	denyOutside("127.0.0.0/8")
	if _, err := authzEncrypt(t, env.KMS, keyARN); err != nil {
		t.Errorf("root from inside 127.0.0.0/8: %v", err)
	}
	if _, err := authzEncrypt(t, local, keyARN); err != nil {
		t.Errorf("from-loopback from inside 127.0.0.0/8: %v", err)
	}
}

// TestAuthzSecureTransport: aws:SecureTransport is false over plain HTTP
// (kagi serves it on loopback only) and true over TLS.
func TestAuthzSecureTransport(t *testing.T) {
	t.Parallel()
	requireTLS := authzPolicy(
		`{"Effect":"Allow","Action":"kms:*","Resource":"*"}`,
		`{"Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)
	for _, tc := range []struct {
		name    string
		opts    []servertest.Option
		allowed bool
	}{
		{"https", nil, true},
		{"http", []servertest.Option{servertest.WithInsecureHTTP()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.Start(t, tc.opts...)
			if !strings.HasPrefix(env.Server.URL, tc.name+"://") {
				t.Fatalf("server URL %s", env.Server.URL)
			}
			acct := servertest.AccountID
			key := sdkCreateKey(t, env.KMS, nil)
			keyARN := aws.ToString(key.Arn)
			user, userARN := authzUser(t, env, rootIAMCaller(t, env), acct, "tls-only", requireTLS)
			_, err := authzEncrypt(t, user, keyARN)
			if tc.allowed {
				if err != nil {
					t.Errorf("Encrypt: %v", err)
				}
			} else {
				authzDenied(t, "Encrypt", err, "User: "+userARN+" is not authorized to perform: kms:Encrypt on resource: "+keyARN+
					" with an explicit deny in an identity-based policy")
			}
			// The same rule in the key policy binds the root.
			doc := authzPolicy(authzRootStatement(acct),
				`{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)
			if _, err := env.KMS.PutKeyPolicy(t.Context(), &kms.PutKeyPolicyInput{KeyId: key.KeyId, Policy: aws.String(doc)}); err != nil {
				t.Fatalf("PutKeyPolicy: %v", err)
			}
			_, err = authzEncrypt(t, env.KMS, keyARN)
			if tc.allowed {
				if err != nil {
					t.Errorf("root Encrypt: %v", err)
				}
			} else {
				authzDenied(t, "root Encrypt", err, "User: arn:aws:iam::"+acct+":root is not authorized to perform: kms:Encrypt on resource: "+keyARN+
					" with an explicit deny in a resource-based policy")
			}
		})
	}
}

// TestAuthzKeyPolicyOperations: GetKeyPolicy, PutKeyPolicy (with AWS's
// lockout safety check), ListKeyPolicies, and CreateKey with a policy.
func TestAuthzKeyPolicyOperations(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	acct := servertest.AccountID
	ctx := t.Context()
	key := sdkCreateKey(t, env.KMS, nil)
	keyARN := aws.ToString(key.Arn)

	// The default key policy, byte for byte as AWS KMS returns it.
	wantDefault := `{
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
	for _, name := range []*string{aws.String("default"), nil} {
		got, err := env.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: key.KeyId, PolicyName: name})
		if err != nil {
			t.Fatalf("GetKeyPolicy (PolicyName %v): %v", aws.ToString(name), err)
		}
		if aws.ToString(got.Policy) != wantDefault || aws.ToString(got.PolicyName) != "default" {
			t.Errorf("GetKeyPolicy (PolicyName %v) = %q %q, want the default policy", aws.ToString(name), aws.ToString(got.PolicyName), aws.ToString(got.Policy))
		}
	}
	names, err := env.KMS.ListKeyPolicies(ctx, &kms.ListKeyPoliciesInput{KeyId: aws.String(keyARN)})
	if err != nil || len(names.PolicyNames) != 1 || names.PolicyNames[0] != "default" || names.Truncated {
		t.Errorf("ListKeyPolicies = %+v, %v", names, err)
	}

	// PolicyName: the model's pattern, then KMS's one name.
	_, err = env.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: key.KeyId, PolicyName: aws.String("other")})
	sdkWantErr(t, "GetKeyPolicy other", err, "NotFoundException")
	_, err = env.KMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyId, PolicyName: aws.String("other"), Policy: aws.String(wantDefault)})
	sdkWantErr(t, "PutKeyPolicy other", err, "NotFoundException")
	_, err = env.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: key.KeyId, PolicyName: aws.String("no spaces")})
	sdkWantErr(t, "GetKeyPolicy bad name", err, "ValidationException")

	// Malformed and invalid policies, with a message that says what is wrong.
	for _, tc := range []struct {
		name, doc, inMessage string
	}{
		{"not JSON", `{"Statement":[`, "JSON"},
		{"no statement", `{"Version":"2012-10-17"}`, "Statement"},
		{"bad effect", `{"Statement":[{"Effect":"Perhaps","Principal":"*","Action":"kms:*","Resource":"*"}]}`, "Effect"},
		{"no principal", `{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`, "rincipal"},
		{"bad version", `{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}`, "Version"},
		// Principals that do not exist, as AWS refuses them.
		{"no such user", authzPolicy(authzRootStatement(acct), `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:user/nobody"},"Action":"kms:*","Resource":"*"}`), "invalid principals"},
		{"no such role", authzPolicy(authzRootStatement(acct), `{"Effect":"Allow","NotPrincipal":{"AWS":["arn:aws:iam::`+acct+`:role/nobody"]},"Action":"kms:Decrypt","Resource":"*"}`), "invalid principals"},
		{"no such session role", authzPolicy(authzRootStatement(acct), `{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::`+acct+`:assumed-role/nobody/s"},"Action":"kms:*","Resource":"*"}`), "invalid principals"},
		{"no such account", authzPolicy(authzRootStatement(acct), `{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"kms:*","Resource":"*"}`), "invalid principals"},
		{"another partition", authzPolicy(authzRootStatement(acct), `{"Effect":"Allow","Principal":{"AWS":"arn:aws-cn:iam::`+acct+`:root"},"Action":"kms:*","Resource":"*"}`), "invalid principals"},
	} {
		_, err := env.KMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyId, Policy: aws.String(tc.doc)})
		sdkWantErr(t, "PutKeyPolicy "+tc.name, err, "MalformedPolicyDocumentException")
		var ae smithy.APIError
		if errors.As(err, &ae) && !strings.Contains(ae.ErrorMessage(), tc.inMessage) {
			t.Errorf("PutKeyPolicy %s: message %q does not mention %q", tc.name, ae.ErrorMessage(), tc.inMessage)
		}
		_, err = env.KMS.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(tc.doc)})
		sdkWantErr(t, "CreateKey "+tc.name, err, "MalformedPolicyDocumentException")
	}
	got, err := env.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: key.KeyId})
	if err != nil || aws.ToString(got.Policy) != wantDefault {
		t.Errorf("the policy changed after refused PutKeyPolicy calls: %v %q", err, aws.ToString(got.Policy))
	}

	// The lockout safety check: a policy under which the caller could not
	// call PutKeyPolicy again is refused, unless the caller bypasses it.
	ownerKMS, ownerARN := authzUser(t, env, root, acct, "owner")
	ownerOnly := authzPolicy(`{"Effect":"Allow","Principal":{"AWS":"` + ownerARN + `"},"Action":"kms:*","Resource":"*"}`)
	const lockout = "The new key policy will not allow you to update the key policy in the future."
	_, err = env.KMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyId, Policy: aws.String(ownerOnly)})
	authzMalformed(t, "PutKeyPolicy that locks the root out", err, lockout)
	_, err = env.KMS.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(ownerOnly)})
	authzMalformed(t, "CreateKey that locks the root out", err, lockout)
	if _, err := env.KMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyId, Policy: aws.String(ownerOnly), BypassPolicyLockoutSafetyCheck: true}); err != nil {
		t.Fatalf("PutKeyPolicy with BypassPolicyLockoutSafetyCheck: %v", err)
	}
	// Now the root is locked out, and the user the policy names is not:
	// the key policy alone allows him, without an IAM policy.
	_, err = env.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: key.KeyId})
	authzDenied(t, "root GetKeyPolicy after the lockout", err, "User: arn:aws:iam::"+acct+":root is not authorized to perform: kms:GetKeyPolicy on resource: "+keyARN+
		" because no resource-based policy allows the kms:GetKeyPolicy action")
	got, err = ownerKMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: key.KeyId})
	if err != nil || aws.ToString(got.Policy) != ownerOnly {
		t.Errorf("owner GetKeyPolicy = %q, %v", aws.ToString(got.Policy), err)
	}
	// The default policy alone would lock the owner out: he has no IAM
	// policy. He keeps his statement and gives the root its own back.
	_, err = ownerKMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyId, Policy: aws.String(wantDefault)})
	authzMalformed(t, "owner puts the default policy", err, lockout)
	restored := authzPolicy(authzRootStatement(acct), `{"Effect":"Allow","Principal":{"AWS":"`+ownerARN+`"},"Action":"kms:*","Resource":"*"}`)
	if _, err := ownerKMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyId, Policy: aws.String(restored)}); err != nil {
		t.Errorf("owner restores the root's access: %v", err)
	}
	if _, err := env.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: key.KeyId}); err != nil {
		t.Errorf("root GetKeyPolicy after the restore: %v", err)
	}
	if _, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(ownerOnly), BypassPolicyLockoutSafetyCheck: true}); err != nil {
		t.Errorf("CreateKey with BypassPolicyLockoutSafetyCheck: %v", err)
	}

	// A user whom IAM allows to edit key policies (the default key policy
	// delegates to IAM) edits one; the check applies to the user too.
	admin, adminARN := authzUser(t, env, root, acct, "policy-admin", authzPolicy(
		`{"Effect":"Allow","Action":["kms:GetKeyPolicy","kms:PutKeyPolicy"],"Resource":"`+keyARN+`"}`))
	edited := authzPolicy(authzRootStatement(acct), `{"Sid":"Auditors","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:user/owner"},"Action":"kms:DescribeKey","Resource":"*"}`)
	if _, err := admin.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyId, Policy: aws.String(edited)}); err != nil {
		t.Fatalf("policy-admin PutKeyPolicy: %v", err)
	}
	got, err = admin.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: key.KeyId})
	if err != nil || aws.ToString(got.Policy) != edited {
		t.Errorf("policy-admin GetKeyPolicy = %q, %v; want %q", aws.ToString(got.Policy), err, edited)
	}
	_, err = admin.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyId, Policy: aws.String(ownerOnly)})
	authzMalformed(t, "policy-admin locks himself out", err, lockout)
	_, err = admin.ListKeyPolicies(ctx, &kms.ListKeyPoliciesInput{KeyId: key.KeyId})
	authzDenied(t, "policy-admin ListKeyPolicies", err, "User: "+adminARN+" is not authorized to perform: kms:ListKeyPolicies on resource: "+keyARN+
		" because no identity-based policy allows the kms:ListKeyPolicies action")

	// CreateKey with a policy that names a role: the role's sessions use the
	// key with no IAM policy, in the key's account.
	root.ok(t, nil, "iam", "CreateRole", "RoleName", "app",
		"AssumeRolePolicyDocument", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:user/owner"},"Action":"sts:AssumeRole"}]}`)
	roleARN := "arn:aws:iam::" + acct + ":role/app"
	appKey := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Policy: aws.String(authzPolicy(authzRootStatement(acct),
		`{"Sid":"App","Effect":"Allow","Principal":{"AWS":"`+roleARN+`"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}`))})
	akid, secret := authzAccessKey(t, root, "owner")
	var out struct {
		Creds iamCredentials `xml:"AssumeRoleResult>Credentials"`
	}
	newIAMCaller(t, env, akid, secret, "").ok(t, &out, "sts", "AssumeRole", "RoleArn", roleARN, "RoleSessionName", "app")
	app := env.ClientWithToken(t, servertest.Region, out.Creds.AccessKeyID, out.Creds.SecretAccessKey, out.Creds.SessionToken)
	ct, err := authzEncrypt(t, app, aws.ToString(appKey.Arn))
	if err != nil {
		t.Fatalf("the role encrypts with the key whose policy names it: %v", err)
	}
	if err := authzDecrypt(t, app, ct); err != nil {
		t.Errorf("the role decrypts: %v", err)
	}
	_, err = app.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: appKey.KeyId, NumberOfBytes: aws.Int32(32)})
	authzDenied(t, "the role GenerateDataKey", err, "User: arn:aws:sts::"+acct+":assumed-role/app/app is not authorized to perform: kms:GenerateDataKey on resource: "+
		aws.ToString(appKey.Arn)+" because no identity-based policy allows the kms:GenerateDataKey action")
	_, err = authzEncrypt(t, app, keyARN)
	authzDenied(t, "the role with a key whose policy does not name it", err, "User: arn:aws:sts::"+acct+":assumed-role/app/app is not authorized to perform: kms:Encrypt on resource: "+
		keyARN+" because no identity-based policy allows the kms:Encrypt action")
}

// authzAccessKey gives an existing user another access key.
func authzAccessKey(t *testing.T, root *iamCaller, user string) (akid, secret string) {
	t.Helper()
	var out struct {
		AKID   string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	root.ok(t, &out, "iam", "CreateAccessKey", "UserName", user)
	return out.AKID, out.Secret
}

// authzMalformed checks for MalformedPolicyDocumentException with exactly
// the message want.
func authzMalformed(t *testing.T, what string, err error, want string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "MalformedPolicyDocumentException" || ae.ErrorMessage() != want {
		t.Errorf("%s: %v, want MalformedPolicyDocumentException: %s", what, err, want)
	}
}

// TestAuthzRecreatedPrincipal: a key policy and a trust policy that name a
// user bind to that user; a user deleted and created again under the same
// name is a new principal and gets nothing from them, as in AWS.
func TestAuthzRecreatedPrincipal(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	acct := servertest.AccountID

	alice, aliceARN := authzUser(t, env, root, acct, "alice")
	// The account root keeps only key administration; alice is named.
	doc := authzPolicy(
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:root"},"Action":["kms:PutKeyPolicy","kms:GetKeyPolicy","kms:DescribeKey"],"Resource":"*"}`,
		`{"Effect":"Allow","Principal":{"AWS":"`+aliceARN+`"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}`)
	keyARN := aws.ToString(sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Policy: aws.String(doc)}).Arn)
	trust := authzPolicy(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"sts:AssumeRole"}`)
	root.ok(t, nil, "iam", "CreateRole", "RoleName", "for-alice", "AssumeRolePolicyDocument", trust)
	roleARN := "arn:aws:iam::" + acct + ":role/for-alice"

	ct, err := authzEncrypt(t, alice, keyARN)
	if err != nil {
		t.Fatalf("the named user encrypts: %v", err)
	}
	// A grant names a principal that exists, and binds to it too.
	grantKeyARN := aws.ToString(sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Policy: aws.String(authzPolicy(
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":["kms:PutKeyPolicy","kms:CreateGrant","kms:DescribeKey"],"Resource":"*"}`))}).Arn)
	_, err = env.KMS.CreateGrant(t.Context(), &kms.CreateGrantInput{KeyId: aws.String(grantKeyARN),
		GranteePrincipal: aws.String("arn:aws:iam::" + acct + ":user/nobody"), Operations: []types.GrantOperation{types.GrantOperationEncrypt}})
	sdkWantErr(t, "CreateGrant to a user that does not exist", err, "InvalidArnException")
	_, err = env.KMS.CreateGrant(t.Context(), &kms.CreateGrantInput{KeyId: aws.String(grantKeyARN),
		GranteePrincipal: aws.String(aliceARN), RetiringPrincipal: aws.String("arn:aws:iam::" + acct + ":role/nobody"),
		Operations: []types.GrantOperation{types.GrantOperationEncrypt}})
	sdkWantErr(t, "CreateGrant with a retiring role that does not exist", err, "InvalidArnException")
	if _, err := env.KMS.CreateGrant(t.Context(), &kms.CreateGrantInput{KeyId: aws.String(grantKeyARN),
		GranteePrincipal: aws.String(aliceARN), Operations: []types.GrantOperation{types.GrantOperationEncrypt}}); err != nil {
		t.Fatal(err)
	}
	if _, err := authzEncrypt(t, alice, grantKeyARN); err != nil {
		t.Fatalf("the grantee encrypts: %v", err)
	}
	var old struct {
		AKID string `xml:"ListAccessKeysResult>AccessKeyMetadata>member>AccessKeyId"`
	}
	root.ok(t, &old, "iam", "ListAccessKeys", "UserName", "alice")
	root.ok(t, nil, "iam", "DeleteAccessKey", "UserName", "alice", "AccessKeyId", old.AKID)
	root.ok(t, nil, "iam", "DeleteUser", "UserName", "alice")

	// The same name again, now with an IAM policy that would allow
	// everything: the key policy does not name this alice.
	akid, secret := iamAccessKey(t, root, "alice")
	root.ok(t, nil, "iam", "PutUserPolicy", "UserName", "alice", "PolicyName", "all",
		"PolicyDocument", authzPolicy(`{"Effect":"Allow","Action":["kms:*","sts:AssumeRole"],"Resource":"*"}`))
	alice2 := env.Client(t, servertest.Region, akid, secret)
	a2 := newIAMCaller(t, env, akid, secret, "")
	_, err = authzEncrypt(t, alice2, keyARN)
	authzDenied(t, "Encrypt as the re-created user", err, "User: "+aliceARN+" is not authorized to perform: kms:Encrypt on resource: "+keyARN+
		" because no resource-based policy allows the kms:Encrypt action")
	if err := authzDecrypt(t, alice2, ct); err == nil {
		t.Error("the re-created user decrypts the first one's ciphertext")
	}
	_, err = authzEncrypt(t, alice2, grantKeyARN)
	sdkWantErr(t, "Encrypt as the re-created user with the first one's grant", err, "AccessDeniedException")
	var creds struct {
		AKID string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
	}
	a2.fails(t, 403, "AccessDenied", "sts", "AssumeRole", "RoleArn", roleARN, "RoleSessionName", "s1")

	// Setting the policy again binds it to the user who exists now.
	if _, err := env.KMS.PutKeyPolicy(t.Context(), &kms.PutKeyPolicyInput{KeyId: aws.String(keyARN), Policy: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := authzEncrypt(t, alice2, keyARN); err != nil {
		t.Errorf("Encrypt after the policy is set again: %v", err)
	}
	root.ok(t, nil, "iam", "UpdateAssumeRolePolicy", "RoleName", "for-alice", "PolicyDocument", trust)
	a2.ok(t, &creds, "sts", "AssumeRole", "RoleArn", roleARN, "RoleSessionName", "s1")
	if creds.AKID == "" {
		t.Error("AssumeRole after the trust policy is set again gave no credentials")
	}
}
