#!/usr/bin/env python3
"""Independent checks of kagi's key agreement and ML-KEM, for
internal/server/agreement_interop_test.go.

Reads a JSON list of jobs on stdin and writes a JSON list of results:

  {"op": "ecdh", "spec", "pub"} -> {"pub", "secret"}
      makes a fresh key pair on the curve of the spec and computes the ECDH
      shared secret (the x-coordinate) with kagi's DER public key;
  {"op": "encap", "spec", "pub"} -> {"secret", "ct"}
      encapsulates to kagi's ML-KEM DER public key;
  {"op": "decap", "spec", "seed", "pub", "ct"} -> {"secret"}
      rebuilds the ML-KEM key pair from its 64-byte seed d || z (FIPS 203),
      checks that its public key is the one in pub, and decapsulates ct.

ML-KEM-768 and ML-KEM-1024 go through pyca/cryptography (OpenSSL 3.5+ in
the wheel). pyca/cryptography has no ML-KEM-512 and OpenSSL 3.0 no ML-KEM
at all, so ML-KEM-512 uses the FIPS 203 algorithms in pure Python
in fips203.py, which first show that they agree with pyca/cryptography on
ML-KEM-768 and ML-KEM-1024. Binary values are base64. Nothing here imports kagi code.
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fips203 import kem_decaps, kem_encaps, kem_keygen, pyca_private, self_test as mlkem_self_test

# --- jobs ------------------------------------------------------------------
CURVES = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1, "ECC_NIST_P521": ec.SECP521R1}


def b64(s):
    return base64.b64decode(s)


def enc(b):
    return base64.b64encode(b).decode()


def raw_kem_public(spec, der):
    """The raw ML-KEM public key of a SubjectPublicKeyInfo, checked to be one."""
    n = {"ML_KEM_512": 800, "ML_KEM_768": 1184, "ML_KEM_1024": 1568}[spec]
    if spec != "ML_KEM_512":
        pub = serialization.load_der_public_key(der)  # checks the OID and form
        raw = pub.public_bytes_raw()
    else:
        # pyca/cryptography cannot load ML-KEM-512 keys: check the DER by
        # hand against the LAMPS profile (id-alg-ml-kem-512, no parameters).
        oid = bytes.fromhex("0609608648016503040401")
        header = bytes.fromhex("30820332300b") + oid + bytes.fromhex("03820321") + b"\x00"
        if der[:len(header)] != header:
            raise ValueError("not an ML-KEM-512 SubjectPublicKeyInfo")
        raw = der[len(header):]
    if len(raw) != n:
        raise ValueError("%s public key is %d bytes" % (spec, len(raw)))
    return raw


def ecdh(job):
    theirs = serialization.load_der_public_key(b64(job["pub"]))
    mine = ec.generate_private_key(CURVES[job["spec"]]())
    pub = mine.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"pub": enc(pub), "secret": enc(mine.exchange(ec.ECDH(), theirs))}


def encap(job):
    spec, der = job["spec"], b64(job["pub"])
    raw = raw_kem_public(spec, der)
    if spec == "ML_KEM_512":
        ss, ct = kem_encaps(spec, raw)
    else:
        ss, ct = serialization.load_der_public_key(der).encapsulate()
    return {"secret": enc(ss), "ct": enc(ct)}


def decap(job):
    spec, seed, ct = job["spec"], b64(job["seed"]), b64(job["ct"])
    raw = raw_kem_public(spec, b64(job["pub"]))
    if spec == "ML_KEM_512":
        ek, dk = kem_keygen(spec, seed)
        if ek != raw:
            raise ValueError("the seed does not give the public key GetPublicKey returned")
        return {"secret": enc(kem_decaps(spec, dk, ct))}
    priv = pyca_private(spec, seed)
    if priv.public_key().public_bytes_raw() != raw:
        raise ValueError("the seed does not give the public key GetPublicKey returned")
    return {"secret": enc(priv.decapsulate(ct))}


def main():
    jobs = json.load(sys.stdin)
    if any(j["op"] in ("encap", "decap") for j in jobs):
        mlkem_self_test()
    out = []
    for job in jobs:
        try:
            out.append({"ecdh": ecdh, "encap": encap, "decap": decap}[job["op"]](job))
        except Exception as e:  # reported per job; the test fails on it
            out.append({"error": "%s: %s" % (type(e).__name__, e)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
