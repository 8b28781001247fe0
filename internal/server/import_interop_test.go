package server_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// pqJob is one job of testdata/import_pq.py; pqResult its answer.
type pqJob struct {
	Op   string `json:"op"`
	Spec string `json:"spec"`
	Priv []byte `json:"priv,omitempty"`
	Msg  []byte `json:"msg,omitempty"`
	Sig  []byte `json:"sig,omitempty"`
}

type pqResult struct {
	Priv   []byte `json:"priv"`
	Pub    []byte `json:"pub"`
	OK     bool   `json:"ok"`
	CT     []byte `json:"ct"`
	Secret []byte `json:"secret"`
}

func runImportPQ(t *testing.T, python string, jobs []pqJob) []pqResult {
	t.Helper()
	in, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "import_pq.py"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("import_pq.py: %v\n%s", err, stderr.Bytes())
	}
	var res []pqResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(jobs) {
		t.Fatalf("import_pq.py answered %d results for %d jobs: %v", len(res), len(jobs), err)
	}
	return res
}

// TestImportPostQuantumInterop: ML-DSA and ML-KEM private keys made by
// pyca/cryptography (PKCS #8, seed form) imported into kagi are the keys
// kagi uses: GetPublicKey is pyca's public key, pyca verifies kagi's
// ML-DSA signature, and kagi decapsulates what pyca encapsulated.
func TestImportPostQuantumInterop(t *testing.T) {
	python, _ := interopTools(t)
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	specs := []struct {
		spec  types.KeySpec
		usage types.KeyUsageType
	}{
		{types.KeySpecMlDsa65, types.KeyUsageTypeSignVerify},
		{types.KeySpecMlDsa87, types.KeyUsageTypeSignVerify},
		{types.KeySpecMlKem768, types.KeyUsageTypeEncapsulateDecapsulate},
		{types.KeySpecMlKem1024, types.KeyUsageTypeEncapsulateDecapsulate},
	}
	var gen []pqJob
	for _, s := range specs {
		gen = append(gen, pqJob{Op: "gen", Spec: string(s.spec)})
	}
	keys := runImportPQ(t, python, gen)

	msg := []byte("signed by a key pyca/cryptography made")
	var check []pqJob
	for i, s := range specs {
		m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: s.spec, KeyUsage: s.usage})
		alg := types.AlgorithmSpecRsaAesKeyWrapSha256
		pub, tok := sdkImportParams(t, env, *m.KeyId, alg, types.WrappingKeySpecRsa3072)
		if _, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
			EncryptedKeyMaterial: sdkWrap(t, pub, alg, keys[i].Priv), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
			t.Fatalf("%s: ImportKeyMaterial: %v", s.spec, err)
		}
		gp, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: m.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gp.PublicKey, keys[i].Pub) {
			t.Errorf("%s: GetPublicKey differs from pyca/cryptography's public key", s.spec)
		}
		if s.usage == types.KeyUsageTypeSignVerify {
			sig, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecMlDsaShake256})
			if err != nil {
				t.Fatal(err)
			}
			check = append(check, pqJob{Op: "verify", Spec: string(s.spec), Priv: keys[i].Priv, Msg: msg, Sig: sig.Signature})
		} else {
			check = append(check, pqJob{Op: "encap", Spec: string(s.spec), Priv: keys[i].Priv})
		}
		keys[i].Pub = []byte(*m.KeyId) // the kagi key, for the second round
	}
	for i, r := range runImportPQ(t, python, check) {
		s := specs[i]
		if s.usage == types.KeyUsageTypeSignVerify {
			if !r.OK {
				t.Errorf("%s: pyca/cryptography does not verify kagi's signature with the imported key", s.spec)
			}
			continue
		}
		keyID := string(keys[i].Pub)
		out, err := env.KMS.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: &keyID, SharedSecretCiphertextBlob: r.CT,
			EncapsulationAlgorithm: types.EncapsulationAlgorithmSpecMlKem})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.SharedSecret, r.Secret) {
			t.Errorf("%s: kagi decapsulated another secret than pyca/cryptography encapsulated", s.spec)
		}
	}
}
