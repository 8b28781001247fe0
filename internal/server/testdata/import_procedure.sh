#!/usr/bin/env bash
# import_procedure.sh: the AWS KMS Developer Guide's procedure for importing
# key material ("Importing key material", steps 2–4), command for command,
# run in the current directory against whatever endpoint the environment
# names (cli_import_test.go sets AWS_ENDPOINT_URL, AWS_CA_BUNDLE, the
# credentials and the Region; nothing here knows it is talking to kagi).
#
#   KEY_ID=...                  the key, created with --origin EXTERNAL
#   WRAPPING_ALGORITHM=...      RSAES_OAEP_SHA_1 | RSAES_OAEP_SHA_256 |
#                               RSA_AES_KEY_WRAP_SHA_1 | RSA_AES_KEY_WRAP_SHA_256
#   WRAPPING_KEY_SPEC=...       RSA_2048 | RSA_3072 | RSA_4096
#   PlaintextKeyMaterial.bin    the material (step 1), in the current directory
#   VALID_TO=...                optional: import with KEY_MATERIAL_EXPIRES
set -euo pipefail

# Step 2: download the wrapping public key and import token.
export KEY=`aws kms get-parameters-for-import \
    --key-id "$KEY_ID" \
    --wrapping-algorithm "$WRAPPING_ALGORITHM" \
    --wrapping-key-spec "$WRAPPING_KEY_SPEC" \
    --query '{Key:PublicKey,Token:ImportToken}' \
    --output text`
echo $KEY | awk '{print $1}' > PublicKey.b64
echo $KEY | awk '{print $2}' > ImportToken.b64
openssl enc -d -base64 -A -in PublicKey.b64 -out PublicKey.bin
openssl enc -d -base64 -A -in ImportToken.b64 -out ImportToken.bin

# Step 3: encrypt the key material.
case "$WRAPPING_ALGORITHM" in
RSAES_OAEP_SHA_1 | RSAES_OAEP_SHA_256)
	md=sha256
	[[ "$WRAPPING_ALGORITHM" == RSAES_OAEP_SHA_1 ]] && md=sha1
	openssl pkeyutl \
	    -encrypt \
	    -in PlaintextKeyMaterial.bin \
	    -out EncryptedKeyMaterial.bin \
	    -inkey PublicKey.bin \
	    -keyform DER \
	    -pubin \
	    -pkeyopt rsa_padding_mode:oaep \
	    -pkeyopt rsa_oaep_md:$md \
	    -pkeyopt rsa_mgf1_md:$md
	;;
RSA_AES_KEY_WRAP_SHA_1 | RSA_AES_KEY_WRAP_SHA_256)
	md=sha256
	[[ "$WRAPPING_ALGORITHM" == RSA_AES_KEY_WRAP_SHA_1 ]] && md=sha1
	# A 256-bit AES key wraps the material (AES-KWP, RFC 5649)...
	openssl rand -out aes-key.bin 32
	openssl enc -id-aes256-wrap-pad \
	    -K "$(xxd -p < aes-key.bin | tr -d '\n')" \
	    -iv A65959A6 \
	    -in PlaintextKeyMaterial.bin \
	    -out key-material-wrapped.bin
	# ...the wrapping public key encrypts the AES key (RSA-OAEP)...
	openssl pkeyutl \
	    -encrypt \
	    -in aes-key.bin \
	    -out aes-key-wrapped.bin \
	    -inkey PublicKey.bin \
	    -keyform DER \
	    -pubin \
	    -pkeyopt rsa_padding_mode:oaep \
	    -pkeyopt rsa_oaep_md:$md \
	    -pkeyopt rsa_mgf1_md:$md
	# ...and the two go together, the encrypted AES key first.
	cat aes-key-wrapped.bin key-material-wrapped.bin > EncryptedKeyMaterial.bin
	;;
*)
	echo "unknown wrapping algorithm $WRAPPING_ALGORITHM" >&2
	exit 2
	;;
esac

# Step 4: import the key material.
if [[ -n "${VALID_TO:-}" ]]; then
	aws kms import-key-material --key-id "$KEY_ID" \
	    --encrypted-key-material fileb://EncryptedKeyMaterial.bin \
	    --import-token fileb://ImportToken.bin \
	    --expiration-model KEY_MATERIAL_EXPIRES \
	    --valid-to "$VALID_TO"
else
	aws kms import-key-material --key-id "$KEY_ID" \
	    --encrypted-key-material fileb://EncryptedKeyMaterial.bin \
	    --import-token fileb://ImportToken.bin \
	    --expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE
fi
