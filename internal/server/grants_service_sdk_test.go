package server_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// sourceArnHeader names the resource a service calling for itself acts
// for (api.SourceArnHeader).
const sourceArnHeader = "X-Kagi-Source-Arn"

// forSource is a per-call option of a service's client: the request is
// for resource arn (aws:SourceArn). The SDK signs the header.
func forSource(arn string) func(*kms.Options) {
	return func(o *kms.Options) {
		o.APIOptions = append(o.APIOptions, smithyhttp.AddHeaderValue(sourceArnHeader, arn))
	}
}

// svcGrantSource is the resource the grants of these tests are for.
var (
	svcGrantSource = "arn:aws:s3:us-east-1:" + servertest.AccountID + ":accesspoint/photos"
	svcOtherSource = "arn:aws:s3:us-east-1:" + servertest.AccountID + ":accesspoint/videos"
)

// TestSDKServiceGrantValidation: CreateGrant's rules for service
// principals and the SourceArn constraint, in AWS's wording; a refused
// request leaves no grant.
func TestSDKServiceGrantValidation(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	appARN, _ := grantUser(t, env, rootIAMCaller(t, env), "app")
	k := sdkCreateKey(t, env.KMS, nil)
	src := aws.String(svcGrantSource)
	s3 := aws.String("s3.amazonaws.com")
	cases := []struct {
		name string
		in   kms.CreateGrantInput
		code string
		msg  string // a part of the message
	}{
		{"both grantees", kms.CreateGrantInput{GranteePrincipal: aws.String(appARN), GranteeServicePrincipal: s3, RetiringServicePrincipal: s3,
			Constraints: &types.GrantConstraints{SourceArn: src}}, "ValidationException", "You must specify either GranteePrincipal or GranteeServicePrincipal, but not both."},
		{"no grantee", kms.CreateGrantInput{RetiringServicePrincipal: s3, Constraints: &types.GrantConstraints{SourceArn: src}},
			"ValidationException", "You must specify either GranteePrincipal or GranteeServicePrincipal."},
		{"both retiring principals", kms.CreateGrantInput{GranteeServicePrincipal: s3, RetiringPrincipal: aws.String(appARN), RetiringServicePrincipal: s3,
			Constraints: &types.GrantConstraints{SourceArn: src}}, "ValidationException", "either RetiringPrincipal or RetiringServicePrincipal, but not both"},
		{"a service grantee without SourceArn", kms.CreateGrantInput{GranteeServicePrincipal: s3, RetiringServicePrincipal: s3},
			"ValidationException", "When you specify a GranteeServicePrincipal, you must also specify a SourceArn grant constraint."},
		{"a service grantee with only an encryption context constraint", kms.CreateGrantInput{GranteeServicePrincipal: s3, RetiringServicePrincipal: s3,
			Constraints: &types.GrantConstraints{EncryptionContextSubset: map[string]string{"a": "b"}}}, "ValidationException", "SourceArn grant constraint"},
		{"a service grantee without a retiring principal", kms.CreateGrantInput{GranteeServicePrincipal: s3, Constraints: &types.GrantConstraints{SourceArn: src}},
			"ValidationException", "you must also specify either a RetiringPrincipal or a RetiringServicePrincipal"},
		{"a service principal of two labels", kms.CreateGrantInput{GranteeServicePrincipal: aws.String("amazonaws.com"), RetiringServicePrincipal: s3,
			Constraints: &types.GrantConstraints{SourceArn: src}}, "ValidationException",
			`at 'granteeServicePrincipal' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([A-Za-z0-9\-]+)\.([A-Za-z0-9\-]+)(\.[A-Za-z0-9\-]+)+$`},
		{"a service principal with an underscore", kms.CreateGrantInput{GranteeServicePrincipal: aws.String("s3_x.amazonaws.com"), RetiringServicePrincipal: s3,
			Constraints: &types.GrantConstraints{SourceArn: src}}, "ValidationException", "granteeServicePrincipal"},
		{"a service principal with an empty label", kms.CreateGrantInput{GranteeServicePrincipal: s3, RetiringServicePrincipal: aws.String("s3..amazonaws.com"),
			Constraints: &types.GrantConstraints{SourceArn: src}}, "ValidationException", "retiringServicePrincipal"},
		{"a 129-character service principal", kms.CreateGrantInput{GranteeServicePrincipal: aws.String(strings.Repeat("s", 115) + ".amazonaws.com"), RetiringServicePrincipal: s3,
			Constraints: &types.GrantConstraints{SourceArn: src}}, "ValidationException", "Member must have length less than or equal to 128"},
		{"a SourceArn without an account", kms.CreateGrantInput{GranteeServicePrincipal: s3, RetiringServicePrincipal: s3,
			Constraints: &types.GrantConstraints{SourceArn: aws.String("arn:aws:s3:::bucket-name-here")}}, "ValidationException",
			"at 'constraints.sourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$"},
		{"a SourceArn of another partition form", kms.CreateGrantInput{GranteeServicePrincipal: s3, RetiringServicePrincipal: s3,
			Constraints: &types.GrantConstraints{SourceArn: aws.String("arn:gov:s3:us-east-1:111122223333:x")}}, "ValidationException", "constraints.sourceArn"},
		{"a SourceArn with an upper-case service", kms.CreateGrantInput{GranteeServicePrincipal: s3, RetiringServicePrincipal: s3,
			Constraints: &types.GrantConstraints{SourceArn: aws.String("arn:aws:S3:us-east-1:111122223333:x")}}, "ValidationException", "constraints.sourceArn"},
		{"a SourceArn with a line break", kms.CreateGrantInput{GranteeServicePrincipal: s3, RetiringServicePrincipal: s3,
			Constraints: &types.GrantConstraints{SourceArn: aws.String("arn:aws:s3:us-east-1:111122223333:a\nb")}}, "ValidationException", "constraints.sourceArn"},
		{"a 513-character SourceArn", kms.CreateGrantInput{GranteeServicePrincipal: s3, RetiringServicePrincipal: s3,
			Constraints: &types.GrantConstraints{SourceArn: aws.String("arn:aws:s3:us-east-1:111122223333:" + strings.Repeat("x", 479))}}, "ValidationException", "Member must have length less than or equal to 512"},
		{"a retiring principal that is not an ARN", kms.CreateGrantInput{GranteeServicePrincipal: s3, RetiringPrincipal: aws.String("s3.amazonaws.com"),
			Constraints: &types.GrantConstraints{SourceArn: src}}, "InvalidArnException", ""},
	}
	for _, c := range cases {
		c.in.KeyId = k.KeyId
		c.in.Operations = grantOps(types.GrantOperationDecrypt)
		_, err := env.KMS.CreateGrant(ctx, &c.in, sdkNoRetry)
		sdkWantErr(t, "CreateGrant with "+c.name, err, c.code)
		var ae smithy.APIError
		if c.msg != "" && errors.As(err, &ae) && !strings.Contains(ae.ErrorMessage(), c.msg) {
			t.Errorf("CreateGrant with %s: message %q does not contain %q", c.name, ae.ErrorMessage(), c.msg)
		}
	}
	if gs := grantList(t, env.KMS, *k.KeyId, 0, nil, nil); len(gs) != 0 {
		t.Errorf("failed CreateGrant requests left grants: %v", grantIDs(gs))
	}

	// The shortest and longest SourceArn, a partition of the aws* form, a
	// service principal nobody registered, a grant to a user with a
	// SourceArn: all accepted, as AWS accepts them.
	for _, in := range []kms.CreateGrantInput{
		{GranteeServicePrincipal: s3, RetiringServicePrincipal: s3, Constraints: &types.GrantConstraints{SourceArn: aws.String("arn:aws:s::111122223333:x")}},
		{GranteeServicePrincipal: s3, RetiringServicePrincipal: s3, Constraints: &types.GrantConstraints{SourceArn: aws.String("arn:aws:s3:us-east-1:111122223333:" + strings.Repeat("x", 478))}},
		{GranteeServicePrincipal: s3, RetiringPrincipal: aws.String(appARN), Constraints: &types.GrantConstraints{SourceArn: aws.String("arn:aws-cn:s3:cn-north-1:111122223333:accesspoint/a")}},
		{GranteeServicePrincipal: aws.String("nobody.example.internal"), RetiringServicePrincipal: s3, Constraints: &types.GrantConstraints{SourceArn: src}},
		{GranteePrincipal: aws.String(appARN), Constraints: &types.GrantConstraints{SourceArn: src}},
	} {
		in.KeyId = k.KeyId
		in.Operations = grantOps(types.GrantOperationDecrypt)
		grantCreate(t, env.KMS, &in)
	}
	if gs := grantList(t, env.KMS, *k.KeyId, 0, nil, nil); len(gs) != 5 {
		t.Errorf("%d grants, want 5", len(gs))
	}
}

// TestSDKServiceGrantUse: a grant to a service principal lets the service,
// calling for itself, use the key for the grant's resource only; nobody
// else gets anything from it, the header is honoured only from a service
// and only when signed; the service lists and retires the grant.
func TestSDKServiceGrantUse(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	root := e.env.KMS
	ebs := e.env.CreateService(t, "ebs")
	ebsClient := e.env.Client(t, servertest.Region, ebs.AccessKeyID, ebs.Secret)
	aliceARN := "arn:aws:iam::" + servertest.AccountID + ":user/alice"

	// The default key policy: the services get nothing from it.
	k := sdkCreateKey(t, root, nil)
	gdk := func(c *kms.Client, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
		return c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.Arn, NumberOfBytes: aws.Int32(32)}, append(opts, sdkNoRetry)...)
	}
	_, err := gdk(e.svc, forSource(svcGrantSource))
	sdkWantErr(t, "s3 before the grant", err, "AccessDeniedException")

	g := grantCreate(t, root, &kms.CreateGrantInput{
		KeyId: k.KeyId, GranteeServicePrincipal: aws.String("s3.amazonaws.com"), RetiringServicePrincipal: aws.String("s3.amazonaws.com"),
		Operations:  grantOps(types.GrantOperationGenerateDataKey, types.GrantOperationDecrypt, types.GrantOperationDescribeKey),
		Constraints: &types.GrantConstraints{SourceArn: aws.String(svcGrantSource)},
	})
	// A grant of alice's on the same key, to tell the filters apart.
	ga := grantCreate(t, root, &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(aliceARN), Operations: grantOps(types.GrantOperationEncrypt)})

	// The service, for the grant's resource.
	dk, err := gdk(e.svc, forSource(svcGrantSource))
	if err != nil {
		t.Fatalf("s3 GenerateDataKey for %s: %v", svcGrantSource, err)
	}
	dec, err := e.svc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob}, forSource(svcGrantSource), sdkNoRetry)
	if err != nil || string(dec.Plaintext) != string(dk.Plaintext) {
		t.Fatalf("s3 Decrypt for %s: %v", svcGrantSource, err)
	}
	if _, err := e.svc.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.Arn}, forSource(svcGrantSource), sdkNoRetry); err != nil {
		t.Errorf("s3 DescribeKey for %s: %v", svcGrantSource, err)
	}
	// A grant token of the grant works as any other.
	if _, err := e.svc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, GrantTokens: []string{*g.GrantToken}}, forSource(svcGrantSource), sdkNoRetry); err != nil {
		t.Errorf("s3 Decrypt with the grant token: %v", err)
	}

	// Denied: another resource, none, an operation the grant lacks,
	// another service, anybody forwarding through s3.
	_, err = gdk(e.svc, forSource(svcOtherSource))
	sdkWantErr(t, "s3 for another resource", err, "AccessDeniedException")
	_, err = gdk(e.svc)
	sdkWantErr(t, "s3 for no resource", err, "AccessDeniedException")
	_, err = e.svc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob}, forSource(svcOtherSource), sdkNoRetry)
	sdkWantErr(t, "s3 Decrypt for another resource", err, "AccessDeniedException")
	_, err = e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("p")}, forSource(svcGrantSource), sdkNoRetry)
	sdkWantErr(t, "s3 Encrypt, not in the grant", err, "AccessDeniedException")
	_, err = gdk(ebsClient, forSource(svcGrantSource))
	sdkWantErr(t, "ebs for the grant's resource", err, "AccessDeniedException")
	_, err = gdk(e.svc, onBehalfOf(e.aliceKeyID, ""))
	sdkWantErr(t, "s3 for alice", err, "AccessDeniedException")

	// The header: only a service calling for itself, only signed, one
	// well-formed ARN.
	_, err = gdk(e.alice, forSource(svcGrantSource))
	sdkWantErr(t, "alice naming a source", err, "AccessDeniedException")
	_, err = root.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.Arn}, forSource(svcGrantSource), sdkNoRetry)
	sdkWantErr(t, "the root naming a source", err, "AccessDeniedException")
	_, err = gdk(e.svc, onBehalfOf(e.aliceKeyID, ""), forSource(svcGrantSource))
	sdkWantErr(t, "s3 for alice naming a source", err, "AccessDeniedException")
	_, err = gdk(e.svc, unsignedHeader(sourceArnHeader, svcGrantSource))
	sdkWantErr(t, "s3 with an unsigned source", err, "InvalidSignatureException")
	for _, bad := range []string{"photos", "arn:aws:s3:::photos", "arn:aws:s3:us-east-1:1111222233:accesspoint/photos"} {
		_, err = gdk(e.svc, forSource(bad))
		sdkWantErr(t, "s3 for source "+bad, err, "ValidationException")
	}
	_, err = gdk(e.svc, forSource(svcGrantSource), forSource(svcOtherSource))
	sdkWantErr(t, "s3 for two sources", err, "ValidationException")

	// ListGrants shows the service principals and the constraint; the
	// filters find each grantee alone.
	all := grantList(t, root, *k.KeyId, 0, nil, nil)
	if len(all) != 2 {
		t.Fatalf("ListGrants: %d grants, want 2", len(all))
	}
	byService, err := root.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k.KeyId, GranteeServicePrincipal: aws.String("s3.amazonaws.com")})
	if err != nil || len(byService.Grants) != 1 {
		t.Fatalf("ListGrants GranteeServicePrincipal s3: %v, %v", byService, err)
	}
	sg := byService.Grants[0]
	if aws.ToString(sg.GrantId) != *g.GrantId || aws.ToString(sg.GranteeServicePrincipal) != "s3.amazonaws.com" ||
		aws.ToString(sg.RetiringServicePrincipal) != "s3.amazonaws.com" || sg.GranteePrincipal != nil || sg.RetiringPrincipal != nil ||
		sg.Constraints == nil || aws.ToString(sg.Constraints.SourceArn) != svcGrantSource || aws.ToString(sg.IssuingAccount) != "arn:aws:iam::"+servertest.AccountID+":root" {
		t.Errorf("the service grant as listed: %+v (constraints %+v)", sg, sg.Constraints)
	}
	for _, f := range []struct {
		name      string
		in        kms.ListGrantsInput
		want      []string
		errorCode string
	}{
		{"another service", kms.ListGrantsInput{GranteeServicePrincipal: aws.String("ebs.amazonaws.com")}, nil, ""},
		{"alice", kms.ListGrantsInput{GranteePrincipal: aws.String(aliceARN)}, []string{*ga.GrantId}, ""},
		{"the service's name as a GranteePrincipal", kms.ListGrantsInput{GranteePrincipal: aws.String("s3.amazonaws.com")}, nil, ""},
		{"the service grant by id", kms.ListGrantsInput{GrantId: g.GrantId, GranteeServicePrincipal: aws.String("s3.amazonaws.com")}, []string{*g.GrantId}, ""},
		{"the service grant by id, filtered on alice", kms.ListGrantsInput{GrantId: g.GrantId, GranteePrincipal: aws.String(aliceARN)}, nil, ""},
		{"alice's grant by id, filtered on s3", kms.ListGrantsInput{GrantId: ga.GrantId, GranteeServicePrincipal: aws.String("s3.amazonaws.com")}, nil, ""},
		{"both filters", kms.ListGrantsInput{GranteePrincipal: aws.String(aliceARN), GranteeServicePrincipal: aws.String("s3.amazonaws.com")}, nil, "ValidationException"},
		{"a malformed service principal", kms.ListGrantsInput{GranteeServicePrincipal: aws.String("s3")}, nil, "ValidationException"},
	} {
		f.in.KeyId = k.KeyId
		out, err := root.ListGrants(ctx, &f.in, sdkNoRetry)
		if f.errorCode != "" {
			sdkWantErr(t, "ListGrants with "+f.name, err, f.errorCode)
			continue
		}
		if err != nil {
			t.Errorf("ListGrants with %s: %v", f.name, err)
			continue
		}
		if got := grantIDs(out.Grants); strings.Join(got, ",") != strings.Join(grantSorted(f.want...), ",") {
			t.Errorf("ListGrants with %s: %v, want %v", f.name, got, f.want)
		}
	}

	// ListRetirableGrants: the account sees the grants of its keys that
	// the service may retire; the service sees its own across accounts;
	// another account sees none of them.
	other := e.env.CreateAccount(t)
	otherRoot := e.env.Client(t, servertest.Region, other.AccessKeyID, other.Secret)
	ok2 := sdkCreateKey(t, otherRoot, nil)
	og := grantCreate(t, otherRoot, &kms.CreateGrantInput{
		KeyId: ok2.KeyId, GranteeServicePrincipal: aws.String("s3.amazonaws.com"), RetiringServicePrincipal: aws.String("s3.amazonaws.com"),
		Operations:  grantOps(types.GrantOperationDecrypt),
		Constraints: &types.GrantConstraints{SourceArn: aws.String("arn:aws:s3:us-east-1:" + other.ID + ":accesspoint/x")},
	})
	retirable := func(c *kms.Client, in *kms.ListRetirableGrantsInput) ([]string, error) {
		var ids []string
		for pages := 0; pages < 10; pages++ {
			out, err := c.ListRetirableGrants(ctx, in, sdkNoRetry)
			if err != nil {
				return nil, err
			}
			ids = append(ids, grantIDs(out.Grants)...)
			if !out.Truncated {
				return grantSorted(ids...), nil
			}
			in.Marker = out.NextMarker
		}
		t.Fatalf("ListRetirableGrants: too many pages")
		return nil, nil
	}
	s3p := aws.String("s3.amazonaws.com")
	for _, c := range []struct {
		name   string
		client *kms.Client
		in     kms.ListRetirableGrantsInput
		want   []string
		code   string
	}{
		{"the root, for s3", root, kms.ListRetirableGrantsInput{RetiringServicePrincipal: s3p}, []string{*g.GrantId}, ""},
		{"the other root, for s3", otherRoot, kms.ListRetirableGrantsInput{RetiringServicePrincipal: s3p}, []string{*og.GrantId}, ""},
		{"the root, for ebs", root, kms.ListRetirableGrantsInput{RetiringServicePrincipal: aws.String("ebs.amazonaws.com")}, nil, ""},
		{"s3 for itself", e.svc, kms.ListRetirableGrantsInput{RetiringServicePrincipal: s3p}, []string{*g.GrantId, *og.GrantId}, ""},
		{"s3 for itself, one a page", e.svc, kms.ListRetirableGrantsInput{RetiringServicePrincipal: s3p, Limit: aws.Int32(1)}, []string{*g.GrantId, *og.GrantId}, ""},
		{"the root, one a page", root, kms.ListRetirableGrantsInput{RetiringServicePrincipal: s3p, Limit: aws.Int32(1)}, []string{*g.GrantId}, ""},
		{"s3 for ebs", e.svc, kms.ListRetirableGrantsInput{RetiringServicePrincipal: aws.String("ebs.amazonaws.com")}, nil, "AccessDeniedException"},
		{"s3 for alice", e.svc, kms.ListRetirableGrantsInput{RetiringPrincipal: aws.String(aliceARN)}, nil, "AccessDeniedException"},
		{"alice without an IAM policy", e.alice, kms.ListRetirableGrantsInput{RetiringServicePrincipal: s3p}, nil, "AccessDeniedException"},
		{"both principals", root, kms.ListRetirableGrantsInput{RetiringPrincipal: aws.String(aliceARN), RetiringServicePrincipal: s3p}, nil, "ValidationException"},
		{"neither principal", root, kms.ListRetirableGrantsInput{}, nil, "ValidationException"},
	} {
		got, err := retirable(c.client, &c.in)
		if c.code != "" {
			sdkWantErr(t, "ListRetirableGrants by "+c.name, err, c.code)
			continue
		}
		if err != nil {
			t.Errorf("ListRetirableGrants by %s: %v", c.name, err)
			continue
		}
		if strings.Join(got, ",") != strings.Join(grantSorted(c.want...), ",") {
			t.Errorf("ListRetirableGrants by %s: %v, want %v", c.name, got, grantSorted(c.want...))
		}
	}

	// RetireGrant: not by another service, nor by alice; by s3 for
	// itself, with no source (the constraint does not apply to
	// RetireGrant). Then s3 is denied, and the grant is gone everywhere.
	retire := func(c *kms.Client, opts ...func(*kms.Options)) error {
		_, err := c.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: k.Arn, GrantId: g.GrantId}, append(opts, sdkNoRetry)...)
		return err
	}
	sdkWantErr(t, "ebs retiring s3's grant", retire(ebsClient), "AccessDeniedException")
	sdkWantErr(t, "alice retiring s3's grant", retire(e.alice), "AccessDeniedException")
	if err := retire(e.svc); err != nil {
		t.Fatalf("s3 retiring its grant: %v", err)
	}
	_, err = gdk(e.svc, forSource(svcGrantSource))
	sdkWantErr(t, "s3 after the grant is retired", err, "AccessDeniedException")
	if got := grantIDs(grantList(t, root, *k.KeyId, 0, nil, nil)); strings.Join(got, ",") != *ga.GrantId {
		t.Errorf("grants after the retirement: %v, want alice's only", got)
	}
	if got, err := retirable(e.svc, &kms.ListRetirableGrantsInput{RetiringServicePrincipal: s3p}); err != nil || strings.Join(got, ",") != *og.GrantId {
		t.Errorf("s3's retirable grants after the retirement: %v, %v", got, err)
	}
	// By grant token too, for the other account's grant.
	if _, err := e.svc.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: og.GrantToken}, sdkNoRetry); err != nil {
		t.Errorf("s3 retiring by grant token: %v", err)
	}
}

// TestSDKServiceGrantRetiringPrincipal: a grant to a service with an
// account principal as the retiring principal, and the grantee service
// retiring a grant that allows RetireGrant.
func TestSDKServiceGrantRetiringPrincipal(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	root := e.env.KMS
	aliceARN := "arn:aws:iam::" + servertest.AccountID + ":user/alice"
	k := sdkCreateKey(t, root, nil)
	mk := func(ops ...types.GrantOperation) *kms.CreateGrantOutput {
		return grantCreate(t, root, &kms.CreateGrantInput{
			KeyId: k.KeyId, GranteeServicePrincipal: aws.String("s3.amazonaws.com"), RetiringPrincipal: aws.String(aliceARN),
			Operations: ops, Constraints: &types.GrantConstraints{SourceArn: aws.String(svcGrantSource)},
		})
	}
	byAlice := mk(types.GrantOperationDecrypt)
	bySelf := mk(types.GrantOperationDecrypt, types.GrantOperationRetireGrant)
	retire := func(c *kms.Client, g *kms.CreateGrantOutput) error {
		_, err := c.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: k.Arn, GrantId: g.GrantId}, sdkNoRetry)
		return err
	}
	sdkWantErr(t, "s3 retiring a grant without RetireGrant", retire(e.svc, byAlice), "AccessDeniedException")
	if err := retire(e.alice, byAlice); err != nil {
		t.Errorf("alice, the retiring principal: %v", err)
	}
	if err := retire(e.svc, bySelf); err != nil {
		t.Errorf("s3, the grantee of a grant that allows RetireGrant: %v", err)
	}
	if gs := grantList(t, root, *k.KeyId, 0, nil, nil); len(gs) != 0 {
		t.Errorf("grants left: %v", grantIDs(gs))
	}
}

// TestSDKServiceGrantConditionKeys: kms:GranteeServicePrincipal and
// kms:GrantConstraintSourceArn in a key policy decide who may make grants
// for a service; aws:SourceAccount and aws:SourceArn decide a service's own
// requests.
func TestSDKServiceGrantConditionKeys(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	acct := servertest.AccountID
	policy := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"},
	  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/alice"},"Action":"kms:CreateGrant","Resource":"*",
	   "Condition":{"StringEquals":{"kms:GranteeServicePrincipal":"s3.amazonaws.com"},
	                "ArnLike":{"kms:GrantConstraintSourceArn":"arn:aws:s3:*:` + acct + `:accesspoint/*"}}},
	  {"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"kms:Encrypt","Resource":"*",
	   "Condition":{"StringEquals":{"aws:SourceAccount":"` + acct + `"},"ArnLike":{"aws:SourceArn":"arn:aws:s3:*:*:accesspoint/photos"}}}
	]}`
	k := sdkCreateKey(t, e.env.KMS, &kms.CreateKeyInput{Policy: aws.String(policy)})
	create := func(grantee *string, service *string, src string) error {
		_, err := e.alice.CreateGrant(ctx, &kms.CreateGrantInput{
			KeyId: k.Arn, GranteePrincipal: grantee, GranteeServicePrincipal: service, RetiringServicePrincipal: aws.String("s3.amazonaws.com"),
			Operations: grantOps(types.GrantOperationDecrypt), Constraints: &types.GrantConstraints{SourceArn: aws.String(src)},
		}, sdkNoRetry)
		return err
	}
	if err := create(nil, aws.String("s3.amazonaws.com"), svcGrantSource); err != nil {
		t.Errorf("alice's grant for s3 and an access point: %v", err)
	}
	sdkWantErr(t, "alice's grant for ebs", create(nil, aws.String("ebs.amazonaws.com"), svcGrantSource), "AccessDeniedException")
	sdkWantErr(t, "alice's grant for another account's resource", create(nil, aws.String("s3.amazonaws.com"), "arn:aws:s3:us-east-1:444455556666:accesspoint/x"), "AccessDeniedException")
	sdkWantErr(t, "alice's grant for a bucket", create(nil, aws.String("s3.amazonaws.com"), "arn:aws:s3:us-east-1:"+acct+":bucket/x"), "AccessDeniedException")
	sdkWantErr(t, "alice's grant to herself", create(aws.String("arn:aws:iam::"+acct+":user/alice"), nil, svcGrantSource), "AccessDeniedException")

	enc := func(opts ...func(*kms.Options)) error {
		_, err := e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("p")}, append(opts, sdkNoRetry)...)
		return err
	}
	if err := enc(forSource(svcGrantSource)); err != nil {
		t.Errorf("s3 for its access point in the account: %v", err)
	}
	sdkWantErr(t, "s3 for an access point of another account", enc(forSource("arn:aws:s3:us-east-1:444455556666:accesspoint/photos")), "AccessDeniedException")
	sdkWantErr(t, "s3 for another access point", enc(forSource(svcOtherSource)), "AccessDeniedException")
	sdkWantErr(t, "s3 for no resource", enc(), "AccessDeniedException")
}

// TestSDKServiceGrantCreateGrant: a service whose grant allows CreateGrant
// may, for the grant's resource, make grants with the same SourceArn
// constraint, issued by the key's account; not looser ones.
func TestSDKServiceGrantCreateGrant(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	root := e.env.KMS
	k := sdkCreateKey(t, root, nil)
	s3 := aws.String("s3.amazonaws.com")
	grantCreate(t, root, &kms.CreateGrantInput{
		KeyId: k.KeyId, GranteeServicePrincipal: s3, RetiringServicePrincipal: s3,
		Operations:  grantOps(types.GrantOperationCreateGrant, types.GrantOperationDecrypt, types.GrantOperationEncrypt),
		Constraints: &types.GrantConstraints{SourceArn: aws.String(svcGrantSource)},
	})
	child := func(src string, opts ...func(*kms.Options)) (*kms.CreateGrantOutput, error) {
		return e.svc.CreateGrant(ctx, &kms.CreateGrantInput{
			KeyId: k.Arn, GranteeServicePrincipal: s3, RetiringServicePrincipal: s3,
			Operations: grantOps(types.GrantOperationDecrypt), Constraints: &types.GrantConstraints{SourceArn: aws.String(src)},
		}, append(opts, sdkNoRetry)...)
	}
	out, err := child(svcGrantSource, forSource(svcGrantSource))
	if err != nil {
		t.Fatalf("s3 granting itself Decrypt for its resource: %v", err)
	}
	_, err = child(svcOtherSource, forSource(svcGrantSource))
	sdkWantErr(t, "s3 granting for another resource", err, "AccessDeniedException")
	_, err = child(svcGrantSource)
	sdkWantErr(t, "s3 granting with no source", err, "AccessDeniedException")
	_, err = e.svc.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: k.Arn, GranteePrincipal: aws.String("arn:aws:iam::" + servertest.AccountID + ":user/alice"),
		Operations: grantOps(types.GrantOperationDecrypt)}, forSource(svcGrantSource), sdkNoRetry)
	sdkWantErr(t, "s3 granting alice without the SourceArn", err, "AccessDeniedException")

	gs, err := root.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k.KeyId, GrantId: out.GrantId})
	if err != nil || len(gs.Grants) != 1 {
		t.Fatalf("ListGrants of the child: %v, %v", gs, err)
	}
	if got := aws.ToString(gs.Grants[0].IssuingAccount); got != "arn:aws:iam::"+servertest.AccountID+":root" {
		t.Errorf("the child's IssuingAccount %q, want the key's account", got)
	}
	if n := len(grantList(t, root, *k.KeyId, 0, nil, nil)); n != 2 {
		t.Errorf("%d grants, want 2", n)
	}
}

// TestServiceGrantsWithAWSCLI: the AWS CLI here (botocore 1.43.11) does not
// know the service principal members, so it cannot make these grants; it
// must still list them (botocore skips members it does not model), and a
// service may retire its grant with it, by key and grant id.
func TestServiceGrantsWithAWSCLI(t *testing.T) {
	bin := cliPath(t)
	t.Parallel()
	env := servertest.Start(t)
	s3 := env.CreateService(t, "s3")
	ebs := env.CreateService(t, "ebs")
	cli := newAWSCLI(t, bin, env)
	root := cliCreds{servertest.AccessKeyID, env.Secret, ""}
	k := sdkCreateKey(t, env.KMS, nil)
	g := grantCreate(t, env.KMS, &kms.CreateGrantInput{
		KeyId: k.KeyId, GranteeServicePrincipal: aws.String(s3.Principal), RetiringServicePrincipal: aws.String(s3.Principal),
		Operations: grantOps(types.GrantOperationDecrypt), Constraints: &types.GrantConstraints{SourceArn: aws.String(svcGrantSource)},
	})

	out := cli.ok(root, "kms", "list-grants", "--key-id", *k.KeyId)
	grants, _ := out["Grants"].([]any)
	if len(grants) != 1 {
		t.Fatalf("aws kms list-grants: %v", out)
	}
	entry, _ := grants[0].(map[string]any)
	if cliField(entry, "GrantId") != *g.GrantId || cliField(entry, "GranteePrincipal") != "" || cliField(entry, "KeyId") != *k.Arn {
		t.Errorf("aws kms list-grants: entry %v", entry)
	}
	cli.fails(cliCreds{ebs.AccessKeyID, ebs.Secret, ""}, "AccessDeniedException", "",
		"kms", "retire-grant", "--key-id", *k.Arn, "--grant-id", *g.GrantId)
	cli.ok(cliCreds{s3.AccessKeyID, s3.Secret, ""}, "kms", "retire-grant", "--key-id", *k.Arn, "--grant-id", *g.GrantId)
	if gs := grantList(t, env.KMS, *k.KeyId, 0, nil, nil); len(gs) != 0 {
		t.Errorf("grants after the CLI's retire-grant: %v", grantIDs(gs))
	}
}
