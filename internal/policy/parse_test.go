package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind Kind
		doc  string
		// check inspects the result.
		check func(t *testing.T, p *Policy)
	}{
		{"default key policy", KeyPolicy, defaultKeyPolicy, func(t *testing.T, p *Policy) {
			want := Statement{
				Sid: "Enable IAM User Permissions", Effect: Allow,
				Principal: &Principals{AWS: []string{"arn:aws:iam::111122223333:root"}},
				Action:    []string{"kms:*"}, Resource: []string{"*"},
			}
			if p.Version != Version2012 || p.ID != "key-default-1" || len(p.Statements) != 1 {
				t.Fatalf("got %+v", p)
			}
			s := p.Statements[0]
			if s.Sid != want.Sid || s.Effect != want.Effect || !reflect.DeepEqual(s.Principal.AWS, want.Principal.AWS) ||
				!reflect.DeepEqual(s.Action, want.Action) || !reflect.DeepEqual(s.Resource, want.Resource) {
				t.Errorf("statement = %+v", s)
			}
		}},
		{"console key policy", KeyPolicy, consoleKeyPolicy, func(t *testing.T, p *Policy) {
			if len(p.Statements) != 4 || len(p.Statements[1].Action) != 14 {
				t.Errorf("got %d statements", len(p.Statements))
			}
			c := p.Statements[3].Condition
			if len(c) != 1 || c[0].Operator != "Bool" || c[0].Key != "kms:GrantIsForAWSResource" || !reflect.DeepEqual(c[0].Values, []string{"true"}) {
				t.Errorf("condition = %+v", c)
			}
		}},
		{"statement as an object, no Version", KeyPolicy,
			`{"Statement":{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}}`,
			func(t *testing.T, p *Policy) {
				if p.Version != "" || len(p.Statements) != 1 || p.Statements[0].Effect != Deny || !p.Statements[0].Principal.Wildcard {
					t.Errorf("got %+v", p.Statements)
				}
			}},
		{"2008 version", IdentityPolicy, `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`, nil},
		{"numbers and booleans as condition values", KeyPolicy,
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:ImportKeyMaterial","Resource":"*",
			  "Condition":{"NumericLessThanEquals":{"kms:ValidTo":1546257599.0},"Bool":{"kms:BypassPolicyLockoutSafetyCheck":[true,false]}}}}`,
			func(t *testing.T, p *Policy) {
				c := p.Statements[0].Condition
				if len(c) != 2 || c[0].Operator != "Bool" || !reflect.DeepEqual(c[0].Values, []string{"true", "false"}) ||
					!reflect.DeepEqual(c[1].Values, []string{"1546257599.0"}) {
					t.Errorf("conditions = %+v", c)
				}
			}},
		{"all principal forms", KeyPolicy,
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{
			   "AWS":["*","111122223333","arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:user/division/Alice",
			          "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_abc123",
			          "arn:aws:sts::111122223333:assumed-role/ExampleRole/dev","arn:aws:sts::111122223333:federated-user/carol",
			          "AIDAJQABLZS4A3QDU576Q","arn:aws-us-gov:iam::111122223333:root"],
			   "Service":["s3.amazonaws.com","cloudtrail.amazonaws.com"],
			   "Federated":"arn:aws:iam::111122223333:saml-provider/idp",
			   "CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
			 "Action":"kms:*","Resource":"*"}}`, nil},
		{"NotPrincipal, NotAction, NotResource", KeyPolicy,
			`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"NotAction":"kms:Describe*","NotResource":"arn:aws:kms:*:111122223333:key/*"}}`, nil},
		{"key policy statement without Resource is accepted", KeyPolicy,
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*"}}`,
			func(t *testing.T, p *Policy) {
				if got := p.Evaluate(&Request{Principal: alice, Action: "kms:Decrypt", Resource: keyARN}); got != NoMatch {
					t.Errorf("statement without Resource applied: %v", got)
				}
			}},
		{"key policy Sid with spaces", KeyPolicy, `{"Statement":{"Sid":"Allow use of the key","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}`, nil},
		{"all operators with IfExists and set qualifiers", IdentityPolicy,
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
			   "StringEquals":{"a:b":"x"},"StringNotEquals":{"a:b":"x"},"StringEqualsIgnoreCase":{"a:b":"x"},"StringNotEqualsIgnoreCase":{"a:b":"x"},
			   "StringLike":{"a:b":"x*"},"StringNotLike":{"a:b":"x?"},
			   "NumericEquals":{"a:n":"1"},"NumericNotEquals":{"a:n":"-1.5"},"NumericLessThan":{"a:n":"2e3"},"NumericLessThanEquals":{"a:n":"+3"},
			   "NumericGreaterThan":{"a:n":"4"},"NumericGreaterThanEquals":{"a:n":"5"},
			   "DateEquals":{"a:d":"2024"},"DateNotEquals":{"a:d":"2024-01"},"DateLessThan":{"a:d":"2024-01-02"},"DateLessThanEquals":{"a:d":"2024-01-02T03:04Z"},
			   "DateGreaterThan":{"a:d":"2024-01-02T03:04:05+01:00"},"DateGreaterThanEquals":{"a:d":"2024-01-02T03:04:05.123Z"},
			   "Bool":{"a:b":"true"},"BinaryEquals":{"a:b":"QmluYXJ5"},"IpAddress":{"a:ip":"10.0.0.0/8"},"NotIpAddress":{"a:ip":"2001:db8::1"},
			   "ArnEquals":{"a:arn":"arn:aws:s3:::b"},"ArnLike":{"a:arn":"arn:aws:s3:::*"},"ArnNotEquals":{"a:arn":"arn:aws:s3:::b"},"ArnNotLike":{"a:arn":"arn:*"},
			   "Null":{"a:b":"true"},
			   "StringEqualsIfExists":{"a:b":"x"},"NumericLessThanIfExists":{"a:n":"1"},"DateLessThanIfExists":{"a:d":"1700000000"},"BoolIfExists":{"a:b":"false"},
			   "BinaryEqualsIfExists":{"a:b":""},"IpAddressIfExists":{"a:ip":"::/0"},"ArnLikeIfExists":{"a:arn":"*"},
			   "ForAnyValue:StringLike":{"a:t":["x*"]},"ForAllValues:StringEquals":{"a:t":[]},"ForAnyValue:StringNotEqualsIfExists":{"a:t":"y"}}}}`,
			func(t *testing.T, p *Policy) {
				if n := len(p.Statements[0].Condition); n != 37 {
					t.Errorf("%d conditions", n)
				}
			}},
		{"trust policy", TrustPolicy,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`, nil},
		{"whitespace and unicode", IdentityPolicy, "\n {\"Statement\" : [ { \"Effect\":\"Allow\", \"Action\":\"kms:*\", \"Resource\":\"arn:aws:s3:::b\u00fccket/*\" } ] } \n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tc.doc, tc.kind)
			if p.Kind() != tc.kind {
				t.Errorf("Kind = %v", p.Kind())
			}
			if tc.check != nil {
				tc.check(t, p)
			}
			checkRoundTrip(t, p, tc.kind)
		})
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	const stmt = `"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"`
	tests := []struct {
		name string
		kind Kind
		doc  string
		msg  string // substring of the error message
	}{
		{"empty", KeyPolicy, ``, "not valid JSON"},
		{"not JSON", KeyPolicy, `{"Version": "2012-10-17", "Statement": [`, "not valid JSON"},
		{"trailing data", KeyPolicy, `{"Statement":{` + stmt + `}} {}`, "not valid JSON"},
		{"trailing garbage", KeyPolicy, `{"Statement":{` + stmt + `}}x`, "not valid JSON"},
		{"not an object", KeyPolicy, `[{"Statement":{` + stmt + `}}]`, "must be a JSON object"},
		{"duplicate top-level key", KeyPolicy, `{"Statement":{` + stmt + `},"Statement":[]}`, `duplicate key "Statement"`},
		{"duplicate Effect", KeyPolicy, `{"Statement":{"Effect":"Deny",` + stmt + `}}`, `duplicate key "Effect"`},
		{"duplicate condition operator", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"Bool":{"a:b":"true"},"Bool":{"a:c":"true"}}}}`, `duplicate key "Bool"`},
		{"duplicate condition key", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"Bool":{"a:b":"true","a:b":"false"}}}}`, `duplicate key "a:b"`},
		{"too deep", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"Bool":{"a:b":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}}}`, "nested too deeply"},
		{"unknown top-level element", KeyPolicy, `{"Version":"2012-10-17","Statment":[],"Statement":{` + stmt + `}}`, `unknown element "Statment"`},
		{"element names are case-sensitive", KeyPolicy, `{"statement":{` + stmt + `}}`, `unknown element "statement"`},
		{"missing Statement", KeyPolicy, `{"Version":"2012-10-17"}`, "missing the required Statement"},
		{"empty Statement", KeyPolicy, `{"Statement":[]}`, "at least one statement"},
		{"Statement not an object", KeyPolicy, `{"Statement":"Allow"}`, "must be an object or an array"},
		{"statement not an object", KeyPolicy, `{"Statement":["Allow"]}`, "Statement 1: a statement must be a JSON object"},
		{"bad Version", KeyPolicy, `{"Version":"2012-10-18","Statement":{` + stmt + `}}`, `Version "2012-10-18" is not supported`},
		{"Version not a string", KeyPolicy, `{"Version":2012,"Statement":{` + stmt + `}}`, "Version element must be a string"},
		{"Id not a string", KeyPolicy, `{"Id":1,"Statement":{` + stmt + `}}`, "Id element must be a string"},
		{"missing Effect", KeyPolicy, `{"Statement":{"Principal":"*","Action":"kms:*","Resource":"*"}}`, "missing required field Effect"},
		{"bad Effect", KeyPolicy, `{"Statement":[{` + stmt + `},{"Sid":"Second","Effect":"allow","Principal":"*","Action":"kms:*","Resource":"*"}]}`,
			`Statement 2 (Sid "Second"): invalid Effect "allow"`},
		{"unknown statement element", KeyPolicy, `{"Statement":{` + stmt + `,"Conditions":{}}}`, `unknown element "Conditions"`},
		{"missing Action", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":"*","Resource":"*"}}`, "must contain actions"},
		{"empty Action array", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":"*","Action":[],"Resource":"*"}}`, "Action element must not be an empty array"},
		{"Action and NotAction", KeyPolicy, `{"Statement":{` + stmt + `,"NotAction":"kms:Decrypt"}}`, "both Action and NotAction"},
		{"Action not a string", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":"*","Action":[1],"Resource":"*"}}`, "Action element must hold strings"},
		{"action without a vendor", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"Decrypt","Resource":"*"}}`, "prefaced by a vendor"},
		{"action with a bad vendor", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"k*s:Decrypt","Resource":"*"}}`, "prefaced by a vendor"},
		{"Resource and NotResource", KeyPolicy, `{"Statement":{` + stmt + `,"NotResource":"*"}}`, "both Resource and NotResource"},
		{"resource not an ARN", IdentityPolicy, `{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"my-key"}}`, `Resource "my-key" must be in ARN format`},
		{"key policy without principal", KeyPolicy, `{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}`, "missing required field Principal"},
		{"Principal and NotPrincipal", KeyPolicy, `{"Statement":{` + stmt + `,"NotPrincipal":{"AWS":"111122223333"}}}`, "both Principal and NotPrincipal"},
		{"identity policy with principal", IdentityPolicy, `{"Statement":{` + stmt + `}}`, "should not specify a principal"},
		{"identity policy with NotPrincipal", IdentityPolicy, `{"Statement":{"Effect":"Allow","NotPrincipal":"*","Action":"kms:*","Resource":"*"}}`, "should not specify a principal"},
		{"identity policy without resource", IdentityPolicy, `{"Statement":{"Effect":"Allow","Action":"kms:*"}}`, "must contain resources"},
		{"identity policy Sid with spaces", IdentityPolicy, `{"Statement":{"Sid":"Allow use","Effect":"Allow","Action":"kms:*","Resource":"*"}}`, "must be alpha-numeric"},
		{"identity policy duplicate Sid", IdentityPolicy, `{"Statement":[{"Sid":"A","Effect":"Allow","Action":"kms:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"kms:*","Resource":"*"}]}`, "must be unique"},
		{"trust policy with Resource", TrustPolicy, `{"Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}}`, "prohibited field Resource"},
		{"trust policy with another action", TrustPolicy, `{"Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"kms:Decrypt"}}`, "only allow sts: actions"},
		{"trust policy with Action *", TrustPolicy, `{"Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"*"}}`, "only allow sts: actions"},
		{"trust policy without principal", TrustPolicy, `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`, "missing required field Principal"},
		{"principal string other than *", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":"arn:aws:iam::111122223333:root","Action":"kms:*","Resource":"*"}}`, "invalid principals"},
		{"empty principal object", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":{},"Action":"kms:*","Resource":"*"}}`, "invalid principals"},
		{"unknown principal type", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":{"Group":"x"},"Action":"kms:*","Resource":"*"}}`, `unknown principal type "Group"`},
		{"principal ARN with wildcard", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"kms:*","Resource":"*"}}`, "invalid principals"},
		{"principal account not 12 digits", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"11112222333"},"Action":"kms:*","Resource":"*"}}`, "invalid principals"},
		{"principal group ARN", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:group/Admins"},"Action":"kms:*","Resource":"*"}}`, "invalid principals"},
		{"principal session without session name", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/R"},"Action":"kms:*","Resource":"*"}}`, "invalid principals"},
		{"principal value a number", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":{"AWS":111122223333},"Action":"kms:*","Resource":"*"}}`, "invalid principals"},
		{"empty principal value", KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":{"Service":""},"Action":"kms:*","Resource":"*"}}`, "invalid principals"},
		{"unknown condition operator", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"StringEqualz":{"a:b":"c"}}}}`, `invalid condition operator "StringEqualz"`},
		{"NullIfExists", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"NullIfExists":{"a:b":"true"}}}}`, `invalid condition operator "NullIfExists"`},
		{"unknown set operator", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"ForSomeValues:StringEquals":{"a:b":"c"}}}}`, "invalid condition operator"},
		{"Condition not an object", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":[]}}`, "Condition element must be an object"},
		{"operator not an object", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"StringEquals":"x"}}}`, "must map condition keys to values"},
		{"condition key without vendor", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"StringEquals":{"SourceIp":"x"}}}}`, "invalid condition key"},
		{"condition value an object", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"StringEquals":{"a:b":{"c":"d"}}}}}`, "strings, numbers or booleans"},
		{"condition value null", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"StringEquals":{"a:b":null}}}}`, "strings, numbers or booleans"},
		{"nested condition array", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"StringEquals":{"a:b":[["c"]]}}}}`, "strings, numbers or booleans"},
		{"bad number", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"NumericLessThan":{"a:n":"ten"}}}}`, `"ten" is not a number`},
		{"NaN", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"NumericLessThan":{"a:n":"NaN"}}}}`, "is not a number"},
		{"hex number", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"NumericLessThan":{"a:n":"0x10"}}}}`, "is not a number"},
		{"bad date", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"next tuesday"}}}}`, "is not an ISO 8601 date"},
		{"date with a variable", KeyPolicy, `{"Version":"2012-10-17","Statement":{` + stmt + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"${aws:TokenIssueTime}"}}}}`, "is not an ISO 8601 date"},
		{"bad CIDR", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/33"}}}}`, "is not an IP address or CIDR block"},
		{"bad bool", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}}}`, "must be true or false"},
		{"bad Null value", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"Null":{"aws:TokenIssueTime":"maybe"}}}}`, "must be true or false"},
		{"bad base64", KeyPolicy, `{"Statement":{` + stmt + `,"Condition":{"BinaryEquals":{"a:b":"not base64!"}}}}`, "is not base64"},
		{"ForAllValues with encryption context in a key policy", KeyPolicy,
			`{"Statement":{` + stmt + `,"Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContext:Department":"IT"}}}}`, "OverlyPermissiveCondition"},
		{"ForAllValues with request tag in a key policy", KeyPolicy,
			`{"Statement":{` + stmt + `,"Condition":{"ForAllValues:StringLike":{"aws:RequestTag/env":"*"}}}}`, "OverlyPermissiveCondition"},
		{"unknown kind", Kind(7), `{"Statement":{` + stmt + `}}`, "Unknown policy kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tc.doc, tc.kind)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", p)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *Error", err)
			}
			if !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("message %q does not contain %q", pe.Msg, tc.msg)
			}
		})
	}
}

// TestForAllValuesEncryptionContextIdentityPolicy: the OverlyPermissive check
// is AWS KMS's, for key policies; IAM accepts it in identity policies.
func TestForAllValuesEncryptionContextIdentityPolicy(t *testing.T) {
	t.Parallel()
	mustParse(t, `{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContext:Department":"IT"}}}}`, IdentityPolicy)
}

// checkRoundTrip checks that MarshalJSON gives a document that parses to an
// equal policy, compiled matching data included, and that serialising that
// again gives the same document. It returns the re-parsed policy.
func checkRoundTrip(t testing.TB, p *Policy, kind Kind) *Policy {
	t.Helper()
	b, err := p.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	q, err := Parse(string(b), kind)
	if err != nil {
		t.Fatalf("re-parse of %s: %v", b, err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip changed the policy:\n%s\n%#v\n%#v", b, p, q)
	}
	b2, err := q.MarshalJSON()
	if err != nil || string(b2) != string(b) {
		t.Fatalf("MarshalJSON not stable:\n%s\n%s", b, b2)
	}
	return q
}

// TestRoundTripDocumented re-serialises every documented policy used in the
// tests.
func TestRoundTripDocumented(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{defaultKeyPolicy, consoleKeyPolicy, keyPolicyAliceOnly, keyPolicyExternalAccount, keyPolicyExternalUser,
		keyPolicyDenyIP, keyPolicyViaService, keyPolicyEncryptionContext, keyPolicyForAllValuesAlone, keyPolicySSO,
		keyPolicyDenySchedule, keyPolicyNotPrincipal, keyPolicyConditions, keyPolicyService} {
		checkRoundTrip(t, mustParse(t, doc, KeyPolicy), KeyPolicy)
	}
	for _, doc := range []string{iamUseKey, iamEncryptOnly, iamNotAction, iamDenyOtherKeys, iamDenyDecrypt, iamCreateKey,
		iamHomeKeys, iamHomeKeys2008, keyPolicyConditionsAsIdentity} {
		checkRoundTrip(t, mustParse(t, doc, IdentityPolicy), IdentityPolicy)
	}
}

func TestCache(t *testing.T) {
	c := Cache{Max: 2}
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}`
	p1, err := c.Parse(doc, IdentityPolicy)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.Parse(doc, IdentityPolicy)
	if err != nil || p1 != p2 {
		t.Errorf("second Parse = %p, %v; want the cached %p", p2, err, p1)
	}
	// The same text as another kind is another policy, and here an invalid one.
	if _, err := c.Parse(doc, KeyPolicy); err == nil {
		t.Error("an identity policy parsed as a key policy from the cache")
	}
	if _, err := c.Parse(`{`, IdentityPolicy); err == nil {
		t.Error("invalid JSON parsed")
	}
	for i := range 5 {
		d := `{"Version":"2012-10-17","Statement":{"Sid":"s` + string(rune('a'+i)) + `","Effect":"Allow","Action":"kms:*","Resource":"*"}}`
		if _, err := c.Parse(d, IdentityPolicy); err != nil {
			t.Fatal(err)
		}
		if len(c.m) > 2 {
			t.Fatalf("cache holds %d policies, Max is 2", len(c.m))
		}
	}
}
