package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// Services call kagi on behalf of their callers with these headers, signed
// with the service's own credentials (api.ForwardedAccessKeyHeader).
const (
	fwdAKIDHeader  = "X-Kagi-Forwarded-Access-Key-Id"
	fwdTokenHeader = "X-Kagi-Forwarded-Security-Token"
)

// onBehalfOf is a per-call option of a service's client: the request runs
// as the principal whose access key id (and session token) it forwards.
// The SDK signs the headers, as it signs every header it sends.
func onBehalfOf(akid, token string) func(*kms.Options) {
	return func(o *kms.Options) {
		o.APIOptions = append(o.APIOptions, smithyhttp.AddHeaderValue(fwdAKIDHeader, akid))
		if token != "" {
			o.APIOptions = append(o.APIOptions, smithyhttp.AddHeaderValue(fwdTokenHeader, token))
		}
	}
}

// unsignedHeader adds a header after the request is signed, so that it is
// not in SignedHeaders.
func unsignedHeader(name, value string) func(*kms.Options) {
	return func(o *kms.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("kagiUnsignedHeader",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					if req, ok := in.Request.(*smithyhttp.Request); ok {
						req.Header.Set(name, value)
					}
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		})
	}
}

// servicesEnv is a server with a registered service "s3", a user alice
// (no IAM policies) of the default account, and clients for all three.
type servicesEnv struct {
	env        *servertest.Env
	svc        *kms.Client
	alice      *kms.Client
	aliceKeyID string
}

func newServicesEnv(t *testing.T, opts ...servertest.Option) *servicesEnv {
	t.Helper()
	env := servertest.Start(t, opts...)
	s3 := env.CreateService(t, "s3")
	if s3.Principal != "s3.amazonaws.com" {
		t.Fatalf("service principal %q", s3.Principal)
	}
	akid, secret := iamAccessKey(t, rootIAMCaller(t, env), "alice")
	return &servicesEnv{
		env:        env,
		svc:        env.Client(t, servertest.Region, s3.AccessKeyID, s3.Secret),
		alice:      env.Client(t, servertest.Region, akid, secret),
		aliceKeyID: akid,
	}
}

// TestServiceAWSManagedKey: a service encrypting for a user with
// alias/aws/s3 makes the AWS managed key once, in the user's account; the
// ciphertext decrypts through the service, not directly; the key is
// described and listed as AWS's, and nobody may manage it.
func TestServiceAWSManagedKey(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	root := e.env.KMS
	asAlice := onBehalfOf(e.aliceKeyID, "")

	// Before first use, the alias names nothing, and using it directly
	// does not make the key.
	_, err := e.alice.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/s3"), Plaintext: []byte("x")})
	sdkWantErr(t, "direct Encrypt before first use", err, "NotFoundException")
	if _, ok := sdkAliasTargets(t, root, nil)["alias/aws/s3"]; ok {
		t.Fatal("alias/aws/s3 exists before the service used it")
	}

	enc, err := e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/s3"), Plaintext: []byte("object data"),
		EncryptionContext: map[string]string{"aws:s3:arn": "arn:aws:s3:::bucket/object"}}, asAlice)
	if err != nil {
		t.Fatalf("Encrypt through s3 for alice: %v", err)
	}
	md := sdkDescribe(t, root, "alias/aws/s3")
	if *enc.KeyId != *md.Arn {
		t.Errorf("Encrypt used %s, alias/aws/s3 is %s", *enc.KeyId, *md.Arn)
	}
	if md.KeyManager != types.KeyManagerTypeAws || !md.Enabled || md.KeySpec != types.KeySpecSymmetricDefault ||
		*md.AWSAccountId != servertest.AccountID ||
		aws.ToString(md.Description) != "Default key that protects my S3 data when no other key is defined" {
		t.Errorf("managed key metadata %+v", md)
	}

	dec, err := e.svc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob,
		EncryptionContext: map[string]string{"aws:s3:arn": "arn:aws:s3:::bucket/object"}}, asAlice)
	if err != nil || string(dec.Plaintext) != "object data" {
		t.Fatalf("Decrypt through s3: %v", err)
	}
	_, err = e.alice.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob,
		EncryptionContext: map[string]string{"aws:s3:arn": "arn:aws:s3:::bucket/object"}})
	sdkWantErr(t, "alice's direct Decrypt", err, "AccessDeniedException")
	_, err = e.alice.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/s3"), Plaintext: []byte("x")})
	sdkWantErr(t, "alice's direct Encrypt", err, "AccessDeniedException")
	_, err = root.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/s3"), Plaintext: []byte("x")})
	sdkWantErr(t, "the root's direct Encrypt", err, "AccessDeniedException")

	// A second use finds the key; GenerateDataKey works through it too.
	dk, err := e.svc.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/aws/s3"), KeySpec: types.DataKeySpecAes256}, asAlice)
	if err != nil || *dk.KeyId != *md.Arn {
		t.Fatalf("GenerateDataKey through s3: %v", err)
	}
	if n := countManaged(t, root); n != 1 {
		t.Errorf("%d AWS managed keys, want 1", n)
	}
	targets := sdkAliasTargets(t, root, nil)
	if targets["alias/aws/s3"] != *md.KeyId {
		t.Errorf("ListAliases: alias/aws/s3 → %q, want %s", targets["alias/aws/s3"], *md.KeyId)
	}

	pol, err := root.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: md.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Principal map[string]string
			Action    any
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(*pol.Policy), &doc); err != nil || len(doc.Statement) != 2 {
		t.Fatalf("policy %s: %v", *pol.Policy, err)
	}
	if c := doc.Statement[0].Condition["StringEquals"]; c["kms:ViaService"] != "s3.us-east-1.amazonaws.com" || c["kms:CallerAccount"] != servertest.AccountID || doc.Statement[0].Principal["AWS"] != "*" {
		t.Errorf("first statement %+v", doc.Statement[0])
	}

	rot, err := root.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: md.KeyId})
	if err != nil || !rot.KeyRotationEnabled || aws.ToInt32(rot.RotationPeriodInDays) != 365 ||
		rot.NextRotationDate == nil || !sdkNear(rot.NextRotationDate, md.CreationDate.AddDate(0, 0, 365), time.Minute) {
		t.Errorf("GetKeyRotationStatus: %v %+v", err, rot)
	}
}

// TestServiceAWSManagedKeyRefusals: nobody, the account root included,
// may manage an AWS managed key; its policy refuses with AWS's
// AccessDeniedException, and alias/aws/ names are reserved.
func TestServiceAWSManagedKeyRefusals(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	root := e.env.KMS
	if _, err := e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/s3"), Plaintext: []byte("x")}, onBehalfOf(e.aliceKeyID, "")); err != nil {
		t.Fatal(err)
	}
	md := sdkDescribe(t, root, "alias/aws/s3")
	id := md.KeyId
	own := sdkCreateKey(t, root, nil)
	sdkCreateAlias(t, root, "alias/mine", *own.KeyId)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + servertest.AccountID + `:root"},"Action":"kms:*","Resource":"*"}]}`

	calls := []struct {
		name string
		code string
		call func() error
	}{
		{"DisableKey", "AccessDeniedException", func() error {
			_, err := root.DisableKey(ctx, &kms.DisableKeyInput{KeyId: id})
			return err
		}},
		{"EnableKey", "AccessDeniedException", func() error {
			_, err := root.EnableKey(ctx, &kms.EnableKeyInput{KeyId: id})
			return err
		}},
		{"ScheduleKeyDeletion", "AccessDeniedException", func() error {
			_, err := root.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(7)})
			return err
		}},
		{"CancelKeyDeletion", "AccessDeniedException", func() error {
			_, err := root.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: id})
			return err
		}},
		{"PutKeyPolicy", "AccessDeniedException", func() error {
			_, err := root.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: id, Policy: aws.String(policy), BypassPolicyLockoutSafetyCheck: true})
			return err
		}},
		{"TagResource", "AccessDeniedException", func() error {
			_, err := root.TagResource(ctx, &kms.TagResourceInput{KeyId: id, Tags: []types.Tag{{TagKey: aws.String("k"), TagValue: aws.String("v")}}})
			return err
		}},
		{"UntagResource", "AccessDeniedException", func() error {
			_, err := root.UntagResource(ctx, &kms.UntagResourceInput{KeyId: id, TagKeys: []string{"k"}})
			return err
		}},
		{"UpdateKeyDescription", "AccessDeniedException", func() error {
			_, err := root.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: id, Description: aws.String("mine")})
			return err
		}},
		{"EnableKeyRotation", "AccessDeniedException", func() error {
			_, err := root.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: id})
			return err
		}},
		{"DisableKeyRotation", "AccessDeniedException", func() error {
			_, err := root.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: id})
			return err
		}},
		{"RotateKeyOnDemand", "AccessDeniedException", func() error {
			_, err := root.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: id})
			return err
		}},
		{"CreateGrant", "AccessDeniedException", func() error {
			_, err := root.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: id, GranteePrincipal: aws.String("arn:aws:iam::" + servertest.AccountID + ":root"),
				Operations: []types.GrantOperation{types.GrantOperationDecrypt}})
			return err
		}},
		{"CreateAlias to the managed key", "AccessDeniedException", func() error {
			_, err := root.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/other"), TargetKeyId: id})
			return err
		}},
		{"UpdateAlias to the managed key", "AccessDeniedException", func() error {
			_, err := root.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/mine"), TargetKeyId: id})
			return err
		}},
		{"CreateAlias alias/aws/…", "InvalidAliasNameException", func() error {
			_, err := root.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/aws/mine"), TargetKeyId: own.KeyId})
			return err
		}},
		{"UpdateAlias alias/aws/s3", "InvalidAliasNameException", func() error {
			_, err := root.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/aws/s3"), TargetKeyId: own.KeyId})
			return err
		}},
		{"DeleteAlias alias/aws/s3", "InvalidAliasNameException", func() error {
			_, err := root.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/aws/s3")})
			return err
		}},
		{"a service's own use of its managed key", "AccessDeniedException", func() error {
			_, err := e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: md.Arn, Plaintext: []byte("x")})
			return err
		}},
	}
	for _, c := range calls {
		err := c.call()
		sdkWantErr(t, c.name, err, c.code)
		if c.code == "AccessDeniedException" && err != nil && !strings.Contains(err.Error(), "because no resource-based policy allows") {
			t.Errorf("%s: %v, want the key policy's refusal", c.name, err)
		}
	}
	after := sdkDescribe(t, root, *id)
	if after.KeyState != types.KeyStateEnabled || aws.ToString(after.Description) != aws.ToString(md.Description) {
		t.Errorf("the managed key changed: %+v", after)
	}
	tags, err := root.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: id})
	if err != nil || len(tags.Tags) != 0 {
		t.Errorf("ListResourceTags: %v %+v", err, tags)
	}
	if got := sdkAliasTargets(t, root, nil); got["alias/aws/s3"] != *id || got["alias/mine"] != *own.KeyId || len(got) != 2 {
		t.Errorf("aliases %v", got)
	}
}

// countManaged counts the AWS managed keys of the client's account.
func countManaged(t *testing.T, c *kms.Client) int {
	t.Helper()
	n := 0
	for id := range sdkAllKeyIDs(t, c) {
		if sdkDescribe(t, c, id).KeyManager == types.KeyManagerTypeAws {
			n++
		}
	}
	return n
}

// TestServiceConditionKeys: a customer key's policy can restrict it to use
// through a service (kms:ViaService, aws:CalledVia, aws:ViaAWSService) and
// to the callers of an account (kms:CallerAccount).
func TestServiceConditionKeys(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	root := e.env.KMS
	acct := servertest.AccountID
	other := e.env.CreateAccount(t)
	otherRoot := e.env.Client(t, servertest.Region, other.AccessKeyID, other.Secret)

	policy := `{"Version":"2012-10-17","Statement":[
	  {"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":["kms:Describe*","kms:Get*","kms:List*","kms:PutKeyPolicy"],"Resource":"*"},
	  {"Sid":"through s3","Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
	   "Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com","kms:CallerAccount":"` + other.ID + `"}}},
	  {"Sid":"via any service","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:GenerateDataKey","Resource":"*",
	   "Condition":{"StringEquals":{"aws:CalledVia":"s3.amazonaws.com","kms:CallerAccount":"` + acct + `"},"Bool":{"aws:ViaAWSService":"true"}}}
	]}`
	k := sdkCreateKey(t, root, &kms.CreateKeyInput{Policy: aws.String(policy)})

	// kms:CallerAccount: the other account's root may encrypt through s3,
	// not directly, and alice of the key's account not even through s3.
	enc, err := e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("p")}, onBehalfOf(other.AccessKeyID, ""))
	if err != nil {
		t.Fatalf("the other account through s3: %v", err)
	}
	_, err = otherRoot.Encrypt(ctx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("p")})
	sdkWantErr(t, "the other account directly", err, "AccessDeniedException")
	_, err = e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("p")}, onBehalfOf(e.aliceKeyID, ""))
	sdkWantErr(t, "alice through s3 (kms:CallerAccount)", err, "AccessDeniedException")
	if dec, err := e.svc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}, onBehalfOf(other.AccessKeyID, "")); err != nil || string(dec.Plaintext) != "p" {
		t.Errorf("the other account's Decrypt through s3: %v", err)
	}

	// aws:CalledVia and aws:ViaAWSService: alice may generate data keys
	// through s3 only.
	if _, err := e.svc.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.Arn, NumberOfBytes: aws.Int32(32)}, onBehalfOf(e.aliceKeyID, "")); err != nil {
		t.Errorf("alice's GenerateDataKey through s3: %v", err)
	}
	_, err = e.alice.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.Arn, NumberOfBytes: aws.Int32(32)})
	sdkWantErr(t, "alice's direct GenerateDataKey", err, "AccessDeniedException")

	// Another service's path is not s3's: ebs in the same Region.
	ebs := e.env.CreateService(t, "ebs")
	ebsClient := e.env.Client(t, servertest.Region, ebs.AccessKeyID, ebs.Secret)
	_, err = ebsClient.Encrypt(ctx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("p")}, onBehalfOf(other.AccessKeyID, ""))
	sdkWantErr(t, "the other account through ebs", err, "AccessDeniedException")

	// A service calling for itself is matched by "Principal": {"Service": …}.
	own := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"},
	  {"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"kms:Encrypt","Resource":"*"}]}`
	sk := sdkCreateKey(t, root, &kms.CreateKeyInput{Policy: aws.String(own)})
	if _, err := e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: sk.Arn, Plaintext: []byte("p")}); err != nil {
		t.Errorf("s3 for itself: %v", err)
	}
	_, err = ebsClient.Encrypt(ctx, &kms.EncryptInput{KeyId: sk.Arn, Plaintext: []byte("p")})
	sdkWantErr(t, "ebs for itself", err, "AccessDeniedException")
}

// TestServiceForwardingRefused: only a registered service may forward a
// caller's credentials, only in signed headers, and only real ones.
func TestServiceForwardingRefused(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	k := sdkCreateKey(t, e.env.KMS, nil)
	enc := func(c *kms.Client, opts ...func(*kms.Options)) error {
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("p")}, append(opts, sdkNoRetry)...)
		return err
	}
	// Alice forging the root's identity.
	sdkWantErr(t, "a user forwarding", enc(e.alice, onBehalfOf(servertest.AccessKeyID, "")), "AccessDeniedException")
	// The service, with the header outside the signature.
	sdkWantErr(t, "an unsigned header", enc(e.svc, unsignedHeader(fwdAKIDHeader, servertest.AccessKeyID)), "InvalidSignatureException")
	sdkWantErr(t, "an unsigned token header", enc(e.svc, onBehalfOf(e.aliceKeyID, ""), unsignedHeader(fwdTokenHeader, "x")), "InvalidSignatureException")
	// Unknown and service credentials.
	sdkWantErr(t, "an unknown key", enc(e.svc, onBehalfOf("AKIAUNKNOWNKEY000001", "")), "UnrecognizedClientException")
	sdkWantErr(t, "a malformed key", enc(e.svc, onBehalfOf("not a key", "")), "UnrecognizedClientException")
	ebs := e.env.CreateService(t, "ebs")
	sdkWantErr(t, "another service's key", enc(e.svc, onBehalfOf(ebs.AccessKeyID, "")), "AccessDeniedException")
	// The root's key with the root's own secret would work; forwarding it
	// through s3 works too (the service is trusted to have authenticated
	// its caller).
	if err := enc(e.svc, onBehalfOf(servertest.AccessKeyID, "")); err != nil {
		t.Errorf("s3 for the root: %v", err)
	}
}

// TestServiceManagedKeyConcurrentFirstUse: many first uses at once make
// one key.
func TestServiceManagedKeyConcurrentFirstUse(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	const n = 12
	arns := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := e.svc.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/aws/s3"), NumberOfBytes: aws.Int32(16)}, onBehalfOf(e.aliceKeyID, ""))
			errs[i] = err
			if err == nil {
				arns[i] = *out.KeyId
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("use %d: %v", i, errs[i])
		}
		if arns[i] != arns[0] {
			t.Errorf("use %d got %s, use 0 %s", i, arns[i], arns[0])
		}
	}
	if got := countManaged(t, e.env.KMS); got != 1 {
		t.Errorf("%d AWS managed keys after %d concurrent first uses, want 1", got, n)
	}
}

// TestServiceManagedKeyDescribeCreates: DescribeKey of a registered
// service's alias/aws/<name> makes the key, as AWS documents; an
// unregistered name stays NotFoundException.
func TestServiceManagedKeyDescribeCreates(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	other := e.env.CreateAccount(t)
	otherRoot := e.env.Client(t, servertest.Region, other.AccessKeyID, other.Secret)
	out, err := otherRoot.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/s3")})
	if err != nil || out.KeyMetadata.KeyManager != types.KeyManagerTypeAws || *out.KeyMetadata.AWSAccountId != other.ID {
		t.Fatalf("DescribeKey alias/aws/s3 in another account: %v %+v", err, out)
	}
	// Each account has its own.
	if _, ok := sdkAliasTargets(t, e.env.KMS, nil)["alias/aws/s3"]; ok {
		t.Error("the other account's first use made a key in the default account")
	}
	_, err = otherRoot.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/nosuchservice")})
	sdkWantErr(t, "DescribeKey of an unregistered service's alias", err, "NotFoundException")
	// The other account's caller through s3 uses its own account's key.
	enc, err := e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/s3"), Plaintext: []byte("x")}, onBehalfOf(other.AccessKeyID, ""))
	if err != nil || *enc.KeyId != *out.KeyMetadata.Arn {
		t.Errorf("Encrypt through s3 for the other account: %v, want key %s", err, *out.KeyMetadata.Arn)
	}
}

// TestServiceManagedKeyYearlyRotation: an AWS managed key rotates after a
// year; old ciphertexts still decrypt and ListKeyRotations shows the
// rotation.
func TestServiceManagedKeyYearlyRotation(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t, servertest.WithSweepInterval(20*time.Millisecond))
	ctx := t.Context()
	root := e.env.KMS
	asAlice := onBehalfOf(e.aliceKeyID, "")
	old, err := e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/s3"), Plaintext: []byte("year one")}, asAlice)
	if err != nil {
		t.Fatal(err)
	}
	md := sdkDescribe(t, root, "alias/aws/s3")
	rots, err := root.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: md.KeyId})
	if err != nil || len(rots.Rotations) != 0 {
		t.Fatalf("ListKeyRotations before a year: %v %+v", err, rots)
	}
	e.env.Clock.Advance(364 * 24 * time.Hour)
	time.Sleep(100 * time.Millisecond) // several sweeps: nothing is due
	if got := sdkDescribe(t, root, *md.KeyId); *got.CurrentKeyMaterialId != *md.CurrentKeyMaterialId {
		t.Fatal("rotated before a year")
	}
	e.env.Clock.Advance(2 * 24 * time.Hour)
	var list *kms.ListKeyRotationsOutput
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		list, err = root.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: md.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Rotations) > 0 {
			break
		}
	}
	if len(list.Rotations) != 1 {
		t.Fatalf("rotations after a year: %+v", list.Rotations)
	}
	r := list.Rotations[0]
	now := sdkDescribe(t, root, *md.KeyId)
	if r.RotationType != types.RotationTypeAutomatic || *r.KeyMaterialId != *now.CurrentKeyMaterialId || *r.KeyMaterialId == *md.CurrentKeyMaterialId ||
		r.KeyMaterialState != types.KeyMaterialStateCurrent {
		t.Errorf("rotation %+v, current material %s (was %s)", r, *now.CurrentKeyMaterialId, *md.CurrentKeyMaterialId)
	}
	all, err := root.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: md.KeyId, IncludeKeyMaterial: types.IncludeKeyMaterialAllKeyMaterial})
	if err != nil || len(all.Rotations) != 2 || all.Rotations[0].KeyMaterialState != types.KeyMaterialStateNonCurrent {
		t.Errorf("ALL_KEY_MATERIAL: %v %+v", err, all)
	}
	st, err := root.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: md.KeyId})
	if err != nil || !st.KeyRotationEnabled || !st.NextRotationDate.After(e.env.Clock.Now().AddDate(0, 0, 360)) {
		t.Errorf("GetKeyRotationStatus after the rotation: %v %+v", err, st)
	}
	dec, err := e.svc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: old.CiphertextBlob}, asAlice)
	if err != nil || string(dec.Plaintext) != "year one" {
		t.Errorf("Decrypt of last year's ciphertext: %v", err)
	}
	fresh, err := e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/s3"), Plaintext: []byte("year two")}, asAlice)
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := e.svc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: fresh.CiphertextBlob}, asAlice); err != nil || string(dec.Plaintext) != "year two" {
		t.Errorf("Decrypt of this year's ciphertext: %v", err)
	}
	// Customer managed keys do not rotate until rotation is enabled.
	own := sdkCreateKey(t, root, nil)
	st, err = root.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: own.KeyId})
	if err != nil || st.KeyRotationEnabled || st.RotationPeriodInDays != nil {
		t.Errorf("GetKeyRotationStatus of a customer key: %v %+v", err, st)
	}
}

// TestServiceGrantIsForAWSResource: the console's "Allow attachment of
// persistent resources" statement lets a user create grants only through a
// service (kms:GrantIsForAWSResource true), as EBS does for a volume.
func TestServiceGrantIsForAWSResource(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	acct := servertest.AccountID
	aliceARN := "arn:aws:iam::" + acct + ":user/alice"
	policy := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"},
	  {"Sid":"Allow attachment of persistent resources","Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},
	   "Action":["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],"Resource":"*",
	   "Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}]}`
	k := sdkCreateKey(t, e.env.KMS, &kms.CreateKeyInput{Policy: aws.String(policy)})
	in := &kms.CreateGrantInput{KeyId: k.KeyId, GranteePrincipal: aws.String(aliceARN), Operations: []types.GrantOperation{types.GrantOperationDecrypt}}
	_, err := e.alice.CreateGrant(ctx, in)
	sdkWantErr(t, "alice's direct CreateGrant", err, "AccessDeniedException")
	g, err := e.svc.CreateGrant(ctx, in, onBehalfOf(e.aliceKeyID, ""))
	if err != nil {
		t.Fatalf("alice's CreateGrant through s3: %v", err)
	}
	_, err = e.alice.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k.KeyId})
	sdkWantErr(t, "alice's direct ListGrants", err, "AccessDeniedException")
	if l, err := e.svc.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k.KeyId}, onBehalfOf(e.aliceKeyID, "")); err != nil || len(l.Grants) != 1 {
		t.Errorf("alice's ListGrants through s3: %v", err)
	}
	if _, err := e.svc.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: k.KeyId, GrantId: g.GrantId}, onBehalfOf(e.aliceKeyID, "")); err != nil {
		t.Errorf("alice's RevokeGrant through s3: %v", err)
	}
}

// TestServiceForwardsTemporaryCredentials: a service forwards a session's
// access key and token; the request runs as the session until it expires,
// and the log line names the caller, invoked by the service.
func TestServiceForwardsTemporaryCredentials(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	e := newServicesEnv(t, servertest.WithLogOutput(&log))
	ctx := t.Context()
	var out struct {
		Creds iamCredentials `xml:"GetSessionTokenResult>Credentials"`
	}
	rootIAMCaller(t, e.env).ok(t, &out, "sts", "GetSessionToken", "DurationSeconds", "900")
	c := out.Creds
	enc := func(token string) error {
		_, err := e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/s3"), Plaintext: []byte("x")}, onBehalfOf(c.AccessKeyID, token), sdkNoRetry)
		return err
	}
	if err := enc(c.SessionToken); err != nil {
		t.Fatalf("Encrypt through s3 for a root session: %v", err)
	}
	sdkWantErr(t, "the session's key without its token", enc(""), "UnrecognizedClientException")
	sdkWantErr(t, "the session's key with a forged token", enc(c.SessionToken[:len(c.SessionToken)-4]+"AAAA"), "UnrecognizedClientException")
	e.env.Clock.Advance(16 * time.Minute)
	sdkWantErr(t, "an expired session", enc(c.SessionToken), "ExpiredTokenException")

	want := "principal=arn:aws:iam::" + servertest.AccountID + ":root invoked_by=s3.amazonaws.com"
	if !strings.Contains(string(log.Bytes()), want) {
		t.Errorf("no log line with %q in:\n%s", want, log.Bytes())
	}
}
