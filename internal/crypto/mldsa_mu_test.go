package crypto

import (
	"bytes"
	"crypto/rand"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"sync"
	"testing"

	"filippo.io/mldsa"
	"github.com/c2sp/wycheproof"
)

// externalMu computes μ as FIPS 204's ML-DSA.Verify does:
// SHAKE256(SHAKE256(pk, 64) ‖ 0 ‖ len(ctx) ‖ ctx ‖ M, 64), ctx ≤ 255 bytes.
func externalMu(pk, ctx, msg []byte) []byte {
	tr := sha3.SumSHAKE256(pk, 64)
	h := sha3.NewSHAKE256()
	h.Write(tr)
	h.Write([]byte{0, byte(len(ctx))})
	h.Write(ctx)
	h.Write(msg)
	mu := make([]byte, 64)
	h.Read(mu)
	return mu
}

var mlSets = []struct {
	name string
	lib  func() mldsa.Parameters
	p    *mlParams
}{
	{"ML-DSA-44", mldsa.MLDSA44, &mlDSA44},
	{"ML-DSA-65", mldsa.MLDSA65, &mlDSA65},
	{"ML-DSA-87", mldsa.MLDSA87, &mlDSA87},
}

// mlCase is one signature and what it was made over.
type mlCase struct {
	key      *mldsa.PrivateKey
	ctx, msg []byte
	sig      []byte
}

func newMLCase(t testing.TB, key *mldsa.PrivateKey, r *mrand.Rand) mlCase {
	c := mlCase{key: key, ctx: make([]byte, r.IntN(256)), msg: make([]byte, r.IntN(300))}
	rand.Read(c.ctx)
	rand.Read(c.msg)
	sig, err := key.Sign(nil, c.msg, &mldsa.Options{Context: string(c.ctx)})
	if err != nil {
		t.Fatal(err)
	}
	c.sig = sig
	return c
}

// agree verifies sig both ways, over μ here and over (ctx, msg) in
// filippo.io/mldsa, fails the test if they disagree, and returns the
// verdict.
func agree(t testing.TB, pub *mldsa.PublicKey, ctx, msg, sig []byte, what string) bool {
	t.Helper()
	lib := mldsa.Verify(pub, msg, sig, &mldsa.Options{Context: string(ctx)}) == nil
	got := verifyMLDSAMu(pub.Bytes(), externalMu(pub.Bytes(), ctx, msg), sig)
	if got != lib {
		t.Fatalf("%s: verify over μ says %v, filippo.io/mldsa says %v", what, got, lib)
	}
	return got
}

// setZ re-encodes coefficient j of z[i] in sig as γ1 − u.
func setZ(p *mlParams, sig []byte, i, j int, u uint32) []byte {
	sig = bytes.Clone(sig)
	zb := 32 * p.zBits()
	off := p.lambda/4 + i*zb
	f := unpackBits(sig[off:off+zb], p.zBits())
	f[j] = u
	copy(sig[off:], packBits(nil, &f, p.zBits()))
	return sig
}

// TestVerifyMLDSAMuDifferential checks verification over μ against
// filippo.io/mldsa's Verify on valid signatures and on every way to spoil
// one: each byte changed, other keys, other messages and contexts, wrong
// lengths, hint encodings FIPS 204 rejects, z at and past its bound.
func TestVerifyMLDSAMuDifferential(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, set := range mlSets {
		t.Run(set.name, func(t *testing.T) {
			p := set.p
			key, _ := mldsa.GenerateKey(set.lib())
			other, _ := mldsa.GenerateKey(set.lib())
			pub := key.PublicKey()
			for n := range 8 {
				c := newMLCase(t, key, r)
				if !agree(t, pub, c.ctx, c.msg, c.sig, fmt.Sprintf("valid signature %d", n)) {
					t.Fatal("a valid signature does not verify")
				}
				if agree(t, other.PublicKey(), c.ctx, c.msg, c.sig, "other key") {
					t.Fatal("a signature verifies under another key")
				}
				if len(c.msg) > 0 {
					m := bytes.Clone(c.msg)
					m[r.IntN(len(m))] ^= 1 << r.IntN(8)
					if agree(t, pub, c.ctx, m, c.sig, "changed message") {
						t.Fatal("a signature verifies a changed message")
					}
				}
				ctx := []byte{0}
				if len(c.ctx) > 0 {
					ctx = bytes.Clone(c.ctx)
					ctx[0] ^= 1
				}
				if agree(t, pub, ctx, c.msg, c.sig, "other context") {
					t.Fatal("a signature verifies under another context")
				}
			}

			c := newMLCase(t, key, r)
			// Every byte of the signature, one random bit each: most
			// changes are rejected, changes to unused z bits or hint
			// padding only where the library agrees.
			for i := range c.sig {
				s := bytes.Clone(c.sig)
				s[i] ^= 1 << r.IntN(8)
				agree(t, pub, c.ctx, c.msg, s, fmt.Sprintf("bit flipped in byte %d", i))
			}
			for _, n := range []int{0, 1, len(c.sig) - 1, len(c.sig) + 1, 2 * len(c.sig)} {
				s := make([]byte, n)
				copy(s, c.sig)
				if agree(t, pub, c.ctx, c.msg, s, fmt.Sprintf("%d-byte signature", n)) {
					t.Fatalf("a %d-byte signature verifies", n)
				}
				if verifyMLDSAMu(pub.Bytes()[:len(pub.Bytes())-1], externalMu(pub.Bytes(), c.ctx, c.msg), c.sig) {
					t.Fatal("a short public key verifies")
				}
			}

			// Hints: y[ω+i] are running counts, y[:ω] the indices.
			h := c.sig[len(c.sig)-p.omega-p.k:]
			hintAt := func(f func(h []byte)) []byte {
				s := bytes.Clone(c.sig)
				f(s[len(s)-p.omega-p.k:])
				return s
			}
			bad := map[string][]byte{
				"too many hints": hintAt(func(h []byte) { h[p.omega+p.k-1] = byte(p.omega + 1) }),
				"decreasing counts": hintAt(func(h []byte) {
					h[p.omega] = h[p.omega+1] + 1
				}),
				"nonzero padding": hintAt(func(h []byte) { h[p.omega-1] = 1 }),
			}
			if int(h[p.omega+p.k-1]) == p.omega {
				delete(bad, "nonzero padding") // no padding left
			}
			for i, first := 0, 0; i < p.k; i++ {
				end := int(h[p.omega+i])
				if end-first >= 2 {
					bad["unsorted hints"] = hintAt(func(h []byte) { h[first], h[first+1] = h[first+1], h[first] })
					bad["repeated hint"] = hintAt(func(h []byte) { h[first+1] = h[first] })
					break
				}
				first = end
			}
			if _, ok := bad["unsorted hints"]; !ok {
				t.Fatal("no polynomial with two hints to reorder; pick another seed")
			}
			for what, s := range bad {
				if agree(t, pub, c.ctx, c.msg, s, what) {
					t.Fatalf("%s: verifies", what)
				}
			}

			// z: γ1−β−1 is inside the bound, γ1−β and beyond are not;
			// BitUnpack's range is (−γ1, γ1].
			for _, z := range []int32{p.gamma1 - p.beta - 1, -(p.gamma1 - p.beta - 1), p.gamma1 - p.beta, -(p.gamma1 - p.beta), p.gamma1, -p.gamma1 + 1} {
				s := setZ(p, c.sig, r.IntN(p.l), r.IntN(256), uint32(p.gamma1-z))
				if agree(t, pub, c.ctx, c.msg, s, fmt.Sprintf("z coefficient %d", z)) {
					t.Fatalf("z coefficient %d: verifies", z)
				}
			}
			// The unchanged coefficient re-encoded is still valid: setZ
			// itself is sound.
			f := unpackBits(c.sig[p.lambda/4:p.lambda/4+32*p.zBits()], p.zBits())
			if !agree(t, pub, c.ctx, c.msg, setZ(p, c.sig, 0, 7, f[7]), "z re-encoded unchanged") {
				t.Fatal("re-encoding z breaks a valid signature")
			}
		})
	}
}

var (
	fuzzMLOnce  sync.Once
	fuzzMLKeys  []*mldsa.PrivateKey
	fuzzMLSeeds []mlCase
)

func fuzzMLKeysInit(t testing.TB) {
	fuzzMLOnce.Do(func() {
		r := mrand.New(mrand.NewPCG(3, 4))
		for i, set := range mlSets {
			k, err := mldsa.NewPrivateKey(set.lib(), bytes.Repeat([]byte{byte(i + 1)}, 32))
			if err != nil {
				panic(err)
			}
			fuzzMLKeys = append(fuzzMLKeys, k)
			fuzzMLSeeds = append(fuzzMLSeeds, newMLCase(t, k, r))
		}
	})
}

// FuzzVerifyExternalMu feeds changed signatures, messages and contexts to
// the verifier over μ and to filippo.io/mldsa's Verify: they agree, and
// nothing panics.
func FuzzVerifyExternalMu(f *testing.F) {
	fuzzMLKeysInit(f)
	for i, c := range fuzzMLSeeds {
		f.Add(uint8(i), c.ctx, c.msg, c.sig)
		s := bytes.Clone(c.sig)
		s[len(s)-1] = 0xff
		f.Add(uint8(i), c.ctx, c.msg, s)
	}
	f.Fuzz(func(t *testing.T, which uint8, ctx, msg, sig []byte) {
		key := fuzzMLKeys[int(which)%len(fuzzMLKeys)]
		if len(ctx) > 255 {
			ctx = ctx[:255]
		}
		agree(t, key.PublicKey(), ctx, msg, sig, "fuzzed")
	})
}

// wycheproofGroup is a test group of Wycheproof's ML-DSA verify and sign
// files (the members used here).
type wycheproofGroup struct {
	PublicKey string `json:"publicKey"`
	Tests     []struct {
		TcID    int      `json:"tcId"`
		Comment string   `json:"comment"`
		Msg     *string  `json:"msg"` // absent for "Internal" signing vectors
		Ctx     string   `json:"ctx"`
		Mu      string   `json:"mu"`
		Sig     string   `json:"sig"`
		Result  string   `json:"result"`
		Flags   []string `json:"flags"`
	} `json:"tests"`
}

// wycheproofFile reads one Wycheproof vector file.
func wycheproofFile(t *testing.T, name string) []wycheproofGroup {
	b, err := fs.ReadFile(wycheproof.TestVectors, name)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		TestGroups []wycheproofGroup `json:"testGroups"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.TestGroups
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyMLDSAMuWycheproof runs every Wycheproof ML-DSA verify vector
// through the verifier over μ (μ computed from the key, context and
// message), and every signing vector that gives μ and a signature.
func TestVerifyMLDSAMuWycheproof(t *testing.T) {
	for _, n := range []int{44, 65, 87} {
		t.Run(fmt.Sprint("ML-DSA-", n), func(t *testing.T) {
			valid, invalid, longCtx := 0, 0, 0
			for _, g := range wycheproofFile(t, fmt.Sprintf("mldsa_%d_verify_test.json", n)) {
				pk := unhex(t, g.PublicKey)
				if p := mlParamsFor(pk); p != nil && p.pkSize() != 32+320*map[int]int{44: 4, 65: 6, 87: 8}[n] {
					t.Fatalf("a %d-byte public key in the ML-DSA-%d file", len(pk), n)
				}
				for _, tc := range g.Tests {
					want := tc.Result == "valid"
					if tc.Result != "valid" && tc.Result != "invalid" {
						t.Fatalf("tcId %d: result %q", tc.TcID, tc.Result)
					}
					ctx := unhex(t, tc.Ctx)
					if len(ctx) > 255 {
						// ML-DSA.Verify rejects the context before μ
						// exists; kagi never takes a context.
						if want {
							t.Fatalf("tcId %d: valid with a %d-byte context", tc.TcID, len(ctx))
						}
						longCtx++
						continue
					}
					got := verifyMLDSAMu(pk, externalMu(pk, ctx, unhex(t, *tc.Msg)), unhex(t, tc.Sig))
					if got != want {
						t.Errorf("tcId %d (%s, %v): got %v, want %s", tc.TcID, tc.Comment, tc.Flags, got, tc.Result)
					}
					if want {
						valid++
					} else {
						invalid++
					}
				}
			}
			t.Logf("verify vectors: %d valid, %d invalid, %d with a context over 255 bytes", valid, invalid, longCtx)
			if valid < 50 || invalid < 50 {
				t.Errorf("only %d valid and %d invalid vectors", valid, invalid)
			}

			mus := 0
			for _, file := range []string{"sign_seed", "sign_noseed"} {
				for _, g := range wycheproofFile(t, fmt.Sprintf("mldsa_%d_%s_test.json", n, file)) {
					pk := unhex(t, g.PublicKey)
					for _, tc := range g.Tests {
						if tc.Mu == "" || tc.Sig == "" || tc.Result != "valid" {
							continue
						}
						mu, sig := unhex(t, tc.Mu), unhex(t, tc.Sig)
						if tc.Msg != nil && !bytes.Equal(externalMu(pk, unhex(t, tc.Ctx), unhex(t, *tc.Msg)), mu) {
							t.Errorf("%s tcId %d: μ computed from the message differs from the vector's", file, tc.TcID)
						}
						if !verifyMLDSAMu(pk, mu, sig) {
							t.Errorf("%s tcId %d (%s): the signature over μ does not verify", file, tc.TcID, tc.Comment)
						}
						mu[0] ^= 1
						if verifyMLDSAMu(pk, mu, sig) {
							t.Errorf("%s tcId %d: the signature verifies another μ", file, tc.TcID)
						}
						mus++
					}
				}
			}
			t.Logf("signing vectors with μ: %d", mus)
			if mus < 50 {
				t.Errorf("only %d signing vectors with μ", mus)
			}
		})
	}
}

// BenchmarkVerifyMLDSAMu compares verification over μ (here) with
// filippo.io/mldsa's Verify of the same signature (which also computes μ).
func BenchmarkVerifyMLDSAMu(b *testing.B) {
	for _, set := range mlSets {
		key, _ := mldsa.GenerateKey(set.lib())
		pub := key.PublicKey()
		msg := []byte("benchmark message")
		sig, err := key.Sign(nil, msg, &mldsa.Options{})
		if err != nil {
			b.Fatal(err)
		}
		pk := pub.Bytes()
		b.Run(set.name+"/mu", func(b *testing.B) {
			for b.Loop() {
				if !verifyMLDSAMu(pk, externalMu(pk, nil, msg), sig) {
					b.Fatal("does not verify")
				}
			}
		})
		b.Run(set.name+"/filippo", func(b *testing.B) {
			for b.Loop() {
				if mldsa.Verify(pub, msg, sig, &mldsa.Options{}) != nil {
					b.Fatal("does not verify")
				}
			}
		})
	}
}
