package kms

import (
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"time"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/crypto"
)

// Import tokens.
//
// GetParametersForImport makes a fresh RSA wrapping key pair and returns its
// public half with an import token. The token carries everything
// ImportKeyMaterial needs and nothing is stored: it is
//
//	version 0x01
//	uvarint length ‖ key ARN
//	uvarint length ‖ wrapping algorithm   (RSAES_OAEP_SHA_256 …)
//	uvarint length ‖ wrapping key spec    (RSA_2048 …)
//	8 bytes         ParametersValidTo, Unix milliseconds, big-endian
//	rest            the wrapping private key, PKCS #1 DER
//
// sealed by Config.Sealer (the root key: AES-256-GCM, random nonce) with
// the additional data importTokenAAD. So the token cannot be made or
// altered without the root key (InvalidImportTokenException), binds the
// key, the algorithm and the wrapping key to each other, tells its holder
// nothing, and any server with the root key can use it. The wrapping
// private key never touches kagi's storage; it exists, sealed, only in the
// token the caller holds, and dies with it. An RSA_2048 token is 1341
// bytes, an RSA_4096 one 2497, inside the model's 6144-byte bound.

// importTokenAAD separates import tokens from everything else the root key
// seals (key material, grant and session tokens).
const importTokenAAD = "kagi import token v1"

const importTokenVersion = 1

// importParams is what an import token says.
type importParams struct {
	keyARN    string
	algorithm string // WrappingAlgorithm
	spec      string // WrappingKeySpec
	validTo   time.Time
	key       *rsa.PrivateKey
}

// marshalImportToken encodes the token payload (before sealing).
func marshalImportToken(p *importParams) []byte {
	der := crypto.MarshalWrappingKey(p.key)
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(p.keyARN)+len(p.algorithm)+len(p.spec)+8+len(der))
	b = append(b, importTokenVersion)
	for _, s := range []string{p.keyARN, p.algorithm, p.spec} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(p.validTo.UnixMilli()))
	return append(b, der...)
}

var errBadImportToken = errors.New("malformed import token")

// parseImportToken decodes a token payload. It accepts only what
// marshalImportToken writes: a key ARN, a wrapping algorithm and spec kagi
// offers, and an RSA key of that spec.
func parseImportToken(b []byte) (*importParams, error) {
	if len(b) == 0 || b[0] != importTokenVersion {
		return nil, errBadImportToken
	}
	b = b[1:]
	var fields [3]string
	for i := range fields {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return nil, errBadImportToken
		}
		fields[i] = string(b[w : w+int(n)])
		b = b[w+int(n):]
	}
	if len(b) < 8 {
		return nil, errBadImportToken
	}
	p := &importParams{keyARN: fields[0], algorithm: fields[1], spec: fields[2]}
	a, err := arn.Parse(p.keyARN)
	if err != nil || a.Kind != arn.KindKey || !crypto.WrappingAlgorithm(p.algorithm) || crypto.WrappingKeyBits(p.spec) == 0 {
		return nil, errBadImportToken
	}
	p.validTo = time.UnixMilli(int64(binary.BigEndian.Uint64(b))).UTC()
	p.key, err = crypto.ParseWrappingKey(p.spec, b[8:])
	if err != nil {
		return nil, errBadImportToken
	}
	return p, nil
}

// sealImportToken makes the token GetParametersForImport returns.
func (s *Service) sealImportToken(p *importParams) ([]byte, error) {
	payload := marshalImportToken(p)
	defer clear(payload)
	tok, err := s.sealer.Seal(payload, []byte(importTokenAAD))
	if err != nil {
		return nil, awserr.Internal(err)
	}
	return tok, nil
}

// openImportToken reads an import token for the key keyARN. A token kagi
// did not issue, or issued for another key, is an
// InvalidImportTokenException; one past its ParametersValidTo an
// ExpiredImportTokenException.
func (s *Service) openImportToken(tok []byte, keyARN string) (*importParams, error) {
	b, err := s.sealer.Open(tok, []byte(importTokenAAD))
	if err != nil {
		return nil, errInvalidImportToken()
	}
	defer clear(b)
	p, err := parseImportToken(b)
	if err != nil || p.keyARN != keyARN {
		return nil, errInvalidImportToken()
	}
	if !s.clock.Now().Before(p.validTo) {
		return nil, awserr.New(awserr.ExpiredImportToken, "The request was rejected because the specified import token is expired. Use GetParametersForImport to get a new import token and public key, use the new public key to encrypt the key material, and then try the request again.")
	}
	return p, nil
}

func errInvalidImportToken() error {
	return awserr.New(awserr.InvalidImportToken, "The request was rejected because the provided import token is invalid or is associated with a different KMS key.")
}
