package kms

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/storage"
)

// maxTagsPerKey is AWS's quota of tags on one KMS key.
const maxTagsPerKey = 50

// validateTags checks a Tags member: keys 1–128 characters, values 0–256,
// no reserved "aws:" prefix, no key twice, at most 50.
func validateTags(tags []Tag) error {
	var v validator
	for i, t := range tags {
		if f := fmt.Sprintf("tags.%d.member.tagKey", i+1); t.keyNull {
			v.add(f, "null", "Member must not be null")
		} else {
			v.length(f, t.TagKey, 1, 128)
		}
		if f := fmt.Sprintf("tags.%d.member.tagValue", i+1); t.valueNull {
			v.add(f, "null", "Member must not be null")
		} else {
			v.length(f, t.TagValue, 0, 256)
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.TagKey), "aws:") {
			return awserr.New(awserr.TagException, "Tag keys beginning with 'aws:' are reserved: %s", t.TagKey)
		}
		if seen[t.TagKey] {
			return awserr.New(awserr.TagException, "Duplicate tag key %s", t.TagKey)
		}
		seen[t.TagKey] = true
	}
	if len(tags) > maxTagsPerKey {
		return awserr.New(awserr.LimitExceeded, "A key can have at most %d tags.", maxTagsPerKey)
	}
	return nil
}

// mergeTags returns have with add applied (same key: new value), sorted by
// key.
func mergeTags(have, add []Tag) []Tag {
	m := make(map[string]string, len(have)+len(add))
	for _, t := range have {
		m[t.TagKey] = t.TagValue
	}
	for _, t := range add {
		m[t.TagKey] = t.TagValue
	}
	return sortedTags(m)
}

func sortedTags(m map[string]string) []Tag {
	if len(m) == 0 {
		return nil
	}
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{TagKey: k, TagValue: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TagKey < out[j].TagKey })
	return out
}

// TagResource adds or overwrites tags on a key.
func (s *Service) TagResource(ctx context.Context, c *Caller, in *TagResourceInput) (*Empty, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	if in.Tags == nil {
		v.add("tags", "null", "Member must not be null")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	_, err := s.modifyKey(ctx, c, in.KeyId, &access{action: "kms:TagResource", extra: tagContext(in.Tags, nil)}, func(_ storage.Tx, k *keyRecord) error {
		if err := notPendingDeletion(k); err != nil {
			return err
		}
		merged := mergeTags(k.Tags, in.Tags)
		if len(merged) > maxTagsPerKey {
			return awserr.New(awserr.LimitExceeded, "A key can have at most %d tags.", maxTagsPerKey)
		}
		k.Tags = merged
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// UntagResource removes tags from a key; unknown tag keys are ignored.
func (s *Service) UntagResource(ctx context.Context, c *Caller, in *UntagResourceInput) (*Empty, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	if in.TagKeys == nil {
		v.add("tagKeys", "null", "Member must not be null")
	}
	for i, key := range in.TagKeys {
		v.length(fmt.Sprintf("tagKeys.%d.member", i+1), key, 1, 128)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	_, err := s.modifyKey(ctx, c, in.KeyId, &access{action: "kms:UntagResource", extra: tagContext(nil, in.TagKeys)}, func(_ storage.Tx, k *keyRecord) error {
		if err := notPendingDeletion(k); err != nil {
			return err
		}
		m := make(map[string]string, len(k.Tags))
		for _, t := range k.Tags {
			m[t.TagKey] = t.TagValue
		}
		for _, key := range in.TagKeys {
			delete(m, key)
		}
		k.Tags = sortedTags(m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// ListResourceTags lists a key's tags in key order, in every key state.
func (s *Service) ListResourceTags(ctx context.Context, c *Caller, in *ListResourceTagsInput) (*ListResourceTagsOutput, error) {
	if err := validateKeyID(in.KeyId); err != nil {
		return nil, err
	}
	limit, after, err := pageArgs(&in.ListInput, 50, 50)
	if err != nil {
		return nil, err
	}
	out := &ListResourceTagsOutput{Tags: []Tag{}}
	err = s.view(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, in.KeyId, keyOnly, can("kms:ListResourceTags"))
		if err != nil {
			return err
		}
		tags := k.Tags
		if after != "" {
			i := sort.Search(len(tags), func(i int) bool { return tags[i].TagKey > after })
			tags = tags[i:]
		}
		if len(tags) > limit {
			out.Tags = append(out.Tags, tags[:limit]...)
			out.Truncated = true
			out.NextMarker = encodeMarker(tags[limit-1].TagKey)
		} else {
			out.Tags = append(out.Tags, tags...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// tagContext returns the condition keys of a request that sets tags
// (aws:RequestTag/<key>, aws:TagKeys) or removes them (aws:TagKeys).
func tagContext(tags []Tag, keys []string) map[string][]string {
	if len(tags) == 0 && len(keys) == 0 {
		return nil
	}
	m := make(map[string][]string, len(tags)+1)
	for _, t := range tags {
		m["aws:requesttag/"+strings.ToLower(t.TagKey)] = []string{t.TagValue}
		keys = append(keys, t.TagKey)
	}
	m["aws:tagkeys"] = keys
	return m
}
