#!/usr/bin/env python3
"""Post-quantum key material for internal/server/import_interop_test.go,
made and checked by pyca/cryptography, not by kagi.

Reads a JSON list of jobs on stdin and writes a JSON list of results:

  {"op": "gen", "spec"} -> {"priv", "pub"}
      a fresh ML-DSA or ML-KEM key: the private key as DER PKCS #8 (seed
      form, as pyca/cryptography writes it) and the public key as a DER
      SubjectPublicKeyInfo;
  {"op": "verify", "spec", "priv", "msg", "sig"} -> {"ok"}
      verifies an ML-DSA signature (empty context) with the key's public half;
  {"op": "encap", "spec", "priv"} -> {"ct", "secret"}
      encapsulates to the ML-KEM key's public half.

Binary values are base64.
"""
import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem

GEN = {
    "ML_DSA_44": mldsa.MLDSA44PrivateKey.generate,
    "ML_DSA_65": mldsa.MLDSA65PrivateKey.generate,
    "ML_DSA_87": mldsa.MLDSA87PrivateKey.generate,
    "ML_KEM_768": mlkem.MLKEM768PrivateKey.generate,
    "ML_KEM_1024": mlkem.MLKEM1024PrivateKey.generate,
}


def b64(b):
    return base64.b64encode(b).decode()


def unb64(x):
    return base64.b64decode(x)


def run(job):
    op = job["op"]
    if op == "gen":
        k = GEN[job["spec"]]()
        priv = k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption())
        pub = k.public_key().public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)
        return {"priv": b64(priv), "pub": b64(pub)}
    k = s.load_der_private_key(unb64(job["priv"]), password=None)
    if op == "verify":
        try:
            k.public_key().verify(unb64(job["sig"]), unb64(job["msg"]))
            return {"ok": True}
        except InvalidSignature:
            return {"ok": False}
    if op == "encap":
        secret, ct = k.public_key().encapsulate()
        return {"ct": b64(ct), "secret": b64(secret)}
    raise ValueError("unknown op " + op)


json.dump([run(j) for j in json.load(sys.stdin)], sys.stdout)
