package kms

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/kagikms/kagi/internal/awserr"
	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/crypto/blob"
	"github.com/kagikms/kagi/internal/keystore"
	"github.com/kagikms/kagi/internal/keystore/software"
	"github.com/kagikms/kagi/internal/storage"
)

// sealVersion1 makes a version 1 blob the way kagi did before version 2:
// an IV drawn by the caller and authenticated as part of the header.
func sealVersion1(t *testing.T, arn string, materialID [32]byte, material, plaintext []byte, ec map[string]string) []byte {
	t.Helper()
	h := blob.Header{Version: blob.Version1, KeyARN: arn, MaterialID: materialID}
	rand.Read(h.Nonce[:])
	iv := make([]byte, blob.IVSize)
	rand.Read(iv)
	hdr := append(h.Append(nil), iv...)
	key, err := kcrypto.DeriveMessageKey(material, h.Nonce[:])
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	aad := kcrypto.AppendCanonicalContext(append([]byte(nil), hdr...), ec)
	return aead.Seal(hdr, iv, plaintext, aad)
}

// TestBlobVersions: Encrypt writes version 2 blobs; version 1 blobs made
// before still decrypt; and a blob's version byte cannot be changed (the
// two versions authenticate different bytes).
func TestBlobVersions(t *testing.T) {
	ctx := context.Background()
	s := testService(t)
	c := rootCaller()
	out, err := s.CreateKey(ctx, c, &CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	var k *keyRecord
	if err := s.view(ctx, func(tx storage.Tx) error {
		k, err = s.loadKey(tx, c, out.KeyMetadata.KeyId, keyOnly, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	m := k.Materials[k.Current]
	ref := keystore.Ref{KeyARN: k.ARN}
	hex.Decode(ref.MaterialID[:], []byte(m.ID))
	material, err := s.ks.(*software.Store).Unseal(ref, m.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"app": "v1"}

	v1 := sealVersion1(t, k.ARN, ref.MaterialID, material, []byte("old blob"), ec)
	dec, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: v1, EncryptionContext: ec})
	if err != nil || string(dec.Plaintext) != "old blob" {
		t.Fatalf("Decrypt of a version 1 blob = %v, %v", dec, err)
	}

	enc, err := s.Encrypt(ctx, c, &EncryptInput{KeyId: k.ARN, Plaintext: []byte("new blob"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if enc.CiphertextBlob[0] != blob.Version2 {
		t.Fatalf("Encrypt wrote version 0x%02x, want 0x02", enc.CiphertextBlob[0])
	}
	for _, b := range [][]byte{enc.CiphertextBlob, v1} {
		flipped := append([]byte(nil), b...)
		flipped[0] ^= blob.Version1 ^ blob.Version2
		_, err := s.Decrypt(ctx, c, &DecryptInput{CiphertextBlob: flipped, EncryptionContext: ec})
		if e := awserr.As(err); e == nil || e.Code != awserr.InvalidCiphertext {
			t.Errorf("Decrypt of a blob with its version byte changed to 0x%02x: %v, want InvalidCiphertextException", flipped[0], err)
		}
	}
}
