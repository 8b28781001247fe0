package rootkey

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func testKeyBytes() []byte {
	b := make([]byte, Size)
	for i := range b {
		b[i] = 0xa0 + byte(i)
	}
	return b
}

func mustKey(t testing.TB, b []byte) *Key {
	t.Helper()
	k, err := FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestFromBytesSize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := FromBytes(make([]byte, n)); err == nil {
			t.Errorf("FromBytes(%d bytes) succeeded", n)
		}
	}
}

func TestFromBytesDoesNotKeepInput(t *testing.T) {
	t.Parallel()
	b := testKeyBytes()
	k := mustKey(t, b)
	sealed, _ := k.Seal([]byte("x"), nil)
	clear(b)
	if _, err := k.Open(sealed, nil); err != nil {
		t.Fatalf("clearing the input broke the key: %v", err)
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k := mustKey(t, testKeyBytes())
	for _, pt := range [][]byte{nil, {}, []byte("k"), bytes.Repeat([]byte("material"), 4), make([]byte, 5000)} {
		aad := []byte("kagi material v1 test")
		sealed, err := k.Seal(pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != len(pt)+sealOverhead || sealed[0] != sealVersion {
			t.Fatalf("sealed %d bytes into %d bytes starting %#x", len(pt), len(sealed), sealed[0])
		}
		got, err := k.Open(sealed, aad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip changed the plaintext")
		}
	}
	a, _ := k.Seal([]byte("same"), nil)
	b, _ := k.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal: nonce not random")
	}
	// nil and empty aad are the same additional data.
	if _, err := k.Open(a, []byte{}); err != nil {
		t.Fatalf("Open with empty aad after Seal with nil aad: %v", err)
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	k := mustKey(t, testKeyBytes())
	other := mustKey(t, bytes.Repeat([]byte{7}, Size))
	aad := []byte("arn:aws:kms:us-east-1:111122223333:key/x")
	sealed, _ := k.Seal([]byte("0123456789abcdef0123456789abcdef"), aad)

	check := func(what string, key *Key, s, a []byte) {
		t.Helper()
		pt, err := key.Open(s, a)
		if !errors.Is(err, ErrUnseal) || pt != nil {
			t.Fatalf("%s: Open = %x, %v; want ErrUnseal", what, pt, err)
		}
	}
	for i := range len(sealed) * 8 {
		s := bytes.Clone(sealed)
		s[i/8] ^= 1 << (i % 8)
		check(fmt.Sprintf("bit %d of sealed", i), k, s, aad)
	}
	for i := range len(aad) * 8 {
		a := bytes.Clone(aad)
		a[i/8] ^= 1 << (i % 8)
		check(fmt.Sprintf("bit %d of aad", i), k, sealed, a)
	}
	check("wrong key", other, sealed, aad)
	check("nil aad", k, sealed, nil)
	check("longer aad", k, sealed, append(bytes.Clone(aad), 0))
	check("empty", k, nil, aad)
	check("version only", k, sealed[:1], aad)
	check("one byte short", k, sealed[:len(sealed)-1], aad)
	check("shortest", k, sealed[:sealOverhead], aad)
	check("extended", k, append(bytes.Clone(sealed), 0), aad)
	v2 := bytes.Clone(sealed)
	v2[0] = 0x02
	check("version 2", k, v2, aad)
	check("nil key", nil, sealed, aad)
	var nilKey *Key
	if _, err := nilKey.Seal([]byte("x"), nil); err == nil {
		t.Fatal("Seal on a nil key succeeded")
	}
}

func TestNoKeyInOutput(t *testing.T) {
	t.Parallel()
	kb := testKeyBytes()
	k := mustKey(t, kb)
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%c", "%U", "%e", "%p"} {
		if verb != "%p" {
			out = append(out, fmt.Sprintf(verb, *k))
		}
		out = append(out, fmt.Sprintf(verb, k))
	}
	// Nested in other values, as a log line or an error might hold it.
	out = append(out,
		fmt.Sprintf("%+v", struct{ K *Key }{k}),
		fmt.Sprintf("%#v", []*Key{k}),
		fmt.Sprintf("%v", map[string]Key{"k": *k}),
		k.String(), k.GoString(),
		fmt.Errorf("wrapped %v", k).Error(),
	)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("text", "root", k, "val", *k)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("json", "root", k, "val", *k)
	out = append(out, logs.String())

	forbidden := []string{
		string(kb), hex.EncodeToString(kb), strings.ToUpper(hex.EncodeToString(kb)),
		fmt.Sprint(kb), // [160 161 …]
		string(kb[:4]), hex.EncodeToString(kb[:4]), fmt.Sprint(kb[:4])[1:12],
	}
	for _, s := range out {
		for _, f := range forbidden {
			if strings.Contains(s, f) {
				t.Errorf("output %q contains key bytes %q", s, f)
			}
		}
	}
	if got := fmt.Sprintf("%v|%+v|%#v|%s|%d", k, k, k, *k, k); got != strings.Repeat(redacted+"|", 4)+redacted {
		t.Errorf("formatted key = %q", got)
	}
	if !strings.Contains(logs.String(), redacted) {
		t.Errorf("slog output %q lacks %q", logs.String(), redacted)
	}
}

func TestErrorsHaveNoSecrets(t *testing.T) {
	t.Parallel()
	kb := testKeyBytes()
	k := mustKey(t, kb)
	secret := []byte("top secret material 0123456789ab")
	sealed, _ := k.Seal(secret, []byte("aad"))
	sealed[len(sealed)-1] ^= 1
	_, err := k.Open(sealed, []byte("aad"))
	for _, f := range []string{string(secret), hex.EncodeToString(secret[:8]), hex.EncodeToString(kb[:8]), hex.EncodeToString(sealed[1:9])} {
		if strings.Contains(err.Error(), f) {
			t.Errorf("error %q contains %q", err, f)
		}
	}
	_, err = FromBytes(append(kb, 1))
	if strings.Contains(err.Error(), hex.EncodeToString(kb[:8])) || strings.Contains(err.Error(), string(kb[:8])) {
		t.Errorf("FromBytes error %q contains the key", err)
	}
}

func BenchmarkSeal32(b *testing.B) {
	k := mustKey(b, testKeyBytes())
	pt := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = k.Seal(pt, []byte("kagi material v1 arn:aws:kms:us-east-1:111122223333:key/x"))
	}
}
