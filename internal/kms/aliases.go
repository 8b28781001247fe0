package kms

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/storage"
)

// maxAliasesPerKey is AWS's default quota of aliases per KMS key.
const maxAliasesPerKey = 50

// aliasRecord is an alias as stored, under its account, Region and name.
type aliasRecord struct {
	TargetKeyID string    `json:"target"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// validateAliasName applies the model's constraints (ValidationException)
// and then KMS's own rules (InvalidAliasNameException).
func validateAliasName(v *validator, name string) {
	if !v.required("aliasName", name) {
		return
	}
	v.length("aliasName", name, 1, arn.MaxAliasNameLen)
	if !arn.MatchesAliasPattern(name) {
		v.add("aliasName", quote(name), "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")
	}
}

func checkAliasName(name string) error {
	if !strings.HasPrefix(name, "alias/") || name == "alias/" {
		return awserr.New(awserr.InvalidAliasName, "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")
	}
	if strings.HasPrefix(name, "alias/aws/") {
		return awserr.New(awserr.InvalidAliasName, "Alias names beginning with alias/aws/ are reserved for AWS managed keys.")
	}
	return nil
}

// CreateAlias creates an alias for a customer managed key.
func (s *Service) CreateAlias(ctx context.Context, c *Caller, in *AliasInput) (*Empty, error) {
	var v validator
	validateAliasName(&v, in.AliasName)
	v.keyID("targetKeyId", in.TargetKeyId)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	// AWS asks kms:CreateAlias twice: of the alias (identity policies)
	// and of the key (its key policy).
	if err := s.authorizeAccount(c, can("kms:CreateAlias"), arn.Alias(c.Partition, c.Region, c.AccountID, in.AliasName)); err != nil {
		return nil, err
	}
	err := s.update(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, in.TargetKeyId, keyOnly, can("kms:CreateAlias"))
		if err != nil {
			return err
		}
		if err := s.ownKey(c, k); err != nil {
			return err
		}
		if err := notPendingDeletion(k); err != nil {
			return err
		}
		ak := aliasKey(c.AccountID, c.Region, in.AliasName)
		if _, err := tx.Get(ak); err == nil {
			return awserr.New(awserr.AlreadyExists, "An alias with the name %s already exists", arn.Alias(c.Partition, c.Region, c.AccountID, in.AliasName))
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := s.checkAliasQuota(tx, k); err != nil {
			return err
		}
		now := s.clock.Now().UTC()
		if err := putJSON(tx, ak, aliasRecord{TargetKeyID: k.KeyID, Created: now, Updated: now}); err != nil {
			return err
		}
		return tx.Put(aliasIndexKey(c.AccountID, c.Region, k.KeyID, in.AliasName), nil)
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// ownKey refuses keys of other accounts: aliases belong to the caller's
// account and may point only at its own keys.
func (s *Service) ownKey(c *Caller, k *keyRecord) error {
	if k.Account != c.AccountID {
		return awserr.New(awserr.NotFound, "Key '%s' does not exist", k.ARN)
	}
	return nil
}

func (s *Service) checkAliasQuota(tx storage.Tx, k *keyRecord) error {
	kvs, _, err := tx.List(aliasIndexPrefix(k.Account, k.Region, k.KeyID), nil, maxAliasesPerKey)
	if err != nil {
		return err
	}
	if len(kvs) >= maxAliasesPerKey {
		return awserr.New(awserr.LimitExceeded, "Key %s already has %d aliases, the maximum.", k.ARN, maxAliasesPerKey)
	}
	return nil
}

// keyKind is the alias-compatibility class of a key: UpdateAlias may move
// an alias only between keys of the same kind and usage.
func keyKind(k *keyRecord) string {
	switch {
	case k.KeySpec == "SYMMETRIC_DEFAULT":
		return "symmetric"
	case strings.HasPrefix(k.KeySpec, "HMAC_"):
		return "hmac"
	}
	return "asymmetric"
}

// UpdateAlias points an existing alias at another key of the same type
// and usage.
func (s *Service) UpdateAlias(ctx context.Context, c *Caller, in *AliasInput) (*Empty, error) {
	var v validator
	validateAliasName(&v, in.AliasName)
	v.keyID("targetKeyId", in.TargetKeyId)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	// kms:UpdateAlias is asked of the alias (identity policies), of the
	// key it points at now and of the new target (their key policies).
	if err := s.authorizeAccount(c, can("kms:UpdateAlias"), arn.Alias(c.Partition, c.Region, c.AccountID, in.AliasName)); err != nil {
		return nil, err
	}
	err := s.update(ctx, func(tx storage.Tx) error {
		ak := aliasKey(c.AccountID, c.Region, in.AliasName)
		var a aliasRecord
		if err := getJSON(tx, ak, &a); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return awserr.New(awserr.NotFound, "Alias %s is not found.", arn.Alias(c.Partition, c.Region, c.AccountID, in.AliasName))
			}
			return err
		}
		if _, err := s.loadResolved(tx, c, resolvedID{c.AccountID, c.Region, a.TargetKeyID}, can("kms:UpdateAlias")); err != nil && !awserr.Is(err, awserr.NotFound) {
			return err
		}
		k, err := s.loadKey(tx, c, in.TargetKeyId, keyOnly, can("kms:UpdateAlias"))
		if err != nil {
			return err
		}
		if err := s.ownKey(c, k); err != nil {
			return err
		}
		if err := notPendingDeletion(k); err != nil {
			return err
		}
		if k.KeyID == a.TargetKeyID {
			a.Updated = s.clock.Now().UTC()
			return putJSON(tx, ak, a)
		}
		var old keyRecord
		switch err := getJSON(tx, keyKey(c.AccountID, c.Region, a.TargetKeyID), &old); {
		case err == nil:
			if keyKind(&old) != keyKind(k) || old.KeyUsage != k.KeyUsage {
				return awserr.New(awserr.Validation, "Alias %s cannot be changed from a %s %s key to a %s %s key: the new target must have the same key type and key usage.",
					in.AliasName, keyKind(&old), old.KeyUsage, keyKind(k), k.KeyUsage)
			}
		case !errors.Is(err, storage.ErrNotFound):
			return err
		}
		if err := s.checkAliasQuota(tx, k); err != nil {
			return err
		}
		if err := tx.Delete(aliasIndexKey(c.AccountID, c.Region, a.TargetKeyID, in.AliasName)); err != nil {
			return err
		}
		a.TargetKeyID = k.KeyID
		a.Updated = s.clock.Now().UTC()
		if err := putJSON(tx, ak, a); err != nil {
			return err
		}
		return tx.Put(aliasIndexKey(c.AccountID, c.Region, k.KeyID, in.AliasName), nil)
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// DeleteAlias deletes an alias; the key it points at is unchanged.
func (s *Service) DeleteAlias(ctx context.Context, c *Caller, in *DeleteAliasInput) (*Empty, error) {
	var v validator
	validateAliasName(&v, in.AliasName)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	// kms:DeleteAlias is asked of the alias (identity policies) and of its
	// key (key policy).
	if err := s.authorizeAccount(c, can("kms:DeleteAlias"), arn.Alias(c.Partition, c.Region, c.AccountID, in.AliasName)); err != nil {
		return nil, err
	}
	err := s.update(ctx, func(tx storage.Tx) error {
		ak := aliasKey(c.AccountID, c.Region, in.AliasName)
		var a aliasRecord
		if err := getJSON(tx, ak, &a); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return awserr.New(awserr.NotFound, "Alias %s is not found.", arn.Alias(c.Partition, c.Region, c.AccountID, in.AliasName))
			}
			return err
		}
		if _, err := s.loadResolved(tx, c, resolvedID{c.AccountID, c.Region, a.TargetKeyID}, can("kms:DeleteAlias")); err != nil && !awserr.Is(err, awserr.NotFound) {
			return err
		}
		if err := tx.Delete(ak); err != nil {
			return err
		}
		return tx.Delete(aliasIndexKey(c.AccountID, c.Region, a.TargetKeyID, in.AliasName))
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// ListAliases lists the aliases of the caller's account and Region, or of
// one key.
func (s *Service) ListAliases(ctx context.Context, c *Caller, in *ListAliasesInput) (*ListAliasesOutput, error) {
	var v validator
	if in.KeyId != nil {
		v.length("keyId", *in.KeyId, 1, 2048)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	limit, after, err := pageArgs(&in.ListInput, 100, 50)
	if err != nil {
		return nil, err
	}
	// ListAliases is governed by identity policies alone, with or without
	// KeyId.
	if err := s.authorizeAccount(c, can("kms:ListAliases"), "*"); err != nil {
		return nil, err
	}
	out := &ListAliasesOutput{Aliases: []AliasListEntry{}}
	err = s.view(ctx, func(tx storage.Tx) error {
		var names []string
		var more bool
		if in.KeyId != nil {
			k, err := s.loadKey(tx, c, *in.KeyId, keyOnly, nil)
			if err != nil {
				return err
			}
			if err := s.ownKey(c, k); err != nil {
				return err
			}
			prefix := aliasIndexPrefix(c.AccountID, c.Region, k.KeyID)
			kvs, m, err := tx.List(prefix, afterKey(prefix, after), limit)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				names = append(names, strings.TrimPrefix(string(kv.Key), string(prefix)))
			}
			more = m
		} else {
			prefix := aliasPrefix(c.AccountID, c.Region)
			kvs, m, err := tx.List(prefix, afterKey(prefix, after), limit)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				names = append(names, strings.TrimPrefix(string(kv.Key), string(prefix)))
			}
			more = m
		}
		for _, name := range names {
			var a aliasRecord
			if err := getJSON(tx, aliasKey(c.AccountID, c.Region, name), &a); err != nil {
				return err
			}
			out.Aliases = append(out.Aliases, AliasListEntry{
				AliasArn:        arn.Alias(c.Partition, c.Region, c.AccountID, name),
				AliasName:       name,
				CreationDate:    ts(a.Created),
				LastUpdatedDate: ts(a.Updated),
				TargetKeyId:     a.TargetKeyID,
			})
		}
		if more && len(names) > 0 {
			out.Truncated = true
			out.NextMarker = encodeMarker(names[len(names)-1])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func afterKey(prefix []byte, after string) []byte {
	if after == "" {
		return nil
	}
	return append(append([]byte{}, prefix...), after...)
}
