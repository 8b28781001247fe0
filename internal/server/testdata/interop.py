#!/usr/bin/env python3
"""Independent checks of kagi's signatures, for internal/server/interop_test.go.

Reads a JSON list of jobs on stdin and writes a JSON list of results:

  {"op": "verify", "alg", "type", "pub", "msg", "sig"}  -> {"ok": bool, "error": str}
      verifies a signature kagi made, with the DER public key GetPublicKey
      returned, using pyca/cryptography (OpenSSL) -- or, for
      ED25519_PH_SHA_512, which pyca/cryptography lacks, the RFC 8032
      algorithm in pure Python below;
  {"op": "sign", "spec", "alg", "type", "msg", "n"} -> {"pub", "sigs"}
      makes a fresh key pair of the spec and n signatures of msg, for kagi's
      verifier to check.

Binary values are base64. "type" is AWS's MessageType: RAW or DIGEST (msg is
then the digest). Nothing here imports kagi code.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

try:
    from cryptography.hazmat.primitives.asymmetric import mldsa
except ImportError:  # pyca/cryptography before ML-DSA support
    mldsa = None

# --- Ed25519ph (RFC 8032, section 5.1), pure Python --------------------------
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
# dom2(phflag = 1, context = empty)
DOM2 = b"SigEd25519 no Ed25519 collisions" + bytes([1, 0])


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
G = (_GX, _GY, 1, _GX * _GY % P)


def _add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _equal(p, q):
    return (p[0] * q[2] - q[0] * p[2]) % P == 0 and (p[1] * q[2] - q[1] * p[2]) % P == 0


def _compress(p):
    zinv = pow(p[2], P - 2, P)
    x, y = p[0] * zinv % P, p[1] * zinv % P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


def _hint(b):
    return int.from_bytes(hashlib.sha512(b).digest(), "little") % L


def ed25519ph_sign(seed, digest):
    """Signs a SHA-512 digest; returns (signature, public key)."""
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    pub = _compress(_mul(a, G))
    r = _hint(DOM2 + h[32:] + digest)
    big_r = _compress(_mul(r, G))
    s = (r + _hint(DOM2 + big_r + pub + digest) * a) % L
    return big_r + int.to_bytes(s, 32, "little"), pub


def ed25519ph_verify(pub, digest, sig):
    a = _decompress(pub)
    if a is None or len(sig) != 64:
        return False
    r = _decompress(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if r is None or s >= L:
        return False
    k = _hint(DOM2 + sig[:32] + pub + digest)
    return _equal(_mul(s, G), _add(r, _mul(k, a)))


def _self_test():
    # RFC 8032, section 7.3, test 1: Ed25519ph of "abc".
    seed = bytes.fromhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
    want = bytes.fromhex(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
        "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406")
    digest = hashlib.sha512(b"abc").digest()
    sig, pub = ed25519ph_sign(seed, digest)
    assert sig == want, "Ed25519ph self-test: wrong signature"
    assert ed25519ph_verify(pub, digest, sig), "Ed25519ph self-test: no verify"
    assert not ed25519ph_verify(pub, hashlib.sha512(b"abd").digest(), sig)


# --- jobs ------------------------------------------------------------------
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def b64(s):
    return base64.b64decode(s)


def _hashed(alg, typ, msg):
    """The data and the hash argument pyca wants for a RAW or DIGEST message."""
    h = HASHES[alg[-3:]]()
    return (msg, h) if typ == "RAW" else (msg, utils.Prehashed(h))


def _raw_public(pub):
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verify(job):
    pub = serialization.load_der_public_key(b64(job["pub"]))
    alg, typ, msg, sig = job["alg"], job["type"], b64(job["msg"]), b64(job["sig"])
    if alg.startswith("RSASSA_PSS_"):
        data, h = _hashed(alg, typ, msg)
        size = HASHES[alg[-3:]]().digest_size
        pub.verify(sig, data, padding.PSS(mgf=padding.MGF1(HASHES[alg[-3:]]()), salt_length=size), h)
    elif alg.startswith("RSASSA_PKCS1_V1_5_"):
        data, h = _hashed(alg, typ, msg)
        pub.verify(sig, data, padding.PKCS1v15(), h)
    elif alg.startswith("ECDSA_"):
        data, h = _hashed(alg, typ, msg)
        pub.verify(sig, data, ec.ECDSA(h))
    elif alg == "ED25519_SHA_512":
        pub.verify(sig, msg)
    elif alg == "ED25519_PH_SHA_512":
        if not ed25519ph_verify(_raw_public(pub), msg, sig):
            raise InvalidSignature()
    elif alg == "ML_DSA_SHAKE_256":
        if mldsa is None:
            raise RuntimeError("this pyca/cryptography has no ML-DSA (needs 46 or later)")
        pub.verify(sig, msg)
    else:
        raise RuntimeError("unknown algorithm " + alg)


def new_key(spec):
    if spec.startswith("RSA_"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(spec[4:]))
    curves = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1,
              "ECC_NIST_P521": ec.SECP521R1, "ECC_SECG_P256K1": ec.SECP256K1}
    if spec in curves:
        return ec.generate_private_key(curves[spec]())
    if spec == "ECC_NIST_EDWARDS25519":
        return ed25519.Ed25519PrivateKey.generate()
    if spec.startswith("ML_DSA_"):
        if mldsa is None:
            raise RuntimeError("this pyca/cryptography has no ML-DSA (needs 46 or later)")
        return getattr(mldsa, "MLDSA" + spec[-2:] + "PrivateKey").generate()
    raise RuntimeError("unknown key spec " + spec)


def sign_one(key, alg, typ, msg):
    if alg.startswith("RSASSA_PSS_"):
        data, h = _hashed(alg, typ, msg)
        size = HASHES[alg[-3:]]().digest_size
        return key.sign(data, padding.PSS(mgf=padding.MGF1(HASHES[alg[-3:]]()), salt_length=size), h)
    if alg.startswith("RSASSA_PKCS1_V1_5_"):
        data, h = _hashed(alg, typ, msg)
        return key.sign(data, padding.PKCS1v15(), h)
    if alg.startswith("ECDSA_"):
        data, h = _hashed(alg, typ, msg)
        return key.sign(data, ec.ECDSA(h))
    if alg == "ED25519_PH_SHA_512":
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        return ed25519ph_sign(seed, msg)[0]
    return key.sign(msg)  # ED25519_SHA_512, ML_DSA_SHAKE_256 (empty context)


def sign(job):
    key = new_key(job["spec"])
    msg = b64(job["msg"])
    pub = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    sigs = [sign_one(key, job["alg"], job["type"], msg) for _ in range(job.get("n", 1))]
    return {"pub": base64.b64encode(pub).decode(), "sigs": [base64.b64encode(s).decode() for s in sigs]}


def main():
    _self_test()
    out = []
    for job in json.load(sys.stdin):
        try:
            if job["op"] == "verify":
                verify(job)
                out.append({"ok": True})
            else:
                out.append(sign(job))
        except InvalidSignature:
            out.append({"ok": False, "error": "invalid signature"})
        except Exception as e:  # reported per job; the test fails on it
            out.append({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
