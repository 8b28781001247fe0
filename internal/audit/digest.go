package audit

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Digests, after CloudTrail's log file integrity validation. A digest file
// lists the log files (segments) written since the previous digest with
// their SHA-256, and names the previous digest by file, hash and
// signature, so digests form a chain of their own. As in CloudTrail, the
// signature is not inside the digest (CloudTrail keeps it in the S3
// object's metadata): it is the hex in the file beside it, <digest>.sig,
// over the signing string
//
//	digestEndTime \n digestFile \n hex(SHA-256(digest file bytes)) \n previousDigestSignature
//
// with SHA256withECDSA (ASN.1 DER signature) or Ed25519. The digest
// carries the public key (SubjectPublicKeyInfo, base64), so exported files
// verify with nothing else; verify can pin the key (--public-key).

// digest is the JSON of a digest file. Field names follow CloudTrail's
// where there is one.
type digest struct {
	Sequence           uint64    `json:"digestSequence"`
	File               string    `json:"digestFile"`
	StartTime          string    `json:"digestStartTime"`
	EndTime            string    `json:"digestEndTime"`
	PublicKey          string    `json:"digestPublicKey"`
	Fingerprint        string    `json:"digestPublicKeyFingerprint"`
	SignatureAlgorithm string    `json:"digestSignatureAlgorithm"`
	PreviousFile       string    `json:"previousDigestFile"`
	PreviousHashValue  string    `json:"previousDigestHashValue"`
	PreviousHashAlg    string    `json:"previousDigestHashAlgorithm"`
	PreviousSignature  string    `json:"previousDigestSignature"`
	LogFiles           []logFile `json:"logFiles"`
}

// logFile is one file a digest covers. For segments, PrevLineHash and
// LastLineHash tie the file into the chain; FirstSeq and Records say which
// records it holds.
type logFile struct {
	File          string `json:"file"`
	HashValue     string `json:"hashValue"`
	HashAlgorithm string `json:"hashAlgorithm"`
	FirstSeq      uint64 `json:"firstSeq"`
	Records       int    `json:"records"`
	PrevLineHash  string `json:"prevLineHash,omitempty"`
	LastLineHash  string `json:"lastLineHash,omitempty"`
}

const (
	hashAlgorithm = "SHA-256"
	algECDSA      = "SHA256withECDSA"
	algEd25519    = "Ed25519"
	timeFormat    = "2006-01-02T15:04:05.000000000Z"
)

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// signingString is what a digest's signature signs.
func signingString(d *digest, digestBytes []byte) []byte {
	h := sha256.Sum256(digestBytes)
	return fmt.Appendf(nil, "%s\n%s\n%x\n%s", d.EndTime, d.File, h, d.PreviousSignature)
}

// keyInfo is what a digest says about a public key.
type keyInfo struct {
	spki        []byte
	fingerprint string
	algorithm   string
}

func publicKeyInfo(pub crypto.PublicKey) (*keyInfo, error) {
	var alg string
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("audit: an ECDSA signing key must be P-256")
		}
		alg = algECDSA
	case ed25519.PublicKey:
		alg = algEd25519
	default:
		return nil, fmt.Errorf("audit: signing key of type %T: want ECDSA P-256 or Ed25519", pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("audit: public key: %w", err)
	}
	fp := sha256.Sum256(der)
	return &keyInfo{spki: der, fingerprint: hex.EncodeToString(fp[:]), algorithm: alg}, nil
}

// sign signs msg with s by algorithm alg.
func sign(s crypto.Signer, alg string, msg []byte) ([]byte, error) {
	if alg == algEd25519 {
		return s.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	h := sha256.Sum256(msg)
	return s.Sign(rand.Reader, h[:], crypto.SHA256)
}

// verifySignature checks sig over msg with the public key in SPKI DER.
func verifySignature(spki []byte, alg string, msg, sig []byte) error {
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return fmt.Errorf("the digest's public key does not parse: %w", err)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		h := sha256.Sum256(msg)
		if alg != algECDSA || k.Curve != elliptic.P256() || !ecdsa.VerifyASN1(k, h[:], sig) {
			return errors.New("the signature does not verify")
		}
	case ed25519.PublicKey:
		if alg != algEd25519 || !ed25519.Verify(k, msg, sig) {
			return errors.New("the signature does not verify")
		}
	default:
		return fmt.Errorf("a public key of type %T cannot sign digests", pub)
	}
	return nil
}

// encodeDigest is the bytes of a digest file.
func encodeDigest(d *digest) []byte {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// parseDigest parses a digest file strictly.
func parseDigest(b []byte) (*digest, error) {
	var d digest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("not a digest: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a digest: data after the object")
	}
	return &d, nil
}

// NewSigningKey makes an ECDSA P-256 signing key and returns it in
// PKCS #8, for a caller that keeps it its own way (the server seals it
// under the root key).
func NewSigningKey() ([]byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	return der, nil
}

// ParseSigningKey parses a PKCS #8 signing key (ECDSA P-256 or Ed25519).
func ParseSigningKey(der []byte) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("audit signing key: cannot sign")
	}
	if _, err := publicKeyInfo(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadOrCreateKey reads the PKCS #8 PEM signing key in file, or creates an
// ECDSA P-256 key there (mode 0600) when there is none. The key is in the
// clear: this is for tools and tests; the server passes Options.Signer,
// its key sealed under the root key.
func LoadOrCreateKey(file string) (crypto.Signer, error) {
	s, err := LoadKey(file)
	if !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	der, err := NewSigningKey()
	if err != nil {
		return nil, err
	}
	defer clear(der)
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	err = pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(file)
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	return ParseSigningKey(der)
}

// LoadKey reads a PKCS #8 PEM signing key (ECDSA P-256 or Ed25519).
func LoadKey(file string) (crypto.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit signing key %s: not a PEM PRIVATE KEY", file)
	}
	return ParseSigningKey(blk.Bytes)
}

// ParsePublicKey reads a PEM PUBLIC KEY (SubjectPublicKeyInfo), as
// `kagi audit public-key` prints it, to pin the key verify accepts.
func ParsePublicKey(b []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM PUBLIC KEY")
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	if _, err := publicKeyInfo(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// MarshalPublicKey is the PEM PUBLIC KEY of pub.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// newDigest makes and signs the digest numbered seq after prev (nil for
// the first), covering files. It returns the digest file's bytes and the
// signature.
func newDigest(s crypto.Signer, ki *keyInfo, seq uint64, prev *digestRef, start, end time.Time, files []logFile) (body, sig []byte, err error) {
	d := &digest{
		Sequence:           seq,
		File:               digestName(seq),
		StartTime:          formatTime(start),
		EndTime:            formatTime(end),
		PublicKey:          base64.StdEncoding.EncodeToString(ki.spki),
		Fingerprint:        ki.fingerprint,
		SignatureAlgorithm: ki.algorithm,
		LogFiles:           files,
	}
	if d.LogFiles == nil {
		d.LogFiles = []logFile{}
	}
	if prev != nil {
		d.PreviousFile, d.PreviousHashValue, d.PreviousHashAlg, d.PreviousSignature = prev.File, prev.HashValue, hashAlgorithm, prev.Signature
	}
	body = encodeDigest(d)
	raw, err := sign(s, ki.algorithm, signingString(d, body))
	if err != nil {
		return nil, nil, fmt.Errorf("sign audit digest: %w", err)
	}
	return body, []byte(hex.EncodeToString(raw) + "\n"), nil
}

// writeFileSync writes a file whole under a temporary name, syncs it and
// renames it into place; the caller syncs the directory.
func writeFileSync(name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
