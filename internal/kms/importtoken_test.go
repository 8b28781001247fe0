package kms

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/clock"
	"github.com/kagikms/kagi/internal/crypto"
)

const testKeyARN = "arn:aws:kms:eu-west-3:111122223333:key/0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

var (
	testImportOnce   sync.Once
	testImportParams *importParams
)

// newTestImportParams returns parameters with one RSA_2048 wrapping key
// shared by the tests and the fuzz target.
func newTestImportParams(t testing.TB) *importParams {
	testImportOnce.Do(func() {
		k, err := crypto.NewWrappingKey("RSA_2048")
		if err != nil {
			t.Fatal(err)
		}
		testImportParams = &importParams{keyARN: testKeyARN, algorithm: "RSA_AES_KEY_WRAP_SHA_256", spec: "RSA_2048",
			validTo: time.UnixMilli(time.Now().Add(24 * time.Hour).UnixMilli()).UTC(), key: k}
	})
	p := *testImportParams
	return &p
}

func wantCode(t *testing.T, what string, err error, code awserr.Code) {
	t.Helper()
	var e *awserr.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

func TestImportTokenRoundTrip(t *testing.T) {
	fake := &clock.Fake{}
	s := &Service{sealer: testSealer(t), clock: fake}
	p := newTestImportParams(t)
	tok, err := s.sealImportToken(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > 6144 {
		t.Errorf("token of %d bytes, over the model's 6144", len(tok))
	}
	if bytes.Contains(tok, []byte(p.keyARN)) || bytes.Contains(tok, []byte(p.algorithm)) {
		t.Error("the token shows what it names")
	}
	got, err := s.openImportToken(tok, testKeyARN)
	if err != nil {
		t.Fatal(err)
	}
	if got.keyARN != p.keyARN || got.algorithm != p.algorithm || got.spec != p.spec || !got.validTo.Equal(p.validTo) || !got.key.Equal(p.key) {
		t.Fatalf("openImportToken = %+v, want %+v", got, p)
	}
	tok2, _ := s.sealImportToken(p)
	if bytes.Equal(tok, tok2) {
		t.Error("two seals of one token are equal")
	}

	_, err = s.openImportToken(tok, "arn:aws:kms:eu-west-3:111122223333:key/1b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
	wantCode(t, "another key", err, awserr.InvalidImportToken)
	bad := bytes.Clone(tok)
	bad[len(bad)-1] ^= 1
	_, err = s.openImportToken(bad, testKeyARN)
	wantCode(t, "altered", err, awserr.InvalidImportToken)
	other := &Service{sealer: testSealer(t), clock: fake}
	_, err = other.openImportToken(tok, testKeyARN)
	wantCode(t, "another root key", err, awserr.InvalidImportToken)
	// A grant token is no import token.
	g, _ := s.sealer.Seal([]byte(testRef.String()), []byte(grantTokenAAD))
	_, err = s.openImportToken(g, testKeyARN)
	wantCode(t, "a grant token", err, awserr.InvalidImportToken)

	fake.Advance(24*time.Hour + time.Second)
	_, err = s.openImportToken(tok, testKeyARN)
	wantCode(t, "expired", err, awserr.ExpiredImportToken)
}

func TestParseImportTokenRejects(t *testing.T) {
	p := newTestImportParams(t)
	good := marshalImportToken(p)
	if _, err := parseImportToken(good); err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(q *importParams)) []byte {
		q := *p
		f(&q)
		return marshalImportToken(&q)
	}
	for name, b := range map[string][]byte{
		"empty":                  nil,
		"version 2":              append([]byte{2}, good[1:]...),
		"truncated":              good[:len(good)-1],
		"no key":                 good[:len(good)-len(crypto.MarshalWrappingKey(p.key))],
		"alias ARN":              mutate(func(q *importParams) { q.keyARN = "arn:aws:kms:eu-west-3:111122223333:alias/x" }),
		"not an ARN":             mutate(func(q *importParams) { q.keyARN = "key" }),
		"PKCS#1 v1.5":            mutate(func(q *importParams) { q.algorithm = "RSAES_PKCS1_V1_5" }),
		"key of another size":    mutate(func(q *importParams) { q.spec = "RSA_4096" }),
		"huge length":            {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"trailing after the key": append(bytes.Clone(good), 0),
	} {
		if _, err := parseImportToken(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// FuzzImportToken feeds arbitrary payloads to the token parser (behind the
// seal, so only a bug in kagi or a stolen root key could reach it) and
// arbitrary tokens to openImportToken: errors only, never a panic, and
// whatever parses encodes back to the same bytes.
func FuzzImportToken(f *testing.F) {
	p := newTestImportParams(f)
	s := &Service{sealer: testSealer(f), clock: clock.System{}}
	good := marshalImportToken(p)
	tok, err := s.sealImportToken(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(tok)
	f.Add(good[:40])
	f.Add([]byte{1, 3, 'a', 'b', 'c'})
	f.Fuzz(func(t *testing.T, b []byte) {
		if q, err := parseImportToken(b); err == nil {
			if !bytes.Equal(marshalImportToken(q), b) {
				t.Fatal("a parsed token does not encode back to its bytes")
			}
		}
		if _, err := s.openImportToken(b, testKeyARN); err != nil {
			var e *awserr.Error
			if !errors.As(err, &e) || (e.Code != awserr.InvalidImportToken && e.Code != awserr.ExpiredImportToken) {
				t.Fatalf("openImportToken: %v", err)
			}
		} else if !bytes.Equal(b, tok) {
			t.Fatal("a token kagi did not seal opened")
		}
	})
}
