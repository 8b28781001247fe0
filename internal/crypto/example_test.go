package crypto_test

import (
	"bytes"
	"fmt"

	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/crypto/blob"
)

// Example shows how a symmetric Encrypt and Decrypt put the pieces
// together: the blob header and the canonical encryption context are the
// additional data of the message.
func Example() {
	material := bytes.Repeat([]byte{0x11}, crypto.MaterialSize) // from the key store
	ec := map[string]string{"purpose": "example"}

	// Encrypt. A real caller fills Nonce with crypto/rand; SealMessage
	// draws the IV and returns it first.
	h := blob.Header{KeyARN: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
	h.MaterialID[0], h.Nonce[0] = 1, 2
	hdr := h.Append(nil)
	aad := crypto.AppendCanonicalContext(hdr[:len(hdr):len(hdr)], ec)
	sealed, err := crypto.SealMessage(material, h.Nonce[:], []byte("hello, kagi"), aad)
	if err != nil {
		panic(err)
	}
	ciphertextBlob := append(hdr, sealed...)

	// Decrypt: the blob names its key and material; the caller supplies
	// the same encryption context.
	b, err := blob.Parse(ciphertextBlob)
	if err != nil {
		panic(err) // InvalidCiphertextException
	}
	// AAD has no spare capacity: appending copies, Sealed is safe.
	aad = crypto.AppendCanonicalContext(b.AAD, ec)
	plaintext, err := crypto.OpenMessage(material, b.Nonce[:], b.Sealed, aad)
	if err != nil {
		panic(err) // crypto.ErrAuth: InvalidCiphertextException
	}
	fmt.Printf("%d-byte blob (%d overhead + %d ARN + %d plaintext) from %s: %s\n",
		len(ciphertextBlob), blob.Overhead, len(b.KeyARN), len(plaintext), b.KeyARN, plaintext)

	// Another context does not decrypt.
	aad = crypto.AppendCanonicalContext(b.AAD, map[string]string{"purpose": "other"})
	_, err = crypto.OpenMessage(material, b.Nonce[:], b.Sealed, aad)
	fmt.Println(err)
	// Output:
	// 165-byte blob (79 overhead + 75 ARN + 11 plaintext) from arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab: hello, kagi
	// crypto: message authentication failed
}
