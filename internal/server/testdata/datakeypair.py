#!/usr/bin/env python3
"""Independent checks of kagi's data key pairs, for internal/server/datakeypair_interop_test.go.

Reads a JSON list of jobs on stdin, one per data key pair GenerateDataKeyPair
returned, and writes a JSON list of results:

  {"spec", "pkcs8", "spki", "msg", "ct"} ->
      {"pub", "same_pkcs8", "sig", "plain", "secret", "error"}

pkcs8 (the private key) is loaded with pyca/cryptography -- or, for
ML_KEM_512, which pyca/cryptography lacks, read by the pure-Python FIPS 203 in
fips203.py; "pub" is the DER SubjectPublicKeyInfo of its public half
(kagi's "spki" must equal it), "same_pkcs8" whether pyca/cryptography writes
the same key as the same PKCS #8 bytes, "sig" a signature of msg with the
private key (RSASSA-PSS SHA-256 with a 32-byte salt, ECDSA with the curve's
hash, Ed25519), "plain" the RSAES-OAEP-SHA-256 decryption of ct, "secret"
the ML-KEM decapsulation of ct. Binary values are base64. Nothing here
imports kagi code.
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mlkem, padding, rsa

from fips203 import kem_decaps, kem_keygen, self_test as fips203_self_test

# ML-KEM-512 keys are read by the pure-Python FIPS 203 in fips203.py, which
# first shows that it agrees with pyca/cryptography's ML-KEM-768 and -1024.
OIDS = {"ML_KEM_512": "2.16.840.1.101.3.4.4.1", "ML_KEM_768": "2.16.840.1.101.3.4.4.2", "ML_KEM_1024": "2.16.840.1.101.3.4.4.3"}


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
    fips203_self_test()
    seed = bytes(range(64))
    for spec, cls in (("ML_KEM_768", mlkem.MLKEM768PrivateKey), ("ML_KEM_1024", mlkem.MLKEM1024PrivateKey)):
        key = cls.from_seed_bytes(seed)
        ek, _ = kem_keygen(spec, seed)
        pub = key.public_key()
        assert mlkem_pkcs8(spec, seed) == key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()), spec + " self-test: PKCS #8"
        assert mlkem_spki(spec, ek) == pub.public_bytes(serialization.Encoding.DER,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo), spec + " self-test: SPKI"


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
        ek, dk = kem_keygen(spec, seed)
        out["pub"], out["same_pkcs8"] = enc(mlkem_spki(spec, ek)), True
        out["secret"] = enc(kem_decaps(spec, dk, ct))
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
