#!/usr/bin/env python3
"""Independent checks of kagi's data key pairs, for internal/server/datakeypair_interop_test.go.

Reads a JSON list of jobs on stdin, one per data key pair GenerateDataKeyPair
returned, and writes a JSON list of results:

  {"spec", "pkcs8", "spki", "msg", "ct"} ->
      {"pub", "same_pkcs8", "sig", "plain", "secret", "error"}

pkcs8 (the private key) is loaded with pyca/cryptography -- or, for
ML_KEM_512, which pyca/cryptography lacks, read by the FIPS 203 code in pure
Python below; "pub" is the DER SubjectPublicKeyInfo of its public half
(kagi's "spki" must equal it), "same_pkcs8" whether pyca/cryptography writes
the same key as the same PKCS #8 bytes, "sig" a signature of msg with the
private key (RSASSA-PSS SHA-256 with a 32-byte salt, ECDSA with the curve's
hash, Ed25519), "plain" the RSAES-OAEP-SHA-256 decryption of ct, "secret"
the ML-KEM decapsulation of ct. Binary values are base64. Nothing here
imports kagi code.
"""
import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mlkem, padding, rsa

# --- ML-KEM (FIPS 203), pure Python: key generation from the seed and
# decapsulation of a valid ciphertext. Checked against pyca/cryptography's
# ML-KEM-768 and -1024 in _self_test, then used for ML-KEM-512.
Q = 3329
N = 256
PARAMS = {"ML_KEM_512": (2, 3, 2, 10, 4), "ML_KEM_768": (3, 2, 2, 10, 4), "ML_KEM_1024": (4, 2, 2, 11, 5)}  # k, eta1, eta2, du, dv
OIDS = {"ML_KEM_512": "2.16.840.1.101.3.4.4.1", "ML_KEM_768": "2.16.840.1.101.3.4.4.2", "ML_KEM_1024": "2.16.840.1.101.3.4.4.3"}


def _bitrev7(i):
    return int("{:07b}".format(i)[::-1], 2)


ZETAS = [pow(17, _bitrev7(i), Q) for i in range(128)]
GAMMAS = [pow(17, 2 * _bitrev7(i) + 1, Q) for i in range(128)]


def _ntt(f):
    f, i, le = list(f), 1, 128
    while le >= 2:
        for start in range(0, N, 2 * le):
            z = ZETAS[i]
            i += 1
            for j in range(start, start + le):
                t = z * f[j + le] % Q
                f[j + le] = (f[j] - t) % Q
                f[j] = (f[j] + t) % Q
        le //= 2
    return f


def _intt(f):
    f, i, le = list(f), 127, 2
    while le <= 128:
        for start in range(0, N, 2 * le):
            z = ZETAS[i]
            i -= 1
            for j in range(start, start + le):
                t = f[j]
                f[j] = (t + f[j + le]) % Q
                f[j + le] = z * (f[j + le] - t) % Q
        le *= 2
    return [x * 3303 % Q for x in f]


def _mul(a, b):
    c = [0] * N
    for i in range(128):
        a0, a1, b0, b1 = a[2 * i], a[2 * i + 1], b[2 * i], b[2 * i + 1]
        c[2 * i] = (a0 * b0 + a1 * b1 * GAMMAS[i]) % Q
        c[2 * i + 1] = (a0 * b1 + a1 * b0) % Q
    return c


def _add(a, b):
    return [(x + y) % Q for x, y in zip(a, b)]


def _encode(f, d):
    bits = 0
    for i, a in enumerate(f):
        bits |= a << (i * d)
    return bits.to_bytes(32 * d, "little")


def _decode(b, d):
    bits, m = int.from_bytes(b, "little"), (1 << d) - 1
    return [((bits >> (i * d)) & m) % (Q if d == 12 else 1 << d) for i in range(N)]


def _sample_ntt(seed):
    n = 840
    while True:
        s, f, i = hashlib.shake_128(seed).digest(n), [], 0
        while len(f) < N and i + 3 <= len(s):
            d1 = s[i] + 256 * (s[i + 1] % 16)
            d2 = s[i + 1] // 16 + 16 * s[i + 2]
            i += 3
            for d in (d1, d2):
                if d < Q and len(f) < N:
                    f.append(d)
        if len(f) == N:
            return f
        n *= 2


def _cbd(b, eta):
    bits = int.from_bytes(b, "little")
    f = []
    for i in range(N):
        x = sum((bits >> (2 * i * eta + j)) & 1 for j in range(eta))
        y = sum((bits >> (2 * i * eta + eta + j)) & 1 for j in range(eta))
        f.append((x - y) % Q)
    return f


def mlkem_keygen(spec, seed):
    """ML-KEM.KeyGen_internal(d, z) from the 64-byte seed d || z: (ek, dk)."""
    k, eta1 = PARAMS[spec][0], PARAMS[spec][1]
    d, z = seed[:32], seed[32:]
    g = hashlib.sha3_512(d + bytes([k])).digest()
    rho, sigma = g[:32], g[32:]
    a = [[_sample_ntt(rho + bytes([j, i])) for j in range(k)] for i in range(k)]
    prf = lambda n: hashlib.shake_256(sigma + bytes([n])).digest(64 * eta1)
    s = [_ntt(_cbd(prf(i), eta1)) for i in range(k)]
    e = [_ntt(_cbd(prf(k + i), eta1)) for i in range(k)]
    t = []
    for i in range(k):
        acc = e[i]
        for j in range(k):
            acc = _add(acc, _mul(a[i][j], s[j]))
        t.append(acc)
    ek = b"".join(_encode(x, 12) for x in t) + rho
    dk_pke = b"".join(_encode(x, 12) for x in s)
    return ek, dk_pke + ek + hashlib.sha3_256(ek).digest() + z


def mlkem_decaps_valid(spec, dk, c):
    """The shared secret of a valid ciphertext c (K' of ML-KEM.Decaps; no
    re-encryption check, so an invalid c gives a wrong secret, not the
    implicit-rejection one)."""
    k, _, _, du, dv = PARAMS[spec]
    dk_pke, ek, h = dk[:384 * k], dk[384 * k:768 * k + 32], dk[768 * k + 32:768 * k + 64]
    u = [[(Q * y + (1 << (du - 1))) >> du for y in _decode(c[32 * du * i:32 * du * (i + 1)], du)] for i in range(k)]
    v = [(Q * y + (1 << (dv - 1))) >> dv for y in _decode(c[32 * du * k:32 * (du * k + dv)], dv)]
    s = [_decode(dk_pke[384 * i:384 * (i + 1)], 12) for i in range(k)]
    acc = [0] * N
    for i in range(k):
        acc = _add(acc, _mul(s[i], _ntt(u[i])))
    w = [(x - y) % Q for x, y in zip(v, _intt(acc))]
    m = _encode([((x << 1) + Q // 2) // Q % 2 for x in w], 1)
    return hashlib.sha3_512(m + h).digest()[:32]


def _der_len(n):
    return bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 0xff])


def _oid(dotted):
    parts = [int(x) for x in dotted.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7f]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7f))
            p >>= 7
        body += bytes(reversed(enc))
    return b"\x06" + _der_len(len(body)) + body


def _seq(*items):
    body = b"".join(items)
    return b"\x30" + _der_len(len(body)) + body


def mlkem_pkcs8(spec, seed):
    """The seed form PrivateKeyInfo (the LAMPS ML-KEM profile), built from the spec."""
    inner = b"\x80\x40" + seed
    return _seq(b"\x02\x01\x00", _seq(_oid(OIDS[spec])), b"\x04" + _der_len(len(inner)) + inner)


def mlkem_spki(spec, ek):
    return _seq(_seq(_oid(OIDS[spec])), b"\x03" + _der_len(len(ek) + 1) + b"\x00" + ek)


def _self_test():
    seed = bytes(range(64))
    for spec, cls in (("ML_KEM_768", mlkem.MLKEM768PrivateKey), ("ML_KEM_1024", mlkem.MLKEM1024PrivateKey)):
        key = cls.from_seed_bytes(seed)
        ek, dk = mlkem_keygen(spec, seed)
        pub = key.public_key()
        assert ek == pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw), spec + " self-test: keygen"
        assert mlkem_pkcs8(spec, seed) == key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()), spec + " self-test: PKCS #8"
        assert mlkem_spki(spec, ek) == pub.public_bytes(serialization.Encoding.DER,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo), spec + " self-test: SPKI"
        for _ in range(3):
            secret, ct = pub.encapsulate()
            assert mlkem_decaps_valid(spec, dk, ct) == secret, spec + " self-test: decapsulation"


# --- jobs ------------------------------------------------------------------
CURVE_HASH = {"secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384, "secp521r1": hashes.SHA512, "secp256k1": hashes.SHA256}


def b64(s):
    return base64.b64decode(s) if s else b""


def enc(b):
    return base64.b64encode(b).decode()


def check(job):
    spec, der, msg, ct = job["spec"], b64(job["pkcs8"]), b64(job["msg"]), b64(job.get("ct"))
    out = {}
    if spec == "ML_KEM_512":
        seed = der[-64:]
        if len(der) != 86 or mlkem_pkcs8(spec, seed) != der:
            raise ValueError("not a seed-form ML-KEM-512 PKCS #8 key")
        ek, dk = mlkem_keygen(spec, seed)
        out["pub"], out["same_pkcs8"] = enc(mlkem_spki(spec, ek)), True
        out["secret"] = enc(mlkem_decaps_valid(spec, dk, ct))
        return out
    key = serialization.load_der_private_key(der, password=None)
    out["pub"] = enc(key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    out["same_pkcs8"] = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()) == der
    if isinstance(key, rsa.RSAPrivateKey):
        out["sig"] = enc(key.sign(msg, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()))
        out["plain"] = enc(key.decrypt(ct, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)))
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        out["sig"] = enc(key.sign(msg, ec.ECDSA(CURVE_HASH[key.curve.name]())))
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        out["sig"] = enc(key.sign(msg))
    elif isinstance(key, (mlkem.MLKEM768PrivateKey, mlkem.MLKEM1024PrivateKey)):
        out["secret"] = enc(key.decapsulate(ct))
    else:
        raise ValueError("unexpected key type %s" % type(key).__name__)
    return out


def main():
    _self_test()
    out = []
    for job in json.load(sys.stdin):
        try:
            out.append(check(job))
        except Exception as e:  # reported per job; the test fails on it
            out.append({"error": "%s: %s" % (type(e).__name__, e)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
