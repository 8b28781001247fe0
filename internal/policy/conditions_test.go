package policy

import (
	"testing"
)

// condHolds reports whether a Condition element holds for a request, by
// evaluating an identity policy that allows everything under it.
func condHolds(t *testing.T, version, cond string, p Principal, ctx map[string][]string) bool {
	t.Helper()
	doc := `{"Version":"` + version + `","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + cond + `}}`
	pol := mustParse(t, doc, IdentityPolicy)
	return pol.Evaluate(&Request{Principal: p, Action: "kms:Decrypt", Resource: keyARN, Context: ctx}) == Allow
}

func ctx1(k string, v ...string) map[string][]string { return map[string][]string{k: v} }

func TestConditionOperators(t *testing.T) {
	t.Parallel()
	none := map[string][]string(nil)
	tests := []struct {
		name string
		cond string
		ctx  map[string][]string
		want bool
	}{
		// String operators (…condition_operators.html#Conditions_String).
		{"StringEquals match", `{"StringEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}}`, none, false}, // no tag on alice
		{"StringEquals case-sensitive", `{"StringEquals":{"kms:KeySpec":"symmetric_default"}}`, ctx1("kms:keyspec", "SYMMETRIC_DEFAULT"), false},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"kms:KeySpec":"symmetric_default"}}`, ctx1("kms:keyspec", "SYMMETRIC_DEFAULT"), true},
		{"StringNotEquals other", `{"StringNotEquals":{"kms:KeySpec":"RSA_2048"}}`, ctx1("kms:keyspec", "SYMMETRIC_DEFAULT"), true},
		{"StringNotEquals same", `{"StringNotEquals":{"kms:KeySpec":"RSA_2048"}}`, ctx1("kms:keyspec", "RSA_2048"), false},
		{"StringNotEquals missing key is true", `{"StringNotEquals":{"kms:KeySpec":"RSA_2048"}}`, none, true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"kms:KeySpec":"rsa_2048"}}`, ctx1("kms:keyspec", "RSA_2048"), false},
		{"StringLike *", `{"StringLike":{"kms:SigningAlgorithm":"RSASSA_PSS*"}}`, ctx1("kms:signingalgorithm", "RSASSA_PSS_SHA_256"), true},
		{"StringLike ?", `{"StringLike":{"kms:KeySpec":"RSA_?048"}}`, ctx1("kms:keyspec", "RSA_2048"), true},
		{"StringLike no partial match without wildcard", `{"StringLike":{"kms:KeySpec":"RSA"}}`, ctx1("kms:keyspec", "RSA_2048"), false},
		{"StringLike is case-sensitive", `{"StringLike":{"kms:KeySpec":"rsa*"}}`, ctx1("kms:keyspec", "RSA_2048"), false},
		{"StringNotLike", `{"StringNotLike":{"kms:KeySpec":"RSA*"}}`, ctx1("kms:keyspec", "ECC_NIST_P256"), true},
		{"StringNotLike missing key is true", `{"StringNotLike":{"kms:KeySpec":"RSA*"}}`, none, true},
		{"StringEquals * is literal", `{"StringEquals":{"kms:KeySpec":"*"}}`, ctx1("kms:keyspec", "RSA_2048"), false},
		{"values are ORed", `{"StringEquals":{"kms:ViaService":["ec2.us-west-2.amazonaws.com","rds.us-west-2.amazonaws.com"]}}`, ctx1("kms:viaservice", "rds.us-west-2.amazonaws.com"), true},
		{"keys are ANDed", `{"StringEquals":{"kms:CallerAccount":"111122223333","kms:ViaService":"ec2.us-west-2.amazonaws.com"}}`, ctx1("kms:calleraccount", "111122223333"), false},
		{"operators are ANDed", `{"StringEquals":{"kms:CallerAccount":"111122223333"},"StringLike":{"kms:ViaService":"ec2.*"}}`,
			map[string][]string{"kms:calleraccount": {"111122223333"}, "kms:viaservice": {"ec2.us-west-2.amazonaws.com"}}, true},
		{"condition key case-insensitive (policy side)", `{"StringEquals":{"AWS:SOURCEVPC":"vpc-1"}}`, ctx1("aws:sourcevpc", "vpc-1"), true},
		{"condition key case-insensitive (request side)", `{"StringEquals":{"aws:SourceVpc":"vpc-1"}}`, ctx1("AWS:SourceVPC", "vpc-1"), true},
		{"operator name case-insensitive", `{"stringequals":{"aws:SourceVpc":"vpc-1"}}`, ctx1("aws:sourcevpc", "vpc-1"), true},
		{"key with no values is absent", `{"StringNotEquals":{"aws:SourceVpc":"vpc-1"}}`, map[string][]string{"aws:sourcevpc": {}}, true},

		// Numeric (#Conditions_Numeric).
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, ctx1("s3:max-keys", "10"), true},
		{"NumericLessThanEquals over", `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, ctx1("s3:max-keys", "11"), false},
		{"NumericLessThan", `{"NumericLessThan":{"kms:ValidTo":1546257599.0}}`, ctx1("kms:validto", "1546257598"), true},
		{"NumericGreaterThan decimal", `{"NumericGreaterThan":{"x:n":"1.5"}}`, ctx1("x:n", "1.50001"), true},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"x:n":"7"}}`, ctx1("x:n", "7.0"), true},
		{"NumericEquals", `{"NumericEquals":{"x:n":"1e3"}}`, ctx1("x:n", "1000"), true},
		{"NumericNotEquals", `{"NumericNotEquals":{"x:n":["1","2"]}}`, ctx1("x:n", "2"), false},
		{"NumericNotEquals other", `{"NumericNotEquals":{"x:n":["1","2"]}}`, ctx1("x:n", "3"), true},
		{"Numeric request value not a number", `{"NumericEquals":{"x:n":"1"}}`, ctx1("x:n", "one"), false},

		// Date (#Conditions_Date): ISO 8601 and epoch, both sides.
		{"DateGreaterThan ISO", `{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}`, ctx1("aws:tokenissuetime", "2020-06-01T00:00:00Z"), true},
		{"DateGreaterThan missing key", `{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}`, none, false},
		{"DateLessThan with offset", `{"DateLessThan":{"aws:CurrentTime":"2024-01-01T02:00:00+02:00"}}`, ctx1("aws:currenttime", "2023-12-31T23:59:59Z"), true},
		{"DateEquals date only", `{"DateEquals":{"aws:CurrentTime":"2024-01-01"}}`, ctx1("aws:currenttime", "2024-01-01T00:00:00Z"), true},
		{"DateEquals epoch vs ISO", `{"DateEquals":{"aws:EpochTime":"1704067200"}}`, ctx1("aws:epochtime", "2024-01-01T00:00:00Z"), true},
		{"DateLessThanEquals epoch request", `{"DateLessThanEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"}}`, ctx1("aws:currenttime", "1704067200"), true},
		{"DateGreaterThanEquals fraction", `{"DateGreaterThanEquals":{"aws:CurrentTime":"2024-01-01T00:00:00.5Z"}}`, ctx1("aws:currenttime", "2024-01-01T00:00:00.4Z"), false},
		{"DateNotEquals", `{"DateNotEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"}}`, ctx1("aws:currenttime", "2024-01-02T00:00:00Z"), true},

		// Bool (#Conditions_Boolean).
		{"Bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, ctx1("aws:securetransport", "true"), true},
		{"Bool JSON boolean", `{"Bool":{"aws:SecureTransport":true}}`, ctx1("aws:securetransport", "true"), true},
		{"Bool case-insensitive", `{"Bool":{"aws:SecureTransport":"True"}}`, ctx1("aws:securetransport", "true"), true},
		{"Bool false vs true", `{"Bool":{"aws:SecureTransport":"false"}}`, ctx1("aws:securetransport", "true"), false},
		{"Bool missing key", `{"Bool":{"aws:SecureTransport":"false"}}`, none, false},

		// Binary (#Conditions_BinaryEquals).
		{"BinaryEquals", `{"BinaryEquals":{"x:bin":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`, ctx1("x:bin", "BinaryValueInBase64"), true},
		{"BinaryEquals other", `{"BinaryEquals":{"x:bin":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`, ctx1("x:bin", "other"), false},

		// IP (#Conditions_IPAddress).
		{"IpAddress in range", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx1("aws:sourceip", "203.0.113.77"), true},
		{"IpAddress bare address is /32", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, ctx1("aws:sourceip", "203.0.113.8"), false},
		{"IpAddress IPv6", `{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}}`, ctx1("aws:sourceip", "2001:db8:1234:5678:ffff::1"), true},
		{"IpAddress IPv4-mapped request", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx1("aws:sourceip", "::ffff:203.0.113.9"), true},
		{"NotIpAddress outside", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx1("aws:sourceip", "198.51.100.1"), true},
		{"NotIpAddress inside", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx1("aws:sourceip", "203.0.113.1"), false},
		{"IpAddress garbage request value", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, ctx1("aws:sourceip", "not-an-ip"), false},

		// ARN (#Conditions_ARN), including the page's own example: StringLike
		// matches, ArnLike does not.
		{"doc example: StringLike crosses colons", `{"StringLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}`,
			ctx1("aws:sourcearn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"), true},
		{"doc example: ArnLike matches per segment", `{"ArnLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}`,
			ctx1("aws:sourcearn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"), false},
		{"ArnLike region wildcard", `{"ArnLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}`,
			ctx1("aws:sourcearn", "arn:aws:someservice:us-east-2:111122223333:finance/document.txt"), true},
		{"ArnEquals behaves as ArnLike", `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:*:111122223333:TOPIC-*"}}`,
			ctx1("aws:sourcearn", "arn:aws:sns:us-east-1:111122223333:TOPIC-1"), true},
		{"ArnLike resource part with colons", `{"ArnLike":{"aws:SourceArn":"arn:aws:logs:us-east-1:111122223333:log-group:*"}}`,
			ctx1("aws:sourcearn", "arn:aws:logs:us-east-1:111122223333:log-group:app:log-stream:x"), true},
		{"ArnLike is case-sensitive", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:111122223333:topic"}}`,
			ctx1("aws:sourcearn", "arn:aws:sns:us-east-1:111122223333:TOPIC"), false},
		{"ArnNotLike missing key is true", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, none, true},
		{"ArnNotEquals matching", `{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/Alice"}}`, none, false},
		{"ArnLike not an ARN", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, ctx1("aws:sourcearn", "topic"), false},

		// ...IfExists (#Conditions_IfExists).
		{"StringLikeIfExists absent", `{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}`, none, true},
		{"StringLikeIfExists present match", `{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}`, ctx1("ec2:instancetype", "t2.micro"), true},
		{"StringLikeIfExists present other", `{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}`, ctx1("ec2:instancetype", "c5.large"), false},
		{"StringNotEqualsIfExists absent", `{"StringNotEqualsIfExists":{"aws:RequestTag/env":"prod"}}`, none, true},
		{"NumericLessThanIfExists absent", `{"NumericLessThanIfExists":{"x:n":"5"}}`, none, true},
		{"IpAddressIfExists absent", `{"IpAddressIfExists":{"aws:SourceIp":"203.0.113.0/24"}}`, none, true},
		{"DateLessThanIfExists present", `{"DateLessThanIfExists":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, ctx1("aws:currenttime", "2021-01-01T00:00:00Z"), false},
		{"BoolIfExists present", `{"BoolIfExists":{"aws:MultiFactorAuthPresent":"true"}}`, ctx1("aws:multifactorauthpresent", "false"), false},
		{"ArnLikeIfExists absent", `{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, none, true},

		// Null (#Conditions_Null).
		{"Null true, absent", `{"Null":{"aws:TokenIssueTime":"true"}}`, none, true},
		{"Null true, present", `{"Null":{"aws:TokenIssueTime":"true"}}`, ctx1("aws:tokenissuetime", "2024-01-01T00:00:00Z"), false},
		{"Null false, present", `{"Null":{"aws:TokenIssueTime":false}}`, ctx1("aws:tokenissuetime", "2024-01-01T00:00:00Z"), true},
		{"Null false, absent", `{"Null":{"aws:TokenIssueTime":false}}`, none, false},
		{"Null derived key present", `{"Null":{"aws:username":"false"}}`, none, true},
	}
	for _, tc := range tests {
		if got := condHolds(t, Version2012, tc.cond, alice, tc.ctx); got != tc.want {
			t.Errorf("%s: %s with %v = %v, want %v", tc.name, tc.cond, tc.ctx, got, tc.want)
		}
	}
}

// TestSetOperators follows the ForAllValues / ForAnyValue rules of
// reference_policies_condition-single-vs-multi-valued-context-keys.html,
// with aws:TagKeys as the multivalued key.
func TestSetOperators(t *testing.T) {
	t.Parallel()
	tags := func(v ...string) map[string][]string {
		if v == nil {
			return nil
		}
		return ctx1("aws:tagkeys", v...)
	}
	const pol = `["DataClass","Owner"]`
	tests := []struct {
		op   string
		ctx  map[string][]string
		want bool
	}{
		{"ForAllValues:StringEquals", tags(), true}, // missing key: true
		{"ForAllValues:StringEquals", tags("DataClass"), true},
		{"ForAllValues:StringEquals", tags("DataClass", "Owner"), true},
		{"ForAllValues:StringEquals", tags("DataClass", "Dept"), false},
		{"ForAnyValue:StringEquals", tags(), false}, // missing key: false
		{"ForAnyValue:StringEquals", tags("Dept", "Owner"), true},
		{"ForAnyValue:StringEquals", tags("Dept"), false},
		{"ForAllValues:StringNotEquals", tags(), true},
		{"ForAllValues:StringNotEquals", tags("Dept", "SIC"), true},
		{"ForAllValues:StringNotEquals", tags("Dept", "SIC", "DataClass"), false},
		{"ForAnyValue:StringNotEquals", tags(), false},
		{"ForAnyValue:StringNotEquals", tags("DataClass", "Owner"), false},
		{"ForAnyValue:StringNotEquals", tags("Dept", "DataClass"), true},
		{"ForAllValues:StringLike", tags("DataClass", "Owner"), true},
		{"ForAnyValue:StringEqualsIgnoreCase", tags("dataclass"), true},
		{"ForAnyValue:StringEqualsIfExists", tags(), true}, // IfExists wins on a missing key
		{"ForAllValues:StringEqualsIfExists", tags("Dept"), false},
		// Without a set operator on a multivalued key: any value matches, and
		// the negated operator is its negation (docs silent; see eval).
		{"StringEquals", tags("Dept", "Owner"), true},
		{"StringNotEquals", tags("Dept", "Owner"), false},
		{"StringNotEquals", tags("Dept", "SIC"), true},
	}
	for _, tc := range tests {
		cond := `{"` + tc.op + `":{"aws:TagKeys":` + pol + `}}`
		if got := condHolds(t, Version2012, cond, alice, tc.ctx); got != tc.want {
			t.Errorf("%s with %v = %v, want %v", tc.op, tc.ctx["aws:tagkeys"], got, tc.want)
		}
	}
}

// TestPolicyVariables covers reference_policies_variables.html.
func TestPolicyVariables(t *testing.T) {
	t.Parallel()
	tagged := alice
	tagged.Tags = map[string]string{"team": "blue", "weird": "a*b"}
	tests := []struct {
		name    string
		version string
		cond    string
		p       Principal
		ctx     map[string][]string
		want    bool
	}{
		{"aws:username", Version2012, `{"StringEquals":{"x:owner":"${aws:username}"}}`, alice, ctx1("x:owner", "Alice"), true},
		{"aws:username other", Version2012, `{"StringEquals":{"x:owner":"${aws:username}"}}`, alice, ctx1("x:owner", "Bob"), false},
		{"variable names are case-insensitive", Version2012, `{"StringEquals":{"x:owner":"${AWS:UserName}"}}`, alice, ctx1("x:owner", "Alice"), true},
		{"aws:userid", Version2012, `{"StringLike":{"x:owner":"${aws:userid}*"}}`, alice, ctx1("x:owner", "AIDAJQABLZS4A3QDU576Q-x"), true},
		{"aws:PrincipalTag", Version2012, `{"StringEquals":{"x:team":"${aws:PrincipalTag/team}"}}`, tagged, ctx1("x:team", "blue"), true},
		{"aws:PrincipalTag key case-insensitive", Version2012, `{"StringEquals":{"x:team":"${aws:PrincipalTag/TEAM}"}}`, tagged, ctx1("x:team", "blue"), true},
		{"context key as variable", Version2012, `{"StringEquals":{"x:ip":"${aws:SourceIp}"}}`, alice, map[string][]string{"x:ip": {"192.0.2.1"}, "aws:sourceip": {"192.0.2.1"}}, true},
		{"variable value is literal, not a wildcard", Version2012, `{"StringLike":{"x:v":"${aws:PrincipalTag/weird}"}}`, tagged, ctx1("x:v", "aXXb"), false},
		{"variable value literal match", Version2012, `{"StringLike":{"x:v":"${aws:PrincipalTag/weird}"}}`, tagged, ctx1("x:v", "a*b"), true},
		{"no value: no match", Version2012, `{"StringEquals":{"x:owner":"${aws:username}"}}`, root, ctx1("x:owner", "root"), false},
		{"no value: negated operator true", Version2012, `{"StringNotEquals":{"x:owner":"${aws:username}"}}`, root, ctx1("x:owner", "root"), true},
		{"default value", Version2012, `{"StringEquals":{"x:owner":"${aws:username, 'anonymous'}"}}`, root, ctx1("x:owner", "anonymous"), true},
		{"default not used when present", Version2012, `{"StringEquals":{"x:owner":"${aws:username, 'anonymous'}"}}`, alice, ctx1("x:owner", "anonymous"), false},
		{"multivalued key is not a variable", Version2012, `{"StringEquals":{"x:v":"${aws:TagKeys}"}}`, alice, map[string][]string{"x:v": {"a"}, "aws:tagkeys": {"a", "b"}}, false},
		{"${*} escape", Version2012, `{"StringLike":{"x:v":"a${*}b"}}`, alice, ctx1("x:v", "a*b"), true},
		{"${*} escape is not a wildcard", Version2012, `{"StringLike":{"x:v":"a${*}b"}}`, alice, ctx1("x:v", "aXb"), false},
		{"${?} and ${$} escapes", Version2012, `{"StringEquals":{"x:v":"${?}${$}"}}`, alice, ctx1("x:v", "?$"), true},
		{"unclosed ${ is literal", Version2012, `{"StringEquals":{"x:v":"${aws:username"}}`, alice, ctx1("x:v", "${aws:username"), true},
		{"2008: variables are literal", Version2008, `{"StringEquals":{"x:owner":"${aws:username}"}}`, alice, ctx1("x:owner", "${aws:username}"), true},
		{"2008: no substitution", Version2008, `{"StringEquals":{"x:owner":"${aws:username}"}}`, alice, ctx1("x:owner", "Alice"), false},
		{"ARN operator with variable", Version2012, `{"ArnLike":{"aws:SourceArn":"arn:aws:sqs:*:111122223333:${aws:username}-*"}}`, alice, ctx1("aws:sourcearn", "arn:aws:sqs:us-east-1:111122223333:Alice-queue"), true},
		{"Bool with variable", Version2012, `{"Bool":{"aws:SecureTransport":"${x:flag}"}}`, alice, map[string][]string{"aws:securetransport": {"true"}, "x:flag": {"TRUE"}}, true},
		{"derived keys cannot be spoofed", Version2012, `{"StringEquals":{"aws:username":"Mallory"}}`, alice, ctx1("aws:username", "Mallory"), false},
	}
	for _, tc := range tests {
		if got := condHolds(t, tc.version, tc.cond, tc.p, tc.ctx); got != tc.want {
			t.Errorf("%s: %s = %v, want %v", tc.name, tc.cond, got, tc.want)
		}
	}
}

// TestDerivedKeys checks the principal keys derived from Request.Principal
// (reference_policies_condition-keys.html; reference_policies_variables.html,
// principal key values).
func TestDerivedKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Principal
		key  string
		want []string // nil: absent
	}{
		{alice, "aws:PrincipalArn", []string{alice.ARN}},
		{devRole, "aws:PrincipalArn", []string{devRole.RoleARN}},
		{root, "aws:PrincipalArn", []string{root.ARN}},
		{cloudtrail, "aws:PrincipalArn", nil},
		{alice, "aws:PrincipalAccount", []string{acct}},
		{root, "aws:PrincipalType", []string{"Account"}},
		{alice, "aws:PrincipalType", []string{"User"}},
		{devRole, "aws:PrincipalType", []string{"AssumedRole"}},
		{alice, "aws:username", []string{"Alice"}},
		{devRole, "aws:username", nil},
		{devRole, "aws:userid", []string{devRole.UserID}},
		{root, "aws:userid", []string{acct}},
		{cloudtrail, "aws:PrincipalServiceName", []string{"cloudtrail.amazonaws.com"}},
		{cloudtrail, "aws:PrincipalIsAWSService", []string{"true"}},
		{alice, "aws:PrincipalIsAWSService", []string{"false"}},
	}
	for _, tc := range tests {
		r := Request{Principal: tc.p}
		c := (*evalCtx)(&r)
		vs := c.values(lower(tc.key))
		var got []string
		for i := 0; i < vs.n; i++ {
			got = append(got, vs.at(i))
		}
		if len(got) != len(tc.want) || (len(got) == 1 && got[0] != tc.want[0]) {
			t.Errorf("%s for %s = %q, want %q", tc.key, tc.p.ARN+tc.p.Service, got, tc.want)
		}
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// TestResourceMatching covers the Resource element's ARN wildcards
// (reference_policies_elements_resource.html).
func TestResourceMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, resource string
		want              bool
	}{
		{"*", keyARN, true},
		{"*", "*", true},
		{keyARN, keyARN, true},
		{keyARN, key2ARN, false},
		{"arn:aws:kms:us-east-1:111122223333:key/*", keyARN, true},
		{"arn:aws:kms:*:111122223333:key/*", keyARN, true},
		{"arn:aws:kms:*:444455556666:key/*", keyARN, false},
		{"arn:aws:kms:us-east-?:111122223333:key/*", keyARN, true},
		{"arn:aws:kms:*", keyARN, true}, // a final '*' expands past colons
		{"arn:aws:*:us-east-1:111122223333:*", keyARN, true},
		{"arn:aws:kms:us-east-1:*", keyARN, true},
		{"arn:aws:kms:us-east-1:111122223333:alias/*", keyARN, false},
		{"arn:aws:kms:us-east-1:111122223333:key/1234ABCD-12ab-34cd-56ef-1234567890ab", keyARN, false}, // case-sensitive
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b/c", true},
		{"arn:aws:kms:us-east-1:111122223333:key/*", "*", false},
		{"arn:aws:kms:us*1:111122223333:key/*", keyARN, true},
		// Variables only in the resource part (after the fifth colon).
		{"arn:aws:kms:us-east-1:111122223333:alias/${aws:username}", "arn:aws:kms:us-east-1:111122223333:alias/Alice", true},
		{"arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/*", keyARN, false},
		{"arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/*", "arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/x", true},
	}
	for _, tc := range tests {
		doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"` + tc.pattern + `"}}`
		p := mustParse(t, doc, IdentityPolicy)
		got := p.Evaluate(&Request{Principal: alice, Action: "kms:Decrypt", Resource: tc.resource}) == Allow
		if got != tc.want {
			t.Errorf("Resource %q vs %q = %v, want %v", tc.pattern, tc.resource, got, tc.want)
		}
	}
}

// TestActionMatching covers Action wildcards and case-insensitivity
// (reference_policies_elements_action.html).
func TestActionMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "kms:Decrypt", true},
		{"kms:*", "kms:Decrypt", true},
		{"kms:*", "s3:GetObject", false},
		{"KMS:DECRYPT", "kms:Decrypt", true},
		{"kms:Describe*", "kms:DescribeKey", true},
		{"kms:Describe*", "kms:DisableKey", false},
		{"kms:*Key", "kms:CreateKey", true},
		{"kms:?ecrypt", "kms:Decrypt", true},
		{"kms:?ecrypt", "kms:Encrypt", false},
		{"kms:Decrypt", "kms:DecryptX", false},
	}
	for _, tc := range tests {
		doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"` + tc.pattern + `","Resource":"*"}}`
		p := mustParse(t, doc, IdentityPolicy)
		got := p.Evaluate(&Request{Principal: alice, Action: tc.action, Resource: keyARN}) == Allow
		if got != tc.want {
			t.Errorf("Action %q vs %q = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
	}
}

// TestPrincipalMatching covers the Principal and NotPrincipal forms
// (reference_policies_elements_principal.html, …_notprincipal.html).
func TestPrincipalMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		principal string
		p         Principal
		want      match
	}{
		{`"*"`, alice, matchDirect},
		{`{"AWS":"*"}`, bob, matchDirect},
		{`{"AWS":"111122223333"}`, alice, matchAccount},
		{`{"AWS":"arn:aws:iam::111122223333:root"}`, alice, matchAccount},
		{`{"AWS":"arn:aws:iam::111122223333:root"}`, devRole, matchAccount},
		{`{"AWS":"arn:aws:iam::111122223333:root"}`, root, matchDirect},
		{`{"AWS":"arn:aws:iam::111122223333:root"}`, bob, matchNone},
		{`{"AWS":"arn:aws-cn:iam::111122223333:root"}`, alice, matchNone}, // another partition
		{`{"AWS":"arn:aws:iam::111122223333:user/Alice"}`, alice, matchDirect},
		{`{"AWS":"arn:aws:iam::111122223333:user/alice"}`, alice, matchNone}, // user names are case-sensitive here
		{`{"AWS":"arn:aws:iam::111122223333:role/ExampleRole"}`, devRole, matchDirect},
		{`{"AWS":"arn:aws:sts::111122223333:assumed-role/ExampleRole/dev"}`, devRole, matchDirect},
		{`{"AWS":"arn:aws:sts::111122223333:assumed-role/ExampleRole/other"}`, devRole, matchNone},
		{`{"AWS":"arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_abc123"}`, ssoAdmin, matchNone}, // path required
		{`{"AWS":"AIDAJQABLZS4A3QDU576Q"}`, alice, matchDirect},
		{`{"AWS":"AROAEXAMPLEDEVROLE1234"}`, devRole, matchDirect},
		{`{"AWS":["444455556666","arn:aws:iam::111122223333:user/Alice"]}`, alice, matchDirect},
		{`{"Service":"cloudtrail.amazonaws.com"}`, cloudtrail, matchDirect},
		{`{"Service":"cloudtrail.amazonaws.com"}`, alice, matchNone},
		{`{"AWS":"111122223333"}`, cloudtrail, matchNone},
		{`{"Federated":"cognito-identity.amazonaws.com"}`, alice, matchNone},
		{`{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}`, alice, matchNone},
	}
	for _, tc := range tests {
		doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":` + tc.principal + `,"Action":"kms:*","Resource":"*"}}`
		p := mustParse(t, doc, KeyPolicy)
		r := Request{Principal: tc.p, Action: "kms:Decrypt", Resource: keyARN}
		_, got := p.eval((*evalCtx)(&r))
		if got != tc.want {
			t.Errorf("Principal %s vs %s: match %v, want %v", tc.principal, tc.p.ARN+tc.p.Service, got, tc.want)
		}
	}

	// NotPrincipal with Deny exempts a principal only when its whole chain
	// is listed.
	notTests := []struct {
		notPrincipal string
		p            Principal
		denied       bool
	}{
		{`{"AWS":["arn:aws:iam::444455556666:user/Bob","arn:aws:iam::444455556666:root"]}`, bob, false},
		{`{"AWS":["arn:aws:iam::444455556666:user/Bob"]}`, bob, true}, // account not listed
		{`{"AWS":["arn:aws:iam::444455556666:root"]}`, bob, true},     // user not listed
		{`{"AWS":["arn:aws:iam::444455556666:root"]}`, extRoot, false},
		{`{"AWS":["arn:aws:sts::111122223333:assumed-role/ExampleRole/dev","arn:aws:iam::111122223333:role/ExampleRole","arn:aws:iam::111122223333:root"]}`, devRole, false},
		{`{"AWS":["arn:aws:sts::111122223333:assumed-role/ExampleRole/dev","arn:aws:iam::111122223333:root"]}`, devRole, true}, // role missing
		{`{"Service":"cloudtrail.amazonaws.com"}`, cloudtrail, false},
		{`{"Service":"cloudtrail.amazonaws.com"}`, alice, true},
		{`"*"`, alice, false},
	}
	for _, tc := range notTests {
		doc := `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":` + tc.notPrincipal + `,"Action":"kms:*","Resource":"*"}}`
		p := mustParse(t, doc, KeyPolicy)
		got := p.Evaluate(&Request{Principal: tc.p, Action: "kms:Decrypt", Resource: keyARN}) == Deny
		if got != tc.denied {
			t.Errorf("NotPrincipal %s vs %s: denied %v, want %v", tc.notPrincipal, tc.p.ARN+tc.p.Service, got, tc.denied)
		}
	}
}

// TestTrustPolicy evaluates a role trust policy with Authorize, as IAM would
// for sts:AssumeRole (id_roles_terms-and-concepts.html, trust policy).
func TestTrustPolicy(t *testing.T) {
	t.Parallel()
	trust := mustParse(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}},
		{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, TrustPolicy)
	assume := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/*"}}`, IdentityPolicy)
	role := "arn:aws:iam::111122223333:role/CrossAccountRole"
	mfa := map[string][]string{"aws:multifactorauthpresent": {"true"}}
	tests := []struct {
		name string
		p    Principal
		ctx  map[string][]string
		ids  []*Policy
		want bool
	}{
		{"external user with MFA and IAM permission", bob, mfa, []*Policy{assume}, true},
		{"external user without MFA", bob, nil, []*Policy{assume}, false},
		{"external user without IAM permission", bob, mfa, nil, false},
		{"service", Principal{Type: TypeAWSService, Service: "ec2.amazonaws.com"}, nil, nil, true},
		{"principal of the role's account not trusted", alice, mfa, []*Policy{assume}, false},
	}
	for _, tc := range tests {
		d := Authorize(&AuthzInput{
			Request:    Request{Principal: tc.p, Action: "sts:AssumeRole", Resource: role, Context: tc.ctx},
			KeyAccount: acct, KeyPolicy: trust, IdentityPolicies: tc.ids,
		})
		if d.Allowed != tc.want {
			t.Errorf("%s: %+v, want allowed=%v", tc.name, d, tc.want)
		}
	}
}
