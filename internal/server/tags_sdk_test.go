package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server/servertest"
)

func sdkTag(k, v string) types.Tag { return types.Tag{TagKey: aws.String(k), TagValue: aws.String(v)} }

// sdkListTags returns all of a key's tags, through the paginator-less
// loop (ListResourceTags has no paginator in the SDK).
func sdkListTags(t *testing.T, c *kms.Client, keyID string) []types.Tag {
	t.Helper()
	var all []types.Tag
	var marker *string
	for range 100 {
		out, err := c.ListResourceTags(t.Context(), &kms.ListResourceTagsInput{KeyId: aws.String(keyID), Marker: marker})
		if err != nil {
			t.Fatalf("ListResourceTags %s: %v", keyID, err)
		}
		all = append(all, out.Tags...)
		if !out.Truncated {
			return all
		}
		marker = out.NextMarker
	}
	t.Fatal("ListResourceTags does not stop")
	return nil
}

// TestSDKTagLifecycle adds, overwrites and removes tags.
func TestSDKTagLifecycle(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	other := sdkCreateKey(t, env.KMS, nil)
	id := *k.KeyId

	if tags := sdkListTags(t, env.KMS, id); len(tags) != 0 {
		t.Errorf("new key has tags %v", sdkTagMap(tags))
	}
	if _, err := env.KMS.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{sdkTag("a", "1"), sdkTag("b", "2")}}); err != nil {
		t.Fatal(err)
	}
	want := []types.Tag{sdkTag("a", "1"), sdkTag("b", "2")}
	if got := sdkListTags(t, env.KMS, id); !sdkSameTags(got, want) {
		t.Errorf("tags %v, want %v", sdkTagMap(got), sdkTagMap(want))
	}
	// By ARN: overwrite b, add an empty value and a key differing in case.
	if _, err := env.KMS.TagResource(ctx, &kms.TagResourceInput{KeyId: k.Arn, Tags: []types.Tag{sdkTag("b", "3"), sdkTag("c", ""), sdkTag("A", "upper")}}); err != nil {
		t.Fatal(err)
	}
	want = []types.Tag{sdkTag("a", "1"), sdkTag("b", "3"), sdkTag("c", ""), sdkTag("A", "upper")}
	if got := sdkListTags(t, env.KMS, *k.Arn); !sdkSameTags(got, want) {
		t.Errorf("tags %v, want %v", sdkTagMap(got), sdkTagMap(want))
	}
	// Unknown keys are ignored; keys are case-sensitive.
	if _, err := env.KMS.UntagResource(ctx, &kms.UntagResourceInput{KeyId: k.KeyId, TagKeys: []string{"a", "nope", "B"}}); err != nil {
		t.Fatal(err)
	}
	want = []types.Tag{sdkTag("b", "3"), sdkTag("c", ""), sdkTag("A", "upper")}
	if got := sdkListTags(t, env.KMS, id); !sdkSameTags(got, want) {
		t.Errorf("tags after UntagResource %v, want %v", sdkTagMap(got), sdkTagMap(want))
	}
	if _, err := env.KMS.UntagResource(ctx, &kms.UntagResourceInput{KeyId: k.Arn, TagKeys: []string{"b", "c", "A"}}); err != nil {
		t.Fatal(err)
	}
	if got := sdkListTags(t, env.KMS, id); len(got) != 0 {
		t.Errorf("tags after removing all %v", sdkTagMap(got))
	}
	if got := sdkListTags(t, env.KMS, *other.KeyId); len(got) != 0 {
		t.Errorf("another key got tags %v", sdkTagMap(got))
	}

	// Errors, none of which changes the tags.
	if _, err := env.KMS.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{sdkTag("keep", "1")}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		id   string
		tags []types.Tag
		want string
	}{
		{"aws: prefix", id, []types.Tag{sdkTag("new", "x"), sdkTag("aws:reserved", "x")}, "TagException"},
		{"key 129 characters", id, []types.Tag{sdkTag(strings.Repeat("k", 129), "x")}, "ValidationException"},
		{"empty key", id, []types.Tag{sdkTag("", "x")}, "ValidationException"},
		{"value 257 characters", id, []types.Tag{sdkTag("new", strings.Repeat("v", 257))}, "ValidationException"},
		{"51 tags in one call", id, sdkTags(51), "LimitExceededException"},
		{"unknown key", "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", []types.Tag{sdkTag("x", "y")}, "NotFoundException"},
		{"empty KeyId", "", []types.Tag{sdkTag("x", "y")}, "ValidationException"},
	} {
		_, err := env.KMS.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String(c.id), Tags: c.tags}, sdkNoRetry)
		sdkWantErr(t, "TagResource "+c.name, err, c.want)
	}
	_, err := env.KMS.UntagResource(ctx, &kms.UntagResourceInput{KeyId: aws.String("0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"), TagKeys: []string{"keep"}})
	sdkWantErr(t, "UntagResource unknown key", err, "NotFoundException")
	_, err = env.KMS.UntagResource(ctx, &kms.UntagResourceInput{KeyId: k.KeyId, TagKeys: []string{strings.Repeat("k", 129)}})
	sdkWantErr(t, "UntagResource key 129 characters", err, "ValidationException")
	_, err = env.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String("0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")})
	sdkWantErr(t, "ListResourceTags unknown key", err, "NotFoundException")
	if got := sdkListTags(t, env.KMS, id); !sdkSameTags(got, []types.Tag{sdkTag("keep", "1")}) {
		t.Errorf("refused calls changed the tags to %v", sdkTagMap(got))
	}
}

// TestSDKTagQuota: at most 50 tags on a key, counting the ones it has.
func TestSDKTagQuota(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Tags: sdkTags(30)})
	more := make([]types.Tag, 20)
	for i := range more {
		more[i] = sdkTag(fmt.Sprintf("more-%02d", i), "v")
	}
	if _, err := env.KMS.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: more}); err != nil {
		t.Fatalf("tagging up to 50: %v", err)
	}
	_, err := env.KMS.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{sdkTag("one-too-many", "v")}}, sdkNoRetry)
	sdkWantErr(t, "51st tag", err, "LimitExceededException")
	// Overwriting an existing key at the limit is fine.
	if _, err := env.KMS.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{sdkTag("more-00", "changed")}}); err != nil {
		t.Errorf("overwriting at the limit: %v", err)
	}
	got := sdkTagMap(sdkListTags(t, env.KMS, *k.KeyId))
	if len(got) != 50 || got["more-00"] != "changed" {
		t.Errorf("%d tags, more-00=%q; want 50 and changed", len(got), got["more-00"])
	}
	if _, ok := got["one-too-many"]; ok {
		t.Error("the refused tag was added")
	}
}

// TestSDKListResourceTagsPagination pages through 7 tags 3 at a time.
func TestSDKListResourceTagsPagination(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	tags := sdkTags(7)
	k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Tags: tags})
	want := sdkTagMap(tags)
	seen := map[string]int{}
	var marker *string
	var sizes []int
	for page := 1; ; page++ {
		out, err := env.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId, Limit: aws.Int32(3), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(out.Tags))
		for _, tg := range out.Tags {
			seen[aws.ToString(tg.TagKey)]++
			if want[aws.ToString(tg.TagKey)] != aws.ToString(tg.TagValue) {
				t.Errorf("tag %s=%s, want %s", aws.ToString(tg.TagKey), aws.ToString(tg.TagValue), want[aws.ToString(tg.TagKey)])
			}
		}
		if page < 3 {
			if !out.Truncated || out.NextMarker == nil {
				t.Fatalf("page %d: Truncated %v NextMarker %v", page, out.Truncated, out.NextMarker)
			}
			marker = out.NextMarker
			continue
		}
		if out.Truncated || out.NextMarker != nil {
			t.Errorf("last page: Truncated %v NextMarker %v", out.Truncated, aws.ToString(out.NextMarker))
		}
		break
	}
	if fmt.Sprint(sizes) != "[3 3 1]" {
		t.Errorf("page sizes %v, want [3 3 1]", sizes)
	}
	sdkCheckOnce(t, "ListResourceTags", seen, want)

	out, err := env.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId, Limit: aws.Int32(7)})
	if err != nil || len(out.Tags) != 7 || out.Truncated || out.NextMarker != nil {
		t.Errorf("Limit 7: %d tags, Truncated %v, NextMarker %v, %v", len(out.Tags), out.Truncated, out.NextMarker, err)
	}
	for _, c := range []struct {
		name string
		in   kms.ListResourceTagsInput
		want string
	}{
		{"Limit 0", kms.ListResourceTagsInput{KeyId: k.KeyId, Limit: aws.Int32(0)}, "ValidationException"},
		{"Limit 51", kms.ListResourceTagsInput{KeyId: k.KeyId, Limit: aws.Int32(51)}, "ValidationException"},
		{"bad marker", kms.ListResourceTagsInput{KeyId: k.KeyId, Marker: aws.String("nope")}, "InvalidMarkerException"},
	} {
		_, err := env.KMS.ListResourceTags(ctx, &c.in)
		sdkWantErr(t, c.name, err, c.want)
	}
}

// TestSDKConcurrentUpdates: concurrent writers neither lose updates nor
// create an alias twice.
func TestSDKConcurrentUpdates(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	// Concurrent calls make the SDK's transport dial connections that it
	// may never send a request on. http.Server.Shutdown waits 5 s before
	// it treats such a connection as idle, so close them before the
	// server's own cleanup (cleanups run last-in, first-out).
	t.Cleanup(func() {
		if hc, ok := env.KMS.Options().HTTPClient.(interface{ CloseIdleConnections() }); ok {
			hc.CloseIdleConnections()
		}
	})
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	const n = 16
	var wg sync.WaitGroup
	tagErrs := make([]error, n)
	aliasErrs := make([]error, n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, tagErrs[i] = env.KMS.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{sdkTag(fmt.Sprintf("writer-%02d", i), "v")}})
		}()
		go func() {
			defer wg.Done()
			_, aliasErrs[i] = env.KMS.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/race"), TargetKeyId: k.KeyId})
		}()
	}
	wg.Wait()
	for i, err := range tagErrs {
		if err != nil {
			t.Errorf("TagResource %d: %v", i, err)
		}
	}
	if got := sdkListTags(t, env.KMS, *k.KeyId); len(got) != n {
		t.Errorf("%d tags after %d concurrent TagResource calls", len(got), n)
	}
	ok := 0
	for _, err := range aliasErrs {
		switch code := sdkErrCode(err); code {
		case "":
			ok++
		case "AlreadyExistsException":
		default:
			t.Errorf("concurrent CreateAlias: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent CreateAlias calls for one name succeeded, want 1", ok, n)
	}
}
