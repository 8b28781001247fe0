package blob

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

const typicalARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func testHeader(arn string) Header {
	h := Header{Version: Version2, KeyARN: arn}
	for i := range h.MaterialID {
		h.MaterialID[i] = byte(i)
	}
	for i := range h.Nonce {
		h.Nonce[i] = 0x40 + byte(i)
	}
	return h
}

// encode builds a blob the way kms does: the header, then the sealed part
// (IV, ciphertext, tag).
func encode(h Header, sealed []byte) []byte {
	return append(h.Append(nil), sealed...)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, version := range []byte{Version1, Version2} {
		for _, arn := range []string{"a", typicalARN, strings.Repeat("x", MaxKeyARNLen), "arn:aws-cn:kms:cn-north-1:111122223333:alias/日本"} {
			for _, sealedLen := range []int{IVSize + TagSize, IVSize + TagSize + 1, IVSize + 4096 + TagSize} {
				h := testHeader(arn)
				h.Version = version
				sealed := bytes.Repeat([]byte{0xee}, sealedLen)
				b := encode(h, sealed)
				if want := Overhead + len(arn) + sealedLen - IVSize - TagSize; len(b) != want {
					t.Fatalf("len(blob) = %d, want Overhead+len(ARN)+len(plaintext) = %d", len(b), want)
				}
				if h.Size() != len(b)-sealedLen {
					t.Fatalf("Size() = %d, want %d", h.Size(), len(b)-sealedLen)
				}
				got, err := Parse(b)
				if err != nil {
					t.Fatalf("Parse(version %d, ARN of %d bytes, sealed %d): %v", version, len(arn), sealedLen, err)
				}
				if got.Header != h {
					t.Errorf("header = %+v, want %+v", got.Header, h)
				}
				// Version 1 authenticates the IV as additional data too.
				aadLen := h.Size()
				if version == Version1 {
					aadLen += IVSize
				}
				if !bytes.Equal(got.AAD, b[:aadLen]) || !bytes.Equal(got.Sealed, sealed) || !bytes.Equal(got.IV(), sealed[:IVSize]) {
					t.Errorf("version %d: AAD/Sealed/IV do not split the input where they should", version)
				}
			}
		}
	}
}

// TestAppendDefaultVersion: a Header without a version is written as
// Version2, the version kms seals.
func TestAppendDefaultVersion(t *testing.T) {
	t.Parallel()
	h := testHeader(typicalARN)
	h.Version = 0
	if b := h.Append(nil); b[0] != Version2 {
		t.Fatalf("Append wrote version 0x%02x, want Version2", b[0])
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	t.Parallel()
	h := testHeader(typicalARN)
	b := h.Append([]byte("prefix"))
	if !bytes.HasPrefix(b, []byte("prefix")) || !bytes.Equal(b[6:], h.Append(nil)) {
		t.Fatalf("Append did not append to dst")
	}
}

func TestParseAliasesInput(t *testing.T) {
	t.Parallel()
	for _, version := range []byte{Version1, Version2} {
		h := testHeader(typicalARN)
		h.Version = version
		b := encode(h, make([]byte, 40))
		bl, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if &bl.AAD[0] != &b[0] || &bl.Sealed[0] != &b[h.Size()] {
			t.Errorf("AAD and Sealed must be sub-slices of the input")
		}
		// Appending to AAD must not overwrite Sealed.
		_ = append(bl.AAD, 0x55)
		if bl.Sealed[len(bl.AAD)-h.Size()] != 0 {
			t.Errorf("append to AAD clobbered Sealed")
		}
	}
}

func TestAppendPanicsOnBadARN(t *testing.T) {
	t.Parallel()
	for _, arn := range []string{"", strings.Repeat("a", MaxKeyARNLen+1), strings.Repeat("a", 65536+10), "a\x00", "a\xff"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Append(ARN %q...) did not panic", arn[:min(len(arn), 8)])
				}
			}()
			h := testHeader(arn)
			h.Append(nil)
		}()
	}
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	valid := encode(testHeader(typicalARN), make([]byte, IVSize+TagSize))
	withARNLen := func(n int) []byte {
		b := bytes.Clone(valid)
		binary.BigEndian.PutUint16(b[1:3], uint16(n))
		return b
	}
	withARN := func(arn string) []byte {
		b := []byte{Version1, 0, 0}
		binary.BigEndian.PutUint16(b[1:3], uint16(len(arn)))
		b = append(b, arn...)
		b = append(b, make([]byte, MaterialIDSize+NonceSize+IVSize+TagSize)...)
		return b
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"version 0", append([]byte{0}, valid[1:]...)},
		{"version 3", append([]byte{3}, valid[1:]...)},
		{"version 0xff", append([]byte{0xff}, valid[1:]...)},
		{"only version", valid[:1]},
		{"half length", valid[:2]},
		{"length only", valid[:3]},
		{"ARN length 0", withARNLen(0)},
		{"ARN length past end", withARNLen(len(valid))},
		{"ARN length 2049", withARN(strings.Repeat("a", MaxKeyARNLen+1))},
		{"ARN length 0xffff", withARNLen(0xffff)},
		{"ARN with NUL", withARN("arn:aws:kms\x00")},
		{"ARN with newline", withARN("arn:aws:kms\n")},
		{"ARN with DEL", withARN("arn\x7f")},
		{"ARN with C1 control", withARN("arn\u0085")},
		{"ARN with bidi override", withARN("arn\u202e")},
		{"ARN invalid UTF-8", withARN("arn\xc3")},
		{"ARN surrogate", withARN("arn\xed\xa0\x80")},
		{"truncated in ARN", valid[:3+10]},
		{"truncated in material id", valid[:3+len(typicalARN)+5]},
		{"truncated in nonce", valid[:3+len(typicalARN)+MaterialIDSize+5]},
		{"truncated in IV", valid[:3+len(typicalARN)+MaterialIDSize+NonceSize+5]},
		{"header only", valid[:len(valid)-TagSize]},
		{"tag 15 bytes", valid[:len(valid)-1]},
		{"tag 1 byte", valid[:len(valid)-TagSize+1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bl, err := Parse(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %v, %v; want an error wrapping ErrMalformed", bl, err)
			}
			if bl != nil {
				t.Errorf("Parse returned a blob with an error")
			}
		})
	}
}

func TestOverhead(t *testing.T) {
	t.Parallel()
	if Overhead != 79 {
		t.Fatalf("Overhead = %d, want 79 (1+2+32+16+12+16)", Overhead)
	}
	// The design's bound: a blob adds at most 2048 bytes to the plaintext,
	// which a typical ARN leaves far behind.
	if n := Overhead + len(typicalARN); n > 2048 {
		t.Fatalf("typical overhead %d > 2048", n)
	}
}

type vectorFile struct {
	Valid []struct {
		Name       string `json:"name"`
		Blob       string `json:"blob"`
		KeyARN     string `json:"key_arn"`
		MaterialID string `json:"material_id"`
		Nonce      string `json:"nonce"`
		IV         string `json:"iv"`
		Sealed     string `json:"sealed"`
		AAD        string `json:"aad"`
	} `json:"valid"`
	Malformed []struct {
		Name string `json:"name"`
		Blob string `json:"blob"`
	} `json:"malformed"`
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in vectors.json: %v", err)
	}
	return b
}

func TestGoldenVectors(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(data, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Valid) == 0 || len(vf.Malformed) == 0 {
		t.Fatal("vectors.json has no vectors")
	}
	for _, v := range vf.Valid {
		t.Run(v.Name, func(t *testing.T) {
			in := unhex(t, v.Blob)
			bl, err := Parse(in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if bl.KeyARN != v.KeyARN {
				t.Errorf("KeyARN = %q, want %q", bl.KeyARN, v.KeyARN)
			}
			for _, f := range []struct {
				name      string
				got, want []byte
			}{
				{"material id", bl.MaterialID[:], unhex(t, v.MaterialID)},
				{"nonce", bl.Nonce[:], unhex(t, v.Nonce)},
				{"iv", bl.IV(), unhex(t, v.IV)},
				{"sealed", bl.Sealed, append(unhex(t, v.IV), unhex(t, v.Sealed)...)},
				{"aad", bl.AAD, unhex(t, v.AAD)},
			} {
				if !bytes.Equal(f.got, f.want) {
					t.Errorf("%s = %x, want %x", f.name, f.got, f.want)
				}
			}
			// Re-encode from the parsed fields, byte for byte.
			if out := append(bl.Header.Append(nil), bl.Sealed...); !bytes.Equal(out, in) {
				t.Errorf("re-encoded\n %x\nwant\n %x", out, in)
			}
		})
	}
	for _, v := range vf.Malformed {
		t.Run(v.Name, func(t *testing.T) {
			if _, err := Parse(unhex(t, v.Blob)); !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	// testdata/fuzz/FuzzParse holds the golden vectors and malformed cases;
	// add a long ARN, which is too big to keep there comfortably.
	f.Add(encode(testHeader(strings.Repeat("a", MaxKeyARNLen)), make([]byte, IVSize+TagSize)))
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		bl, err := Parse(in)
		if !bytes.Equal(in, orig) {
			t.Fatalf("Parse modified its input")
		}
		if err != nil {
			if bl != nil {
				t.Fatalf("Parse returned a blob and an error")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		hdr := bl.Header.Append(nil)
		aadLen := len(hdr)
		if bl.Version == Version1 {
			aadLen += IVSize
		}
		if !bytes.Equal(bl.AAD, in[:aadLen]) {
			t.Fatalf("AAD = %x, want the first %d bytes of the input", bl.AAD, aadLen)
		}
		if out := append(hdr, bl.Sealed...); !bytes.Equal(out, in) {
			t.Fatalf("accepted input does not re-encode to itself:\n in %x\nout %x", in, out)
		}
		if len(bl.Sealed) < IVSize+TagSize {
			t.Fatalf("accepted a sealed part of %d bytes", len(bl.Sealed))
		}
	})
}

func BenchmarkParse(b *testing.B) {
	in := encode(testHeader(typicalARN), make([]byte, IVSize+32+TagSize))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	h := testHeader(typicalARN)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = h.Append(buf[:0])
	}
}
