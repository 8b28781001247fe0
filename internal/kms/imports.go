package kms

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/keystore"
	"github.com/kagikms/kagi/internal/storage"
)

// Imported key material (BYOK): CreateKey with Origin EXTERNAL makes a key
// in PendingImport with no material; GetParametersForImport hands out a
// wrapping public key and an import token (importtoken.go);
// ImportKeyMaterial unwraps the material and seals it in the key store;
// DeleteImportedKeyMaterial and expiry (ValidTo) erase the sealed material
// and leave the key PendingImport until the same material is imported
// again.

const originExternal = "EXTERNAL"

var (
	wrappingAlgorithms = []string{"RSAES_PKCS1_V1_5", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256", "SM2PKE"}
	wrappingKeySpecs   = []string{"RSA_2048", "RSA_3072", "RSA_4096", "SM2"}
	expirationModels   = []string{"KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE"}
	importTypes        = []string{"NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL"}

	keyMaterialDescriptionPattern = regexp.MustCompile(`^[a-zA-Z0-9:/_\s.-]+$`)
	keyMaterialIDPattern          = regexp.MustCompile(`^[a-f0-9]+$`)
)

// importParametersValidity is how long a wrapping key and import token are
// valid (AWS: 24 hours).
const importParametersValidity = 24 * time.Hour

// maxValidTo is how far ahead imported material may be set to expire (AWS:
// 365 days from the request).
const maxValidTo = 365 * 24 * time.Hour

// importable reports whether kagi imports material into keys of spec:
// symmetric encryption and HMAC keys, and every asymmetric key whose PKCS #8
// form crypto.ParsePKCS8KeyPair reads (all of them; ML-DSA and ML-KEM in
// seed form).
func importable(spec string) bool {
	return spec == crypto.SpecSymmetric || isHMAC(spec) || crypto.ImportablePairSpec(spec)
}

// errOrigin is the UnsupportedOperationException of an import operation on
// a key whose material kagi generated.
func errOrigin(k *keyRecord) error {
	return awserr.New(awserr.UnsupportedOperation, "%s origin is %s which is not valid for this operation.", k.ARN, k.Origin)
}

// GetParametersForImport returns a fresh RSA wrapping public key and an
// import token for a key with Origin EXTERNAL, both valid 24 hours.
func (s *Service) GetParametersForImport(ctx context.Context, c *Caller, in *GetParametersForImportInput) (*GetParametersForImportOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	if v.required("wrappingAlgorithm", in.WrappingAlgorithm) {
		v.enum("wrappingAlgorithm", in.WrappingAlgorithm, wrappingAlgorithms)
	}
	if v.required("wrappingKeySpec", in.WrappingKeySpec) {
		v.enum("wrappingKeySpec", in.WrappingKeySpec, wrappingKeySpecs)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	a := &access{action: "kms:GetParametersForImport", extra: map[string][]string{
		"kms:wrappingalgorithm": {in.WrappingAlgorithm},
		"kms:wrappingkeyspec":   {in.WrappingKeySpec},
	}}
	var k *keyRecord
	err := s.view(ctx, func(tx storage.Tx) error {
		var err error
		k, err = s.loadKey(tx, c, in.KeyId, keyOnly, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	if k.Origin != originExternal {
		return nil, errOrigin(k)
	}
	if k.State == statePendingDeletion {
		return nil, errInvalidState(k)
	}
	switch {
	case in.WrappingAlgorithm == "SM2PKE" || in.WrappingKeySpec == "SM2":
		return nil, awserr.New(awserr.UnsupportedOperation, "The SM2 wrapping key spec and the SM2PKE wrapping algorithm are only available in AWS China Regions.")
	case in.WrappingAlgorithm == "RSAES_PKCS1_V1_5":
		return nil, awserr.New(awserr.Validation, "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1.")
	}
	if err := checkFIPS(in.WrappingAlgorithm); err != nil {
		return nil, err
	}
	oaep := strings.HasPrefix(in.WrappingAlgorithm, "RSAES_OAEP_")
	switch {
	case oaep && strings.HasPrefix(k.KeySpec, "RSA_"):
		return nil, awserr.New(awserr.Validation, "RSA private key material must be wrapped with RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256: it is too long for %s.", in.WrappingAlgorithm)
	case oaep && k.KeySpec == crypto.SpecP521 && in.WrappingKeySpec == "RSA_2048":
		return nil, awserr.New(awserr.Validation, "ECC_NIST_P521 key material cannot be wrapped with an RSA_2048 wrapping key and %s. Use a larger wrapping key or an RSA_AES_KEY_WRAP algorithm.", in.WrappingAlgorithm)
	}
	p := &importParams{keyARN: k.ARN, algorithm: in.WrappingAlgorithm, spec: in.WrappingKeySpec}
	p.key, err = crypto.NewWrappingKey(p.spec)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&p.key.PublicKey)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	p.validTo = s.clock.Now().UTC().Add(importParametersValidity).Truncate(time.Millisecond)
	tok, err := s.sealImportToken(p)
	if err != nil {
		return nil, err
	}
	return &GetParametersForImportOutput{ImportToken: tok, KeyId: k.ARN, ParametersValidTo: ts(p.validTo), PublicKey: pub}, nil
}

// importedMaterialID is the KeyMaterialId of imported material: AWS
// derives it from the key and the material, so the same material imported
// again has the same id (and old ciphertexts, which name it, decrypt), and
// other material a different one. kagi's is
// HMAC-SHA256(key = material, "kagi imported material id v1" ‖ key ARN):
// it says nothing about the material without it.
func importedMaterialID(keyARN string, m []byte) string {
	h := hmac.New(sha256.New, m)
	h.Write([]byte("kagi imported material id v1"))
	h.Write([]byte(keyARN))
	return hex.EncodeToString(h.Sum(nil))
}

// ImportKeyMaterial imports key material into a key with Origin EXTERNAL:
// the first import, or the same material again (after deletion or expiry,
// or to change its expiration).
func (s *Service) ImportKeyMaterial(ctx context.Context, c *Caller, in *ImportKeyMaterialInput) (*ImportKeyMaterialOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	v.blob("importToken", in.ImportToken, 1, 6144, true)
	v.blob("encryptedKeyMaterial", in.EncryptedKeyMaterial, 1, 6144, true)
	v.enum("expirationModel", in.ExpirationModel, expirationModels)
	v.enum("importType", in.ImportType, importTypes)
	if d := in.KeyMaterialDescription; d != nil {
		v.length("keyMaterialDescription", *d, 0, 256)
		if *d != "" && !keyMaterialDescriptionPattern.MatchString(*d) {
			v.add("keyMaterialDescription", quote(*d), `Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_\s.-]+$`)
		}
	}
	if id := in.KeyMaterialId; id != nil {
		v.length("keyMaterialId", *id, 64, 64)
		if !keyMaterialIDPattern.MatchString(*id) {
			v.add("keyMaterialId", quote(*id), "Member must satisfy regular expression pattern: ^[a-f0-9]+$")
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	model := in.ExpirationModel
	if model == "" {
		model = "KEY_MATERIAL_EXPIRES"
	}
	now := s.clock.Now().UTC()
	var validTo *time.Time
	switch {
	case model == "KEY_MATERIAL_EXPIRES" && in.ValidTo == nil:
		return nil, awserr.New(awserr.Validation, "A ValidTo date is required when the ExpirationModel is KEY_MATERIAL_EXPIRES.")
	case model == "KEY_MATERIAL_DOES_NOT_EXPIRE" && in.ValidTo != nil:
		return nil, awserr.New(awserr.Validation, "ValidTo must be omitted when the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.")
	case in.ValidTo != nil:
		t := time.Time(*in.ValidTo).UTC()
		if !t.After(now) {
			return nil, awserr.New(awserr.Validation, "ValidTo must be in the future.")
		}
		if t.After(now.Add(maxValidTo)) {
			return nil, awserr.New(awserr.Validation, "ValidTo must be at most 365 days from now.")
		}
		validTo = &t
	}
	extra := map[string][]string{"kms:expirationmodel": {model}}
	if validTo != nil {
		extra["kms:validto"] = []string{strconv.FormatInt(validTo.Unix(), 10)}
	}
	var out *ImportKeyMaterialOutput
	_, err := s.modifyKey(ctx, c, in.KeyId, &access{action: "kms:ImportKeyMaterial", extra: extra}, func(tx storage.Tx, k *keyRecord) error {
		if k.Origin != originExternal {
			return errOrigin(k)
		}
		if k.State == statePendingDeletion {
			return errInvalidState(k)
		}
		symmetric := k.KeySpec == crypto.SpecSymmetric
		if !symmetric && (in.ImportType != "" || in.KeyMaterialDescription != nil || in.KeyMaterialId != nil) {
			return awserr.New(awserr.Validation, "ImportType, KeyMaterialDescription and KeyMaterialId are valid only for symmetric encryption keys.")
		}
		importType := in.ImportType
		if importType == "" {
			importType = "NEW_KEY_MATERIAL"
			if len(k.Materials) > 0 {
				importType = "EXISTING_KEY_MATERIAL"
			}
		}
		if importType == "NEW_KEY_MATERIAL" && in.KeyMaterialId != nil {
			return awserr.New(awserr.Validation, "You cannot specify a KeyMaterialId when the ImportType is NEW_KEY_MATERIAL.")
		}
		if importType == "NEW_KEY_MATERIAL" && len(k.Materials) > 0 && pendingMaterial(k) >= 0 {
			return awserr.New(awserr.Validation, "%s already has key material in the PENDING_ROTATION state. Rotate the key on demand, or delete that key material before importing other new key material.", k.ARN)
		}
		if importType == "EXISTING_KEY_MATERIAL" && len(k.Materials) == 0 {
			return errIncorrectMaterial(k)
		}
		if err := checkKeyFIPS(k); err != nil {
			return err
		}
		p, err := s.openImportToken(in.ImportToken, k.ARN)
		if err != nil {
			return err
		}
		// A token issued before kagi ran in FIPS mode may name a wrapping
		// algorithm FIPS mode refuses.
		if err := checkFIPS(p.algorithm); err != nil {
			return err
		}
		m, err := crypto.UnwrapKeyMaterial(p.key, p.algorithm, in.EncryptedKeyMaterial)
		if err != nil {
			return awserr.New(awserr.InvalidCiphertext, "The request was rejected because the encrypted key material could not be decrypted with the wrapping key and algorithm of the import token.")
		}
		defer clear(m)
		hmacKey := isHMAC(k.KeySpec)
		// canonical is what identifies the material: the bytes, or for a
		// key pair its compact encoding, so that another PKCS #8 encoding
		// of the same private key is the same material.
		canonical := m
		switch {
		case symmetric && len(m) != crypto.MaterialSize, hmacKey && !crypto.HMACKeySizeOK(k.KeySpec, len(m)):
			return awserr.New(awserr.IncorrectKeyMaterial, "The key material is not valid for a %s key.", k.KeySpec)
		case !symmetric && !hmacKey:
			pair, err := crypto.ParsePKCS8KeyPair(k.KeySpec, m)
			if err != nil {
				return awserr.New(awserr.IncorrectKeyMaterial, "The key material is not a DER PKCS #8 %s private key.", k.KeySpec)
			}
			canonical = pair.MarshalPrivateKey()
			defer clear(canonical)
		}
		id := importedMaterialID(k.ARN, canonical)
		if in.KeyMaterialId != nil && *in.KeyMaterialId != id {
			return errIncorrectMaterial(k)
		}
		var mat *material
		switch i := materialIndex(k, id); {
		case len(k.Materials) == 0:
			k.Materials = append(k.Materials, material{ID: id, Created: now})
			k.Current = 0
			mat = &k.Materials[0]
		case importType == "NEW_KEY_MATERIAL":
			// New material for on-demand rotation: PENDING_ROTATION
			// until RotateKeyOnDemand makes it current.
			if i >= 0 {
				return awserr.New(awserr.IncorrectKeyMaterial, "The key material is already associated with %s: import it with ImportType EXISTING_KEY_MATERIAL.", k.ARN)
			}
			k.Materials = append(k.Materials, material{ID: id, Created: now, Pending: true})
			mat = &k.Materials[len(k.Materials)-1]
		case i < 0:
			return errIncorrectMaterial(k)
		default:
			mat = &k.Materials[i]
		}
		ref := keystore.Ref{KeyARN: k.ARN}
		if _, err := hex.Decode(ref.MaterialID[:], []byte(id)); err != nil {
			return awserr.Internal(err)
		}
		switch {
		case symmetric:
			mat.Sealed, err = s.ks.ImportSymmetric(ctx, ref, m)
		case hmacKey:
			mat.Sealed, err = s.ks.ImportMACKey(ctx, ref, k.KeySpec, m)
		default:
			mat.Sealed, err = s.ks.ImportKeyPair(ctx, ref, k.KeySpec, m)
		}
		if err != nil {
			return awserr.Internal(err)
		}
		if err := setMaterialExpiry(tx, k, mat, validTo); err != nil {
			return err
		}
		mat.ExpirationModel = model
		if in.KeyMaterialDescription != nil {
			mat.Description = *in.KeyMaterialDescription
		}
		if k.State == statePendingImport && allImported(k) {
			k.State = stateEnabled
		}
		out = &ImportKeyMaterialOutput{KeyId: k.ARN}
		if symmetric {
			out.KeyMaterialId = id
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// materialIndex is the index of the material with KeyMaterialId id in
// k.Materials, or -1.
func materialIndex(k *keyRecord, id string) int {
	for i := range k.Materials {
		if k.Materials[i].ID == id {
			return i
		}
	}
	return -1
}

// allImported reports whether every material permanently associated with
// k (all but one pending rotation) is imported: only then is the key
// usable.
func allImported(k *keyRecord) bool {
	for i := range k.Materials {
		if !k.Materials[i].Pending && k.Materials[i].Sealed == nil {
			return false
		}
	}
	return true
}

func errIncorrectMaterial(k *keyRecord) error {
	return awserr.New(awserr.IncorrectKeyMaterial, "The key material is not the key material that was previously imported into %s.", k.ARN)
}

// setMaterialExpiry replaces the expiry index entry of a material. The
// entry names the key, not the material: it stays while another material
// of the key expires at the same time.
func setMaterialExpiry(tx storage.Tx, k *keyRecord, m *material, validTo *time.Time) error {
	if m.ValidTo != nil && !sharedExpiry(k, m) {
		if err := tx.Delete(expiryKey(*m.ValidTo, k.Account, k.Region, k.KeyID)); err != nil {
			return err
		}
	}
	m.ValidTo = validTo
	if validTo != nil {
		return tx.Put(expiryKey(*validTo, k.Account, k.Region, k.KeyID), nil)
	}
	return nil
}

// sharedExpiry reports whether another material of k expires when m does.
func sharedExpiry(k *keyRecord, m *material) bool {
	for i := range k.Materials {
		o := &k.Materials[i]
		if o != m && o.Sealed != nil && o.ValidTo != nil && o.ValidTo.Equal(*m.ValidTo) {
			return true
		}
	}
	return false
}

// DeleteImportedKeyMaterial erases a key's imported material from storage;
// the key becomes PendingImport (a key pending deletion stays so).
func (s *Service) DeleteImportedKeyMaterial(ctx context.Context, c *Caller, in *DeleteImportedKeyMaterialInput) (*DeleteImportedKeyMaterialOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	if id := in.KeyMaterialId; id != nil {
		v.length("keyMaterialId", *id, 64, 64)
		if !keyMaterialIDPattern.MatchString(*id) {
			v.add("keyMaterialId", quote(*id), "Member must satisfy regular expression pattern: ^[a-f0-9]+$")
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	var out *DeleteImportedKeyMaterialOutput
	_, err := s.modifyKey(ctx, c, in.KeyId, can("kms:DeleteImportedKeyMaterial"), func(tx storage.Tx, k *keyRecord) error {
		if k.Origin != originExternal {
			return errOrigin(k)
		}
		out = &DeleteImportedKeyMaterialOutput{KeyId: k.ARN}
		if len(k.Materials) == 0 {
			if in.KeyMaterialId != nil {
				return errNoMaterial(k, *in.KeyMaterialId)
			}
			return nil // never imported: nothing to delete
		}
		i := k.Current
		if in.KeyMaterialId != nil {
			if i = materialIndex(k, *in.KeyMaterialId); i < 0 {
				return errNoMaterial(k, *in.KeyMaterialId)
			}
		}
		m := &k.Materials[i]
		if k.KeySpec == crypto.SpecSymmetric {
			out.KeyMaterialId = m.ID
		}
		if err := setMaterialExpiry(tx, k, m, nil); err != nil {
			return err
		}
		eraseMaterial(k, i)
		return markErased(tx)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func errNoMaterial(k *keyRecord, id string) error {
	return awserr.New(awserr.NotFound, "Key material %s is not associated with %s.", id, k.ARN)
}

// eraseMaterial drops the sealed form of k.Materials[i] from the record
// (the caller stores the record) and, unless the key is pending deletion,
// leaves the key PendingImport. Material pending rotation is not
// permanently associated with the key: it goes altogether, and the key
// stays as it is.
func eraseMaterial(k *keyRecord, i int) {
	m := &k.Materials[i]
	clear(m.Sealed)
	m.Sealed = nil
	if m.Pending {
		k.Materials = append(k.Materials[:i], k.Materials[i+1:]...)
		if k.Current > i {
			k.Current--
		}
		return
	}
	if k.State != statePendingDeletion {
		k.State = statePendingImport
	}
}

// expireMaterial applies expiry to a key just read: material past its
// ValidTo is gone even before the sweeper erases it from storage, as a
// key past its deletion date is (Service.deleted).
func (s *Service) expireMaterial(k *keyRecord) {
	if k.Origin != originExternal || len(k.Materials) == 0 {
		return
	}
	now := s.clock.Now()
	for i := len(k.Materials) - 1; i >= 0; i-- {
		m := &k.Materials[i]
		if m.Sealed != nil && m.ValidTo != nil && !now.Before(*m.ValidTo) {
			eraseMaterial(k, i)
		}
	}
}

// importedCount is how many of k's materials are imported (sealed).
func importedCount(k *keyRecord) int {
	n := 0
	for i := range k.Materials {
		if k.Materials[i].Sealed != nil {
			n++
		}
	}
	return n
}

// expiryKey indexes imported material by ValidTo, so the sweeper reads only
// what is due.
func expiryKey(when time.Time, acct, region, id string) []byte {
	return []byte(fmt.Sprintf("%s%020d/%s/%s/%s", expiryPrefix, when.UnixNano(), acct, region, id))
}

const expiryPrefix = "x/"

// SweepExpiredMaterial erases imported material whose ValidTo has passed
// and leaves its key PendingImport. It returns how many materials it
// erased.
func (s *Service) SweepExpiredMaterial(ctx context.Context) (int, error) {
	now := s.clock.Now()
	erased := 0
	for {
		var due [][]byte
		err := s.store.View(ctx, func(tx storage.Tx) error {
			kvs, _, err := tx.List([]byte(expiryPrefix), nil, 100)
			for _, kv := range kvs {
				if indexTime(kv.Key, expiryPrefix).After(now) {
					break
				}
				due = append(due, kv.Key)
			}
			return err
		})
		if err != nil || len(due) == 0 {
			return erased, err
		}
		for _, key := range due {
			done := false
			err := s.store.Update(ctx, func(tx storage.Tx) error {
				if err := tx.Delete(key); err != nil {
					return err
				}
				// Whatever erased it (this sweep, or a write of the key
				// after a read found it expired), material expired here.
				if err := markErased(tx); err != nil {
					return err
				}
				parts := strings.Split(strings.TrimPrefix(string(key), expiryPrefix), "/")
				if len(parts) != 4 {
					return errors.New("corrupt expiry index key " + string(key))
				}
				var k keyRecord
				if err := getJSON(tx, keyKey(parts[1], parts[2], parts[3]), &k); err != nil {
					if errors.Is(err, storage.ErrNotFound) {
						return nil // the key was deleted
					}
					return err
				}
				before := importedCount(&k)
				s.expireMaterial(&k)
				if importedCount(&k) == before {
					return nil // imported again with a later ValidTo
				}
				done = true
				return putJSON(tx, keyKey(k.Account, k.Region, k.KeyID), &k)
			})
			if err != nil {
				return erased, err
			}
			if done {
				erased++
			}
		}
	}
}
