package policy

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

var allKinds = []Kind{KeyPolicy, IdentityPolicy, TrustPolicy}

// FuzzParse parses arbitrary documents as every kind of policy: Parse must not
// panic, must fail only with *Error, and a parsed policy must re-serialise to
// a document that parses to an equal policy. The seed corpus
// (testdata/fuzz/FuzzParse) holds AWS's documented policies, the default key
// policy among them.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc string) {
		for _, kind := range allKinds {
			p, err := Parse(doc, kind)
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Msg == "" || p != nil {
					t.Fatalf("Parse(%v) = %v, %T %v", kind, p, err, err)
				}
				continue
			}
			checkRoundTrip(t, p, kind)
			r := Request{Principal: alice, Action: "kms:Decrypt", Resource: keyARN,
				Context: map[string][]string{"aws:sourceip": {"192.0.2.1"}, "aws:currenttime": {"2024-01-01T00:00:00Z"}}}
			if a, b := p.Evaluate(&r), p.Evaluate(&r); a != b {
				t.Fatalf("Evaluate not deterministic: %v then %v", a, b)
			}
		}
	})
}

// FuzzEvaluate evaluates an arbitrary policy against an arbitrary request: no
// panic, and the decisions hang together (an explicit Deny always wins, an
// allowed request has no reason, a denied one has a message).
func FuzzEvaluate(f *testing.F) {
	f.Add(defaultKeyPolicy, "kms:Decrypt", keyARN, alice.ARN, acct, uint8(1), "aws:SourceIp", "192.0.2.1")
	f.Add(consoleKeyPolicy, "kms:GenerateDataKey", keyARN, devRole.ARN, acct, uint8(2), "kms:GrantIsForAWSResource", "true")
	f.Add(keyPolicyDenyIP, "kms:Encrypt", keyARN, bob.ARN, extAcct, uint8(1), "aws:SourceIp", "2001:db8::1")
	f.Add(keyPolicyEncryptionContext, "kms:GenerateDataKey", keyARN, devRole.ARN, acct, uint8(2), "kms:EncryptionContext:AppName", "ExampleApp")
	f.Add(keyPolicySSO, "kms:Decrypt", keyARN, ssoReadOnly.ARN, acct, uint8(2), "aws:PrincipalTag/team", "x*y")
	f.Add(keyPolicyConditions, "kms:Decrypt", keyARN, alice.ARN, acct, uint8(1), "kms:EncryptionContext:user", "Alice")
	f.Add(iamHomeKeys, "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:alias/Alice-x", alice.ARN, acct, uint8(1), "aws:username", "Alice")
	f.Add(keyPolicyNotPrincipal, "kms:Decrypt", keyARN, "", "", uint8(3), "", "")
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:*:*:*:*:*","Condition":{"ForAllValues:ArnLike":{"x:y":"arn:${x:y}:*"}}}}`,
		"a:b", "arn:a:b:c:d:e:f", "arn:aws:iam::111122223333:root", acct, uint8(0), "x:y", "arn:${x:y}:?")
	f.Fuzz(func(t *testing.T, doc, action, resource, arn, account string, ptype uint8, key, value string) {
		types := []string{TypeRoot, TypeIAMUser, TypeAssumedRole, TypeAWSService, ""}
		p := Principal{
			ARN: arn, Account: account, Type: types[int(ptype)%len(types)],
			RoleARN: strings.Replace(arn, ":sts:", ":iam:", 1), UserID: value + ":" + key, Username: value,
			Service: value, Tags: map[string]string{key: value},
		}
		r := Request{Principal: p, Action: action, Resource: resource,
			Context: map[string][]string{key: {value, arn}, strings.ToLower(key): {value}, "aws:currenttime": {value}}}
		for _, kind := range allKinds {
			pol, err := Parse(doc, kind)
			if err != nil {
				continue
			}
			eff := pol.Evaluate(&r)
			if again := pol.Evaluate(&r); again != eff {
				t.Fatalf("Evaluate not deterministic: %v then %v", eff, again)
			}
			in := AuthzInput{Request: r, KeyAccount: acct, GrantAllows: ptype&8 != 0}
			if kind == IdentityPolicy {
				in.KeyPolicy = mustParse(t, defaultKeyPolicy, KeyPolicy)
				in.IdentityPolicies = []*Policy{pol}
			} else {
				in.KeyPolicy = pol
			}
			d := Authorize(&in)
			switch {
			case eff == Deny && (d.Allowed || !d.ExplicitDeny):
				t.Fatalf("policy denies but Authorize = %+v", d)
			case d.Allowed && (d.ExplicitDeny || d.Reason != ""):
				t.Fatalf("inconsistent decision %+v", d)
			case !d.Allowed && (d.Reason == "" || DenyMessage(&r, d) == ""):
				t.Fatalf("denied without a reason: %+v", d)
			case d.Allowed && !in.GrantAllows && eff == NoMatch && kind != IdentityPolicy:
				t.Fatalf("allowed with no key policy statement applying: %+v", d)
			}
		}
	})
}

// BenchmarkAuthorize authorizes a Decrypt by an IAM user under the default
// key policy and one identity policy, as the kms service does on every
// request: the policies are parsed once.
func BenchmarkAuthorize(b *testing.B) {
	in := AuthzInput{
		Request: Request{
			Principal: alice, Action: "kms:Decrypt", Resource: keyARN,
			Context: map[string][]string{
				"aws:sourceip":                  {"192.0.2.10"},
				"aws:securetransport":           {"true"},
				"kms:calleraccount":             {acct},
				"kms:encryptioncontext:appname": {"ExampleApp"},
				"kms:encryptioncontextkeys":     {"AppName"},
			},
		},
		KeyAccount:       acct,
		KeyPolicy:        mustParse(b, defaultKeyPolicy, KeyPolicy),
		IdentityPolicies: []*Policy{mustParse(b, iamUseKey, IdentityPolicy)},
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := Authorize(&in); !d.Allowed {
			b.Fatal(d)
		}
	}
}

// BenchmarkAuthorizeConditions is the heavier case: the console key policy,
// a Deny on the source IP, and conditions with a policy variable.
func BenchmarkAuthorizeConditions(b *testing.B) {
	in := AuthzInput{
		Request: Request{
			Principal: alice, Action: "kms:Decrypt", Resource: keyARN,
			Context: map[string][]string{
				"aws:sourceip":               {"192.0.2.10"},
				"aws:viaawsservice":          {"false"},
				"aws:securetransport":        {"true"},
				"kms:encryptioncontext:user": {"Alice"},
			},
		},
		KeyAccount:       acct,
		KeyPolicy:        mustParse(b, keyPolicyDenyIP, KeyPolicy),
		IdentityPolicies: []*Policy{mustParse(b, iamUseKey, IdentityPolicy), mustParse(b, keyPolicyConditionsAsIdentity, IdentityPolicy)},
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := Authorize(&in); !d.Allowed {
			b.Fatal(d)
		}
	}
}

const keyPolicyConditionsAsIdentity = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Deny", "Action": "kms:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "arn:aws:kms:*:111122223333:key/*",
     "Condition": {"StringEquals": {"kms:EncryptionContext:user": "${aws:username}"}, "IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}}
  ]
}`

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(consoleKeyPolicy, KeyPolicy); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzPattern checks that the shortcuts for literal and prefix patterns agree
// with the general wildcard and ARN matchers. Patterns come from decoded JSON
// and so are valid UTF-8; the values matched may not be.
func FuzzPattern(f *testing.F) {
	f.Add("kms:Describe*", "KMS:describeKey")
	f.Add("arn:aws:kms:*", keyARN)
	f.Add("arn:aws:kms:us-east-1:111122223333:key/*", keyARN)
	f.Add("\u212Ams:*", "kms:Decrypt")
	f.Add("ſ*", "S")
	f.Fuzz(func(t *testing.T, pat, s string) {
		if !utf8.ValidString(pat) {
			return
		}
		for _, arn := range []bool{false, true} {
			p := compilePattern(pat, compileOpts{wildcards: true, arn: arn})
			if p.any || p.fast == fastNone {
				continue
			}
			for _, fold := range []bool{false, true} {
				if got, want := p.match(s, fold, nil), glob(p.toks, nil, s, fold); got != want {
					t.Fatalf("match(%q, %q, fold=%v) = %v, glob says %v", pat, s, fold, got, want)
				}
			}
			if arn {
				slow := p
				slow.fast = fastNone
				if got, want := p.matchARN(s, nil), slow.matchARN(s, nil); got != want {
					t.Fatalf("matchARN(%q, %q) = %v, segment matcher says %v", pat, s, got, want)
				}
			}
		}
	})
}
