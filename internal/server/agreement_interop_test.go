package server_test

// Independent checks of DeriveSharedSecret, Encapsulate and Decapsulate:
// shared secrets kagi derives equal the ones pyca/cryptography and the
// OpenSSL command line derive with their own peer keys and GetPublicKey's
// key; ML-KEM ciphertexts made outside Go with GetPublicKey's key
// decapsulate in kagi to their secrets, and kagi's ciphertexts (and
// changed ones, through implicit rejection) decapsulate outside Go to
// kagi's secrets, with the private seed unsealed from the stopped server's
// data directory. See testdata/agreement.py for what checks ML-KEM-512,
// which neither tool has.

import (
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// agreeJob is one job of testdata/agreement.py.
type agreeJob struct {
	Op   string `json:"op"`
	Spec string `json:"spec"`
	Pub  []byte `json:"pub,omitempty"`
	Seed []byte `json:"seed,omitempty"`
	Ct   []byte `json:"ct,omitempty"`
}

type agreeResult struct {
	Error  string `json:"error"`
	Pub    []byte `json:"pub"`
	Secret []byte `json:"secret"`
	Ct     []byte `json:"ct"`
}

func runAgreementPy(t *testing.T, python string, jobs []agreeJob) []agreeResult {
	t.Helper()
	res := runPyJobs[agreeJob, agreeResult](t, python, "agreement.py", jobs)
	for i, r := range res {
		if r.Error != "" {
			t.Fatalf("agreement.py %s %s: %s", jobs[i].Op, jobs[i].Spec, r.Error)
		}
	}
	return res
}

// TestInteropDeriveSharedSecret: kagi's ECDH secrets equal pyca/
// cryptography's and OpenSSL's, on every KEY_AGREEMENT curve.
func TestInteropDeriveSharedSecret(t *testing.T) {
	t.Parallel()
	python, openssl := interopTools(t)
	env := servertest.Start(t)
	ctx := t.Context()
	derive := func(keyID *string, peer []byte) []byte {
		t.Helper()
		out, err := env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: keyID, KeyAgreementAlgorithm: "ECDH", PublicKey: peer})
		if err != nil {
			t.Fatalf("DeriveSharedSecret: %v", err)
		}
		return out.SharedSecret
	}
	curves := map[types.KeySpec]string{types.KeySpecEccNistP256: "P-256", types.KeySpecEccNistP384: "P-384", types.KeySpecEccNistP521: "P-521"}
	var jobs []agreeJob
	var keys []*string
	for _, c := range sdkAgreementCurves {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: c.spec, KeyUsage: types.KeyUsageTypeKeyAgreement})
		pk, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.KeyId)
		jobs = append(jobs, agreeJob{Op: "ecdh", Spec: string(c.spec), Pub: pk.PublicKey})

		// OpenSSL: its own key pair, `pkeyutl -derive` with kagi's key.
		dir := t.TempDir()
		run := func(args ...string) {
			t.Helper()
			if out, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		kagiPEM, peerKey, peerDER, secretFile := filepath.Join(dir, "kagi.pem"), filepath.Join(dir, "peer.pem"), filepath.Join(dir, "peer.der"), filepath.Join(dir, "secret")
		if err := os.WriteFile(kagiPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk.PublicKey}), 0o600); err != nil {
			t.Fatal(err)
		}
		run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:"+curves[c.spec], "-out", peerKey)
		run("pkey", "-in", peerKey, "-pubout", "-outform", "DER", "-out", peerDER)
		run("pkeyutl", "-derive", "-inkey", peerKey, "-peerkey", kagiPEM, "-out", secretFile)
		der, err := os.ReadFile(peerDER)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(secretFile)
		if err != nil {
			t.Fatal(err)
		}
		if got := derive(k.KeyId, der); !bytes.Equal(got, want) || len(got) != c.secret {
			t.Errorf("%s: kagi's shared secret with an OpenSSL key (%d bytes) is not OpenSSL's (%d bytes)", c.spec, len(got), len(want))
		}
	}
	res := runAgreementPy(t, python, jobs)
	for i, r := range res {
		got := derive(keys[i], r.Pub)
		if !bytes.Equal(got, r.Secret) || len(got) != sdkAgreementCurves[i].secret {
			t.Errorf("%s: kagi's shared secret with a pyca/cryptography key is not pyca/cryptography's", jobs[i].Spec)
		}
		// Another peer, another secret: the comparison can fail.
		if other := res[(i+1)%len(res)]; i == 0 && bytes.Equal(got, other.Secret) {
			t.Error("two peers gave one secret")
		}
	}
}

// TestInteropEncapsulateDecapsulate: ML-KEM ciphertexts made outside Go
// decapsulate in kagi, and kagi's decapsulate outside Go, for every
// ML-KEM spec; a changed ciphertext gives the same implicit-rejection
// secret in both.
func TestInteropEncapsulateDecapsulate(t *testing.T) {
	t.Parallel()
	python, _ := interopTools(t)
	env := servertest.Start(t)
	ctx := t.Context()
	type kemKey struct {
		spec         types.KeySpec
		id           string
		pub          []byte
		ct, ss       []byte // kagi's Encapsulate
		badCt, badSS []byte // a changed ciphertext and what kagi's Decapsulate makes of it
	}
	var keys []*kemKey
	var jobs []agreeJob
	for _, c := range sdkKEMSizes {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: c.spec, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
		pk, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, &kemKey{spec: c.spec, id: *k.KeyId, pub: pk.PublicKey})
		jobs = append(jobs, agreeJob{Op: "encap", Spec: string(c.spec), Pub: pk.PublicKey})
	}
	// Theirs in kagi.
	for i, r := range runAgreementPy(t, python, jobs) {
		k := keys[i]
		out, err := env.KMS.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: &k.id, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: r.Ct})
		if err != nil {
			t.Fatalf("%s: Decapsulate: %v", k.spec, err)
		}
		if !bytes.Equal(out.SharedSecret, r.Secret) || len(r.Secret) != 32 {
			t.Errorf("%s: kagi decapsulates an outside ciphertext to another secret", k.spec)
		}
		enc, err := env.KMS.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: &k.id, EncapsulationAlgorithm: "ML_KEM"})
		if err != nil {
			t.Fatal(err)
		}
		k.ct, k.ss = enc.SharedSecretCiphertextBlob, enc.SharedSecret
		k.badCt = append([]byte(nil), k.ct...)
		k.badCt[len(k.badCt)/2] ^= 0x40
		bad, err := env.KMS.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: &k.id, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: k.badCt})
		if err != nil {
			t.Fatal(err)
		}
		k.badSS = bad.SharedSecret
	}
	// Kagi's outside, with the seed from the stopped server's data.
	if err := env.Server.Close(); err != nil {
		t.Fatal(err)
	}
	seeds := unsealAll(t, env.DataDir)
	jobs = jobs[:0]
	for _, k := range keys {
		seed := seeds[k.id]
		if len(seed) != 64 {
			t.Fatalf("%s: the unsealed private key is %d bytes, want the 64-byte seed", k.spec, len(seed))
		}
		jobs = append(jobs, agreeJob{Op: "decap", Spec: string(k.spec), Seed: seed, Pub: k.pub, Ct: k.ct},
			agreeJob{Op: "decap", Spec: string(k.spec), Seed: seed, Pub: k.pub, Ct: k.badCt})
	}
	res := runAgreementPy(t, python, jobs)
	for i, k := range keys {
		if !bytes.Equal(res[2*i].Secret, k.ss) {
			t.Errorf("%s: kagi's ciphertext decapsulates outside Go to another secret", k.spec)
		}
		if !bytes.Equal(res[2*i+1].Secret, k.badSS) || bytes.Equal(k.badSS, k.ss) {
			t.Errorf("%s: a changed ciphertext: kagi's implicit-rejection secret is not the one outside Go", k.spec)
		}
	}
}
