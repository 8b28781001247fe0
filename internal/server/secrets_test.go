package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/keystore"
	"github.com/kagikms/kagi/internal/keystore/software"
	"github.com/kagikms/kagi/internal/rootkey"
	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
	"github.com/kagikms/kagi/internal/storage"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// TestNoSecretsAtRest drives the service with known plaintexts, data keys,
// data key pairs and key material, then scans every file in the data directory, and the
// server's log, for those bytes in raw, hex and base64 form.
func TestNoSecretsAtRest(t *testing.T) {
	var logBuf syncBuffer
	env := servertest.Start(t, servertest.WithLogOutput(&logBuf))
	ctx := context.Background()

	secrets := map[string][]byte{"secret access key": []byte(env.Secret)}
	for i := 0; i < 3; i++ {
		k, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("scan"),
			Tags: []types.Tag{{TagKey: aws.String("t"), TagValue: aws.String("v")}}})
		if err != nil {
			t.Fatal(err)
		}
		pt := make([]byte, 64)
		rand.Read(pt)
		secrets["plaintext "+string(rune('a'+i))] = pt
		ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: pt,
			EncryptionContext: map[string]string{"purpose": "scan"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob,
			EncryptionContext: map[string]string{"purpose": "scan"}}); err != nil {
			t.Fatal(err)
		}
		dk, err := env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.KeyMetadata.Arn, KeySpec: types.DataKeySpecAes256})
		if err != nil {
			t.Fatal(err)
		}
		secrets["data key "+string(rune('a'+i))] = dk.Plaintext
		if _, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: dk.CiphertextBlob, DestinationKeyId: k.KeyMetadata.KeyId}); err != nil {
			t.Fatal(err)
		}
	}
	// Asymmetric and HMAC keys: their private halves, unsealed below, must
	// not appear either.
	for _, kt := range []struct {
		spec  types.KeySpec
		usage types.KeyUsageType
	}{
		{types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify},
		{types.KeySpecRsa2048, types.KeyUsageTypeSignVerify},
		{types.KeySpecEccNistEdwards25519, types.KeyUsageTypeSignVerify},
		{types.KeySpecMlDsa44, types.KeyUsageTypeSignVerify},
		{types.KeySpecMlKem768, types.KeyUsageTypeEncapsulateDecapsulate},
		{types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac},
		{types.KeySpecRsa3072, types.KeyUsageTypeEncryptDecrypt},
		{types.KeySpecEccNistP384, types.KeyUsageTypeKeyAgreement},
	} {
		k, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kt.spec, KeyUsage: kt.usage})
		if err != nil {
			t.Fatal(err)
		}
		if kt.usage == types.KeyUsageTypeEncryptDecrypt {
			pt := make([]byte, 64)
			rand.Read(pt)
			secrets["RSA plaintext"] = pt
			ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: pt, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyMetadata.KeyId, CiphertextBlob: ct.CiphertextBlob,
				EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256}); err != nil {
				t.Fatal(err)
			}
		}
		if kt.usage == types.KeyUsageTypeKeyAgreement {
			peer, err := kcrypto.GenerateKeyPair(kcrypto.SpecP384)
			if err != nil {
				t.Fatal(err)
			}
			out, err := env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: k.KeyMetadata.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: peer.Public().DER()})
			if err != nil {
				t.Fatal(err)
			}
			secrets["ECDH shared secret"] = out.SharedSecret
		}
		if kt.usage == types.KeyUsageTypeEncapsulateDecapsulate {
			enc, err := env.KMS.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: k.KeyMetadata.KeyId, EncapsulationAlgorithm: "ML_KEM"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.KMS.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: k.KeyMetadata.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob}); err != nil {
				t.Fatal(err)
			}
			secrets["ML-KEM shared secret"] = enc.SharedSecret
		}
		if kt.usage == types.KeyUsageTypeSignVerify {
			sigAlg := map[types.KeySpec]types.SigningAlgorithmSpec{types.KeySpecEccNistP256: "ECDSA_SHA_256", types.KeySpecRsa2048: "RSASSA_PSS_SHA_256",
				types.KeySpecEccNistEdwards25519: "ED25519_SHA_512", types.KeySpecMlDsa44: "ML_DSA_SHAKE_256"}[kt.spec]
			sig, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: k.KeyMetadata.KeyId, Message: []byte("scan"), SigningAlgorithm: sigAlg})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: k.KeyMetadata.KeyId, Message: []byte("scan"), Signature: sig.Signature, SigningAlgorithm: sigAlg}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Data key pairs: the PKCS #8 private keys (and the private values in
	// them) GenerateDataKeyPair returns, or Decrypt opens.
	wrap := sdkCreateKey(t, env.KMS, nil)
	for _, spec := range []types.DataKeyPairSpec{types.DataKeyPairSpecEccNistP256, types.DataKeyPairSpecEccSecgP256k1,
		types.DataKeyPairSpecRsa2048, types.DataKeyPairSpecEccNistEdwards25519, types.DataKeyPairSpecMlKem768} {
		out, err := env.KMS.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: wrap.KeyId, KeyPairSpec: spec})
		if err != nil {
			t.Fatal(err)
		}
		wo, err := env.KMS.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: wrap.KeyId, KeyPairSpec: spec,
			EncryptionContext: map[string]string{"purpose": "scan"}})
		if err != nil {
			t.Fatal(err)
		}
		dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wo.PrivateKeyCiphertextBlob, EncryptionContext: map[string]string{"purpose": "scan"}})
		if err != nil {
			t.Fatal(err)
		}
		for i, der := range [][]byte{out.PrivateKeyPlaintext, dec.Plaintext} {
			kp, err := kcrypto.ParsePKCS8(der)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("data key pair %s %d", spec, i)
			secrets[name+" (PKCS #8)"] = der
			secrets[name+" (private value)"] = kp.MarshalPrivateKey()
		}
	}
	if err := env.Server.Close(); err != nil {
		t.Fatal(err)
	}

	// The key material, unsealed from the store with the root key.
	materials := unsealAll(t, env.DataDir)
	if len(materials) != 12 {
		t.Fatalf("unsealed %d materials, want 12", len(materials))
	}
	for name, m := range materials {
		secrets["key material of "+name] = m
	}

	files := 0
	err := filepath.WalkDir(env.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		checkAbsent(t, path, b, secrets)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("scanned only %d files", files)
	}
	log := logBuf.Bytes()
	if !bytes.Contains(log, []byte("op=Decrypt")) {
		t.Fatalf("the log did not capture the requests:\n%s", log)
	}
	checkAbsent(t, "the server log", log, secrets)
}

func checkAbsent(t *testing.T, where string, b []byte, secrets map[string][]byte) {
	t.Helper()
	for name, s := range secrets {
		for form, enc := range map[string][]byte{
			"raw":    s,
			"hex":    []byte(hex.EncodeToString(s)),
			"base64": []byte(base64.StdEncoding.EncodeToString(s)),
		} {
			if bytes.Contains(b, enc) {
				t.Errorf("%s contains the %s (%s)", where, name, form)
			}
		}
	}
}

// unsealAll reads every key's material out of a closed data directory,
// under the key ID; a rotated key's older materials under "<id>#<index>".
func unsealAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	root, created, err := rootkey.LoadOrCreateFile(filepath.Join(dir, server.RootKeyFile))
	if err != nil || created {
		t.Fatalf("root key: created=%v err=%v", created, err)
	}
	ks := software.New(root, 10)
	st, err := bolt.Open(filepath.Join(dir, server.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string][]byte{}
	err = st.View(context.Background(), func(tx storage.Tx) error {
		kvs, _, err := tx.List([]byte("k/"), nil, 0)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			var rec struct {
				ARN       string `json:"arn"`
				Spec      string `json:"spec"`
				Materials []struct {
					ID     string `json:"id"`
					Sealed []byte `json:"sealed"`
				} `json:"materials"`
			}
			if err := json.Unmarshal(kv.Value, &rec); err != nil {
				return err
			}
			for i, m := range rec.Materials {
				ref := keystore.Ref{KeyARN: rec.ARN}
				if _, err := hex.Decode(ref.MaterialID[:], []byte(m.ID)); err != nil {
					return err
				}
				h := keystore.Handle{Ref: ref, Spec: rec.Spec, Persisted: m.Sealed}
				var pt []byte
				switch {
				case rec.Spec == kcrypto.SpecSymmetric:
					pt, err = ks.Unseal(ref, m.Sealed)
					if err == nil && len(pt) != 32 {
						t.Errorf("material of %s is %d bytes", rec.ARN, len(pt))
					}
				case kcrypto.HMACKeySize(rec.Spec) > 0:
					pt, err = ks.UnsealMACKey(h)
				default:
					pt, err = ks.UnsealKeyPair(h)
				}
				if err != nil {
					return err
				}
				name := rec.ARN[strings.LastIndex(rec.ARN, "/")+1:]
				if i < len(rec.Materials)-1 {
					name += "#" + strconv.Itoa(i) // an older material of a rotated key
				}
				out[name] = pt
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
