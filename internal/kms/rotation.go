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

// Rotation. A symmetric encryption key gets a new material version on
// each rotation; new ciphertexts use it, and every older version stays for
// Decrypt. AWS managed keys rotate every 365 days; customer managed keys
// with AWS_KMS origin rotate every RotationPeriodInDays (90-2560) once
// EnableKeyRotation is called. The schedule is the record's NextRotation
// and an index entry rot/<nanos>/<account>/<region>/<id>, always written in
// the same transaction; the sweeper rotates a due key and moves both on in
// one transaction, so a rotation happens exactly once, across restarts.
// RotateKeyOnDemand rotates at once (at most maxOnDemandRotations times
// per key) without moving the schedule; for imported material (Origin
// EXTERNAL) it makes current the material imported with ImportType
// NEW_KEY_MATERIAL (imports.go).

// maxOnDemandRotations is AWS's per-key limit of on-demand rotations (not
// adjustable).
const maxOnDemandRotations = 25

// defaultRotationDays is the rotation period when EnableKeyRotation names
// none.
const defaultRotationDays = 365

// onDemandConflictWindow: RotateKeyOnDemand is refused when an automatic
// rotation is due this soon.
const onDemandConflictWindow = 20 * time.Minute

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
	KeyId                  string     `json:"KeyId"`
	KeyMaterialId          string     `json:"KeyMaterialId,omitempty"`
	KeyMaterialDescription string     `json:"KeyMaterialDescription,omitempty"`
	ImportState            string     `json:"ImportState,omitempty"`
	KeyMaterialState       string     `json:"KeyMaterialState,omitempty"`
	ExpirationModel        string     `json:"ExpirationModel,omitempty"`
	ValidTo                *Timestamp `json:"ValidTo,omitempty"`
	RotationDate           *Timestamp `json:"RotationDate,omitempty"`
	RotationType           string     `json:"RotationType,omitempty"`
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

// GetKeyRotationStatus reports whether a key rotates automatically, how
// often and when next. A key pending deletion reports false (its schedule
// comes back when the deletion is cancelled). kagi's on-demand rotations
// finish within the request, so OnDemandRotationStartDate is never shown.
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
// all its material versions (ALL_KEY_MATERIAL: also the first material
// and imported material pending rotation), oldest first.
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
		all := in.IncludeKeyMaterial == "ALL_KEY_MATERIAL"
		for i := start; i < len(k.Materials); i++ {
			m := &k.Materials[i]
			if !all && (m.Rotation == "" || m.Pending) {
				continue
			}
			if len(out.Rotations) == limit {
				out.Truncated = true
				out.NextMarker = encodeMarker(strconv.Itoa(i - 1))
				break
			}
			out.Rotations = append(out.Rotations, rotationsEntry(k, i))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// rotationsEntry is the ListKeyRotations entry of k.Materials[i].
func rotationsEntry(k *keyRecord, i int) RotationsListEntry {
	m := &k.Materials[i]
	e := RotationsListEntry{KeyId: k.KeyID, KeyMaterialId: m.ID, KeyMaterialState: "NON_CURRENT"}
	switch {
	case m.Pending:
		e.KeyMaterialState = "PENDING_ROTATION"
	case i == k.Current:
		e.KeyMaterialState = "CURRENT"
	}
	if m.Rotation != "" && !m.Pending {
		when := m.Rotated
		if when.IsZero() {
			when = m.Created
		}
		e.RotationDate = ts(when)
		e.RotationType = m.Rotation
	}
	if k.Origin == originExternal {
		e.ImportState = "IMPORTED"
		if m.Sealed == nil {
			e.ImportState = "PENDING_IMPORT"
		}
		e.KeyMaterialDescription = m.Description
		e.ExpirationModel = m.ExpirationModel
		if m.ValidTo != nil && m.Sealed != nil {
			e.ValidTo = ts(*m.ValidTo)
		}
	}
	return e
}

// checkRotatable refuses the rotation operations for keys that cannot
// rotate (UnsupportedOperationException) and, with automatic true, keys
// that cannot rotate automatically (imported material); then the key
// states that refuse them.
func checkRotatable(k *keyRecord, automatic bool) error {
	if k.KeySpec != crypto.SpecSymmetric {
		return awserr.New(awserr.UnsupportedOperation, "%s key spec is %s: only symmetric encryption KMS keys support key rotation.", k.ARN, k.KeySpec)
	}
	if automatic && k.Origin != "AWS_KMS" {
		return errOrigin(k)
	}
	return usable(k)
}

// EnableKeyRotation turns on automatic rotation of a symmetric encryption
// key with AWS_KMS origin, every RotationPeriodInDays (default 365); the
// first rotation is a period from now. Called again with another period,
// it keeps the date of the last rotation (or of enabling) and counts the
// new period from it; a date that has passed is due at once.
func (s *Service) EnableKeyRotation(ctx context.Context, c *Caller, in *EnableKeyRotationInput) (*Empty, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	v.intRange("rotationPeriodInDays", in.RotationPeriodInDays, 90, 2560)
	if err := v.err(); err != nil {
		return nil, err
	}
	days := defaultRotationDays
	a := can("kms:EnableKeyRotation")
	if in.RotationPeriodInDays != nil {
		days = *in.RotationPeriodInDays
		a.extra = map[string][]string{"kms:rotationperiodindays": {strconv.Itoa(days)}}
	}
	_, err := s.modifyKey(ctx, c, in.KeyId, a, func(tx storage.Tx, k *keyRecord) error {
		if err := checkRotatable(k, true); err != nil {
			return err
		}
		now := s.clock.Now().UTC()
		next := now.AddDate(0, 0, days)
		if k.RotationDays > 0 && k.NextRotation != nil {
			if k.RotationDays == days {
				return nil
			}
			next = k.NextRotation.AddDate(0, 0, days-k.RotationDays)
			if next.Before(now) {
				next = now
			}
		}
		return s.schedule(tx, k, days, &next)
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// DisableKeyRotation turns off automatic rotation; the key keeps every
// material version it has.
func (s *Service) DisableKeyRotation(ctx context.Context, c *Caller, in *KeyIDInput) (*Empty, error) {
	if err := validateKeyID(in.KeyId); err != nil {
		return nil, err
	}
	_, err := s.modifyKey(ctx, c, in.KeyId, can("kms:DisableKeyRotation"), func(tx storage.Tx, k *keyRecord) error {
		if err := checkRotatable(k, true); err != nil {
			return err
		}
		return s.schedule(tx, k, 0, nil)
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// schedule sets a key's automatic rotation (days 0: none) and its index
// entry, in tx; the caller stores the record.
func (s *Service) schedule(tx storage.Tx, k *keyRecord, days int, next *time.Time) error {
	if k.NextRotation != nil {
		if err := tx.Delete(rotationKey(*k.NextRotation, k.Account, k.Region, k.KeyID)); err != nil {
			return err
		}
	}
	k.RotationDays, k.NextRotation = days, nil
	if days == 0 || next == nil {
		return nil
	}
	n := next.UTC()
	k.NextRotation = &n
	return tx.Put(rotationKey(n, k.Account, k.Region, k.KeyID), nil)
}

// RotateKeyOnDemand rotates a symmetric encryption key now: a new material
// version (for imported material, the one imported with ImportType
// NEW_KEY_MATERIAL) becomes current. The automatic schedule stays.
func (s *Service) RotateKeyOnDemand(ctx context.Context, c *Caller, in *KeyIDInput) (*RotateKeyOnDemandOutput, error) {
	if err := validateKeyID(in.KeyId); err != nil {
		return nil, err
	}
	var out *RotateKeyOnDemandOutput
	_, err := s.modifyKey(ctx, c, in.KeyId, can("kms:RotateKeyOnDemand"), func(tx storage.Tx, k *keyRecord) error {
		if err := checkRotatable(k, false); err != nil {
			return err
		}
		now := s.clock.Now().UTC()
		if k.RotationDays > 0 && k.NextRotation != nil && k.NextRotation.Sub(now) < onDemandConflictWindow {
			return awserr.New(awserr.ConflictException, "The request was rejected because an automatic rotation of this key is currently in progress or scheduled to begin within the next 20 minutes.")
		}
		n := 0
		for _, m := range k.Materials {
			if m.Rotation == "ON_DEMAND" {
				n++
			}
		}
		if n >= maxOnDemandRotations {
			return awserr.New(awserr.LimitExceeded, "%s has reached the limit of %d on-demand rotations.", k.ARN, maxOnDemandRotations)
		}
		if k.Origin == originExternal {
			i := pendingMaterial(k)
			if i < 0 || k.Materials[i].Sealed == nil {
				return awserr.New(awserr.Validation, "%s has no key material in the PENDING_ROTATION state: import new key material with ImportType NEW_KEY_MATERIAL before rotating the key on demand.", k.ARN)
			}
			m := &k.Materials[i]
			m.Pending = false
			m.Rotation = "ON_DEMAND"
			m.Rotated = now
			k.Current = i
		} else {
			m, err := s.newMaterial(ctx, k)
			if err != nil {
				return err
			}
			m.Rotation = "ON_DEMAND"
			m.Rotated = now
			k.Materials = append(k.Materials, m)
			k.Current = len(k.Materials) - 1
		}
		out = &RotateKeyOnDemandOutput{KeyId: k.ARN}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// resumeRotation puts back the index entry of a key's automatic rotation
// when the key is enabled again at now (the sweeper drops the entry of a
// key that was not enabled when its rotation fell due). An overdue
// rotation is due now, at the next sweep, and the period counts from it,
// as AWS does; a rotation not yet due keeps its date (its entry is still
// there and is written again, which changes nothing).
func resumeRotation(tx storage.Tx, k *keyRecord, now time.Time) error {
	if k.RotationDays <= 0 || k.NextRotation == nil {
		return nil
	}
	if k.NextRotation.Before(now) {
		n := now.UTC()
		k.NextRotation = &n
	}
	return tx.Put(rotationKey(*k.NextRotation, k.Account, k.Region, k.KeyID), nil)
}

// pendingMaterial is the index of k's material pending rotation, or -1.
func pendingMaterial(k *keyRecord) int {
	for i := range k.Materials {
		if k.Materials[i].Pending {
			return i
		}
	}
	return -1
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
			done := false
			err := s.update(ctx, func(tx storage.Tx) error {
				var err error
				done, err = s.rotate(ctx, tx, ik, now)
				return err
			})
			if err != nil {
				return rotated, err
			}
			if done {
				rotated++
			}
		}
	}
}

// rotate rotates the key of a due rotation index entry, inside tx, and
// reports whether it did.
func (s *Service) rotate(ctx context.Context, tx storage.Tx, indexKey []byte, now time.Time) (bool, error) {
	if err := tx.Delete(indexKey); err != nil {
		return false, err
	}
	parts := strings.Split(strings.TrimPrefix(string(indexKey), rotationPrefix), "/")
	if len(parts) != 4 {
		return false, errors.New("corrupt rotation index key " + string(indexKey))
	}
	acct, region, id := parts[1], parts[2], parts[3]
	var k keyRecord
	if err := getJSON(tx, keyKey(acct, region, id), &k); errors.Is(err, storage.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if k.RotationDays <= 0 || k.NextRotation == nil || !k.NextRotation.Equal(indexTime(indexKey, rotationPrefix)) {
		return false, nil // rescheduled: another entry covers it
	}
	if k.State != stateEnabled {
		// AWS does not rotate a disabled key (nor one pending deletion):
		// the rotation stays due, and EnableKey brings its index entry
		// back (resumeRotation), so the key rotates as soon as it is
		// enabled again.
		return false, nil
	}
	m, err := s.newMaterial(ctx, &k)
	if err != nil {
		return false, err
	}
	m.Rotation = "AUTOMATIC"
	m.Rotated = now.UTC()
	k.Materials = append(k.Materials, m)
	k.Current = len(k.Materials) - 1
	next := k.NextRotation.AddDate(0, 0, k.RotationDays)
	if !next.After(now) {
		next = now.AddDate(0, 0, k.RotationDays) // the server was down for a period
	}
	next = next.UTC()
	k.NextRotation = &next
	if err := putJSON(tx, keyKey(acct, region, id), &k); err != nil {
		return false, err
	}
	return true, tx.Put(rotationKey(next, acct, region, id), nil)
}
