package kms

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/rootkey"
)

func testSealer(t testing.TB) *rootkey.Key {
	t.Helper()
	b := make([]byte, rootkey.Size)
	rand.Read(b)
	k, err := rootkey.FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const testAccount = "111122223333"

var testRef = grantRef{testAccount, "eu-west-3", "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", strings.Repeat("0123456789abcdef", 4)}

func TestGrantTokenRoundTrip(t *testing.T) {
	s := &Service{sealer: testSealer(t)}
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		tok, err := s.sealGrantToken(testRef)
		if err != nil {
			t.Fatal(err)
		}
		if seen[tok] {
			t.Fatal("two tokens for one grant are the same")
		}
		seen[tok] = true
		if strings.Contains(tok, testRef.grantID[:8]) || strings.Contains(tok, testRef.keyID[:8]) {
			t.Errorf("token %s shows its grant", tok)
		}
		r, err := s.openGrantToken(tok)
		if err != nil || r != testRef {
			t.Fatalf("openGrantToken = %+v, %v; want %+v", r, err, testRef)
		}
	}
	// Another root key's token, and a sealed blob for another purpose.
	other := &Service{sealer: testSealer(t)}
	tok, _ := other.sealGrantToken(testRef)
	if _, err := s.openGrantToken(tok); !awserr.Is(err, awserr.InvalidGrantToken) {
		t.Errorf("a token sealed under another root key: %v", err)
	}
	sealed, _ := s.sealer.Seal([]byte(testRef.String()), []byte("kagi session token v1"))
	if _, err := s.openGrantToken(base64.RawURLEncoding.EncodeToString(sealed)); !awserr.Is(err, awserr.InvalidGrantToken) {
		t.Errorf("a blob sealed with other additional data: %v", err)
	}
	// Authentic but not a grant reference.
	for _, p := range []string{"", "a/b/c/d", testRef.String() + "/x", strings.ToUpper(testRef.String())} {
		sealed, _ := s.sealer.Seal([]byte(p), []byte(grantTokenAAD))
		if _, err := s.openGrantToken(base64.RawURLEncoding.EncodeToString(sealed)); !awserr.Is(err, awserr.InvalidGrantToken) {
			t.Errorf("a sealed payload %q: %v", p, err)
		}
	}
	if _, err := s.openGrantToken(strings.Repeat("A", maxGrantTokenLen+4)); !awserr.Is(err, awserr.InvalidGrantToken) {
		t.Errorf("an oversized token: %v", err)
	}
}

// FuzzGrantToken feeds outside bytes to the grant token reader: it never
// panics, accepts only what it can read back, and a reference it reads
// seals and opens again to itself. The raw input also goes to the payload
// parser, which authentication keeps out of reach of random tokens.
func FuzzGrantToken(f *testing.F) {
	s := &Service{sealer: testSealer(f)}
	tok, err := s.sealGrantToken(testRef)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{tok, tok[:len(tok)/2], "", "AAAA", "bogus", testRef.String(), "a/b/c/d", tok + "=="} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if r, ok := parseGrantRef([]byte(in)); ok {
			if r.String() != in {
				t.Fatalf("parseGrantRef(%q) = %+v, which prints as %q", in, r, r.String())
			}
		}
		r, err := s.openGrantToken(in)
		if err != nil {
			if !awserr.Is(err, awserr.InvalidGrantToken) {
				t.Fatalf("openGrantToken(%q): %v, want InvalidGrantTokenException", in, err)
			}
			return
		}
		again, err := s.sealGrantToken(r)
		if err != nil {
			t.Fatal(err)
		}
		if r2, err := s.openGrantToken(again); err != nil || r2 != r {
			t.Fatalf("reseal of %+v: %+v, %v", r, r2, err)
		}
	})
}
