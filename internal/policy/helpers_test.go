package policy

import (
	"testing"
)

// Accounts, key and principals used across the tests, named as in AWS's
// documentation examples.
const (
	acct    = "111122223333"
	extAcct = "444455556666"
	keyARN  = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	key2ARN = "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
)

var (
	alice = Principal{
		ARN: "arn:aws:iam::111122223333:user/Alice", Account: acct, Type: TypeIAMUser,
		UserID: "AIDAJQABLZS4A3QDU576Q", Username: "Alice",
	}
	exampleUser = Principal{
		ARN: "arn:aws:iam::111122223333:user/ExampleUser", Account: acct, Type: TypeIAMUser,
		UserID: "AIDACKCEVSQ6C2EXAMPLE", Username: "ExampleUser",
	}
	root = Principal{ARN: "arn:aws:iam::111122223333:root", Account: acct, Type: TypeRoot, UserID: acct}

	adminRole = Principal{
		ARN: "arn:aws:sts::111122223333:assumed-role/KMSAdminRole/admin", Account: acct, Type: TypeAssumedRole,
		RoleARN: "arn:aws:iam::111122223333:role/KMSAdminRole", UserID: "AROADBQP57FF2AEXAMPLE:admin",
	}
	devRole = Principal{
		ARN: "arn:aws:sts::111122223333:assumed-role/ExampleRole/dev", Account: acct, Type: TypeAssumedRole,
		RoleARN: "arn:aws:iam::111122223333:role/ExampleRole", UserID: "AROAEXAMPLEDEVROLE1234:dev",
	}
	ssoAdmin = Principal{
		ARN: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_abc123/alice", Account: acct, Type: TypeAssumedRole,
		RoleARN: "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_abc123",
		UserID:  "AROAEXAMPLESSOADMIN12:alice",
	}
	ssoReadOnly = Principal{
		ARN: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReadOnly_def456/alice", Account: acct, Type: TypeAssumedRole,
		RoleARN: "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ReadOnly_def456",
		UserID:  "AROAEXAMPLESSOREAD123:alice",
	}
	bob = Principal{
		ARN: "arn:aws:iam::444455556666:user/Bob", Account: extAcct, Type: TypeIAMUser,
		UserID: "AIDAEXAMPLEBOB1234567", Username: "Bob",
	}
	carol = Principal{
		ARN: "arn:aws:iam::444455556666:user/Carol", Account: extAcct, Type: TypeIAMUser,
		UserID: "AIDAEXAMPLECAROL12345", Username: "Carol",
	}
	extRoot    = Principal{ARN: "arn:aws:iam::444455556666:root", Account: extAcct, Type: TypeRoot, UserID: extAcct}
	cloudtrail = Principal{Type: TypeAWSService, Service: "cloudtrail.amazonaws.com"}
)

func mustParse(t testing.TB, doc string, kind Kind) *Policy {
	t.Helper()
	p, err := Parse(doc, kind)
	if err != nil {
		t.Fatalf("Parse(%v): %v\n%s", kind, err, doc)
	}
	return p
}
