package policy

import (
	"strings"
	"testing"
)

// The documents below are AWS's documented examples, with AWS's example
// account IDs and names. Each is cited where it is defined.

// defaultKeyPolicy is the policy CreateKey attaches when given none: GetKeyPolicy
// example of botocore's examples-1.json, as quoted in
// shared/reference/kms-api.md §5.1, and
// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
const defaultKeyPolicy = `{
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

// consoleKeyPolicy is the complete example key policy of
// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html#key-policy-example
// (the console's default: "Enable IAM policies", "Allow access for Key
// Administrators", "Allow use of the key", "Allow attachment of persistent
// resources").
const consoleKeyPolicy = `{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-2",
  "Statement": [
    {
      "Sid": "Enable IAM policies",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
      "Action": "kms:*",
      "Resource": "*"
    },
    {
      "Sid": "Allow access for Key Administrators",
      "Effect": "Allow",
      "Principal": {"AWS": [
        "arn:aws:iam::111122223333:user/KMSAdminUser",
        "arn:aws:iam::111122223333:role/KMSAdminRole"
      ]},
      "Action": [
        "kms:Create*",
        "kms:Describe*",
        "kms:Enable*",
        "kms:List*",
        "kms:Put*",
        "kms:Update*",
        "kms:Revoke*",
        "kms:Disable*",
        "kms:Get*",
        "kms:Delete*",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion"
      ],
      "Resource": "*"
    },
    {
      "Sid": "Allow use of the key",
      "Effect": "Allow",
      "Principal": {"AWS": [
        "arn:aws:iam::111122223333:user/ExampleUser",
        "arn:aws:iam::111122223333:role/ExampleRole",
        "arn:aws:iam::444455556666:root"
      ]},
      "Action": [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey"
      ],
      "Resource": "*"
    },
    {
      "Sid": "Allow attachment of persistent resources",
      "Effect": "Allow",
      "Principal": {"AWS": [
        "arn:aws:iam::111122223333:user/ExampleUser",
        "arn:aws:iam::111122223333:role/ExampleRole",
        "arn:aws:iam::444455556666:root"
      ]},
      "Action": [
        "kms:CreateGrant",
        "kms:ListGrants",
        "kms:RevokeGrant"
      ],
      "Resource": "*",
      "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    }
  ]
}`

// iamUseKey is the IAM policy of "Step 2: Add IAM policies in the external
// account", key-policy-modifying-external-accounts.html, for our key.
const iamUseKey = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AllowUseOfKeyInAccount111122223333",
      "Effect": "Allow",
      "Action": [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey"
      ],
      "Resource": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
  ]
}`

// iamEncryptOnly allows only kms:Encrypt on the account's keys in the region
// (iam-policies.html, "Allow a user to use KMS keys in a Region" pattern).
const iamEncryptOnly = `{
  "Version": "2012-10-17",
  "Statement": {
    "Effect": "Allow",
    "Action": "kms:Encrypt",
    "Resource": "arn:aws:kms:us-east-1:111122223333:key/*"
  }
}`

// keyPolicyExternalAccount gives account 444455556666 use of the key: "Step 1:
// Add a key policy statement in the local account",
// key-policy-modifying-external-accounts.html, plus the account's own root
// statement.
const keyPolicyExternalAccount = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM policies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {
      "Sid": "Allow an external account to use this KMS key",
      "Effect": "Allow",
      "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      "Resource": "*"
    }
  ]
}`

// keyPolicyExternalUser names the external user Bob instead of his account
// (same page: "specify particular external users and roles in the key
// policy").
const keyPolicyExternalUser = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM policies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::444455556666:user/Bob"},
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
      "Resource": "*"
    }
  ]
}`

// keyPolicyAliceOnly names one user and not the account: without the account
// principal, "IAM policies that allow access to the key are ineffective" and
// the root user has no access (key-policy-default.html).
const keyPolicyAliceOnly = `{
  "Version": "2012-10-17",
  "Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}, "Action": "kms:*", "Resource": "*"}
}`

// keyPolicyDenyIP adds to the default policy the IAM example "AWS: Denies
// access to AWS based on the source IP"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_deny-ip.html),
// as a key policy statement (Principal "*").
const keyPolicyDenyIP = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {
      "Effect": "Deny",
      "Principal": "*",
      "Action": "*",
      "Resource": "*",
      "Condition": {
        "NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24", "2001:DB8:1234:5678::/64"]},
        "Bool": {"aws:ViaAWSService": "false"}
      }
    }
  ]
}`

// keyPolicyViaService is the kms:ViaService example of conditions-kms.html
// (#conditions-kms-via-service) for S3 and DynamoDB, and the kms:CallerAccount
// example (#conditions-kms-caller-account): every principal of the account,
// but only through the service. It is the shape of the AWS managed keys'
// policies.
const keyPolicyViaService = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Allow access through S3 for all principals in the account that are authorized to use S3",
      "Effect": "Allow",
      "Principal": {"AWS": "*"},
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      "Resource": "*",
      "Condition": {
        "StringEquals": {"kms:CallerAccount": "111122223333", "kms:ViaService": "s3.us-east-1.amazonaws.com"}
      }
    },
    {
      "Sid": "Allow DynamoDB in any Region",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:user/ExampleUser"},
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:CreateGrant", "kms:DescribeKey"],
      "Resource": "*",
      "Condition": {"StringLike": {"kms:ViaService": "dynamodb.*.amazonaws.com"}}
    },
    {
      "Effect": "Deny",
      "Principal": {"AWS": "arn:aws:iam::111122223333:user/ExampleUser"},
      "Action": ["kms:Encrypt"],
      "Resource": "*",
      "Condition": {"StringEquals": {"kms:ViaService": ["lambda.us-west-2.amazonaws.com"]}}
    }
  ]
}`

// keyPolicyEncryptionContext gathers the kms:EncryptionContext:context-key and
// kms:EncryptionContextKeys examples of conditions-kms.html
// (#conditions-kms-encryption-context, #conditions-kms-encryption-context-keys).
const keyPolicyEncryptionContext = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:role/ExampleRole"},
      "Action": "kms:GenerateDataKey",
      "Resource": "*",
      "Condition": {"StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"}}
    },
    {
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:user/ExampleUser"},
      "Action": "kms:Decrypt",
      "Resource": "*",
      "Condition": {
        "StringEquals": {"kms:EncryptionContext:Department": "IT", "kms:EncryptionContext:Project": "Alpha"},
        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Department", "Project"]}
      }
    },
    {
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:user/ExampleUser"},
      "Action": ["kms:Encrypt", "kms:GenerateDataKey*"],
      "Resource": "*",
      "Condition": {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}}
    },
    {
      "Effect": "Deny",
      "Principal": {"AWS": "arn:aws:iam::111122223333:role/ExampleRole"},
      "Action": "kms:GenerateDataKey",
      "Resource": "*",
      "Condition": {"StringEquals": {"kms:EncryptionContext:Stage": ["Restricted", "Production"]}}
    }
  ]
}`

// keyPolicyForAllValuesAlone is the ForAllValues kms:EncryptionContextKeys
// condition used alone, which "would allow requests with no encryption
// context" (conditions-kms.html, #conditions-kms-encryption-context).
const keyPolicyForAllValuesAlone = `{
  "Version": "2012-10-17",
  "Statement": {
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:user/ExampleUser"},
    "Action": "kms:Encrypt",
    "Resource": "*",
    "Condition": {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["AppName"]}}
  }
}`

// keyPolicySSO names an IAM Identity Center permission-set role by its ARN with
// its path, and grants another by aws:PrincipalArn with ArnLike, as the IAM
// Identity Center docs advise ("Referencing permission sets in resource
// policies", https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html;
// aws:PrincipalArn: reference_policies_condition-keys.html#condition-keys-principalarn).
const keyPolicySSO = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AdminsByRoleARN",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_abc123"},
      "Action": "kms:*",
      "Resource": "*"
    },
    {
      "Sid": "ReadersByPrincipalArn",
      "Effect": "Allow",
      "Principal": {"AWS": "*"},
      "Action": ["kms:Decrypt", "kms:DescribeKey"],
      "Resource": "*",
      "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ReadOnly_*"}}
    }
  ]
}`

// keyPolicyDenySchedule adds an explicit Deny to the default policy
// (reference_policies_evaluation-logic.html: "An explicit deny in any policy
// overrides any allows").
const keyPolicyDenySchedule = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "NoDeletion", "Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}
  ]
}`

// keyPolicyNotPrincipal is the NotPrincipal-with-Deny example of
// reference_policies_elements_notprincipal.html (user Bob and his account are
// exempt), on a key that allows account 444455556666.
const keyPolicyNotPrincipal = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "kms:*", "Resource": "*"},
    {
      "Effect": "Deny",
      "NotPrincipal": {"AWS": ["arn:aws:iam::444455556666:user/Bob", "arn:aws:iam::444455556666:root"]},
      "Action": "kms:*",
      "Resource": "*"
    }
  ]
}`

// keyPolicyConditions holds the IfExists, Null, Date, Bool and policy
// variable examples:
//   - kms:EncryptionAlgorithm with StringEqualsIfExists
//     (…condition_operators.html#Conditions_IfExists; conditions-kms.html#conditions-kms-encryption-algorithm);
//   - kms:BypassPolicyLockoutSafetyCheck with Null (conditions-kms.html#conditions-kms-bypass-policy-lockout-safety-check);
//   - aws:CurrentTime with DateLessThan (…condition_operators.html#Conditions_Date;
//     reference_policies_examples_aws-dates.html);
//   - aws:SecureTransport false with Bool and Deny (…condition_operators.html#Conditions_Boolean);
//   - kms:EncryptionContext:user = ${aws:username} (conditions-kms.html#conditions-kms-encryption-context-variables).
const keyPolicyConditions = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "SymmetricOnlyIfAlgorithmGiven",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:role/ExampleRole"},
      "Action": ["kms:Encrypt", "kms:Decrypt"],
      "Resource": "*",
      "Condition": {"StringEqualsIfExists": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}}
    },
    {
      "Sid": "PutKeyPolicyWithoutBypass",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:role/KMSAdminRole"},
      "Action": "kms:PutKeyPolicy",
      "Resource": "*",
      "Condition": {"Null": {"kms:BypassPolicyLockoutSafetyCheck": true}}
    },
    {
      "Sid": "UntilEndOf2029",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:role/KMSAdminRole"},
      "Action": "kms:DescribeKey",
      "Resource": "*",
      "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}, "DateGreaterThan": {"aws:EpochTime": 1577836800}}
    },
    {
      "Sid": "DenyPlainHTTP",
      "Effect": "Deny",
      "Principal": "*",
      "Action": "kms:*",
      "Resource": "*",
      "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    },
    {
      "Sid": "OwnDataOnly",
      "Effect": "Allow",
      "Principal": {"AWS": ["arn:aws:iam::111122223333:user/Alice", "arn:aws:iam::111122223333:user/ExampleUser"]},
      "Action": ["kms:Decrypt", "kms:Encrypt"],
      "Resource": "*",
      "Condition": {"StringEquals": {"kms:EncryptionContext:user": "${aws:username}"}}
    }
  ]
}`

// keyPolicyService lets CloudTrail use the key (a service principal:
// reference_policies_elements_principal.html#principal-services; KMS's
// CloudTrail key policy, https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html).
const keyPolicyService = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*"}
  ]
}`

// iamNotAction allows everything in KMS but key deletion, with NotAction
// (reference_policies_elements_notaction.html).
const iamNotAction = `{
  "Version": "2012-10-17",
  "Statement": {"Effect": "Allow", "NotAction": ["kms:ScheduleKeyDeletion", "iam:*"], "Resource": "*"}
}`

// iamDenyOtherKeys denies every other key with NotResource
// (reference_policies_elements_notresource.html).
const iamDenyOtherKeys = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
    {"Effect": "Deny", "Action": "kms:*", "NotResource": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
  ]
}`

// iamDenyDecrypt is an explicit Deny in an identity policy.
const iamDenyDecrypt = `{
  "Version": "2012-10-17",
  "Statement": {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}
}`

// iamCreateKey allows the account-level kms:CreateKey (iam-policies.html:
// "The kms:CreateKey permission is valid only in an IAM policy", Resource "*").
const iamCreateKey = `{
  "Version": "2012-10-17",
  "Statement": {"Effect": "Allow", "Action": ["kms:CreateKey", "kms:List*"], "Resource": "*"}
}`

// iamHomeKeys uses ${aws:username} in Resource (reference_policies_variables.html,
// Resource element), with aliases named after the user.
const iamHomeKeys = `{
  "Version": "2012-10-17",
  "Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "arn:aws:kms:us-east-1:111122223333:alias/${aws:username}-*"}
}`

// iamHomeKeys2008 is the same policy in the 2008 language, where variables are
// literal text (reference_policies_variables.html, Version note).
const iamHomeKeys2008 = `{
  "Version": "2008-10-17",
  "Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "arn:aws:kms:us-east-1:111122223333:alias/${aws:username}-*"}
}`

type authzCase struct {
	name       string
	keyPolicy  string // "" means none (account-level action)
	identity   []string
	grant      bool
	principal  Principal
	action     string
	resource   string // defaults to keyARN
	ctx        map[string][]string
	keyAccount string // defaults to acct
	allowed    bool
	explicit   bool
	reason     string // substring of Decision.Reason, when denied
}

// keyPolicyServiceGrants lets ExampleUser make grants only for the S3
// service principal and a SourceArn of the account's access points
// (kms:GranteeServicePrincipal, kms:GrantConstraintSourceArn,
// grant-authorization.html), and S3 itself use the key only for resources
// of the account (aws:SourceAccount, which kagi sets from the service's
// X-Kagi-Source-Arn).
const keyPolicyServiceGrants = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/ExampleUser"}, "Action": "kms:CreateGrant", "Resource": "*",
     "Condition": {"StringEquals": {"kms:GranteeServicePrincipal": "s3.amazonaws.com"},
                   "ArnLike": {"kms:GrantConstraintSourceArn": "arn:aws:s3:*:111122223333:accesspoint/*"}}},
    {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*",
     "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}
  ]
}`

func authzCases() []authzCase {
	https := map[string][]string{"aws:securetransport": {"true"}}
	s3 := Principal{Type: TypeAWSService, Service: "s3.amazonaws.com"}
	return []authzCase{
		// Grants for service principals, and a service's own requests.
		{name: "service grant: S3 and an access point of the account", keyPolicy: keyPolicyServiceGrants, principal: exampleUser, action: "kms:CreateGrant",
			ctx: map[string][]string{"kms:granteeserviceprincipal": {"s3.amazonaws.com"}, "kms:grantconstraintsourcearn": {"arn:aws:s3:us-east-1:111122223333:accesspoint/photos"}}, allowed: true},
		{name: "service grant: another service principal", keyPolicy: keyPolicyServiceGrants, principal: exampleUser, action: "kms:CreateGrant",
			ctx:    map[string][]string{"kms:granteeserviceprincipal": {"ebs.amazonaws.com"}, "kms:grantconstraintsourcearn": {"arn:aws:s3:us-east-1:111122223333:accesspoint/photos"}},
			reason: "no resource-based policy"},
		{name: "service grant: a SourceArn of another account", keyPolicy: keyPolicyServiceGrants, principal: exampleUser, action: "kms:CreateGrant",
			ctx:    map[string][]string{"kms:granteeserviceprincipal": {"s3.amazonaws.com"}, "kms:grantconstraintsourcearn": {"arn:aws:s3:us-east-1:444455556666:accesspoint/photos"}},
			reason: "no resource-based policy"},
		{name: "service grant: a grant to a user has no kms:GranteeServicePrincipal", keyPolicy: keyPolicyServiceGrants, principal: exampleUser, action: "kms:CreateGrant",
			ctx: map[string][]string{"kms:granteeprincipal": {"arn:aws:iam::111122223333:user/ExampleUser"}}, reason: "no resource-based policy"},
		{name: "service for itself: aws:SourceAccount of the account", keyPolicy: keyPolicyServiceGrants, principal: s3, action: "kms:Decrypt",
			ctx: map[string][]string{"aws:sourcearn": {"arn:aws:s3:us-east-1:111122223333:accesspoint/photos"}, "aws:sourceaccount": {"111122223333"}}, allowed: true},
		{name: "service for itself: aws:SourceAccount of another account", keyPolicy: keyPolicyServiceGrants, principal: s3, action: "kms:Decrypt",
			ctx:    map[string][]string{"aws:sourcearn": {"arn:aws:s3:us-east-1:444455556666:accesspoint/photos"}, "aws:sourceaccount": {"444455556666"}},
			reason: "no resource-based policy"},
		{name: "service for itself: no source resource", keyPolicy: keyPolicyServiceGrants, principal: s3, action: "kms:Decrypt",
			reason: "no resource-based policy"},

		// Default key policy (root delegation): key-policy-default.html.
		{name: "default policy, user without IAM policy", keyPolicy: defaultKeyPolicy, principal: alice, action: "kms:Decrypt",
			reason: "because no identity-based policy allows the kms:Decrypt action"},
		{name: "default policy, user with IAM policy", keyPolicy: defaultKeyPolicy, identity: []string{iamUseKey}, principal: alice, action: "kms:Decrypt", allowed: true},
		{name: "default policy, IAM policy for another action", keyPolicy: defaultKeyPolicy, identity: []string{iamEncryptOnly}, principal: alice, action: "kms:Decrypt",
			reason: "no identity-based policy"},
		{name: "default policy, IAM policy with key wildcard", keyPolicy: defaultKeyPolicy, identity: []string{iamEncryptOnly}, principal: alice, action: "kms:Encrypt", allowed: true},
		{name: "default policy, IAM policy for another key", keyPolicy: defaultKeyPolicy, identity: []string{iamUseKey}, principal: alice, action: "kms:Decrypt", resource: key2ARN,
			reason: "no identity-based policy"},
		{name: "default policy, root needs no IAM policy", keyPolicy: defaultKeyPolicy, principal: root, action: "kms:ScheduleKeyDeletion", allowed: true},
		{name: "key policy without the account, root locked out", keyPolicy: keyPolicyAliceOnly,
			principal: root, action: "kms:PutKeyPolicy", reason: "because no resource-based policy allows the kms:PutKeyPolicy action"},
		{name: "key policy without the account, IAM policy ineffective", keyPolicy: keyPolicyAliceOnly,
			identity: []string{iamUseKey}, principal: exampleUser, action: "kms:Decrypt", reason: "no resource-based policy"},

		// Console default key policy: key administrators and key users.
		{name: "console policy, admin role manages the key", keyPolicy: consoleKeyPolicy, principal: adminRole, action: "kms:PutKeyPolicy", allowed: true},
		{name: "console policy, admin role schedules deletion", keyPolicy: consoleKeyPolicy, principal: adminRole, action: "kms:ScheduleKeyDeletion", allowed: true},
		{name: "console policy, admin role cannot decrypt", keyPolicy: consoleKeyPolicy, principal: adminRole, action: "kms:Decrypt", reason: "no identity-based policy"},
		{name: "console policy, developer role decrypts", keyPolicy: consoleKeyPolicy, principal: devRole, action: "kms:Decrypt", allowed: true},
		{name: "console policy, developer role GenerateDataKey* wildcard", keyPolicy: consoleKeyPolicy, principal: devRole, action: "kms:GenerateDataKeyWithoutPlaintext", allowed: true},
		{name: "console policy, action case-insensitive", keyPolicy: consoleKeyPolicy, principal: devRole, action: "KMS:decrypt", allowed: true},
		{name: "console policy, developer role cannot delete", keyPolicy: consoleKeyPolicy, principal: devRole, action: "kms:ScheduleKeyDeletion", reason: "no identity-based policy"},
		{name: "console policy, grant for AWS resource", keyPolicy: consoleKeyPolicy, principal: exampleUser, action: "kms:CreateGrant",
			ctx: map[string][]string{"kms:grantisforawsresource": {"true"}}, allowed: true},
		{name: "console policy, grant not for AWS resource", keyPolicy: consoleKeyPolicy, principal: exampleUser, action: "kms:CreateGrant",
			ctx: map[string][]string{"kms:grantisforawsresource": {"false"}}, reason: "no identity-based policy"},

		// Deny with NotIpAddress on aws:SourceIp.
		{name: "source IP inside 192.0.2.0/24", keyPolicy: keyPolicyDenyIP, identity: []string{iamUseKey}, principal: alice, action: "kms:Decrypt",
			ctx: map[string][]string{"aws:sourceip": {"192.0.2.10"}, "aws:viaawsservice": {"false"}}, allowed: true},
		{name: "source IP inside 203.0.113.0/24", keyPolicy: keyPolicyDenyIP, identity: []string{iamUseKey}, principal: alice, action: "kms:Decrypt",
			ctx: map[string][]string{"aws:sourceip": {"203.0.113.255"}, "aws:viaawsservice": {"false"}}, allowed: true},
		{name: "source IP inside the IPv6 range", keyPolicy: keyPolicyDenyIP, identity: []string{iamUseKey}, principal: alice, action: "kms:Decrypt",
			ctx: map[string][]string{"aws:sourceip": {"2001:db8:1234:5678::99"}, "aws:viaawsservice": {"false"}}, allowed: true},
		{name: "source IP outside the ranges", keyPolicy: keyPolicyDenyIP, identity: []string{iamUseKey}, principal: alice, action: "kms:Decrypt",
			ctx:      map[string][]string{"aws:sourceip": {"198.51.100.7"}, "aws:viaawsservice": {"false"}},
			explicit: true, reason: "with an explicit deny in a resource-based policy"},
		{name: "source IP outside, root denied too", keyPolicy: keyPolicyDenyIP, principal: root, action: "kms:DescribeKey",
			ctx: map[string][]string{"aws:sourceip": {"198.51.100.7"}, "aws:viaawsservice": {"false"}}, explicit: true},
		{name: "source IP outside but via an AWS service", keyPolicy: keyPolicyDenyIP, identity: []string{iamUseKey}, principal: alice, action: "kms:Decrypt",
			ctx: map[string][]string{"aws:sourceip": {"198.51.100.7"}, "aws:viaawsservice": {"true"}}, allowed: true},
		{name: "no source IP: NotIpAddress on a missing key is true", keyPolicy: keyPolicyDenyIP, identity: []string{iamUseKey}, principal: alice, action: "kms:Decrypt",
			ctx: map[string][]string{"aws:viaawsservice": {"false"}}, explicit: true},

		// kms:ViaService and kms:CallerAccount.
		{name: "S3 on behalf of a user of the account", keyPolicy: keyPolicyViaService, principal: alice, action: "kms:GenerateDataKey",
			ctx: map[string][]string{"kms:viaservice": {"s3.us-east-1.amazonaws.com"}, "kms:calleraccount": {acct}}, allowed: true},
		{name: "same user calling KMS directly", keyPolicy: keyPolicyViaService, principal: alice, action: "kms:GenerateDataKey",
			ctx: map[string][]string{"kms:calleraccount": {acct}}, reason: "no resource-based policy"},
		{name: "S3 in another Region", keyPolicy: keyPolicyViaService, principal: alice, action: "kms:Decrypt",
			ctx: map[string][]string{"kms:viaservice": {"s3.eu-west-1.amazonaws.com"}, "kms:calleraccount": {acct}}, reason: "no resource-based policy"},
		{name: "S3 on behalf of another account", keyPolicy: keyPolicyViaService, identity: []string{iamUseKey}, principal: bob, action: "kms:Decrypt",
			ctx: map[string][]string{"kms:viaservice": {"s3.us-east-1.amazonaws.com"}, "kms:calleraccount": {extAcct}}, reason: crossAccountDenied},
		{name: "DynamoDB in any Region (StringLike)", keyPolicy: keyPolicyViaService, principal: exampleUser, action: "kms:CreateGrant",
			ctx: map[string][]string{"kms:viaservice": {"dynamodb.eu-central-1.amazonaws.com"}}, allowed: true},
		{name: "Lambda denied for Encrypt", keyPolicy: keyPolicyViaService, principal: exampleUser, action: "kms:Encrypt",
			ctx: map[string][]string{"kms:viaservice": {"lambda.us-west-2.amazonaws.com"}}, explicit: true, reason: "explicit deny"},

		// kms:EncryptionContext:<key> and kms:EncryptionContextKeys.
		{name: "encryption context pair present", keyPolicy: keyPolicyEncryptionContext, principal: devRole, action: "kms:GenerateDataKey",
			ctx: map[string][]string{"kms:encryptioncontext:appname": {"ExampleApp"}, "kms:encryptioncontextkeys": {"AppName"}}, allowed: true},
		{name: "encryption context key matched case-insensitively", keyPolicy: keyPolicyEncryptionContext, principal: devRole, action: "kms:GenerateDataKey",
			ctx: map[string][]string{"kms:EncryptionContext:APPNAME": {"ExampleApp"}}, allowed: true},
		{name: "encryption context value is case-sensitive", keyPolicy: keyPolicyEncryptionContext, principal: devRole, action: "kms:GenerateDataKey",
			ctx: map[string][]string{"kms:encryptioncontext:appname": {"exampleapp"}}, reason: "no resource-based policy"},
		{name: "encryption context missing", keyPolicy: keyPolicyEncryptionContext, principal: devRole, action: "kms:GenerateDataKey", reason: "no resource-based policy"},
		{name: "forbidden encryption context pair", keyPolicy: keyPolicyEncryptionContext, principal: devRole, action: "kms:GenerateDataKey",
			ctx: map[string][]string{"kms:encryptioncontext:appname": {"ExampleApp"}, "kms:encryptioncontext:stage": {"Production"}}, explicit: true},
		{name: "both pairs and only those keys", keyPolicy: keyPolicyEncryptionContext, principal: exampleUser, action: "kms:Decrypt",
			ctx: map[string][]string{"kms:encryptioncontext:department": {"IT"}, "kms:encryptioncontext:project": {"Alpha"}, "kms:encryptioncontextkeys": {"Department", "Project"}}, allowed: true},
		{name: "ForAllValues refuses an extra key", keyPolicy: keyPolicyEncryptionContext, principal: exampleUser, action: "kms:Decrypt",
			ctx:    map[string][]string{"kms:encryptioncontext:department": {"IT"}, "kms:encryptioncontext:project": {"Alpha"}, "kms:encryptioncontext:stage": {"Test"}, "kms:encryptioncontextkeys": {"Department", "Project", "Stage"}},
			reason: "no resource-based policy"},
		{name: "ForAnyValue: one matching key suffices", keyPolicy: keyPolicyEncryptionContext, principal: exampleUser, action: "kms:GenerateDataKeyWithoutPlaintext",
			ctx: map[string][]string{"kms:encryptioncontextkeys": {"AppName", "Project"}}, allowed: true},
		{name: "ForAnyValue: no encryption context fails", keyPolicy: keyPolicyEncryptionContext, principal: exampleUser, action: "kms:Encrypt", reason: "no resource-based policy"},
		{name: "ForAnyValue: StringEquals is case-sensitive", keyPolicy: keyPolicyEncryptionContext, principal: exampleUser, action: "kms:Encrypt",
			ctx: map[string][]string{"kms:encryptioncontextkeys": {"appname"}}, reason: "no resource-based policy"},
		{name: "ForAllValues alone allows no encryption context", keyPolicy: keyPolicyForAllValuesAlone, principal: exampleUser, action: "kms:Encrypt", allowed: true},
		{name: "ForAllValues alone refuses another key", keyPolicy: keyPolicyForAllValuesAlone, principal: exampleUser, action: "kms:Encrypt",
			ctx: map[string][]string{"kms:encryptioncontextkeys": {"AppName", "Other"}}, reason: "no resource-based policy"},

		// IAM Identity Center (SSO) sessions.
		{name: "SSO session matched by role ARN with path", keyPolicy: keyPolicySSO, principal: ssoAdmin, action: "kms:ScheduleKeyDeletion", allowed: true},
		{name: "SSO session matched by aws:PrincipalArn ArnLike", keyPolicy: keyPolicySSO, principal: ssoReadOnly, action: "kms:Decrypt", allowed: true},
		{name: "SSO read-only session cannot encrypt", keyPolicy: keyPolicySSO, principal: ssoReadOnly, action: "kms:Encrypt", reason: "no resource-based policy"},
		{name: "other role not matched by ArnLike", keyPolicy: keyPolicySSO, principal: devRole, action: "kms:Decrypt", reason: "no resource-based policy"},

		// Cross-account.
		{name: "cross-account: key policy allows the account, IAM allows", keyPolicy: keyPolicyExternalAccount, identity: []string{iamUseKey}, principal: bob, action: "kms:Decrypt", allowed: true},
		{name: "cross-account: key policy allows the account, no IAM policy", keyPolicy: keyPolicyExternalAccount, principal: bob, action: "kms:Decrypt",
			reason: "because no identity-based policy allows the kms:Decrypt action"},
		// A key policy that refuses another account's principal does not
		// tell it whether the key exists (AWS's cross-account answers).
		{name: "cross-account: IAM allows, key policy does not", keyPolicy: defaultKeyPolicy, identity: []string{iamUseKey}, principal: bob, action: "kms:Decrypt",
			reason: crossAccountDenied},
		{name: "cross-account: action outside the key policy", keyPolicy: keyPolicyExternalAccount, identity: []string{iamUseKey}, principal: bob, action: "kms:ScheduleKeyDeletion",
			reason: crossAccountDenied},
		{name: "cross-account: key policy Deny", keyPolicy: keyPolicyDenySchedule, keyAccount: extAcct, principal: root, action: "kms:ScheduleKeyDeletion",
			explicit: true, reason: crossAccountDenied},
		{name: "cross-account: root not named in the key policy", keyPolicy: defaultKeyPolicy, principal: extRoot, action: "kms:Encrypt", reason: crossAccountDenied},
		{name: "cross-account: external root needs no IAM policy", keyPolicy: keyPolicyExternalAccount, principal: extRoot, action: "kms:Encrypt", allowed: true},
		{name: "cross-account: user named in key policy still needs IAM", keyPolicy: keyPolicyExternalUser, principal: bob, action: "kms:Decrypt", reason: "no identity-based policy"},
		{name: "cross-account: user named in key policy and IAM", keyPolicy: keyPolicyExternalUser, identity: []string{iamUseKey}, principal: bob, action: "kms:Decrypt", allowed: true},
		{name: "cross-account: another user of the account", keyPolicy: keyPolicyExternalUser, identity: []string{iamUseKey}, principal: carol, action: "kms:Decrypt", reason: crossAccountDenied},
		{name: "cross-account via console key users statement", keyPolicy: consoleKeyPolicy, identity: []string{iamUseKey}, principal: bob, action: "kms:GenerateDataKey", allowed: true},

		// Explicit deny beats allow.
		{name: "key policy Deny beats root", keyPolicy: keyPolicyDenySchedule, principal: root, action: "kms:ScheduleKeyDeletion",
			explicit: true, reason: "with an explicit deny in a resource-based policy"},
		{name: "key policy Deny leaves other actions", keyPolicy: keyPolicyDenySchedule, principal: root, action: "kms:DisableKey", allowed: true},
		{name: "identity policy Deny beats key policy Allow", keyPolicy: consoleKeyPolicy, identity: []string{iamDenyDecrypt}, principal: devRole, action: "kms:Decrypt",
			explicit: true, reason: "with an explicit deny in an identity-based policy"},
		{name: "identity policy Deny beats identity Allow", keyPolicy: defaultKeyPolicy, identity: []string{iamUseKey, iamDenyDecrypt}, principal: alice, action: "kms:Decrypt", explicit: true},

		// Grants.
		{name: "grant allows without policies", keyPolicy: defaultKeyPolicy, grant: true, principal: alice, action: "kms:Decrypt", allowed: true},
		{name: "grant allows cross-account without IAM policy", keyPolicy: defaultKeyPolicy, grant: true, principal: bob, action: "kms:Decrypt", allowed: true},
		{name: "explicit deny beats a grant", keyPolicy: keyPolicyDenySchedule, grant: true, principal: alice, action: "kms:ScheduleKeyDeletion", explicit: true},
		{name: "identity deny beats a grant", keyPolicy: defaultKeyPolicy, identity: []string{iamDenyDecrypt}, grant: true, principal: alice, action: "kms:Decrypt", explicit: true},

		// NotAction, NotResource, NotPrincipal.
		{name: "NotAction allows other actions", keyPolicy: defaultKeyPolicy, identity: []string{iamNotAction}, principal: alice, action: "kms:Decrypt", allowed: true},
		{name: "NotAction does not allow the listed action", keyPolicy: defaultKeyPolicy, identity: []string{iamNotAction}, principal: alice, action: "kms:ScheduleKeyDeletion",
			reason: "no identity-based policy"},
		{name: "NotResource Deny spares the listed key", keyPolicy: defaultKeyPolicy, identity: []string{iamDenyOtherKeys}, principal: alice, action: "kms:Decrypt", allowed: true},
		{name: "NotResource Deny hits another key", keyPolicy: defaultKeyPolicy, identity: []string{iamDenyOtherKeys}, principal: alice, action: "kms:Decrypt", resource: key2ARN,
			explicit: true, reason: "identity-based"},
		{name: "NotPrincipal exempts Bob", keyPolicy: keyPolicyNotPrincipal, identity: []string{iamUseKey}, principal: bob, action: "kms:Decrypt", keyAccount: acct, allowed: true},
		{name: "NotPrincipal denies Carol", keyPolicy: keyPolicyNotPrincipal, identity: []string{iamUseKey}, principal: carol, action: "kms:Decrypt", explicit: true},
		{name: "NotPrincipal exempts the listed account's root", keyPolicy: keyPolicyNotPrincipal, principal: extRoot, action: "kms:Decrypt", allowed: true},

		// ...IfExists, Null, Date, Bool, policy variables.
		{name: "IfExists: key absent", keyPolicy: keyPolicyConditions, principal: devRole, action: "kms:Encrypt", ctx: https, allowed: true},
		{name: "IfExists: key present and matching", keyPolicy: keyPolicyConditions, principal: devRole, action: "kms:Encrypt",
			ctx: map[string][]string{"aws:securetransport": {"true"}, "kms:encryptionalgorithm": {"SYMMETRIC_DEFAULT"}}, allowed: true},
		{name: "IfExists: key present, other value", keyPolicy: keyPolicyConditions, principal: devRole, action: "kms:Decrypt",
			ctx: map[string][]string{"aws:securetransport": {"true"}, "kms:encryptionalgorithm": {"RSAES_OAEP_SHA_256"}}, reason: "no resource-based policy"},
		{name: "Null true: bypass flag absent", keyPolicy: keyPolicyConditions, principal: adminRole, action: "kms:PutKeyPolicy", ctx: https, allowed: true},
		{name: "Null true: bypass flag present", keyPolicy: keyPolicyConditions, principal: adminRole, action: "kms:PutKeyPolicy",
			ctx: map[string][]string{"aws:securetransport": {"true"}, "kms:bypasspolicylockoutsafetycheck": {"false"}}, reason: "no resource-based policy"},
		{name: "DateLessThan: before 2030", keyPolicy: keyPolicyConditions, principal: adminRole, action: "kms:DescribeKey",
			ctx: map[string][]string{"aws:securetransport": {"true"}, "aws:currenttime": {"2026-03-01T12:00:00Z"}, "aws:epochtime": {"1772366400"}}, allowed: true},
		{name: "DateLessThan: after 2030", keyPolicy: keyPolicyConditions, principal: adminRole, action: "kms:DescribeKey",
			ctx: map[string][]string{"aws:securetransport": {"true"}, "aws:currenttime": {"2031-01-01T00:00:00Z"}, "aws:epochtime": {"1924992000"}}, reason: "no resource-based policy"},
		{name: "DateGreaterThan epoch: before 2020", keyPolicy: keyPolicyConditions, principal: adminRole, action: "kms:DescribeKey",
			ctx: map[string][]string{"aws:securetransport": {"true"}, "aws:currenttime": {"2019-06-01T00:00:00Z"}, "aws:epochtime": {"1559347200"}}, reason: "no resource-based policy"},
		{name: "Bool: SecureTransport false denied", keyPolicy: keyPolicyConditions, principal: devRole, action: "kms:Encrypt",
			ctx: map[string][]string{"aws:securetransport": {"false"}}, explicit: true},
		{name: "Bool: SecureTransport missing not denied", keyPolicy: keyPolicyConditions, principal: devRole, action: "kms:Encrypt", allowed: true},
		{name: "variable: own user name in context", keyPolicy: keyPolicyConditions, principal: alice, action: "kms:Decrypt",
			ctx: map[string][]string{"aws:securetransport": {"true"}, "kms:encryptioncontext:user": {"Alice"}}, allowed: true},
		{name: "variable: someone else's name", keyPolicy: keyPolicyConditions, principal: alice, action: "kms:Decrypt",
			ctx: map[string][]string{"aws:securetransport": {"true"}, "kms:encryptioncontext:user": {"ExampleUser"}}, reason: "no resource-based policy"},
		{name: "variable: resolves per principal", keyPolicy: keyPolicyConditions, principal: exampleUser, action: "kms:Encrypt",
			ctx: map[string][]string{"aws:securetransport": {"true"}, "kms:encryptioncontext:user": {"ExampleUser"}}, allowed: true},
		{name: "variable in Resource", keyPolicy: defaultKeyPolicy, identity: []string{iamHomeKeys}, principal: alice, action: "kms:Decrypt",
			resource: "arn:aws:kms:us-east-1:111122223333:alias/Alice-data", allowed: true},
		{name: "variable in Resource, another user's alias", keyPolicy: defaultKeyPolicy, identity: []string{iamHomeKeys}, principal: alice, action: "kms:Decrypt",
			resource: "arn:aws:kms:us-east-1:111122223333:alias/Bob-data", reason: "no identity-based policy"},
		{name: "variable is literal in the 2008 language", keyPolicy: defaultKeyPolicy, identity: []string{iamHomeKeys2008}, principal: alice, action: "kms:Decrypt",
			resource: "arn:aws:kms:us-east-1:111122223333:alias/Alice-data", reason: "no identity-based policy"},

		// Service principals.
		{name: "service principal named in key policy", keyPolicy: keyPolicyService, principal: cloudtrail, action: "kms:GenerateDataKey", allowed: true},
		{name: "service principal, action not allowed", keyPolicy: keyPolicyService, principal: cloudtrail, action: "kms:Decrypt", reason: "no resource-based policy"},
		{name: "service principal not named", keyPolicy: defaultKeyPolicy, principal: cloudtrail, action: "kms:GenerateDataKey", reason: "no resource-based policy"},

		// Account-level actions: no key policy.
		{name: "CreateKey with IAM policy", identity: []string{iamCreateKey}, principal: alice, action: "kms:CreateKey", resource: "*", allowed: true},
		{name: "CreateKey without IAM policy", principal: alice, action: "kms:CreateKey", resource: "*",
			reason: "because no identity-based policy allows the kms:CreateKey action"},
		{name: "CreateKey as root", principal: root, action: "kms:CreateKey", resource: "*", allowed: true},
		{name: "ListKeys with key-scoped IAM policy", identity: []string{iamUseKey}, principal: alice, action: "kms:ListKeys", resource: "*", reason: "no identity-based policy"},
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	for _, tc := range authzCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := AuthzInput{KeyAccount: tc.keyAccount, GrantAllows: tc.grant}
			if in.KeyAccount == "" {
				in.KeyAccount = acct
			}
			if tc.keyPolicy != "" {
				in.KeyPolicy = mustParse(t, tc.keyPolicy, KeyPolicy)
			}
			for _, doc := range tc.identity {
				in.IdentityPolicies = append(in.IdentityPolicies, mustParse(t, doc, IdentityPolicy))
			}
			in.Request = Request{Principal: tc.principal, Action: tc.action, Resource: tc.resource, Context: tc.ctx}
			if in.Request.Resource == "" {
				in.Request.Resource = keyARN
			}
			d := Authorize(&in)
			if d.Allowed != tc.allowed || d.ExplicitDeny != tc.explicit {
				t.Fatalf("Authorize = %+v, want Allowed=%v ExplicitDeny=%v", d, tc.allowed, tc.explicit)
			}
			if tc.allowed && d.Reason != "" {
				t.Errorf("allowed with reason %q", d.Reason)
			}
			if !tc.allowed {
				if d.Reason == "" {
					t.Errorf("denied without a reason")
				}
				if !strings.Contains(d.Reason, tc.reason) {
					t.Errorf("Reason = %q, want it to contain %q", d.Reason, tc.reason)
				}
				if d.HideResource != (d.Reason == crossAccountDenied) {
					t.Errorf("HideResource = %v with reason %q", d.HideResource, d.Reason)
				}
			}
		})
	}
}

// TestEvaluate checks single-policy evaluation, the effect of one policy
// alone.
func TestEvaluate(t *testing.T) {
	t.Parallel()
	console := mustParse(t, consoleKeyPolicy, KeyPolicy)
	denyIP := mustParse(t, keyPolicyDenyIP, KeyPolicy)
	idPolicy := mustParse(t, iamDenyOtherKeys, IdentityPolicy)
	tests := []struct {
		name string
		p    *Policy
		r    Request
		want Effect
	}{
		{"admin statement", console, Request{Principal: adminRole, Action: "kms:DisableKeyRotation", Resource: keyARN}, Allow},
		{"root statement for a user", console, Request{Principal: alice, Action: "kms:Decrypt", Resource: keyARN}, Allow},
		{"no statement for another account", console, Request{Principal: carol, Action: "kms:DisableKey", Resource: keyARN}, NoMatch},
		{"deny from outside", denyIP, Request{Principal: alice, Action: "kms:Decrypt", Resource: keyARN,
			Context: map[string][]string{"aws:sourceip": {"198.51.100.1"}, "aws:viaawsservice": {"false"}}}, Deny},
		{"identity allow", idPolicy, Request{Principal: alice, Action: "kms:Decrypt", Resource: keyARN}, Allow},
		{"identity deny", idPolicy, Request{Principal: alice, Action: "kms:Decrypt", Resource: key2ARN}, Deny},
		{"identity other service", idPolicy, Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/key"}, NoMatch},
		{"nil policy", nil, Request{Principal: alice, Action: "kms:Decrypt", Resource: keyARN}, NoMatch},
	}
	for _, tc := range tests {
		if got := tc.p.Evaluate(&tc.r); got != tc.want {
			t.Errorf("%s: Evaluate = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDenyMessage(t *testing.T) {
	t.Parallel()
	r := &Request{Principal: alice, Action: "kms:Decrypt", Resource: keyARN}
	tests := []struct {
		d    Decision
		want string
	}{
		{implicitDeny(identityBased, "kms:Decrypt"),
			"User: arn:aws:iam::111122223333:user/Alice is not authorized to perform: kms:Decrypt on resource: " + keyARN +
				" because no identity-based policy allows the kms:Decrypt action"},
		{implicitDeny(resourceBased, "kms:Decrypt"),
			"User: arn:aws:iam::111122223333:user/Alice is not authorized to perform: kms:Decrypt on resource: " + keyARN +
				" because no resource-based policy allows the kms:Decrypt action"},
		{explicitDeny(resourceBased),
			"User: arn:aws:iam::111122223333:user/Alice is not authorized to perform: kms:Decrypt on resource: " + keyARN +
				" with an explicit deny in a resource-based policy"},
		{explicitDeny(identityBased),
			"User: arn:aws:iam::111122223333:user/Alice is not authorized to perform: kms:Decrypt on resource: " + keyARN +
				" with an explicit deny in an identity-based policy"},
		{Decision{Allowed: true}, ""},
	}
	for _, tc := range tests {
		if got := DenyMessage(r, tc.d); got != tc.want {
			t.Errorf("DenyMessage(%+v) =\n%q, want\n%q", tc.d, got, tc.want)
		}
	}
	// AWS KMS names the resource "*" for actions on no key.
	acctLevel := &Request{Principal: alice, Action: "kms:CreateKey", Resource: "*"}
	want := "User: arn:aws:iam::111122223333:user/Alice is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action"
	if got := DenyMessage(acctLevel, implicitDeny(identityBased, "kms:CreateKey")); got != want {
		t.Errorf("account-level DenyMessage =\n%q, want\n%q", got, want)
	}
	noResource := &Request{Principal: alice, Action: "kms:CreateKey"}
	want = "User: arn:aws:iam::111122223333:user/Alice is not authorized to perform: kms:CreateKey because no identity-based policy allows the kms:CreateKey action"
	if got := DenyMessage(noResource, implicitDeny(identityBased, "kms:CreateKey")); got != want {
		t.Errorf("DenyMessage without a resource =\n%q, want\n%q", got, want)
	}
	// Another account's principal refused by the key policy.
	ext := &Request{Principal: bob, Action: "kms:Encrypt", Resource: keyARN}
	want = "User: " + bob.ARN + " is not authorized to perform: kms:Encrypt on this resource because the resource does not exist in this Region, " +
		"no resource-based policies allow access, or a resource-based policy explicitly denies access"
	if got := DenyMessage(ext, Decision{Reason: crossAccountDenied, HideResource: true}); got != want {
		t.Errorf("cross-account DenyMessage =\n%q, want\n%q", got, want)
	}
}
