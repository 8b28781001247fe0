package crypto

// ML-DSA verification over an external μ, written from FIPS 204
// (ML-DSA.Verify_internal, Algorithm 8), because no library kagi may use
// exports it: filippo.io/mldsa v1.0.0 verifies a message and context only
// (its VerifyExternalMu is internal, as is Go 1.26's in
// crypto/internal/fips140/mldsa), and circl v1.6.4 computes μ itself.
// Verification handles only public data, so nothing here is constant time.
// It is checked against filippo.io/mldsa (mldsa_mu_test.go, a fuzz
// target) and against the Wycheproof ML-DSA verify vectors.

import (
	"bytes"
	"crypto/sha3"
)

const (
	mlq = 8380417 // the modulus q
	mld = 13      // dropped bits of t (d)
)

// mlParams is one ML-DSA parameter set (FIPS 204, Table 1).
type mlParams struct {
	k, l   int // rows and columns of A
	tau    int // ±1 coefficients of the challenge c
	lambda int // collision strength; c̃ is λ/4 bytes
	gamma1 int32
	gamma2 int32
	beta   int32
	omega  int // maximum number of hints
}

var (
	mlDSA44 = mlParams{k: 4, l: 4, tau: 39, lambda: 128, gamma1: 1 << 17, gamma2: (mlq - 1) / 88, beta: 78, omega: 80}
	mlDSA65 = mlParams{k: 6, l: 5, tau: 49, lambda: 192, gamma1: 1 << 19, gamma2: (mlq - 1) / 32, beta: 196, omega: 55}
	mlDSA87 = mlParams{k: 8, l: 7, tau: 60, lambda: 256, gamma1: 1 << 19, gamma2: (mlq - 1) / 32, beta: 120, omega: 75}
)

// zBits is the width of a packed coefficient of z: 1 + bitlen(γ1−1).
func (p *mlParams) zBits() int {
	if p.gamma1 == 1<<17 {
		return 18
	}
	return 20
}

// w1Bits is the width of a coefficient of w1: bitlen((q−1)/(2γ2) − 1).
func (p *mlParams) w1Bits() int {
	if p.gamma2 == (mlq-1)/88 {
		return 6
	}
	return 4
}

func (p *mlParams) pkSize() int { return 32 + 32*10*p.k }
func (p *mlParams) sigSize() int {
	return p.lambda/4 + 32*p.zBits()*p.l + p.omega + p.k
}

// mlParamsFor picks the parameter set by the public key's length (1312,
// 1952 or 2592 bytes), or nil.
func mlParamsFor(pk []byte) *mlParams {
	for _, p := range []*mlParams{&mlDSA44, &mlDSA65, &mlDSA87} {
		if len(pk) == p.pkSize() {
			return p
		}
	}
	return nil
}

// poly is a polynomial of R_q with coefficients in [0, q).
type poly [256]uint32

// verifyMLDSAMu reports whether sig is a valid ML-DSA signature over the
// 64-byte μ under the encoded public key pk (FIPS 204, Algorithm 8 with μ
// given instead of computed from tr and M').
func verifyMLDSAMu(pk, mu, sig []byte) bool {
	p := mlParamsFor(pk)
	if p == nil || len(mu) != MuSize || len(sig) != p.sigSize() {
		return false
	}
	// pkDecode (Algorithm 23): ρ ‖ t1, 10-bit coefficients.
	rho, pkT1 := pk[:32], pk[32:]

	// sigDecode (Algorithm 27): c̃ ‖ z ‖ h, with the bound on z checked
	// here rather than at the end (the result is the same).
	ct, rest := sig[:p.lambda/4], sig[p.lambda/4:]
	zb := 32 * p.zBits()
	z := make([]poly, p.l)
	bound := p.gamma1 - p.beta
	for i := range z {
		u := unpackBits(rest[i*zb:(i+1)*zb], p.zBits())
		for j, v := range u {
			c := p.gamma1 - int32(v) // BitUnpack(·, γ1−1, γ1)
			if c >= bound || -c >= bound {
				return false
			}
			z[i][j] = uint32((c + mlq) % mlq)
		}
	}
	h, ok := hintBitUnpack(p, rest[p.l*zb:])
	if !ok {
		return false
	}

	// c = SampleInBall(c̃); NTT(c) and NTT(z) once.
	c := sampleInBall(ct, p.tau)
	ntt(&c)
	for i := range z {
		ntt(&z[i])
	}

	// w'approx = NTT⁻¹(Â∘NTT(z) − NTT(c)∘NTT(t1·2^d)), row by row, then
	// w1' = UseHint(h, w'approx), encoded as w1Encode.
	w1 := make([]byte, 0, 32*p.w1Bits()*p.k)
	for r := 0; r < p.k; r++ {
		var acc poly
		for s := 0; s < p.l; s++ {
			a := rejNTTPoly(rho, byte(s), byte(r)) // ExpandA's Â[r][s]
			for j := range acc {
				acc[j] = uint32((uint64(acc[j]) + uint64(a[j])*uint64(z[s][j])) % mlq)
			}
		}
		t := unpackBits(pkT1[r*320:(r+1)*320], 10)
		for j := range t {
			t[j] <<= mld // t1 < 2^10, so t1·2^d < q
		}
		ntt(&t)
		for j := range acc {
			ct := uint64(c[j]) * uint64(t[j]) % mlq
			acc[j] = uint32((uint64(acc[j]) + mlq - ct) % mlq)
		}
		invNTT(&acc)
		for j := range acc {
			acc[j] = useHint(p, h[r][j], acc[j])
		}
		w1 = packBits(w1, &acc, p.w1Bits())
	}

	// c̃' = H(μ ‖ w1Encode(w1'), λ/4); the data is public, so a plain
	// comparison is fine.
	hh := sha3.NewSHAKE256()
	hh.Write(mu)
	hh.Write(w1)
	want := make([]byte, p.lambda/4)
	hh.Read(want)
	return bytes.Equal(ct, want)
}

// hintBitUnpack decodes the hint h (FIPS 204, Algorithm 21): ω indices
// followed by k running counts; indices strictly increase within a
// polynomial and unused index bytes are zero.
func hintBitUnpack(p *mlParams, y []byte) ([][256]bool, bool) {
	h := make([][256]bool, p.k)
	idx := 0
	for i := 0; i < p.k; i++ {
		end := int(y[p.omega+i])
		if end < idx || end > p.omega {
			return nil, false
		}
		first := idx
		for ; idx < end; idx++ {
			if idx > first && y[idx-1] >= y[idx] {
				return nil, false
			}
			h[i][y[idx]] = true
		}
	}
	for ; idx < p.omega; idx++ {
		if y[idx] != 0 {
			return nil, false
		}
	}
	return h, true
}

// useHint is FIPS 204 Algorithm 40 with Decompose (Algorithm 36).
func useHint(p *mlParams, hint bool, r uint32) uint32 {
	m := (mlq - 1) / (2 * p.gamma2)
	// Decompose: r0 = r mod± 2γ2, in (−γ2, γ2].
	r0 := int32(r) % (2 * p.gamma2)
	if r0 > p.gamma2 {
		r0 -= 2 * p.gamma2
	}
	var r1 int32
	if int32(r)-r0 == mlq-1 {
		r1, r0 = 0, r0-1
	} else {
		r1 = (int32(r) - r0) / (2 * p.gamma2)
	}
	switch {
	case !hint:
		return uint32(r1)
	case r0 > 0:
		return uint32((r1 + 1) % m)
	}
	return uint32((r1 - 1 + m) % m)
}

// sampleInBall is FIPS 204 Algorithm 29: a polynomial with τ coefficients
// ±1, the rest 0, from SHAKE256(c̃).
func sampleInBall(seed []byte, tau int) poly {
	x := sha3.NewSHAKE256()
	x.Write(seed)
	var buf [136]byte // one SHAKE256 block
	x.Read(buf[:])
	signs := uint64(0)
	for i := 7; i >= 0; i-- {
		signs = signs<<8 | uint64(buf[i])
	}
	pos := 8
	var c poly
	for i := 256 - tau; i < 256; i++ {
		var j int
		for {
			if pos == len(buf) {
				x.Read(buf[:])
				pos = 0
			}
			j = int(buf[pos])
			pos++
			if j <= i {
				break
			}
		}
		c[i] = c[j]
		if signs&1 == 1 {
			c[j] = mlq - 1
		} else {
			c[j] = 1
		}
		signs >>= 1
	}
	return c
}

// rejNTTPoly is FIPS 204 Algorithm 30 for ExpandA (Algorithm 32): the
// NTT-domain polynomial Â[r][s] from SHAKE128(ρ ‖ s ‖ r), 23-bit
// candidates below q kept.
func rejNTTPoly(rho []byte, s, r byte) poly {
	x := sha3.NewSHAKE128()
	x.Write(rho)
	x.Write([]byte{s, r})
	var buf [168]byte // one SHAKE128 block, a multiple of 3 bytes
	var a poly
	for j := 0; j < 256; {
		x.Read(buf[:])
		for b := 0; b < len(buf) && j < 256; b += 3 {
			v := uint32(buf[b]) | uint32(buf[b+1])<<8 | uint32(buf[b+2]&0x7f)<<16
			if v < mlq {
				a[j] = v
				j++
			}
		}
	}
	return a
}

// unpackBits is SimpleBitUnpack: 256 coefficients of bits bits each,
// least significant bit first; len(b) is 32·bits.
func unpackBits(b []byte, bits int) poly {
	var f poly
	var acc uint64
	n, i := 0, 0
	for _, x := range b {
		acc |= uint64(x) << n
		n += 8
		for ; n >= bits; n -= bits {
			f[i] = uint32(acc & (1<<bits - 1))
			acc >>= bits
			i++
		}
	}
	return f
}

// packBits is SimpleBitPack, appending to dst; every coefficient fits in
// bits bits.
func packBits(dst []byte, f *poly, bits int) []byte {
	var acc uint64
	n := 0
	for _, v := range f {
		acc |= uint64(v) << n
		n += bits
		for ; n >= 8; n -= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
		}
	}
	return dst
}

// zetas[m] = ζ^brv8(m) mod q for ζ = 1753, the 512th root of unity FIPS 204
// uses (Appendix B); computed once.
var zetas = func() (z [256]uint32) {
	for m := range z {
		brv := 0
		for b := 0; b < 8; b++ {
			brv |= (m >> b & 1) << (7 - b)
		}
		v := uint64(1)
		for e := 0; e < brv; e++ {
			v = v * 1753 % mlq
		}
		z[m] = uint32(v)
	}
	return z
}()

// ntt is FIPS 204 Algorithm 41, in place.
func ntt(w *poly) {
	m := 0
	for n := 128; n >= 1; n /= 2 {
		for start := 0; start < 256; start += 2 * n {
			m++
			z := uint64(zetas[m])
			for j := start; j < start+n; j++ {
				t := z * uint64(w[j+n]) % mlq
				w[j+n] = uint32((uint64(w[j]) + mlq - t) % mlq)
				w[j] = uint32((uint64(w[j]) + t) % mlq)
			}
		}
	}
}

// invNTT is FIPS 204 Algorithm 42, in place.
func invNTT(w *poly) {
	m := 256
	for n := 1; n < 256; n *= 2 {
		for start := 0; start < 256; start += 2 * n {
			m--
			z := uint64(mlq - zetas[m]) // −ζ^brv(m)
			for j := start; j < start+n; j++ {
				t := uint64(w[j])
				w[j] = uint32((t + uint64(w[j+n])) % mlq)
				w[j+n] = uint32(z * ((t + mlq - uint64(w[j+n])) % mlq) % mlq)
			}
		}
	}
	const f = 8347681 // 256⁻¹ mod q
	for j := range w {
		w[j] = uint32(uint64(w[j]) * f % mlq)
	}
}
