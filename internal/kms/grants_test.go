package kms

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/keystore/software"
	"github.com/kagikms/kagi/internal/policy"
	"github.com/kagikms/kagi/internal/storage"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// The server tests (internal/server/grants_sdk_test.go) drive grants
// through the SDK; these test what is easier to reach from inside: the
// pure rules and the per-key quota.

func testService(t testing.TB) *Service {
	t.Helper()
	root := testSealer(t)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "kagi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(Config{Store: st, Keystore: software.New(root, 10), Sealer: root})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rootCaller() *Caller {
	arn := "arn:aws:iam::" + testAccount + ":root"
	return &Caller{Partition: "aws", AccountID: testAccount, Region: "us-east-1", ARN: arn,
		Principal: policy.Principal{ARN: arn, Account: testAccount, Type: policy.TypeRoot, UserID: testAccount}}
}

func TestPrincipalAccount(t *testing.T) {
	for p, want := range map[string]bool{
		"arn:aws:iam::111122223333:root":                         true,
		"arn:aws:iam::111122223333:user/alice":                   true,
		"arn:aws:iam::111122223333:user/ops/alice":               true,
		"arn:aws:iam::111122223333:role/app":                     true,
		"arn:aws:sts::111122223333:assumed-role/app/session-1":   true,
		"arn:aws:sts::111122223333:federated-user/bob":           true,
		"arn:aws-cn:iam::111122223333:root":                      true,
		"111122223333":                                           false,
		"arn:aws:iam::111122223333:group/devs":                   false,
		"arn:aws:iam::111122223333:user/":                        false,
		"arn:aws:iam::111122223333:user/ops/":                    false,
		"arn:aws:iam::111122223333:rootx":                        false,
		"arn:aws:sts::111122223333:assumed-role/app":             false,
		"arn:aws:sts::111122223333:assumed-role/app/s/x":         false,
		"arn:aws:iam:us-east-1:111122223333:root":                false,
		"arn:aws:iam::1111:root":                                 false,
		"arn:aws:kms:us-east-1:111122223333:key/0b1e2c3d":        false,
		"arn:aws:iam::111122223333:assumed-role/app/session-1":   false,
		"ec2.amazonaws.com":                                      false,
		"arn:aws:sts::111122223333:federated-user/bob/extra":     false,
		"arn::iam::111122223333:root":                            false,
		"arn:aws:iam::111122223333:role/path/to/role-name_1+=,.": true,
	} {
		acct, ok := principalAccount(p)
		if ok != want || ok && acct != "111122223333" {
			t.Errorf("principalAccount(%q) = %q, %v; want %v", p, acct, ok, want)
		}
	}
}

// TestGrantCovers: the rule for grants made with a CreateGrant permission
// that came from a grant (create-grant-overview.html#grant-creategrant).
func TestGrantCovers(t *testing.T) {
	ops := []string{"CreateGrant", "Encrypt", "Decrypt"}
	m := func(kv ...string) map[string]string {
		out := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	cases := []struct {
		name          string
		parent, child grantRecord
		want          bool
	}{
		{"no constraints, fewer operations", grantRecord{Operations: ops}, grantRecord{Operations: []string{"Decrypt"}}, true},
		{"an extra operation", grantRecord{Operations: ops}, grantRecord{Operations: []string{"Decrypt", "DescribeKey"}}, false},
		{"subset kept", grantRecord{Operations: ops, Subset: m("a", "1")}, grantRecord{Operations: ops, Subset: m("a", "1")}, true},
		{"subset grown", grantRecord{Operations: ops, Subset: m("a", "1")}, grantRecord{Operations: ops, Subset: m("A", "1", "b", "2")}, true},
		{"subset dropped", grantRecord{Operations: ops, Subset: m("a", "1")}, grantRecord{Operations: ops}, false},
		{"subset changed", grantRecord{Operations: ops, Subset: m("a", "1")}, grantRecord{Operations: ops, Subset: m("a", "2")}, false},
		{"subset value case", grantRecord{Operations: ops, Subset: m("a", "x")}, grantRecord{Operations: ops, Subset: m("a", "X")}, false},
		{"subset to equals", grantRecord{Operations: ops, Subset: m("a", "1")}, grantRecord{Operations: ops, Equals: m("a", "1", "b", "2")}, true},
		{"subset to equals without the pair", grantRecord{Operations: ops, Subset: m("a", "1")}, grantRecord{Operations: ops, Equals: m("b", "2")}, false},
		{"equals kept", grantRecord{Operations: ops, Equals: m("a", "1")}, grantRecord{Operations: ops, Equals: m("A", "1")}, true},
		{"equals grown", grantRecord{Operations: ops, Equals: m("a", "1")}, grantRecord{Operations: ops, Equals: m("a", "1", "b", "2")}, false},
		{"equals to subset", grantRecord{Operations: ops, Equals: m("a", "1")}, grantRecord{Operations: ops, Subset: m("a", "1")}, false},
		{"equals dropped", grantRecord{Operations: ops, Equals: m("a", "1")}, grantRecord{Operations: ops}, false},
		{"SourceArn kept", grantRecord{Operations: ops, SourceArn: "arn:aws:s3:us-east-1:111122223333:a"}, grantRecord{Operations: ops, SourceArn: "arn:aws:s3:us-east-1:111122223333:a"}, true},
		{"SourceArn dropped", grantRecord{Operations: ops, SourceArn: "arn:aws:s3:us-east-1:111122223333:a"}, grantRecord{Operations: ops}, false},
		{"SourceArn changed", grantRecord{Operations: ops, SourceArn: "arn:aws:s3:us-east-1:111122223333:a"}, grantRecord{Operations: ops, SourceArn: "arn:aws:s3:us-east-1:111122223333:b"}, false},
		{"SourceArn added", grantRecord{Operations: ops}, grantRecord{Operations: ops, SourceArn: "arn:aws:s3:us-east-1:111122223333:a"}, true},
	}
	for _, c := range cases {
		if got := c.parent.covers(&c.child); got != c.want {
			t.Errorf("%s: covers = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestSourceArnAccount: the SourceArn constraint's pattern,
// ^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$, and length 20–512.
func TestSourceArnAccount(t *testing.T) {
	cases := []struct {
		arn  string
		acct string // "" for refused
	}{
		{"arn:aws:s3:us-east-1:111122223333:accesspoint/photos", "111122223333"},
		{"arn:aws:s::111122223333:x", "111122223333"},
		{"arn:aws-cn:logs:cn-north-1:444455556666:log-group:a:b", "444455556666"},
		{"arn:aws-us-gov:sns::111122223333:topic", "111122223333"},
		{"arn:aws:s3:us-east-1:111122223333:" + strings.Repeat("x", 478), "111122223333"},
		{"arn:aws:s3:us-east-1:111122223333:" + strings.Repeat("x", 479), ""}, // 513
		{"arn:aws:s:::x", ""},                       // no account, and short
		{"arn:aws:s3:::bucket-name-here", ""},       // S3 bucket ARNs name no account
		{"arn:gov:s3:us-east-1:111122223333:x", ""}, // partition not aws*
		{"arn:AWS:s3:us-east-1:111122223333:x", ""},
		{"arn:aws:S3:us-east-1:111122223333:x", ""},
		{"arn:aws::us-east-1:111122223333:x", ""}, // empty service
		{"arn:aws:s3:us_east:111122223333:x", ""},
		{"arn:aws:s3:us-east-1:11112222333:x", ""},
		{"arn:aws:s3:us-east-1:1111222233334:x", ""},
		{"arn:aws:s3:us-east-1:11112222333a:x", ""},
		{"arn:aws:s3:us-east-1:111122223333:", ""},
		{"arn:aws:s3:us-east-1:111122223333:a\nb", ""},
		{"arn:aws:s3:us-east-1:111122223333:a\u2028", ""},
		{"arn:aws:s3:us-east-1:111122223333:é", "111122223333"},
		{"xrn:aws:s3:us-east-1:111122223333:x", ""},
	}
	for _, c := range cases {
		acct, ok := SourceArnAccount(c.arn)
		if ok != (c.acct != "") || acct != c.acct {
			t.Errorf("SourceArnAccount(%q) = %q, %v; want %q", c.arn, acct, ok, c.acct)
		}
	}
}

// TestGrantQuota: CreateGrant refuses a grant past the per-key quota
// (LimitExceededException); retiring and revoking make room; a retried
// named grant does not count twice; DryRun past the quota answers the
// quota.
func TestGrantQuota(t *testing.T) {
	s := testService(t)
	s.maxGrants = 3
	ctx := context.Background()
	c := rootCaller()
	k, err := s.CreateKey(ctx, c, &CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	grantee := "arn:aws:iam::" + testAccount + ":user/app"
	in := func(name string) *CreateGrantInput {
		in := &CreateGrantInput{KeyId: k.KeyMetadata.KeyId, GranteePrincipal: &grantee, Operations: []string{"Decrypt"}}
		if name != "" {
			in.Name = &name
		}
		return in
	}
	var ids []string
	for i := 0; i < 3; i++ {
		out, err := s.CreateGrant(ctx, c, in("n"+string(rune('0'+i))))
		if err != nil {
			t.Fatalf("grant %d: %v", i, err)
		}
		ids = append(ids, out.GrantId)
	}
	if _, err := s.CreateGrant(ctx, c, in("")); !awserr.Is(err, awserr.LimitExceeded) {
		t.Fatalf("a grant past the quota: %v, want LimitExceededException", err)
	}
	dry := in("")
	dry.DryRun = true
	if _, err := s.CreateGrant(ctx, c, dry); !awserr.Is(err, awserr.LimitExceeded) {
		t.Errorf("DryRun past the quota: %v, want LimitExceededException", err)
	}
	// A retry of an existing named grant is no new grant.
	if out, err := s.CreateGrant(ctx, c, in("n1")); err != nil || out.GrantId != ids[1] {
		t.Errorf("a retry at the quota: %+v, %v", out, err)
	}
	if _, err := s.RevokeGrant(ctx, c, &RevokeGrantInput{KeyId: k.KeyMetadata.KeyId, GrantId: ids[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateGrant(ctx, c, in("")); err != nil {
		t.Fatalf("a grant after a revocation: %v", err)
	}
	if _, err := s.CreateGrant(ctx, c, in("")); !awserr.Is(err, awserr.LimitExceeded) {
		t.Fatalf("past the quota again: %v", err)
	}
	if _, err := s.RetireGrant(ctx, c, &RetireGrantInput{KeyId: &k.KeyMetadata.Arn, GrantId: &ids[2]}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateGrant(ctx, c, in("")); err != nil {
		t.Fatalf("a grant after a retirement: %v", err)
	}
	out, err := s.ListGrants(ctx, c, &ListGrantsInput{KeyId: k.KeyMetadata.KeyId})
	if err != nil || len(out.Grants) != 3 {
		t.Errorf("ListGrants: %d grants, %v", len(out.Grants), err)
	}
}

// BenchmarkGrantAuthorize measures authorize for a user that only a grant
// allows, with one grant on the key and with 10,000 grants to others: the
// grantee index keeps the cost of the second the cost of the first. The
// root, whom the key policy allows, is the baseline (grants unread).
func BenchmarkGrantAuthorize(b *testing.B) {
	ctx := context.Background()
	user := "arn:aws:iam::" + testAccount + ":user/app"
	userCaller := &Caller{Partition: "aws", AccountID: testAccount, Region: "us-east-1", ARN: user,
		Principal: policy.Principal{ARN: user, Account: testAccount, Type: policy.TypeIAMUser, Username: "app"}}
	for _, others := range []int{0, 10000} {
		s := testService(b)
		out, err := s.CreateKey(ctx, rootCaller(), &CreateKeyInput{})
		if err != nil {
			b.Fatal(err)
		}
		var k *keyRecord
		err = s.update(ctx, func(tx storage.Tx) error {
			var err error
			if k, err = s.loadKey(tx, rootCaller(), out.KeyMetadata.KeyId, keyOnly, nil); err != nil {
				return err
			}
			for i := 0; i <= others; i++ {
				g := &grantRecord{GrantID: fmt.Sprintf("%064x", i), KeyARN: k.ARN, Grantee: fmt.Sprintf("arn:aws:iam::%s:user/other-%d", testAccount, i),
					Operations: []string{"Decrypt"}, Subset: map[string]string{"app": "x"}}
				if i == others {
					g.Grantee = user
				}
				if err := putGrant(tx, k, g); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			caller *Caller
		}{{"policy", rootCaller()}, {"grant", userCaller}} {
			b.Run(fmt.Sprintf("%s/%d-other-grants", c.name, others), func(b *testing.B) {
				a := &access{action: "kms:Decrypt", ec: map[string]string{"app": "x"}, algorithm: algSymmetric}
				for b.Loop() {
					if err := s.view(ctx, func(tx storage.Tx) error { return s.authorize(tx, c.caller, k, a) }); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
