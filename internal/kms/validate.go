package kms

import (
	"fmt"
	"strings"

	"github.com/kagikms/kagi/internal/awserr"
)

// validator collects constraint violations in AWS's wording, so that one
// ValidationException names every bad member, as AWS does:
//
//	1 validation error detected: Value 'x' at 'keyId' failed to satisfy
//	constraint: Member must have length less than or equal to 2048
type validator struct {
	errs []string
}

func (v *validator) add(field, value, constraint string) {
	v.errs = append(v.errs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", value, field, constraint))
}

func quote(s string) string {
	const max = 256 // keep messages short; AWS truncates long values too
	if len(s) > max {
		s = s[:max] + "..."
	}
	return "'" + s + "'"
}

// required checks that a string member is present.
func (v *validator) required(field, s string) bool {
	if s == "" {
		v.add(field, "null", "Member must not be null")
		return false
	}
	return true
}

// length checks the length of a string member (in characters, as AWS does).
func (v *validator) length(field, s string, min, max int) {
	n := len([]rune(s))
	if n < min {
		v.add(field, quote(s), fmt.Sprintf("Member must have length greater than or equal to %d", min))
	}
	if n > max {
		v.add(field, quote(s), fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
}

// blob checks the decoded length of a binary member. Values are never
// quoted: a blob may be a plaintext.
func (v *validator) blob(field string, b []byte, min, max int, isRequired bool) {
	if b == nil {
		if isRequired {
			v.add(field, "null", "Member must not be null")
		}
		return
	}
	if len(b) < min {
		v.add(field, "'java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]'", fmt.Sprintf("Member must have length greater than or equal to %d", min))
	}
	if len(b) > max {
		v.add(field, fmt.Sprintf("'java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]'", len(b), len(b)), fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
}

// intRange checks an integer member.
func (v *validator) intRange(field string, n *int, min, max int) {
	if n == nil {
		return
	}
	if *n < min {
		v.add(field, fmt.Sprintf("'%d'", *n), fmt.Sprintf("Member must have value greater than or equal to %d", min))
	}
	if *n > max {
		v.add(field, fmt.Sprintf("'%d'", *n), fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
}

// enum checks an optional enum member against its value set.
func (v *validator) enum(field, s string, values []string) {
	if s == "" {
		return
	}
	for _, x := range values {
		if s == x {
			return
		}
	}
	v.add(field, quote(s), "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

// keyID checks a KeyId-like member: required, 1–2048 characters.
func (v *validator) keyID(field, s string) {
	if v.required(field, s) {
		v.length(field, s, 1, 2048)
	}
}

// grantTokens checks the GrantTokens list.
func (v *validator) grantTokens(tokens []string) {
	if len(tokens) > 10 {
		v.add("grantTokens", fmt.Sprintf("'%v'", tokens), "Member must have length less than or equal to 10")
	}
	for _, t := range tokens {
		v.length("grantTokens", t, 1, 8192)
	}
}

// listLimit checks the Limit member of a List operation.
func (v *validator) listLimit(l *int, max int) {
	v.intRange("limit", l, 1, max)
}

// marker checks the Marker member of a List operation.
func (v *validator) marker(m *string) {
	if m == nil {
		return
	}
	v.length("marker", *m, 1, 1024)
	for _, r := range *m {
		if r < 0x20 || r > 0xff {
			v.add("marker", quote(*m), `Member must satisfy regular expression pattern: [\u0020-\u00FF]*`)
			return
		}
	}
}

// err returns the ValidationException, or nil when nothing was wrong.
func (v *validator) err() error {
	switch len(v.errs) {
	case 0:
		return nil
	case 1:
		return awserr.New(awserr.Validation, "1 validation error detected: %s", v.errs[0])
	}
	return awserr.New(awserr.Validation, "%d validation errors detected: %s", len(v.errs), strings.Join(v.errs, "; "))
}

// Enum value sets, from the AWS KMS model.
var (
	keySpecs = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
		"ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2",
		"ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ECC_NIST_EDWARDS25519", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"}
	customerMasterKeySpecs = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
		"ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2"}
	keyUsages            = []string{"SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"}
	origins              = []string{"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"}
	encryptionAlgorithms = []string{"SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"}
	dataKeySpecs         = []string{"AES_256", "AES_128"}
	dryRunModifiers      = []string{"IGNORE_CIPHERTEXT"}
)

// keyUsagesBySpec is AWS's table of the KeyUsage values each KeySpec allows;
// the first is the default where AWS has one (only SYMMETRIC_DEFAULT does).
var keyUsagesBySpec = map[string][]string{
	"SYMMETRIC_DEFAULT":     {"ENCRYPT_DECRYPT"},
	"HMAC_224":              {"GENERATE_VERIFY_MAC"},
	"HMAC_256":              {"GENERATE_VERIFY_MAC"},
	"HMAC_384":              {"GENERATE_VERIFY_MAC"},
	"HMAC_512":              {"GENERATE_VERIFY_MAC"},
	"RSA_2048":              {"ENCRYPT_DECRYPT", "SIGN_VERIFY"},
	"RSA_3072":              {"ENCRYPT_DECRYPT", "SIGN_VERIFY"},
	"RSA_4096":              {"ENCRYPT_DECRYPT", "SIGN_VERIFY"},
	"ECC_NIST_P256":         {"SIGN_VERIFY", "KEY_AGREEMENT"},
	"ECC_NIST_P384":         {"SIGN_VERIFY", "KEY_AGREEMENT"},
	"ECC_NIST_P521":         {"SIGN_VERIFY", "KEY_AGREEMENT"},
	"ECC_SECG_P256K1":       {"SIGN_VERIFY"},
	"ECC_NIST_EDWARDS25519": {"SIGN_VERIFY"},
	"ML_DSA_44":             {"SIGN_VERIFY"},
	"ML_DSA_65":             {"SIGN_VERIFY"},
	"ML_DSA_87":             {"SIGN_VERIFY"},
	"ML_KEM_512":            {"ENCAPSULATE_DECAPSULATE"},
	"ML_KEM_768":            {"ENCAPSULATE_DECAPSULATE"},
	"ML_KEM_1024":           {"ENCAPSULATE_DECAPSULATE"},
	"SM2":                   {"ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"},
}

// maxEncryptionContextBytes bounds an encryption context (keys plus values).
// AWS documents no limit; kagi picks 8 KiB and documents it.
const maxEncryptionContextBytes = 8192

func (v *validator) encryptionContext(field string, ec map[string]string) {
	n := 0
	for k, val := range ec {
		n += len(k) + len(val)
	}
	if n > maxEncryptionContextBytes {
		v.add(field, "'{…}'", fmt.Sprintf("Member must have total key and value length less than or equal to %d bytes", maxEncryptionContextBytes))
	}
}
