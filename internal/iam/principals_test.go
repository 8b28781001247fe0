package iam

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

func TestPrincipalExists(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	if _, err := e.s.CreateUser(ctx, e.admin, &CreateUserInput{UserName: "Alice", Path: "/team/"}); err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + e.acct + `:root"},"Action":"sts:AssumeRole"}]}`
	role := e.role(t, "Dev", trust)
	a := e.acct
	alice, err := e.s.GetUser(ctx, e.admin, &GetUserInput{UserName: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		principal string
		want      bool
		id        string // the unique ID bound to, if any
	}{
		{"*", true, ""},
		{a, true, ""},
		{"arn:aws:iam::" + a + ":root", true, ""},
		{"arn:aws:iam::" + a + ":user/team/Alice", true, alice.User.UserID},
		{"arn:aws:iam::" + a + ":role/Dev", true, role.RoleID},
		{"arn:aws:sts::" + a + ":assumed-role/Dev/any-session", true, role.RoleID},
		{"arn:aws:sts::" + a + ":federated-user/bob", true, ""},
		{role.RoleID, true, ""}, // unique IDs are taken as written
		{"AIDAEXAMPLEEXAMPLEEXA", true, ""},

		{"999999999999", false, ""},
		{"arn:aws:iam::999999999999:root", false, ""},
		{"arn:aws:iam::" + a + ":user/Alice", false, ""},         // the path is part of the ARN
		{"arn:aws:iam::" + a + ":user/team/alice", false, ""},    // so is the name's case
		{"arn:aws:iam::" + a + ":user/team/Bob", false, ""},      // no such user
		{"arn:aws:iam::" + a + ":role/Ops", false, ""},           // no such role
		{"arn:aws:sts::" + a + ":assumed-role/Ops/s", false, ""}, // no such role
		{"arn:aws:sts::" + a + ":assumed-role/Dev", false, ""},   // no session name
		{"arn:aws-cn:iam::" + a + ":root", false, ""},            // another partition
		{"arn:aws:iam::" + a + ":group/devs", false, ""},         // groups are not principals
		{"arn:aws:s3:::bucket", false, ""},
		{"12345678901", false, ""},
		{"", false, ""},
	} {
		id, got, err := e.s.PrincipalID(ctx, tc.principal)
		if err != nil || got != tc.want {
			t.Errorf("PrincipalID(%q) = %v, %v; want %v", tc.principal, got, err, tc.want)
		}
		if wantID := tc.id; got && id != wantID {
			t.Errorf("PrincipalID(%q) = unique ID %q, want %q", tc.principal, id, wantID)
		}
	}
}

func TestTrustPolicyPrincipalsMustExist(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	trust := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"sts:AssumeRole"}]}`
	}
	nobody := "arn:aws:iam::" + e.acct + ":user/nobody"
	_, err := e.s.CreateRole(ctx, e.admin, &CreateRoleInput{RoleName: "R", AssumeRolePolicyDocument: trust(nobody)})
	wantCode(t, err, CodeMalformedPolicyDocument)
	if err == nil || err.Error() == "" || !strings.Contains(err.Error(), `Invalid principal in policy: "AWS":"`+nobody+`"`) {
		t.Errorf("CreateRole naming %s: %v", nobody, err)
	}
	if _, err := e.s.GetRole(ctx, e.admin, &GetRoleInput{RoleName: "R"}); err == nil {
		t.Error("the refused role was created")
	}

	good := trust("arn:aws:iam::" + e.acct + ":root")
	e.role(t, "R", good)
	err = e.s.UpdateAssumeRolePolicy(ctx, e.admin, &UpdateAssumeRolePolicyInput{RoleName: "R", PolicyDocument: trust("999999999999")})
	wantCode(t, err, CodeMalformedPolicyDocument)
	got, err := e.s.GetRole(ctx, e.admin, &GetRoleInput{RoleName: "R"})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.QueryUnescape(got.Role.AssumeRolePolicyDocument); doc != good {
		t.Errorf("the trust policy changed after a refused update: %s", doc)
	}
}
