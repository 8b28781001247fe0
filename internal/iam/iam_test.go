package iam

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/clock"
	"github.com/kagikms/kagi/internal/policy"
	"github.com/kagikms/kagi/internal/rootkey"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

type testEnv struct {
	s     *Store
	clock *clock.Fake
	root  *rootkey.Key
	acct  string
	admin *auth.Principal // the account root
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	dir := t.TempDir()
	root, _, err := rootkey.LoadOrCreateFile(filepath.Join(dir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(dir, "kagi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &testEnv{clock: &clock.Fake{}, root: root}
	e.s = New(st, root, "aws", e.clock)
	acct, akid, secret, err := e.s.CreateAccount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.acct = acct
	e.admin = e.principal(t, akid, secret, "")
	return e
}

// principal authenticates an access key as Verify would, and fails the
// test if it does not authenticate with secret.
func (e *testEnv) principal(t testing.TB, akid, secret, token string) *auth.Principal {
	t.Helper()
	id, got, err := e.s.LookupAccessKey(context.Background(), akid, token)
	if err != nil {
		t.Fatalf("LookupAccessKey(%s): %v", akid, err)
	}
	if got != secret {
		t.Fatalf("LookupAccessKey(%s): wrong secret", akid)
	}
	return &auth.Principal{Identity: id, AccessKeyID: akid, Region: "us-east-1", Service: "iam", SessionToken: token}
}

// user creates a user with an access key and returns it as a principal.
func (e *testEnv) user(t testing.TB, name string, tags ...Tag) *auth.Principal {
	t.Helper()
	ctx := context.Background()
	if _, err := e.s.CreateUser(ctx, e.admin, &CreateUserInput{UserName: name, Tags: tags}); err != nil {
		t.Fatal(err)
	}
	k, err := e.s.CreateAccessKey(ctx, e.admin, &CreateAccessKeyInput{UserName: name})
	if err != nil {
		t.Fatal(err)
	}
	return e.principal(t, k.AccessKey.AccessKeyID, k.AccessKey.SecretAccessKey, "")
}

func wantCode(t testing.TB, err error, code awserr.Code) {
	t.Helper()
	if !awserr.Is(err, code) {
		t.Fatalf("error = %v, want %s", err, code)
	}
}

func TestCreateAccount(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	if e.admin.Type != TypeRoot || e.admin.ARN != "arn:aws:iam::"+e.acct+":root" || e.admin.PrincipalID != e.acct || e.admin.AccountID != e.acct {
		t.Errorf("root identity = %+v", e.admin.Identity)
	}
	has, err := e.s.HasAccounts(context.Background())
	if err != nil || !has {
		t.Errorf("HasAccounts = %v, %v", has, err)
	}
	acct2, _, _, err := e.s.CreateAccount(context.Background())
	if err != nil || acct2 == e.acct {
		t.Errorf("second account %q, %v", acct2, err)
	}
	keys, err := e.s.ListAccessKeys(context.Background(), e.admin, &ListAccessKeysInput{})
	if err != nil || len(keys.AccessKeyMetadata.Member) != 1 || keys.AccessKeyMetadata.Member[0].AccessKeyID != e.admin.AccessKeyID {
		t.Errorf("root's keys = %+v, %v", keys, err)
	}
	// The root may have a second key of its own, not a third.
	k, err := e.s.CreateAccessKey(context.Background(), e.admin, &CreateAccessKeyInput{})
	if err != nil || k.AccessKey.UserName != "" {
		t.Fatalf("root CreateAccessKey = %+v, %v", k, err)
	}
	second := e.principal(t, k.AccessKey.AccessKeyID, k.AccessKey.SecretAccessKey, "")
	if second.ARN != e.admin.ARN {
		t.Errorf("the root's second key is %s", second.ARN)
	}
	_, err = e.s.CreateAccessKey(context.Background(), e.admin, &CreateAccessKeyInput{})
	wantCode(t, err, CodeLimitExceeded)
	if err := e.s.DeleteAccessKey(context.Background(), second, &DeleteAccessKeyInput{AccessKeyID: k.AccessKey.AccessKeyID}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.s.LookupAccessKey(context.Background(), k.AccessKey.AccessKeyID, ""); !errors.Is(err, auth.ErrUnknownAccessKey) {
		t.Errorf("deleted root key: %v", err)
	}
}

func TestEnsureRootAccessKey(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	const acct, akid, secret = "444455556666", "AKIAENSUREROOT00001", "a-secret-of-some-length"
	for range 2 {
		if err := e.s.EnsureRootAccessKey(ctx, acct, akid, secret); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.s.EnsureRootAccessKey(ctx, acct, akid, secret+"x"); !errors.Is(err, ErrConflict) {
		t.Errorf("other secret: %v", err)
	}
	if err := e.s.EnsureRootAccessKey(ctx, acct, "ASIAENSUREROOT00001", secret); err == nil {
		t.Error("a temporary-credentials key id was accepted as a root key")
	}
	p := e.principal(t, akid, secret, "")
	if p.ARN != "arn:aws:iam::444455556666:root" {
		t.Errorf("ARN = %s", p.ARN)
	}
}

func TestUserLifecycle(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	out, err := e.s.CreateUser(ctx, e.admin, &CreateUserInput{UserName: "Alice", Path: "/eng/", Tags: []Tag{{"team", "blue"}}})
	if err != nil {
		t.Fatal(err)
	}
	u := out.User
	if u.Arn != "arn:aws:iam::"+e.acct+":user/eng/Alice" || !strings.HasPrefix(u.UserID, "AIDA") || len(u.UserID) != 20 || u.Path != "/eng/" {
		t.Errorf("user = %+v", u)
	}
	_, err = e.s.CreateUser(ctx, e.admin, &CreateUserInput{UserName: "alice"})
	wantCode(t, err, CodeEntityAlreadyExists)

	got, err := e.s.GetUser(ctx, e.admin, &GetUserInput{UserName: "ALICE"})
	if err != nil || got.User.UserID != u.UserID {
		t.Errorf("GetUser without case = %+v, %v", got, err)
	}
	_, err = e.s.GetUser(ctx, e.admin, &GetUserInput{UserName: "bob"})
	wantCode(t, err, CodeNoSuchEntity)

	k, err := e.s.CreateAccessKey(ctx, e.admin, &CreateAccessKeyInput{UserName: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	alice := e.principal(t, k.AccessKey.AccessKeyID, k.AccessKey.SecretAccessKey, "")
	want := auth.Identity{AccountID: e.acct, ARN: u.Arn, PrincipalID: u.UserID, Type: TypeUser, UserName: "Alice", Tags: map[string]string{"team": "blue"}}
	if !reflect.DeepEqual(alice.Identity, want) {
		t.Errorf("identity = %+v, want %+v", alice.Identity, want)
	}
	if _, err := e.s.CreateAccessKey(ctx, e.admin, &CreateAccessKeyInput{UserName: "Alice"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.CreateAccessKey(ctx, e.admin, &CreateAccessKeyInput{UserName: "Alice"})
	wantCode(t, err, CodeLimitExceeded)

	// A user may not act on IAM until policies are evaluated.
	_, err = e.s.GetUser(ctx, alice, &GetUserInput{})
	wantCode(t, err, CodeAccessDenied)
	_, err = e.s.CreateUser(ctx, alice, &CreateUserInput{UserName: "mallory"})
	wantCode(t, err, CodeAccessDenied)

	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}}`
	if err := e.s.PutUserPolicy(ctx, e.admin, &PutUserPolicyInput{UserName: "alice", PolicyName: "enc", PolicyDocument: doc}); err != nil {
		t.Fatal(err)
	}
	docs, err := e.s.IdentityPolicies(ctx, alice.Identity)
	if err != nil || len(docs) != 1 || docs[0] != doc {
		t.Errorf("IdentityPolicies = %q, %v", docs, err)
	}
	if docs, err := e.s.IdentityPolicies(ctx, e.admin.Identity); err != nil || docs != nil {
		t.Errorf("root's IdentityPolicies = %q, %v", docs, err)
	}
	gp, err := e.s.GetUserPolicy(ctx, e.admin, &GetUserPolicyInput{UserName: "alice", PolicyName: "enc"})
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := url.QueryUnescape(gp.PolicyDocument); err != nil || dec != doc || strings.ContainsAny(gp.PolicyDocument, `{"+ `) {
		t.Errorf("PolicyDocument %q decodes to %q, %v", gp.PolicyDocument, dec, err)
	}

	err = e.s.DeleteUser(ctx, e.admin, &DeleteUserInput{UserName: "alice"})
	wantCode(t, err, CodeDeleteConflict)
	keys, err := e.s.ListAccessKeys(ctx, e.admin, &ListAccessKeysInput{UserName: "alice"})
	if err != nil || len(keys.AccessKeyMetadata.Member) != 2 {
		t.Fatalf("ListAccessKeys = %+v, %v", keys, err)
	}
	for _, m := range keys.AccessKeyMetadata.Member {
		if err := e.s.DeleteAccessKey(ctx, e.admin, &DeleteAccessKeyInput{UserName: "alice", AccessKeyID: m.AccessKeyID}); err != nil {
			t.Fatal(err)
		}
	}
	// The key stops working at once, although it was cached.
	if _, _, err := e.s.LookupAccessKey(ctx, alice.AccessKeyID, ""); !errors.Is(err, auth.ErrUnknownAccessKey) {
		t.Errorf("deleted key: %v", err)
	}
	err = e.s.DeleteUser(ctx, e.admin, &DeleteUserInput{UserName: "alice"})
	wantCode(t, err, CodeDeleteConflict) // the policy is left
	if err := e.s.DeleteUserPolicy(ctx, e.admin, &DeleteUserPolicyInput{UserName: "alice", PolicyName: "enc"}); err != nil {
		t.Fatal(err)
	}
	err = e.s.DeleteUserPolicy(ctx, e.admin, &DeleteUserPolicyInput{UserName: "alice", PolicyName: "enc"})
	wantCode(t, err, CodeNoSuchEntity)
	if err := e.s.DeleteUser(ctx, e.admin, &DeleteUserInput{UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.GetUser(ctx, e.admin, &GetUserInput{UserName: "alice"})
	wantCode(t, err, CodeNoSuchEntity)
}

func TestAccessKeyStatus(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	bob := e.user(t, "bob")
	if err := e.s.UpdateAccessKey(ctx, e.admin, &UpdateAccessKeyInput{UserName: "bob", AccessKeyID: bob.AccessKeyID, Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.s.LookupAccessKey(ctx, bob.AccessKeyID, ""); !errors.Is(err, auth.ErrUnknownAccessKey) {
		t.Errorf("inactive key: %v", err)
	}
	err := e.s.UpdateAccessKey(ctx, e.admin, &UpdateAccessKeyInput{UserName: "bob", AccessKeyID: bob.AccessKeyID, Status: "Paused"})
	wantCode(t, err, CodeValidationError)
	// Another user's key does not exist for this one.
	e.user(t, "carol")
	err = e.s.DeleteAccessKey(ctx, e.admin, &DeleteAccessKeyInput{UserName: "carol", AccessKeyID: bob.AccessKeyID})
	wantCode(t, err, CodeNoSuchEntity)
	if err := e.s.UpdateAccessKey(ctx, e.admin, &UpdateAccessKeyInput{UserName: "bob", AccessKeyID: bob.AccessKeyID, Status: "Active"}); err != nil {
		t.Fatal(err)
	}
	e.principal(t, bob.AccessKeyID, mustSecret(t, e, bob.AccessKeyID), "")
}

func mustSecret(t testing.TB, e *testEnv, akid string) string {
	t.Helper()
	_, secret, err := e.s.LookupAccessKey(context.Background(), akid, "")
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestValidation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		in   CreateUserInput
		code awserr.Code
		msg  string
	}{
		{"no name", CreateUserInput{}, CodeValidationError, "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"},
		{"bad name", CreateUserInput{UserName: "a b"}, CodeValidationError, `1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"long name", CreateUserInput{UserName: strings.Repeat("a", 65)}, CodeValidationError, ""},
		{"bad path", CreateUserInput{UserName: "a", Path: "eng"}, CodeValidationError, ""},
		{"two errors", CreateUserInput{UserName: "a b", Path: "/x"}, CodeValidationError, "2 validation errors detected: "},
		{"duplicate tag", CreateUserInput{UserName: "a", Tags: []Tag{{"k", "1"}, {"K", "2"}}}, CodeInvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		{"reserved tag", CreateUserInput{UserName: "a", Tags: []Tag{{"aws:x", "1"}}}, CodeInvalidInput, ""},
		{"bad tag", CreateUserInput{UserName: "a", Tags: []Tag{{"k!", "1"}}}, CodeValidationError, ""},
		{"boundary", CreateUserInput{UserName: "a", PermissionsBoundary: "arn:aws:iam::aws:policy/PowerUserAccess"}, CodeValidationError, "kagi does not support permissions boundaries yet."},
	} {
		_, err := e.s.CreateUser(ctx, e.admin, &tt.in)
		e := awserr.As(err)
		if e.Code != tt.code || !strings.HasPrefix(e.Message, tt.msg) {
			t.Errorf("%s: %v, want %s %q", tt.name, err, tt.code, tt.msg)
		}
	}
}

func TestPolicyDocuments(t *testing.T) {
	t.Parallel()
	const allow = `"Effect":"Allow","Action":"kms:*"`
	for _, tt := range []struct {
		doc   string
		kind  policy.Kind
		valid bool
	}{
		{`{"Version":"2012-10-17","Statement":{` + allow + `,"Resource":"*"}}`, policy.IdentityPolicy, true},
		{`{"Statement":[{` + allow + `,"Resource":["*"]}]}`, policy.IdentityPolicy, true},
		{`{"Statement":{` + allow + `,"Resource":"*"}`, policy.IdentityPolicy, false},
		{`[]`, policy.IdentityPolicy, false},
		{`{"Statement":{"Action":"kms:*","Resource":"*"}}`, policy.IdentityPolicy, false},
		{`{"Statement":{` + allow + `}}`, policy.IdentityPolicy, false},
		{`{"Statement":{` + allow + `,"Resource":"*","Principal":"*"}}`, policy.IdentityPolicy, false},
		{`{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"111122223333"}}}`, policy.TrustPolicy, true},
		{`{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`, policy.TrustPolicy, false},
		{`{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":"*","Resource":"*"}}`, policy.TrustPolicy, false},
		{`{"Statement":{"Effect":"Allow","Action":"kms:Decrypt","Principal":"*"}}`, policy.TrustPolicy, false},
	} {
		err := validatePolicyDocument(tt.doc, tt.kind)
		if tt.valid {
			if err != nil {
				t.Errorf("%s: %v", tt.doc, err)
			}
			continue
		}
		if e := awserr.As(err); e.Code != CodeMalformedPolicyDocument || e.Message == "" {
			t.Errorf("%s: %v, want MalformedPolicyDocument", tt.doc, err)
		}
	}
}

func TestPolicySizeQuota(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	e.user(t, "dave")
	big := `{"Statement":{"Effect":"Allow","Action":"kms:Encrypt","Resource":"arn:aws:kms:*:*:key/` + strings.Repeat("x", 1000) + `"}}`
	if err := e.s.PutUserPolicy(ctx, e.admin, &PutUserPolicyInput{UserName: "dave", PolicyName: "a", PolicyDocument: big}); err != nil {
		t.Fatal(err)
	}
	// Replacing a policy counts it once; white space does not count.
	spaced := strings.ReplaceAll(big, `","`, "\" ,\n\t \"")
	if err := e.s.PutUserPolicy(ctx, e.admin, &PutUserPolicyInput{UserName: "dave", PolicyName: "a", PolicyDocument: spaced}); err != nil {
		t.Fatal(err)
	}
	err := e.s.PutUserPolicy(ctx, e.admin, &PutUserPolicyInput{UserName: "dave", PolicyName: "b", PolicyDocument: big})
	wantCode(t, err, CodeLimitExceeded)
}

func TestListUsersPages(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("user%02d", i)
		path := "/a/"
		if i%2 == 1 {
			path = "/b/"
		} else {
			want = append(want, name)
		}
		if _, err := e.s.CreateUser(ctx, e.admin, &CreateUserInput{UserName: name, Path: path}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	marker := ""
	two := int32(2)
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		out, err := e.s.ListUsers(ctx, e.admin, &ListUsersInput{PathPrefix: "/a", Marker: marker, MaxItems: &two})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.Users.Member {
			got = append(got, u.UserName)
		}
		if out.IsTruncated != (out.Marker != "") {
			t.Fatalf("IsTruncated %v with marker %q", out.IsTruncated, out.Marker)
		}
		if !out.IsTruncated {
			break
		}
		marker = out.Marker
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("users = %q, want %q", got, want)
	}
	_, err := e.s.ListUsers(ctx, e.admin, &ListUsersInput{Marker: "not-a-marker"})
	wantCode(t, err, CodeValidationError)
}

const trustUser = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"%s"},"Action":"sts:AssumeRole"}]}`

func (e *testEnv) role(t testing.TB, name, trust string, tags ...Tag) Role {
	t.Helper()
	out, err := e.s.CreateRole(context.Background(), e.admin, &CreateRoleInput{RoleName: name, AssumeRolePolicyDocument: trust, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	return out.Role
}

func TestAssumeRole(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice", Tag{"team", "blue"})
	bob := e.user(t, "bob")
	role := e.role(t, "reader", fmt.Sprintf(trustUser, alice.ARN), Tag{"level", "1"}, Tag{"team", "red"})
	if err := e.s.PutRolePolicy(ctx, e.admin, &PutRolePolicyInput{RoleName: "reader", PolicyName: "p",
		PolicyDocument: `{"Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}`}); err != nil {
		t.Fatal(err)
	}

	out, err := e.s.AssumeRole(ctx, alice, &AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "s-1", Tags: []Tag{{"Team", "green"}}})
	wantCode(t, err, CodeAccessDenied) // tags need sts:TagSession
	out, err = e.s.AssumeRole(ctx, alice, &AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "s-1"})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(c.AccessKeyID, "ASIA") || len(c.SecretAccessKey) != 40 || c.SessionToken == "" ||
		!c.Expiration.Equal(e.s.now().Add(time.Hour)) && !c.Expiration.Equal(e.s.now().Add(time.Hour-time.Second)) {
		t.Errorf("credentials = %+v", c)
	}
	wantARN := "arn:aws:sts::" + e.acct + ":assumed-role/reader/s-1"
	if out.AssumedRoleUser.Arn != wantARN || out.AssumedRoleUser.AssumedRoleID != role.RoleID+":s-1" {
		t.Errorf("assumed role user = %+v", out.AssumedRoleUser)
	}
	session := e.principal(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	want := auth.Identity{AccountID: e.acct, ARN: wantARN, PrincipalID: role.RoleID + ":s-1", Type: TypeAssumedRole,
		RoleARN: role.Arn, SessionName: "s-1", Tags: map[string]string{"level": "1", "team": "red"},
		TokenIssued: session.TokenIssued, TokenExpires: c.Expiration}
	if !reflect.DeepEqual(session.Identity, want) || session.TokenIssued.IsZero() {
		t.Errorf("session identity = %+v\nwant %+v", session.Identity, want)
	}
	if docs, err := e.s.IdentityPolicies(ctx, session.Identity); err != nil || len(docs) != 1 {
		t.Errorf("the session's policies = %q, %v", docs, err)
	}
	id, err := e.s.GetCallerIdentity(ctx, session)
	if err != nil || id.Arn != wantARN || id.UserID != role.RoleID+":s-1" || id.Account != e.acct {
		t.Errorf("GetCallerIdentity = %+v, %v", id, err)
	}

	// Others may not assume it: a user it does not name, the account root.
	_, err = e.s.AssumeRole(ctx, bob, &AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "ss"})
	wantCode(t, err, CodeAccessDenied)
	_, err = e.s.AssumeRole(ctx, e.admin, &AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "ss"})
	wantCode(t, err, CodeAccessDenied)
	// A missing role is refused the same way.
	_, err = e.s.AssumeRole(ctx, alice, &AssumeRoleInput{RoleArn: "arn:aws:iam::" + e.acct + ":role/nope", RoleSessionName: "ss"})
	wantCode(t, err, CodeAccessDenied)
	// So is the right name under the wrong path.
	_, err = e.s.AssumeRole(ctx, alice, &AssumeRoleInput{RoleArn: "arn:aws:iam::" + e.acct + ":role/x/reader", RoleSessionName: "ss"})
	wantCode(t, err, CodeAccessDenied)

	for _, tt := range []struct {
		name string
		in   AssumeRoleInput
	}{
		{"short session name", AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "s"}},
		{"bad session name", AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "a b"}},
		{"short duration", AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "ss", DurationSeconds: ptr[int32](899)}},
		{"over the role's maximum", AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "ss", DurationSeconds: ptr[int32](3601)}},
		{"not a role ARN", AssumeRoleInput{RoleArn: "arn:aws:iam::" + e.acct + ":user/alice", RoleSessionName: "ss"}},
		{"session policy", AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "ss", Policy: "{}"}},
	} {
		_, err := e.s.AssumeRole(ctx, alice, &tt.in)
		if !awserr.Is(err, CodeValidationError) {
			t.Errorf("%s: %v, want ValidationError", tt.name, err)
		}
	}

	// Role chaining: the session may assume a role that trusts the role,
	// for an hour at most.
	chained := e.role(t, "chained", fmt.Sprintf(trustUser, role.Arn))
	_, err = e.s.AssumeRole(ctx, session, &AssumeRoleInput{RoleArn: chained.Arn, RoleSessionName: "cc", DurationSeconds: ptr[int32](3601)})
	wantCode(t, err, CodeValidationError)
	if _, err := e.s.AssumeRole(ctx, session, &AssumeRoleInput{RoleArn: chained.Arn, RoleSessionName: "cc"}); err != nil {
		t.Errorf("chained: %v", err)
	}
	// Temporary credentials may not get session tokens.
	_, err = e.s.GetSessionToken(ctx, session, &GetSessionTokenInput{})
	wantCode(t, err, CodeAccessDenied)

	// A role deleted and created again is another role: old sessions get
	// none of its policies.
	if err := e.s.DeleteRolePolicy(ctx, e.admin, &DeleteRolePolicyInput{RoleName: "reader", PolicyName: "p"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteRole(ctx, e.admin, &DeleteRoleInput{RoleName: "reader"}); err != nil {
		t.Fatal(err)
	}
	e.role(t, "reader", fmt.Sprintf(trustUser, alice.ARN))
	if err := e.s.PutRolePolicy(ctx, e.admin, &PutRolePolicyInput{RoleName: "reader", PolicyName: "p",
		PolicyDocument: `{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}`}); err != nil {
		t.Fatal(err)
	}
	if docs, err := e.s.IdentityPolicies(ctx, session.Identity); err != nil || docs != nil {
		t.Errorf("an old session of a new role has policies %q, %v", docs, err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestSessionTags(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice")
	trust := fmt.Sprintf(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":["sts:AssumeRole","sts:TagSession"]}]}`, alice.ARN)
	role := e.role(t, "tagged", trust, Tag{"team", "red"}, Tag{"level", "1"})
	out, err := e.s.AssumeRole(ctx, alice, &AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "s1",
		Tags: []Tag{{"Team", "green"}, {"proj", "x"}}, TransitiveTagKeys: []string{"proj"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.PackedPolicySize == nil || *out.PackedPolicySize < 1 {
		t.Errorf("PackedPolicySize = %v", out.PackedPolicySize)
	}
	c := out.Credentials
	session := e.principal(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	if want := map[string]string{"Team": "green", "proj": "x", "level": "1"}; !reflect.DeepEqual(session.Tags, want) {
		t.Errorf("principal tags = %v, want %v", session.Tags, want)
	}
	// The transitive tag passes on to a chained role and may not be reset.
	next := e.role(t, "next", fmt.Sprintf(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":["sts:AssumeRole","sts:TagSession"]}]}`, role.Arn))
	_, err = e.s.AssumeRole(ctx, session, &AssumeRoleInput{RoleArn: next.Arn, RoleSessionName: "s2", Tags: []Tag{{"PROJ", "y"}}})
	wantCode(t, err, CodeValidationError)
	out, err = e.s.AssumeRole(ctx, session, &AssumeRoleInput{RoleArn: next.Arn, RoleSessionName: "s2"})
	if err != nil {
		t.Fatal(err)
	}
	c = out.Credentials
	chained := e.principal(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	if want := map[string]string{"proj": "x"}; !reflect.DeepEqual(chained.Tags, want) {
		t.Errorf("chained principal tags = %v, want %v", chained.Tags, want)
	}
	_, err = e.s.AssumeRole(ctx, alice, &AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "s3",
		Tags: []Tag{{"a", "b"}}, TransitiveTagKeys: []string{"c"}})
	wantCode(t, err, CodeValidationError)
}

func TestExternalID(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice")
	trust := fmt.Sprintf(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-123"}}}]}`, alice.ARN)
	role := e.role(t, "vendor", trust)
	for _, tt := range []struct {
		ext string
		ok  bool
	}{{"", false}, {"ext-124", false}, {"ext-123", true}} {
		_, err := e.s.AssumeRole(ctx, alice, &AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: "s1", ExternalID: tt.ext})
		if (err == nil) != tt.ok {
			t.Errorf("ExternalId %q: %v", tt.ext, err)
		}
	}
}

func TestGetSessionToken(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice", Tag{"team", "blue"})

	out, err := e.s.GetSessionToken(ctx, e.admin, &GetSessionTokenInput{DurationSeconds: ptr[int32](7200)})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.Credentials.Expiration.Sub(e.s.now()); d > time.Hour || d < time.Hour-2*time.Second {
		t.Errorf("root session lasts %v, want an hour", d)
	}
	root := e.principal(t, out.Credentials.AccessKeyID, out.Credentials.SecretAccessKey, out.Credentials.SessionToken)
	if root.ARN != e.admin.ARN || root.Type != TypeRoot || root.PrincipalID != e.acct {
		t.Errorf("root session = %+v", root.Identity)
	}

	out, err = e.s.GetSessionToken(ctx, alice, &GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.Credentials.Expiration.Sub(e.s.now()); d > 12*time.Hour || d < 12*time.Hour-2*time.Second {
		t.Errorf("user session lasts %v, want 12 hours", d)
	}
	c := out.Credentials
	session := e.principal(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	if session.ARN != alice.ARN || session.PrincipalID != alice.PrincipalID || session.UserName != "alice" || session.Tags["team"] != "blue" {
		t.Errorf("user session = %+v", session.Identity)
	}

	_, err = e.s.GetSessionToken(ctx, alice, &GetSessionTokenInput{DurationSeconds: ptr[int32](129601)})
	wantCode(t, err, CodeValidationError)
	_, err = e.s.GetSessionToken(ctx, alice, &GetSessionTokenInput{SerialNumber: "arn:aws:iam::111122223333:mfa/alice", TokenCode: "123456"})
	wantCode(t, err, CodeAccessDenied)

	// Expiry follows the store's clock.
	e.clock.Advance(12 * time.Hour)
	_, _, err = e.s.LookupAccessKey(ctx, c.AccessKeyID, c.SessionToken)
	if e := awserr.As(err); e.Code != awserr.ExpiredToken || e.Message != "The security token included in the request is expired" {
		t.Errorf("expired token: %v", err)
	}
}

func TestSessionTokenRefusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	out, err := e.s.GetSessionToken(ctx, e.admin, &GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	other, err := e.s.GetSessionToken(ctx, e.admin, &GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := e.root.Seal([]byte(`{"akid":"`+c.AccessKeyID+`"}`), secretAAD(c.AccessKeyID))
	raw, _ := base64.StdEncoding.DecodeString(c.SessionToken)
	for _, tt := range []struct {
		name, akid, token string
	}{
		{"no token", c.AccessKeyID, ""},
		{"another session's token", c.AccessKeyID, other.Credentials.SessionToken},
		{"not base64", c.AccessKeyID, "!!" + c.SessionToken},
		{"truncated", c.AccessKeyID, c.SessionToken[:len(c.SessionToken)-8]},
		{"sealed for another purpose", c.AccessKeyID, base64.StdEncoding.EncodeToString(sealed)},
		{"long-term key with a token", e.admin.AccessKeyID, c.SessionToken},
		{"huge", c.AccessKeyID, strings.Repeat("A", maxSessionTokenLen+4)},
	} {
		if _, _, err := e.s.LookupAccessKey(ctx, tt.akid, tt.token); !errors.Is(err, auth.ErrUnknownAccessKey) {
			t.Errorf("%s: %v, want ErrUnknownAccessKey", tt.name, err)
		}
	}
	// Every flipped bit is refused.
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			b := append([]byte{}, raw...)
			b[i] ^= bit
			if _, _, err := e.s.LookupAccessKey(ctx, c.AccessKeyID, base64.StdEncoding.EncodeToString(b)); !errors.Is(err, auth.ErrUnknownAccessKey) {
				t.Fatalf("byte %d ^ %#x: %v", i, bit, err)
			}
		}
	}
	e.principal(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

// FuzzSessionToken opens arbitrary session tokens: it must never panic and
// never authenticate anything but the one real token, unchanged.
func FuzzSessionToken(f *testing.F) {
	e := newTestEnv(f)
	out, err := e.s.GetSessionToken(context.Background(), e.admin, &GetSessionTokenInput{})
	if err != nil {
		f.Fatal(err)
	}
	c := out.Credentials
	raw, _ := base64.StdEncoding.DecodeString(c.SessionToken)
	f.Add(c.AccessKeyID, c.SessionToken)
	f.Add(c.AccessKeyID, base64.StdEncoding.EncodeToString(raw[:len(raw)-1]))
	f.Add(c.AccessKeyID, "")
	f.Add("ASIAAAAAAAAAAAAAAAAA", "AQ==")
	f.Add(e.admin.AccessKeyID, c.SessionToken)
	f.Fuzz(func(t *testing.T, akid, token string) {
		id, secret, err := e.s.LookupAccessKey(context.Background(), akid, token)
		if err != nil {
			if !errors.Is(err, auth.ErrUnknownAccessKey) && !awserr.Is(err, awserr.ExpiredToken) {
				t.Fatalf("error %v", err)
			}
			return
		}
		switch {
		case akid == c.AccessKeyID && token == c.SessionToken:
			if secret != c.SecretAccessKey || id.ARN != e.admin.ARN {
				t.Fatalf("the real token gave %+v", id)
			}
		case akid == e.admin.AccessKeyID && token == "":
		default:
			t.Fatalf("authenticated %q with token %q as %+v", akid, token, id)
		}
	})
}

// TestCheckTrust checks who a trust policy lets assume a role. Until
// identity policies are evaluated, a trust that delegates to the caller's
// account (or comes from another account) needs authorizeIAM, which
// refuses everyone but the root; so those cases are refusals here.
func TestCheckTrust(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	const acct = "111122223333"
	user := &auth.Principal{Identity: auth.Identity{AccountID: acct, ARN: "arn:aws:iam::" + acct + ":user/alice", PrincipalID: "AIDAEXAMPLE", Type: TypeUser, UserName: "alice",
		Tags: map[string]string{"team": "blue"}}}
	session := &auth.Principal{Identity: auth.Identity{AccountID: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/r/s", PrincipalID: "AROAEXAMPLE:s",
		Type: TypeAssumedRole, RoleARN: "arn:aws:iam::" + acct + ":role/r", SessionName: "s"}}
	stranger := &auth.Principal{Identity: auth.Identity{AccountID: "444455556666", ARN: "arn:aws:iam::444455556666:user/eve", PrincipalID: "AIDAEVE", Type: TypeUser, UserName: "eve"}}
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	for _, tt := range []struct {
		name   string
		doc    string
		caller *auth.Principal
		ext    string
		ok     bool
	}{
		{"user by ARN", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}`), user, "", true},
		{"user in a list", stmt(`{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/bob","arn:aws:iam::111122223333:user/alice"]},"Action":["sts:TagSession","sts:AssumeRole"]}`), user, "", true},
		{"account id: identity policies decide", stmt(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}`), user, "", false},
		{"account root ARN: identity policies decide", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:*"}`), user, "", false},
		{"another account named: identity policies decide", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/eve"},"Action":"sts:AssumeRole"}`), stranger, "", false},
		{"everyone", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`), user, "", true},
		{"wildcard action", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:Assume*"}`), user, "", true},
		{"other action", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:TagSession"}`), user, "", false},
		{"service principal", stmt(`{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}`), user, "", false},
		{"role ARN matches its sessions", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/r"},"Action":"sts:AssumeRole"}`), session, "", true},
		{"session ARN", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/r/s"},"Action":"sts:AssumeRole"}`), session, "", true},
		{"deny wins", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}`), user, "", false},
		{"external id missing", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"e1"}}}`), user, "", false},
		{"external id wrong", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"e1"}}}`), user, "e2", false},
		{"external id", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":["e0","e1"]}}}`), user, "e1", true},
		{"principal tag", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalTag/Team":"blue"}}}`), user, "", true},
		{"principal arn of a session is the role", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/r"}}}`), session, "", true},
		{"session name is the user name", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:RoleSessionName":"${aws:username}"}}}`), user, "", true},
		{"session name is not", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:RoleSessionName":"bob"}}}`), user, "", false},
		{"stored document the parser refuses", `{`, user, "", false},
	} {
		role := &roleRecord{Name: "target", ARN: "arn:aws:iam::" + acct + ":role/target", TrustPolicy: tt.doc}
		in := &AssumeRoleInput{RoleArn: role.ARN, RoleSessionName: "alice", ExternalID: tt.ext}
		err := e.s.checkTrust(context.Background(), role, tt.caller, "sts:AssumeRole", assumeContext(in, time.Now()))
		if tt.ok && err != nil || !tt.ok && !awserr.Is(err, CodeAccessDenied) {
			t.Errorf("%s: %v, want allowed %v", tt.name, err, tt.ok)
		}
	}
}

func TestEscapePolicy(t *testing.T) {
	t.Parallel()
	doc := "{\n  \"Statement\": {\"Action\": \"kms:*\", \"Resource\": \"arn:aws:kms:*:1:key/a+b é~\"}\n}"
	got := escapePolicy(doc)
	if dec, err := url.PathUnescape(got); err != nil || dec != doc {
		t.Errorf("PathUnescape = %q, %v", dec, err)
	}
	if dec, err := url.QueryUnescape(got); err != nil || dec != doc {
		t.Errorf("QueryUnescape = %q, %v", dec, err)
	}
	if !strings.HasPrefix(got, "%7B%0A%20%20%22Statement%22%3A") {
		t.Errorf("escaped = %q", got)
	}
}

// TestIdentityPoliciesGovernIAM checks that a user's IAM policies decide
// which IAM actions it may take, with AWS's deny wording.
func TestIdentityPoliciesGovernIAM(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	ops := e.user(t, "ops")
	self := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}`
	wantCode(t, e.s.PutUserPolicy(ctx, ops, &PutUserPolicyInput{UserName: "ops", PolicyName: "p", PolicyDocument: self}), CodeAccessDenied)
	if _, err := e.s.CreateUser(ctx, ops, &CreateUserInput{UserName: "before"}); err == nil {
		t.Fatal("a user without policies created a user")
	}

	doc := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":["iam:CreateUser","iam:GetUser"],"Resource":"arn:aws:iam::` + e.acct + `:user/team/*"},
	  {"Effect":"Deny","Action":"iam:CreateUser","Resource":"arn:aws:iam::` + e.acct + `:user/team/root*"}]}`
	if err := e.s.PutUserPolicy(ctx, e.admin, &PutUserPolicyInput{UserName: "ops", PolicyName: "team", PolicyDocument: doc}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CreateUser(ctx, ops, &CreateUserInput{UserName: "carol", Path: "/team/"}); err != nil {
		t.Errorf("CreateUser allowed by the policy: %v", err)
	}
	_, err := e.s.CreateUser(ctx, ops, &CreateUserInput{UserName: "dave"}) // path "/", not team/
	wantCode(t, err, CodeAccessDenied)
	if err != nil && !strings.Contains(err.Error(), "because no identity-based policy allows the iam:CreateUser action") {
		t.Errorf("implicit deny message: %v", err)
	}
	_, err = e.s.CreateUser(ctx, ops, &CreateUserInput{UserName: "rootish", Path: "/team/"})
	wantCode(t, err, CodeAccessDenied)
	if err != nil && !strings.Contains(err.Error(), "with an explicit deny in an identity-based policy") {
		t.Errorf("explicit deny message: %v", err)
	}
	wantCode(t, e.s.DeleteUser(ctx, ops, &DeleteUserInput{UserName: "carol"}), CodeAccessDenied)
}
