package server_test

import (
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

// TestSDKAliasLifecycle creates, lists, moves and deletes aliases.
func TestSDKAliasLifecycle(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k1 := sdkCreateKey(t, env.KMS, nil)
	k2 := sdkCreateKey(t, env.KMS, nil)
	before := time.Now()
	sdkCreateAlias(t, env.KMS, "alias/one", *k1.KeyId)
	sdkCreateAlias(t, env.KMS, "alias/two", *k1.Arn)
	sdkCreateAlias(t, env.KMS, "alias/three", *k2.KeyId)
	sdkCreateAlias(t, env.KMS, "alias/with/slashes:colons_under-dash", *k2.KeyId)
	after := time.Now()

	list, err := env.KMS.ListAliases(ctx, &kms.ListAliasesInput{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"alias/one": *k1.KeyId, "alias/two": *k1.KeyId, "alias/three": *k2.KeyId, "alias/with/slashes:colons_under-dash": *k2.KeyId}
	if len(list.Aliases) != len(want) || list.Truncated || list.NextMarker != nil {
		t.Errorf("ListAliases: %d aliases, Truncated %v, NextMarker %v", len(list.Aliases), list.Truncated, list.NextMarker)
	}
	created := map[string]time.Time{}
	for _, a := range list.Aliases {
		name := aws.ToString(a.AliasName)
		if target, ok := want[name]; !ok || aws.ToString(a.TargetKeyId) != target {
			t.Errorf("alias %s → %s, want → %s", name, aws.ToString(a.TargetKeyId), want[name])
		}
		if aws.ToString(a.AliasArn) != sdkAliasARN("us-east-1", name) {
			t.Errorf("alias %s: AliasArn %s", name, aws.ToString(a.AliasArn))
		}
		if a.CreationDate == nil || a.CreationDate.Before(before.Add(-2*time.Second)) || a.CreationDate.After(after.Add(2*time.Second)) {
			t.Errorf("alias %s: CreationDate %v, want between %v and %v", name, a.CreationDate, before, after)
		} else {
			created[name] = *a.CreationDate
		}
		if a.LastUpdatedDate == nil || a.CreationDate == nil || !sdkNear(a.LastUpdatedDate, *a.CreationDate, time.Second) {
			t.Errorf("alias %s: LastUpdatedDate %v of a new alias, want its CreationDate %v", name, a.LastUpdatedDate, a.CreationDate)
		}
	}

	byKey := func(id string, want ...string) {
		t.Helper()
		got := sdkAliasTargets(t, env.KMS, aws.String(id))
		names := make([]string, 0, len(got))
		for n := range got {
			names = append(names, n)
		}
		slices.Sort(names)
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("ListAliases KeyId %s: %v, want %v", id, names, want)
		}
	}
	byKey(*k1.KeyId, "alias/one", "alias/two")
	byKey(*k1.Arn, "alias/one", "alias/two")
	byKey(*k2.KeyId, "alias/three", "alias/with/slashes:colons_under-dash")

	// Move alias/one to k2 an hour later.
	env.Clock.Advance(time.Hour)
	if _, err := env.KMS.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/one"), TargetKeyId: k2.Arn}); err != nil {
		t.Fatal(err)
	}
	byKey(*k1.KeyId, "alias/two")
	byKey(*k2.KeyId, "alias/one", "alias/three", "alias/with/slashes:colons_under-dash")
	list, err = env.KMS.ListAliases(ctx, &kms.ListAliasesInput{KeyId: k2.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list.Aliases {
		if aws.ToString(a.AliasName) != "alias/one" {
			continue
		}
		c := created["alias/one"]
		if a.CreationDate == nil || !a.CreationDate.Equal(c) {
			t.Errorf("UpdateAlias changed CreationDate from %v to %v", c, a.CreationDate)
		}
		if !sdkNear(a.LastUpdatedDate, c.Add(time.Hour), 5*time.Second) {
			t.Errorf("LastUpdatedDate %v after UpdateAlias, want about %v", a.LastUpdatedDate, c.Add(time.Hour))
		}
		if aws.ToString(a.TargetKeyId) != *k2.KeyId {
			t.Errorf("TargetKeyId %s", aws.ToString(a.TargetKeyId))
		}
	}
	if d := sdkDescribe(t, env.KMS, "alias/one"); aws.ToString(d.KeyId) != *k2.KeyId {
		t.Errorf("alias/one describes %s after UpdateAlias, want %s", aws.ToString(d.KeyId), *k2.KeyId)
	}
	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/one"), Plaintext: []byte("x")})
	if err != nil || aws.ToString(enc.KeyId) != *k2.Arn {
		t.Errorf("Encrypt alias/one after UpdateAlias: %v %v", enc, err)
	}
	// UpdateAlias to the key it already names is allowed.
	if _, err := env.KMS.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/one"), TargetKeyId: k2.KeyId}); err != nil {
		t.Errorf("UpdateAlias to the same key: %v", err)
	}

	for _, c := range []struct {
		name          string
		alias, target string
		want          string
	}{
		{"missing alias", "alias/missing", *k1.KeyId, "NotFoundException"},
		{"unknown target", "alias/one", "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "NotFoundException"},
		{"target in another Region", "alias/one", sdkKeyARN("eu-west-1", *k1.KeyId), "NotFoundException"},
		{"empty target", "alias/one", "", "ValidationException"},
	} {
		_, err := env.KMS.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(c.alias), TargetKeyId: aws.String(c.target)})
		sdkWantErr(t, "UpdateAlias "+c.name, err, c.want)
	}
	if d := sdkDescribe(t, env.KMS, "alias/one"); aws.ToString(d.KeyId) != *k2.KeyId {
		t.Errorf("refused UpdateAlias calls moved alias/one to %s", aws.ToString(d.KeyId))
	}

	// DeleteAlias.
	if _, err := env.KMS.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/two")}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/two")})
	sdkWantErr(t, "DescribeKey of a deleted alias", err, "NotFoundException")
	_, err = env.KMS.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/two")})
	sdkWantErr(t, "DeleteAlias again", err, "NotFoundException")
	byKey(*k1.KeyId)
	if d := sdkDescribe(t, env.KMS, *k1.KeyId); d.KeyState != types.KeyStateEnabled {
		t.Errorf("DeleteAlias changed its key: %s", d.KeyState)
	}
	// The name can be used again.
	sdkCreateAlias(t, env.KMS, "alias/two", *k2.KeyId)
	_, err = env.KMS.ListAliases(ctx, &kms.ListAliasesInput{KeyId: aws.String("0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")})
	sdkWantErr(t, "ListAliases KeyId of an unknown key", err, "NotFoundException")
}

// TestSDKCreateAliasErrors checks CreateAlias's refusals.
func TestSDKCreateAliasErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	k2 := sdkCreateKey(t, env.KMS, nil)
	pending := sdkCreateKey(t, env.KMS, nil)
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: pending.KeyId}); err != nil {
		t.Fatal(err)
	}
	sdkCreateAlias(t, env.KMS, "alias/taken", *k.KeyId)
	for _, c := range []struct {
		name, alias, target, want string
	}{
		{"no alias/ prefix", "mykey", *k.KeyId, "InvalidAliasNameException"},
		{"other prefix", "aliases/mykey", *k.KeyId, "InvalidAliasNameException"},
		{"alias/aws/ prefix", "alias/aws/x", *k.KeyId, "InvalidAliasNameException"},
		{"space", "alias/bad name", *k.KeyId, "ValidationException"},
		{"non-ASCII", "alias/schlüssel", *k.KeyId, "ValidationException"},
		{"dot", "alias/a.b", *k.KeyId, "ValidationException"},
		{"257 characters", "alias/" + strings.Repeat("a", 251), *k.KeyId, "ValidationException"},
		{"empty name", "", *k.KeyId, "ValidationException"},
		{"duplicate", "alias/taken", *k.KeyId, "AlreadyExistsException"},
		{"duplicate for another key", "alias/taken", *k2.KeyId, "AlreadyExistsException"},
		{"unknown target", "alias/new", "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "NotFoundException"},
		{"target is an alias", "alias/new", "alias/taken", "NotFoundException"},
		{"target in another Region", "alias/new", sdkKeyARN("eu-west-1", *k.KeyId), "NotFoundException"},
		{"target pending deletion", "alias/new", *pending.KeyId, "KMSInvalidStateException"},
		{"empty target", "alias/new", "", "ValidationException"},
	} {
		_, err := env.KMS.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(c.alias), TargetKeyId: aws.String(c.target)})
		sdkWantErr(t, c.name, err, c.want)
	}
	if got := sdkAliasTargets(t, env.KMS, nil); len(got) != 1 || got["alias/taken"] != *k.KeyId {
		t.Errorf("refused CreateAlias calls changed the aliases: %v", got)
	}
	// 256 characters is the maximum.
	sdkCreateAlias(t, env.KMS, "alias/"+strings.Repeat("a", 250), *k.KeyId)
}

// TestSDKListAliasesPagination pages through 5 aliases 2 at a time, over
// the account and over one key.
func TestSDKListAliasesPagination(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	other := sdkCreateKey(t, env.KMS, nil)
	want := map[string]bool{}
	for i := range 5 {
		name := fmt.Sprintf("alias/page-%d", i)
		sdkCreateAlias(t, env.KMS, name, *k.KeyId)
		want[name] = true
	}
	sdkCreateAlias(t, env.KMS, "alias/zz-other", *other.KeyId) // listed last, but not for KeyId k
	for _, filter := range []*string{k.KeyId, nil} {
		wantHere := map[string]bool{}
		for n := range want {
			wantHere[n] = true
		}
		wantSizes := []int{2, 2, 1}
		if filter == nil {
			wantHere["alias/zz-other"] = true
			wantSizes = []int{2, 2, 2}
		}
		seen := map[string]int{}
		var sizes []int
		var marker *string
		for page := 1; ; page++ {
			out, err := env.KMS.ListAliases(ctx, &kms.ListAliasesInput{KeyId: filter, Limit: aws.Int32(2), Marker: marker})
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(out.Aliases))
			for _, a := range out.Aliases {
				seen[aws.ToString(a.AliasName)]++
			}
			if page < 3 {
				if !out.Truncated || out.NextMarker == nil {
					t.Fatalf("KeyId %v page %d: Truncated %v NextMarker %v", filter != nil, page, out.Truncated, out.NextMarker)
				}
				marker = out.NextMarker
				continue
			}
			if out.Truncated || out.NextMarker != nil {
				t.Errorf("KeyId %v last page: Truncated %v NextMarker %v", filter != nil, out.Truncated, aws.ToString(out.NextMarker))
			}
			break
		}
		if !slices.Equal(sizes, wantSizes) {
			t.Errorf("KeyId %v: page sizes %v, want %v", filter != nil, sizes, wantSizes)
		}
		sdkCheckOnce(t, fmt.Sprintf("ListAliases (KeyId %v)", filter != nil), seen, wantHere)
	}

	pages := 0
	seen := map[string]int{}
	p := kms.NewListAliasesPaginator(env.KMS, &kms.ListAliasesInput{KeyId: k.Arn, Limit: aws.Int32(2)})
	for p.HasMorePages() && pages < 10 {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range page.Aliases {
			seen[aws.ToString(a.AliasName)]++
		}
	}
	if pages != 3 {
		t.Errorf("paginator: %d pages, want 3", pages)
	}
	sdkCheckOnce(t, "ListAliases paginator", seen, want)

	for _, c := range []struct {
		name string
		in   kms.ListAliasesInput
		want string
	}{
		{"Limit 101", kms.ListAliasesInput{Limit: aws.Int32(101)}, "ValidationException"},
		{"Limit 0", kms.ListAliasesInput{Limit: aws.Int32(0)}, "ValidationException"},
		{"bad marker", kms.ListAliasesInput{Marker: aws.String("nope")}, "InvalidMarkerException"},
		{"empty KeyId", kms.ListAliasesInput{KeyId: aws.String("")}, "ValidationException"},
	} {
		_, err := env.KMS.ListAliases(ctx, &c.in)
		sdkWantErr(t, c.name, err, c.want)
	}
	if out, err := env.KMS.ListAliases(ctx, &kms.ListAliasesInput{Limit: aws.Int32(100)}); err != nil || len(out.Aliases) != 6 || out.Truncated {
		t.Errorf("ListAliases Limit 100: %v %v", out, err)
	}
}

// TestSDKAliasQuota: a key has at most 50 aliases.
func TestSDKAliasQuota(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	other := sdkCreateKey(t, env.KMS, nil)
	for i := range 50 {
		sdkCreateAlias(t, env.KMS, fmt.Sprintf("alias/q%02d", i), *k.KeyId)
	}
	_, err := env.KMS.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/q50"), TargetKeyId: k.KeyId}, sdkNoRetry)
	sdkWantErr(t, "51st alias", err, "LimitExceededException")
	sdkCreateAlias(t, env.KMS, "alias/elsewhere", *other.KeyId)
	_, err = env.KMS.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/elsewhere"), TargetKeyId: k.KeyId}, sdkNoRetry)
	sdkWantErr(t, "UpdateAlias onto a key with 50 aliases", err, "LimitExceededException")
	if got := sdkAliasTargets(t, env.KMS, k.KeyId); len(got) != 50 {
		t.Errorf("%d aliases on the key, want 50", len(got))
	}
	// Freeing one makes room again.
	if _, err := env.KMS.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/q00")}); err != nil {
		t.Fatal(err)
	}
	sdkCreateAlias(t, env.KMS, "alias/q50", *k.KeyId)
}

// TestSDKDeleteAliasErrors checks DeleteAlias's refusals.
func TestSDKDeleteAliasErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	for _, c := range []struct{ name, alias, want string }{
		{"missing", "alias/missing", "NotFoundException"},
		{"empty", "", "ValidationException"},
		{"bad characters", "alias/bad name", "ValidationException"},
	} {
		_, err := env.KMS.DeleteAlias(t.Context(), &kms.DeleteAliasInput{AliasName: aws.String(c.alias)})
		sdkWantErr(t, c.name, err, c.want)
	}
}
