package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestIAMUserLifecycle drives users, access keys and inline policies
// through the IAM query API with raw signed requests, and checks that a
// user's access key authenticates.
func TestIAMUserLifecycle(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	acct := servertest.AccountID

	var created struct {
		UserName string `xml:"CreateUserResult>User>UserName"`
		UserID   string `xml:"CreateUserResult>User>UserId"`
		Arn      string `xml:"CreateUserResult>User>Arn"`
		Path     string `xml:"CreateUserResult>User>Path"`
		TagKey   string `xml:"CreateUserResult>User>Tags>member>Key"`
	}
	root.ok(t, &created, "iam", "CreateUser", "UserName", "alice", "Path", "/eng/", "Tags.member.1.Key", "team", "Tags.member.1.Value", "blue")
	if created.Arn != "arn:aws:iam::"+acct+":user/eng/alice" || created.Path != "/eng/" || created.TagKey != "team" ||
		!strings.HasPrefix(created.UserID, "AIDA") || len(created.UserID) != 20 {
		t.Errorf("CreateUser = %+v", created)
	}
	root.fails(t, http.StatusConflict, "EntityAlreadyExists", "iam", "CreateUser", "UserName", "ALICE")
	root.fails(t, http.StatusNotFound, "NoSuchEntity", "iam", "GetUser", "UserName", "bob")
	root.fails(t, http.StatusBadRequest, "ValidationError", "iam", "CreateUser", "UserName", "no spaces")

	var got struct {
		UserID string `xml:"GetUserResult>User>UserId"`
	}
	root.ok(t, &got, "iam", "GetUser", "UserName", "Alice")
	if got.UserID != created.UserID {
		t.Errorf("GetUser = %+v", got)
	}
	var self struct {
		Arn    string `xml:"GetUserResult>User>Arn"`
		UserID string `xml:"GetUserResult>User>UserId"`
	}
	root.ok(t, &self, "iam", "GetUser")
	if self.Arn != "arn:aws:iam::"+acct+":root" || self.UserID != acct {
		t.Errorf("GetUser of the root = %+v", self)
	}

	// The user's access key authenticates: GetCallerIdentity names the
	// user, and KMS refuses the user (no policy allows it yet) rather than
	// the key.
	var key struct {
		AKID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret   string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
		Status   string `xml:"CreateAccessKeyResult>AccessKey>Status"`
		UserName string `xml:"CreateAccessKeyResult>AccessKey>UserName"`
	}
	root.ok(t, &key, "iam", "CreateAccessKey", "UserName", "alice")
	if !strings.HasPrefix(key.AKID, "AKIA") || len(key.Secret) != 40 || key.Status != "Active" || key.UserName != "alice" {
		t.Errorf("CreateAccessKey = %+v", key)
	}
	alice := newIAMCaller(t, env, key.AKID, key.Secret, "")
	var id callerIdentity
	alice.ok(t, &id, "sts", "GetCallerIdentity")
	if id.Arn != created.Arn || id.UserID != created.UserID || id.Account != acct {
		t.Errorf("GetCallerIdentity of alice = %+v", id)
	}
	aliceKMS := env.Client(t, servertest.Region, key.AKID, key.Secret)
	if code := iamKMSCode(iamKMSListKeys(aliceKMS)); code != "AccessDeniedException" {
		t.Errorf("KMS ListKeys as alice: %s, want AccessDeniedException", code)
	}
	// Nor may she use IAM yet, even on herself.
	alice.fails(t, http.StatusForbidden, "AccessDenied", "iam", "GetUser")
	alice.fails(t, http.StatusForbidden, "AccessDenied", "iam", "CreateUser", "UserName", "mallory")

	root.ok(t, nil, "iam", "CreateAccessKey", "UserName", "alice")
	root.fails(t, http.StatusConflict, "LimitExceeded", "iam", "CreateAccessKey", "UserName", "alice")
	var keys struct {
		IDs []string `xml:"ListAccessKeysResult>AccessKeyMetadata>member>AccessKeyId"`
	}
	root.ok(t, &keys, "iam", "ListAccessKeys", "UserName", "alice")
	if len(keys.IDs) != 2 {
		t.Errorf("ListAccessKeys = %v", keys.IDs)
	}

	// Inline policies.
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}`
	root.fails(t, http.StatusBadRequest, "MalformedPolicyDocument", "iam", "PutUserPolicy", "UserName", "alice", "PolicyName", "bad", "PolicyDocument", `{"Statement":[`)
	root.fails(t, http.StatusBadRequest, "MalformedPolicyDocument", "iam", "PutUserPolicy", "UserName", "alice", "PolicyName", "bad",
		"PolicyDocument", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}`)
	root.fails(t, http.StatusNotFound, "NoSuchEntity", "iam", "PutUserPolicy", "UserName", "nobody", "PolicyName", "p", "PolicyDocument", doc)
	root.ok(t, nil, "iam", "PutUserPolicy", "UserName", "alice", "PolicyName", "crypto", "PolicyDocument", doc)
	var pol struct {
		Doc string `xml:"GetUserPolicyResult>PolicyDocument"`
	}
	root.ok(t, &pol, "iam", "GetUserPolicy", "UserName", "alice", "PolicyName", "crypto")
	if dec, err := url.QueryUnescape(pol.Doc); err != nil || dec != doc || strings.Contains(pol.Doc, "{") {
		t.Errorf("GetUserPolicy document %q decodes to %q (%v)", pol.Doc, dec, err)
	}
	root.fails(t, http.StatusNotFound, "NoSuchEntity", "iam", "GetUserPolicy", "UserName", "alice", "PolicyName", "other")
	var names struct {
		Names []string `xml:"ListUserPoliciesResult>PolicyNames>member"`
	}
	root.ok(t, &names, "iam", "ListUserPolicies", "UserName", "alice")
	if len(names.Names) != 1 || names.Names[0] != "crypto" {
		t.Errorf("ListUserPolicies = %v", names.Names)
	}

	// A user with keys or policies cannot be deleted.
	r := root.fails(t, http.StatusConflict, "DeleteConflict", "iam", "DeleteUser", "UserName", "alice")
	if r.Message != "Cannot delete entity, must delete access keys first." {
		t.Errorf("DeleteConflict message %q", r.Message)
	}
	for _, k := range keys.IDs {
		root.ok(t, nil, "iam", "DeleteAccessKey", "UserName", "alice", "AccessKeyId", k)
	}
	root.fails(t, http.StatusNotFound, "NoSuchEntity", "iam", "DeleteAccessKey", "UserName", "alice", "AccessKeyId", key.AKID)
	// The deleted key no longer authenticates, at once.
	alice.fails(t, http.StatusForbidden, "InvalidClientTokenId", "sts", "GetCallerIdentity")
	if code := iamKMSCode(iamKMSListKeys(aliceKMS)); code != "UnrecognizedClientException" {
		t.Errorf("KMS with a deleted key: %s", code)
	}
	root.fails(t, http.StatusConflict, "DeleteConflict", "iam", "DeleteUser", "UserName", "alice")
	root.ok(t, nil, "iam", "DeleteUserPolicy", "UserName", "alice", "PolicyName", "crypto")
	root.ok(t, nil, "iam", "DeleteUser", "UserName", "alice")
	root.fails(t, http.StatusNotFound, "NoSuchEntity", "iam", "DeleteUser", "UserName", "alice")
}

// TestIAMListUsersPages pages through users with Marker and MaxItems.
func TestIAMListUsersPages(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("u%d", i)
		want = append(want, name)
		root.ok(t, nil, "iam", "CreateUser", "UserName", name)
	}
	var got []string
	marker := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("too many pages")
		}
		params := []string{"MaxItems", "2"}
		if marker != "" {
			params = append(params, "Marker", marker)
		}
		var out struct {
			Names     []string `xml:"ListUsersResult>Users>member>UserName"`
			Truncated bool     `xml:"ListUsersResult>IsTruncated"`
			Marker    string   `xml:"ListUsersResult>Marker"`
		}
		root.ok(t, &out, "iam", "ListUsers", params...)
		if len(out.Names) > 2 || out.Truncated != (out.Marker != "") {
			t.Fatalf("page %d: %+v", page, out)
		}
		got = append(got, out.Names...)
		if !out.Truncated {
			break
		}
		marker = out.Marker
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("users = %v, want %v", got, want)
	}
	root.fails(t, http.StatusBadRequest, "ValidationError", "iam", "ListUsers", "MaxItems", "0")
}

// TestIAMRoles creates, reads and deletes roles and their policies.
func TestIAMRoles(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`
	var created struct {
		Arn    string `xml:"CreateRoleResult>Role>Arn"`
		RoleID string `xml:"CreateRoleResult>Role>RoleId"`
		Trust  string `xml:"CreateRoleResult>Role>AssumeRolePolicyDocument"`
	}
	root.ok(t, &created, "iam", "CreateRole", "RoleName", "app", "Path", "/svc/", "AssumeRolePolicyDocument", trust,
		"MaxSessionDuration", "7200", "Description", "the app")
	if created.Arn != "arn:aws:iam::111122223333:role/svc/app" || !strings.HasPrefix(created.RoleID, "AROA") {
		t.Errorf("CreateRole = %+v", created)
	}
	if dec, _ := url.QueryUnescape(created.Trust); dec != trust {
		t.Errorf("trust policy %q", created.Trust)
	}
	root.fails(t, http.StatusConflict, "EntityAlreadyExists", "iam", "CreateRole", "RoleName", "APP", "AssumeRolePolicyDocument", trust)
	root.fails(t, http.StatusBadRequest, "ValidationError", "iam", "CreateRole", "RoleName", "r2", "AssumeRolePolicyDocument", trust, "MaxSessionDuration", "43201")
	root.fails(t, http.StatusBadRequest, "MalformedPolicyDocument", "iam", "CreateRole", "RoleName", "r2", "AssumeRolePolicyDocument", "not json")
	root.fails(t, http.StatusBadRequest, "MalformedPolicyDocument", "iam", "CreateRole", "RoleName", "r2",
		"AssumeRolePolicyDocument", `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`)
	root.fails(t, http.StatusNotFound, "NoSuchEntity", "iam", "GetRole", "RoleName", "nope")

	var got struct {
		Max  int    `xml:"GetRoleResult>Role>MaxSessionDuration"`
		Desc string `xml:"GetRoleResult>Role>Description"`
	}
	root.ok(t, &got, "iam", "GetRole", "RoleName", "app")
	if got.Max != 7200 || got.Desc != "the app" {
		t.Errorf("GetRole = %+v", got)
	}
	doc := `{"Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}`
	root.ok(t, nil, "iam", "PutRolePolicy", "RoleName", "app", "PolicyName", "dec", "PolicyDocument", doc)
	var pol struct {
		Doc string `xml:"GetRolePolicyResult>PolicyDocument"`
	}
	root.ok(t, &pol, "iam", "GetRolePolicy", "RoleName", "app", "PolicyName", "dec")
	if dec, _ := url.QueryUnescape(pol.Doc); dec != doc {
		t.Errorf("GetRolePolicy = %q", pol.Doc)
	}
	root.fails(t, http.StatusConflict, "DeleteConflict", "iam", "DeleteRole", "RoleName", "app")
	root.ok(t, nil, "iam", "DeleteRolePolicy", "RoleName", "app", "PolicyName", "dec")
	root.fails(t, http.StatusNotFound, "NoSuchEntity", "iam", "DeleteRolePolicy", "RoleName", "app", "PolicyName", "dec")
	root.ok(t, nil, "iam", "DeleteRole", "RoleName", "app")
	root.fails(t, http.StatusNotFound, "NoSuchEntity", "iam", "GetRole", "RoleName", "app")
}
