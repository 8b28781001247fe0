package crypto

import "crypto/fips140"

// FIPS mode.
//
// kagi is in FIPS mode when Go's FIPS 140-3 module is: the process was
// started with GODEBUG=fips140=on, or built with GOFIPS140 set (which makes
// that the default). It cannot change while the process runs. In FIPS mode
// kagi refuses the key specs and algorithms whose implementation is not in
// the module; outsideFIPS lists them, and this file is the one place that
// knows which they are.

// FIPSMode reports whether kagi runs on Go's FIPS 140-3 module in FIPS
// 140-3 mode.
func FIPSMode() bool { return fips140.Enabled() }

// FIPSModuleVersion is the version of Go's FIPS 140-3 module linked in:
// "v1.0.0" or "v1.26.0" when built with GOFIPS140 naming a frozen module,
// "latest" otherwise (the module in the Go release's own tree).
func FIPSModuleVersion() string { return fips140.Version() }

// outsideFIPS names the key specs (KeySpec, KeyPairSpec), algorithms
// (EncryptionAlgorithm) and wrapping algorithms (WrappingAlgorithm) that
// kagi implements outside Go's FIPS 140-3 module, or with a primitive the
// module does not count as approved, and says why. Everything else kagi
// offers is in the module: AES-256-GCM and HKDF-SHA256 (symmetric keys),
// HMAC-SHA-2, RSA PKCS #1 v1.5 and PSS signatures and RSAES-OAEP with
// SHA-256, ECDSA and ECDH on P-256/384/521, Ed25519 and Ed25519ph
// (FIPS 186-5), ML-KEM-768/1024 (crypto/mlkem), and crypto/rand.
var outsideFIPS = map[string]string{
	SpecSecp256k1: "secp256k1 is not a NIST curve; kagi's implementation is github.com/decred/dcrd/dcrec/secp256k1",
	SpecMLDSA44:   "kagi's ML-DSA is filippo.io/mldsa, not Go's module",
	SpecMLDSA65:   "kagi's ML-DSA is filippo.io/mldsa, not Go's module",
	SpecMLDSA87:   "kagi's ML-DSA is filippo.io/mldsa, not Go's module",
	SpecMLKEM512:  "ML-KEM-512 is github.com/cloudflare/circl; Go's crypto/mlkem has ML-KEM-768 and ML-KEM-1024 only",
	// Encryption and wrapping algorithms. Go's module counts RSAES-OAEP
	// with SHA-1 as a non-approved service (crypto/internal/fips140/rsa
	// checkApprovedHash), and has no AES Key Wrap with Padding (kagi uses
	// github.com/tink-crypto/tink-go for RFC 5649).
	"RSAES_OAEP_SHA_1":         "RSAES-OAEP with SHA-1 is not an approved service of Go's module",
	"RSA_AES_KEY_WRAP_SHA_1":   "RSAES-OAEP with SHA-1 is not an approved service of Go's module, and AES Key Wrap with Padding is not in it",
	"RSA_AES_KEY_WRAP_SHA_256": "AES Key Wrap with Padding (RFC 5649) is not in Go's module; kagi's is github.com/tink-crypto/tink-go",
}

// OutsideFIPS reports whether name, a key spec or an algorithm as AWS
// names it, is one kagi refuses in FIPS mode, and why. Names kagi does not
// know are not outside: they are refused elsewhere, as unknown.
func OutsideFIPS(name string) (why string, outside bool) {
	why, outside = outsideFIPS[name]
	return why, outside
}
