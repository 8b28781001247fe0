package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// This file checks the package against AWS's own documented examples: every
// policy in testdata/awsdocs is a policy (or the statements of one) printed
// on an AWS documentation page, and every row of TestAWSDocs is a request
// whose outcome that page states or that follows from what it states.
//
// The policies were transcribed from the pages' sources in the awsdocs
// repositories on GitHub (awsdocs/aws-kms-developer-guide, awsdocs/iam-user-guide,
// awsdocs/aws-codebuild-user-guide) and checked against the live pages where
// they are quoted in search results. Changes made to them are listed in
// awsDocsPolicies: where a page shows statements rather than a whole policy,
// they are wrapped in a policy document; placeholders (region-ID,
// account-ID) are given AWS's example values; and two typographical errors
// of the pages are corrected (a missing comma, spaces in IAM Sids).

// The AWS pages the rows come from.
const (
	docKeyPolicyDefault  = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"
	docKeyPolicyOverview = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html#key-policy-example"
	docExternalAccounts  = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html"
	docPolicyEvaluation  = "https://docs.aws.amazon.com/kms/latest/developerguide/policy-evaluation.html"
	docIAMExamples       = "https://docs.aws.amazon.com/kms/latest/developerguide/customer-managed-policies.html"
	docIAMBestPractices  = "https://docs.aws.amazon.com/kms/latest/developerguide/iam-policies-best-practices.html"
	docConditionsKMS     = "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html"
	docConditionsAWS     = "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-aws.html#conditions-aws-ip-address"
	docPowerUser         = "https://docs.aws.amazon.com/kms/latest/developerguide/aws-managed-policies.html"
	docAliasAuth         = "https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html"
	docTagAuth           = "https://docs.aws.amazon.com/kms/latest/developerguide/tag-authorization.html"
	// The DynamoDB page of the KMS guide, since moved to the DynamoDB guide;
	// its source is awsdocs/aws-kms-developer-guide doc_source/services-dynamodb.md.
	docDynamoDB   = "https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html#dynamodb-policies"
	docCodeBuild  = "https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up.html#setting-up-kms"
	docDenyIP     = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_deny-ip.html"
	docAdminJob   = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_job-functions.html#jf_administrator"
	docVariables  = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html"
	docPrincArn   = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn"
	docStsSession = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#sts-session-principals"
	docSSO        = "https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html"
)

// awsDocsPolicies names the page each policy file comes from and what was
// changed in transcribing it. Files named key-* are key policies, iam-*
// identity policies.
var awsDocsPolicies = map[string]string{
	"key-default.json":                          docKeyPolicyDefault + "#key-policy-default-allow-root-enable-iam (the whole programmatic default policy)",
	"key-console.json":                          docKeyPolicyOverview,
	"key-external-account.json":                 docExternalAccounts + " (Step 1 and the console's two statements for an external account, after the owner's \"Enable IAM policies\")",
	"key-external-principals.json":              docExternalAccounts + " (external ExampleRole and ExampleUser; the page's missing comma restored)",
	"iam-external-use-key.json":                 docExternalAccounts + "#cross-account-iam-policy (Step 2)",
	"key-policy-evaluation-acct2.json":          docPolicyEvaluation + "#example-cross-acct",
	"iam-policy-evaluation-engineering.json":    docPolicyEvaluation + "#example-cross-acct",
	"key-dynamodb-aws-managed.json":             docDynamoDB,
	"key-ebs-caller-account.json":               docConditionsKMS + "#conditions-kms-caller-account (statement wrapped in a policy)",
	"key-codebuild-s3.json":                     docCodeBuild + " (region-ID us-east-1, account-ID 111122223333; the elided \"Enable IAM User Permissions\" statement written out as the default one)",
	"key-via-service.json":                      docConditionsKMS + "#conditions-kms-via-service (the two statements)",
	"iam-deny-source-ip.json":                   docDenyIP + " (as published before aws:ViaAWSService was added)",
	"iam-deny-source-ip-via-service.json":       docDenyIP + " (current version, with aws:ViaAWSService false)",
	"iam-encrypt-decrypt-one-account.json":      docIAMExamples + "#iam-policy-example-encrypt-decrypt-one-account",
	"iam-encrypt-decrypt-one-region.json":       docIAMExamples + "#iam-policy-example-encrypt-decrypt-one-account-one-region",
	"iam-encrypt-decrypt-specific-keys.json":    docIAMExamples + "#iam-policy-example-encrypt-decrypt-specific-cmks",
	"iam-deny-disable-delete.json":              docIAMExamples + "#iam-policy-example-deny-disable-delete",
	"iam-create-key.json":                       docIAMExamples + "#iam-policy-example-create-key (Sids without the spaces IAM refuses)",
	"iam-read-only-console.json":                docIAMExamples + "#iam-policy-example-read-only-console (Sids without the spaces IAM refuses)",
	"iam-decrypt-resource-star.json":            docIAMBestPractices + "#avoid-resource-star (the policy the page describes in words)",
	"iam-aws-managed-kms-power-user.json":       docPowerUser,
	"iam-aws-managed-administrator-access.json": docAdminJob,
	"iam-deny-bypass-lockout.json":              docConditionsKMS + "#conditions-kms-bypass-policy-lockout-safety-check",
	"key-put-policy-no-bypass.json":             docConditionsKMS + "#conditions-kms-bypass-policy-lockout-safety-check (the page's key policy statement has no Principal; KMSAdminRole added)",
	"iam-symmetric-only.json":                   docConditionsKMS + "#conditions-kms-encryption-algorithm",
	"key-one-encryption-algorithm.json":         docConditionsKMS + "#conditions-kms-encryption-algorithm (the Deny, after the console's asymmetric key users statement of " + docKeyPolicyDefault + "#key-policy-users-crypto for ExampleRole)",
	"key-encryption-context.json":               docConditionsKMS + "#conditions-kms-encryption-context (AppName, Stage, Department and Project, and Appname case statements)",
	"key-encryption-context-either.json":        docConditionsKMS + "#conditions-kms-encryption-context-many (either pair; Stage Restricted or Production)",
	"key-encryption-context-only.json":          docConditionsKMS + "#conditions-kms-encryption-context-many (both pairs and no other key)",
	"key-encryption-context-keys.json":          docConditionsKMS + "#conditions-kms-encryption-context-keys (ForAnyValue and Null statements)",
	"key-encryption-context-variables.json":     docConditionsKMS + "#conditions-kms-encryption-context-variables",
	"key-grant-conditions.json":                 docConditionsKMS + "#conditions-kms-grant-operations, #conditions-kms-grantee-principal, #conditions-kms-grant-is-for-aws-resource (combined)",
	"key-request-alias.json":                    docConditionsKMS + "#conditions-kms-request-alias and " + docAliasAuth + "#alias-auth-request-alias",
	"iam-resource-aliases-finance.json":         docConditionsKMS + "#conditions-kms-resource-aliases (first example)",
	"iam-resource-aliases-test.json":            docConditionsKMS + "#conditions-kms-resource-aliases (second example)",
	"iam-resource-tag-project.json":             docTagAuth,
	"iam-resource-tag-deny-reserved.json":       docTagAuth,
	"iam-create-key-conditions.json":            docConditionsKMS + "#conditions-kms-key-spec, #conditions-kms-multiregion, #conditions-kms-key-usage (statements combined)",
	"key-request-parameters.json":               docConditionsKMS + " (kms:DataKeyPairSpec, kms:ValidTo, kms:WrappingAlgorithm, kms:ReEncryptOnSameKey, kms:MessageType, kms:MacAlgorithm, kms:SigningAlgorithm statements)",
	"key-sso-permission-sets.json":              docSSO + " (role ARN format with and without a Region; the aws:PrincipalArn pattern the page recommends; a session principal, " + docStsSession + ")",
}

// Keys of the examples.
const (
	docKeyW     = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	docKey2W    = "arn:aws:kms:us-west-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
	docKeyE     = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	docKeySG    = "arn:aws:kms:ap-southeast-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	docKeyAcct2 = "arn:aws:kms:us-west-2:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	docKey2Acct = "arn:aws:kms:us-west-2:444455556666:key/0987dcba-09fe-87dc-65ba-ab0987654321"
	docKey712   = "arn:aws:kms:us-west-2:712816755609:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// docSession is an STS session of the role path+name in account acct.
func docSession(acct, path, role, session, roleID string) Principal {
	return Principal{
		ARN:     "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + session,
		Account: acct, Type: TypeAssumedRole,
		RoleARN: "arn:aws:iam::" + acct + ":role/" + path + role,
		UserID:  roleID + ":" + session,
	}
}

const ssoPath = "aws-reserved/sso.amazonaws.com/eu-west-2/"

// Principals of the examples, besides those of helpers_test.go.
var (
	docExtUser = Principal{ARN: "arn:aws:iam::444455556666:user/ExampleUser", Account: extAcct, Type: TypeIAMUser,
		UserID: "AIDAEXAMPLEEXTUSER123", Username: "ExampleUser"}
	docExtRole       = docSession(extAcct, "", "ExampleRole", "s1", "AROAEXAMPLEEXTROLE123")
	docAlice712      = Principal{ARN: "arn:aws:iam::712816755609:user/alice", Account: "712816755609", Type: TypeIAMUser, UserID: "AIDAEXAMPLEALICE71281", Username: "alice"}
	docAppRole       = docSession(acct, "", "RoleForExampleApp", "app", "AROAEXAMPLEAPPROLE123")
	docTestTeam      = docSession(acct, "", "TestTeam", "bob", "AROAEXAMPLETESTTEAM12")
	docDeveloper     = docSession(acct, "", "developer", "dev", "AROAEXAMPLEDEVELOPER1")
	docAlphaDev      = docSession(acct, "", "alpha-developer", "dev", "AROAEXAMPLEALPHADEV12")
	docTesters       = docSession(acct, "", "testers", "t", "AROAEXAMPLETESTERS123")
	docCodeBuildRole = docSession(acct, "", "CodeBuild-service-role", "build-1", "AROAEXAMPLECODEBUILD1")
	// policy-evaluation.html Example 2: Bob assumes the Engineering role
	// (its RoleId is the page's).
	docEngineering = docSession(acct, "", "Engineering", "bob", "AROA4KJY2TU23Y7NK62MV")

	// IAM Identity Center sessions: role ARNs as referencingpermissionsets.html
	// gives them, session names as the user signs in.
	docSSODBA       = docSession(acct, ssoPath, "AWSReservedSSO_DatabaseAdministrator_1234567890abcdef", "alice@example.com", "AROAEXAMPLESSODBA1234")
	docSSODBANew    = docSession(acct, ssoPath, "AWSReservedSSO_DatabaseAdministrator_abcdef0123456789", "alice@example.com", "AROAEXAMPLESSODBA5678")
	docSSODBAEast   = docSession(acct, "aws-reserved/sso.amazonaws.com/", "AWSReservedSSO_DatabaseAdministrator_fedcba0987654321", "carol@example.com", "AROAEXAMPLESSODBAEAST")
	docSSODBAEast2  = docSession(acct, "aws-reserved/sso.amazonaws.com/", "AWSReservedSSO_DatabaseAdministrator_fedcba0987654321", "dave@example.com", "AROAEXAMPLESSODBAEAST")
	docSSODBAExt    = docSession(extAcct, ssoPath, "AWSReservedSSO_DatabaseAdministrator_1234567890abcdef", "alice@example.com", "AROAEXAMPLESSODBAEXT1")
	docSSOAdmin     = docSession(acct, ssoPath, "AWSReservedSSO_AdministratorAccess_0123456789abcdef", "admin@example.com", "AROAEXAMPLESSOADMINAC")
	docSSOPowerUser = docSession(acct, ssoPath, "AWSReservedSSO_KMSPowerUser_89abcdef01234567", "dev@example.com", "AROAEXAMPLESSOPOWERUS")

	docDynamoDBService = Principal{Type: TypeAWSService, Service: "dynamodb.amazonaws.com"}
)

// docWant is the expected decision.
type docWant uint8

const (
	allow      docWant = iota // allowed
	denyKey                   // explicit deny in the key policy
	denyIAM                   // explicit deny in an identity policy
	noKeyAllow                // implicit deny: no key policy statement allows
	noIAMAllow                // implicit deny: the key policy delegates to IAM, and no IAM policy allows
)

// decision is the Decision AWS's words give for want: the Reason is the end
// of AWS's AccessDeniedException message ("User: … is not authorized to
// perform: kms:Decrypt on resource: … because no identity-based policy
// allows the kms:Decrypt action"). A principal of another account that the
// key policy refuses is told only that the resource may not exist, in AWS's
// words, so that it learns nothing about the key.
func (w docWant) decision(action string, crossAccount bool) Decision {
	hidden := "because the resource does not exist in this Region, no resource-based policies allow access, " +
		"or a resource-based policy explicitly denies access"
	switch {
	case crossAccount && w == denyKey:
		return Decision{ExplicitDeny: true, Reason: hidden, HideResource: true}
	case crossAccount && w == noKeyAllow:
		return Decision{Reason: hidden, HideResource: true}
	}
	switch w {
	case allow:
		return Decision{Allowed: true}
	case denyKey:
		return Decision{ExplicitDeny: true, Reason: "with an explicit deny in a resource-based policy"}
	case denyIAM:
		return Decision{ExplicitDeny: true, Reason: "with an explicit deny in an identity-based policy"}
	case noKeyAllow:
		return Decision{Reason: "because no resource-based policy allows the " + action + " action"}
	case noIAMAllow:
		return Decision{Reason: "because no identity-based policy allows the " + action + " action"}
	}
	panic("bad docWant")
}

type docCase struct {
	name string
	src  string // the AWS page (and section) the row comes from
	// key is the key policy file, "" for an account-level action; iam the
	// identity policy files.
	key   string
	iam   []string
	grant bool
	who   Principal
	act   string
	// res is the resource ARN, docKeyW if empty. The key's account is the
	// ARN's; for "*" it is the caller's.
	res  string
	ctx  map[string][]string
	want docWant
}

// ctxOf builds a request context from key, value pairs; keys are
// lower-cased as kms/authz.go does. A key given twice is multivalued.
func ctxOf(kv ...string) map[string][]string {
	m := map[string][]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := strings.ToLower(kv[i])
		m[k] = append(m[k], kv[i+1])
	}
	return m
}

// ecOf is the context of a request with an encryption context, as
// kms/authz.go builds it: kms:EncryptionContext:<key> for each pair and
// kms:EncryptionContextKeys with the keys as written, plus the extra keys.
func ecOf(pairs []string, extra ...string) map[string][]string {
	m := ctxOf(extra...)
	for i := 0; i+1 < len(pairs); i += 2 {
		m["kms:encryptioncontext:"+strings.ToLower(pairs[i])] = []string{pairs[i+1]}
		m["kms:encryptioncontextkeys"] = append(m["kms:encryptioncontextkeys"], pairs[i])
	}
	return m
}

func ec(pairs ...string) []string { return pairs }

func awsDocsCases() []docCase {
	var (
		via = func(svc, caller string, extra ...string) map[string][]string {
			return ctxOf(append([]string{"kms:ViaService", svc, "kms:CallerAccount", caller}, extra...)...)
		}
		iamAdmin     = []string{"iam-aws-managed-administrator-access.json"}
		iamOneAcct   = []string{"iam-encrypt-decrypt-one-account.json"}
		iamExtUseKey = []string{"iam-external-use-key.json"}
	)
	return []docCase{
		// The default key policy: the account principal gives the account
		// full access and lets IAM policies allow access.
		{name: "default policy: root user has full access", src: docKeyPolicyDefault + "#key-policy-default-allow-root-enable-iam",
			key: "key-default.json", who: root, act: "kms:ScheduleKeyDeletion", want: allow},
		{name: "default policy: user with no IAM policy is denied (Example 1)", src: docPolicyEvaluation + "#example-no-iam",
			key: "key-default.json", who: alice, act: "kms:Decrypt", want: noIAMAllow},
		{name: "default policy: an IAM policy delegates use of the key", src: docKeyPolicyDefault + "#allow-iam-policies",
			key: "key-default.json", iam: iamOneAcct, who: alice, act: "kms:Decrypt", want: allow},
		{name: "no account statement: IAM allow is ineffective", src: docKeyPolicyDefault + "#key-policy-default-allow-root-enable-iam",
			key: "key-sso-permission-sets.json", iam: iamAdmin, who: docSSOAdmin, act: "kms:Decrypt", want: noKeyAllow},
		{name: "no account statement: IAM deny is still effective", src: docKeyPolicyDefault + "#key-policy-default-allow-root-enable-iam",
			key: "key-sso-permission-sets.json", iam: []string{"iam-deny-disable-delete.json"}, who: docSSODBA, act: "kms:ScheduleKeyDeletion", want: denyIAM},

		// The console's default key policy: key administrators and key users.
		{name: "console policy: key administrator role changes the key policy", src: docKeyPolicyDefault + "#key-policy-default-allow-administrators",
			key: "key-console.json", who: adminRole, act: "kms:PutKeyPolicy", want: allow},
		{name: "console policy: kms:Delete* allows DeleteAlias", src: docKeyPolicyDefault + "#key-policy-default-allow-administrators",
			key: "key-console.json", who: adminRole, act: "kms:DeleteAlias", want: allow},
		{name: "console policy: key administrators cannot encrypt", src: docKeyPolicyDefault + "#key-policy-default-allow-administrators",
			key: "key-console.json", who: adminRole, act: "kms:Encrypt", want: noIAMAllow},
		{name: "console policy: key user role decrypts", src: docKeyPolicyOverview,
			key: "key-console.json", who: devRole, act: "kms:Decrypt", want: allow},
		{name: "console policy: kms:GenerateDataKey* covers GenerateDataKeyPairWithoutPlaintext", src: docKeyPolicyDefault + "#key-policy-users-crypto",
			key: "key-console.json", who: devRole, act: "kms:GenerateDataKeyPairWithoutPlaintext", want: allow},
		{name: "console policy: key user cannot schedule deletion", src: docKeyPolicyOverview,
			key: "key-console.json", who: devRole, act: "kms:ScheduleKeyDeletion", want: noIAMAllow},
		{name: "console policy: key user creates a grant through an AWS service", src: docKeyPolicyDefault + "#key-policy-service-integration",
			key: "key-console.json", who: exampleUser, act: "kms:CreateGrant", ctx: ctxOf("kms:GrantIsForAWSResource", "true"), want: allow},
		{name: "console policy: key user cannot call CreateGrant directly", src: docKeyPolicyDefault + "#key-policy-service-integration",
			key: "key-console.json", who: exampleUser, act: "kms:CreateGrant", want: noIAMAllow},
		{name: "console policy: external account key user with IAM policy", src: docKeyPolicyDefault + "#key-policy-default-allow-users",
			key: "key-console.json", iam: iamExtUseKey, who: bob, act: "kms:Encrypt", want: allow},
		{name: "console policy: external account key user without IAM policy", src: docKeyPolicyDefault + "#key-policy-default-allow-users",
			key: "key-console.json", who: bob, act: "kms:Decrypt", want: noIAMAllow},

		// Other accounts: the key policy says who can, the IAM policy who does.
		{name: "external account: key policy and IAM policy both allow", src: docExternalAccounts,
			key: "key-external-account.json", iam: iamExtUseKey, who: bob, act: "kms:GenerateDataKey", want: allow},
		{name: "external account: IAM policy names another key", src: docExternalAccounts + "#cross-account-iam-policy",
			key: "key-external-account.json", iam: iamExtUseKey, who: bob, act: "kms:Decrypt", res: docKey2W, want: noIAMAllow},
		{name: "external account: IAM actions beyond the key policy are not effective", src: docExternalAccounts + "#cross-account-iam-policy",
			key: "key-external-account.json", iam: iamAdmin, who: bob, act: "kms:ScheduleKeyDeletion", want: noKeyAllow},
		{name: "external account: grant for an AWS resource", src: docExternalAccounts + "#cross-account-console",
			key: "key-external-account.json", iam: iamAdmin, who: bob, act: "kms:CreateGrant", ctx: ctxOf("kms:GrantIsForAWSResource", "true"), want: allow},
		{name: "external account: direct CreateGrant", src: docExternalAccounts + "#cross-account-console",
			key: "key-external-account.json", iam: iamAdmin, who: bob, act: "kms:CreateGrant", ctx: ctxOf("kms:GrantIsForAWSResource", "false"), want: noKeyAllow},
		{name: "external principals: named user with IAM policy", src: docExternalAccounts + "#cross-account-key-policy",
			key: "key-external-principals.json", iam: iamExtUseKey, who: docExtUser, act: "kms:Encrypt", want: allow},
		{name: "external principals: session of the named role with IAM policy", src: docExternalAccounts + "#cross-account-key-policy",
			key: "key-external-principals.json", iam: iamExtUseKey, who: docExtRole, act: "kms:Decrypt", want: allow},
		{name: "external principals: named user still needs an IAM policy", src: docExternalAccounts + "#cross-account-key-policy",
			key: "key-external-principals.json", who: docExtUser, act: "kms:Encrypt", want: noIAMAllow},
		{name: "external principals: IAM policy for an unnamed user has no effect", src: docExternalAccounts + "#cross-account-iam-policy",
			key: "key-external-principals.json", iam: iamExtUseKey, who: bob, act: "kms:Encrypt", want: noKeyAllow},

		// policy-evaluation.html Example 2: a role in account 1 uses a key
		// of account 2.
		{name: "Example 2: Engineering role encrypts with account 2's key", src: docPolicyEvaluation + "#example-cross-acct",
			key: "key-policy-evaluation-acct2.json", iam: []string{"iam-policy-evaluation-engineering.json"}, who: docEngineering, act: "kms:Encrypt", res: docKeyAcct2, want: allow},
		{name: "Example 2: ReEncryptTo", src: docPolicyEvaluation + "#example-cross-acct",
			key: "key-policy-evaluation-acct2.json", iam: []string{"iam-policy-evaluation-engineering.json"}, who: docEngineering, act: "kms:ReEncryptTo", res: docKeyAcct2, want: allow},
		{name: "Example 2: without the role's IAM policy", src: docPolicyEvaluation + "#example-cross-acct",
			key: "key-policy-evaluation-acct2.json", who: docEngineering, act: "kms:Encrypt", res: docKeyAcct2, want: noIAMAllow},
		{name: "Example 2: another key of account 2", src: docPolicyEvaluation + "#example-cross-acct",
			key: "key-policy-evaluation-acct2.json", iam: []string{"iam-policy-evaluation-engineering.json"}, who: docEngineering, act: "kms:Decrypt", res: docKey2Acct, want: noIAMAllow},
		{name: "Example 2: action account 2 did not give", src: docPolicyEvaluation + "#example-cross-acct",
			key: "key-policy-evaluation-acct2.json", iam: iamAdmin, who: docEngineering, act: "kms:GenerateDataKeyPair", res: docKeyAcct2, want: noKeyAllow},

		// IAM policy examples of the KMS guide, under the default key policy.
		{name: "IAM: any key of the account, any Region", src: docIAMExamples + "#iam-policy-example-encrypt-decrypt-one-account",
			key: "key-default.json", iam: iamOneAcct, who: alice, act: "kms:Encrypt", res: docKeyE, want: allow},
		{name: "IAM: any key of the account, not another account's", src: docIAMExamples + "#iam-policy-example-encrypt-decrypt-one-account",
			key: "key-policy-evaluation-acct2.json", iam: iamOneAcct, who: alice, act: "kms:Decrypt", res: docKeyAcct2, want: noIAMAllow},
		{name: "IAM: account and Region, key in the Region", src: docIAMExamples + "#iam-policy-example-encrypt-decrypt-one-account-one-region",
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-one-region.json"}, who: alice, act: "kms:Decrypt", want: allow},
		{name: "IAM: account and Region, key in another Region", src: docIAMExamples + "#iam-policy-example-encrypt-decrypt-one-account-one-region",
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-one-region.json"}, who: alice, act: "kms:Decrypt", res: docKeyE, want: noIAMAllow},
		{name: "IAM: specific keys, the second one", src: docIAMExamples + "#iam-policy-example-encrypt-decrypt-specific-cmks",
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-specific-keys.json"}, who: alice, act: "kms:Encrypt", res: docKey2W, want: allow},
		{name: "IAM: specific keys, an action not listed", src: docIAMExamples + "#iam-policy-example-encrypt-decrypt-specific-cmks",
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-specific-keys.json"}, who: alice, act: "kms:GenerateDataKey", want: noIAMAllow},
		{name: "IAM Deny overrides the key administrators statement: ScheduleKeyDeletion", src: docIAMExamples + "#iam-policy-example-deny-disable-delete",
			key: "key-console.json", iam: []string{"iam-deny-disable-delete.json"}, who: adminRole, act: "kms:ScheduleKeyDeletion", want: denyIAM},
		{name: "IAM Deny overrides the key administrators statement: DisableKey", src: docIAMExamples + "#iam-policy-example-deny-disable-delete",
			key: "key-console.json", iam: []string{"iam-deny-disable-delete.json"}, who: adminRole, act: "kms:DisableKey", want: denyIAM},
		{name: "IAM Deny leaves EnableKey to the key policy", src: docIAMExamples + "#iam-policy-example-deny-disable-delete",
			key: "key-console.json", iam: []string{"iam-deny-disable-delete.json"}, who: adminRole, act: "kms:EnableKey", want: allow},
		{name: "IAM: CreateKey is account-level", src: docIAMExamples + "#iam-policy-example-create-key",
			iam: []string{"iam-create-key.json"}, who: alice, act: "kms:CreateKey", res: "*", want: allow},
		{name: "IAM: CreateAlias on an alias of the account", src: docIAMExamples + "#iam-policy-example-create-key",
			iam: []string{"iam-create-key.json"}, who: alice, act: "kms:CreateAlias", res: "arn:aws:kms:us-west-2:111122223333:alias/test-key", want: allow},
		{name: "IAM: TagResource on a key of the account", src: docIAMExamples + "#iam-policy-example-create-key",
			key: "key-default.json", iam: []string{"iam-create-key.json"}, who: alice, act: "kms:TagResource", want: allow},
		{name: "IAM: the create-key policy gives no PutKeyPolicy", src: docIAMExamples + "#iam-policy-example-create-key",
			key: "key-default.json", iam: []string{"iam-create-key.json"}, who: alice, act: "kms:PutKeyPolicy", want: noIAMAllow},
		{name: "IAM: read-only console, DescribeKey", src: docIAMExamples + "#iam-policy-example-read-only-console",
			key: "key-default.json", iam: []string{"iam-read-only-console.json"}, who: alice, act: "kms:DescribeKey", want: allow},
		{name: "IAM: read-only console, ListAliases", src: docIAMExamples + "#iam-policy-example-read-only-console",
			iam: []string{"iam-read-only-console.json"}, who: alice, act: "kms:ListAliases", res: "*", want: allow},
		{name: "IAM: read-only console, no Decrypt", src: docIAMExamples + "#iam-policy-example-read-only-console",
			key: "key-default.json", iam: []string{"iam-read-only-console.json"}, who: alice, act: "kms:Decrypt", want: noIAMAllow},
		{name: `IAM "Resource": "*" reaches a key another account shares`, src: docIAMBestPractices + "#avoid-resource-star",
			key: "key-policy-evaluation-acct2.json", iam: []string{"iam-decrypt-resource-star.json"}, who: alice, act: "kms:Decrypt", res: docKeyAcct2, want: allow},
		{name: `IAM "Resource": "*" cannot exceed that key policy`, src: docIAMBestPractices + "#avoid-resource-star",
			key: "key-policy-evaluation-acct2.json", iam: iamAdmin, who: alice, act: "kms:ScheduleKeyDeletion", res: docKeyAcct2, want: noKeyAllow},

		// Admin (AdministratorAccess, "Action": "*") and developer
		// (AWSKeyManagementServicePowerUser) permission sets under the
		// default key policy.
		{name: "AdministratorAccess session schedules key deletion", src: docAdminJob,
			key: "key-default.json", iam: iamAdmin, who: docSSOAdmin, act: "kms:ScheduleKeyDeletion", want: allow},
		{name: "AdministratorAccess session decrypts", src: docAdminJob,
			key: "key-default.json", iam: iamAdmin, who: docSSOAdmin, act: "kms:Decrypt", want: allow},
		{name: "AdministratorAccess cannot use an AWS managed key directly", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", iam: iamAdmin, who: docSSOAdmin, act: "kms:Decrypt", want: noKeyAllow},
		{name: "power user describes any key", src: docPowerUser,
			key: "key-default.json", iam: []string{"iam-aws-managed-kms-power-user.json"}, who: docSSOPowerUser, act: "kms:DescribeKey", want: allow},
		{name: "power user tags any key", src: docPowerUser,
			key: "key-default.json", iam: []string{"iam-aws-managed-kms-power-user.json"}, who: docSSOPowerUser, act: "kms:TagResource", want: allow},
		{name: "power user cannot decrypt", src: docPowerUser,
			key: "key-default.json", iam: []string{"iam-aws-managed-kms-power-user.json"}, who: docSSOPowerUser, act: "kms:Decrypt", want: noIAMAllow},
		{name: "power user cannot schedule deletion", src: docPowerUser,
			key: "key-default.json", iam: []string{"iam-aws-managed-kms-power-user.json"}, who: docSSOPowerUser, act: "kms:ScheduleKeyDeletion", want: noIAMAllow},
		{name: "power user creates keys", src: docPowerUser,
			iam: []string{"iam-aws-managed-kms-power-user.json"}, who: docSSOPowerUser, act: "kms:CreateKey", res: "*", want: allow},
		{name: "power user generates random bytes", src: docPowerUser,
			iam: []string{"iam-aws-managed-kms-power-user.json"}, who: docSSOPowerUser, act: "kms:GenerateRandom", res: "*", want: allow},

		// NotIpAddress on aws:SourceIp.
		{name: "deny outside IP ranges: request from inside", src: docDenyIP,
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-one-account.json", "iam-deny-source-ip.json"}, who: alice, act: "kms:Decrypt",
			ctx: ctxOf("aws:SourceIp", "192.0.2.10"), want: allow},
		{name: "deny outside IP ranges: request from outside", src: docDenyIP,
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-one-account.json", "iam-deny-source-ip.json"}, who: alice, act: "kms:Decrypt",
			ctx: ctxOf("aws:SourceIp", "198.51.100.7"), want: denyIAM},
		{name: "deny outside IP ranges: EC2 decrypting an EBS volume's key fails", src: docConditionsAWS,
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-one-account.json", "iam-deny-source-ip.json"}, who: alice, act: "kms:Decrypt",
			ctx: ctxOf("aws:SourceIp", "198.51.100.44", "kms:ViaService", "ec2.us-west-2.amazonaws.com", "aws:ViaAWSService", "true"), want: denyIAM},
		{name: "deny outside IP ranges with aws:ViaAWSService: EC2 on the user's behalf", src: docDenyIP,
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-one-account.json", "iam-deny-source-ip-via-service.json"}, who: alice, act: "kms:Decrypt",
			ctx: ctxOf("aws:SourceIp", "198.51.100.44", "kms:ViaService", "ec2.us-west-2.amazonaws.com", "aws:ViaAWSService", "true"), want: allow},
		{name: "deny outside IP ranges with aws:ViaAWSService: direct call from outside", src: docDenyIP,
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-one-account.json", "iam-deny-source-ip-via-service.json"}, who: alice, act: "kms:Decrypt",
			ctx: ctxOf("aws:SourceIp", "198.51.100.7", "aws:ViaAWSService", "false"), want: denyIAM},

		// Service statements: S3 and DynamoDB through kms:ViaService and
		// kms:CallerAccount.
		{name: "DynamoDB managed key: user of the account through DynamoDB", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: alice, act: "kms:GenerateDataKey", ctx: via("dynamodb.us-west-2.amazonaws.com", acct), want: allow},
		{name: "DynamoDB managed key: CreateGrant through DynamoDB", src: docDynamoDB + " (#dynamodb-grants)",
			key: "key-dynamodb-aws-managed.json", who: alice, act: "kms:CreateGrant", ctx: via("dynamodb.us-west-2.amazonaws.com", acct), want: allow},
		{name: "DynamoDB managed key: another account through DynamoDB", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", iam: iamExtUseKey, who: bob, act: "kms:Decrypt", ctx: via("dynamodb.us-west-2.amazonaws.com", extAcct), want: noKeyAllow},
		{name: "DynamoDB managed key: metadata needs an IAM policy", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: alice, act: "kms:DescribeKey", want: noIAMAllow},
		{name: "DynamoDB managed key: root revokes the grant", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: root, act: "kms:RevokeGrant", want: allow},
		{name: "DynamoDB managed key: root cannot decrypt directly", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: root, act: "kms:Decrypt", want: noKeyAllow},
		{name: "DynamoDB managed key: the service principal describes the key", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: docDynamoDBService, act: "kms:DescribeKey", want: allow},
		{name: "DynamoDB managed key: the service principal cannot decrypt", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: docDynamoDBService, act: "kms:Decrypt", want: noKeyAllow},
		{name: "DynamoDB managed key: a user of the account through DynamoDB, no IAM policy", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: alice, act: "kms:Decrypt", ctx: via("dynamodb.us-west-2.amazonaws.com", acct, "aws:CalledVia", "dynamodb.amazonaws.com", "aws:ViaAWSService", "true"), want: allow},
		{name: "DynamoDB managed key: the same user directly", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: alice, act: "kms:Decrypt", ctx: ctxOf("kms:CallerAccount", acct, "aws:ViaAWSService", "false"), want: noKeyAllow},
		{name: "DynamoDB managed key: through another service", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: alice, act: "kms:Encrypt", ctx: via("s3.us-west-2.amazonaws.com", acct), want: noKeyAllow},
		{name: "DynamoDB managed key: another account through DynamoDB", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", iam: iamExtUseKey, who: bob, act: "kms:Decrypt", ctx: via("dynamodb.us-west-2.amazonaws.com", extAcct), want: noKeyAllow},
		{name: "DynamoDB managed key: the root describes the key directly", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: root, act: "kms:DescribeKey", ctx: ctxOf("kms:CallerAccount", acct), want: allow},
		{name: "DynamoDB managed key: a user describes it only with an IAM policy", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: alice, act: "kms:DescribeKey", ctx: ctxOf("kms:CallerAccount", acct), want: noIAMAllow},
		{name: "DynamoDB managed key: not even the root disables it", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", who: root, act: "kms:DisableKey", ctx: ctxOf("kms:CallerAccount", acct), want: noKeyAllow},
		{name: "DynamoDB managed key: nor changes its policy", src: docDynamoDB,
			key: "key-dynamodb-aws-managed.json", iam: iamAdmin, who: alice, act: "kms:PutKeyPolicy", ctx: ctxOf("kms:CallerAccount", acct), want: noKeyAllow},
		{name: "S3 statement: user of the account through S3", src: docCodeBuild,
			key: "key-codebuild-s3.json", who: alice, act: "kms:GenerateDataKey", ctx: via("s3.us-east-1.amazonaws.com", acct), want: allow},
		{name: "S3 statement: S3 in another Region", src: docCodeBuild,
			key: "key-codebuild-s3.json", who: alice, act: "kms:GenerateDataKey", ctx: via("s3.eu-west-1.amazonaws.com", acct), want: noIAMAllow},
		{name: "S3 statement: another account through S3", src: docCodeBuild,
			key: "key-codebuild-s3.json", iam: iamExtUseKey, who: bob, act: "kms:Decrypt", ctx: via("s3.us-east-1.amazonaws.com", extAcct), want: noKeyAllow},
		{name: "S3 statement: CodeBuild service role directly", src: docCodeBuild,
			key: "key-codebuild-s3.json", who: docCodeBuildRole, act: "kms:Encrypt", want: allow},
		{name: "EBS statement: user of the account through EC2", src: docConditionsKMS + "#conditions-kms-caller-account",
			key: "key-ebs-caller-account.json", who: alice, act: "kms:CreateGrant", ctx: via("ec2.us-west-2.amazonaws.com", acct), want: allow},
		{name: "EBS statement: direct call", src: docConditionsKMS + "#conditions-kms-caller-account",
			key: "key-ebs-caller-account.json", who: alice, act: "kms:Decrypt", ctx: ctxOf("kms:CallerAccount", acct), want: noKeyAllow},
		{name: "EBS statement: another account", src: docConditionsKMS + "#conditions-kms-caller-account",
			key: "key-ebs-caller-account.json", iam: iamExtUseKey, who: bob, act: "kms:Decrypt", ctx: via("ec2.us-west-2.amazonaws.com", extAcct), want: noKeyAllow},
		{name: "kms:ViaService: RDS in us-west-2", src: docConditionsKMS + "#conditions-kms-via-service",
			key: "key-via-service.json", who: exampleUser, act: "kms:Decrypt", ctx: ctxOf("kms:ViaService", "rds.us-west-2.amazonaws.com"), want: allow},
		{name: "kms:ViaService: RDS in another Region", src: docConditionsKMS + "#conditions-kms-via-service",
			key: "key-via-service.json", who: exampleUser, act: "kms:Decrypt", ctx: ctxOf("kms:ViaService", "rds.us-east-1.amazonaws.com"), want: noKeyAllow},
		{name: "kms:ViaService: Lambda denied Encrypt", src: docConditionsKMS + "#conditions-kms-via-service",
			key: "key-via-service.json", who: exampleUser, act: "kms:Encrypt", ctx: ctxOf("kms:ViaService", "lambda.us-west-2.amazonaws.com"), want: denyKey},
		{name: "kms:ViaService: direct call", src: docConditionsKMS + "#conditions-kms-via-service",
			key: "key-via-service.json", who: exampleUser, act: "kms:Encrypt", want: noKeyAllow},

		// AWS KMS condition keys.
		{name: "kms:BypassPolicyLockoutSafetyCheck true denied", src: docConditionsKMS + "#conditions-kms-bypass-policy-lockout-safety-check",
			iam: []string{"iam-create-key.json", "iam-deny-bypass-lockout.json"}, who: alice, act: "kms:CreateKey", res: "*",
			ctx: ctxOf("kms:BypassPolicyLockoutSafetyCheck", "true"), want: denyIAM},
		{name: "kms:BypassPolicyLockoutSafetyCheck false allowed", src: docConditionsKMS + "#conditions-kms-bypass-policy-lockout-safety-check",
			iam: []string{"iam-create-key.json", "iam-deny-bypass-lockout.json"}, who: alice, act: "kms:CreateKey", res: "*",
			ctx: ctxOf("kms:BypassPolicyLockoutSafetyCheck", "false"), want: allow},
		{name: "Null kms:BypassPolicyLockoutSafetyCheck: parameter absent", src: docConditionsKMS + "#conditions-kms-bypass-policy-lockout-safety-check",
			key: "key-put-policy-no-bypass.json", who: adminRole, act: "kms:PutKeyPolicy", want: allow},
		{name: "Null kms:BypassPolicyLockoutSafetyCheck: parameter present", src: docConditionsKMS + "#conditions-kms-bypass-policy-lockout-safety-check",
			key: "key-put-policy-no-bypass.json", who: adminRole, act: "kms:PutKeyPolicy", ctx: ctxOf("kms:BypassPolicyLockoutSafetyCheck", "false"), want: noKeyAllow},
		{name: "kms:EncryptionAlgorithm: the one algorithm", src: docConditionsKMS + "#conditions-kms-encryption-algorithm",
			key: "key-one-encryption-algorithm.json", who: devRole, act: "kms:Decrypt", ctx: ctxOf("kms:EncryptionAlgorithm", "RSAES_OAEP_SHA_256"), want: allow},
		{name: "kms:EncryptionAlgorithm: another algorithm denied", src: docConditionsKMS + "#conditions-kms-encryption-algorithm",
			key: "key-one-encryption-algorithm.json", who: devRole, act: "kms:Encrypt", ctx: ctxOf("kms:EncryptionAlgorithm", "RSAES_OAEP_SHA_1"), want: denyKey},
		{name: "kms:EncryptionAlgorithm: the Deny takes precedence over grants", src: docConditionsKMS + "#conditions-kms-encryption-algorithm",
			key: "key-one-encryption-algorithm.json", grant: true, who: devRole, act: "kms:Encrypt", ctx: ctxOf("kms:EncryptionAlgorithm", "RSAES_OAEP_SHA_1"), want: denyKey},
		{name: "kms:EncryptionAlgorithm: IAM symmetric-only Deny", src: docConditionsKMS + "#conditions-kms-encryption-algorithm",
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-one-account.json", "iam-symmetric-only.json"}, who: alice, act: "kms:Encrypt",
			ctx: ctxOf("kms:EncryptionAlgorithm", "RSAES_OAEP_SHA_256"), want: denyIAM},
		{name: "kms:EncryptionAlgorithm: IAM symmetric-only allows SYMMETRIC_DEFAULT", src: docConditionsKMS + "#conditions-kms-encryption-algorithm",
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-one-account.json", "iam-symmetric-only.json"}, who: alice, act: "kms:Encrypt",
			ctx: ctxOf("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT"), want: allow},
		{name: "kms:EncryptionAlgorithm: IAM symmetric-only covers us-west-2 only", src: docConditionsKMS + "#conditions-kms-encryption-algorithm",
			key: "key-default.json", iam: []string{"iam-encrypt-decrypt-one-account.json", "iam-symmetric-only.json"}, who: alice, act: "kms:Encrypt", res: docKeyE,
			ctx: ctxOf("kms:EncryptionAlgorithm", "RSAES_OAEP_SHA_256"), want: allow},
		{name: "kms:EncryptionContext: required pair, other pairs permitted", src: docConditionsKMS + "#conditions-kms-encryption-context",
			key: "key-encryption-context.json", who: docAppRole, act: "kms:GenerateDataKey", ctx: ecOf(ec("AppName", "ExampleApp", "Project", "Alpha")), want: allow},
		{name: "kms:EncryptionContext: no encryption context", src: docConditionsKMS + "#conditions-kms-encryption-context",
			key: "key-encryption-context.json", who: docAppRole, act: "kms:GenerateDataKey", want: noKeyAllow},
		{name: "kms:EncryptionContext: Stage=Restricted denied", src: docConditionsKMS + "#conditions-kms-encryption-context",
			key: "key-encryption-context.json", who: docAppRole, act: "kms:GenerateDataKey", ctx: ecOf(ec("AppName", "ExampleApp", "Stage", "Restricted")), want: denyKey},
		{name: "kms:EncryptionContext: Stage=Test allowed", src: docConditionsKMS + "#conditions-kms-encryption-context",
			key: "key-encryption-context.json", who: docAppRole, act: "kms:GenerateDataKey", ctx: ecOf(ec("AppName", "ExampleApp", "Stage", "Test")), want: allow},
		{name: "kms:EncryptionContext: both pairs required (AND)", src: docConditionsKMS + "#conditions-kms-encryption-context-many",
			key: "key-encryption-context.json", who: docAppRole, act: "kms:Decrypt", ctx: ecOf(ec("Department", "IT", "Project", "Alpha")), want: allow},
		{name: "kms:EncryptionContext: one of two required pairs", src: docConditionsKMS + "#conditions-kms-encryption-context-many",
			key: "key-encryption-context.json", who: docAppRole, act: "kms:Decrypt", ctx: ecOf(ec("Department", "IT")), want: noKeyAllow},
		{name: "kms:EncryptionContext: key case-insensitive", src: docConditionsKMS + "#conditions-kms-encryption-context-case",
			key: "key-encryption-context.json", who: docAppRole, act: "kms:ReEncryptFrom", ctx: ecOf(ec("AppName", "ExampleApp")), want: allow},
		{name: "kms:EncryptionContext: value case-sensitive under StringEquals", src: docConditionsKMS + "#conditions-kms-encryption-context-case",
			key: "key-encryption-context.json", who: docAppRole, act: "kms:ReEncryptFrom", ctx: ecOf(ec("AppName", "exampleapp")), want: noKeyAllow},
		{name: "kms:EncryptionContext: either pair (OR), Project", src: docConditionsKMS + "#conditions-kms-encryption-context-many",
			key: "key-encryption-context-either.json", who: docAppRole, act: "kms:GenerateDataKey", ctx: ecOf(ec("Project", "Alpha")), want: allow},
		{name: "kms:EncryptionContext: either pair (OR), neither", src: docConditionsKMS + "#conditions-kms-encryption-context-many",
			key: "key-encryption-context-either.json", who: docAppRole, act: "kms:GenerateDataKey", ctx: ecOf(ec("Project", "Beta")), want: noKeyAllow},
		{name: "kms:EncryptionContext: Stage=Production forbidden (values OR)", src: docConditionsKMS + "#conditions-kms-encryption-context-many",
			key: "key-encryption-context-either.json", who: docAppRole, act: "kms:GenerateDataKey", ctx: ecOf(ec("Department", "IT", "Stage", "Production")), want: denyKey},
		{name: "kms:EncryptionContextKeys ForAllValues: exactly the two pairs", src: docConditionsKMS + "#conditions-kms-encryption-context-many",
			key: "key-encryption-context-only.json", who: docAlice712, act: "kms:GenerateDataKey", res: docKey712, ctx: ecOf(ec("Department", "IT", "Project", "Alpha")), want: allow},
		{name: "kms:EncryptionContextKeys ForAllValues: an extra pair", src: docConditionsKMS + "#conditions-kms-encryption-context-many",
			key: "key-encryption-context-only.json", who: docAlice712, act: "kms:GenerateDataKey", res: docKey712,
			ctx: ecOf(ec("Department", "IT", "Project", "Alpha", "Stage", "Test")), want: noKeyAllow},
		{name: "kms:EncryptionContextKeys ForAllValues: no encryption context fails the pair conditions", src: docConditionsKMS + "#conditions-kms-encryption-context-many",
			key: "key-encryption-context-only.json", who: docAlice712, act: "kms:GenerateDataKey", res: docKey712, want: noKeyAllow},
		{name: "kms:EncryptionContextKeys ForAnyValue: AppName=Helper and Project=Alpha", src: docConditionsKMS + "#conditions-kms-encryption-context-keys",
			key: "key-encryption-context-keys.json", who: docAppRole, act: "kms:GenerateDataKey", ctx: ecOf(ec("AppName", "Helper", "Project", "Alpha")), want: allow},
		{name: "kms:EncryptionContextKeys ForAnyValue: only Project=Alpha", src: docConditionsKMS + "#conditions-kms-encryption-context-keys",
			key: "key-encryption-context-keys.json", who: docAppRole, act: "kms:GenerateDataKey", ctx: ecOf(ec("Project", "Alpha")), want: noKeyAllow},
		{name: "kms:EncryptionContextKeys ForAnyValue: no encryption context", src: docConditionsKMS + "#conditions-kms-encryption-context-keys",
			key: "key-encryption-context-keys.json", who: docAppRole, act: "kms:Encrypt", want: noKeyAllow},
		{name: "kms:EncryptionContextKeys ForAnyValue: key case-sensitive", src: docConditionsKMS + "#conditions-kms-encryption-context-keys",
			key: "key-encryption-context-keys.json", who: docAppRole, act: "kms:Encrypt", ctx: ecOf(ec("appname", "Helper")), want: noKeyAllow},
		{name: "Null kms:EncryptionContextKeys false: any encryption context", src: docConditionsKMS + "#conditions-kms-encryption-context-keys",
			key: "key-encryption-context-keys.json", who: docAppRole, act: "kms:Decrypt", ctx: ecOf(ec("Project", "Alpha")), want: allow},
		{name: "Null kms:EncryptionContextKeys false: none", src: docConditionsKMS + "#conditions-kms-encryption-context-keys",
			key: "key-encryption-context-keys.json", who: docAppRole, act: "kms:Decrypt", want: noKeyAllow},
		{name: "policy variable: Cognito sub in the encryption context", src: docConditionsKMS + "#conditions-kms-encryption-context-variables",
			key: "key-encryption-context-variables.json", who: docTestTeam, act: "kms:Decrypt",
			ctx: ecOf(ec("sub", "us-east-1:12345678-1234-1234-1234-123456789012"), "cognito-identity.amazonaws.com:sub", "us-east-1:12345678-1234-1234-1234-123456789012"), want: allow},
		{name: "policy variable: another identity's sub", src: docConditionsKMS + "#conditions-kms-encryption-context-variables",
			key: "key-encryption-context-variables.json", who: docTestTeam, act: "kms:Decrypt",
			ctx: ecOf(ec("sub", "us-east-1:00000000-0000-0000-0000-000000000000"), "cognito-identity.amazonaws.com:sub", "us-east-1:12345678-1234-1234-1234-123456789012"), want: noKeyAllow},
		// The page's ${aws:username} statement names a role; a role session
		// has no aws:username ("not present" for roles, reference_policies_variables.html),
		// and a variable with no value matches nothing.
		{name: "policy variable: aws:username is absent in a role session", src: docVariables + " with " + docConditionsKMS + "#conditions-kms-encryption-context-variables",
			key: "key-encryption-context-variables.json", who: docTestTeam, act: "kms:Encrypt", ctx: ecOf(ec("user", "bob")), want: noKeyAllow},
		{name: "kms:GrantOperations ForAllValues: Encrypt only, to LimitedAdminRole", src: docConditionsKMS + "#conditions-kms-grant-operations",
			key: "key-grant-conditions.json", who: exampleUser, act: "kms:CreateGrant",
			ctx: ctxOf("kms:GrantOperations", "Encrypt", "kms:GranteePrincipal", "arn:aws:iam::111122223333:role/LimitedAdminRole"), want: allow},
		{name: "kms:GrantOperations ForAllValues: Decrypt too", src: docConditionsKMS + "#conditions-kms-grant-operations",
			key: "key-grant-conditions.json", who: exampleUser, act: "kms:CreateGrant",
			ctx: ctxOf("kms:GrantOperations", "Encrypt", "kms:GrantOperations", "Decrypt", "kms:GranteePrincipal", "arn:aws:iam::111122223333:role/LimitedAdminRole"), want: noKeyAllow},
		{name: "kms:GranteePrincipal: another grantee", src: docConditionsKMS + "#conditions-kms-grantee-principal",
			key: "key-grant-conditions.json", who: exampleUser, act: "kms:CreateGrant",
			ctx: ctxOf("kms:GrantOperations", "Encrypt", "kms:GranteePrincipal", "arn:aws:iam::111122223333:role/ExampleRole"), want: noKeyAllow},
		{name: "kms:GrantIsForAWSResource: ListGrants on behalf of the user", src: docConditionsKMS + "#conditions-kms-grant-is-for-aws-resource",
			key: "key-grant-conditions.json", who: exampleUser, act: "kms:ListGrants", ctx: ctxOf("kms:GrantIsForAWSResource", "true"), want: allow},
		{name: "kms:KeySpec and kms:MultiRegion: single-Region RSA key", src: docConditionsKMS + "#conditions-kms-key-spec",
			iam: []string{"iam-create-key-conditions.json"}, who: alice, act: "kms:CreateKey", res: "*",
			ctx: ctxOf("kms:KeySpec", "RSA_4096", "kms:MultiRegion", "false"), want: allow},
		{name: "kms:KeySpec: symmetric key refused", src: docConditionsKMS + "#conditions-kms-key-spec",
			iam: []string{"iam-create-key-conditions.json"}, who: alice, act: "kms:CreateKey", res: "*",
			ctx: ctxOf("kms:KeySpec", "SYMMETRIC_DEFAULT", "kms:MultiRegion", "false"), want: noIAMAllow},
		{name: "kms:MultiRegion: multi-Region key refused", src: docConditionsKMS + "#conditions-kms-multiregion",
			iam: []string{"iam-create-key-conditions.json"}, who: alice, act: "kms:CreateKey", res: "*",
			ctx: ctxOf("kms:KeySpec", "RSA_2048", "kms:MultiRegion", "true"), want: noIAMAllow},
		{name: "kms:KeyUsage: signing key", src: docConditionsKMS + "#conditions-kms-key-usage",
			key: "key-default.json", iam: []string{"iam-create-key-conditions.json"}, who: alice, act: "kms:ScheduleKeyDeletion", ctx: ctxOf("kms:KeyUsage", "SIGN_VERIFY"), want: allow},
		{name: "kms:KeyUsage: encryption key", src: docConditionsKMS + "#conditions-kms-key-usage",
			key: "key-default.json", iam: []string{"iam-create-key-conditions.json"}, who: alice, act: "kms:ScheduleKeyDeletion", ctx: ctxOf("kms:KeyUsage", "ENCRYPT_DECRYPT"), want: noIAMAllow},
		{name: "kms:DataKeyPairSpec: RSA pair", src: docConditionsKMS + "#conditions-kms-data-key-spec",
			key: "key-request-parameters.json", who: exampleUser, act: "kms:GenerateDataKeyPair", ctx: ctxOf("kms:DataKeyPairSpec", "RSA_2048"), want: allow},
		{name: "kms:DataKeyPairSpec: ECC pair", src: docConditionsKMS + "#conditions-kms-data-key-spec",
			key: "key-request-parameters.json", who: exampleUser, act: "kms:GenerateDataKeyPair", ctx: ctxOf("kms:DataKeyPairSpec", "ECC_NIST_P256"), want: noKeyAllow},
		{name: "kms:ValidTo: on the limit", src: docConditionsKMS + "#conditions-kms-valid-to",
			key: "key-request-parameters.json", who: exampleUser, act: "kms:ImportKeyMaterial", ctx: ctxOf("kms:ValidTo", "1546257599"), want: allow},
		{name: "kms:ValidTo: later", src: docConditionsKMS + "#conditions-kms-valid-to",
			key: "key-request-parameters.json", who: exampleUser, act: "kms:ImportKeyMaterial", ctx: ctxOf("kms:ValidTo", "1577836800"), want: noKeyAllow},
		{name: "kms:WrappingAlgorithm: not RSAES_OAEP_SHA_1", src: docConditionsKMS + "#conditions-kms-wrapping-algorithm",
			key: "key-request-parameters.json", who: exampleUser, act: "kms:GetParametersForImport", ctx: ctxOf("kms:WrappingAlgorithm", "RSAES_OAEP_SHA_256"), want: allow},
		{name: "kms:WrappingAlgorithm: RSAES_OAEP_SHA_1", src: docConditionsKMS + "#conditions-kms-wrapping-algorithm",
			key: "key-request-parameters.json", who: exampleUser, act: "kms:GetParametersForImport", ctx: ctxOf("kms:WrappingAlgorithm", "RSAES_OAEP_SHA_1"), want: noKeyAllow},
		{name: "kms:ReEncryptOnSameKey: same key", src: docConditionsKMS + "#conditions-kms-reencrypt-on-same-key",
			key: "key-request-parameters.json", who: exampleUser, act: "kms:ReEncryptTo", ctx: ctxOf("kms:ReEncryptOnSameKey", "true"), want: allow},
		{name: "kms:ReEncryptOnSameKey: another key", src: docConditionsKMS + "#conditions-kms-reencrypt-on-same-key",
			key: "key-request-parameters.json", who: exampleUser, act: "kms:ReEncryptFrom", ctx: ctxOf("kms:ReEncryptOnSameKey", "false"), want: noKeyAllow},
		{name: "kms:MessageType: RAW", src: docConditionsKMS + "#conditions-kms-message-type",
			key: "key-request-parameters.json", who: exampleUser, act: "kms:Sign", ctx: ctxOf("kms:MessageType", "RAW"), want: allow},
		{name: "kms:MessageType: DIGEST", src: docConditionsKMS + "#conditions-kms-message-type",
			key: "key-request-parameters.json", who: exampleUser, act: "kms:Sign", ctx: ctxOf("kms:MessageType", "DIGEST"), want: noKeyAllow},
		{name: "kms:MacAlgorithm: the second statement's algorithm", src: docConditionsKMS + "#conditions-kms-mac-algorithm",
			key: "key-request-parameters.json", who: docTesters, act: "kms:VerifyMac", ctx: ctxOf("kms:MacAlgorithm", "HMAC_SHA_512"), want: allow},
		{name: "kms:MacAlgorithm: another algorithm", src: docConditionsKMS + "#conditions-kms-mac-algorithm",
			key: "key-request-parameters.json", who: docTesters, act: "kms:GenerateMac", ctx: ctxOf("kms:MacAlgorithm", "HMAC_SHA_256"), want: noKeyAllow},
		{name: "kms:SigningAlgorithm: RSASSA_PSS", src: docConditionsKMS + "#conditions-kms-signing-algorithm",
			key: "key-request-parameters.json", who: docTesters, act: "kms:Sign", ctx: ctxOf("kms:SigningAlgorithm", "RSASSA_PSS_SHA_512"), want: allow},
		{name: "kms:SigningAlgorithm: PKCS1", src: docConditionsKMS + "#conditions-kms-signing-algorithm",
			key: "key-request-parameters.json", who: docTesters, act: "kms:Sign", ctx: ctxOf("kms:SigningAlgorithm", "RSASSA_PKCS1_V1_5_SHA_256"), want: noKeyAllow},

		// Aliases and tags (ABAC).
		{name: "kms:RequestAlias: the alias in the request", src: docConditionsKMS + "#conditions-kms-request-alias",
			key: "key-request-alias.json", who: docDeveloper, act: "kms:GenerateDataKey", ctx: ctxOf("kms:RequestAlias", "alias/finance-key"), want: allow},
		{name: "kms:RequestAlias: the key named by its ARN", src: docConditionsKMS + "#conditions-kms-request-alias",
			key: "key-request-alias.json", who: docDeveloper, act: "kms:GenerateDataKey", want: noKeyAllow},
		{name: "kms:RequestAlias: another alias of the key", src: docConditionsKMS + "#conditions-kms-request-alias",
			key: "key-request-alias.json", who: docDeveloper, act: "kms:GenerateDataKey", ctx: ctxOf("kms:RequestAlias", "alias/other"), want: noKeyAllow},
		{name: "kms:RequestAlias StringLike alias/*alpha*", src: docAliasAuth + "#alias-auth-request-alias",
			key: "key-request-alias.json", who: docAlphaDev, act: "kms:DescribeKey", ctx: ctxOf("kms:RequestAlias", "alias/project-alpha"), want: allow},
		{name: "kms:ResourceAliases ForAnyValue: one of the key's aliases", src: docConditionsKMS + "#conditions-kms-resource-aliases",
			key: "key-default.json", iam: []string{"iam-resource-aliases-finance.json"}, who: alice, act: "kms:GenerateDataKey",
			ctx: ctxOf("kms:ResourceAliases", "alias/other", "kms:ResourceAliases", "alias/finance-key"), want: allow},
		{name: "kms:ResourceAliases ForAnyValue: a key of the second account", src: docConditionsKMS + "#conditions-kms-resource-aliases",
			key: "key-policy-evaluation-acct2.json", iam: []string{"iam-resource-aliases-finance.json"}, who: alice, act: "kms:GenerateDataKey", res: docKeyAcct2,
			ctx: ctxOf("kms:ResourceAliases", "alias/finance-key"), want: allow},
		{name: "kms:ResourceAliases ForAnyValue: other alias", src: docConditionsKMS + "#conditions-kms-resource-aliases",
			key: "key-default.json", iam: []string{"iam-resource-aliases-finance.json"}, who: alice, act: "kms:GenerateDataKey",
			ctx: ctxOf("kms:ResourceAliases", "alias/other"), want: noIAMAllow},
		{name: "kms:ResourceAliases ForAllValues+ForAnyValue: all aliases Test", src: docConditionsKMS + "#conditions-kms-resource-aliases",
			key: "key-default.json", iam: []string{"iam-resource-aliases-test.json"}, who: alice, act: "kms:EnableKey",
			ctx: ctxOf("kms:ResourceAliases", "alias/Test1", "kms:ResourceAliases", "alias/ProjectTest"), want: allow},
		{name: "kms:ResourceAliases ForAllValues+ForAnyValue: one alias not Test", src: docConditionsKMS + "#conditions-kms-resource-aliases",
			key: "key-default.json", iam: []string{"iam-resource-aliases-test.json"}, who: alice, act: "kms:DisableKey",
			ctx: ctxOf("kms:ResourceAliases", "alias/Test1", "kms:ResourceAliases", "alias/prod"), want: noIAMAllow},
		{name: "kms:ResourceAliases ForAllValues+ForAnyValue: a key with no alias", src: docConditionsKMS + "#conditions-kms-resource-aliases",
			key: "key-default.json", iam: []string{"iam-resource-aliases-test.json"}, who: alice, act: "kms:EnableKey", want: noIAMAllow},
		{name: "aws:ResourceTag: Project=Alpha in Singapore", src: docTagAuth,
			key: "key-default.json", iam: []string{"iam-resource-tag-project.json"}, who: alice, act: "kms:Decrypt", res: docKeySG,
			ctx: ctxOf("aws:ResourceTag/Project", "Alpha"), want: allow},
		{name: "aws:ResourceTag: Project=Beta", src: docTagAuth,
			key: "key-default.json", iam: []string{"iam-resource-tag-project.json"}, who: alice, act: "kms:Decrypt", res: docKeySG,
			ctx: ctxOf("aws:ResourceTag/Project", "Beta"), want: noIAMAllow},
		{name: "aws:ResourceTag: Project=Alpha in another Region", src: docTagAuth,
			key: "key-default.json", iam: []string{"iam-resource-tag-project.json"}, who: alice, act: "kms:Decrypt",
			ctx: ctxOf("aws:ResourceTag/Project", "Alpha"), want: noIAMAllow},
		{name: "aws:ResourceTag: Type=Reserved denied", src: docTagAuth,
			key: "key-default.json", iam: []string{"iam-resource-tag-deny-reserved.json"}, who: alice, act: "kms:Decrypt",
			ctx: ctxOf("aws:ResourceTag/Type", "Reserved"), want: denyIAM},
		{name: "aws:ResourceTag: no Type tag denied (Null)", src: docTagAuth,
			key: "key-default.json", iam: []string{"iam-resource-tag-deny-reserved.json"}, who: alice, act: "kms:Decrypt",
			ctx: ctxOf("aws:ResourceTag/Project", "Alpha"), want: denyIAM},
		{name: "aws:ResourceTag: another Type allowed", src: docTagAuth,
			key: "key-default.json", iam: []string{"iam-resource-tag-deny-reserved.json"}, who: alice, act: "kms:GenerateDataKeyWithoutPlaintext",
			ctx: ctxOf("aws:ResourceTag/Type", "Shared"), want: allow},

		// IAM Identity Center (SSO) permission-set roles and their sessions.
		{name: "SSO: session of the permission-set role named with its path", src: docSSO,
			key: "key-sso-permission-sets.json", who: docSSODBA, act: "kms:ScheduleKeyDeletion", want: allow},
		{name: "SSO: role re-created with a new suffix no longer matches its old ARN", src: docSSO,
			key: "key-sso-permission-sets.json", who: docSSODBANew, act: "kms:ScheduleKeyDeletion", want: noKeyAllow},
		{name: "SSO: aws:PrincipalArn pattern survives the new suffix", src: docSSO + " with " + docPrincArn,
			key: "key-sso-permission-sets.json", who: docSSODBANew, act: "kms:Decrypt", want: allow},
		{name: "SSO: aws:PrincipalArn pattern, role without a Region in its path", src: docSSO,
			key: "key-sso-permission-sets.json", who: docSSODBAEast, act: "kms:DescribeKey", want: allow},
		{name: "SSO: aws:PrincipalArn pattern names the account", src: docSSO,
			key: "key-sso-permission-sets.json", iam: iamAdmin, who: docSSODBAExt, act: "kms:Decrypt", want: noKeyAllow},
		{name: "SSO: aws:PrincipalArn is the role ARN, not the session ARN", src: docPrincArn,
			key: "key-sso-permission-sets.json", who: docSSODBANew, act: "kms:Encrypt", want: noKeyAllow},
		{name: "SSO: assumed-role session principal", src: docStsSession,
			key: "key-sso-permission-sets.json", who: docSSODBAEast, act: "kms:GenerateDataKey", want: allow},
		{name: "SSO: another session of the same role", src: docStsSession,
			key: "key-sso-permission-sets.json", who: docSSODBAEast2, act: "kms:GenerateDataKey", want: noKeyAllow},
		{name: "SSO: a role outside the permission set", src: docSSO,
			key: "key-sso-permission-sets.json", who: devRole, act: "kms:Decrypt", want: noKeyAllow},
	}
}

// TestAWSDocs runs the table of AWS's documented examples through Authorize.
func TestAWSDocs(t *testing.T) {
	t.Parallel()
	policies := loadAWSDocsPolicies(t)
	for _, tc := range awsDocsCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := AuthzInput{GrantAllows: tc.grant}
			if tc.key != "" {
				in.KeyPolicy = policies[tc.key]
			}
			for _, f := range tc.iam {
				in.IdentityPolicies = append(in.IdentityPolicies, policies[f])
			}
			res := tc.res
			if res == "" {
				res = docKeyW
			}
			in.KeyAccount = tc.who.Account
			if parts := strings.SplitN(res, ":", 6); len(parts) == 6 && parts[4] != "" {
				in.KeyAccount = parts[4]
			}
			in.Request = Request{Principal: tc.who, Action: tc.act, Resource: res, Context: tc.ctx}
			cross := tc.who.Type != TypeAWSService && tc.who.Account != in.KeyAccount
			want := tc.want.decision(tc.act, cross)
			if got := Authorize(&in); got != want {
				t.Errorf("Authorize = %+v\nwant       %+v\n(%s)", got, want, tc.src)
			}
		})
	}
}

// loadAWSDocsPolicies parses every file of testdata/awsdocs: key-* as key
// policies, iam-* as identity policies.
func loadAWSDocsPolicies(t *testing.T) map[string]*Policy {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "awsdocs", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no policies in testdata/awsdocs: %v", err)
	}
	out := map[string]*Policy{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		out[name] = mustParse(t, string(b), awsDocsKind(name))
	}
	return out
}

func awsDocsKind(name string) Kind {
	if strings.HasPrefix(name, "iam-") {
		return IdentityPolicy
	}
	return KeyPolicy
}

// TestAWSDocsPolicies checks the table's bookkeeping: every policy file has
// its source, is used by a row and re-serialises to itself; every row cites
// a page and names files that exist.
func TestAWSDocsPolicies(t *testing.T) {
	t.Parallel()
	policies := loadAWSDocsPolicies(t)
	used := map[string]bool{}
	for _, tc := range awsDocsCases() {
		if !strings.HasPrefix(tc.src, "https://docs.aws.amazon.com/") {
			t.Errorf("%s: source %q is not an AWS documentation page", tc.name, tc.src)
		}
		for _, f := range append(slices.Clip(tc.iam), tc.key) {
			if f == "" {
				continue
			}
			if policies[f] == nil {
				t.Errorf("%s: no policy %s", tc.name, f)
			}
			if k := awsDocsKind(f); (f == tc.key) != (k == KeyPolicy) {
				t.Errorf("%s: %s used as the wrong kind of policy", tc.name, f)
			}
			used[f] = true
		}
	}
	for name, p := range policies {
		if awsDocsPolicies[name] == "" {
			t.Errorf("%s: no source in awsDocsPolicies", name)
		}
		if !used[name] {
			t.Errorf("%s: used by no row", name)
		}
		checkRoundTrip(t, p, awsDocsKind(name))
	}
	for name := range awsDocsPolicies {
		if policies[name] == nil {
			t.Errorf("awsDocsPolicies names %s, which is not in testdata/awsdocs", name)
		}
	}
}

// TestAWSDocsParse checks what the pages say AWS accepts and refuses.
func TestAWSDocsParse(t *testing.T) {
	t.Parallel()
	const stmt = `"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/RoleForExampleApp"},"Action":"kms:GenerateDataKey","Resource":"*"`
	tests := []struct {
		name, src string
		kind      Kind
		doc       string
		msg       string // the whole *Error message; "" if accepted
	}{
		{"ForAllValues with kms:EncryptionContext:context-key in a key policy", docConditionsKMS + "#conditions-kms-encryption-context", KeyPolicy,
			`{"Version":"2012-10-17","Statement":{` + stmt + `,"Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContext:Department":"IT"}}}}`,
			"OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues."},
		{"ForAllValues with aws:RequestTag/tag-key in a key policy", docConditionsKMS + "#set-operators", KeyPolicy,
			`{"Version":"2012-10-17","Statement":{` + stmt + `,"Condition":{"ForAllValues:StringEquals":{"aws:RequestTag/Project":"Alpha"}}}}`,
			"OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified tag or with an unspecified tag. To fix, remove ForAllValues."},
		{"ForAllValues with kms:EncryptionContextKeys is fine", docConditionsKMS + "#conditions-kms-encryption-context-keys", KeyPolicy,
			`{"Version":"2012-10-17","Statement":{` + stmt + `,"Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["AppName"]}}}}`, ""},
		{"key policy Sid with spaces", docKeyPolicyOverview[:strings.IndexByte(docKeyPolicyOverview, '#')] + "#key-policy-format", KeyPolicy,
			`{"Version":"2012-10-17","Statement":{"Sid":"Describe the policy statement",` + stmt + `}}`, ""},
		{"IAM Sid with a space, as the read-only console example prints it", docIAMExamples + "#iam-policy-example-read-only-console", IdentityPolicy,
			`{"Version":"2012-10-17","Statement":{"Sid":"ReadOnlyAccessForAllKMS keysInAccount","Effect":"Allow","Action":"kms:DescribeKey","Resource":"arn:aws:kms:*:111122223333:key/*"}}`,
			`Statement 1 (Sid "ReadOnlyAccessForAllKMS keysInAccount"): Statement IDs (SID) must be alpha-numeric; "ReadOnlyAccessForAllKMS keysInAccount" is not.`},
		{"key policy statement without Resource is accepted", docKeyPolicyOverview[:strings.IndexByte(docKeyPolicyOverview, '#')] + "#key-policy-elements", KeyPolicy,
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/Alice"},"Action":"kms:DescribeKey"}}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tc.doc, tc.kind)
			switch {
			case tc.msg == "" && err != nil:
				t.Fatalf("Parse refused it: %v (%s)", err, tc.src)
			case tc.msg != "" && err == nil:
				t.Fatalf("Parse accepted it (%s)", tc.src)
			case tc.msg != "" && err.Error() != tc.msg:
				t.Fatalf("message\n%q, want\n%q (%s)", err.Error(), tc.msg, tc.src)
			}
			if p != nil && strings.Contains(tc.name, "without Resource") {
				// "A key policy statement without a Resource element doesn't
				// apply to any KMS key."
				if got := p.Evaluate(&Request{Principal: alice, Action: "kms:DescribeKey", Resource: docKeyW}); got != NoMatch {
					t.Errorf("statement without Resource applied: %v", got)
				}
			}
		})
	}
}
