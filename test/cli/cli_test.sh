#!/usr/bin/env bash
# cli_test.sh: what a new user does with kagi and the AWS CLI.
#
#   bash test/cli/cli_test.sh path/to/kagi      (or KAGI_BIN=path/to/kagi)
#
# It starts `kagi serve` on a free loopback port and an empty data directory
# (no bootstrap environment variables, so kagi generates an account and its
# root credentials), points the AWS CLI at the generated credentials file and
# CA, drives every implemented KMS operation with `aws kms ...`, restarts the
# server on the same data directory and checks that nothing was lost.
#
# Works with AWS CLI v1 and v2: binary inputs go through fileb://, outputs
# are read with --output text --query, and every call passes --endpoint-url
# and --region. Prints "ok - ..." or "not ok - ..." per check and, last,
# "N passed, M failed"; exits 1 if any check failed.
set -euo pipefail

KAGI=${1:-${KAGI_BIN:-}}
if [[ -z "$KAGI" ]]; then
	echo "usage: $0 path/to/kagi (or set KAGI_BIN)" >&2
	exit 2
fi
if [[ ! -x "$KAGI" ]]; then
	echo "$0: $KAGI is not an executable file" >&2
	exit 2
fi
KAGI=$(cd "$(dirname "$KAGI")" && pwd)/$(basename "$KAGI")
if ! command -v aws >/dev/null 2>&1; then
	echo "$0: the AWS CLI (aws) is not installed" >&2
	exit 2
fi
if ! command -v openssl >/dev/null 2>&1; then
	echo "$0: openssl is not installed (it wraps key material for import-key-material)" >&2
	exit 2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kagi-cli-test.XXXXXX")
DATA=$TMP/data
SERVER_PID=
PORT=
SERVE_N=0

stop_server() {
	local pid=$SERVER_PID
	SERVER_PID=
	[[ -n "$pid" ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	local i
	for ((i = 0; i < 200; i++)); do # up to 20 s
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "# kagi (pid $pid) did not stop on SIGTERM within 20 s: killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	local rc=0
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

cleanup() {
	local rc=$?
	stop_server || true
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- reporting

PASSED=0
FAILED=0
ok() {
	PASSED=$((PASSED + 1))
	echo "ok - $*"
}
not_ok() {
	FAILED=$((FAILED + 1))
	echo "not ok - $*"
}
# detail prints indented diagnostic lines.
detail() {
	printf '%s\n' "$@" | sed 's/^/#   /'
}

# run CMD...: runs a command, never failing; sets RC, OUT (stdout) and ERR
# (stderr).
run() {
	RC=0
	OUT=$("$@" 2>"$TMP/stderr") || RC=$?
	ERR=$(cat "$TMP/stderr")
}

REGION=eu-west-2
OTHER_REGION=ap-northeast-1

# kms ARGS...: the AWS CLI's kms command against kagi.
kms() {
	aws --endpoint-url "$ENDPOINT" --region "$REGION" kms "$@"
}

# expect_ok DESC CMD...: the command succeeds. OUT holds its stdout.
expect_ok() {
	local desc=$1
	shift
	run "$@"
	if [[ $RC -eq 0 ]]; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc"
	detail "command: $*" "exit status $RC" "stderr: $ERR"
	return 1
}

# expect_eq DESC GOT WANT
expect_eq() {
	if [[ "$2" == "$3" ]]; then
		ok "$1"
		return 0
	fi
	not_ok "$1"
	detail "got:  $2" "want: $3"
	return 1
}

# expect_match DESC GOT REGEX
expect_match() {
	if [[ "$2" =~ $3 ]]; then
		ok "$1"
		return 0
	fi
	not_ok "$1"
	detail "got:  $2" "want a match of: $3"
	return 1
}

# expect_error DESC EXCEPTION OPERATION CMD...: the command fails and the
# CLI reports EXCEPTION from OPERATION on stderr.
expect_error() {
	local desc=$1 exc=$2 op=$3
	shift 3
	run "$@"
	if [[ $RC -ne 0 ]] && grep -q "An error occurred ($exc) when calling the $op operation" <<<"$ERR"; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc"
	detail "command: $*" "exit status $RC, want non-zero" "want on stderr: An error occurred ($exc) when calling the $op operation" "stdout: $OUT" "stderr: $ERR"
	return 1
}

# b64file FILE: decodes base64 from stdin into FILE.
b64file() {
	tr -d '\r\n' | base64 -d >"$1"
}

filesize() {
	wc -c <"$1" | tr -d ' '
}

filemode() {
	stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1"
}

# ---------------------------------------------------------------- server

free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	local i p
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	return 1
}

port_answers() {
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

# start_server: starts kagi on $PORT and $DATA in the background and waits
# (at most 20 s) until it serves. Its stdout and stderr go to
# $TMP/serveN.out and $TMP/serveN.err; SERVE_OUT and SERVE_ERR name them.
start_server() {
	SERVE_N=$((SERVE_N + 1))
	SERVE_OUT=$TMP/serve$SERVE_N.out
	SERVE_ERR=$TMP/serve$SERVE_N.err
	# A user's shell, without the bootstrap identity variables.
	env -u KAGI_ACCOUNT_ID -u KAGI_ROOT_ACCESS_KEY_ID -u KAGI_ROOT_SECRET_ACCESS_KEY \
		"$KAGI" serve --addr "127.0.0.1:$PORT" --data-dir "$DATA" >"$SERVE_OUT" 2>"$SERVE_ERR" &
	SERVER_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do # up to 20 s
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			wait "$SERVER_PID" 2>/dev/null || true
			SERVER_PID=
			return 1
		fi
		# kagi binds its port only once the account and the TLS files
		# exist: a user's script waits for the port, then reads the CA.
		if port_answers; then
			if [[ ! -s "$DATA/tls/ca.pem" ]]; then
				echo "kagi answers on port $PORT but $DATA/tls/ca.pem is not there yet" >&2
				return 1
			fi
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ================================================================ the test

echo "# kagi: $KAGI"
echo "# aws: $(aws --version 2>&1)"

run "$KAGI" version
expect_match "kagi version prints the version" "$OUT" '^kagi ' || true
run "$KAGI" serve --help
expect_match "kagi serve --help exits 0 and documents --data-dir" "$RC $OUT" '^0 .*-data-dir' || true

# --- first start: a new data directory ---

started=
for attempt in 1 2 3; do # the free port may be taken by someone else meanwhile
	PORT=$(free_port)
	rm -rf "$DATA"
	if start_server; then
		started=1
		break
	fi
	stop_server || true
	grep -qi 'address already in use' "$SERVE_ERR" || break
done
if [[ -z "$started" ]]; then
	not_ok "kagi serve starts on 127.0.0.1:$PORT within 20 s"
	detail "stdout:" "$(cat "$SERVE_OUT")" "stderr:" "$(cat "$SERVE_ERR")"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi
ok "kagi serve starts on 127.0.0.1:$PORT with an empty data dir and answers within 20 s"
ENDPOINT=https://127.0.0.1:$PORT

for f in root.key kagi.db tls/ca.pem credentials; do
	if [[ -s "$DATA/$f" ]]; then ok "the data dir holds $f"; else not_ok "the data dir holds $f"; fi
done
expect_eq "the credentials file has mode 600" "$(filemode "$DATA/credentials")" 600 || true

FILE_AKID=$(sed -n 's/^aws_access_key_id *= *//p' "$DATA/credentials")
FILE_SECRET=$(sed -n 's/^aws_secret_access_key *= *//p' "$DATA/credentials")
expect_eq "the credentials file is in shared-credentials format with profile [default]" \
	"$(head -n 1 "$DATA/credentials") $([[ -n "$FILE_AKID" && -n "$FILE_SECRET" ]] && echo keys)" "[default] keys" || true
PRINTED=$(cat "$SERVE_OUT")
ACCOUNT=$(sed -n 's/.*created account \([0-9]*\) .*/\1/p' <<<"$PRINTED" | head -n 1)
expect_match "kagi printed the new 12-digit account id on stdout" "$ACCOUNT" '^[0-9]{12}$' || true
expect_eq "kagi printed the access key id of the credentials file on stdout" \
	"$(sed -n 's/^ *aws_access_key_id *= *//p' <<<"$PRINTED")" "$FILE_AKID" || true
expect_eq "kagi printed the secret access key of the credentials file on stdout" \
	"$(sed -n 's/^ *aws_secret_access_key *= *//p' <<<"$PRINTED")" "$FILE_SECRET" || true

# --- the AWS CLI's environment: only what kagi generated ---

while IFS= read -r v; do
	unset "$v"
done < <(compgen -e | grep '^AWS_' || true)
: >"$TMP/aws-config"
export AWS_SHARED_CREDENTIALS_FILE=$DATA/credentials
export AWS_CONFIG_FILE=$TMP/aws-config
export AWS_CA_BUNDLE=$DATA/tls/ca.pem
export AWS_PAGER=""                   # CLI v2: no pager
export AWS_EC2_METADATA_DISABLED=true # never ask an instance metadata service
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy=$NO_PROXY

# (One attempt: the CLI retries TLS failures for seconds otherwise.)
run env -u AWS_CA_BUNDLE AWS_MAX_ATTEMPTS=1 aws --endpoint-url "$ENDPOINT" --region "$REGION" kms list-keys --output text
if [[ $RC -ne 0 ]] && grep -qiE 'ssl|certificate' <<<"$ERR"; then
	ok "without kagi's CA the CLI refuses the server certificate (TLS by default)"
else
	not_ok "without kagi's CA the CLI refuses the server certificate (TLS by default)"
	detail "exit status $RC" "stderr: $ERR"
fi

# --- keys ---

UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
K1= K1_ARN=
if expect_ok "create-key with a description and tags" kms create-key \
	--description "cli test key" \
	--tags TagKey=env,TagValue=dev TagKey=team,TagValue=kms \
	--output text \
	--query 'KeyMetadata.[KeyId,Arn,AWSAccountId,KeyState,KeyUsage,KeySpec,Enabled,Description]'; then
	IFS=$'\t' read -r K1 K1_ARN meta_account state usage spec enabled desc <<<"$OUT"
	expect_match "create-key: KeyId is a UUID" "$K1" "$UUID_RE" || true
	expect_eq "create-key: Arn is arn:aws:kms:<region>:<account>:key/<id>" "$K1_ARN" "arn:aws:kms:$REGION:$ACCOUNT:key/$K1" || true
	expect_eq "create-key: AWSAccountId is the account kagi printed" "$meta_account" "$ACCOUNT" || true
	expect_eq "create-key: KeyState KeyUsage KeySpec Enabled Description" \
		"$state $usage $spec $enabled $desc" "Enabled ENCRYPT_DECRYPT SYMMETRIC_DEFAULT True cli test key" || true
fi
K1=${K1:-missing-key-1}
K1_ARN=${K1_ARN:-arn:aws:kms:$REGION:$ACCOUNT:key/$K1}

K2= K2_ARN=
if expect_ok "create-key without arguments" kms create-key --output text --query 'KeyMetadata.[KeyId,Arn,KeyState]'; then
	IFS=$'\t' read -r K2 K2_ARN state <<<"$OUT"
	expect_eq "create-key: the second key has its own id and is Enabled" "$K2_ARN $state $([[ $K2 != "$K1" ]] && echo distinct)" \
		"arn:aws:kms:$REGION:$ACCOUNT:key/$K2 Enabled distinct" || true
fi
K2=${K2:-missing-key-2}
K2_ARN=${K2_ARN:-arn:aws:kms:$REGION:$ACCOUNT:key/$K2}

if expect_ok "describe-key by key id" kms describe-key --key-id "$K1" --output text \
	--query 'KeyMetadata.[Arn,KeyState,KeyManager,Origin,Description]'; then
	expect_eq "describe-key by key id: Arn KeyState KeyManager Origin Description" "$(tr '\t' ' ' <<<"$OUT")" \
		"$K1_ARN Enabled CUSTOMER AWS_KMS cli test key" || true
fi
if expect_ok "describe-key by key ARN" kms describe-key --key-id "$K1_ARN" --output text --query KeyMetadata.KeyId; then
	expect_eq "describe-key by key ARN finds the key" "$OUT" "$K1" || true
fi
expect_error "describe-key of a key that does not exist: NotFoundException" NotFoundException DescribeKey \
	kms describe-key --key-id 1234abcd-12ab-34cd-56ef-1234567890ab || true
expect_error "describe-key in another region does not see the key: NotFoundException" NotFoundException DescribeKey \
	aws --endpoint-url "$ENDPOINT" --region "$OTHER_REGION" kms describe-key --key-id "$K1" || true

expect_ok "update-key-description" kms update-key-description --key-id "$K1" --description "cli test key, renamed" || true
run kms describe-key --key-id "$K1" --output text --query KeyMetadata.Description
expect_eq "describe-key shows the new description" "$OUT" "cli test key, renamed" || true

if expect_ok "list-keys" kms list-keys --output text --query 'Keys[].KeyId'; then
	all=$(tr '\t' '\n' <<<"$OUT" | sort | tr '\n' ' ')
	expect_eq "list-keys lists both keys" "$all" "$(printf '%s\n' "$K1" "$K2" | sort | tr '\n' ' ')" || true
fi
run kms list-keys --output text --query "Keys[?KeyId=='$K1'].KeyArn"
expect_eq "list-keys gives each key's ARN" "$OUT" "$K1_ARN" || true
if expect_ok "list-keys --limit 1" kms list-keys --limit 1 --output text --query '[length(Keys), Truncated, NextMarker, Keys[0].KeyId]'; then
	IFS=$'\t' read -r n truncated marker first <<<"$OUT"
	expect_eq "list-keys --limit 1: one key and Truncated" "$n $truncated $([[ -n $marker && $marker != None ]] && echo marker)" "1 True marker" || true
	if expect_ok "list-keys --limit 1 --marker (the next page)" kms list-keys --limit 1 --marker "$marker" --output text \
		--query '[length(Keys), Truncated, Keys[0].KeyId]'; then
		IFS=$'\t' read -r n truncated second <<<"$OUT"
		expect_eq "list-keys second page: the other key, not truncated" \
			"$n $truncated $(printf '%s\n' "$first" "$second" | sort | tr '\n' ' ')" \
			"1 False $(printf '%s\n' "$K1" "$K2" | sort | tr '\n' ' ')" || true
	fi
fi
if expect_ok "list-keys --page-size 1 (the CLI follows NextMarker)" kms list-keys --page-size 1 --output text --query 'Keys[].KeyId'; then
	expect_eq "list-keys --page-size 1 gets both keys" "$(tr '\t' '\n' <<<"$OUT" | sort | tr '\n' ' ')" \
		"$(printf '%s\n' "$K1" "$K2" | sort | tr '\n' ' ')" || true
fi
run aws --endpoint-url "$ENDPOINT" --region "$OTHER_REGION" kms list-keys --output text --query 'length(Keys)'
expect_eq "list-keys in another region is empty" "$RC $OUT" "0 0" || true

# --- aliases ---

expect_ok "create-alias alias/cli-test for the first key" kms create-alias --alias-name alias/cli-test --target-key-id "$K1" || true
expect_error "create-alias of an existing alias: AlreadyExistsException" AlreadyExistsException CreateAlias \
	kms create-alias --alias-name alias/cli-test --target-key-id "$K2" || true
run kms describe-key --key-id alias/cli-test --output text --query KeyMetadata.Arn
expect_eq "describe-key by alias name" "$OUT" "$K1_ARN" || true
ALIAS_ARN=arn:aws:kms:$REGION:$ACCOUNT:alias/cli-test
run kms describe-key --key-id "$ALIAS_ARN" --output text --query KeyMetadata.Arn
expect_eq "describe-key by alias ARN" "$OUT" "$K1_ARN" || true
if expect_ok "list-aliases --key-id" kms list-aliases --key-id "$K1" --output text --query 'Aliases[].[AliasName,AliasArn,TargetKeyId]'; then
	expect_eq "list-aliases --key-id: name, ARN and target of the alias" "$(tr '\t' ' ' <<<"$OUT")" "alias/cli-test $ALIAS_ARN $K1" || true
fi
expect_ok "create-alias alias/cli-test-2 for the first key" kms create-alias --alias-name alias/cli-test-2 --target-key-id "$K1_ARN" || true
expect_ok "update-alias alias/cli-test to the second key" kms update-alias --alias-name alias/cli-test --target-key-id "$K2" || true
run kms describe-key --key-id alias/cli-test --output text --query KeyMetadata.KeyId
expect_eq "the alias now names the second key" "$OUT" "$K2" || true
run kms list-aliases --output text --query 'Aliases[].[AliasName,TargetKeyId]'
expect_eq "list-aliases lists both aliases with their targets" "$(sort <<<"$OUT" | tr '\t\n' '  ')" \
	"alias/cli-test $K2 alias/cli-test-2 $K1 " || true
expect_ok "update-alias alias/cli-test back to the first key" kms update-alias --alias-name alias/cli-test --target-key-id "$K1" || true
expect_ok "delete-alias alias/cli-test-2" kms delete-alias --alias-name alias/cli-test-2 || true
run kms list-aliases --output text --query 'Aliases[].AliasName'
expect_eq "list-aliases no longer lists the deleted alias" "$OUT" "alias/cli-test" || true
expect_error "describe-key by a deleted alias: NotFoundException" NotFoundException DescribeKey \
	kms describe-key --key-id alias/cli-test-2 || true
expect_error "delete-alias of a deleted alias: NotFoundException" NotFoundException DeleteAlias \
	kms delete-alias --alias-name alias/cli-test-2 || true

# --- tags ---

tags() {
	run kms list-resource-tags --key-id "$1" --output text --query 'Tags[].[TagKey,TagValue]'
	tr '\t\n' '= ' <<<"$OUT" | sed 's/ $//'
}
expect_eq "list-resource-tags shows the tags create-key set" "$(tags "$K1")" "env=dev team=kms" || true
expect_ok "tag-resource adds a tag and overwrites one" kms tag-resource --key-id "$K1" \
	--tags TagKey=owner,TagValue=alice TagKey=env,TagValue=prod || true
expect_eq "list-resource-tags after tag-resource" "$(tags "$K1")" "env=prod owner=alice team=kms" || true
expect_ok "untag-resource" kms untag-resource --key-id "$K1" --tag-keys team || true
expect_eq "list-resource-tags after untag-resource" "$(tags "$K1")" "env=prod owner=alice" || true
expect_error "tag-resource with a reserved aws: tag key: TagException" TagException TagResource \
	kms tag-resource --key-id "$K1" --tags TagKey=aws:x,TagValue=y || true

# --- encrypt, decrypt, re-encrypt ---

head -c 300 /dev/urandom >"$TMP/plain.bin"
CTX=purpose=cli-test,app=kagi
if expect_ok "encrypt a file (fileb://) with an encryption context, by alias" kms encrypt --key-id alias/cli-test \
	--plaintext "fileb://$TMP/plain.bin" --encryption-context "$CTX" --output text \
	--query '[KeyId,EncryptionAlgorithm,CiphertextBlob]'; then
	IFS=$'\t' read -r kid alg ct <<<"$OUT"
	expect_eq "encrypt: KeyId is the key's ARN, EncryptionAlgorithm SYMMETRIC_DEFAULT" "$kid $alg" "$K1_ARN SYMMETRIC_DEFAULT" || true
	b64file "$TMP/ct.bin" <<<"$ct"
fi
if expect_ok "decrypt with the encryption context" kms decrypt --ciphertext-blob "fileb://$TMP/ct.bin" \
	--encryption-context "$CTX" --output text --query '[KeyId,Plaintext]'; then
	IFS=$'\t' read -r kid pt <<<"$OUT"
	b64file "$TMP/plain.out" <<<"$pt"
	expect_eq "decrypt gives back the file and names the key" \
		"$kid $(cmp -s "$TMP/plain.bin" "$TMP/plain.out" && echo same)" "$K1_ARN same" || true
fi
expect_error "decrypt with a wrong encryption context: InvalidCiphertextException" InvalidCiphertextException Decrypt \
	kms decrypt --ciphertext-blob "fileb://$TMP/ct.bin" --encryption-context purpose=cli-test,app=other || true
expect_error "decrypt without the encryption context: InvalidCiphertextException" InvalidCiphertextException Decrypt \
	kms decrypt --ciphertext-blob "fileb://$TMP/ct.bin" || true
expect_error "decrypt naming another key: IncorrectKeyException" IncorrectKeyException Decrypt \
	kms decrypt --ciphertext-blob "fileb://$TMP/ct.bin" --encryption-context "$CTX" --key-id "$K2" || true
head -c 64 /dev/urandom >"$TMP/garbage.bin"
expect_error "decrypt of bytes that are no ciphertext: InvalidCiphertextException" InvalidCiphertextException Decrypt \
	kms decrypt --ciphertext-blob "fileb://$TMP/garbage.bin" || true

if expect_ok "re-encrypt to the second key with a new encryption context" kms re-encrypt \
	--ciphertext-blob "fileb://$TMP/ct.bin" --source-encryption-context "$CTX" \
	--destination-key-id "$K2" --destination-encryption-context stage=two \
	--output text --query '[SourceKeyId,KeyId,CiphertextBlob]'; then
	IFS=$'\t' read -r src dst ct2 <<<"$OUT"
	expect_eq "re-encrypt: SourceKeyId and KeyId" "$src $dst" "$K1_ARN $K2_ARN" || true
	b64file "$TMP/ct2.bin" <<<"$ct2"
fi
if expect_ok "decrypt the re-encrypted ciphertext" kms decrypt --ciphertext-blob "fileb://$TMP/ct2.bin" \
	--encryption-context stage=two --output text --query '[KeyId,Plaintext]'; then
	IFS=$'\t' read -r kid pt <<<"$OUT"
	b64file "$TMP/plain2.out" <<<"$pt"
	expect_eq "the re-encrypted ciphertext decrypts to the file under the second key" \
		"$kid $(cmp -s "$TMP/plain.bin" "$TMP/plain2.out" && echo same)" "$K2_ARN same" || true
fi

# --- data keys and random bytes ---

if expect_ok "generate-data-key --key-spec AES_256" kms generate-data-key --key-id "$K1" --key-spec AES_256 \
	--encryption-context "$CTX" --output text --query '[KeyId,Plaintext,CiphertextBlob]'; then
	IFS=$'\t' read -r kid pt ct <<<"$OUT"
	b64file "$TMP/dk.bin" <<<"$pt"
	b64file "$TMP/dk.ct" <<<"$ct"
	expect_eq "generate-data-key: a 32-byte plaintext data key under the key" "$kid $(filesize "$TMP/dk.bin")" "$K1_ARN 32" || true
	run kms decrypt --ciphertext-blob "fileb://$TMP/dk.ct" --encryption-context "$CTX" --output text --query Plaintext
	b64file "$TMP/dk.out" <<<"$OUT"
	expect_eq "decrypting the data key's CiphertextBlob gives the same 32 bytes" \
		"$RC $(cmp -s "$TMP/dk.bin" "$TMP/dk.out" && echo same)" "0 same" || true
fi
run kms generate-data-key --key-id alias/cli-test --number-of-bytes 16 --output text --query Plaintext
b64file "$TMP/dk16.bin" <<<"$OUT"
expect_eq "generate-data-key --number-of-bytes 16 by alias: 16 bytes" "$RC $(filesize "$TMP/dk16.bin")" "0 16" || true
expect_error "generate-data-key with both --key-spec and --number-of-bytes: ValidationException" ValidationException GenerateDataKey \
	kms generate-data-key --key-id "$K1" --key-spec AES_256 --number-of-bytes 32 || true
if expect_ok "generate-data-key-without-plaintext" kms generate-data-key-without-plaintext --key-id "$K1" \
	--key-spec AES_256 --output text --query '[KeyId,CiphertextBlob]'; then
	IFS=$'\t' read -r kid ct <<<"$OUT"
	b64file "$TMP/dkwp.ct" <<<"$ct"
	run kms generate-data-key-without-plaintext --key-id "$K1" --key-spec AES_256 --output json
	expect_eq "generate-data-key-without-plaintext: KeyId, and no Plaintext in the response" \
		"$kid $(grep -c '"Plaintext"' <<<"$OUT" || true)" "$K1_ARN 0" || true
	run kms decrypt --ciphertext-blob "fileb://$TMP/dkwp.ct" --output text --query Plaintext
	b64file "$TMP/dkwp.bin" <<<"$OUT"
	expect_eq "its CiphertextBlob decrypts to a 32-byte key" "$RC $(filesize "$TMP/dkwp.bin")" "0 32" || true
fi
if expect_ok "generate-random --number-of-bytes 64" kms generate-random --number-of-bytes 64 --output text --query Plaintext; then
	b64file "$TMP/rand.bin" <<<"$OUT"
	expect_eq "generate-random gives 64 bytes" "$(filesize "$TMP/rand.bin")" 64 || true
fi
expect_error "generate-random --number-of-bytes 2000: ValidationException" ValidationException GenerateRandom \
	kms generate-random --number-of-bytes 2000 || true

# --- key states ---

expect_ok "disable-key" kms disable-key --key-id "$K2" || true
run kms describe-key --key-id "$K2" --output text --query 'KeyMetadata.[KeyState,Enabled]'
expect_eq "describe-key: Disabled, Enabled False" "$(tr '\t' ' ' <<<"$OUT")" "Disabled False" || true
expect_error "encrypt under a disabled key: DisabledException" DisabledException Encrypt \
	kms encrypt --key-id "$K2" --plaintext "fileb://$TMP/plain.bin" || true
expect_error "decrypt under a disabled key: DisabledException" DisabledException Decrypt \
	kms decrypt --ciphertext-blob "fileb://$TMP/ct2.bin" --encryption-context stage=two || true
expect_ok "enable-key" kms enable-key --key-id "$K2" || true
run kms describe-key --key-id "$K2" --output text --query 'KeyMetadata.[KeyState,Enabled]'
expect_eq "describe-key: Enabled, Enabled True" "$(tr '\t' ' ' <<<"$OUT")" "Enabled True" || true
expect_ok "encrypt works again after enable-key" kms encrypt --key-id "$K2" --plaintext "fileb://$TMP/plain.bin" \
	--output text --query KeyId || true

if expect_ok "schedule-key-deletion --pending-window-in-days 7" kms schedule-key-deletion --key-id "$K2" \
	--pending-window-in-days 7 --output text --query '[KeyId,KeyState,PendingWindowInDays]'; then
	expect_eq "schedule-key-deletion: KeyId KeyState PendingWindowInDays" "$(tr '\t' ' ' <<<"$OUT")" \
		"$K2_ARN PendingDeletion 7" || true
fi
run kms describe-key --key-id "$K2" --output text --query 'KeyMetadata.[KeyState,Enabled,PendingDeletionWindowInDays]'
expect_eq "describe-key: PendingDeletion, not enabled, a 7-day window" "$(tr '\t' ' ' <<<"$OUT")" "PendingDeletion False 7" || true
run kms describe-key --key-id "$K2" --output json --query 'KeyMetadata.DeletionDate'
expect_match "describe-key: a DeletionDate is set" "$OUT" '[0-9]' || true
expect_error "encrypt under a key pending deletion: KMSInvalidStateException" KMSInvalidStateException Encrypt \
	kms encrypt --key-id "$K2" --plaintext "fileb://$TMP/plain.bin" || true
expect_error "schedule-key-deletion again: KMSInvalidStateException" KMSInvalidStateException ScheduleKeyDeletion \
	kms schedule-key-deletion --key-id "$K2" --pending-window-in-days 7 || true
expect_error "schedule-key-deletion --pending-window-in-days 31: ValidationException" ValidationException ScheduleKeyDeletion \
	kms schedule-key-deletion --key-id "$K1" --pending-window-in-days 31 || true
if expect_ok "cancel-key-deletion" kms cancel-key-deletion --key-id "$K2" --output text --query KeyId; then
	expect_eq "cancel-key-deletion returns the key's ARN" "$OUT" "$K2_ARN" || true
fi
run kms describe-key --key-id "$K2" --output text --query 'KeyMetadata.KeyState'
expect_eq "after cancel-key-deletion the key is Disabled" "$OUT" "Disabled" || true
expect_error "cancel-key-deletion of a key not pending deletion: KMSInvalidStateException" KMSInvalidStateException CancelKeyDeletion \
	kms cancel-key-deletion --key-id "$K2" || true
expect_ok "enable-key after cancel-key-deletion" kms enable-key --key-id "$K2" || true

# --- grants ---

ROOT_ARN=arn:aws:iam::$ACCOUNT:root
G1= G1_TOKEN=
if expect_ok "create-grant with a name, a retiring principal and a constraint" kms create-grant --key-id "$K1" \
	--grantee-principal "$ROOT_ARN" --retiring-principal "$ROOT_ARN" --operations Encrypt Decrypt \
	--constraints 'EncryptionContextSubset={app=cli}' --name cli-grant --output text --query '[GrantId,GrantToken]'; then
	read -r G1 G1_TOKEN <<<"$OUT"
	expect_match "create-grant: GrantId is 64 hex digits" "$G1" '^[0-9a-f]{64}$' || true
	expect_match "create-grant: GrantToken is base64url" "$G1_TOKEN" '^[A-Za-z0-9_-]+$' || true
fi
run kms create-grant --key-id "$K1" --grantee-principal "$ROOT_ARN" --retiring-principal "$ROOT_ARN" --operations Encrypt Decrypt \
	--constraints 'EncryptionContextSubset={app=cli}' --name cli-grant --output text --query GrantId
expect_eq "create-grant retried with the same name and parameters: the same GrantId" "$RC $OUT" "0 $G1" || true
run kms list-grants --key-id "$K1" --output text --query 'Grants[].[GrantId,Name,GranteePrincipal,RetiringPrincipal,IssuingAccount,KeyId]'
expect_eq "list-grants: the grant, named, with its principals, issuing account and key ARN" "$(tr '\t' ' ' <<<"$OUT")" \
	"$G1 cli-grant $ROOT_ARN $ROOT_ARN $ROOT_ARN $K1_ARN" || true
run kms list-grants --key-id "$K1" --output text --query 'Grants[0].Operations'
expect_eq "list-grants: its operations" "$(tr '\t' ' ' <<<"$OUT")" "Encrypt Decrypt" || true
run kms list-grants --key-id "$K1" --output text --query 'Grants[0].Constraints.EncryptionContextSubset.app'
expect_eq "list-grants: its constraint" "$OUT" "cli" || true
expect_ok "encrypt with the grant token" kms encrypt --key-id "$K1" --plaintext "fileb://$TMP/plain.bin" \
	--encryption-context app=cli --grant-tokens "$G1_TOKEN" --output text --query KeyId || true
expect_error "encrypt with a grant token kagi did not issue: InvalidGrantTokenException" InvalidGrantTokenException Encrypt \
	kms encrypt --key-id "$K1" --plaintext "fileb://$TMP/plain.bin" --grant-tokens not-a-grant-token || true
expect_error "create-grant to a user that does not exist: InvalidArnException" InvalidArnException CreateGrant \
	kms create-grant --key-id "$K1_ARN" --grantee-principal "arn:aws:iam::$ACCOUNT:user/app" --operations DescribeKey || true
expect_ok "iam create-user app" aws --endpoint-url "$ENDPOINT" --region "$REGION" iam create-user --user-name app || true
G2=
if expect_ok "create-grant of a grant to keep across the restart" kms create-grant --key-id "$K1_ARN" \
	--grantee-principal "arn:aws:iam::$ACCOUNT:user/app" --operations DescribeKey --output text --query GrantId; then
	G2=$OUT
fi
run kms list-retirable-grants --retiring-principal "$ROOT_ARN" --output text --query 'Grants[].GrantId'
expect_eq "list-retirable-grants: the grant with a retiring principal" "$OUT" "$G1" || true
expect_ok "retire-grant --grant-token" kms retire-grant --grant-token "$G1_TOKEN" || true
expect_error "retire-grant of a retired grant: NotFoundException" NotFoundException RetireGrant \
	kms retire-grant --grant-token "$G1_TOKEN" || true
G3=
if expect_ok "create-grant to revoke" kms create-grant --key-id "$K1" --grantee-principal "$ROOT_ARN" --operations Decrypt \
	--output text --query GrantId; then
	G3=$OUT
fi
expect_ok "revoke-grant" kms revoke-grant --key-id "$K1" --grant-id "$G3" || true
expect_error "revoke-grant of an unknown grant: NotFoundException" NotFoundException RevokeGrant \
	kms revoke-grant --key-id "$K1" --grant-id "$G3" || true
run kms list-grants --key-id "$K1" --output text --query 'Grants[].GrantId'
expect_eq "list-grants after retire-grant and revoke-grant: only the kept grant" "$OUT" "$G2" || true

# --- imported key material (the Developer Guide's steps, RSAES_OAEP_SHA_256) ---

KX=
if expect_ok "create-key --origin EXTERNAL" kms create-key --origin EXTERNAL --output text --query 'KeyMetadata.[KeyId,KeyState]'; then
	read -r KX KX_STATE <<<"$OUT"
	expect_eq "create-key --origin EXTERNAL: PendingImport" "$KX_STATE" PendingImport || true
fi
expect_error "encrypt before import: KMSInvalidStateException" KMSInvalidStateException Encrypt \
	kms encrypt --key-id "$KX" --plaintext "fileb://$TMP/plain.bin" || true
if expect_ok "get-parameters-for-import" kms get-parameters-for-import --key-id "$KX" --wrapping-algorithm RSAES_OAEP_SHA_256 \
	--wrapping-key-spec RSA_2048 --query '{Key:PublicKey,Token:ImportToken}' --output text; then
	read -r KX_PUB KX_TOKEN <<<"$OUT"
	b64file "$TMP/PublicKey.bin" <<<"$KX_PUB"
	b64file "$TMP/ImportToken.bin" <<<"$KX_TOKEN"
fi
openssl rand -out "$TMP/PlaintextKeyMaterial.bin" 32
openssl pkeyutl -encrypt -in "$TMP/PlaintextKeyMaterial.bin" -out "$TMP/EncryptedKeyMaterial.bin" -inkey "$TMP/PublicKey.bin" \
	-keyform DER -pubin -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 2>/dev/null || true
expect_ok "import-key-material (wrapped with openssl pkeyutl)" kms import-key-material --key-id "$KX" \
	--encrypted-key-material "fileb://$TMP/EncryptedKeyMaterial.bin" --import-token "fileb://$TMP/ImportToken.bin" \
	--expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE || true
run kms describe-key --key-id "$KX" --output text --query 'KeyMetadata.[KeyState,Origin,ExpirationModel]'
expect_eq "describe-key after import: Enabled, EXTERNAL, KEY_MATERIAL_DOES_NOT_EXPIRE" "$(tr '\t' ' ' <<<"$OUT")" \
	"Enabled EXTERNAL KEY_MATERIAL_DOES_NOT_EXPIRE" || true
run kms encrypt --key-id "$KX" --plaintext "fileb://$TMP/plain.bin" --output text --query CiphertextBlob
b64file "$TMP/ctx.bin" <<<"$OUT"
expect_ok "delete-imported-key-material" kms delete-imported-key-material --key-id "$KX" || true
expect_error "decrypt after delete-imported-key-material: KMSInvalidStateException" KMSInvalidStateException Decrypt \
	kms decrypt --ciphertext-blob "fileb://$TMP/ctx.bin" || true
expect_error "import-key-material into a key with AWS_KMS material: UnsupportedOperationException" UnsupportedOperationException ImportKeyMaterial \
	kms import-key-material --key-id "$K2" --encrypted-key-material "fileb://$TMP/EncryptedKeyMaterial.bin" \
	--import-token "fileb://$TMP/ImportToken.bin" --expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE || true
expect_ok "import-key-material again: the same material" kms import-key-material --key-id "$KX" \
	--encrypted-key-material "fileb://$TMP/EncryptedKeyMaterial.bin" --import-token "fileb://$TMP/ImportToken.bin" \
	--expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE || true

# --- rotation, what kagi does not do, and who may call ---

run kms get-key-rotation-status --key-id "$K1" --output text --query KeyRotationEnabled
expect_eq "get-key-rotation-status of a customer managed key: False" "$OUT" "False" || true
expect_ok "enable-key-rotation --rotation-period-in-days 180" kms enable-key-rotation --key-id "$K1" --rotation-period-in-days 180 || true
run kms get-key-rotation-status --key-id "$K1" --output text --query '[KeyRotationEnabled,RotationPeriodInDays]'
expect_eq "get-key-rotation-status after enable-key-rotation: True 180" "$(tr '\t' ' ' <<<"$OUT")" "True 180" || true
expect_ok "rotate-key-on-demand" kms rotate-key-on-demand --key-id "$K1" || true
run kms list-key-rotations --key-id "$K1" --output text --query 'Rotations[].[RotationType,KeyMaterialState]'
expect_eq "list-key-rotations: the on-demand rotation, current" "$(tr '\t' ' ' <<<"$OUT")" "ON_DEMAND CURRENT" || true
expect_ok "disable-key-rotation" kms disable-key-rotation --key-id "$K1" || true
expect_error "rotate-key-on-demand of an alias: NotFoundException" NotFoundException RotateKeyOnDemand \
	kms rotate-key-on-demand --key-id alias/cli-test || true
expect_error "create-alias in alias/aws/: InvalidAliasNameException" InvalidAliasNameException CreateAlias \
	kms create-alias --alias-name alias/aws/cli --target-key-id "$K1" || true
expect_error "describe-key alias/aws/ of no registered service: NotFoundException" NotFoundException DescribeKey \
	kms describe-key --key-id alias/aws/s3 || true

printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$FILE_AKID" "${FILE_SECRET}x" >"$TMP/wrong-secret"
expect_error "a wrong secret access key: InvalidSignatureException" InvalidSignatureException ListKeys \
	env AWS_SHARED_CREDENTIALS_FILE="$TMP/wrong-secret" aws --endpoint-url "$ENDPOINT" --region "$REGION" kms list-keys || true
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY >"$TMP/unknown-key"
expect_error "an unknown access key id: UnrecognizedClientException" UnrecognizedClientException ListKeys \
	env AWS_SHARED_CREDENTIALS_FILE="$TMP/unknown-key" aws --endpoint-url "$ENDPOINT" --region "$REGION" kms list-keys || true

# --- restart on the same data directory ---

CREDS_BEFORE=$(cksum <"$DATA/credentials")
rc=0
stop_server || rc=$?
expect_eq "kagi stops on SIGTERM with exit status 0" "$rc" 0 || true
if run "$KAGI" admin create-service --data-dir "$DATA" --name s3 && [[ $RC -eq 0 ]] &&
	grep -q '^\[service-s3\]$' <<<"$OUT"; then
	ok "kagi admin create-service registers s3.amazonaws.com and prints its credentials"
else
	not_ok "kagi admin create-service registers s3.amazonaws.com and prints its credentials"
	detail "exit status $RC" "stdout: $OUT" "stderr: $ERR"
fi
if start_server; then
	ok "kagi serve starts again on the same data dir"
else
	not_ok "kagi serve starts again on the same data dir"
	detail "stderr:" "$(cat "$SERVE_ERR")"
fi
expect_eq "the restarted kagi prints no new credentials" "$(cat "$SERVE_OUT")" "" || true
expect_eq "the credentials file is unchanged" "$(cksum <"$DATA/credentials")" "$CREDS_BEFORE" || true
run kms describe-key --key-id alias/cli-test --output text --query 'KeyMetadata.[Arn,KeyState,Description]'
expect_eq "after the restart the alias names the first key, Enabled, with its description" \
	"$(tr '\t' ' ' <<<"$OUT")" "$K1_ARN Enabled cli test key, renamed" || true
expect_eq "after the restart the first key has its tags" "$(tags "$K1")" "env=prod owner=alice" || true
run kms decrypt --ciphertext-blob "fileb://$TMP/ct.bin" --encryption-context "$CTX" --output text --query Plaintext
b64file "$TMP/plain3.out" <<<"$OUT"
expect_eq "after the restart a ciphertext made before it decrypts to the file" \
	"$RC $(cmp -s "$TMP/plain.bin" "$TMP/plain3.out" && echo same)" "0 same" || true
run kms describe-key --key-id "$K2" --output text --query 'KeyMetadata.KeyState'
expect_eq "after the restart the second key is Enabled" "$OUT" "Enabled" || true
run kms list-grants --key-id "$K1" --output text --query 'Grants[].[GrantId,GranteePrincipal]'
expect_eq "after the restart the first key has its grant" "$(tr '\t' ' ' <<<"$OUT")" "$G2 arn:aws:iam::$ACCOUNT:user/app" || true
run kms decrypt --ciphertext-blob "fileb://$TMP/ctx.bin" --output text --query Plaintext
b64file "$TMP/plain4.out" <<<"$OUT"
expect_eq "after the restart the imported key decrypts what it encrypted" \
	"$RC $(cmp -s "$TMP/plain.bin" "$TMP/plain4.out" && echo same)" "0 same" || true
run kms describe-key --key-id alias/aws/s3 --output text --query 'KeyMetadata.[KeyManager,KeyState,Description]'
expect_eq "describe-key alias/aws/s3 of the registered s3 makes its AWS managed key" \
	"$(tr '\t' ' ' <<<"$OUT")" "AWS Enabled Default key that protects my S3 data when no other key is defined" || true
run kms describe-key --key-id alias/aws/s3 --output text --query KeyMetadata.KeyId
MK=$OUT
expect_error "disable-key of an AWS managed key: AccessDeniedException" AccessDeniedException DisableKey \
	kms disable-key --key-id "$MK" || true
expect_error "put-key-policy of an AWS managed key: AccessDeniedException" AccessDeniedException PutKeyPolicy \
	kms put-key-policy --key-id "$MK" --policy-name default --policy '{"Version":"2012-10-17","Statement":[]}' || true
run kms get-key-rotation-status --key-id "$MK" --output text --query '[KeyRotationEnabled,RotationPeriodInDays]'
expect_eq "an AWS managed key rotates every 365 days" "$(tr '\t' ' ' <<<"$OUT")" "True 365" || true

# ---------------------------------------------------------------- summary

if [[ $FAILED -gt 0 ]]; then
	echo "# kagi's log (stderr of the last start):"
	sed 's/^/#   /' "$SERVE_ERR" | tail -n 40
fi
echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
