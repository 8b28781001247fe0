package crypto

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func TestCanonicalContextEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ec   map[string]string
		want string
	}{
		{nil, "00"},
		{map[string]string{}, "00"},
		{map[string]string{"": ""}, "01" + "00" + "00"},
		{map[string]string{"a": "b"}, "01" + "0161" + "0162"},
		// keys sorted bytewise: "B" (0x42) < "a" (0x61) < "ab"
		{map[string]string{"ab": "", "a": "x", "B": "y"}, "03" + "0142" + "0179" + "0161" + "0178" + "026162" + "00"},
		// a 200-byte value has a 2-byte uvarint length (c8 01)
		{map[string]string{"k": strings.Repeat("v", 200)}, "01" + "016b" + "c801" + strings.Repeat("76", 200)},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(CanonicalContext(tt.ec)); got != tt.want {
			t.Errorf("CanonicalContext(%q) = %s, want %s", tt.ec, got, tt.want)
		}
	}
}

func TestCanonicalContextOrderIndependent(t *testing.T) {
	t.Parallel()
	keys := []string{"aws:ebs:id", "Department", "department", "ß", "", "a\x00b", "zz", "z"}
	want := CanonicalContext(map[string]string{
		"aws:ebs:id": "v0", "Department": "v1", "department": "v2", "ß": "v3",
		"": "v4", "a\x00b": "v5", "zz": "v6", "z": "v7",
	})
	// Build the same map in every rotation of insertion order, and in
	// reverse; Go's map iteration order is randomised on top of that.
	for r := range keys {
		for _, rev := range []bool{false, true} {
			m := make(map[string]string)
			for i := range keys {
				j := (i + r) % len(keys)
				if rev {
					j = len(keys) - 1 - j
				}
				m[keys[j]] = fmt.Sprintf("v%d", j)
			}
			if got := CanonicalContext(m); !bytes.Equal(got, want) {
				t.Fatalf("rotation %d reverse %v: %x, want %x", r, rev, got, want)
			}
		}
	}
}

func TestCanonicalContextInjective(t *testing.T) {
	t.Parallel()
	// Pairs that a naive concatenation would confuse.
	cases := []map[string]string{
		nil,
		{"": ""},
		{"a": ""},
		{"": "a"},
		{"ab": "c"},
		{"a": "bc"},
		{"abc": ""},
		{"a": "b", "c": "d"},
		{"a": "bc", "": "d"},
		{"a": "b\x01\x01c\x01d"},
		{"a": "b", "c": ""},
		{"a\x01b": "c"},
		{"a": "\x01b\x01c"},
		{"\x01": "\x01"},
		{"\x00": ""},
		{"A": "b"},
		{"a": "B"},
		{"k": strings.Repeat("v", 127)},
		{"k": strings.Repeat("v", 128)},
		{"k": strings.Repeat("v", 127) + "\x80"},
	}
	seen := make(map[string]int)
	for i, ec := range cases {
		enc := string(CanonicalContext(ec))
		if j, ok := seen[enc]; ok {
			t.Errorf("cases %d %q and %d %q encode the same: %x", j, cases[j], i, ec, enc)
		}
		seen[enc] = i
	}
}

func TestAppendCanonicalContext(t *testing.T) {
	t.Parallel()
	ec := map[string]string{"a": "b", "c": "d"}
	got := AppendCanonicalContext([]byte("hdr"), ec)
	if want := append([]byte("hdr"), CanonicalContext(ec)...); !bytes.Equal(got, want) {
		t.Fatalf("AppendCanonicalContext = %x, want %x", got, want)
	}
	// Many keys take the heap path for sorting.
	big := make(map[string]string)
	for i := range 100 {
		big[fmt.Sprintf("key%03d", 99-i)] = "v"
	}
	enc := CanonicalContext(big)
	if !bytes.HasPrefix(enc, []byte{100, 6, 'k', 'e', 'y', '0', '0', '0', 1, 'v', 6, 'k', 'e', 'y', '0', '0', '1'}) {
		t.Fatalf("large context not sorted: %x", enc[:20])
	}
}

func TestAppendCanonicalContextAllocs(t *testing.T) {
	ec := map[string]string{"aws:s3:arn": "arn:aws:s3:::bucket/key", "purpose": "test", "tenant": "t1"}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendCanonicalContext(buf[:0], ec) }); n != 0 {
		t.Errorf("AppendCanonicalContext with room in dst allocates %v times", n)
	}
}

func FuzzCanonicalContext(f *testing.F) {
	f.Add("a", "b", "c", "d")
	f.Add("ab", "c", "a", "bc")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		m1 := map[string]string{k1: v1, k2: v2}
		m2 := map[string]string{k2: v2, k1: v1}
		if k1 == k2 {
			// Later assignment wins; make both maps agree.
			m2[k1] = v2
		}
		e1, e2 := CanonicalContext(m1), CanonicalContext(m2)
		if !bytes.Equal(e1, e2) {
			t.Fatalf("same map, different encodings")
		}
		// Decoding must give back exactly m1: the encoding is injective.
		got, ok := decodeContext(e1)
		if !ok || len(got) != len(m1) {
			t.Fatalf("encoding does not decode")
		}
		for k, v := range m1 {
			if got[k] != v {
				t.Fatalf("decoded %q = %q, want %q", k, got[k], v)
			}
		}
	})
}

// decodeContext inverts CanonicalContext, to check injectivity.
func decodeContext(b []byte) (map[string]string, bool) {
	next := func() (string, bool) {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return "", false
		}
		s := string(b[w : w+int(n)])
		b = b[w+int(n):]
		return s, true
	}
	count, w := binary.Uvarint(b)
	if w <= 0 {
		return nil, false
	}
	b = b[w:]
	m := make(map[string]string)
	for range count {
		k, ok1 := next()
		v, ok2 := next()
		if !ok1 || !ok2 {
			return nil, false
		}
		m[k] = v
	}
	return m, len(b) == 0
}

func BenchmarkAppendCanonicalContext(b *testing.B) {
	ec := map[string]string{"aws:s3:arn": "arn:aws:s3:::bucket/key", "purpose": "test", "tenant": "t1"}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendCanonicalContext(buf[:0], ec)
	}
}
