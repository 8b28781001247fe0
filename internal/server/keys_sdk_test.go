package server_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestSDKCreateKeyDefaults checks the metadata of a key created with no
// parameters but a description, and that DescribeKey returns the same.
func TestSDKCreateKeyDefaults(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	before := time.Now()
	m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Description: aws.String("first key")})
	after := time.Now()

	id := aws.ToString(m.KeyId)
	if !sdkUUID.MatchString(id) {
		t.Errorf("KeyId %q is not a lower-case UUID", id)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"Arn", aws.ToString(m.Arn), sdkKeyARN("us-east-1", id)},
		{"AWSAccountId", aws.ToString(m.AWSAccountId), servertest.AccountID},
		{"KeySpec", m.KeySpec, types.KeySpecSymmetricDefault},
		{"CustomerMasterKeySpec", m.CustomerMasterKeySpec, types.CustomerMasterKeySpecSymmetricDefault},
		{"KeyUsage", m.KeyUsage, types.KeyUsageTypeEncryptDecrypt},
		{"Origin", m.Origin, types.OriginTypeAwsKms},
		{"KeyManager", m.KeyManager, types.KeyManagerTypeCustomer},
		{"Enabled", m.Enabled, true},
		{"KeyState", m.KeyState, types.KeyStateEnabled},
		{"Description", aws.ToString(m.Description), "first key"},
		{"MultiRegion present", m.MultiRegion != nil, true},
		{"MultiRegion", aws.ToBool(m.MultiRegion), false},
		{"EncryptionAlgorithms", slices.Equal(m.EncryptionAlgorithms, []types.EncryptionAlgorithmSpec{types.EncryptionAlgorithmSpecSymmetricDefault}), true},
		{"DeletionDate absent", m.DeletionDate == nil, true},
		{"PendingDeletionWindowInDays absent", m.PendingDeletionWindowInDays == nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("CreateKey %s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if m.CreationDate == nil || m.CreationDate.Before(before.Add(-2*time.Second)) || m.CreationDate.After(after.Add(2*time.Second)) {
		t.Errorf("CreationDate %v, want between %v and %v", m.CreationDate, before, after)
	}
	if !sdkMaterialID.MatchString(aws.ToString(m.CurrentKeyMaterialId)) {
		t.Errorf("CurrentKeyMaterialId %q, want 64 lower-case hex digits", aws.ToString(m.CurrentKeyMaterialId))
	}

	d := sdkDescribe(t, env.KMS, id)
	if aws.ToString(d.Arn) != aws.ToString(m.Arn) || aws.ToString(d.KeyId) != id ||
		d.CreationDate == nil || !d.CreationDate.Equal(*m.CreationDate) ||
		aws.ToString(d.CurrentKeyMaterialId) != aws.ToString(m.CurrentKeyMaterialId) ||
		aws.ToString(d.Description) != "first key" || d.KeyState != types.KeyStateEnabled || !d.Enabled ||
		d.KeySpec != types.KeySpecSymmetricDefault || d.KeyUsage != types.KeyUsageTypeEncryptDecrypt {
		t.Errorf("DescribeKey differs from CreateKey:\n got %+v\nwant %+v", d, m)
	}

	// No description: the empty string, as AWS returns it.
	m2 := sdkCreateKey(t, env.KMS, nil)
	if m2.Description == nil || *m2.Description != "" {
		t.Errorf("Description of a key created without one = %v, want \"\"", m2.Description)
	}
	if aws.ToString(m2.KeyId) == id || aws.ToString(m2.CurrentKeyMaterialId) == aws.ToString(m.CurrentKeyMaterialId) {
		t.Errorf("two keys share an id or a material id: %v %v", m, m2)
	}
}

// TestSDKCreateKeyValidVariants creates keys with every accepted spelling
// of a symmetric key.
func TestSDKCreateKeyValidVariants(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`
	cases := []struct {
		name string
		in   kms.CreateKeyInput
	}{
		{"KeySpec and KeyUsage", kms.CreateKeyInput{KeySpec: types.KeySpecSymmetricDefault, KeyUsage: types.KeyUsageTypeEncryptDecrypt}},
		{"CustomerMasterKeySpec", kms.CreateKeyInput{CustomerMasterKeySpec: types.CustomerMasterKeySpecSymmetricDefault}},
		{"Origin AWS_KMS", kms.CreateKeyInput{Origin: types.OriginTypeAwsKms}},
		{"MultiRegion false", kms.CreateKeyInput{MultiRegion: aws.Bool(false)}},
		{"policy", kms.CreateKeyInput{Policy: aws.String(policy)}},
		{"description 8192 characters", kms.CreateKeyInput{Description: aws.String(strings.Repeat("d", 8192))}},
		{"description 8192 runes", kms.CreateKeyInput{Description: aws.String(strings.Repeat("é", 8192))}},
		{"50 tags", kms.CreateKeyInput{Tags: sdkTags(50)}},
		{"tag key 128, value 256, and an empty value", kms.CreateKeyInput{Tags: []types.Tag{
			{TagKey: aws.String(strings.Repeat("k", 128)), TagValue: aws.String(strings.Repeat("v", 256))},
			{TagKey: aws.String("empty"), TagValue: aws.String("")}}}},
	}
	for _, c := range cases {
		out, err := env.KMS.CreateKey(t.Context(), &c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		m := out.KeyMetadata
		if m.KeySpec != types.KeySpecSymmetricDefault || m.KeyUsage != types.KeyUsageTypeEncryptDecrypt || m.KeyState != types.KeyStateEnabled {
			t.Errorf("%s: metadata %+v", c.name, m)
		}
		if c.in.Description != nil && aws.ToString(m.Description) != *c.in.Description {
			t.Errorf("%s: description not kept", c.name)
		}
		if c.in.Tags != nil {
			tags, err := env.KMS.ListResourceTags(t.Context(), &kms.ListResourceTagsInput{KeyId: m.KeyId})
			if err != nil {
				t.Fatal(err)
			}
			if !sdkSameTags(tags.Tags, c.in.Tags) {
				t.Errorf("%s: tags %v, want %v", c.name, sdkTagMap(tags.Tags), sdkTagMap(c.in.Tags))
			}
		}
	}
}

// TestSDKCreateKeyErrors checks CreateKey's refusals, and that none of the
// refused calls created a key.
func TestSDKCreateKeyErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	tag := func(k, v string) []types.Tag { return []types.Tag{{TagKey: aws.String(k), TagValue: aws.String(v)}} }
	cases := []struct {
		name string
		in   kms.CreateKeyInput
		want string
	}{
		{"KeySpec and CustomerMasterKeySpec", kms.CreateKeyInput{KeySpec: types.KeySpecSymmetricDefault, CustomerMasterKeySpec: types.CustomerMasterKeySpecSymmetricDefault}, "ValidationException"},
		{"HMAC_256 without KeyUsage", kms.CreateKeyInput{KeySpec: types.KeySpecHmac256}, "ValidationException"},
		{"RSA_2048 without KeyUsage", kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048}, "ValidationException"},
		{"SYMMETRIC_DEFAULT with SIGN_VERIFY", kms.CreateKeyInput{KeySpec: types.KeySpecSymmetricDefault, KeyUsage: types.KeyUsageTypeSignVerify}, "ValidationException"},
		{"SIGN_VERIFY alone", kms.CreateKeyInput{KeyUsage: types.KeyUsageTypeSignVerify}, "ValidationException"},
		{"RSA_2048 with GENERATE_VERIFY_MAC", kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeGenerateVerifyMac}, "ValidationException"},
		{"HMAC_256 with ENCRYPT_DECRYPT", kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeEncryptDecrypt}, "ValidationException"},
		{"unknown KeySpec", kms.CreateKeyInput{KeySpec: "AES_256"}, "ValidationException"},
		{"unknown KeyUsage", kms.CreateKeyInput{KeyUsage: "ENCRYPT"}, "ValidationException"},
		{"unknown Origin", kms.CreateKeyInput{Origin: "SOMEWHERE"}, "ValidationException"},
		{"SM2", kms.CreateKeyInput{KeySpec: types.KeySpecSm2, KeyUsage: types.KeyUsageTypeEncryptDecrypt}, "UnsupportedOperationException"},
		{"MultiRegion", kms.CreateKeyInput{MultiRegion: aws.Bool(true)}, "UnsupportedOperationException"},
		{"description 8193 characters", kms.CreateKeyInput{Description: aws.String(strings.Repeat("d", 8193))}, "ValidationException"},
		{"tag key with aws: prefix", kms.CreateKeyInput{Tags: tag("aws:owner", "x")}, "TagException"},
		{"51 tags", kms.CreateKeyInput{Tags: sdkTags(51)}, "LimitExceededException"},
		{"tag key 129 characters", kms.CreateKeyInput{Tags: tag(strings.Repeat("k", 129), "x")}, "ValidationException"},
		{"empty tag key", kms.CreateKeyInput{Tags: tag("", "x")}, "ValidationException"},
		{"tag value 257 characters", kms.CreateKeyInput{Tags: tag("k", strings.Repeat("v", 257))}, "ValidationException"},
		{"policy that is not JSON", kms.CreateKeyInput{Policy: aws.String(`{"Version": "2012-10-17", "Statement": [`)}, "MalformedPolicyDocumentException"},
		{"policy over 32 KB", kms.CreateKeyInput{Policy: aws.String(`{"Sid":"` + strings.Repeat("x", 32768) + `"}`)}, "LimitExceededException"},
		{"CustomKeyStoreId", kms.CreateKeyInput{CustomKeyStoreId: aws.String("cks-1234567890abcdef0")}, "CustomKeyStoreNotFoundException"},
	}
	for _, c := range cases {
		_, err := env.KMS.CreateKey(t.Context(), &c.in, sdkNoRetry)
		sdkWantErr(t, c.name, err, c.want)
	}
	if ids := sdkAllKeyIDs(t, env.KMS); len(ids) != 0 {
		t.Errorf("refused CreateKey calls left %d keys behind", len(ids))
	}
}

// TestSDKDescribeKeyIdentifierForms describes one key by all four forms.
func TestSDKDescribeKeyIdentifierForms(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	m := sdkCreateKey(t, env.KMS, nil)
	other := sdkCreateKey(t, env.KMS, nil) // so that "the only key" is not the answer
	sdkCreateAlias(t, env.KMS, "alias/describe-me", *m.KeyId)
	sdkCreateAlias(t, env.KMS, "alias/the-other", *other.KeyId)
	for _, id := range []string{*m.KeyId, *m.Arn, "alias/describe-me", sdkAliasARN("us-east-1", "alias/describe-me")} {
		d := sdkDescribe(t, env.KMS, id)
		if aws.ToString(d.KeyId) != *m.KeyId || aws.ToString(d.Arn) != *m.Arn {
			t.Errorf("DescribeKey %s = %s, want %s", id, aws.ToString(d.KeyId), *m.KeyId)
		}
	}
}

// TestSDKDescribeKeyErrors checks DescribeKey's answers for identifiers
// that name no key.
func TestSDKDescribeKeyErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	m := sdkCreateKey(t, env.KMS, nil)
	cases := []struct {
		name, id, want string
	}{
		{"unknown key id", "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "NotFoundException"},
		{"unknown key ARN", sdkKeyARN("us-east-1", "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"), "NotFoundException"},
		{"not a key id", "not-a-key", "NotFoundException"},
		{"ARN without a resource", "arn:aws:kms:us-east-1:111122223333:key", "InvalidArnException"},
		{"ARN with too few fields", "arn:aws:kms:us-east-1", "InvalidArnException"},
		{"ARN of another service", "arn:aws:s3:us-east-1:111122223333:key/" + *m.KeyId, "InvalidArnException"},
		{"missing alias", "alias/missing", "NotFoundException"},
		{"missing alias ARN", sdkAliasARN("us-east-1", "alias/missing"), "NotFoundException"},
		{"empty", "", "ValidationException"},
		{"2049 characters", "alias/" + strings.Repeat("a", 2043), "ValidationException"},
	}
	for _, c := range cases {
		_, err := env.KMS.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(c.id)})
		sdkWantErr(t, c.name, err, c.want)
	}

	// The SDK maps the exception to its modelled type.
	_, err := env.KMS.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String("alias/missing")})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) == "" {
		t.Errorf("DescribeKey alias/missing: %T %v, want *types.NotFoundException with a message", err, err)
	}
}

// TestSDKListKeysPagination pages through 7 keys 3 at a time, by hand and
// with the SDK's paginator.
func TestSDKListKeysPagination(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	want := map[string]string{} // id → ARN
	for range 7 {
		m := sdkCreateKey(t, env.KMS, nil)
		want[*m.KeyId] = *m.Arn
	}
	seen := map[string]int{}
	var marker *string
	var sizes []int
	for page := 1; ; page++ {
		out, err := env.KMS.ListKeys(t.Context(), &kms.ListKeysInput{Limit: aws.Int32(3), Marker: marker})
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		sizes = append(sizes, len(out.Keys))
		for _, k := range out.Keys {
			seen[aws.ToString(k.KeyId)]++
			if arn, ok := want[aws.ToString(k.KeyId)]; !ok || aws.ToString(k.KeyArn) != arn {
				t.Errorf("page %d: entry %s %s is not a created key", page, aws.ToString(k.KeyId), aws.ToString(k.KeyArn))
			}
		}
		if page < 3 {
			if !out.Truncated || out.NextMarker == nil || *out.NextMarker == "" {
				t.Fatalf("page %d: Truncated %v NextMarker %v, want true and a marker", page, out.Truncated, out.NextMarker)
			}
			marker = out.NextMarker
			continue
		}
		if out.Truncated || out.NextMarker != nil {
			t.Errorf("last page: Truncated %v NextMarker %v, want false and none", out.Truncated, aws.ToString(out.NextMarker))
		}
		break
	}
	if !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Errorf("page sizes %v, want [3 3 1]", sizes)
	}
	sdkCheckOnce(t, "ListKeys", seen, want)

	// A limit equal to the number of keys: one page, not truncated.
	out, err := env.KMS.ListKeys(t.Context(), &kms.ListKeysInput{Limit: aws.Int32(7)})
	if err != nil || len(out.Keys) != 7 || out.Truncated || out.NextMarker != nil {
		t.Errorf("ListKeys Limit 7: %d keys, Truncated %v, NextMarker %v, err %v", len(out.Keys), out.Truncated, out.NextMarker, err)
	}
	// No limit: the default page holds them all.
	out, err = env.KMS.ListKeys(t.Context(), &kms.ListKeysInput{})
	if err != nil || len(out.Keys) != 7 || out.Truncated {
		t.Errorf("ListKeys without Limit: %d keys, Truncated %v, err %v", len(out.Keys), out.Truncated, err)
	}

	// The SDK's paginator.
	seen = map[string]int{}
	pages := 0
	p := kms.NewListKeysPaginator(env.KMS, &kms.ListKeysInput{Limit: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, k := range page.Keys {
			seen[aws.ToString(k.KeyId)]++
		}
		if pages > 10 {
			t.Fatal("the paginator does not stop")
		}
	}
	if pages != 4 {
		t.Errorf("paginator with Limit 2 over 7 keys: %d pages, want 4", pages)
	}
	sdkCheckOnce(t, "paginator", seen, want)

	for _, c := range []struct {
		name string
		in   kms.ListKeysInput
		want string
	}{
		{"Limit 0", kms.ListKeysInput{Limit: aws.Int32(0)}, "ValidationException"},
		{"Limit 1001", kms.ListKeysInput{Limit: aws.Int32(1001)}, "ValidationException"},
		{"Limit -1", kms.ListKeysInput{Limit: aws.Int32(-1)}, "ValidationException"},
		{"garbage marker", kms.ListKeysInput{Marker: aws.String("not a marker")}, "InvalidMarkerException"},
		{"base64 marker of garbage", kms.ListKeysInput{Marker: aws.String("aGVsbG8gd29ybGQ")}, "InvalidMarkerException"},
	} {
		_, err := env.KMS.ListKeys(t.Context(), &c.in)
		sdkWantErr(t, c.name, err, c.want)
	}
	if _, err := env.KMS.ListKeys(t.Context(), &kms.ListKeysInput{Limit: aws.Int32(1000)}); err != nil {
		t.Errorf("ListKeys Limit 1000: %v", err)
	}
}

// TestSDKListKeysSkipsDeletedKeys pages over keys some of which are past
// their deletion date but not yet erased by the sweeper (it runs once a
// minute by default): they are not listed and paging stays exact.
func TestSDKListKeysSkipsDeletedKeys(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	want := map[string]string{}
	for i := range 9 {
		m := sdkCreateKey(t, env.KMS, nil)
		if i%3 == 1 {
			if _, err := env.KMS.ScheduleKeyDeletion(t.Context(), &kms.ScheduleKeyDeletionInput{KeyId: m.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want[*m.KeyId] = *m.Arn
	}
	env.Clock.Advance(8 * 24 * time.Hour)
	seen := map[string]int{}
	var marker *string
	for page := 1; ; page++ {
		out, err := env.KMS.ListKeys(t.Context(), &kms.ListKeysInput{Limit: aws.Int32(2), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Keys) == 0 || len(out.Keys) > 2 {
			t.Errorf("page %d has %d keys", page, len(out.Keys))
		}
		for _, k := range out.Keys {
			seen[aws.ToString(k.KeyId)]++
		}
		if !out.Truncated {
			if out.NextMarker != nil {
				t.Errorf("last page has NextMarker %s", *out.NextMarker)
			}
			if page != 3 {
				t.Errorf("%d pages for 6 keys at 2 a page, want 3", page)
			}
			break
		}
		if page > 6 {
			t.Fatal("paging does not end")
		}
		marker = out.NextMarker
	}
	sdkCheckOnce(t, "ListKeys with deleted keys", seen, want)
}

// TestSDKEnableDisableKey checks both transitions, their idempotence and
// the Enabled field.
func TestSDKEnableDisableKey(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	m := sdkCreateKey(t, env.KMS, nil)
	other := sdkCreateKey(t, env.KMS, nil)
	state := func(want types.KeyState) {
		t.Helper()
		d := sdkDescribe(t, env.KMS, *m.KeyId)
		if d.KeyState != want || d.Enabled != (want == types.KeyStateEnabled) {
			t.Errorf("KeyState %s Enabled %v, want %s", d.KeyState, d.Enabled, want)
		}
	}
	for i, id := range []string{*m.KeyId, *m.Arn} { // twice each: idempotent
		if _, err := env.KMS.DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: aws.String(id)}); err != nil {
			t.Fatalf("DisableKey %d: %v", i, err)
		}
		state(types.KeyStateDisabled)
	}
	if d := sdkDescribe(t, env.KMS, *other.KeyId); d.KeyState != types.KeyStateEnabled {
		t.Errorf("disabling one key changed another: %s", d.KeyState)
	}
	for i, id := range []string{*m.Arn, *m.KeyId} {
		if _, err := env.KMS.EnableKey(t.Context(), &kms.EnableKeyInput{KeyId: aws.String(id)}); err != nil {
			t.Fatalf("EnableKey %d: %v", i, err)
		}
		state(types.KeyStateEnabled)
	}
	unknown := "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	_, err := env.KMS.EnableKey(t.Context(), &kms.EnableKeyInput{KeyId: aws.String(unknown)})
	sdkWantErr(t, "EnableKey unknown key", err, "NotFoundException")
	_, err = env.KMS.DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: aws.String(unknown)})
	sdkWantErr(t, "DisableKey unknown key", err, "NotFoundException")
	_, err = env.KMS.DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: aws.String("")})
	sdkWantErr(t, "DisableKey empty KeyId", err, "ValidationException")
	_, err = env.KMS.DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: aws.String("arn:aws:kms:us-east-1:111122223333:key")})
	sdkWantErr(t, "DisableKey malformed ARN", err, "InvalidArnException")
}

// TestSDKUpdateKeyDescription sets, clears and over-fills a description.
func TestSDKUpdateKeyDescription(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Description: aws.String("old")})
	for _, c := range []struct{ id, desc string }{{*m.KeyId, "new"}, {*m.Arn, "newer"}, {*m.KeyId, ""}} {
		if _, err := env.KMS.UpdateKeyDescription(t.Context(), &kms.UpdateKeyDescriptionInput{KeyId: aws.String(c.id), Description: aws.String(c.desc)}); err != nil {
			t.Fatalf("UpdateKeyDescription %q: %v", c.desc, err)
		}
		if d := sdkDescribe(t, env.KMS, *m.KeyId); d.Description == nil || *d.Description != c.desc {
			t.Errorf("Description %v, want %q", d.Description, c.desc)
		}
	}
	_, err := env.KMS.UpdateKeyDescription(t.Context(), &kms.UpdateKeyDescriptionInput{KeyId: m.KeyId, Description: aws.String(strings.Repeat("x", 8193))})
	sdkWantErr(t, "description 8193 characters", err, "ValidationException")
	if d := sdkDescribe(t, env.KMS, *m.KeyId); aws.ToString(d.Description) != "" {
		t.Errorf("refused update changed the description to %q", aws.ToString(d.Description))
	}
	_, err = env.KMS.UpdateKeyDescription(t.Context(), &kms.UpdateKeyDescriptionInput{KeyId: aws.String("0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"), Description: aws.String("x")})
	sdkWantErr(t, "unknown key", err, "NotFoundException")
}

// TestSDKManagementOpsRefuseAliases: management operations take a key id
// or key ARN only; an alias name or alias ARN is NotFoundException and
// changes nothing.
func TestSDKManagementOpsRefuseAliases(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Description: aws.String("unchanged"),
		Tags: []types.Tag{{TagKey: aws.String("keep"), TagValue: aws.String("me")}}})
	other := sdkCreateKey(t, env.KMS, nil)
	sdkCreateAlias(t, env.KMS, "alias/mgmt", *m.KeyId)
	sdkCreateAlias(t, env.KMS, "alias/other", *other.KeyId)
	ctx := t.Context()
	for _, alias := range []string{"alias/mgmt", sdkAliasARN("us-east-1", "alias/mgmt")} {
		a := aws.String(alias)
		ops := []struct {
			name string
			call func() error
		}{
			{"DisableKey", func() error { _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: a}); return err }},
			{"EnableKey", func() error { _, err := env.KMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: a}); return err }},
			{"UpdateKeyDescription", func() error {
				_, err := env.KMS.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: a, Description: aws.String("changed")})
				return err
			}},
			{"TagResource", func() error {
				_, err := env.KMS.TagResource(ctx, &kms.TagResourceInput{KeyId: a, Tags: []types.Tag{{TagKey: aws.String("new"), TagValue: aws.String("x")}}})
				return err
			}},
			{"UntagResource", func() error {
				_, err := env.KMS.UntagResource(ctx, &kms.UntagResourceInput{KeyId: a, TagKeys: []string{"keep"}})
				return err
			}},
			{"ListResourceTags", func() error {
				_, err := env.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: a})
				return err
			}},
			{"ScheduleKeyDeletion", func() error {
				_, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: a})
				return err
			}},
			{"CancelKeyDeletion", func() error {
				_, err := env.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: a})
				return err
			}},
			{"CreateAlias target", func() error {
				_, err := env.KMS.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/via-alias"), TargetKeyId: a})
				return err
			}},
			{"UpdateAlias target", func() error {
				_, err := env.KMS.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/other"), TargetKeyId: a})
				return err
			}},
			{"ListAliases KeyId", func() error { _, err := env.KMS.ListAliases(ctx, &kms.ListAliasesInput{KeyId: a}); return err }},
		}
		for _, op := range ops {
			sdkWantErr(t, op.name+" "+alias, op.call(), "NotFoundException")
		}
	}
	d := sdkDescribe(t, env.KMS, *m.KeyId)
	if d.KeyState != types.KeyStateEnabled || aws.ToString(d.Description) != "unchanged" {
		t.Errorf("refused calls changed the key: %s %q", d.KeyState, aws.ToString(d.Description))
	}
	tags, err := env.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: m.KeyId})
	if err != nil || !sdkSameTags(tags.Tags, []types.Tag{{TagKey: aws.String("keep"), TagValue: aws.String("me")}}) {
		t.Errorf("refused calls changed the tags: %v %v", tags, err)
	}
	if got := sdkAliasTargets(t, env.KMS, nil); len(got) != 2 || got["alias/other"] != *other.KeyId || got["alias/mgmt"] != *m.KeyId {
		t.Errorf("refused calls changed the aliases: %v", got)
	}
}

// TestSDKRegionScoping: keys and aliases belong to one Region and one
// account; ARNs carry the Region of the request.
func TestSDKRegionScoping(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	west := env.Client(t, "us-west-2", servertest.AccessKeyID, env.Secret)
	ctx := t.Context()
	east := sdkCreateKey(t, env.KMS, nil)
	sdkCreateAlias(t, env.KMS, "alias/regional", *east.KeyId)
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: east.KeyId, Plaintext: []byte("east")})
	if err != nil {
		t.Fatal(err)
	}

	for _, id := range []string{*east.KeyId, *east.Arn, "alias/regional", sdkAliasARN("us-east-1", "alias/regional"), sdkAliasARN("us-west-2", "alias/regional")} {
		_, err := west.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		sdkWantErr(t, "us-west-2 DescribeKey "+id, err, "NotFoundException")
		_, err = west.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")})
		sdkWantErr(t, "us-west-2 Encrypt "+id, err, "NotFoundException")
	}
	_, err = west.DisableKey(ctx, &kms.DisableKeyInput{KeyId: east.KeyId})
	sdkWantErr(t, "us-west-2 DisableKey", err, "NotFoundException")
	if ids := sdkAllKeyIDs(t, west); len(ids) != 0 {
		t.Errorf("ListKeys in us-west-2 shows %v", ids)
	}
	if al := sdkAliasTargets(t, west, nil); len(al) != 0 {
		t.Errorf("ListAliases in us-west-2 shows %v", al)
	}
	_, err = west.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob})
	sdkWantErr(t, "us-west-2 Decrypt of a us-east-1 ciphertext", err, "InvalidCiphertextException")

	// The same key id in another account, and the key's ARN with the
	// other Region, name nothing.
	for _, id := range []string{
		"arn:aws:kms:us-east-1:444455556666:key/" + *east.KeyId,
		sdkKeyARN("us-west-2", *east.KeyId),
	} {
		_, err := env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		sdkWantErr(t, "us-east-1 DescribeKey "+id, err, "NotFoundException")
	}

	// A key made in us-west-2 has a us-west-2 ARN and is invisible in
	// us-east-1; the alias name is free there.
	w := sdkCreateKey(t, west, nil)
	if aws.ToString(w.Arn) != sdkKeyARN("us-west-2", aws.ToString(w.KeyId)) {
		t.Errorf("us-west-2 key ARN %s", aws.ToString(w.Arn))
	}
	sdkCreateAlias(t, west, "alias/regional", *w.KeyId)
	if d := sdkDescribe(t, west, "alias/regional"); aws.ToString(d.KeyId) != *w.KeyId {
		t.Errorf("alias/regional in us-west-2 → %s, want %s", aws.ToString(d.KeyId), *w.KeyId)
	}
	if d := sdkDescribe(t, env.KMS, "alias/regional"); aws.ToString(d.KeyId) != *east.KeyId {
		t.Errorf("alias/regional in us-east-1 → %s, want %s", aws.ToString(d.KeyId), *east.KeyId)
	}
	if ids := sdkAllKeyIDs(t, env.KMS); len(ids) != 1 || !ids[*east.KeyId] {
		t.Errorf("ListKeys in us-east-1: %v, want only %s", ids, *east.KeyId)
	}
	wa, err := west.ListAliases(ctx, &kms.ListAliasesInput{})
	if err != nil || len(wa.Aliases) != 1 || aws.ToString(wa.Aliases[0].AliasArn) != sdkAliasARN("us-west-2", "alias/regional") {
		t.Errorf("ListAliases in us-west-2: %+v %v", wa, err)
	}
	enc, err := west.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/regional"), Plaintext: []byte("west")})
	if err != nil || aws.ToString(enc.KeyId) != aws.ToString(w.Arn) {
		t.Errorf("Encrypt in us-west-2: %v %v", enc, err)
	}
}

// sdkTags returns n distinct tags.
func sdkTags(n int) []types.Tag {
	tags := make([]types.Tag, n)
	for i := range tags {
		tags[i] = types.Tag{TagKey: aws.String(fmt.Sprintf("key-%02d", i)), TagValue: aws.String(fmt.Sprint("value-", i))}
	}
	return tags
}

func sdkTagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.TagKey)] = aws.ToString(t.TagValue)
	}
	return m
}

// sdkSameTags compares two tag lists as sets (and checks for duplicates).
func sdkSameTags(got, want []types.Tag) bool {
	g, w := sdkTagMap(got), sdkTagMap(want)
	if len(g) != len(got) || len(g) != len(w) {
		return false
	}
	for k, v := range w {
		if gv, ok := g[k]; !ok || gv != v {
			return false
		}
	}
	return true
}

// sdkCheckOnce checks that every wanted id was seen exactly once and
// nothing else was seen.
func sdkCheckOnce[V any](t *testing.T, what string, seen map[string]int, want map[string]V) {
	t.Helper()
	for id, n := range seen {
		if _, ok := want[id]; !ok {
			t.Errorf("%s: unexpected %s", what, id)
		} else if n != 1 {
			t.Errorf("%s: %s seen %d times", what, id, n)
		}
	}
	for id := range want {
		if seen[id] == 0 {
			t.Errorf("%s: %s missing", what, id)
		}
	}
}

// TestSDKARNPartition: an ARN names a resource in one partition. This
// server's partition is "aws"; a key or alias ARN of another partition
// (aws-cn, aws-us-gov) with the same Region, account and id names another
// resource, which does not exist here. kagi ignores the partition today,
// so DescribeKey answers for the "aws" key and DisableKey disables it.
func TestSDKARNPartition(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	m := sdkCreateKey(t, env.KMS, nil)
	sdkCreateAlias(t, env.KMS, "alias/partition", *m.KeyId)
	keyCN := "arn:aws-cn:kms:us-east-1:" + servertest.AccountID + ":key/" + *m.KeyId
	aliasGov := "arn:aws-us-gov:kms:us-east-1:" + servertest.AccountID + ":alias/partition"
	notFound := func(what string, err error) {
		t.Helper()
		if code := sdkErrCode(err); code != "NotFoundException" && code != "InvalidArnException" {
			t.Errorf("%s: %v, want NotFoundException (or InvalidArnException)", what, err)
		}
	}
	for _, id := range []string{keyCN, aliasGov} {
		_, err := env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		notFound("DescribeKey "+id, err)
		_, err = env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")})
		notFound("Encrypt "+id, err)
	}
	_, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keyCN)})
	notFound("DisableKey "+keyCN, err)
	_, err = env.KMS.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: aws.String(keyCN), Description: aws.String("changed")})
	notFound("UpdateKeyDescription "+keyCN, err)
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStateEnabled || aws.ToString(d.Description) != "" {
		t.Errorf("calls naming an aws-cn ARN changed the aws key: %s %q", d.KeyState, aws.ToString(d.Description))
	}
}
