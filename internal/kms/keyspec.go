package kms

import "github.com/kagikms/kagi/internal/crypto"

// algorithms is what a key of one spec and usage can do, as DescribeKey and
// GetPublicKey report it: exactly one of the lists is set (AWS's key-spec
// table), in AWS's order.
type algorithms struct {
	Encryption    []string
	Signing       []string
	Mac           []string
	KeyAgreement  []string
	Encapsulation []string
}

var (
	rsaSigning = []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
		"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"}
	rsaEncryption = []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
)

// keyAlgorithms returns the algorithms of a key of spec with usage.
func keyAlgorithms(spec, usage string) algorithms {
	switch usage {
	case "ENCRYPT_DECRYPT":
		if spec == crypto.SpecSymmetric {
			return algorithms{Encryption: []string{algSymmetric}}
		}
		return algorithms{Encryption: rsaEncryption}
	case "GENERATE_VERIFY_MAC":
		return algorithms{Mac: []string{crypto.MACAlgorithm(spec)}}
	case "KEY_AGREEMENT":
		return algorithms{KeyAgreement: []string{"ECDH"}}
	case "ENCAPSULATE_DECAPSULATE":
		return algorithms{Encapsulation: []string{"ML_KEM"}}
	case "SIGN_VERIFY":
		switch spec {
		case crypto.SpecRSA2048, crypto.SpecRSA3072, crypto.SpecRSA4096:
			return algorithms{Signing: rsaSigning}
		case crypto.SpecP256, crypto.SpecSecp256k1:
			return algorithms{Signing: []string{"ECDSA_SHA_256"}}
		case crypto.SpecP384:
			return algorithms{Signing: []string{"ECDSA_SHA_384"}}
		case crypto.SpecP521:
			return algorithms{Signing: []string{"ECDSA_SHA_512"}}
		case crypto.SpecEd25519:
			return algorithms{Signing: []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}}
		case crypto.SpecMLDSA44, crypto.SpecMLDSA65, crypto.SpecMLDSA87:
			return algorithms{Signing: []string{"ML_DSA_SHAKE_256"}}
		}
	}
	return algorithms{}
}

// customerMasterKeySpec is the deprecated CustomerMasterKeySpec of a key:
// its KeySpec, or "" (absent) for the specs that enum lacks (ML-DSA,
// ML-KEM, Ed25519).
func customerMasterKeySpec(spec string) string {
	if contains(customerMasterKeySpecs, spec) {
		return spec
	}
	return ""
}

// isHMAC reports whether spec is an HMAC key spec.
func isHMAC(spec string) bool { return crypto.HMACKeySize(spec) > 0 }
