package policy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var allKinds = []Kind{KeyPolicy, IdentityPolicy, TrustPolicy}

// FuzzParse parses arbitrary documents as every kind of policy: Parse must not
// panic, must fail only with *Error, and a parsed policy must re-serialise to
// an equivalent one: the document MarshalJSON gives parses to an equal policy
// (compiled matching data included), serialises to the same document again,
// and gives the same decisions as the original on requests made from the
// policy's own actions, resources, principals and condition values. The seed
// corpus is testdata/fuzz/FuzzParse and every policy of testdata/awsdocs.
func FuzzParse(f *testing.F) {
	addAWSDocsSeeds(f, func(doc string) []any { return []any{doc} })
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
			q := checkRoundTrip(t, p, kind)
			for _, r := range probeRequests(p) {
				a := p.Evaluate(&r)
				if b := q.Evaluate(&r); a != b {
					t.Fatalf("re-serialised policy decides %v, the original %v, for %+v", b, a, r)
				}
				if again := p.Evaluate(&r); again != a {
					t.Fatalf("Evaluate not deterministic: %v then %v", a, again)
				}
				in := AuthzInput{Request: r, KeyAccount: acct, KeyPolicy: p}
				if kind == IdentityPolicy {
					in = AuthzInput{Request: r, KeyAccount: acct, IdentityPolicies: []*Policy{p}}
				}
				d1 := Authorize(&in)
				in.KeyPolicy, in.IdentityPolicies = swapPolicy(in, q)
				if d2 := Authorize(&in); d1 != d2 {
					t.Fatalf("re-serialised policy authorizes %+v, the original %+v, for %+v", d2, d1, r)
				}
			}
		}
	})
}

// swapPolicy replaces the policy of in with q, where it was.
func swapPolicy(in AuthzInput, q *Policy) (*Policy, []*Policy) {
	if in.KeyPolicy != nil {
		return q, nil
	}
	return nil, []*Policy{q}
}

// addAWSDocsSeeds adds every policy of testdata/awsdocs to the seed corpus,
// as the arguments args makes of it.
func addAWSDocsSeeds(f *testing.F, args func(doc string) []any) {
	files, err := filepath.Glob(filepath.Join("testdata", "awsdocs", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(args(string(b))...)
	}
}

// probeRequests makes requests from a policy's own strings, so that its
// statements have a chance to match: each statement's first action and
// resource (wildcards filled in), a principal from its first AWS principal,
// and the first value of each condition key. It makes at most 16 requests,
// one with and one without the condition values per statement, plus a
// plain request.
func probeRequests(p *Policy) []Request {
	fill := strings.NewReplacer("*", "x", "?", "y")
	out := []Request{{Principal: alice, Action: "kms:Decrypt", Resource: keyARN}}
	for i := range p.Statements {
		if len(out) >= 16 {
			break
		}
		s := &p.Statements[i]
		r := Request{Principal: alice, Action: "kms:Decrypt", Resource: keyARN}
		if a := append(slices.Clip(s.Action), s.NotAction...); len(a) > 0 {
			r.Action = fill.Replace(a[0])
		}
		if res := append(slices.Clip(s.Resource), s.NotResource...); len(res) > 0 {
			r.Resource = fill.Replace(res[0])
		}
		if ps := s.Principal; ps != nil {
			switch {
			case len(ps.AWS) > 0:
				r.Principal = probePrincipal(ps.AWS[0])
			case len(ps.Service) > 0:
				r.Principal = Principal{Type: TypeAWSService, Service: ps.Service[0]}
			}
		}
		out = append(out, r)
		if len(s.Condition) > 0 {
			r.Context = map[string][]string{}
			for _, c := range s.Condition {
				if len(c.Values) > 0 {
					k := strings.ToLower(c.Key)
					r.Context[k] = append(r.Context[k], fill.Replace(c.Values[0]))
				}
			}
			out = append(out, r)
		}
	}
	return out
}

// probePrincipal makes a principal that an "AWS" principal entry names.
func probePrincipal(s string) Principal {
	parts := strings.SplitN(s, ":", 6)
	switch {
	case isAccountID(s):
		return Principal{ARN: "arn:aws:iam::" + s + ":user/Probe", Account: s, Type: TypeIAMUser, UserID: "AIDAEXAMPLEPROBE1234", Username: "Probe"}
	case len(parts) == 6 && parts[5] == "root":
		return Principal{ARN: s, Account: parts[4], Type: TypeRoot, UserID: parts[4]}
	case len(parts) == 6 && strings.HasPrefix(parts[5], "role/"):
		name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
		return Principal{ARN: "arn:" + parts[1] + ":sts::" + parts[4] + ":assumed-role/" + name + "/probe", Account: parts[4],
			Type: TypeAssumedRole, RoleARN: s, UserID: "AROAEXAMPLEPROBE1234:probe"}
	case len(parts) == 6 && strings.HasPrefix(parts[5], "assumed-role/"):
		return Principal{ARN: s, Account: parts[4], Type: TypeAssumedRole, UserID: "AROAEXAMPLEPROBE1234:probe"}
	case len(parts) == 6:
		return Principal{ARN: s, Account: parts[4], Type: TypeIAMUser, UserID: "AIDAEXAMPLEPROBE1234"}
	}
	return Principal{ARN: "arn:aws:iam::111122223333:user/Probe", Account: acct, Type: TypeIAMUser, UserID: s, Username: "Probe"}
}

// FuzzEvaluate evaluates an arbitrary policy against arbitrary requests: no
// panic in Parse, Evaluate, Authorize or DenyMessage, whatever the principal,
// action, resource and context, and the decisions hang together (an explicit
// Deny always wins, an allowed request has no reason, a denied one has a
// message, nothing is allowed with no key policy statement applying).
//
// Each input makes two requests: one whose context holds key (as written
// and lower-cased) with value and arn, and one whose context is made of the
// comma-separated keys and values in key and value, several values to a key
// when a key repeats.
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
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"NotAction":"kms:Describe*","NotResource":"arn:aws:kms:*:111122223333:key/*",
	  "Condition":{"NumericLessThan":{"kms:ValidTo":"1e3"},"DateGreaterThanIfExists":{"aws:CurrentTime":"2020"},"BinaryEquals":{"a:b":"YQ=="}}}}`,
		"kms:Encrypt", keyARN, alice.ARN, acct, uint8(9), "kms:validto,aws:currenttime,a:b,a:b", "999,2021-01-01T00:00:00Z,a,b")
	addAWSDocsSeeds(f, func(doc string) []any {
		return []any{doc, "kms:Decrypt", keyARN, devRole.ARN, acct, uint8(2), "kms:ViaService,kms:CallerAccount", "s3.us-east-1.amazonaws.com," + acct}
	})
	f.Fuzz(func(t *testing.T, doc, action, resource, arn, account string, ptype uint8, key, value string) {
		types := []string{TypeRoot, TypeIAMUser, TypeAssumedRole, TypeAWSService, ""}
		p := Principal{
			ARN: arn, Account: account, Type: types[int(ptype)%len(types)],
			RoleARN: strings.Replace(arn, ":sts:", ":iam:", 1), UserID: value + ":" + key, Username: value,
			Service: value, Tags: map[string]string{key: value},
		}
		ctx2 := map[string][]string{}
		keys, values := strings.Split(key, ","), strings.Split(value, ",")
		for i, k := range keys {
			ctx2[strings.ToLower(k)] = append(ctx2[strings.ToLower(k)], values[i%len(values)])
		}
		requests := []Request{
			{Principal: p, Action: action, Resource: resource,
				Context: map[string][]string{key: {value, arn}, strings.ToLower(key): {value}, "aws:currenttime": {value}}},
			{Principal: p, Action: action, Resource: resource, Context: ctx2},
		}
		for _, kind := range allKinds {
			pol, err := Parse(doc, kind)
			if err != nil {
				continue
			}
			for _, r := range requests {
				checkDecisions(t, pol, kind, r, ptype)
			}
		}
	})
}

// checkDecisions evaluates pol (parsed as kind) for r alone and through
// Authorize, and checks that the answers hang together.
func checkDecisions(t *testing.T, pol *Policy, kind Kind, r Request, flags uint8) {
	t.Helper()
	eff := pol.Evaluate(&r)
	if again := pol.Evaluate(&r); again != eff {
		t.Fatalf("Evaluate not deterministic: %v then %v", eff, again)
	}
	in := AuthzInput{Request: r, KeyAccount: acct, GrantAllows: flags&8 != 0}
	if kind == IdentityPolicy {
		// A nil identity policy is skipped; the key policy delegates to
		// the account, or is absent (an account-level action).
		in.IdentityPolicies = []*Policy{nil, pol}
		if flags&16 == 0 {
			in.KeyPolicy = mustParse(t, defaultKeyPolicy, KeyPolicy)
		}
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
	case d.Allowed && DenyMessage(&r, d) != "":
		t.Fatalf("allowed with a deny message %q", DenyMessage(&r, d))
	case d.Allowed && !in.GrantAllows && eff == NoMatch && kind != IdentityPolicy:
		t.Fatalf("allowed with no key policy statement applying: %+v", d)
	case d.Allowed && !in.GrantAllows && eff != Allow && kind == IdentityPolicy && in.KeyPolicy == nil && r.Principal.Type != TypeRoot:
		t.Fatalf("account-level request allowed with no identity policy statement applying: %+v", d)
	}
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
