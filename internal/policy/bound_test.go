package policy

import "testing"

// TestBoundPrincipals: a key or trust policy that named a user or role
// binds to the unique ID it had then; a principal re-created under the same
// ARN is someone else.
func TestBoundPrincipals(t *testing.T) {
	t.Parallel()
	const (
		acct    = "111122223333"
		userARN = "arn:aws:iam::111122223333:user/alice"
		roleARN = "arn:aws:iam::111122223333:role/dev"
		sessARN = "arn:aws:sts::111122223333:assumed-role/dev/s1"
		oldUser = "AIDAOLDOLDOLDOLDOLD1"
		newUser = "AIDANEWNEWNEWNEWNEW1"
		oldRole = "AROAOLDOLDOLDOLDOLD1"
		newRole = "AROANEWNEWNEWNEWNEW1"
	)
	alice := func(id string) Principal {
		return Principal{ARN: userARN, Account: acct, Type: TypeIAMUser, UserID: id, Username: "alice"}
	}
	dev := func(id string) Principal {
		return Principal{ARN: sessARN, Account: acct, Type: TypeAssumedRole, RoleARN: roleARN, UserID: id + ":s1"}
	}
	allow := func(principal string) *Policy {
		return mustParse(t, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"`+principal+`"},"Action":"kms:Decrypt","Resource":"*"}]}`, KeyPolicy)
	}
	denyAllBut := mustParse(t, `{"Statement":[
		{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"},
		{"Effect":"Deny","NotPrincipal":{"AWS":["111122223333","`+userARN+`"]},"Action":"kms:Decrypt","Resource":"*"}]}`, KeyPolicy)
	for _, tc := range []struct {
		name  string
		p     *Policy
		who   Principal
		bound map[string]string
		want  Effect
	}{
		{"user, unbound", allow(userARN), alice(newUser), nil, Allow},
		{"user, bound to it", allow(userARN), alice(oldUser), map[string]string{userARN: oldUser}, Allow},
		{"user re-created", allow(userARN), alice(newUser), map[string]string{userARN: oldUser}, NoMatch},
		{"role, bound to it", allow(roleARN), dev(oldRole), map[string]string{roleARN: oldRole}, Allow},
		{"role re-created", allow(roleARN), dev(newRole), map[string]string{roleARN: oldRole}, NoMatch},
		{"session, bound to its role", allow(sessARN), dev(oldRole), map[string]string{sessARN: oldRole}, Allow},
		{"session of a re-created role", allow(sessARN), dev(newRole), map[string]string{sessARN: oldRole}, NoMatch},
		{"account entries are not bound", allow(acct), alice(newUser), map[string]string{userARN: oldUser}, Allow},
		{"NotPrincipal exempts the bound user", denyAllBut, alice(oldUser), map[string]string{userARN: oldUser}, Allow},
		{"NotPrincipal does not exempt a re-created user", denyAllBut, alice(newUser), map[string]string{userARN: oldUser}, Deny},
	} {
		r := &Request{Principal: tc.who, Action: "kms:Decrypt", Resource: "arn:aws:kms:us-east-1:111122223333:key/k", BoundPrincipals: tc.bound}
		if got := tc.p.Evaluate(r); got != tc.want {
			t.Errorf("%s: Evaluate = %v, want %v", tc.name, got, tc.want)
		}
	}
}
