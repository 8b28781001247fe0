package kms

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/keystore"
	"github.com/kagikms/kagi/internal/storage"
)

// maxPolicyBytes is AWS's key policy size quota.
const maxPolicyBytes = 32768

// defaultKeyPolicy is the policy AWS attaches to a key created through the
// API without one, byte for byte as GetKeyPolicy returns it.
func defaultKeyPolicy(partition, account string) string {
	return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:` + partition + `:iam::` + account + `:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`
}

// CreateKey creates a KMS key.
func (s *Service) CreateKey(ctx context.Context, c *Caller, in *CreateKeyInput) (*CreateKeyOutput, error) {
	var v validator
	if in.Policy != nil {
		v.length("policy", *in.Policy, 1, 131072)
	}
	if in.Description != nil {
		v.length("description", *in.Description, 0, 8192)
	}
	v.enum("keyUsage", in.KeyUsage, keyUsages)
	v.enum("customerMasterKeySpec", in.CustomerMasterKeySpec, customerMasterKeySpecs)
	v.enum("keySpec", in.KeySpec, keySpecs)
	v.enum("origin", in.Origin, origins)
	if in.CustomKeyStoreId != nil {
		v.length("customKeyStoreId", *in.CustomKeyStoreId, 1, 64)
	}
	if in.XksKeyId != nil {
		v.length("xksKeyId", *in.XksKeyId, 1, 128)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.KeySpec != "" && in.CustomerMasterKeySpec != "" {
		return nil, awserr.New(awserr.Validation, "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.")
	}
	spec := in.KeySpec
	if spec == "" {
		spec = in.CustomerMasterKeySpec
	}
	if spec == "" {
		spec = "SYMMETRIC_DEFAULT"
	}
	usage := in.KeyUsage
	if usage == "" {
		if spec != "SYMMETRIC_DEFAULT" {
			return nil, awserr.New(awserr.Validation, "You must specify a KeyUsage value for an asymmetric or HMAC KMS key.")
		}
		usage = "ENCRYPT_DECRYPT"
	}
	if !contains(keyUsagesBySpec[spec], usage) {
		return nil, awserr.New(awserr.Validation, "KeyUsage %s is not compatible with KeySpec %s", usage, spec)
	}
	if spec == "SM2" {
		return nil, awserr.New(awserr.UnsupportedOperation, "KeySpec SM2 is only available in AWS China Regions.")
	}
	if err := checkFIPS(spec); err != nil {
		return nil, err
	}
	origin := in.Origin
	if origin == "" {
		origin = "AWS_KMS"
	}
	if in.CustomKeyStoreId != nil {
		return nil, awserr.New(awserr.CustomKeyStoreNotFound, "Custom key store %s does not exist.", *in.CustomKeyStoreId)
	}
	if in.XksKeyId != nil {
		return nil, awserr.New(awserr.Validation, "XksKeyId is valid only with Origin EXTERNAL_KEY_STORE and a CustomKeyStoreId.")
	}
	switch origin {
	case "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE":
		return nil, awserr.New(awserr.Validation, "Origin %s requires a CustomKeyStoreId.", origin)
	case originExternal:
		if !importable(spec) {
			return nil, awserr.New(awserr.UnsupportedOperation, "Importing key material into %s keys is not supported by this kagi version yet.", spec)
		}
	}
	if in.MultiRegion {
		return nil, awserr.New(awserr.UnsupportedOperation, "Multi-Region keys are not supported by this kagi version yet.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	extra := tagContext(in.Tags, nil)
	if extra == nil {
		extra = map[string][]string{}
	}
	extra["kms:keyspec"] = []string{spec}
	if cmk := customerMasterKeySpec(spec); cmk != "" {
		extra["kms:customermasterkeyspec"] = []string{cmk}
	}
	extra["kms:keyusage"] = []string{usage}
	extra["kms:customermasterkeyusage"] = []string{usage}
	extra["kms:keyorigin"] = []string{origin}
	extra["kms:multiregion"] = []string{boolString(in.MultiRegion)}
	extra["kms:bypasspolicylockoutsafetycheck"] = []string{boolString(in.BypassPolicyLockoutSafetyCheck)}
	if err := s.authorizeAccount(c, &access{action: "kms:CreateKey", extra: extra}, "*"); err != nil {
		return nil, err
	}
	id, err := s.newKeyID()
	if err != nil {
		return nil, awserr.Internal(err)
	}
	keyARN := arn.Key(c.Partition, c.Region, c.AccountID, id)
	policy := defaultKeyPolicy(c.Partition, c.AccountID)
	var policyIDs map[string]string
	if in.Policy != nil {
		policyIDs, err = s.checkKeyPolicy(ctx, c, *in.Policy, keyARN, c.AccountID, in.BypassPolicyLockoutSafetyCheck)
		if err != nil {
			return nil, err
		}
		policy = *in.Policy
	}
	now := s.clock.Now().UTC()
	k := &keyRecord{
		KeyID:     id,
		Account:   c.AccountID,
		Region:    c.Region,
		ARN:       keyARN,
		Created:   now,
		KeySpec:   spec,
		KeyUsage:  usage,
		Origin:    origin,
		State:     stateEnabled,
		Policy:    policy,
		PolicyIDs: policyIDs,
		Tags:      mergeTags(nil, in.Tags),
	}
	if in.Description != nil {
		k.Description = *in.Description
	}
	if origin == originExternal {
		// No material until ImportKeyMaterial (imports.go).
		k.State = statePendingImport
		k.Materials = []material{}
	} else {
		m, err := s.newMaterial(ctx, k)
		if err != nil {
			return nil, err
		}
		k.Materials = []material{m}
	}

	err = s.update(ctx, func(tx storage.Tx) error {
		n, err := getCount(tx, keyCountKey(c.AccountID, c.Region))
		if err != nil {
			return err
		}
		if n >= uint64(s.maxKeys) {
			return awserr.New(awserr.LimitExceeded, "You have reached the limit of %d customer managed keys in this account and Region.", s.maxKeys)
		}
		if err := putCount(tx, keyCountKey(c.AccountID, c.Region), n+1); err != nil {
			return err
		}
		return putJSON(tx, keyKey(k.Account, k.Region, k.KeyID), k)
	})
	if err != nil {
		return nil, err
	}
	c.noteKey(k.ARN)
	return &CreateKeyOutput{KeyMetadata: k.metadata()}, nil
}

// newMaterial creates a new version of key material in the key store: AES
// material for a symmetric key, a key pair for an asymmetric one, an HMAC
// key of the spec's length.
func (s *Service) newMaterial(ctx context.Context, k *keyRecord) (material, error) {
	var ref keystore.Ref
	ref.KeyARN = k.ARN
	if _, err := s.randRead(ref.MaterialID[:]); err != nil {
		return material{}, awserr.Internal(err)
	}
	var sealed []byte
	var err error
	switch {
	case k.KeySpec == crypto.SpecSymmetric:
		sealed, err = s.ks.NewSymmetric(ctx, ref)
	case isHMAC(k.KeySpec):
		sealed, err = s.ks.NewMACKey(ctx, ref, k.KeySpec)
	default:
		sealed, err = s.ks.NewKeyPair(ctx, ref, k.KeySpec)
	}
	if errors.Is(err, crypto.ErrUnsupported) {
		return material{}, awserr.New(awserr.UnsupportedOperation, "KeySpec %s is not supported by this kagi key store.", k.KeySpec)
	}
	if err != nil {
		return material{}, awserr.Internal(err)
	}
	return material{ID: hex.EncodeToString(ref.MaterialID[:]), Sealed: sealed, Created: s.clock.Now().UTC()}, nil
}

func getCount(tx storage.Tx, key []byte) (uint64, error) {
	b, err := tx.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, errors.New("corrupt counter " + string(key))
	}
	return binary.BigEndian.Uint64(b), nil
}

func putCount(tx storage.Tx, key []byte, n uint64) error {
	if n == 0 {
		return tx.Delete(key)
	}
	return tx.Put(key, binary.BigEndian.AppendUint64(nil, n))
}

// DescribeKey returns a key's metadata, in every key state.
func (s *Service) DescribeKey(ctx context.Context, c *Caller, in *DescribeKeyInput) (*DescribeKeyOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	v.grantTokens(in.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	var out *DescribeKeyOutput
	err := s.view(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, in.KeyId, keyOrAliasIDs, &access{action: "kms:DescribeKey", grantTokens: in.GrantTokens})
		if err != nil {
			return err
		}
		out = &DescribeKeyOutput{KeyMetadata: k.metadata()}
		return nil
	})
	return out, err
}

// ListKeys lists the keys of the caller's account and Region, in every state.
func (s *Service) ListKeys(ctx context.Context, c *Caller, in *ListKeysInput) (*ListKeysOutput, error) {
	limit, after, err := pageArgs(&in.ListInput, 1000, 100)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeAccount(c, can("kms:ListKeys"), "*"); err != nil {
		return nil, err
	}
	out := &ListKeysOutput{Keys: []KeyListEntry{}}
	err = s.view(ctx, func(tx storage.Tx) error {
		prefix := keyPrefix(c.AccountID, c.Region)
		var afterKey []byte
		if after != "" {
			afterKey = append(append([]byte{}, prefix...), after...)
		}
		// Keys past their deletion date are skipped, so read a little more
		// than a page and stop at the limit.
		for {
			kvs, more, err := tx.List(prefix, afterKey, limit-len(out.Keys)+1)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				afterKey = kv.Key
				var k keyRecord
				if err := json.Unmarshal(kv.Value, &k); err != nil {
					return err
				}
				if s.deleted(&k) {
					continue
				}
				if len(out.Keys) == limit {
					out.Truncated = true
					out.NextMarker = encodeMarker(out.Keys[len(out.Keys)-1].KeyId)
					return nil
				}
				out.Keys = append(out.Keys, KeyListEntry{KeyArn: k.ARN, KeyId: k.KeyID})
			}
			if !more {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pageArgs validates Limit and Marker and returns the page size and the
// name after which the page starts.
func pageArgs(in *ListInput, max, def int) (int, string, error) {
	var v validator
	v.listLimit(in.Limit, max)
	v.marker(in.Marker)
	if err := v.err(); err != nil {
		return 0, "", err
	}
	limit := def
	if in.Limit != nil {
		limit = *in.Limit
	}
	var after string
	if in.Marker != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.Marker)
		if err != nil || !strings.HasPrefix(string(b), markerPrefix) || len(b) == len(markerPrefix) {
			return 0, "", awserr.New(awserr.InvalidMarker, "Invalid marker %s", *in.Marker)
		}
		after = strings.TrimPrefix(string(b), markerPrefix)
	}
	return limit, after, nil
}

const markerPrefix = "kagi1:"

func encodeMarker(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(markerPrefix + after))
}

// modifyKey runs fn on a key, named by key id or ARN, inside one read-write
// transaction, and stores the key if fn returns nil.
func (s *Service) modifyKey(ctx context.Context, c *Caller, keyID string, a *access, fn func(tx storage.Tx, k *keyRecord) error) (*keyRecord, error) {
	var out *keyRecord
	err := s.update(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, keyID, keyOnly, a)
		if err != nil {
			return err
		}
		if err := fn(tx, k); err != nil {
			return err
		}
		out = k
		return putJSON(tx, keyKey(k.Account, k.Region, k.KeyID), k)
	})
	return out, err
}

func validateKeyID(id string) error {
	var v validator
	v.keyID("keyId", id)
	return v.err()
}

// EnableKey sets a disabled key to Enabled.
func (s *Service) EnableKey(ctx context.Context, c *Caller, in *KeyIDInput) (*Empty, error) {
	return s.setEnabled(ctx, c, in.KeyId, stateEnabled)
}

// DisableKey sets an enabled key to Disabled.
func (s *Service) DisableKey(ctx context.Context, c *Caller, in *KeyIDInput) (*Empty, error) {
	return s.setEnabled(ctx, c, in.KeyId, stateDisabled)
}

func (s *Service) setEnabled(ctx context.Context, c *Caller, keyID, state string) (*Empty, error) {
	if err := validateKeyID(keyID); err != nil {
		return nil, err
	}
	action := "kms:EnableKey"
	if state == stateDisabled {
		action = "kms:DisableKey"
	}
	_, err := s.modifyKey(ctx, c, keyID, can(action), func(tx storage.Tx, k *keyRecord) error {
		if k.State != stateEnabled && k.State != stateDisabled {
			return errInvalidState(k)
		}
		k.State = state
		if state == stateEnabled {
			return resumeRotation(tx, k, s.clock.Now())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// UpdateKeyDescription replaces a key's description.
func (s *Service) UpdateKeyDescription(ctx context.Context, c *Caller, in *UpdateKeyDescriptionInput) (*Empty, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	if in.Description == nil {
		v.add("description", "null", "Member must not be null")
	} else {
		v.length("description", *in.Description, 0, 8192)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	_, err := s.modifyKey(ctx, c, in.KeyId, can("kms:UpdateKeyDescription"), func(_ storage.Tx, k *keyRecord) error {
		if err := notPendingDeletion(k); err != nil {
			return err
		}
		k.Description = *in.Description
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
