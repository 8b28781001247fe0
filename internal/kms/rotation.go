package kms

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/storage"
)

// Rotation. Only AWS managed keys rotate automatically in kagi so far: every
// 365 days the sweeper gives them a new material version, which new
// ciphertexts use; the old versions stay for Decrypt. EnableKeyRotation,
// DisableKeyRotation and RotateKeyOnDemand answer
// UnsupportedOperationException for customer managed keys (after the
// authorization, so an AWS managed key gets AWS's AccessDeniedException
// from its policy).

// GetKeyRotationStatusInput is the GetKeyRotationStatus request.
type GetKeyRotationStatusInput struct {
	KeyId string `json:"KeyId"`
}

// GetKeyRotationStatusOutput is the GetKeyRotationStatus response.
type GetKeyRotationStatusOutput struct {
	KeyId                string     `json:"KeyId"`
	KeyRotationEnabled   bool       `json:"KeyRotationEnabled"`
	RotationPeriodInDays *int       `json:"RotationPeriodInDays,omitempty"`
	NextRotationDate     *Timestamp `json:"NextRotationDate,omitempty"`
}

// ListKeyRotationsInput is the ListKeyRotations request.
type ListKeyRotationsInput struct {
	ListInput
	KeyId              string `json:"KeyId"`
	IncludeKeyMaterial string `json:"IncludeKeyMaterial"`
}

// RotationsListEntry is one material version in ListKeyRotations.
type RotationsListEntry struct {
	KeyId            string     `json:"KeyId"`
	KeyMaterialId    string     `json:"KeyMaterialId,omitempty"`
	KeyMaterialState string     `json:"KeyMaterialState,omitempty"`
	RotationDate     *Timestamp `json:"RotationDate,omitempty"`
	RotationType     string     `json:"RotationType,omitempty"`
}

// ListKeyRotationsOutput is the ListKeyRotations response.
type ListKeyRotationsOutput struct {
	Rotations  []RotationsListEntry `json:"Rotations"`
	NextMarker string               `json:"NextMarker,omitempty"`
	Truncated  bool                 `json:"Truncated"`
}

// EnableKeyRotationInput is the EnableKeyRotation request.
type EnableKeyRotationInput struct {
	KeyId                string `json:"KeyId"`
	RotationPeriodInDays *int   `json:"RotationPeriodInDays"`
}

// RotateKeyOnDemandOutput is the RotateKeyOnDemand response.
type RotateKeyOnDemandOutput struct {
	KeyId string `json:"KeyId"`
}

var includeKeyMaterials = []string{"ALL_KEY_MATERIAL", "ROTATIONS_ONLY"}

// GetKeyRotationStatus reports whether a key rotates automatically: an AWS
// managed key every 365 days; customer managed keys do not (yet).
func (s *Service) GetKeyRotationStatus(ctx context.Context, c *Caller, in *GetKeyRotationStatusInput) (*GetKeyRotationStatusOutput, error) {
	if err := validateKeyID(in.KeyId); err != nil {
		return nil, err
	}
	var out *GetKeyRotationStatusOutput
	err := s.view(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, in.KeyId, keyOnly, can("kms:GetKeyRotationStatus"))
		if err != nil {
			return err
		}
		out = &GetKeyRotationStatusOutput{KeyId: k.ARN}
		if k.RotationDays > 0 && k.State != statePendingDeletion {
			days := k.RotationDays
			out.KeyRotationEnabled = true
			out.RotationPeriodInDays = &days
			if k.NextRotation != nil {
				out.NextRotationDate = ts(*k.NextRotation)
			}
		}
		return nil
	})
	return out, err
}

// ListKeyRotations lists a symmetric key's rotations (ROTATIONS_ONLY) or
// all its material versions (ALL_KEY_MATERIAL), oldest first.
func (s *Service) ListKeyRotations(ctx context.Context, c *Caller, in *ListKeyRotationsInput) (*ListKeyRotationsOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	v.enum("includeKeyMaterial", in.IncludeKeyMaterial, includeKeyMaterials)
	if err := v.err(); err != nil {
		return nil, err
	}
	limit, after, err := pageArgs(&in.ListInput, 1000, 100)
	if err != nil {
		return nil, err
	}
	start := 0
	if after != "" {
		n, err := strconv.Atoi(after)
		if err != nil || n < 0 {
			return nil, awserr.New(awserr.InvalidMarker, "Invalid marker %s", *in.Marker)
		}
		start = n + 1
	}
	out := &ListKeyRotationsOutput{Rotations: []RotationsListEntry{}}
	err = s.view(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, in.KeyId, keyOnly, can("kms:ListKeyRotations"))
		if err != nil {
			return err
		}
		if k.KeySpec != crypto.SpecSymmetric {
			return awserr.New(awserr.UnsupportedOperation, "%s key material cannot be rotated: ListKeyRotations supports symmetric encryption KMS keys only.", k.ARN)
		}
		first := 1
		if in.IncludeKeyMaterial == "ALL_KEY_MATERIAL" {
			first = 0
		}
		for i := max(first, start); i < len(k.Materials); i++ {
			if len(out.Rotations) == limit {
				out.Truncated = true
				out.NextMarker = encodeMarker(strconv.Itoa(i - 1))
				break
			}
			m := &k.Materials[i]
			e := RotationsListEntry{KeyId: k.KeyID, KeyMaterialId: m.ID, KeyMaterialState: "NON_CURRENT"}
			if i == k.Current {
				e.KeyMaterialState = "CURRENT"
			}
			if i > 0 {
				e.RotationDate = ts(m.Created)
				e.RotationType = m.Rotation
			}
			out.Rotations = append(out.Rotations, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EnableKeyRotation is not supported yet for customer managed keys; an AWS
// managed key's policy refuses it.
func (s *Service) EnableKeyRotation(ctx context.Context, c *Caller, in *EnableKeyRotationInput) (*Empty, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	v.intRange("rotationPeriodInDays", in.RotationPeriodInDays, 90, 2560)
	if err := v.err(); err != nil {
		return nil, err
	}
	return nil, s.rotationUnsupported(ctx, c, in.KeyId, "kms:EnableKeyRotation")
}

// DisableKeyRotation: see EnableKeyRotation.
func (s *Service) DisableKeyRotation(ctx context.Context, c *Caller, in *KeyIDInput) (*Empty, error) {
	if err := validateKeyID(in.KeyId); err != nil {
		return nil, err
	}
	return nil, s.rotationUnsupported(ctx, c, in.KeyId, "kms:DisableKeyRotation")
}

// RotateKeyOnDemand: see EnableKeyRotation.
func (s *Service) RotateKeyOnDemand(ctx context.Context, c *Caller, in *KeyIDInput) (*RotateKeyOnDemandOutput, error) {
	if err := validateKeyID(in.KeyId); err != nil {
		return nil, err
	}
	return nil, s.rotationUnsupported(ctx, c, in.KeyId, "kms:RotateKeyOnDemand")
}

func (s *Service) rotationUnsupported(ctx context.Context, c *Caller, keyID, action string) error {
	return s.view(ctx, func(tx storage.Tx) error {
		if _, err := s.loadKey(tx, c, keyID, keyOnly, can(action)); err != nil {
			return err
		}
		return awserr.New(awserr.UnsupportedOperation, "kagi does not support %s for customer managed keys yet.", strings.TrimPrefix(action, "kms:"))
	})
}

// SweepRotations rotates every key whose automatic rotation is due: a new
// material version becomes current, and the next rotation is a period
// later. It returns how many keys it rotated.
func (s *Service) SweepRotations(ctx context.Context) (int, error) {
	now := s.clock.Now()
	rotated := 0
	for {
		var due [][]byte
		err := s.store.View(ctx, func(tx storage.Tx) error {
			kvs, _, err := tx.List([]byte(rotationPrefix), nil, 100)
			for _, kv := range kvs {
				if indexTime(kv.Key, rotationPrefix).After(now) {
					break
				}
				due = append(due, kv.Key)
			}
			return err
		})
		if err != nil || len(due) == 0 {
			return rotated, err
		}
		for _, ik := range due {
			if err := s.update(ctx, func(tx storage.Tx) error { return s.rotate(ctx, tx, ik, now) }); err != nil {
				return rotated, err
			}
			rotated++
		}
	}
}

// rotate rotates the key of a due rotation index entry, inside tx.
func (s *Service) rotate(ctx context.Context, tx storage.Tx, indexKey []byte, now time.Time) error {
	if err := tx.Delete(indexKey); err != nil {
		return err
	}
	parts := strings.Split(strings.TrimPrefix(string(indexKey), rotationPrefix), "/")
	if len(parts) != 4 {
		return errors.New("corrupt rotation index key " + string(indexKey))
	}
	acct, region, id := parts[1], parts[2], parts[3]
	var k keyRecord
	if err := getJSON(tx, keyKey(acct, region, id), &k); errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if k.RotationDays <= 0 || k.NextRotation == nil || !k.NextRotation.Equal(indexTime(indexKey, rotationPrefix)) {
		return nil // rescheduled: another entry covers it
	}
	if k.State == stateEnabled {
		m, err := s.newMaterial(ctx, &k)
		if err != nil {
			return err
		}
		m.Rotation = "AUTOMATIC"
		k.Materials = append(k.Materials, m)
		k.Current = len(k.Materials) - 1
	}
	next := k.NextRotation.AddDate(0, 0, k.RotationDays)
	if !next.After(now) {
		next = now.AddDate(0, 0, k.RotationDays) // the server was down for a period
	}
	next = next.UTC()
	k.NextRotation = &next
	if err := putJSON(tx, keyKey(acct, region, id), &k); err != nil {
		return err
	}
	return tx.Put(rotationKey(next, acct, region, id), nil)
}
