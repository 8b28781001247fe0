package kms

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/awserr"
	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/crypto/blob"
	"github.com/kagikms/kagi/internal/keystore"
	"github.com/kagikms/kagi/internal/storage"
)

const algSymmetric = "SYMMETRIC_DEFAULT"

// Encrypt encrypts up to 4096 bytes under a symmetric key, binding the
// encryption context as additional authenticated data.
func (s *Service) Encrypt(ctx context.Context, c *Caller, in *EncryptInput) (*EncryptOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	v.blob("plaintext", in.Plaintext, 1, 4096, true)
	v.grantTokens(in.GrantTokens)
	v.enum("encryptionAlgorithm", in.EncryptionAlgorithm, encryptionAlgorithms)
	v.encryptionContext("encryptionContext", in.EncryptionContext)
	if err := v.err(); err != nil {
		return nil, err
	}
	k, err := s.cryptoKey(ctx, c, in.KeyId, &access{action: "kms:Encrypt", ec: in.EncryptionContext,
		algorithm: algorithmOrDefault(in.EncryptionAlgorithm), grantTokens: in.GrantTokens})
	if err != nil {
		return nil, err
	}
	if err := checkEncryptionKey(k, in.EncryptionAlgorithm, "kms:Encrypt"); err != nil {
		return nil, err
	}
	alg := algorithmOrDefault(in.EncryptionAlgorithm)
	if err := checkPlaintext(k, alg, in.Plaintext, in.EncryptionContext); err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	ct, err := s.encryptWith(ctx, k, alg, in.Plaintext, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	s.usedKey(k, "Encrypt", c)
	return &EncryptOutput{CiphertextBlob: ct, EncryptionAlgorithm: alg, KeyId: k.ARN}, nil
}

// errAsymmetricContext refuses an encryption context with an RSA key: it
// has nowhere to go in a raw RSAES-OAEP ciphertext.
func errAsymmetricContext() error {
	return awserr.New(awserr.Validation, "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.")
}

// checkPlaintext applies the limits of an RSA key: no encryption context,
// and a plaintext no longer than RSAES-OAEP allows for the modulus and
// hash (AWS's 214/190 bytes for RSA_2048 …). pt nil skips the length (a
// DryRun that ignores the ciphertext has none).
func checkPlaintext(k *keyRecord, alg string, pt []byte, ec map[string]string) error {
	if k.KeySpec == algSymmetric {
		return nil
	}
	if len(ec) > 0 {
		return errAsymmetricContext()
	}
	if max := kcrypto.OAEPMaxPlaintext(k.KeySpec, alg); pt != nil && len(pt) > max {
		return awserr.New(awserr.Validation, "Plaintext is %d bytes, more than the %d that %s can encrypt with key spec %s.", len(pt), max, alg, k.KeySpec)
	}
	return nil
}

// encryptWith encrypts pt under k: a ciphertext blob for a symmetric key,
// a raw RSAES-OAEP ciphertext for an RSA key (made with its public key).
func (s *Service) encryptWith(ctx context.Context, k *keyRecord, alg string, pt []byte, ec map[string]string) ([]byte, error) {
	if k.KeySpec == algSymmetric {
		return s.seal(ctx, k, pt, ec)
	}
	der, err := s.ks.PublicKey(ctx, handle(k))
	if err != nil {
		return nil, awserr.Internal(err)
	}
	pub, err := kcrypto.ParsePublicKey(k.KeySpec, der)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	ct, err := pub.EncryptOAEP(alg, pt)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	return ct, nil
}

// asymmetricAlgorithm reports whether an EncryptionAlgorithm names RSA
// (or SM2) encryption rather than SYMMETRIC_DEFAULT.
func asymmetricAlgorithm(alg string) bool {
	return alg != "" && alg != algSymmetric
}

// openAsymmetric decrypts a raw RSAES-OAEP ciphertext with the RSA key
// keyID names (such a ciphertext carries no key id). A ciphertext that
// does not decrypt is an InvalidCiphertextException.
func (s *Service) openAsymmetric(ctx context.Context, c *Caller, ct []byte, ec map[string]string, keyID string, alg string, acc *access) (*opened, error) {
	k, err := s.cryptoKey(ctx, c, keyID, acc)
	if err != nil {
		return nil, err
	}
	if err := checkEncryptionKey(k, alg, acc.action); err != nil {
		return nil, err
	}
	if len(ec) > 0 {
		return nil, errAsymmetricContext()
	}
	// A DryRun decrypts too, as with a ciphertext blob: a ciphertext that
	// does not decrypt is a request that would fail.
	pt, err := s.ks.AsymmetricDecrypt(ctx, handle(k), alg, ct)
	if errors.Is(err, kcrypto.ErrDecrypt) {
		return nil, errInvalidCiphertext()
	}
	if err != nil {
		return nil, awserr.Internal(err)
	}
	return &opened{key: k, plaintext: pt}, nil
}

// algorithmOrDefault is kms:EncryptionAlgorithm for a request: the
// algorithm it names, or the one a symmetric key uses without being told.
func algorithmOrDefault(alg string) string {
	if alg == "" {
		return algSymmetric
	}
	return alg
}

// cryptoKey loads the key a cryptographic operation names (any identifier
// form), checks that the caller may do a with it, and that its state allows
// use.
func (s *Service) cryptoKey(ctx context.Context, c *Caller, id string, a *access) (*keyRecord, error) {
	return s.usableKey(ctx, c, id, a, nil)
}

// usableKey is cryptoKey with a check of the key's type that comes before
// its state, as AWS orders them (a disabled symmetric key asked to Sign is
// an InvalidKeyUsageException, not a DisabledException).
func (s *Service) usableKey(ctx context.Context, c *Caller, id string, a *access, check func(*keyRecord) error) (*keyRecord, error) {
	var k *keyRecord
	err := s.view(ctx, func(tx storage.Tx) error {
		var err error
		k, err = s.loadKey(tx, c, id, keyOrAliasIDs, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(k); err != nil {
			return nil, err
		}
	}
	if err := checkKeyFIPS(k); err != nil {
		return nil, err
	}
	if err := usable(k); err != nil {
		return nil, err
	}
	return k, nil
}

// checkEncryptionKey checks that k is an encryption key and alg (empty:
// SYMMETRIC_DEFAULT) one of its algorithms, for the operation op (its
// action, "kms:Encrypt").
func checkEncryptionKey(k *keyRecord, alg, op string) error {
	if k.KeyUsage != "ENCRYPT_DECRYPT" {
		return errKeyUsage(k, op)
	}
	alg = algorithmOrDefault(alg)
	if !contains(keyAlgorithms(k.KeySpec, k.KeyUsage).Encryption, alg) {
		return awserr.New(awserr.InvalidKeyUsage, "Algorithm %s is incompatible with key spec %s.", alg, k.KeySpec)
	}
	return checkFIPS(alg)
}

// errKeyUsage is AWS's InvalidKeyUsageException for a key whose usage does
// not allow the operation of action ("kms:Sign" → "Sign").
func errKeyUsage(k *keyRecord, action string) error {
	op := strings.TrimPrefix(action, "kms:")
	if strings.HasPrefix(op, "ReEncrypt") {
		op = "ReEncrypt"
	}
	return awserr.New(awserr.InvalidKeyUsage, "%s key usage is %s which is not valid for %s.", k.ARN, k.KeyUsage, op)
}

// seal makes a ciphertext blob under the key's current material.
func (s *Service) seal(ctx context.Context, k *keyRecord, plaintext []byte, ec map[string]string) ([]byte, error) {
	m := k.Materials[k.Current]
	h := blob.Header{KeyARN: k.ARN}
	if _, err := hex.Decode(h.MaterialID[:], []byte(m.ID)); err != nil {
		return nil, awserr.Internal(err)
	}
	if _, err := s.randRead(h.Nonce[:]); err != nil {
		return nil, awserr.Internal(err)
	}
	// The key store draws the IV inside the AES-GCM Seal (a version 2
	// blob), as Go's FIPS 140-3 module wants it.
	hdr := h.Append(make([]byte, 0, blob.Overhead+len(h.KeyARN)+len(plaintext)))
	aad := kcrypto.AppendCanonicalContext(append([]byte(nil), hdr...), ec)
	ref := keystore.Ref{KeyARN: k.ARN, MaterialID: h.MaterialID}
	sealed, err := s.ks.Encrypt(ctx, ref, m.Sealed, h.Nonce[:], plaintext, aad)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	return append(hdr, sealed...), nil
}

// openAny decrypts a ciphertext of Decrypt or ReEncrypt: a raw RSAES-OAEP
// one when alg names an asymmetric algorithm and keyID the key, a
// ciphertext blob otherwise (without a KeyId only a blob names its key:
// one of a symmetric key is then refused for the algorithm, anything else
// is an InvalidCiphertextException).
func (s *Service) openAny(ctx context.Context, c *Caller, ct []byte, ec map[string]string, keyID *string, alg string, acc *access) (*opened, error) {
	if asymmetricAlgorithm(alg) && keyID != nil {
		return s.openAsymmetric(ctx, c, ct, ec, *keyID, alg, acc)
	}
	return s.open(ctx, c, ct, ec, keyID, alg, acc)
}

// opened is the result of decrypting a ciphertext blob.
type opened struct {
	key        *keyRecord
	plaintext  []byte
	materialID string
}

func errInvalidCiphertext() error {
	return awserr.New(awserr.InvalidCiphertext, "The ciphertext is invalid, or the encryption context does not match the one it was encrypted with.")
}

// open decrypts a symmetric ciphertext blob, if the caller may do a with
// its key. keyID, if not nil, must name the key the blob was encrypted
// under.
func (s *Service) open(ctx context.Context, c *Caller, ct []byte, ec map[string]string, keyID *string, alg string, acc *access) (*opened, error) {
	b, err := blob.Parse(ct)
	if err != nil {
		return nil, errInvalidCiphertext()
	}
	a, err := arn.Parse(b.KeyARN)
	if err != nil || a.Kind != arn.KindKey || a.Partition != c.Partition || a.Region != c.Region {
		return nil, errInvalidCiphertext()
	}
	var k *keyRecord
	err = s.view(ctx, func(tx storage.Tx) error {
		if keyID != nil {
			r, err := s.resolve(tx, c, *keyID, keyOrAliasIDs)
			if err != nil {
				return err
			}
			if r.account != a.Account || r.keyID != a.Name {
				return awserr.New(awserr.IncorrectKey, "The key ID in the request does not identify a KMS key that can perform this operation.")
			}
		}
		if keyID == nil {
			acc.fromCiphertext = true
		} else {
			acc.requestAlias = requestAlias(*keyID)
		}
		k, err = s.loadResolved(tx, c, resolvedID{a.Account, a.Region, a.Name}, acc)
		if awserr.Is(err, awserr.NotFound) {
			// The key the blob names does not exist (or no longer does):
			// to the caller this is a ciphertext nothing here can open.
			return errInvalidCiphertext()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := usable(k); err != nil {
		return nil, err
	}
	if err := checkEncryptionKey(k, alg, acc.action); err != nil {
		return nil, err
	}
	mid := hex.EncodeToString(b.MaterialID[:])
	var m *material
	for i := range k.Materials {
		if k.Materials[i].ID == mid {
			m = &k.Materials[i]
			break
		}
	}
	if m == nil {
		return nil, errInvalidCiphertext()
	}
	aad := kcrypto.AppendCanonicalContext(append([]byte(nil), b.AAD...), ec)
	ref := keystore.Ref{KeyARN: k.ARN, MaterialID: b.MaterialID}
	pt, err := s.ks.Decrypt(ctx, ref, m.Sealed, b.Nonce[:], b.Sealed, aad)
	if err != nil {
		if errors.Is(err, kcrypto.ErrAuth) {
			return nil, errInvalidCiphertext()
		}
		return nil, awserr.Internal(err)
	}
	return &opened{key: k, plaintext: pt, materialID: mid}, nil
}

// dryRunWithoutCiphertext handles DryRun with the IGNORE_CIPHERTEXT
// modifier: it checks the key named by keyID and reports what the call
// would have done.
func (s *Service) dryRunWithoutCiphertext(ctx context.Context, c *Caller, keyID *string, alg string, a *access) error {
	if keyID == nil {
		return awserr.New(awserr.Validation, "KeyId is required when DryRunModifiers contains IGNORE_CIPHERTEXT.")
	}
	k, err := s.cryptoKey(ctx, c, *keyID, a)
	if err != nil {
		return err
	}
	if err := checkEncryptionKey(k, alg, a.action); err != nil {
		return err
	}
	return dryRun()
}

func validateDryRunModifiers(v *validator, dryRun bool, mods []string) bool {
	ignore := false
	for _, m := range mods {
		v.enum("dryRunModifiers", m, dryRunModifiers)
		ignore = ignore || m == "IGNORE_CIPHERTEXT"
	}
	if len(mods) > 0 && !dryRun {
		v.add("dryRunModifiers", "'[…]'", "DryRunModifiers is valid only when DryRun is true")
	}
	return ignore
}

// Decrypt decrypts a ciphertext blob made by Encrypt, GenerateDataKey or
// ReEncrypt. The blob names its key, so KeyId is optional.
func (s *Service) Decrypt(ctx context.Context, c *Caller, in *DecryptInput) (*DecryptOutput, error) {
	var v validator
	ignoreCiphertext := validateDryRunModifiers(&v, in.DryRun, in.DryRunModifiers)
	v.blob("ciphertextBlob", in.CiphertextBlob, 1, 6144, !ignoreCiphertext)
	if in.KeyId != nil {
		v.length("keyId", *in.KeyId, 1, 2048)
	}
	v.grantTokens(in.GrantTokens)
	v.enum("encryptionAlgorithm", in.EncryptionAlgorithm, encryptionAlgorithms)
	v.encryptionContext("encryptionContext", in.EncryptionContext)
	if err := v.err(); err != nil {
		return nil, err
	}
	if present(in.Recipient) {
		return nil, errRecipient()
	}
	a := &access{action: "kms:Decrypt", ec: in.EncryptionContext,
		algorithm: algorithmOrDefault(in.EncryptionAlgorithm), grantTokens: in.GrantTokens}
	if ignoreCiphertext {
		return nil, s.dryRunWithoutCiphertext(ctx, c, in.KeyId, in.EncryptionAlgorithm, a)
	}
	o, err := s.openAny(ctx, c, in.CiphertextBlob, in.EncryptionContext, in.KeyId, in.EncryptionAlgorithm, a)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	s.usedKey(o.key, "Decrypt", c)
	return &DecryptOutput{EncryptionAlgorithm: algorithmOrDefault(in.EncryptionAlgorithm), KeyId: o.key.ARN, KeyMaterialId: o.materialID, Plaintext: o.plaintext}, nil
}

func errRecipient() error {
	return awserr.New(awserr.UnsupportedOperation, "Recipient (attested enclave recipients) is not supported by kagi.")
}

// ReEncrypt decrypts a ciphertext and encrypts its plaintext under another
// key (or the same key, with another encryption context) without exposing
// the plaintext.
func (s *Service) ReEncrypt(ctx context.Context, c *Caller, in *ReEncryptInput) (*ReEncryptOutput, error) {
	var v validator
	ignoreCiphertext := validateDryRunModifiers(&v, in.DryRun, in.DryRunModifiers)
	v.blob("ciphertextBlob", in.CiphertextBlob, 1, 6144, !ignoreCiphertext)
	if in.SourceKeyId != nil {
		v.length("sourceKeyId", *in.SourceKeyId, 1, 2048)
	}
	v.keyID("destinationKeyId", in.DestinationKeyId)
	v.enum("sourceEncryptionAlgorithm", in.SourceEncryptionAlgorithm, encryptionAlgorithms)
	v.enum("destinationEncryptionAlgorithm", in.DestinationEncryptionAlgorithm, encryptionAlgorithms)
	v.grantTokens(in.GrantTokens)
	v.encryptionContext("sourceEncryptionContext", in.SourceEncryptionContext)
	v.encryptionContext("destinationEncryptionContext", in.DestinationEncryptionContext)
	if err := v.err(); err != nil {
		return nil, err
	}
	from := &access{action: "kms:ReEncryptFrom", ec: in.SourceEncryptionContext,
		algorithm: algorithmOrDefault(in.SourceEncryptionAlgorithm), grantTokens: in.GrantTokens}
	to := func() *access {
		return &access{action: "kms:ReEncryptTo", ec: in.DestinationEncryptionContext,
			algorithm: algorithmOrDefault(in.DestinationEncryptionAlgorithm), grantTokens: in.GrantTokens}
	}
	if ignoreCiphertext {
		if err := s.dryRunWithoutCiphertext(ctx, c, in.SourceKeyId, in.SourceEncryptionAlgorithm, from); !awserr.Is(err, awserr.DryRunOperation) {
			return nil, err
		}
	} else {
		o, err := s.openAny(ctx, c, in.CiphertextBlob, in.SourceEncryptionContext, in.SourceKeyId, in.SourceEncryptionAlgorithm, from)
		if err != nil {
			return nil, err
		}
		defer clear(o.plaintext)
		dst, err := s.cryptoKey(ctx, c, in.DestinationKeyId, to())
		if err != nil {
			return nil, err
		}
		if err := checkEncryptionKey(dst, in.DestinationEncryptionAlgorithm, "kms:ReEncryptTo"); err != nil {
			return nil, err
		}
		dstAlg := algorithmOrDefault(in.DestinationEncryptionAlgorithm)
		if err := checkPlaintext(dst, dstAlg, o.plaintext, in.DestinationEncryptionContext); err != nil {
			return nil, err
		}
		if !in.DryRun {
			ct, err := s.encryptWith(ctx, dst, dstAlg, o.plaintext, in.DestinationEncryptionContext)
			if err != nil {
				return nil, err
			}
			out := &ReEncryptOutput{
				CiphertextBlob:                 ct,
				DestinationEncryptionAlgorithm: dstAlg,
				KeyId:                          dst.ARN,
				SourceEncryptionAlgorithm:      algorithmOrDefault(in.SourceEncryptionAlgorithm),
				SourceKeyId:                    o.key.ARN,
				SourceKeyMaterialId:            o.materialID,
			}
			if dst.KeySpec == algSymmetric {
				out.DestinationKeyMaterialId = dst.Materials[dst.Current].ID
			}
			s.usedKey(o.key, "ReEncrypt", c)
			s.usedKey(dst, "ReEncrypt", c)
			return out, nil
		}
	}
	dst, err := s.cryptoKey(ctx, c, in.DestinationKeyId, to())
	if err != nil {
		return nil, err
	}
	if err := checkEncryptionKey(dst, in.DestinationEncryptionAlgorithm, "kms:ReEncryptTo"); err != nil {
		return nil, err
	}
	if err := checkPlaintext(dst, algorithmOrDefault(in.DestinationEncryptionAlgorithm), nil, in.DestinationEncryptionContext); err != nil {
		return nil, err
	}
	return nil, dryRun()
}

// GenerateDataKey returns a random data key in plaintext and encrypted
// under a symmetric key.
func (s *Service) GenerateDataKey(ctx context.Context, c *Caller, in *GenerateDataKeyInput) (*GenerateDataKeyOutput, error) {
	return s.generateDataKey(ctx, c, in, "kms:GenerateDataKey")
}

// GenerateDataKeyWithoutPlaintext is GenerateDataKey without the plaintext.
func (s *Service) GenerateDataKeyWithoutPlaintext(ctx context.Context, c *Caller, in *GenerateDataKeyInput) (*GenerateDataKeyOutput, error) {
	if present(in.Recipient) {
		// Recipient is not a member of this operation: ignore it as the
		// SDKs would never send it.
		in.Recipient = nil
	}
	return s.generateDataKey(ctx, c, in, "kms:GenerateDataKeyWithoutPlaintext")
}

func (s *Service) generateDataKey(ctx context.Context, c *Caller, in *GenerateDataKeyInput, action string) (*GenerateDataKeyOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	v.intRange("numberOfBytes", in.NumberOfBytes, 1, 1024)
	v.enum("keySpec", in.KeySpec, dataKeySpecs)
	v.grantTokens(in.GrantTokens)
	v.encryptionContext("encryptionContext", in.EncryptionContext)
	if err := v.err(); err != nil {
		return nil, err
	}
	if (in.NumberOfBytes == nil) == (in.KeySpec == "") {
		return nil, awserr.New(awserr.Validation, "Please specify either number of bytes or key spec.")
	}
	if present(in.Recipient) {
		return nil, errRecipient()
	}
	n := 32
	switch {
	case in.NumberOfBytes != nil:
		n = *in.NumberOfBytes
	case in.KeySpec == "AES_128":
		n = 16
	}
	k, err := s.cryptoKey(ctx, c, in.KeyId, &access{action: action, ec: in.EncryptionContext,
		algorithm: algSymmetric, grantTokens: in.GrantTokens})
	if err != nil {
		return nil, err
	}
	if k.KeyUsage != "ENCRYPT_DECRYPT" {
		return nil, errKeyUsage(k, action)
	}
	if k.KeySpec != "SYMMETRIC_DEFAULT" {
		return nil, awserr.New(awserr.InvalidKeyUsage, "%s is not a symmetric encryption key.", k.ARN)
	}
	if in.DryRun {
		return nil, dryRun()
	}
	dk := make([]byte, n)
	if _, err := s.randRead(dk); err != nil {
		return nil, awserr.Internal(err)
	}
	ct, err := s.seal(ctx, k, dk, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	out := &GenerateDataKeyOutput{CiphertextBlob: ct, KeyId: k.ARN, KeyMaterialId: k.Materials[k.Current].ID}
	if action == "kms:GenerateDataKey" {
		out.Plaintext = dk
	}
	s.usedKey(k, strings.TrimPrefix(action, "kms:"), c)
	return out, nil
}

// GenerateRandom returns random bytes from the operating system's CSPRNG.
func (s *Service) GenerateRandom(ctx context.Context, c *Caller, in *GenerateRandomInput) (*GenerateRandomOutput, error) {
	var v validator
	if in.NumberOfBytes == nil {
		v.add("numberOfBytes", "null", "Member must not be null")
	}
	v.intRange("numberOfBytes", in.NumberOfBytes, 1, 1024)
	if in.CustomKeyStoreId != nil {
		v.length("customKeyStoreId", *in.CustomKeyStoreId, 1, 64)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.CustomKeyStoreId != nil {
		return nil, awserr.New(awserr.CustomKeyStoreNotFound, "Custom key store %s does not exist.", *in.CustomKeyStoreId)
	}
	if present(in.Recipient) {
		return nil, errRecipient()
	}
	if err := s.authorizeAccount(c, can("kms:GenerateRandom"), "*"); err != nil {
		return nil, err
	}
	b := make([]byte, *in.NumberOfBytes)
	if _, err := s.randRead(b); err != nil {
		return nil, awserr.Internal(err)
	}
	return &GenerateRandomOutput{Plaintext: b}, nil
}
