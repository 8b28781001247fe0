package server_test

// Independent checks of GenerateDataKeyPair: every private key kagi
// returns (in plaintext, and decrypted from a WithoutPlaintext ciphertext)
// loads in pyca/cryptography -- ML-KEM-512, which it lacks, in the pure
// Python FIPS 203 code of testdata/datakeypair.py, itself checked against
// pyca/cryptography's ML-KEM-768 and -1024 -- and in the OpenSSL command
// line (all but ML-KEM, which OpenSSL 3.0 lacks); its public half there is
// the PublicKey kagi returned; they write the key as the same PKCS #8
// bytes; and what they do with it (a signature; an RSA-OAEP decryption or
// an ML-KEM decapsulation of what Go made with the returned public key)
// checks out against the returned public key.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// interopPairJob is one job of testdata/datakeypair.py.
type interopPairJob struct {
	Spec  string `json:"spec"`
	PKCS8 []byte `json:"pkcs8"`
	SPKI  []byte `json:"spki"`
	Msg   []byte `json:"msg"`
	CT    []byte `json:"ct,omitempty"`
}

type interopPairResult struct {
	Pub       []byte `json:"pub"`
	SamePKCS8 bool   `json:"same_pkcs8"`
	Sig       []byte `json:"sig"`
	Plain     []byte `json:"plain"`
	Secret    []byte `json:"secret"`
	Error     string `json:"error"`
}

// interopPair is one data key pair kagi returned, with what Go made for
// the outside tools with its public key.
type interopPair struct {
	how    string // "GenerateDataKeyPair" or "WithoutPlaintext+Decrypt"
	spec   types.DataKeyPairSpec
	pkcs8  []byte
	pub    *kcrypto.PublicKey
	ct     []byte // RSA-OAEP ciphertext of msg, or ML-KEM ciphertext
	secret []byte // the ML-KEM shared secret
}

// interopPairSigAlg is the signing algorithm datakeypair.py and the
// openssl commands use for a spec ("" for ML-KEM).
func interopPairSigAlg(spec types.DataKeyPairSpec) string {
	switch {
	case strings.HasPrefix(string(spec), "RSA_"):
		return "RSASSA_PSS_SHA_256"
	case spec == types.DataKeyPairSpecEccNistP384:
		return "ECDSA_SHA_384"
	case spec == types.DataKeyPairSpecEccNistP521:
		return "ECDSA_SHA_512"
	case spec == types.DataKeyPairSpecEccNistP256, spec == types.DataKeyPairSpecEccSecgP256k1:
		return "ECDSA_SHA_256"
	case spec == types.DataKeyPairSpecEccNistEdwards25519:
		return "ED25519_SHA_512"
	}
	return ""
}

func TestInteropDataKeyPairs(t *testing.T) {
	t.Parallel()
	python, openssl := interopTools(t)
	if out, err := exec.Command(python, "-c", "import cryptography.hazmat.primitives.asymmetric.mlkem").CombinedOutput(); err != nil {
		t.Fatalf("python3 has no pyca/cryptography with ML-KEM (the machine image has 48): %v\n%s", err, out)
	}
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	ec := map[string]string{"checked": "outside Go"}
	msg := []byte("signed with a kagi data key pair, outside kagi")

	var pairs []interopPair
	for _, spec := range sdkDataKeyPairSpecs {
		out, err := env.KMS.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: k.KeyId, KeyPairSpec: spec, EncryptionContext: ec})
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		wo, err := env.KMS.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: k.KeyId, KeyPairSpec: spec, EncryptionContext: ec})
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wo.PrivateKeyCiphertextBlob, EncryptionContext: ec})
		if err != nil {
			t.Fatalf("%s: Decrypt: %v", spec, err)
		}
		for _, p := range []struct {
			how        string
			pkcs8, pub []byte
		}{{"GenerateDataKeyPair", out.PrivateKeyPlaintext, out.PublicKey}, {"WithoutPlaintext+Decrypt", dec.Plaintext, wo.PublicKey}} {
			pub, err := kcrypto.ParsePublicKey(string(spec), p.pub)
			if err != nil {
				t.Fatalf("%s: PublicKey: %v", spec, err)
			}
			pair := interopPair{how: p.how, spec: spec, pkcs8: p.pkcs8, pub: pub}
			switch {
			case strings.HasPrefix(string(spec), "ML_KEM_"):
				pair.secret, pair.ct, err = pub.Encapsulate()
			case strings.HasPrefix(string(spec), "RSA_"):
				pair.ct, err = pub.EncryptOAEP("RSAES_OAEP_SHA_256", msg)
			}
			if err != nil {
				t.Fatal(err)
			}
			pairs = append(pairs, pair)
		}
	}

	// pyca/cryptography and the pure-Python ML-KEM.
	jobs := make([]interopPairJob, len(pairs))
	for i, p := range pairs {
		jobs[i] = interopPairJob{Spec: string(p.spec), PKCS8: p.pkcs8, SPKI: p.pub.DER(), Msg: msg, CT: p.ct}
	}
	res := runPyJobs[interopPairJob, interopPairResult](t, python, "datakeypair.py", jobs)
	for i, p := range pairs {
		r, what := res[i], string(p.spec)+" ("+p.how+")"
		if r.Error != "" {
			t.Errorf("%s: pyca/cryptography: %s", what, r.Error)
			continue
		}
		if !bytes.Equal(r.Pub, p.pub.DER()) {
			t.Errorf("%s: the private key's public half outside Go is not kagi's PublicKey", what)
		}
		if !r.SamePKCS8 {
			t.Errorf("%s: pyca/cryptography encodes the key as other PKCS #8 bytes", what)
		}
		if alg := interopPairSigAlg(p.spec); alg != "" {
			if err := p.pub.Verify(alg, kcrypto.MessageRaw, msg, r.Sig); err != nil {
				t.Errorf("%s: pyca/cryptography's %s signature does not verify with the PublicKey: %v", what, alg, err)
			}
			bad := bytes.Clone(r.Sig)
			bad[len(bad)/2] ^= 1
			if err := p.pub.Verify(alg, kcrypto.MessageRaw, msg, bad); err == nil {
				t.Errorf("%s: a changed signature verifies", what)
			}
		}
		if strings.HasPrefix(string(p.spec), "RSA_") && !bytes.Equal(r.Plain, msg) {
			t.Errorf("%s: pyca/cryptography decrypts Go's OAEP ciphertext to %q", what, r.Plain)
		}
		if p.secret != nil && (len(r.Secret) != 32 || !bytes.Equal(r.Secret, p.secret)) {
			t.Errorf("%s: the shared secret decapsulated outside Go differs", what)
		}
	}

	// The OpenSSL command line (no ML-KEM in OpenSSL 3.0).
	checked := 0
	for _, p := range pairs {
		if strings.HasPrefix(string(p.spec), "ML_KEM_") {
			continue
		}
		interopOpenSSLPair(t, openssl, p, msg)
		checked++
	}
	if checked != 16 {
		t.Errorf("openssl checked %d keys, want 16", checked)
	}
}

// interopOpenSSLPair loads a PKCS #8 key in openssl, compares its public
// half and its re-encoding, and verifies a signature openssl makes with it
// against the PublicKey.
func interopOpenSSLPair(t *testing.T, openssl string, p interopPair, msg []byte) {
	t.Helper()
	what := string(p.spec) + " (" + p.how + ")"
	dir := t.TempDir()
	keyFile, msgFile, sigFile := filepath.Join(dir, "key.der"), filepath.Join(dir, "msg"), filepath.Join(dir, "sig")
	for name, b := range map[string][]byte{keyFile: p.pkcs8, msgFile: msg} {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) []byte {
		t.Helper()
		var stderr bytes.Buffer
		cmd := exec.Command(openssl, args...)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: openssl %s: %v\n%s", what, strings.Join(args, " "), err, stderr.Bytes())
		}
		return out
	}
	if pub := run("pkey", "-inform", "DER", "-in", keyFile, "-pubout", "-outform", "DER"); !bytes.Equal(pub, p.pub.DER()) {
		t.Errorf("%s: openssl derives another public key", what)
	}
	// (openssl pkey writes DER keys in the traditional forms; pkcs8 -topk8
	// writes PKCS #8.)
	if der := run("pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-in", keyFile, "-outform", "DER"); !bytes.Equal(der, p.pkcs8) {
		t.Errorf("%s: openssl re-encodes the key as other PKCS #8 bytes", what)
	}
	alg := interopPairSigAlg(p.spec)
	switch {
	case alg == "ED25519_SHA_512":
		run("pkeyutl", "-sign", "-rawin", "-keyform", "DER", "-inkey", keyFile, "-in", msgFile, "-out", sigFile)
	case strings.HasPrefix(alg, "RSASSA_PSS"):
		run("dgst", "-sha256", "-keyform", "DER", "-sign", keyFile, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest", "-out", sigFile, msgFile)
	default:
		run("dgst", "-sha"+alg[len(alg)-3:], "-keyform", "DER", "-sign", keyFile, "-out", sigFile, msgFile)
	}
	sig, err := os.ReadFile(sigFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pub.Verify(alg, kcrypto.MessageRaw, msg, sig); err != nil {
		t.Errorf("%s: openssl's %s signature does not verify with the PublicKey: %v", what, alg, err)
	}
}
