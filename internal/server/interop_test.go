package server_test

// Independent checks of kagi's signatures: every signature kagi makes
// through the API is verified outside Go, by pyca/cryptography (OpenSSL
// 3.5+ inside the wheel: RSA, ECDSA, Ed25519, ML-DSA), by a pure-Python
// RFC 8032 Ed25519ph (which no tool here has), and by the OpenSSL command
// line (RSA, ECDSA on all four curves, Ed25519), with the public key from
// GetPublicKey. The other way, signatures those tools make with their own
// keys verify in kagi's verifier (internal/crypto, the code Verify runs)
// from their DER public keys: kagi cannot hold their private keys until
// key import exists, so this goes through crypto.ParsePublicKey.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
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

// interopTools returns python3 (with a pyca/cryptography that has ML-DSA)
// and openssl, failing the test if either is missing: the machine image
// has both and .ci/run installs openssl.
func interopTools(t *testing.T) (python, openssl string) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not installed")
	}
	if out, err := exec.Command(python, "-c", "import cryptography.hazmat.primitives.asymmetric.mldsa").CombinedOutput(); err != nil {
		t.Fatalf("python3 has no pyca/cryptography with ML-DSA (46 or later; the machine image has 48): %v\n%s", err, out)
	}
	openssl, err = exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is not installed; .ci/run installs it")
	}
	return python, openssl
}

// interopJob is one job of testdata/interop.py.
type interopJob struct {
	Op   string `json:"op"`
	Spec string `json:"spec,omitempty"`
	Alg  string `json:"alg"`
	Type string `json:"type"`
	Pub  []byte `json:"pub,omitempty"`
	Msg  []byte `json:"msg"`
	Sig  []byte `json:"sig,omitempty"`
	N    int    `json:"n,omitempty"`
}

type interopResult struct {
	OK    bool     `json:"ok"`
	Error string   `json:"error"`
	Pub   []byte   `json:"pub"`
	Sigs  [][]byte `json:"sigs"`
}

func runInteropPy(t *testing.T, python string, jobs []interopJob) []interopResult {
	t.Helper()
	return runPyJobs[interopJob, interopResult](t, python, "interop.py", jobs)
}

// runPyJobs runs testdata/<script> with jobs as a JSON list on its stdin
// and reads one result per job from its stdout.
func runPyJobs[J, R any](t *testing.T, python, script string, jobs []J) []R {
	t.Helper()
	in, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", script))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.Bytes())
	}
	var res []R
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(jobs) {
		t.Fatalf("%s answered %d results for %d jobs: %v", script, len(res), len(jobs), err)
	}
	return res
}

// interopSigned is one signature kagi made.
type interopSigned struct {
	spec      types.KeySpec
	alg       types.SigningAlgorithmSpec
	mt        types.MessageType
	pub       []byte
	msg       []byte // what Sign got
	verifyMsg []byte // the message a verifier checks (the message for an external μ)
	sig       []byte
}

// TestInteropSignatures: kagi's signatures verify in pyca/cryptography
// and OpenSSL; theirs verify in kagi.
func TestInteropSignatures(t *testing.T) {
	t.Parallel()
	python, openssl := interopTools(t)
	env := servertest.Start(t)
	ctx := t.Context()
	msg := []byte("signed by kagi, checked outside Go")

	var signed []interopSigned
	for spec, algs := range sdkSigningKeys {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeSignVerify})
		pk, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range algs {
			h := sdkHash(alg)
			var ins []interopSigned
			switch alg {
			case "ED25519_SHA_512":
				ins = []interopSigned{{mt: types.MessageTypeRaw, msg: msg}}
			case "ED25519_PH_SHA_512":
				ins = []interopSigned{{mt: types.MessageTypeDigest, msg: sdkDigest(h, msg)}}
			case "ML_DSA_SHAKE_256":
				mu := sdkExternalMu(spec, pk.PublicKey, msg)
				ins = []interopSigned{{mt: types.MessageTypeRaw, msg: msg}, {mt: types.MessageTypeExternalMu, msg: mu, verifyMsg: msg}}
			default:
				ins = []interopSigned{{mt: types.MessageTypeRaw, msg: msg}, {mt: types.MessageTypeDigest, msg: sdkDigest(h, msg)}}
			}
			for _, in := range ins {
				out, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: k.KeyId, Message: in.msg, MessageType: in.mt, SigningAlgorithm: alg})
				if err != nil {
					t.Fatalf("%s %s %s: Sign: %v", spec, alg, in.mt, err)
				}
				in.spec, in.alg, in.pub, in.sig = spec, alg, pk.PublicKey, out.Signature
				if in.verifyMsg == nil {
					in.verifyMsg = in.msg
				}
				if alg == "ML_DSA_SHAKE_256" {
					// Both signatures (over M and over μ) verify in kagi
					// over μ too; pyca/cryptography checks them over M.
					_, err := env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: k.KeyId, Message: sdkExternalMu(spec, pk.PublicKey, msg), MessageType: types.MessageTypeExternalMu, Signature: out.Signature, SigningAlgorithm: alg})
					if err != nil {
						t.Errorf("%s: Verify EXTERNAL_MU of kagi's %s signature: %v", spec, in.mt, err)
					}
				}
				signed = append(signed, in)
			}
		}
	}

	// pyca/cryptography (and the RFC 8032 code for Ed25519ph), plus one
	// changed signature per algorithm that must fail: the checker can fail.
	var jobs []interopJob
	for _, s := range signed {
		typ := string(s.mt)
		if s.mt == types.MessageTypeExternalMu {
			typ = "RAW"
		}
		j := interopJob{Op: "verify", Alg: string(s.alg), Type: typ, Pub: s.pub, Msg: s.verifyMsg, Sig: s.sig}
		bad := j
		bad.Sig = append([]byte(nil), s.sig...)
		bad.Sig[len(bad.Sig)/3] ^= 0x10
		jobs = append(jobs, j, bad)
	}
	res := runInteropPy(t, python, jobs)
	for i, s := range signed {
		if r := res[2*i]; !r.OK {
			t.Errorf("pyca/cryptography rejects kagi's %s %s %s signature: %s", s.spec, s.alg, s.mt, r.Error)
		}
		if r := res[2*i+1]; r.OK || r.Error != "invalid signature" {
			t.Errorf("pyca/cryptography on a changed %s %s signature: %+v, want invalid signature", s.spec, s.alg, r)
		}
	}

	// The OpenSSL command line.
	checked := 0
	for _, s := range signed {
		if s.alg == "ED25519_PH_SHA_512" || s.alg == "ML_DSA_SHAKE_256" {
			continue // OpenSSL 3.0 has neither
		}
		if !interopOpenSSLVerify(t, openssl, s) {
			t.Errorf("openssl rejects kagi's %s %s %s signature", s.spec, s.alg, s.mt)
		}
		bad := s
		bad.sig = append([]byte(nil), s.sig...)
		bad.sig[len(bad.sig)/3] ^= 0x10
		if interopOpenSSLVerify(t, openssl, bad) {
			t.Errorf("openssl accepts a changed %s %s signature", s.spec, s.alg)
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("openssl checked %d signatures", checked)
	}

	// The other way: their keys, their signatures, kagi's verifier. Four
	// signatures per ECDSA case, so that high-S ones (OpenSSL does not
	// normalize S) are among them.
	jobs = jobs[:0]
	var cases []interopSigned
	for spec, algs := range sdkSigningKeys {
		for _, alg := range algs {
			h := sdkHash(alg)
			for _, mt := range []types.MessageType{types.MessageTypeRaw, types.MessageTypeDigest} {
				m := msg
				switch {
				case mt == types.MessageTypeDigest && (h == 0 || alg == "ED25519_SHA_512"),
					mt == types.MessageTypeRaw && alg == "ED25519_PH_SHA_512":
					continue
				case mt == types.MessageTypeDigest:
					m = sdkDigest(h, msg)
				}
				if spec == types.KeySpecRsa4096 && mt == types.MessageTypeDigest {
					continue // one RSA_4096 key per algorithm is enough
				}
				cases = append(cases, interopSigned{spec: spec, alg: alg, mt: mt, msg: m})
				jobs = append(jobs, interopJob{Op: "sign", Spec: string(spec), Alg: string(alg), Type: string(mt), Msg: m, N: 4})
			}
		}
	}
	res = runInteropPy(t, python, jobs)
	highS, externalMu := 0, 0
	for i, c := range cases {
		r := res[i]
		if r.Error != "" {
			t.Fatalf("interop.py could not sign %s %s: %s", c.spec, c.alg, r.Error)
		}
		pub, err := kcrypto.ParsePublicKey(string(c.spec), r.Pub)
		if err != nil {
			t.Errorf("kagi does not parse pyca/cryptography's %s public key: %v", c.spec, err)
			continue
		}
		for _, sig := range r.Sigs {
			if err := pub.Verify(string(c.alg), string(c.mt), c.msg, sig); err != nil {
				t.Errorf("kagi rejects pyca/cryptography's %s %s %s signature: %v", c.spec, c.alg, c.mt, err)
			}
			if c.alg == "ML_DSA_SHAKE_256" {
				// Over μ, computed here from their public key: the
				// hand-written verifier (internal/crypto/mldsa_mu.go)
				// against an independent signer.
				mu := sdkExternalMu(c.spec, r.Pub, c.msg)
				if err := pub.Verify(string(c.alg), kcrypto.MessageExternalMu, mu, sig); err != nil {
					t.Errorf("kagi rejects pyca/cryptography's %s signature over μ: %v", c.spec, err)
				}
				mu[0] ^= 1
				if err := pub.Verify(string(c.alg), kcrypto.MessageExternalMu, mu, sig); !errors.Is(err, kcrypto.ErrInvalidSignature) {
					t.Errorf("pyca/cryptography's %s signature verifies over another μ", c.spec)
				}
				externalMu++
			}
			if c.spec == types.KeySpecEccSecgP256k1 && interopHighS(sig) {
				highS++
			}
		}
	}
	// An ECDSA signature has a high S with probability 1/2; with 16
	// signatures, none has one once in 65,536 runs.
	if externalMu < 3*4 {
		t.Errorf("%d pyca/cryptography ML-DSA signatures checked over μ, want 12", externalMu)
	}
	highS += interopOpenSSLSign(t, openssl, msg)
	if highS == 0 {
		t.Error("no secp256k1 signature with a high S was checked")
	}
}

// interopHighS reports whether a DER secp256k1 signature has s > n/2.
func interopHighS(sig []byte) bool {
	// SEQUENCE { INTEGER r, INTEGER s }, short lengths.
	if len(sig) < 8 || sig[0] != 0x30 {
		return false
	}
	rl := int(sig[3])
	if 4+rl+2 > len(sig) {
		return false
	}
	s := bytes.TrimLeft(sig[4+rl+2:], "\x00")
	half, _ := hex.DecodeString("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0") // ⌊n/2⌋
	return len(s) == 32 && bytes.Compare(s, half) > 0
}

// interopOpenSSLVerify verifies one kagi signature with the openssl
// command, from GetPublicKey's DER.
func interopOpenSSLVerify(t *testing.T, openssl string, s interopSigned) bool {
	t.Helper()
	dir := t.TempDir()
	pubPEM := filepath.Join(dir, "pub.pem")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: s.pub}))
	msgFile, sigFile := write("msg", s.msg), write("sig", s.sig)
	alg := string(s.alg)
	md := "sha" + alg[len(alg)-3:]
	var args []string
	switch {
	case alg == "ED25519_SHA_512":
		args = []string{"pkeyutl", "-verify", "-pubin", "-inkey", pubPEM, "-rawin", "-in", msgFile, "-sigfile", sigFile}
	case s.mt == types.MessageTypeDigest:
		args = []string{"pkeyutl", "-verify", "-pubin", "-inkey", pubPEM, "-in", msgFile, "-sigfile", sigFile, "-pkeyopt", "digest:" + md}
		if strings.HasPrefix(alg, "RSASSA_PSS") {
			args = append(args, "-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:digest")
		}
	default:
		args = []string{"dgst", "-" + md, "-verify", pubPEM, "-signature", sigFile}
		if strings.HasPrefix(alg, "RSASSA_PSS") {
			args = append(args, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest")
		}
		args = append(args, msgFile)
	}
	out, err := exec.Command(openssl, args...).CombinedOutput()
	if err != nil && !bytes.Contains(bytes.ToLower(out), []byte("verification failure")) {
		t.Logf("openssl %s: %v\n%s", strings.Join(args, " "), err, out) // not a verdict: a usage error
	}
	return err == nil
}

// interopOpenSSLSign signs with keys the openssl command makes and checks
// the signatures in kagi's verifier: secp256k1 and the NIST curves (high S
// about half the time), RSA PSS with a digest-long salt, Ed25519.
func interopOpenSSLSign(t *testing.T, openssl string, msg []byte) (highS int) {
	t.Helper()
	dir := t.TempDir()
	msgFile := filepath.Join(dir, "msg")
	if err := os.WriteFile(msgFile, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	cases := []struct {
		spec, alg string
		gen       []string
		sign      []string
	}{
		{kcrypto.SpecSecp256k1, "ECDSA_SHA_256", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"}, []string{"dgst", "-sha256"}},
		{kcrypto.SpecP256, "ECDSA_SHA_256", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}, []string{"dgst", "-sha256"}},
		{kcrypto.SpecP384, "ECDSA_SHA_384", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"}, []string{"dgst", "-sha384"}},
		{kcrypto.SpecP521, "ECDSA_SHA_512", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"}, []string{"dgst", "-sha512"}},
		{kcrypto.SpecRSA2048, "RSASSA_PSS_SHA_384", []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"},
			[]string{"dgst", "-sha384", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"}},
		{kcrypto.SpecRSA2048, "RSASSA_PKCS1_V1_5_SHA_256", []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}, []string{"dgst", "-sha256"}},
		{kcrypto.SpecEd25519, "ED25519_SHA_512", []string{"-algorithm", "ED25519"}, []string{"pkeyutl", "-rawin"}},
	}
	for _, c := range cases {
		key, pub := filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.der")
		run(append([]string{"genpkey", "-out", key}, c.gen...)...)
		run("pkey", "-in", key, "-pubout", "-outform", "DER", "-out", pub)
		der, err := os.ReadFile(pub)
		if err != nil {
			t.Fatal(err)
		}
		p, err := kcrypto.ParsePublicKey(c.spec, der)
		if err != nil {
			t.Fatalf("kagi does not parse OpenSSL's %s public key: %v", c.spec, err)
		}
		n := 1
		if strings.HasPrefix(c.alg, "ECDSA") {
			n = 8
		}
		for i := range n {
			sigFile := filepath.Join(dir, "sig")
			args := append(append([]string{}, c.sign...), "-sign", key, "-out", sigFile)
			if c.sign[0] == "pkeyutl" {
				args = append(args[:len(args)-4], "-inkey", key, "-in", msgFile, "-out", sigFile, "-sign")
			} else {
				args = append(args, msgFile)
			}
			run(args...)
			sig, err := os.ReadFile(sigFile)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Verify(c.alg, kcrypto.MessageRaw, msg, sig); err != nil {
				t.Errorf("kagi rejects OpenSSL's %s %s signature %d: %v", c.spec, c.alg, i, err)
			}
			if c.spec == kcrypto.SpecSecp256k1 && interopHighS(sig) {
				highS++
			}
		}
	}
	t.Logf("secp256k1 signatures with a high S from OpenSSL, all accepted: %d of 8", highS)
	return highS
}

// TestInteropMAC: kagi's MACs are RFC 2104 HMACs, as Python's hmac module
// computes them with the key unsealed from the stopped server's data
// directory.
func TestInteropMAC(t *testing.T) {
	t.Parallel()
	python, _ := interopTools(t)
	env := servertest.Start(t)
	msg := []byte("a message to authenticate")
	type result struct {
		id, hash string
		mac      []byte
	}
	var results []result
	for _, s := range sdkMACSpecs {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: s.spec, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
		out, err := env.KMS.GenerateMac(t.Context(), &kms.GenerateMacInput{KeyId: k.KeyId, Message: msg, MacAlgorithm: s.alg})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, result{*k.KeyId, "sha" + string(s.alg)[len(s.alg)-3:], out.Mac})
	}
	if err := env.Server.Close(); err != nil {
		t.Fatal(err)
	}
	keys := unsealAll(t, env.DataDir)
	for _, r := range results {
		key := keys[r.id]
		if len(key) == 0 {
			t.Fatalf("no key for %s", r.id)
		}
		script := "import hmac, hashlib, sys; sys.stdout.write(hmac.new(bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), hashlib." + r.hash + ").hexdigest())"
		out, err := exec.Command(python, "-c", script, hex.EncodeToString(key), hex.EncodeToString(msg)).Output()
		if err != nil {
			t.Fatalf("python3 hmac: %v", err)
		}
		if string(out) != hex.EncodeToString(r.mac) {
			t.Errorf("HMAC-%s: kagi's MAC %x, Python's %s", r.hash, r.mac, out)
		}
		if len(key) != len(r.mac) {
			t.Errorf("HMAC-%s key is %d bytes, want the hash's %d", r.hash, len(key), len(r.mac))
		}
	}
}
