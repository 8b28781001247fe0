// Package blob is the wire format of kagi's symmetric ciphertext blobs.
//
// A blob is a cleartext header followed by the AES-GCM output:
//
//	offset       size  field
//	0            1     version (Version2; Version1 is still read)
//	1            2     n = len(KeyARN), big-endian, 1..MaxKeyARNLen
//	3            n     KeyARN (valid UTF-8, printable)
//	3+n          32    MaterialID
//	35+n         16    Nonce (salt for the per-message key)
//	51+n         12    IV (AES-GCM nonce)            ┐ Sealed
//	63+n         m+16  AES-GCM ciphertext (m bytes)  │
//	                   || 16-byte tag                ┘
//
// Both versions have these bytes in these places; they differ in what is
// additional data (AAD) for AES-GCM. Version 2 authenticates bytes 0 to
// 51+n, the header; its IV is drawn inside Go's FIPS 140-3 module by the
// GCM Seal itself (cipher.NewGCMWithRandomNonce), so it cannot be known
// before, and is part of the AES-GCM output. Version 1 (kagi drew the IV
// first) also authenticates the IV as additional data. In both, no byte
// can change without Decrypt failing: GCM's tag depends on its IV. The
// format is self-delimiting: Sealed is everything after the header, so an
// accepted blob re-encodes to exactly itself.
//
// The package knows bytes only: it holds no keys and does no cryptography.
package blob

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Format versions. Header.Append writes Version2 unless told otherwise;
// Parse reads both.
const (
	Version1 byte = 0x01
	Version2 byte = 0x02
)

// MaxKeyARNLen is the longest key ARN a header may carry, in bytes. It is
// AWS's limit on a KeyId.
const MaxKeyARNLen = 2048

// Field sizes.
const (
	MaterialIDSize = 32
	NonceSize      = 16
	IVSize         = 12
	TagSize        = 16
)

// fixedHeaderSize is the header without the ARN: version, ARN length,
// material id and nonce.
const fixedHeaderSize = 1 + 2 + MaterialIDSize + NonceSize

// Overhead is how many bytes a blob adds to its plaintext, besides the key
// ARN: the header without the ARN, the IV and the GCM tag. A blob is
// Overhead + len(KeyARN) + len(plaintext) bytes long.
const Overhead = fixedHeaderSize + IVSize + TagSize

// ErrMalformed is wrapped by every error Parse returns.
var ErrMalformed = errors.New("blob: malformed ciphertext")

// Header is the cleartext, authenticated part of a ciphertext blob.
type Header struct {
	// Version is the format version; 0 means Version2.
	Version byte
	// KeyARN is the ARN of the KMS key that encrypted the blob. It lets
	// Decrypt find the key without a KeyId, also across accounts.
	KeyARN string
	// MaterialID names the key material version; its hex form is AWS's
	// 64-hex-digit KeyMaterialId.
	MaterialID [MaterialIDSize]byte
	// Nonce is the per-message salt the message key is derived with.
	Nonce [NonceSize]byte
}

// Append appends the wire encoding of h to dst and returns the extended
// slice: the version byte, the 2-byte big-endian ARN length, the ARN, the
// material id and the nonce. (The IV is the start of Sealed.)
//
// Append panics if h.KeyARN is one Parse would reject (empty, longer than
// MaxKeyARNLen, not valid UTF-8 or not printable): such a header could not
// be read back, and the caller builds KeyARN from its own key records, so it
// is a programming error, not bad input.
func (h *Header) Append(dst []byte) []byte {
	if err := checkARN(h.KeyARN); err != nil {
		panic("blob: Header.Append: " + err.Error())
	}
	v := h.Version
	if v == 0 {
		v = Version2
	}
	if v != Version1 && v != Version2 {
		panic(fmt.Sprintf("blob: Header.Append: unknown version 0x%02x", v))
	}
	dst = append(dst, v)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(h.KeyARN)))
	dst = append(dst, h.KeyARN...)
	dst = append(dst, h.MaterialID[:]...)
	return append(dst, h.Nonce[:]...)
}

// Size is the length of h's wire encoding.
func (h *Header) Size() int { return fixedHeaderSize + len(h.KeyARN) }

// Blob is a parsed ciphertext blob.
type Blob struct {
	Header
	// AAD is the part of the input that is AES-GCM additional data (before
	// the encryption context): the header, and for Version1 the IV too. It
	// is a sub-slice of the input with no spare capacity, so appending the
	// encryption context to it copies instead of overwriting Sealed.
	AAD []byte
	// Sealed is the AES-GCM output: the 12-byte IV, the ciphertext and the
	// 16-byte tag (a sub-slice of the input).
	Sealed []byte
}

// IV returns the AES-GCM nonce, the first IVSize bytes of Sealed.
func (b *Blob) IV() []byte { return b.Sealed[:IVSize] }

// Parse parses a ciphertext blob. Anything malformed (empty, an unknown
// version, truncated, an ARN that is empty, longer than MaxKeyARNLen, not
// valid UTF-8 or not printable, a sealed part shorter than IV and tag) returns
// an error wrapping ErrMalformed. Parse never panics.
//
// The returned AAD and Sealed alias b; KeyARN is a copy.
func Parse(b []byte) (*Blob, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if b[0] != Version1 && b[0] != Version2 {
		return nil, fmt.Errorf("%w: unknown format version 0x%02x", ErrMalformed, b[0])
	}
	if len(b) < 3 {
		return nil, fmt.Errorf("%w: truncated header", ErrMalformed)
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	if n == 0 || n > MaxKeyARNLen {
		return nil, fmt.Errorf("%w: key ARN length %d out of range 1..%d", ErrMalformed, n, MaxKeyARNLen)
	}
	hlen := fixedHeaderSize + n
	if len(b) < hlen {
		return nil, fmt.Errorf("%w: truncated header", ErrMalformed)
	}
	if len(b)-hlen < IVSize+TagSize {
		return nil, fmt.Errorf("%w: sealed part is %d bytes, shorter than the %d-byte IV and %d-byte tag", ErrMalformed, len(b)-hlen, IVSize, TagSize)
	}
	arn := b[3 : 3+n]
	if err := checkARN(string(arn)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	alen := hlen
	if b[0] == Version1 {
		alen += IVSize
	}
	bl := &Blob{
		AAD:    b[:alen:alen],
		Sealed: b[hlen:len(b):len(b)],
	}
	bl.Version = b[0]
	bl.KeyARN = string(arn)
	p := 3 + n
	p += copy(bl.MaterialID[:], b[p:])
	copy(bl.Nonce[:], b[p:])
	return bl, nil
}

// checkARN reports why arn cannot be carried in a header. It does not echo
// the ARN: it may be attacker-chosen bytes.
func checkARN(arn string) error {
	if len(arn) == 0 || len(arn) > MaxKeyARNLen {
		return fmt.Errorf("key ARN length %d out of range 1..%d", len(arn), MaxKeyARNLen)
	}
	if !utf8.ValidString(arn) {
		return errors.New("key ARN is not valid UTF-8")
	}
	for _, r := range arn {
		if !unicode.IsPrint(r) {
			return errors.New("key ARN has a non-printable character")
		}
	}
	return nil
}
