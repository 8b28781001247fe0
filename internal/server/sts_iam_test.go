package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestSTSAssumeRole assumes a role as a user: the temporary credentials
// authenticate as the assumed role until the (fake) clock passes their
// expiry; a tampered token never authenticates.
func TestSTSAssumeRole(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	acct := servertest.AccountID
	akid, secret := iamAccessKey(t, root, "alice")
	alice := newIAMCaller(t, env, akid, secret, "")
	bobID, bobSecret := iamAccessKey(t, root, "bob")
	bob := newIAMCaller(t, env, bobID, bobSecret, "")

	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:user/alice"},"Action":"sts:AssumeRole"}]}`, acct)
	var role struct {
		Arn    string `xml:"CreateRoleResult>Role>Arn"`
		RoleID string `xml:"CreateRoleResult>Role>RoleId"`
	}
	root.ok(t, &role, "iam", "CreateRole", "RoleName", "reader", "AssumeRolePolicyDocument", trust)

	// Who may not: the account root (AWS forbids it), a user the trust
	// policy does not name, anyone for a role that does not exist.
	r := root.fails(t, http.StatusForbidden, "AccessDenied", "sts", "AssumeRole", "RoleArn", role.Arn, "RoleSessionName", "s1")
	if r.Message != "Roles may not be assumed by root accounts." {
		t.Errorf("root: %q", r.Message)
	}
	bob.fails(t, http.StatusForbidden, "AccessDenied", "sts", "AssumeRole", "RoleArn", role.Arn, "RoleSessionName", "s1")
	alice.fails(t, http.StatusForbidden, "AccessDenied", "sts", "AssumeRole", "RoleArn", "arn:aws:iam::"+acct+":role/nope", "RoleSessionName", "s1")
	alice.fails(t, http.StatusBadRequest, "ValidationError", "sts", "AssumeRole", "RoleArn", role.Arn, "RoleSessionName", "bad name")
	alice.fails(t, http.StatusBadRequest, "ValidationError", "sts", "AssumeRole", "RoleArn", role.Arn, "RoleSessionName", "s1", "DurationSeconds", "7200")
	alice.fails(t, http.StatusForbidden, "AccessDenied", "sts", "AssumeRole", "RoleArn", role.Arn, "RoleSessionName", "s1",
		"Tags.member.1.Key", "k", "Tags.member.1.Value", "v") // the trust policy does not allow sts:TagSession

	var out struct {
		Creds  iamCredentials `xml:"AssumeRoleResult>Credentials"`
		Arn    string         `xml:"AssumeRoleResult>AssumedRoleUser>Arn"`
		RoleID string         `xml:"AssumeRoleResult>AssumedRoleUser>AssumedRoleId"`
	}
	before := time.Now()
	alice.ok(t, &out, "sts", "AssumeRole", "RoleArn", role.Arn, "RoleSessionName", "s1", "DurationSeconds", "900")
	c := out.Creds
	wantARN := "arn:aws:sts::" + acct + ":assumed-role/reader/s1"
	if out.Arn != wantARN || out.RoleID != role.RoleID+":s1" || !strings.HasPrefix(c.AccessKeyID, "ASIA") || len(c.SecretAccessKey) != 40 {
		t.Errorf("AssumeRole = %+v", out)
	}
	if d := c.Expiration.Sub(before); d < 899*time.Second || d > 901*time.Second {
		t.Errorf("expires in %v, want 15 minutes", d)
	}

	session := newIAMCaller(t, env, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	var id callerIdentity
	session.ok(t, &id, "sts", "GetCallerIdentity")
	if id.Arn != wantARN || id.UserID != role.RoleID+":s1" || id.Account != acct {
		t.Errorf("GetCallerIdentity of the session = %+v", id)
	}
	// KMS authenticates the session, then refuses it: no policy allows it yet.
	sessionKMS := env.ClientWithToken(t, servertest.Region, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	if code := iamKMSCode(iamKMSListKeys(sessionKMS)); code != "AccessDeniedException" {
		t.Errorf("KMS as the session: %s, want AccessDeniedException", code)
	}
	session.fails(t, http.StatusForbidden, "AccessDenied", "sts", "GetSessionToken")

	// Tampered tokens: a flipped bit anywhere, a cut, another key's token, none.
	raw, err := base64.StdEncoding.DecodeString(c.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, len(raw) / 2, len(raw) - 1} {
		b := append([]byte{}, raw...)
		b[i] ^= 0x20
		bad := newIAMCaller(t, env, c.AccessKeyID, c.SecretAccessKey, base64.StdEncoding.EncodeToString(b))
		bad.fails(t, http.StatusForbidden, "InvalidClientTokenId", "sts", "GetCallerIdentity")
		badKMS := env.ClientWithToken(t, servertest.Region, c.AccessKeyID, c.SecretAccessKey, base64.StdEncoding.EncodeToString(b))
		if code := iamKMSCode(iamKMSListKeys(badKMS)); code != "UnrecognizedClientException" {
			t.Errorf("KMS with a tampered token (byte %d): %s", i, code)
		}
	}
	newIAMCaller(t, env, c.AccessKeyID, c.SecretAccessKey, "").fails(t, http.StatusForbidden, "InvalidClientTokenId", "sts", "GetCallerIdentity")
	newIAMCaller(t, env, akid, secret, c.SessionToken).fails(t, http.StatusForbidden, "InvalidClientTokenId", "sts", "GetCallerIdentity")

	// Past the expiry on the server's clock, the token is expired, for STS
	// and for KMS alike.
	env.Clock.Advance(16 * time.Minute)
	r = session.fails(t, http.StatusForbidden, "ExpiredToken", "sts", "GetCallerIdentity")
	if r.Message != "The security token included in the request is expired" {
		t.Errorf("ExpiredToken message %q", r.Message)
	}
	if code := iamKMSCode(iamKMSListKeys(sessionKMS)); code != "ExpiredTokenException" {
		t.Errorf("KMS with an expired token: %s", code)
	}
}

// TestSTSExternalID checks a trust policy that requires sts:ExternalId.
func TestSTSExternalID(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	akid, secret := iamAccessKey(t, root, "vendor")
	vendor := newIAMCaller(t, env, akid, secret, "")
	trust := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/vendor"},"Action":["sts:AssumeRole","sts:TagSession"],` +
		`"Condition":{"StringEquals":{"sts:ExternalId":"customer-42"}}}]}`
	root.ok(t, nil, "iam", "CreateRole", "RoleName", "vendor-access", "AssumeRolePolicyDocument", trust)
	arn := "arn:aws:iam::111122223333:role/vendor-access"
	vendor.fails(t, http.StatusForbidden, "AccessDenied", "sts", "AssumeRole", "RoleArn", arn, "RoleSessionName", "v1")
	vendor.fails(t, http.StatusForbidden, "AccessDenied", "sts", "AssumeRole", "RoleArn", arn, "RoleSessionName", "v1", "ExternalId", "customer-43")
	var out struct {
		Size int `xml:"AssumeRoleResult>PackedPolicySize"`
	}
	vendor.ok(t, &out, "sts", "AssumeRole", "RoleArn", arn, "RoleSessionName", "v1", "ExternalId", "customer-42",
		"Tags.member.1.Key", "project", "Tags.member.1.Value", "blue")
	if out.Size < 1 {
		t.Errorf("PackedPolicySize = %d", out.Size)
	}
}

// TestSTSGetSessionTokenRoot gets temporary credentials for the account
// root: KMS works with them until they expire, after an hour at most.
func TestSTSGetSessionTokenRoot(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	var out struct {
		Creds iamCredentials `xml:"GetSessionTokenResult>Credentials"`
	}
	before := time.Now()
	root.ok(t, &out, "sts", "GetSessionToken", "DurationSeconds", "129600")
	c := out.Creds
	if d := c.Expiration.Sub(before); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("a root session lasts %v, want an hour", d)
	}
	root.fails(t, http.StatusBadRequest, "ValidationError", "sts", "GetSessionToken", "DurationSeconds", "899")

	session := newIAMCaller(t, env, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	var id callerIdentity
	session.ok(t, &id, "sts", "GetCallerIdentity")
	if id.Arn != "arn:aws:iam::111122223333:root" || id.UserID != servertest.AccountID {
		t.Errorf("GetCallerIdentity = %+v", id)
	}
	client := env.ClientWithToken(t, servertest.Region, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	ctx := context.Background()
	k, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("from a session")})
	if err != nil {
		t.Fatalf("CreateKey with temporary credentials: %v", err)
	}
	ct, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	// The long-term credentials see the same account's key.
	if _, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob}); err != nil {
		t.Fatal(err)
	}
	// The IAM API works with them too.
	session.ok(t, nil, "iam", "CreateUser", "UserName", "made-by-session")

	env.Clock.Advance(59 * time.Minute)
	if err := iamKMSListKeys(client); err != nil {
		t.Errorf("before expiry: %v", err)
	}
	env.Clock.Advance(2 * time.Minute)
	if code := iamKMSCode(iamKMSListKeys(client)); code != "ExpiredTokenException" {
		t.Errorf("after expiry: %s, want ExpiredTokenException", code)
	}
	session.fails(t, http.StatusForbidden, "ExpiredToken", "iam", "ListUsers")
	// The long-term key is unaffected.
	if err := iamKMSListKeys(env.KMS); err != nil {
		t.Errorf("root key after the session expired: %v", err)
	}
}

// TestSTSGetCallerIdentity checks the identity of each kind of caller.
func TestSTSGetCallerIdentity(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	var id callerIdentity
	root.ok(t, &id, "sts", "GetCallerIdentity")
	if id != (callerIdentity{Arn: "arn:aws:iam::111122223333:root", UserID: "111122223333", Account: "111122223333"}) {
		t.Errorf("root: %+v", id)
	}
	var user struct {
		UserID string `xml:"CreateUserResult>User>UserId"`
	}
	root.ok(t, &user, "iam", "CreateUser", "UserName", "carol", "Path", "/ops/")
	var key struct {
		AKID   string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	root.ok(t, &key, "iam", "CreateAccessKey", "UserName", "carol")
	carol := newIAMCaller(t, env, key.AKID, key.Secret, "")
	carol.ok(t, &id, "sts", "GetCallerIdentity")
	if id != (callerIdentity{Arn: "arn:aws:iam::111122223333:user/ops/carol", UserID: user.UserID, Account: "111122223333"}) {
		t.Errorf("user: %+v", id)
	}
	// A user's session token is the user.
	var out struct {
		Creds iamCredentials `xml:"GetSessionTokenResult>Credentials"`
	}
	carol.ok(t, &out, "sts", "GetSessionToken", "DurationSeconds", "900")
	newIAMCaller(t, env, out.Creds.AccessKeyID, out.Creds.SecretAccessKey, out.Creds.SessionToken).ok(t, &id, "sts", "GetCallerIdentity")
	if id.Arn != "arn:aws:iam::111122223333:user/ops/carol" || id.UserID != user.UserID {
		t.Errorf("user session: %+v", id)
	}
	// The role's path is not in the assumed-role ARN, as in AWS.
	root.ok(t, nil, "iam", "CreateRole", "RoleName", "ops-role", "Path", "/ops/",
		"AssumeRolePolicyDocument", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/ops/carol"},"Action":"sts:AssumeRole"}}`)
	var ar struct {
		Creds iamCredentials `xml:"AssumeRoleResult>Credentials"`
	}
	carol.ok(t, &ar, "sts", "AssumeRole", "RoleArn", "arn:aws:iam::111122223333:role/ops/ops-role", "RoleSessionName", "carol@example.com")
	newIAMCaller(t, env, ar.Creds.AccessKeyID, ar.Creds.SecretAccessKey, ar.Creds.SessionToken).ok(t, &id, "sts", "GetCallerIdentity")
	if id.Arn != "arn:aws:sts::111122223333:assumed-role/ops-role/carol@example.com" || !strings.HasPrefix(id.UserID, "AROA") ||
		!strings.HasSuffix(id.UserID, ":carol@example.com") {
		t.Errorf("assumed role: %+v", id)
	}
}
