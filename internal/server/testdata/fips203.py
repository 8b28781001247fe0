"""ML-KEM (FIPS 203) in pure Python, for the interop scripts next to it
(agreement.py, datakeypair.py): pyca/cryptography has no ML-KEM-512 and
OpenSSL 3.0 no ML-KEM at all. self_test() first shows that this code agrees
with pyca/cryptography on ML-KEM-768 and ML-KEM-1024 (same public key from a
seed; each decapsulates the other's ciphertexts; same implicit rejection).
Nothing here imports kagi code.
"""
import hashlib
import os

try:
    from cryptography.hazmat.primitives.asymmetric import mlkem
except ImportError:  # pyca/cryptography before ML-KEM support
    mlkem = None

Q = 3329
PARAMS = {  # k, eta1, eta2, du, dv
    "ML_KEM_512": (2, 3, 2, 10, 4),
    "ML_KEM_768": (3, 2, 2, 10, 4),
    "ML_KEM_1024": (4, 2, 2, 11, 5),
}


def _bitrev7(i):
    return int(format(i, "07b")[::-1], 2)


ZETAS = [pow(17, _bitrev7(i), Q) for i in range(128)]
GAMMAS = [pow(17, 2 * _bitrev7(i) + 1, Q) for i in range(128)]


def ntt(f):
    f = list(f)
    i, length = 1, 128
    while length >= 2:
        for start in range(0, 256, 2 * length):
            z = ZETAS[i]
            i += 1
            for j in range(start, start + length):
                t = z * f[j + length] % Q
                f[j + length] = (f[j] - t) % Q
                f[j] = (f[j] + t) % Q
        length //= 2
    return f


def ntt_inv(f):
    f = list(f)
    i, length = 127, 2
    while length <= 128:
        for start in range(0, 256, 2 * length):
            z = ZETAS[i]
            i -= 1
            for j in range(start, start + length):
                t = f[j]
                f[j] = (t + f[j + length]) % Q
                f[j + length] = z * (f[j + length] - t) % Q
        length *= 2
    return [x * 3303 % Q for x in f]


def mul_ntt(a, b):
    c = [0] * 256
    for i in range(128):
        a0, a1, b0, b1 = a[2 * i], a[2 * i + 1], b[2 * i], b[2 * i + 1]
        c[2 * i] = (a0 * b0 + a1 * b1 * GAMMAS[i]) % Q
        c[2 * i + 1] = (a0 * b1 + a1 * b0) % Q
    return c


def add(a, b):
    return [(x + y) % Q for x, y in zip(a, b)]


def encode(f, d):
    x = 0
    for i, a in enumerate(f):
        x |= (a % (1 << d)) << (i * d)
    return x.to_bytes(32 * d, "little")


def decode(b, d):
    x = int.from_bytes(b, "little")
    m = (1 << d) - 1
    f = [(x >> (i * d)) & m for i in range(256)]
    return [a % Q for a in f] if d == 12 else f


def compress(f, d):
    return [((a << (d + 1)) + Q) // (2 * Q) % (1 << d) for a in f]


def decompress(f, d):
    return [(Q * a + (1 << (d - 1))) >> d for a in f]


def sample_ntt(seed):
    out, n = [], 840
    while True:
        b = hashlib.shake_128(seed).digest(n)
        out = []
        for i in range(0, n - 2, 3):
            d1 = b[i] + 256 * (b[i + 1] % 16)
            d2 = b[i + 1] // 16 + 16 * b[i + 2]
            if d1 < Q:
                out.append(d1)
            if d2 < Q and len(out) < 256:
                out.append(d2)
            if len(out) == 256:
                return out
        n *= 2


def cbd(b, eta):
    x = int.from_bytes(b, "little")
    f = []
    for i in range(256):
        bits = x >> (2 * i * eta)
        a = sum((bits >> j) & 1 for j in range(eta))
        c = sum((bits >> (eta + j)) & 1 for j in range(eta))
        f.append((a - c) % Q)
    return f


def prf(eta, s, n):
    return hashlib.shake_256(s + bytes([n])).digest(64 * eta)


def matrix(rho, k):
    return [[sample_ntt(rho + bytes([j, i])) for j in range(k)] for i in range(k)]


def pke_keygen(spec, d):
    k, eta1 = PARAMS[spec][:2]
    g = hashlib.sha3_512(d + bytes([k])).digest()
    rho, sigma = g[:32], g[32:]
    a = matrix(rho, k)
    s = [ntt(cbd(prf(eta1, sigma, i), eta1)) for i in range(k)]
    e = [ntt(cbd(prf(eta1, sigma, k + i), eta1)) for i in range(k)]
    t = []
    for i in range(k):
        acc = e[i]
        for j in range(k):
            acc = add(acc, mul_ntt(a[i][j], s[j]))
        t.append(acc)
    return b"".join(encode(x, 12) for x in t) + rho, b"".join(encode(x, 12) for x in s)


def pke_encrypt(spec, ek, m, r):
    k, eta1, eta2, du, dv = PARAMS[spec]
    t = [decode(ek[384 * i:384 * (i + 1)], 12) for i in range(k)]
    a = matrix(ek[384 * k:], k)
    y = [ntt(cbd(prf(eta1, r, i), eta1)) for i in range(k)]
    e1 = [cbd(prf(eta2, r, k + i), eta2) for i in range(k)]
    e2 = cbd(prf(eta2, r, 2 * k), eta2)
    u = []
    for i in range(k):
        acc = [0] * 256
        for j in range(k):
            acc = add(acc, mul_ntt(a[j][i], y[j]))
        u.append(add(ntt_inv(acc), e1[i]))
    acc = [0] * 256
    for i in range(k):
        acc = add(acc, mul_ntt(t[i], y[i]))
    v = add(add(ntt_inv(acc), e2), decompress(decode(m, 1), 1))
    return b"".join(encode(compress(x, du), du) for x in u) + encode(compress(v, dv), dv)


def pke_decrypt(spec, dk, c):
    k, _, _, du, dv = PARAMS[spec]
    u = [decompress(decode(c[32 * du * i:32 * du * (i + 1)], du), du) for i in range(k)]
    v = decompress(decode(c[32 * du * k:], dv), dv)
    s = [decode(dk[384 * i:384 * (i + 1)], 12) for i in range(k)]
    acc = [0] * 256
    for i in range(k):
        acc = add(acc, mul_ntt(s[i], ntt(u[i])))
    w = [(x - y) % Q for x, y in zip(v, ntt_inv(acc))]
    return encode(compress(w, 1), 1)


def kem_keygen(spec, seed):
    """ML-KEM.KeyGen_internal(d, z) from the 64-byte seed d || z."""
    d, z = seed[:32], seed[32:]
    ek, dk_pke = pke_keygen(spec, d)
    return ek, dk_pke + ek + hashlib.sha3_256(ek).digest() + z


def kem_encaps(spec, ek, m=None):
    m = m if m is not None else os.urandom(32)
    g = hashlib.sha3_512(m + hashlib.sha3_256(ek).digest()).digest()
    return g[:32], pke_encrypt(spec, ek, m, g[32:])


def kem_decaps(spec, dk, c):
    k = PARAMS[spec][0]
    dk_pke, ek, h, z = dk[:384 * k], dk[384 * k:768 * k + 32], dk[768 * k + 32:768 * k + 64], dk[768 * k + 64:]
    m = pke_decrypt(spec, dk_pke, c)
    g = hashlib.sha3_512(m + h).digest()
    if pke_encrypt(spec, ek, m, g[32:]) != c:
        return hashlib.shake_256(z + c).digest(32)
    return g[:32]


def pyca_private(spec, seed):
    cls = {"ML_KEM_768": mlkem.MLKEM768PrivateKey, "ML_KEM_1024": mlkem.MLKEM1024PrivateKey}[spec]
    return cls.from_seed_bytes(seed)


def self_test():
    """The pure-Python ML-KEM agrees with pyca/cryptography's."""
    if mlkem is None:
        raise RuntimeError("this pyca/cryptography has no ML-KEM (the machine image has 48, which does)")
    for spec in ("ML_KEM_768", "ML_KEM_1024"):
        seed = os.urandom(64)
        ek, dk = kem_keygen(spec, seed)
        priv = pyca_private(spec, seed)
        if priv.public_key().public_bytes_raw() != ek:
            raise AssertionError(spec + ": the pure-Python public key differs from pyca/cryptography's")
        ss, ct = priv.public_key().encapsulate()
        if kem_decaps(spec, dk, ct) != ss:
            raise AssertionError(spec + ": pure Python does not decapsulate pyca/cryptography's ciphertext")
        ss, ct = kem_encaps(spec, ek)
        if priv.decapsulate(ct) != ss:
            raise AssertionError(spec + ": pyca/cryptography does not decapsulate pure Python's ciphertext")
        bad = bytes([ct[0] ^ 1]) + ct[1:]
        if kem_decaps(spec, dk, bad) != priv.decapsulate(bad):
            raise AssertionError(spec + ": implicit rejection differs from pyca/cryptography's")
