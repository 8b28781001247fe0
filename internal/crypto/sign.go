package crypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"

	"filippo.io/mldsa"
	"filippo.io/mldsa/mldsacrypto"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Message types, as AWS KMS names them (MessageType).
const (
	MessageRaw        = "RAW"         // the message itself
	MessageDigest     = "DIGEST"      // the message's digest under the algorithm's hash
	MessageExternalMu = "EXTERNAL_MU" // ML-DSA's 64-byte μ (FIPS 204, external μ)
)

// MuSize is the length of an ML-DSA external μ.
const MuSize = 64

// signing describes one signing algorithm.
type signing struct {
	scheme int
	hash   crypto.Hash // the digest a DIGEST message must be; 0 for ML-DSA
}

const (
	schemePKCS1 = iota + 1
	schemePSS
	schemeECDSA
	schemeEd25519
	schemeEd25519ph
	schemeMLDSA
)

// signingAlgorithms are AWS KMS's SigningAlgorithmSpec values kagi
// implements (all but the China-only SM2DSA).
var signingAlgorithms = map[string]signing{
	"RSASSA_PKCS1_V1_5_SHA_256": {schemePKCS1, crypto.SHA256},
	"RSASSA_PKCS1_V1_5_SHA_384": {schemePKCS1, crypto.SHA384},
	"RSASSA_PKCS1_V1_5_SHA_512": {schemePKCS1, crypto.SHA512},
	"RSASSA_PSS_SHA_256":        {schemePSS, crypto.SHA256},
	"RSASSA_PSS_SHA_384":        {schemePSS, crypto.SHA384},
	"RSASSA_PSS_SHA_512":        {schemePSS, crypto.SHA512},
	"ECDSA_SHA_256":             {schemeECDSA, crypto.SHA256},
	"ECDSA_SHA_384":             {schemeECDSA, crypto.SHA384},
	"ECDSA_SHA_512":             {schemeECDSA, crypto.SHA512},
	"ED25519_SHA_512":           {schemeEd25519, crypto.SHA512},
	"ED25519_PH_SHA_512":        {schemeEd25519ph, crypto.SHA512},
	"ML_DSA_SHAKE_256":          {schemeMLDSA, 0},
}

// DigestSize returns the length of a DIGEST message for alg, or 0 if alg
// takes no digest (ED25519_SHA_512, ML_DSA_SHAKE_256) or is unknown.
func DigestSize(alg string) int {
	a, ok := signingAlgorithms[alg]
	if !ok || a.scheme == schemeEd25519 || a.scheme == schemeMLDSA {
		return 0
	}
	return a.hash.Size()
}

// SigningAlgorithmFits reports whether keys of spec sign with alg, as AWS
// KMS pairs them: RSA with the six RSASSA algorithms, each NIST curve and
// secp256k1 with the ECDSA algorithm of its size, Ed25519 with both Ed25519
// algorithms, ML-DSA with ML_DSA_SHAKE_256.
func SigningAlgorithmFits(spec, alg string) bool {
	a, ok := signingAlgorithms[alg]
	if !ok {
		return false
	}
	switch spec {
	case SpecRSA2048, SpecRSA3072, SpecRSA4096:
		return a.scheme == schemePKCS1 || a.scheme == schemePSS
	case SpecP256, SpecSecp256k1:
		return alg == "ECDSA_SHA_256"
	case SpecP384:
		return alg == "ECDSA_SHA_384"
	case SpecP521:
		return alg == "ECDSA_SHA_512"
	case SpecEd25519:
		return a.scheme == schemeEd25519 || a.scheme == schemeEd25519ph
	case SpecMLDSA44, SpecMLDSA65, SpecMLDSA87:
		return a.scheme == schemeMLDSA
	}
	return false
}

// signInput checks alg and the message type against the key and returns
// what the scheme signs: the digest for RSA, ECDSA and Ed25519ph (hashing
// a RAW message), the message for Ed25519 and ML-DSA, μ for an ML-DSA
// EXTERNAL_MU.
func signInput(spec, alg, msgType string, msg []byte) (signing, []byte, error) {
	a, ok := signingAlgorithms[alg]
	if !ok || !SigningAlgorithmFits(spec, alg) {
		return signing{}, nil, fmt.Errorf("%w: %s keys do not sign with %s", ErrUnsupported, spec, alg)
	}
	switch a.scheme {
	case schemeEd25519:
		if msgType != MessageRaw {
			return signing{}, nil, fmt.Errorf("%w: %s takes a %s message only", ErrUnsupported, alg, MessageRaw)
		}
		return a, msg, nil
	case schemeEd25519ph:
		if msgType != MessageDigest {
			return signing{}, nil, fmt.Errorf("%w: %s takes a %s message only", ErrUnsupported, alg, MessageDigest)
		}
	case schemeMLDSA:
		switch msgType {
		case MessageRaw:
			return a, msg, nil
		case MessageExternalMu:
			if len(msg) != MuSize {
				return signing{}, nil, fmt.Errorf("%w: μ is %d bytes, want %d", ErrInvalidInput, len(msg), MuSize)
			}
			return a, msg, nil
		}
		return signing{}, nil, fmt.Errorf("%w: %s takes no %s message", ErrUnsupported, alg, msgType)
	}
	switch msgType {
	case MessageRaw:
		return a, digest(a.hash, msg), nil
	case MessageDigest:
		if len(msg) != a.hash.Size() {
			return signing{}, nil, fmt.Errorf("%w: digest is %d bytes, want %d", ErrInvalidInput, len(msg), a.hash.Size())
		}
		return a, msg, nil
	}
	return signing{}, nil, fmt.Errorf("%w: %s takes no %s message", ErrUnsupported, alg, msgType)
}

func digest(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(msg)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return d[:]
	}
	d := sha512.Sum512(msg)
	return d[:]
}

// Sign signs msg with alg. msgType says what msg is: RAW (hashed here when
// the algorithm hashes), DIGEST (the digest, of the algorithm's hash
// length), or EXTERNAL_MU (ML-DSA only, 64 bytes). RSA-PSS uses a salt as
// long as the hash; ECDSA signatures are DER SEQUENCE{r, s}; Ed25519ph and
// ML-DSA use an empty context.
func (k *KeyPair) Sign(alg, msgType string, msg []byte) ([]byte, error) {
	a, in, err := signInput(k.spec, alg, msgType, msg)
	if err != nil {
		return nil, err
	}
	var sig []byte
	switch a.scheme {
	case schemePKCS1:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.priv.(*rsa.PrivateKey), a.hash, in)
	case schemePSS:
		sig, err = rsa.SignPSS(rand.Reader, k.priv.(*rsa.PrivateKey), a.hash, in, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case schemeECDSA:
		switch pk := k.priv.(type) {
		case *ecdsa.PrivateKey:
			sig, err = ecdsa.SignASN1(rand.Reader, pk, in)
		case *secp256k1.PrivateKey:
			// RFC 6979 nonces, low-S: a valid ECDSA signature like any other.
			sig = secpecdsa.Sign(pk, in).Serialize()
		}
	case schemeEd25519:
		sig = ed25519.Sign(k.priv.(ed25519.PrivateKey), in)
	case schemeEd25519ph:
		sig, err = k.priv.(ed25519.PrivateKey).Sign(nil, in, &ed25519.Options{Hash: crypto.SHA512})
	case schemeMLDSA:
		var opts crypto.SignerOpts = &mldsa.Options{}
		if msgType == MessageExternalMu {
			opts = mldsacrypto.MLDSAMu
		}
		sig, err = k.priv.(*mldsa.PrivateKey).Sign(rand.Reader, in, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("crypto: sign with %s: %w", alg, err)
	}
	return sig, nil
}

// Verify checks a signature made by Sign (or by any implementation of alg
// with this public key); a signature that does not verify is
// ErrInvalidSignature. An ML-DSA signature over an external μ is checked
// by verifyMLDSAMu (mldsa_mu.go), written here because filippo.io/mldsa
// v1.0.0 exports no verification over μ.
func (p *PublicKey) Verify(alg, msgType string, msg, sig []byte) error {
	a, in, err := signInput(p.spec, alg, msgType, msg)
	if err != nil {
		return err
	}
	ok := false
	switch a.scheme {
	case schemePKCS1:
		ok = rsa.VerifyPKCS1v15(p.key.(*rsa.PublicKey), a.hash, in, sig) == nil
	case schemePSS:
		ok = rsa.VerifyPSS(p.key.(*rsa.PublicKey), a.hash, in, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case schemeECDSA:
		switch pk := p.key.(type) {
		case *ecdsa.PublicKey:
			ok = ecdsa.VerifyASN1(pk, in, sig)
		case *secp256k1.PublicKey:
			// ParseDERSignature is strict DER and range-checks r and s;
			// it accepts high-S signatures, as other ECDSA verifiers do.
			s, err := secpecdsa.ParseDERSignature(sig)
			ok = err == nil && s.Verify(in, pk)
		}
	case schemeEd25519:
		ok = ed25519.Verify(p.key.(ed25519.PublicKey), in, sig)
	case schemeEd25519ph:
		ok = ed25519.VerifyWithOptions(p.key.(ed25519.PublicKey), in, sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
	case schemeMLDSA:
		pk := p.key.(*mldsa.PublicKey)
		if msgType == MessageExternalMu {
			ok = verifyMLDSAMu(pk.Bytes(), in, sig)
			break
		}
		ok = mldsa.Verify(pk, in, sig, nil) == nil
	}
	if !ok {
		return ErrInvalidSignature
	}
	return nil
}
