package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
	"github.com/kagikms/kagi/internal/storage"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// Integration tests of grants: CreateGrant, ListGrants,
// ListRetirableGrants, RetireGrant, RevokeGrant, and what grants allow.
// Principals come from the IAM and STS query API of the same server; none
// has a policy that lets it use a key, so whatever they can do, a grant
// gave them. Helper names start with "grant".

var grantTokenForm = regexp.MustCompile(`^[A-Za-z0-9_-]{40,}$`)

// grantUser creates an IAM user with an access key and returns its ARN and
// a KMS client for it.
func grantUser(t *testing.T, env *servertest.Env, root *iamCaller, name string) (string, *kms.Client) {
	t.Helper()
	akid, secret := iamAccessKey(t, root, name)
	return "arn:aws:iam::" + servertest.AccountID + ":user/" + name, env.Client(t, servertest.Region, akid, secret)
}

// grantRole creates a role that user (an IAM user name) may assume.
func grantRole(t *testing.T, root *iamCaller, role, user string) string {
	t.Helper()
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:user/%s"},"Action":"sts:AssumeRole"}]}`,
		servertest.AccountID, user)
	root.ok(t, nil, "iam", "CreateRole", "RoleName", role, "AssumeRolePolicyDocument", trust)
	return "arn:aws:iam::" + servertest.AccountID + ":role/" + role
}

// grantSession assumes a role as a user and returns the session's ARN and
// a KMS client for it.
func grantSession(t *testing.T, env *servertest.Env, as *iamCaller, roleARN, session string) (string, *kms.Client) {
	t.Helper()
	var out struct {
		Creds iamCredentials `xml:"AssumeRoleResult>Credentials"`
		Arn   string         `xml:"AssumeRoleResult>AssumedRoleUser>Arn"`
	}
	as.ok(t, &out, "sts", "AssumeRole", "RoleArn", roleARN, "RoleSessionName", session)
	c := out.Creds
	return out.Arn, env.ClientWithToken(t, servertest.Region, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

// grantCreate creates a grant and checks the form of its id and token.
func grantCreate(t *testing.T, c *kms.Client, in *kms.CreateGrantInput) *kms.CreateGrantOutput {
	t.Helper()
	out, err := c.CreateGrant(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateGrant %v for %s: %v", in.Operations, aws.ToString(in.GranteePrincipal), err)
	}
	if !sdkMaterialID.MatchString(aws.ToString(out.GrantId)) {
		t.Errorf("GrantId %q, want 64 lowercase hex digits", aws.ToString(out.GrantId))
	}
	if !grantTokenForm.MatchString(aws.ToString(out.GrantToken)) {
		t.Errorf("GrantToken %q, want base64url", aws.ToString(out.GrantToken))
	}
	return out
}

func grantOps(ops ...types.GrantOperation) []types.GrantOperation { return ops }

// grantList lists every grant of a key, page by page (limit per page, 0:
// the default), with optional filters.
func grantList(t *testing.T, c *kms.Client, keyID string, limit int32, grantee, grantID *string) []types.GrantListEntry {
	t.Helper()
	in := &kms.ListGrantsInput{KeyId: aws.String(keyID), GranteePrincipal: grantee, GrantId: grantID}
	if limit > 0 {
		in.Limit = aws.Int32(limit)
	}
	var all []types.GrantListEntry
	for pages := 0; ; pages++ {
		out, err := c.ListGrants(t.Context(), in)
		if err != nil {
			t.Fatalf("ListGrants: %v", err)
		}
		if limit > 0 && int32(len(out.Grants)) > limit {
			t.Fatalf("ListGrants: %d grants on a page of %d", len(out.Grants), limit)
		}
		all = append(all, out.Grants...)
		if !out.Truncated {
			if out.NextMarker != nil {
				t.Errorf("ListGrants: NextMarker %q on the last page", *out.NextMarker)
			}
			return all
		}
		if out.NextMarker == nil || pages > 1000 {
			t.Fatalf("ListGrants: truncated without a marker (page %d)", pages)
		}
		in.Marker = out.NextMarker
	}
}

// grantIDs returns the grant ids of a listing, sorted.
func grantIDs(gs []types.GrantListEntry) []string {
	var ids []string
	for _, g := range gs {
		ids = append(ids, aws.ToString(g.GrantId))
	}
	sort.Strings(ids)
	return ids
}

func grantSorted(ids ...string) []string {
	ids = slices.Clone(ids)
	sort.Strings(ids)
	return ids
}

// grantDecrypt decrypts ct as c, without the SDK's retries.
func grantDecrypt(c *kms.Client, ct []byte, ec map[string]string, tokens ...string) error {
	_, err := c.Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: ct, EncryptionContext: ec, GrantTokens: tokens}, sdkNoRetry)
	return err
}

// grantEncrypt encrypts under keyID as c, without the SDK's retries.
func grantEncrypt(c *kms.Client, keyID string, ec map[string]string) error {
	_, err := c.Encrypt(context.Background(), &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("p"), EncryptionContext: ec}, sdkNoRetry)
	return err
}

// TestSDKGrantLifecycle: a user no policy lets decrypt cannot; a Decrypt
// grant lets it, with the grant token and without; the grant allows
// nothing else; the retiring principal retires it by token and the user is
// refused again; a revoked grant stops working at once too.
func TestSDKGrantLifecycle(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	appARN, app := grantUser(t, env, root, "app")
	opsARN, ops := grantUser(t, env, root, "ops")
	k := sdkCreateKey(t, env.KMS, nil)
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("secret")})
	if err != nil {
		t.Fatal(err)
	}

	sdkWantErr(t, "Decrypt before any grant", grantDecrypt(app, ct.CiphertextBlob, nil), "AccessDeniedException")

	before := time.Now()
	g := grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(appARN),
		RetiringPrincipal: aws.String(opsARN), Operations: grantOps(types.GrantOperationDecrypt)})
	// At once, with the token and without.
	out, err := app.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob, GrantTokens: []string{*g.GrantToken}}, sdkNoRetry)
	if err != nil || string(out.Plaintext) != "secret" || aws.ToString(out.KeyId) != *k.Arn {
		t.Fatalf("Decrypt with the grant token: %v", err)
	}
	if err := grantDecrypt(app, ct.CiphertextBlob, nil); err != nil {
		t.Fatalf("Decrypt with the grant, no token: %v", err)
	}
	// Only Decrypt: not Encrypt, DescribeKey, ListGrants, RevokeGrant.
	sdkWantErr(t, "Encrypt under a Decrypt grant", grantEncrypt(app, *k.KeyId, nil), "AccessDeniedException")
	_, err = app.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
	sdkWantErr(t, "DescribeKey under a Decrypt grant", err, "AccessDeniedException")
	_, err = app.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k.KeyId})
	sdkWantErr(t, "ListGrants as the grantee", err, "AccessDeniedException")
	_, err = app.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: k.KeyId, GrantId: g.GrantId})
	sdkWantErr(t, "RevokeGrant as the grantee", err, "AccessDeniedException")
	// Nor another user.
	sdkWantErr(t, "Decrypt as the retiring principal", grantDecrypt(ops, ct.CiphertextBlob, nil), "AccessDeniedException")

	// What ListGrants says of it.
	gs := grantList(t, env.KMS, *k.KeyId, 0, nil, nil)
	if len(gs) != 1 {
		t.Fatalf("ListGrants: %d grants, want 1", len(gs))
	}
	e := gs[0]
	if aws.ToString(e.KeyId) != *k.Arn || aws.ToString(e.GrantId) != *g.GrantId || aws.ToString(e.GranteePrincipal) != appARN ||
		aws.ToString(e.RetiringPrincipal) != opsARN || aws.ToString(e.IssuingAccount) != "arn:aws:iam::"+servertest.AccountID+":root" ||
		!slices.Equal(e.Operations, grantOps(types.GrantOperationDecrypt)) || e.Constraints != nil || aws.ToString(e.Name) != "" {
		t.Errorf("ListGrants entry: %+v", e)
	}
	if !sdkNear(e.CreationDate, before, time.Minute) {
		t.Errorf("CreationDate %v, want about %v", e.CreationDate, before)
	}

	// The grantee may not retire it (no RetireGrant operation, not the
	// retiring principal); the retiring principal may, with the token.
	_, err = app.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken})
	sdkWantErr(t, "RetireGrant as the grantee", err, "AccessDeniedException")
	if _, err := ops.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken}); err != nil {
		t.Fatalf("RetireGrant as the retiring principal: %v", err)
	}
	sdkWantErr(t, "Decrypt after RetireGrant", grantDecrypt(app, ct.CiphertextBlob, nil), "AccessDeniedException")
	// The token is still kagi's (no InvalidGrantTokenException) but names
	// nothing any more.
	sdkWantErr(t, "Decrypt with the retired grant's token", grantDecrypt(app, ct.CiphertextBlob, nil, *g.GrantToken), "AccessDeniedException")
	_, err = ops.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken})
	sdkWantErr(t, "RetireGrant twice", err, "NotFoundException")
	if gs := grantList(t, env.KMS, *k.KeyId, 0, nil, nil); len(gs) != 0 {
		t.Errorf("ListGrants after RetireGrant: %v", grantIDs(gs))
	}

	// RevokeGrant: by the key's administrator (the root), by key ARN.
	g2 := grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.Arn, GranteePrincipal: aws.String(appARN), Operations: grantOps(types.GrantOperationDecrypt)})
	if err := grantDecrypt(app, ct.CiphertextBlob, nil); err != nil {
		t.Fatalf("Decrypt with the second grant: %v", err)
	}
	_, err = ops.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: k.KeyId, GrantId: g2.GrantId})
	sdkWantErr(t, "RevokeGrant by a user without kms:RevokeGrant", err, "AccessDeniedException")
	if _, err := env.KMS.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: k.Arn, GrantId: g2.GrantId}); err != nil {
		t.Fatalf("RevokeGrant: %v", err)
	}
	sdkWantErr(t, "Decrypt after RevokeGrant", grantDecrypt(app, ct.CiphertextBlob, nil), "AccessDeniedException")
	_, err = env.KMS.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: k.KeyId, GrantId: g2.GrantId})
	sdkWantErr(t, "RevokeGrant twice", err, "NotFoundException")

	// The account that created a grant may retire it by key ARN and id;
	// the grantee may when the grant allows RetireGrant.
	g3 := grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(appARN), Operations: grantOps(types.GrantOperationDecrypt)})
	if _, err := env.KMS.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: k.Arn, GrantId: g3.GrantId}); err != nil {
		t.Fatalf("RetireGrant by the issuing account: %v", err)
	}
	g4 := grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(appARN),
		Operations: grantOps(types.GrantOperationDecrypt, types.GrantOperationRetireGrant)})
	_, err = ops.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: k.Arn, GrantId: g4.GrantId})
	sdkWantErr(t, "RetireGrant by a user the grant does not name", err, "AccessDeniedException")
	if _, err := app.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: k.Arn, GrantId: g4.GrantId}); err != nil {
		t.Fatalf("RetireGrant by a grantee with RetireGrant: %v", err)
	}
	sdkWantErr(t, "Decrypt after the grantee retired its grant", grantDecrypt(app, ct.CiphertextBlob, nil), "AccessDeniedException")

	// A Deny of kms:RetireGrant in an IAM policy stops even the retiring
	// principal.
	g5 := grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(appARN),
		RetiringPrincipal: aws.String(opsARN), Operations: grantOps(types.GrantOperationDecrypt)})
	root.ok(t, nil, "iam", "PutUserPolicy", "UserName", "ops", "PolicyName", "no-retire",
		"PolicyDocument", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:RetireGrant","Resource":"*"}]}`)
	_, err = ops.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g5.GrantToken})
	sdkWantErr(t, "RetireGrant by a retiring principal an IAM policy denies", err, "AccessDeniedException")
	root.ok(t, nil, "iam", "DeleteUserPolicy", "UserName", "ops", "PolicyName", "no-retire")
	if _, err := ops.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g5.GrantToken}); err != nil {
		t.Errorf("RetireGrant by the retiring principal once the Deny is gone: %v", err)
	}
}

// TestSDKGrantOperations: each grant operation allows its own action and
// no other; ReEncrypt needs ReEncryptFrom on the source key and
// ReEncryptTo on the destination; DescribeKey and GenerateDataKey work.
func TestSDKGrantOperations(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	appARN, app := grantUser(t, env, root, "app")
	src := sdkCreateKey(t, env.KMS, nil)
	dst := sdkCreateKey(t, env.KMS, nil)
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: src.KeyId, Plaintext: []byte("moving")})
	if err != nil {
		t.Fatal(err)
	}
	reencrypt := func() error {
		_, err := app.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: ct.CiphertextBlob, DestinationKeyId: dst.KeyId}, sdkNoRetry)
		return err
	}
	grant := func(k *types.KeyMetadata, ops ...types.GrantOperation) {
		grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(appARN), Operations: ops})
	}

	grant(src, types.GrantOperationReEncryptFrom)
	sdkWantErr(t, "ReEncrypt with ReEncryptFrom on the source only", reencrypt(), "AccessDeniedException")
	grant(dst, types.GrantOperationReEncryptFrom)
	sdkWantErr(t, "ReEncrypt with ReEncryptFrom on both keys", reencrypt(), "AccessDeniedException")
	grant(dst, types.GrantOperationReEncryptTo)
	if err := reencrypt(); err != nil {
		t.Errorf("ReEncrypt with ReEncryptFrom on the source and ReEncryptTo on the destination: %v", err)
	}
	sdkWantErr(t, "Decrypt with only ReEncrypt grants", grantDecrypt(app, ct.CiphertextBlob, nil), "AccessDeniedException")

	_, err = app.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: dst.KeyId, KeySpec: types.DataKeySpecAes256}, sdkNoRetry)
	sdkWantErr(t, "GenerateDataKey without its grant", err, "AccessDeniedException")
	grant(dst, types.GrantOperationGenerateDataKey, types.GrantOperationDescribeKey)
	if _, err := app.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: dst.KeyId, KeySpec: types.DataKeySpecAes256}, sdkNoRetry); err != nil {
		t.Errorf("GenerateDataKey with its grant: %v", err)
	}
	_, err = app.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: dst.KeyId, KeySpec: types.DataKeySpecAes256}, sdkNoRetry)
	sdkWantErr(t, "GenerateDataKeyWithoutPlaintext with a GenerateDataKey grant", err, "AccessDeniedException")
	if d, err := app.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: dst.Arn}, sdkNoRetry); err != nil || aws.ToString(d.KeyMetadata.KeyId) != *dst.KeyId {
		t.Errorf("DescribeKey with its grant: %v", err)
	}
	// A grant on one key says nothing of another.
	_, err = app.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: src.KeyId}, sdkNoRetry)
	sdkWantErr(t, "DescribeKey of a key without that grant", err, "AccessDeniedException")
	// Grants allow no management operation.
	_, err = app.DisableKey(ctx, &kms.DisableKeyInput{KeyId: dst.KeyId})
	sdkWantErr(t, "DisableKey with grants", err, "AccessDeniedException")
}

// TestSDKGrantAssumedRole: a grant to a role covers every session of the
// role; a grant to one session covers that session only.
func TestSDKGrantAssumedRole(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	akid, secret := iamAccessKey(t, root, "alice")
	alice := newIAMCaller(t, env, akid, secret, "")
	roleARN := grantRole(t, root, "decrypter", "alice")
	s1ARN, s1 := grantSession(t, env, alice, roleARN, "s1")
	_, s2 := grantSession(t, env, alice, roleARN, "s2")
	k := sdkCreateKey(t, env.KMS, nil)
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("for the role")})
	if err != nil {
		t.Fatal(err)
	}
	sdkWantErr(t, "Decrypt as a session before any grant", grantDecrypt(s1, ct.CiphertextBlob, nil), "AccessDeniedException")

	g := grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(roleARN), Operations: grantOps(types.GrantOperationDecrypt)})
	for name, c := range map[string]*kms.Client{"s1": s1, "s2": s2} {
		if err := grantDecrypt(c, ct.CiphertextBlob, nil, *g.GrantToken); err != nil {
			t.Errorf("Decrypt as session %s with a grant to the role: %v", name, err)
		}
	}
	if _, err := env.KMS.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: k.KeyId, GrantId: g.GrantId}); err != nil {
		t.Fatal(err)
	}
	sdkWantErr(t, "Decrypt as a session after the revocation", grantDecrypt(s1, ct.CiphertextBlob, nil), "AccessDeniedException")

	grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(s1ARN), Operations: grantOps(types.GrantOperationDecrypt)})
	if err := grantDecrypt(s1, ct.CiphertextBlob, nil); err != nil {
		t.Errorf("Decrypt as the session the grant names: %v", err)
	}
	sdkWantErr(t, "Decrypt as another session of the role", grantDecrypt(s2, ct.CiphertextBlob, nil), "AccessDeniedException")
	// The user that assumed the role is not the role.
	aliceKMS := env.Client(t, servertest.Region, akid, secret)
	sdkWantErr(t, "Decrypt as the user behind the session", grantDecrypt(aliceKMS, ct.CiphertextBlob, nil), "AccessDeniedException")
}

// TestSDKGrantToAccount: a grant to an account reaches its users only
// through their IAM policies, like a key policy that names the account.
func TestSDKGrantToAccount(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	adminARN, admin := grantUser(t, env, root, "admin")
	_, withIAM := grantUser(t, env, root, "with-iam")
	_, without := grantUser(t, env, root, "without")
	root.ok(t, nil, "iam", "PutUserPolicy", "UserName", "with-iam", "PolicyName", "dec",
		"PolicyDocument", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}`)
	// The key policy names only the admin user: IAM policies alone do not
	// reach the key.
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + adminARN + `"},"Action":"kms:*","Resource":"*"}]}`
	k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Policy: aws.String(pol), BypassPolicyLockoutSafetyCheck: true})
	ct, err := admin.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	sdkWantErr(t, "Decrypt with an IAM policy the key policy does not delegate to", grantDecrypt(withIAM, ct.CiphertextBlob, nil), "AccessDeniedException")

	grantCreate(t, admin, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String("arn:aws:iam::" + servertest.AccountID + ":root"),
		Operations: grantOps(types.GrantOperationDecrypt)})
	if err := grantDecrypt(withIAM, ct.CiphertextBlob, nil); err != nil {
		t.Errorf("Decrypt with a grant to the account and an IAM policy: %v", err)
	}
	sdkWantErr(t, "Decrypt with a grant to the account and no IAM policy", grantDecrypt(without, ct.CiphertextBlob, nil), "AccessDeniedException")
	if err := grantDecrypt(env.KMS, ct.CiphertextBlob, nil); err != nil {
		t.Errorf("Decrypt as the account root with a grant to the account: %v", err)
	}
}

// TestSDKGrantConstraints: encryption context constraints, keys compared
// without case and values exactly; they do not apply to DescribeKey.
func TestSDKGrantConstraints(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	eqARN, eq := grantUser(t, env, root, "equals")
	subARN, sub := grantUser(t, env, root, "subset")
	k := sdkCreateKey(t, env.KMS, nil)
	ops := grantOps(types.GrantOperationEncrypt, types.GrantOperationDescribeKey)
	grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(eqARN), Operations: ops,
		Constraints: &types.GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT"}}})
	grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(subARN), Operations: ops,
		Constraints: &types.GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "IT", "Stage": "prod"}}})

	cases := []struct {
		ec           map[string]string
		equals, subs bool
	}{
		{nil, false, false},
		{map[string]string{"Department": "IT"}, true, false},
		{map[string]string{"department": "IT"}, true, false},
		{map[string]string{"Department": "it"}, false, false},
		{map[string]string{"Department": "IT", "Stage": "prod"}, false, true},
		{map[string]string{"DEPARTMENT": "IT", "stage": "prod", "Purpose": "test"}, false, true},
		{map[string]string{"Department": "IT", "Stage": "Prod"}, false, false},
		{map[string]string{"Stage": "prod", "Purpose": "test"}, false, false},
	}
	for _, c := range cases {
		for _, who := range []struct {
			name string
			c    *kms.Client
			want bool
		}{{"EncryptionContextEquals", eq, c.equals}, {"EncryptionContextSubset", sub, c.subs}} {
			err := grantEncrypt(who.c, *k.KeyId, c.ec)
			switch {
			case who.want && err != nil:
				t.Errorf("%s grant, context %v: %v, want allowed", who.name, c.ec, err)
			case !who.want:
				sdkWantErr(t, fmt.Sprintf("%s grant, context %v", who.name, c.ec), err, "AccessDeniedException")
			}
		}
	}
	for name, c := range map[string]*kms.Client{"equals": eq, "subset": sub} {
		if _, err := c.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: k.KeyId}, sdkNoRetry); err != nil {
			t.Errorf("DescribeKey under the %s grant: %v", name, err)
		}
	}
	gs := grantList(t, env.KMS, *k.KeyId, 0, aws.String(subARN), nil)
	if len(gs) != 1 || gs[0].Constraints == nil || gs[0].Constraints.EncryptionContextSubset["Stage"] != "prod" || gs[0].Constraints.EncryptionContextEquals != nil {
		t.Errorf("ListGrants of the subset grant: %+v", gs)
	}
}

// TestSDKGrantExplicitDenyWins: a grant never overrides a Deny, in the key
// policy or in an IAM policy.
func TestSDKGrantExplicitDenyWins(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	appARN, app := grantUser(t, env, root, "app")
	otherARN, other := grantUser(t, env, root, "other")
	pol := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + servertest.AccountID + `:root"},"Action":"kms:*","Resource":"*"},
	  {"Effect":"Deny","Principal":{"AWS":"` + appARN + `"},"Action":"kms:Decrypt","Resource":"*"}]}`
	k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Policy: aws.String(pol)})
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{appARN, otherARN} {
		grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(p), Operations: grantOps(types.GrantOperationDecrypt)})
	}
	err = grantDecrypt(app, ct.CiphertextBlob, nil)
	sdkWantErr(t, "Decrypt with a grant and a key policy Deny", err, "AccessDeniedException")
	if err != nil && !strings.Contains(err.Error(), "explicit deny") {
		t.Errorf("the denial does not say it was an explicit deny: %v", err)
	}
	if err := grantDecrypt(other, ct.CiphertextBlob, nil); err != nil {
		t.Fatalf("Decrypt with the same grant and no Deny: %v", err)
	}
	root.ok(t, nil, "iam", "PutUserPolicy", "UserName", "other", "PolicyName", "no-decrypt",
		"PolicyDocument", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}`)
	sdkWantErr(t, "Decrypt with a grant and an IAM policy Deny", grantDecrypt(other, ct.CiphertextBlob, nil), "AccessDeniedException")
}

// TestSDKGrantCreateGrantFromGrant: a grant that allows CreateGrant lets
// its grantee create only grants with a subset of its operations and
// constraints at least as strict.
func TestSDKGrantCreateGrantFromGrant(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	parentARN, parent := grantUser(t, env, root, "parent")
	childARN, child := grantUser(t, env, root, "child")
	k := sdkCreateKey(t, env.KMS, nil)
	_, err := parent.CreateGrant(t.Context(), &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(childARN),
		Operations: grantOps(types.GrantOperationDecrypt)})
	sdkWantErr(t, "CreateGrant without permission", err, "AccessDeniedException")

	grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(parentARN),
		Operations:  grantOps(types.GrantOperationCreateGrant, types.GrantOperationEncrypt, types.GrantOperationDecrypt),
		Constraints: &types.GrantConstraints{EncryptionContextSubset: map[string]string{"tenant": "a"}}})
	cases := []struct {
		name string
		ops  []types.GrantOperation
		con  *types.GrantConstraints
		ok   bool
	}{
		{"same operations, same constraint", grantOps(types.GrantOperationEncrypt, types.GrantOperationDecrypt),
			&types.GrantConstraints{EncryptionContextSubset: map[string]string{"tenant": "a"}}, true},
		{"fewer operations, a stricter subset", grantOps(types.GrantOperationEncrypt),
			&types.GrantConstraints{EncryptionContextSubset: map[string]string{"Tenant": "a", "app": "x"}}, true},
		{"equals that meets the subset", grantOps(types.GrantOperationEncrypt, types.GrantOperationCreateGrant),
			&types.GrantConstraints{EncryptionContextEquals: map[string]string{"tenant": "a", "app": "x"}}, true},
		{"an operation the parent lacks", grantOps(types.GrantOperationEncrypt, types.GrantOperationDescribeKey),
			&types.GrantConstraints{EncryptionContextSubset: map[string]string{"tenant": "a"}}, false},
		{"no constraint", grantOps(types.GrantOperationEncrypt), nil, false},
		{"a looser subset", grantOps(types.GrantOperationEncrypt),
			&types.GrantConstraints{EncryptionContextSubset: map[string]string{"app": "x"}}, false},
		{"another value", grantOps(types.GrantOperationEncrypt),
			&types.GrantConstraints{EncryptionContextEquals: map[string]string{"tenant": "b"}}, false},
	}
	for _, c := range cases {
		_, err := parent.CreateGrant(t.Context(), &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(childARN),
			Operations: c.ops, Constraints: c.con})
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok {
			sdkWantErr(t, c.name, err, "AccessDeniedException")
		}
	}
	// The child's grants work within their constraints.
	if err := grantEncrypt(child, *k.KeyId, map[string]string{"tenant": "a"}); err != nil {
		t.Errorf("Encrypt by the child: %v", err)
	}
	sdkWantErr(t, "Encrypt by the child outside the constraint", grantEncrypt(child, *k.KeyId, map[string]string{"tenant": "b"}), "AccessDeniedException")
}

// TestSDKGrantPolicyConditions: the CreateGrant condition keys reach key
// policies: kms:GranteePrincipal, kms:GrantOperations,
// kms:GrantIsForAWSResource, kms:GrantConstraintType and
// kms:EncryptionContextKeys.
func TestSDKGrantPolicyConditions(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	mgrARN, mgr := grantUser(t, env, root, "mgr")
	appARN, _ := grantUser(t, env, root, "app")
	otherARN, _ := grantUser(t, env, root, "other")
	pol := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + servertest.AccountID + `:root"},"Action":"kms:*","Resource":"*"},
	  {"Effect":"Allow","Principal":{"AWS":"` + mgrARN + `"},"Action":"kms:CreateGrant","Resource":"*","Condition":{
	    "StringEquals":{"kms:GranteePrincipal":"` + appARN + `","kms:GrantConstraintType":"EncryptionContextEquals"},
	    "ForAllValues:StringEquals":{"kms:GrantOperations":["Encrypt","Decrypt"],"kms:EncryptionContextKeys":["tenant"]},
	    "Bool":{"kms:GrantIsForAWSResource":"false"}}}]}`
	k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Policy: aws.String(pol)})
	eq := &types.GrantConstraints{EncryptionContextEquals: map[string]string{"tenant": "a"}}
	cases := []struct {
		name    string
		grantee string
		ops     []types.GrantOperation
		con     *types.GrantConstraints
		ok      bool
	}{
		{"what the policy allows", appARN, grantOps(types.GrantOperationDecrypt), eq, true},
		{"another grantee", otherARN, grantOps(types.GrantOperationDecrypt), eq, false},
		{"another operation", appARN, grantOps(types.GrantOperationDecrypt, types.GrantOperationReEncryptFrom), eq, false},
		{"no constraint", appARN, grantOps(types.GrantOperationDecrypt), nil, false},
		{"a subset constraint", appARN, grantOps(types.GrantOperationDecrypt), &types.GrantConstraints{EncryptionContextSubset: map[string]string{"tenant": "a"}}, false},
		{"another context key", appARN, grantOps(types.GrantOperationDecrypt), &types.GrantConstraints{EncryptionContextEquals: map[string]string{"user": "a"}}, false},
	}
	for _, c := range cases {
		_, err := mgr.CreateGrant(t.Context(), &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(c.grantee), Operations: c.ops, Constraints: c.con})
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok {
			sdkWantErr(t, c.name, err, "AccessDeniedException")
		}
	}
}

// TestSDKGrantName: a retried CreateGrant with the same name and
// parameters answers the same grant id with a new token, and every token
// of the grant works; other parameters under the same name make another
// grant.
func TestSDKGrantName(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	appARN, app := grantUser(t, env, root, "app")
	k := sdkCreateKey(t, env.KMS, nil)
	in := &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(appARN), Name: aws.String("app-decrypt:v1/x_y-z"),
		Operations:  grantOps(types.GrantOperationDecrypt, types.GrantOperationEncrypt),
		Constraints: &types.GrantConstraints{EncryptionContextSubset: map[string]string{"a": "1"}}}
	g1 := grantCreate(t, env.KMS, in)
	in.Operations = grantOps(types.GrantOperationEncrypt, types.GrantOperationDecrypt) // same set, another order
	g2 := grantCreate(t, env.KMS, in)
	if *g1.GrantId != *g2.GrantId {
		t.Errorf("a retry with the same name made grant %s, then %s", *g1.GrantId, *g2.GrantId)
	}
	if *g1.GrantToken == *g2.GrantToken {
		t.Error("a retry answered the same grant token")
	}
	gs := grantList(t, env.KMS, *k.KeyId, 0, nil, nil)
	if len(gs) != 1 || aws.ToString(gs[0].Name) != "app-decrypt:v1/x_y-z" {
		t.Fatalf("ListGrants after a retry: %+v", gs)
	}
	for i, tok := range []string{*g1.GrantToken, *g2.GrantToken} {
		if _, err := app.Encrypt(t.Context(), &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"),
			EncryptionContext: map[string]string{"a": "1"}, GrantTokens: []string{tok}}); err != nil {
			t.Errorf("Encrypt with token %d: %v", i+1, err)
		}
	}
	// The same name with other parameters is another grant.
	in.Constraints = nil
	g3 := grantCreate(t, env.KMS, in)
	in.Constraints = &types.GrantConstraints{EncryptionContextSubset: map[string]string{"a": "2"}}
	g3b := grantCreate(t, env.KMS, in)
	in.Constraints = &types.GrantConstraints{EncryptionContextEquals: map[string]string{"a": "1"}}
	g3c := grantCreate(t, env.KMS, in)
	in.Constraints = &types.GrantConstraints{EncryptionContextSubset: map[string]string{"a": "1"}}
	in.RetiringPrincipal = aws.String(appARN)
	g4 := grantCreate(t, env.KMS, in)
	in.RetiringPrincipal = nil
	in.Name = aws.String("other-name")
	g5 := grantCreate(t, env.KMS, in)
	if ids := grantIDs(grantList(t, env.KMS, *k.KeyId, 0, nil, nil)); !slices.Equal(ids, grantSorted(*g1.GrantId, *g3.GrantId, *g3b.GrantId, *g3c.GrantId, *g4.GrantId, *g5.GrantId)) {
		t.Errorf("grants %v, want the six distinct ones", ids)
	}
	// Without a name, the same request twice makes two grants.
	in.Name = nil
	g6, g7 := grantCreate(t, env.KMS, in), grantCreate(t, env.KMS, in)
	if *g6.GrantId == *g7.GrantId {
		t.Error("two unnamed CreateGrant requests made one grant")
	}
	// Retired, the named grant is made anew by the next request.
	if _, err := env.KMS.RetireGrant(t.Context(), &kms.RetireGrantInput{GrantToken: g2.GrantToken}); err != nil {
		t.Fatalf("RetireGrant with the second token: %v", err)
	}
	in.Name = aws.String("app-decrypt:v1/x_y-z")
	if g8 := grantCreate(t, env.KMS, in); *g8.GrantId == *g1.GrantId {
		t.Error("a retired grant's id came back")
	}
}

// TestSDKListGrantsPagination: ListGrants pages, its filters, and
// ListRetirableGrants across keys.
func TestSDKListGrantsPagination(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	aARN, _ := grantUser(t, env, root, "a")
	bARN, _ := grantUser(t, env, root, "b")
	rARN, r := grantUser(t, env, root, "retirer")
	k1 := sdkCreateKey(t, env.KMS, nil)
	k2 := sdkCreateKey(t, env.KMS, nil)
	var all, toA, retirable []string
	for i := 0; i < 11; i++ {
		grantee := aARN
		if i%3 == 0 {
			grantee = bARN
		}
		in := &kms.CreateGrantInput{KeyId: k1.KeyId, GranteePrincipal: aws.String(grantee), Operations: grantOps(types.GrantOperationDecrypt)}
		if i%2 == 0 {
			in.RetiringPrincipal = aws.String(rARN)
		}
		id := *grantCreate(t, env.KMS, in).GrantId
		all = append(all, id)
		if grantee == aARN {
			toA = append(toA, id)
		}
		if i%2 == 0 {
			retirable = append(retirable, id)
		}
	}
	for i := 0; i < 3; i++ { // on another key
		id := *grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k2.KeyId, GranteePrincipal: aws.String(aARN),
			RetiringPrincipal: aws.String(rARN), Operations: grantOps(types.GrantOperationEncrypt)}).GrantId
		retirable = append(retirable, id)
	}

	for _, limit := range []int32{0, 1, 3, 11, 100} {
		if got := grantIDs(grantList(t, env.KMS, *k1.KeyId, limit, nil, nil)); !slices.Equal(got, grantSorted(all...)) {
			t.Errorf("ListGrants, pages of %d: %d grants, want %d", limit, len(got), len(all))
		}
		if got := grantIDs(grantList(t, env.KMS, *k1.Arn, limit, aws.String(aARN), nil)); !slices.Equal(got, grantSorted(toA...)) {
			t.Errorf("ListGrants GranteePrincipal, pages of %d: %v, want %v", limit, got, grantSorted(toA...))
		}
	}
	if got := grantList(t, env.KMS, *k1.KeyId, 0, nil, aws.String(all[4])); len(got) != 1 || *got[0].GrantId != all[4] {
		t.Errorf("ListGrants GrantId: %v", grantIDs(got))
	}
	if got := grantList(t, env.KMS, *k1.KeyId, 0, aws.String(bARN), aws.String(all[4])); len(got) != 0 {
		t.Errorf("ListGrants GrantId of a grant to another grantee: %v", grantIDs(got))
	}
	if got := grantList(t, env.KMS, *k2.KeyId, 0, nil, aws.String(all[4])); len(got) != 0 {
		t.Errorf("ListGrants GrantId of another key's grant: %v", grantIDs(got))
	}
	if got := grantList(t, env.KMS, *k1.KeyId, 0, aws.String("arn:aws:iam::"+servertest.AccountID+":user/nobody"), nil); len(got) != 0 {
		t.Errorf("ListGrants for a grantee without grants: %v", grantIDs(got))
	}
	out, err := env.KMS.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k1.KeyId})
	if err != nil || len(out.Grants) != 11 || out.Truncated {
		t.Errorf("ListGrants with the default limit (50): %d grants, truncated %v, %v", len(out.Grants), out.Truncated, err)
	}
	for _, l := range []int32{0, 101} {
		_, err := env.KMS.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k1.KeyId, Limit: aws.Int32(l)})
		sdkWantErr(t, fmt.Sprintf("ListGrants Limit %d", l), err, "ValidationException")
	}
	_, err = env.KMS.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k1.KeyId, Marker: aws.String("bm90IGEgbWFya2Vy")})
	sdkWantErr(t, "ListGrants with a marker kagi did not make", err, "InvalidMarkerException")
	_, err = env.KMS.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k1.KeyId, GrantId: aws.String("not-a-grant-id")})
	sdkWantErr(t, "ListGrants with a malformed GrantId", err, "InvalidGrantIdException")
	_, err = env.KMS.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String("alias/nope")})
	sdkWantErr(t, "ListGrants by alias", err, "NotFoundException")

	// ListRetirableGrants: across keys, paged; the retiring principal may
	// list its own with an IAM policy.
	listRetirable := func(c *kms.Client, limit int32) ([]string, error) {
		in := &kms.ListRetirableGrantsInput{RetiringPrincipal: aws.String(rARN)}
		if limit > 0 {
			in.Limit = aws.Int32(limit)
		}
		var got []types.GrantListEntry
		for pages := 0; pages < 100; pages++ {
			out, err := c.ListRetirableGrants(ctx, in, sdkNoRetry)
			if err != nil {
				return nil, err
			}
			if limit > 0 && int32(len(out.Grants)) > limit {
				t.Errorf("ListRetirableGrants: %d grants on a page of %d", len(out.Grants), limit)
			}
			got = append(got, out.Grants...)
			if !out.Truncated {
				return grantIDs(got), nil
			}
			in.Marker = out.NextMarker
		}
		t.Fatal("ListRetirableGrants: no last page")
		return nil, nil
	}
	for _, limit := range []int32{0, 1, 2, 5, 9} {
		got, err := listRetirable(env.KMS, limit)
		if err != nil || !slices.Equal(got, grantSorted(retirable...)) {
			t.Errorf("ListRetirableGrants, pages of %d: %v %v, want %v", limit, got, err, grantSorted(retirable...))
		}
	}
	_, err = listRetirable(r, 0)
	sdkWantErr(t, "ListRetirableGrants without an IAM policy", err, "AccessDeniedException")
	root.ok(t, nil, "iam", "PutUserPolicy", "UserName", "retirer", "PolicyName", "list",
		"PolicyDocument", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ListRetirableGrants","Resource":"*"}]}`)
	if got, err := listRetirable(r, 4); err != nil || len(got) != len(retirable) {
		t.Errorf("ListRetirableGrants as the retiring principal: %d grants, %v", len(got), err)
	}
	// The retiring principal retires what it listed.
	for _, e := range grantList(t, env.KMS, *k2.KeyId, 0, nil, nil) {
		if _, err := r.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: e.KeyId, GrantId: e.GrantId}); err != nil {
			t.Errorf("RetireGrant by the retiring principal: %v", err)
		}
	}
	if got, _ := listRetirable(env.KMS, 0); len(got) != len(retirable)-3 {
		t.Errorf("ListRetirableGrants after retiring 3: %d grants, want %d", len(got), len(retirable)-3)
	}
	out2, err := env.KMS.ListRetirableGrants(ctx, &kms.ListRetirableGrantsInput{RetiringPrincipal: aws.String(aARN)})
	if err != nil || len(out2.Grants) != 0 || out2.Truncated {
		t.Errorf("ListRetirableGrants of a principal that retires nothing: %+v %v", out2, err)
	}
	_, err = env.KMS.ListRetirableGrants(ctx, &kms.ListRetirableGrantsInput{})
	sdkWantErr(t, "ListRetirableGrants without a principal", err, "ValidationException")
	_, err = env.KMS.ListRetirableGrants(ctx, &kms.ListRetirableGrantsInput{RetiringPrincipal: aws.String("arn:aws:iam::444455556666:user/x")})
	sdkWantErr(t, "ListRetirableGrants for another account's principal", err, "AccessDeniedException")
	_, err = env.KMS.ListRetirableGrants(ctx, &kms.ListRetirableGrantsInput{RetiringPrincipal: aws.String(rARN), Limit: aws.Int32(101)})
	sdkWantErr(t, "ListRetirableGrants Limit 101", err, "ValidationException")
}

// TestSDKGrantErrors: validation in AWS's wording, unknown and malformed
// grant ids, tokens kagi did not issue, key states.
func TestSDKGrantErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	appARN, app := grantUser(t, env, root, "app")
	k := sdkCreateKey(t, env.KMS, nil)
	decrypt := grantOps(types.GrantOperationDecrypt)
	create := func(in kms.CreateGrantInput) error {
		if in.KeyId == nil {
			in.KeyId = k.KeyId
		}
		if in.GranteePrincipal == nil && in.GranteeServicePrincipal == nil {
			in.GranteePrincipal = aws.String(appARN)
		}
		if in.Operations == nil {
			in.Operations = decrypt
		}
		_, err := env.KMS.CreateGrant(ctx, &in, sdkNoRetry)
		return err
	}
	nine := map[string]string{}
	for i := 0; i < 9; i++ {
		nine[fmt.Sprint("k", i)] = "v"
	}
	cases := []struct {
		name string
		in   kms.CreateGrantInput
		code string
		msg  string // a part of the message
	}{
		{"an operation a symmetric key does not support", kms.CreateGrantInput{Operations: grantOps(types.GrantOperationDecrypt, types.GrantOperationSign)}, "ValidationException", "Sign"},
		{"only CreateGrant", kms.CreateGrantInput{Operations: grantOps(types.GrantOperationCreateGrant)}, "ValidationException", "Grants must not contain only the CreateGrant operation."},
		{"an unknown operation", kms.CreateGrantInput{Operations: grantOps("Teleport")}, "ValidationException", "at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set"},
		{"a grantee with a space", kms.CreateGrantInput{GranteePrincipal: aws.String("arn:aws:iam::111122223333:user/a b")}, "ValidationException", `at 'granteePrincipal' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[\w+=,.@:/-]+$`},
		{"a grantee that is not an ARN", kms.CreateGrantInput{GranteePrincipal: aws.String("alice")}, "InvalidArnException", "alice"},
		{"a grantee that is a key", kms.CreateGrantInput{GranteePrincipal: k.Arn}, "InvalidArnException", ""},
		{"a group", kms.CreateGrantInput{GranteePrincipal: aws.String("arn:aws:iam::111122223333:group/devs")}, "InvalidArnException", ""},
		{"a retiring principal that is not an ARN", kms.CreateGrantInput{RetiringPrincipal: aws.String("bob")}, "InvalidArnException", ""},
		{"a long grantee", kms.CreateGrantInput{GranteePrincipal: aws.String("arn:aws:iam::111122223333:user/" + strings.Repeat("a", 300))}, "ValidationException", "Member must have length less than or equal to 256"},
		{"a name with a space", kms.CreateGrantInput{Name: aws.String("my grant")}, "ValidationException", "at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"},
		{"a 257-character name", kms.CreateGrantInput{Name: aws.String(strings.Repeat("n", 257))}, "ValidationException", "Member must have length less than or equal to 256"},
		{"nine constraint pairs", kms.CreateGrantInput{Constraints: &types.GrantConstraints{EncryptionContextSubset: nine}}, "ValidationException", "constraints.encryptionContextSubset"},
		{"a 385-character constraint value", kms.CreateGrantInput{Constraints: &types.GrantConstraints{EncryptionContextEquals: map[string]string{"k": strings.Repeat("v", 385)}}}, "ValidationException", "384"},
		{"11 grant tokens", kms.CreateGrantInput{GrantTokens: make([]string, 11)}, "ValidationException", "grantTokens"},
		{"a service principal without SourceArn", kms.CreateGrantInput{GranteeServicePrincipal: aws.String("ec2.us-east-1.amazonaws.com")}, "ValidationException", "SourceArn"},
		{"a grantee and a service principal", kms.CreateGrantInput{GranteePrincipal: aws.String(appARN), GranteeServicePrincipal: aws.String("ec2.us-east-1.amazonaws.com")}, "ValidationException", "not both"},
		{"a SourceArn without an account", kms.CreateGrantInput{Constraints: &types.GrantConstraints{SourceArn: aws.String("arn:aws:s3:::bucket-name-here")}}, "ValidationException", "constraints.sourceArn"},
		{"a grant token kagi did not issue", kms.CreateGrantInput{GrantTokens: []string{"AQIDBAUGBwgJ"}}, "InvalidGrantTokenException", ""},
		{"an unknown key", kms.CreateGrantInput{KeyId: aws.String("0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")}, "NotFoundException", ""},
		{"an alias", kms.CreateGrantInput{KeyId: aws.String("alias/x")}, "NotFoundException", ""},
	}
	for _, c := range cases {
		err := create(c.in)
		sdkWantErr(t, "CreateGrant with "+c.name, err, c.code)
		var ae smithy.APIError
		if c.msg != "" && errors.As(err, &ae) && !strings.Contains(ae.ErrorMessage(), c.msg) {
			t.Errorf("CreateGrant with %s: message %q does not contain %q", c.name, ae.ErrorMessage(), c.msg)
		}
	}
	if gs := grantList(t, env.KMS, *k.KeyId, 0, nil, nil); len(gs) != 0 {
		t.Errorf("failed CreateGrant requests left grants: %v", grantIDs(gs))
	}

	// What the SDK would not send, on the wire.
	w := newSDKWire(t, env)
	kid := *k.KeyId
	for _, c := range []struct{ name, target, body, code, msg string }{
		{"CreateGrant without Operations", "CreateGrant", `{"KeyId":"` + kid + `","GranteePrincipal":"` + appARN + `"}`, "ValidationException", "1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null"},
		{"CreateGrant with no operations", "CreateGrant", `{"KeyId":"` + kid + `","GranteePrincipal":"` + appARN + `","Operations":[]}`, "ValidationException", "Member must have length greater than or equal to 1"},
		{"CreateGrant without a grantee", "CreateGrant", `{"KeyId":"` + kid + `","Operations":["Decrypt"]}`, "ValidationException", "GranteePrincipal"},
		{"CreateGrant without KeyId", "CreateGrant", `{"GranteePrincipal":"` + appARN + `","Operations":["Decrypt"]}`, "ValidationException", "Value null at 'keyId'"},
		{"RevokeGrant without GrantId", "RevokeGrant", `{"KeyId":"` + kid + `"}`, "ValidationException", "Value null at 'grantId'"},
		{"RetireGrant with nothing", "RetireGrant", `{}`, "ValidationException", "GrantToken"},
		{"RetireGrant with a KeyId only", "RetireGrant", `{"KeyId":"` + *k.Arn + `"}`, "ValidationException", ""},
		{"ListGrants without KeyId", "ListGrants", `{}`, "ValidationException", "Value null at 'keyId'"},
	} {
		r := w.do(w.root(sdkWireReq{target: "TrentService." + c.target, body: c.body}))
		w.checkError(c.name, r, c.code)
		if msg, _ := r.obj["message"].(string); !strings.Contains(msg, c.msg) {
			t.Errorf("%s: message %q does not contain %q", c.name, msg, c.msg)
		}
	}

	// Grant ids: malformed, unknown.
	unknown := strings.Repeat("ab", 32)
	_, err := env.KMS.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: k.KeyId, GrantId: aws.String(unknown)})
	sdkWantErr(t, "RevokeGrant of an unknown grant", err, "NotFoundException")
	_, err = env.KMS.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: k.KeyId, GrantId: aws.String("1234")})
	sdkWantErr(t, "RevokeGrant of a malformed grant id", err, "InvalidGrantIdException")
	_, err = env.KMS.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: k.Arn, GrantId: aws.String(unknown)})
	sdkWantErr(t, "RetireGrant of an unknown grant", err, "NotFoundException")
	_, err = env.KMS.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: k.Arn, GrantId: aws.String(strings.ToUpper(unknown))})
	sdkWantErr(t, "RetireGrant of a malformed grant id", err, "InvalidGrantIdException")
	_, err = env.KMS.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: aws.String("0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"), GrantId: aws.String(unknown)})
	sdkWantErr(t, "RevokeGrant on an unknown key", err, "NotFoundException")

	// Tokens: made up, tampered with, cut, another grant's.
	g := grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(appARN), Operations: decrypt})
	raw, err := base64.RawURLEncoding.DecodeString(*g.GrantToken)
	if err != nil {
		t.Fatalf("the grant token is not base64url: %v", err)
	}
	bogus := []string{"bogus", "AAAA", strings.Repeat("A", 300), *g.GrantToken + "A", (*g.GrantToken)[:len(*g.GrantToken)-4], "!" + (*g.GrantToken)[1:]}
	for _, i := range []int{0, 1, len(raw) / 2, len(raw) - 1} {
		b := bytes.Clone(raw)
		b[i] ^= 1
		bogus = append(bogus, base64.RawURLEncoding.EncodeToString(b))
	}
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	for i, tok := range bogus {
		sdkWantErr(t, fmt.Sprintf("Decrypt with bogus token %d", i), grantDecrypt(app, ct.CiphertextBlob, nil, *g.GrantToken, tok), "InvalidGrantTokenException")
		_, err := env.KMS.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: aws.String(tok)})
		sdkWantErr(t, fmt.Sprintf("RetireGrant with bogus token %d", i), err, "InvalidGrantTokenException")
		_, err = env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), GrantTokens: []string{tok}})
		sdkWantErr(t, fmt.Sprintf("Encrypt as the root with bogus token %d", i), err, "InvalidGrantTokenException")
	}
	_, err = env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId, GrantTokens: []string{"bogus"}})
	sdkWantErr(t, "DescribeKey with a bogus token", err, "InvalidGrantTokenException")
	if _, err := env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId, GrantTokens: []string{*g.GrantToken}}); err != nil {
		t.Errorf("DescribeKey as the root with a real token: %v", err)
	}
	// A token names its grant: RetireGrant with a token and another grant's id.
	g2 := grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(appARN), Operations: decrypt})
	_, err = env.KMS.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken, GrantId: g2.GrantId})
	sdkWantErr(t, "RetireGrant with a token and another grant's id", err, "ValidationException")

	// Key states: CreateGrant refuses a disabled key (DisabledException) and
	// a key pending deletion (KMSInvalidStateException); listing, retiring
	// and revoking work in every state.
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
	sdkWantErr(t, "CreateGrant on a disabled key", create(kms.CreateGrantInput{}), "DisabledException")
	if gs := grantList(t, env.KMS, *k.KeyId, 0, nil, nil); len(gs) != 2 {
		t.Errorf("ListGrants of a disabled key: %d grants", len(gs))
	}
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: k.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	sdkWantErr(t, "CreateGrant on a key pending deletion", create(kms.CreateGrantInput{}), "KMSInvalidStateException")
	if _, err := env.KMS.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: k.KeyId, GrantId: g.GrantId}); err != nil {
		t.Errorf("RevokeGrant on a key pending deletion: %v", err)
	}
	if _, err := env.KMS.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g2.GrantToken}); err != nil {
		t.Errorf("RetireGrant on a key pending deletion: %v", err)
	}
}

// TestSDKGrantDryRun: DryRun answers DryRunOperationException when the
// call would succeed, the real error when it would not, and changes
// nothing.
func TestSDKGrantDryRun(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	appARN, app := grantUser(t, env, root, "app")
	k := sdkCreateKey(t, env.KMS, nil)
	in := &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(appARN), Operations: grantOps(types.GrantOperationEncrypt), DryRun: aws.Bool(true)}
	_, err := env.KMS.CreateGrant(ctx, in)
	sdkWantErr(t, "CreateGrant DryRun", err, "DryRunOperationException")
	if gs := grantList(t, env.KMS, *k.KeyId, 0, nil, nil); len(gs) != 0 {
		t.Fatalf("CreateGrant DryRun made a grant: %v", grantIDs(gs))
	}
	sdkWantErr(t, "Encrypt after a CreateGrant DryRun", grantEncrypt(app, *k.KeyId, nil), "AccessDeniedException")
	_, err = app.CreateGrant(ctx, in)
	sdkWantErr(t, "CreateGrant DryRun without permission", err, "AccessDeniedException")
	in.Operations = grantOps(types.GrantOperationSign)
	_, err = env.KMS.CreateGrant(ctx, in)
	sdkWantErr(t, "CreateGrant DryRun of an invalid grant", err, "ValidationException")

	in.DryRun = nil
	in.Operations = grantOps(types.GrantOperationEncrypt)
	in.Name = aws.String("named")
	g := grantCreate(t, env.KMS, in)
	in.DryRun = aws.Bool(true)
	_, err = env.KMS.CreateGrant(ctx, in)
	sdkWantErr(t, "CreateGrant DryRun of a retry", err, "DryRunOperationException")

	_, err = env.KMS.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: k.KeyId, GrantId: g.GrantId, DryRun: aws.Bool(true)})
	sdkWantErr(t, "RevokeGrant DryRun", err, "DryRunOperationException")
	_, err = app.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: k.KeyId, GrantId: g.GrantId, DryRun: aws.Bool(true)})
	sdkWantErr(t, "RevokeGrant DryRun without permission", err, "AccessDeniedException")
	_, err = env.KMS.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken, DryRun: aws.Bool(true)})
	sdkWantErr(t, "RetireGrant DryRun", err, "DryRunOperationException")
	_, err = app.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken, DryRun: aws.Bool(true)})
	sdkWantErr(t, "RetireGrant DryRun by a grantee that may not retire", err, "AccessDeniedException")
	_, err = env.KMS.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: k.Arn, GrantId: aws.String(strings.Repeat("0", 64)), DryRun: aws.Bool(true)})
	sdkWantErr(t, "RetireGrant DryRun of an unknown grant", err, "NotFoundException")
	if gs := grantList(t, env.KMS, *k.KeyId, 0, nil, nil); len(gs) != 1 || *gs[0].GrantId != *g.GrantId {
		t.Fatalf("after DryRun RevokeGrant and RetireGrant: %v", grantIDs(gs))
	}
	if err := grantEncrypt(app, *k.KeyId, nil); err != nil {
		t.Errorf("Encrypt after DryRun RevokeGrant and RetireGrant: %v", err)
	}
}

// TestSDKGrantsDeletedWithKey: when a key's waiting period ends its grants
// are gone at once, and the sweeper erases them with every index entry;
// the grants of another key stay.
func TestSDKGrantsDeletedWithKey(t *testing.T) {
	t.Parallel()
	// No sweep until the restart below: the grants of a key past its
	// deletion date must be hidden before they are erased.
	env := servertest.Start(t, servertest.WithSweepInterval(time.Hour))
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	appID, appSecret := iamAccessKey(t, root, "app")
	appARN, app := "arn:aws:iam::"+servertest.AccountID+":user/app", env.Client(t, servertest.Region, appID, appSecret)
	rARN, _ := grantUser(t, env, root, "retirer")
	doomed := sdkCreateKey(t, env.KMS, nil)
	keep := sdkCreateKey(t, env.KMS, nil)
	// The sweeper erases a key, its aliases and its grants in one
	// transaction: the alias going is the sign that the sweep happened.
	sdkCreateAlias(t, env.KMS, "alias/doomed", *doomed.KeyId)
	for _, k := range []*types.KeyMetadata{doomed, keep} {
		for i := 0; i < 3; i++ {
			grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(appARN), RetiringPrincipal: aws.String(rARN),
				Name: aws.String(fmt.Sprint("g", i)), Operations: grantOps(types.GrantOperationDescribeKey, types.GrantOperationEncrypt),
				Constraints: &types.GrantConstraints{EncryptionContextSubset: map[string]string{"n": fmt.Sprint(i)}}})
		}
	}
	// A grant to a service goes too, with its entries in both indexes.
	grantCreate(t, env.KMS, &kms.CreateGrantInput{KeyId: doomed.KeyId, GranteeServicePrincipal: aws.String("s3.amazonaws.com"),
		RetiringServicePrincipal: aws.String("s3.amazonaws.com"), Operations: grantOps(types.GrantOperationDecrypt),
		Constraints: &types.GrantConstraints{SourceArn: aws.String("arn:aws:s3:us-east-1:" + servertest.AccountID + ":accesspoint/x")}})
	retirable := func() int {
		out, err := env.KMS.ListRetirableGrants(ctx, &kms.ListRetirableGrantsInput{RetiringPrincipal: aws.String(rARN)})
		if err != nil {
			t.Fatalf("ListRetirableGrants: %v", err)
		}
		return len(out.Grants)
	}
	if n := retirable(); n != 6 {
		t.Fatalf("ListRetirableGrants: %d grants, want 6", n)
	}
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: doomed.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	// While pending deletion the grants are there (and allow DescribeKey).
	if gs := grantList(t, env.KMS, *doomed.KeyId, 0, nil, nil); len(gs) != 4 {
		t.Errorf("ListGrants of a key pending deletion: %d grants", len(gs))
	}
	if _, err := app.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: doomed.KeyId}, sdkNoRetry); err != nil {
		t.Errorf("DescribeKey with a grant on a key pending deletion: %v", err)
	}

	env.Clock.Advance(7*sdkDay + time.Minute)
	// Past the deletion date the key's grants are gone at once, not yet
	// swept.
	if n := retirable(); n != 3 {
		t.Errorf("ListRetirableGrants past the deletion date: %d grants, want 3", n)
	}
	_, err := env.KMS.ListGrants(ctx, &kms.ListGrantsInput{KeyId: doomed.KeyId})
	sdkWantErr(t, "ListGrants of the deleted key", err, "NotFoundException")
	_, err = app.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: doomed.KeyId}, sdkNoRetry)
	sdkWantErr(t, "DescribeKey with a grant on the deleted key", err, "NotFoundException")
	if _, ok := sdkAliasTargets(t, env.KMS, nil)["alias/doomed"]; !ok {
		t.Fatal("the key was swept before the restart: this test no longer tests the unswept state")
	}

	// A restart sweeps at once.
	env.Restart(t)
	app = env.Client(t, servertest.Region, appID, appSecret)
	if gs := grantList(t, env.KMS, *keep.KeyId, 0, nil, nil); len(gs) != 3 {
		t.Errorf("ListGrants of the other key: %d grants", len(gs))
	}
	if err := grantEncrypt(app, *keep.KeyId, map[string]string{"n": "1"}); err != nil {
		t.Errorf("Encrypt with a grant on the other key: %v", err)
	}

	// Wait for the sweep, then look at the storage itself: nothing under
	// any key names the doomed key, and the other key's grants, indexes and
	// count are all there.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := sdkAliasTargets(t, env.KMS, nil)["alias/doomed"]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not erase the key")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := env.Server.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(env.DataDir, server.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	counts := map[string]int{}
	err = st.View(context.Background(), func(tx storage.Tx) error {
		kvs, _, err := tx.List(nil, nil, 0)
		for _, kv := range kvs {
			key := string(kv.Key)
			if strings.Contains(key, *doomed.KeyId) {
				t.Errorf("left behind after the sweep: %q", key)
			}
			if strings.Contains(key, *keep.KeyId) || strings.HasPrefix(key, "gr/") {
				counts[key[:strings.Index(key, "/")]]++
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The kept key: its record, 3 grants, 3 grantee index entries, 3
	// retiring index entries, 3 named-grant entries, its grant count and
	// its last use (the Encrypt above).
	want := map[string]int{"k": 1, "g": 3, "gg": 3, "gr": 3, "gi": 3, "gn": 1, "lu": 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("stored records of the kept key by kind: %v, want %v", counts, want)
	}
}
