package server_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// sdkOperations is every operation of the AWS KMS API, read off the SDK's
// client (a method Op(ctx, *OpInput, ...func(*kms.Options)) per
// operation), so that the list does not come from kagi's own route table.
func sdkOperations(t *testing.T) []string {
	t.Helper()
	ctx := reflect.TypeFor[context.Context]()
	var ops []string
	ct := reflect.TypeFor[*kms.Client]()
	for i := range ct.NumMethod() {
		m := ct.Method(i)
		if m.Type.NumIn() == 4 && m.Type.In(1) == ctx && m.Type.In(2).Kind() == reflect.Pointer &&
			m.Type.In(2).Elem().Name() == m.Name+"Input" {
			ops = append(ops, m.Name)
		}
	}
	if len(ops) < 50 {
		t.Fatalf("found %d operations on the SDK's client: %v", len(ops), ops)
	}
	return ops
}

// badInputVEFormat is how AWS words a ValidationException from the
// model's constraints: "1 validation error detected: Value …", or
// "2 validation errors detected: Value …; Value …".
var badInputVEFormat = regexp.MustCompile(`^(1 validation error|[2-9] validation errors) detected: Value `)

// badInputCase is one bad request: the operation, its raw JSON body, the
// exception AWS answers it with, and (optionally) a part of the message
// that must be there, in AWS's wording.
type badInputCase struct {
	op, name, body, code, msg string
}

// TestBadInputLeavesStoreUnchanged sends, for every operation kagi
// implements, malformed and out-of-range requests on the wire (the SDK
// would refuse to send many of them): missing required members, strings
// too long or too short, integers out of range, bad enums, bad base64,
// oversized plaintexts and messages, bad key ids and aliases, too many
// grant tokens, malformed JSON, and requests that are well formed but
// not allowed in the key's state or for its type. Each gets its AWS
// exception, and afterwards the whole store (every key and value of
// kagi.db) is byte for byte what it was before.
//
// Last-use tracking is off: the setup's Encrypt would otherwise be
// flushed to lu/ keys by the background flusher at any moment, and the
// digest would change for a reason that is not the bad requests. (Failed
// requests record no use; lastuse_sdk_test.go checks that.)
func TestBadInputLeavesStoreUnchanged(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithoutLastUse())
	ctx := t.Context()
	c := env.KMS
	w := newSDKWire(t, env)

	sym := *sdkCreateKey(t, c, &kms.CreateKeyInput{Description: aws.String("bad input")}).KeyId
	sdkCreateAlias(t, c, "alias/bad-input", sym)
	rsa := *sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify}).KeyId
	hmac := *sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac}).KeyId
	ecc := *sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeKeyAgreement}).KeyId
	kem := *sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpec("ML_KEM_768"), KeyUsage: types.KeyUsageType("ENCAPSULATE_DECAPSULATE")}).KeyId
	ext := *sdkCreateKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternal}).KeyId
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(sym), Plaintext: []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	ct := base64.StdEncoding.EncodeToString(enc.CiphertextBlob)
	grant, err := c.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: aws.String(sym), GranteePrincipal: aws.String("arn:aws:iam::" + servertest.AccountID + ":root"),
		Operations: []types.GrantOperation{types.GrantOperationEncrypt}})
	if err != nil {
		t.Fatal(err)
	}
	gid := *grant.GrantId

	before, pairs, err := env.Server.StoreDigest(ctx)
	if err != nil {
		t.Fatal(err)
	}

	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	long := func(n int) string { return strings.Repeat("a", n) }
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	tokens11 := `["t","t","t","t","t","t","t","t","t","t","t"]`
	missingUUID := "1234abcd-12ab-34cd-56ef-1234567890ab"
	const (
		VE   = "ValidationException"
		SE   = "SerializationException"
		NF   = "NotFoundException"
		IKU  = "InvalidKeyUsageException"
		UO   = "UnsupportedOperationException"
		IS   = "KMSInvalidStateException"
		null = "Member must not be null"
	)
	cases := []badInputCase{
		// CreateKey
		{"CreateKey", "Description too long", `{"Description":` + q(long(8193)) + `}`, VE, "at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192"},
		{"CreateKey", "bad KeySpec", `{"KeySpec":"AES_999"}`, VE, "Value 'AES_999' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set"},
		{"CreateKey", "bad KeyUsage", `{"KeyUsage":"ENCRYPT"}`, VE, "at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set"},
		{"CreateKey", "bad Origin", `{"Origin":"ELSEWHERE"}`, VE, "at 'origin'"},
		{"CreateKey", "KeySpec not for KeyUsage", `{"KeySpec":"HMAC_256","KeyUsage":"ENCRYPT_DECRYPT"}`, VE, ""},
		{"CreateKey", "TagKey too long", `{"Tags":[{"TagKey":` + q(long(129)) + `,"TagValue":"v"}]}`, VE, "Member must have length less than or equal to 128"},
		{"CreateKey", "TagValue too long", `{"Tags":[{"TagKey":"k","TagValue":` + q(long(257)) + `}]}`, VE, "Member must have length less than or equal to 256"},
		{"CreateKey", "Policy over 32 KB", `{"Policy":` + q(long(32769)) + `}`, "LimitExceededException", ""},
		{"CreateKey", "Policy over the model's 131072", `{"Policy":` + q(long(131073)) + `}`, VE, "at 'policy' failed to satisfy constraint: Member must have length less than or equal to 131072"},
		{"CreateKey", "Policy not JSON", `{"Policy":"not a policy"}`, "MalformedPolicyDocumentException", ""},
		{"CreateKey", "string for a Boolean", `{"BypassPolicyLockoutSafetyCheck":"yes"}`, SE, "STRING_VALUE can not be converted to a Boolean"},

		// DescribeKey and the KeyId member every keyed operation shares.
		{"DescribeKey", "KeyId missing", `{}`, VE, "Value null at 'keyId' failed to satisfy constraint: " + null},
		{"DescribeKey", "KeyId empty", `{"KeyId":""}`, VE, "at 'keyId'"},
		{"DescribeKey", "KeyId too long", `{"KeyId":` + q(long(2049)) + `}`, VE, "at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{"DescribeKey", "KeyId in another case", `{"keyid":"` + sym + `"}`, VE, "Value null at 'keyId' failed to satisfy constraint: " + null},
		{"DescribeKey", "unknown key", `{"KeyId":"` + missingUUID + `"}`, NF, ""},
		{"DescribeKey", "unknown alias", `{"KeyId":"alias/no-such-alias"}`, NF, ""},
		{"DescribeKey", "malformed ARN", `{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/"}`, "InvalidArnException", ""},
		{"DescribeKey", "11 grant tokens", `{"KeyId":"` + sym + `","GrantTokens":` + tokens11 + `}`, VE, "at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10"},
		{"DescribeKey", "number for KeyId", `{"KeyId":5}`, SE, "NUMBER_VALUE can not be converted to a String"},

		// ListKeys
		{"ListKeys", "Limit 0", `{"Limit":0}`, VE, "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"ListKeys", "Limit 1001", `{"Limit":1001}`, VE, "Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000"},
		{"ListKeys", "Limit beyond an Integer", `{"Limit":4294967297}`, SE, "out of range of an Integer"},
		{"ListKeys", "string Limit", `{"Limit":"10"}`, SE, "STRING_VALUE can not be converted to an Integer"},
		{"ListKeys", "bad Marker", `{"Marker":"not-a-marker"}`, "InvalidMarkerException", ""},

		{"EnableKey", "KeyId missing", `{}`, VE, "at 'keyId'"},
		{"EnableKey", "unknown key", `{"KeyId":"` + missingUUID + `"}`, NF, ""},
		{"DisableKey", "KeyId missing", `{}`, VE, "at 'keyId'"},
		{"DisableKey", "unknown alias", `{"KeyId":"alias/none"}`, NF, ""},

		{"ScheduleKeyDeletion", "PendingWindowInDays 6", `{"KeyId":"` + sym + `","PendingWindowInDays":6}`, VE, "Value '6' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7"},
		{"ScheduleKeyDeletion", "PendingWindowInDays 31", `{"KeyId":"` + sym + `","PendingWindowInDays":31}`, VE, "Value '31' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 30"},
		{"ScheduleKeyDeletion", "KeyId missing", `{"PendingWindowInDays":7}`, VE, "at 'keyId'"},
		{"CancelKeyDeletion", "KeyId missing", `{}`, VE, "at 'keyId'"},
		{"CancelKeyDeletion", "key not pending deletion", `{"KeyId":"` + sym + `"}`, IS, ""},

		{"UpdateKeyDescription", "Description missing", `{"KeyId":"` + sym + `"}`, VE, "Value null at 'description'"},
		{"UpdateKeyDescription", "Description too long", `{"KeyId":"` + sym + `","Description":` + q(long(8193)) + `}`, VE, "at 'description'"},

		// Aliases
		{"CreateAlias", "AliasName missing", `{"TargetKeyId":"` + sym + `"}`, VE, "Value null at 'aliasName'"},
		{"CreateAlias", "TargetKeyId missing", `{"AliasName":"alias/new"}`, VE, "Value null at 'targetKeyId'"},
		{"CreateAlias", "no alias/ prefix", `{"AliasName":"new","TargetKeyId":"` + sym + `"}`, "InvalidAliasNameException", ""},
		{"CreateAlias", "AliasName too long", `{"AliasName":"alias/` + long(251) + `","TargetKeyId":"` + sym + `"}`, VE, "at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"CreateAlias", "bad characters", `{"AliasName":"alias/a b","TargetKeyId":"` + sym + `"}`, VE, "at 'aliasName'"},
		{"CreateAlias", "reserved alias/aws/", `{"AliasName":"alias/aws/mine","TargetKeyId":"` + sym + `"}`, "InvalidAliasNameException", ""},
		{"CreateAlias", "alias exists", `{"AliasName":"alias/bad-input","TargetKeyId":"` + sym + `"}`, "AlreadyExistsException", ""},
		{"CreateAlias", "unknown target", `{"AliasName":"alias/new","TargetKeyId":"` + missingUUID + `"}`, NF, ""},
		{"UpdateAlias", "TargetKeyId missing", `{"AliasName":"alias/bad-input"}`, VE, "Value null at 'targetKeyId'"},
		{"UpdateAlias", "unknown alias", `{"AliasName":"alias/none","TargetKeyId":"` + sym + `"}`, NF, ""},
		{"UpdateAlias", "target of another type", `{"AliasName":"alias/bad-input","TargetKeyId":"` + rsa + `"}`, VE, ""},
		{"DeleteAlias", "AliasName missing", `{}`, VE, "Value null at 'aliasName'"},
		{"DeleteAlias", "unknown alias", `{"AliasName":"alias/none"}`, NF, ""},
		{"ListAliases", "Limit 0", `{"Limit":0}`, VE, "Value '0' at 'limit'"},
		{"ListAliases", "Limit 101", `{"Limit":101}`, VE, "Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{"ListAliases", "unknown key", `{"KeyId":"` + missingUUID + `"}`, NF, ""},

		// Tags
		{"TagResource", "Tags missing", `{"KeyId":"` + sym + `"}`, VE, "Value null at 'tags'"},
		{"TagResource", "TagKey too long", `{"KeyId":"` + sym + `","Tags":[{"TagKey":` + q(long(129)) + `,"TagValue":"v"}]}`, VE, "Member must have length less than or equal to 128"},
		{"TagResource", "TagValue missing", `{"KeyId":"` + sym + `","Tags":[{"TagKey":"k"}]}`, VE, null},
		{"TagResource", "aws: prefix", `{"KeyId":"` + sym + `","Tags":[{"TagKey":"aws:x","TagValue":"v"}]}`, "TagException", ""},
		{"TagResource", "unknown key", `{"KeyId":"` + missingUUID + `","Tags":[{"TagKey":"k","TagValue":"v"}]}`, NF, ""},
		{"UntagResource", "TagKeys missing", `{"KeyId":"` + sym + `"}`, VE, "Value null at 'tagKeys'"},
		{"UntagResource", "empty TagKey", `{"KeyId":"` + sym + `","TagKeys":[""]}`, VE, "Member must have length greater than or equal to 1"},
		{"UntagResource", "null TagKey", `{"KeyId":"` + sym + `","TagKeys":[null]}`, SE, ""},
		{"ListResourceTags", "Limit 0", `{"KeyId":"` + sym + `","Limit":0}`, VE, "Value '0' at 'limit'"},
		{"ListResourceTags", "Limit 51", `{"KeyId":"` + sym + `","Limit":51}`, VE, "Member must have value less than or equal to 50"},

		// Symmetric cryptography
		{"Encrypt", "Plaintext missing", `{"KeyId":"` + sym + `"}`, VE, "Value null at 'plaintext' failed to satisfy constraint: " + null},
		{"Encrypt", "empty Plaintext", `{"KeyId":"` + sym + `","Plaintext":""}`, VE, "at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"Encrypt", "4097-byte Plaintext", `{"KeyId":"` + sym + `","Plaintext":"` + b64(4097) + `"}`, VE, "at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"},
		{"Encrypt", "4097 bytes for an AWS managed key", `{"KeyId":"alias/aws/ebs","Plaintext":"` + b64(4097) + `"}`, VE, "at 'plaintext'"},
		{"Encrypt", "bad base64", `{"KeyId":"` + sym + `","Plaintext":"aGVsbG8"}`, SE, "can not be converted to a Blob"},
		{"Encrypt", "bad EncryptionAlgorithm", `{"KeyId":"` + sym + `","Plaintext":"aGk=","EncryptionAlgorithm":"AES"}`, VE, "at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set"},
		{"Encrypt", "11 grant tokens", `{"KeyId":"` + sym + `","Plaintext":"aGk=","GrantTokens":` + tokens11 + `}`, VE, "at 'grantTokens'"},
		{"Encrypt", "number in the context", `{"KeyId":"` + sym + `","Plaintext":"aGk=","EncryptionContext":{"a":1}}`, SE, ""},
		{"Encrypt", "signing key", `{"KeyId":"` + rsa + `","Plaintext":"aGk="}`, IKU, ""},
		{"Encrypt", "unknown key", `{"KeyId":"` + missingUUID + `","Plaintext":"aGk="}`, NF, ""},
		{"Decrypt", "CiphertextBlob missing", `{}`, VE, "Value null at 'ciphertextBlob'"},
		{"Decrypt", "6145-byte CiphertextBlob", `{"CiphertextBlob":"` + b64(6145) + `"}`, VE, "at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144"},
		{"Decrypt", "garbage CiphertextBlob", `{"CiphertextBlob":"` + b64(64) + `"}`, "InvalidCiphertextException", ""},
		{"Decrypt", "bad base64", `{"CiphertextBlob":"%%%%"}`, SE, ""},
		{"Decrypt", "wrong context", `{"CiphertextBlob":"` + ct + `","EncryptionContext":{"a":"b"}}`, "InvalidCiphertextException", ""},
		{"Decrypt", "11 grant tokens", `{"CiphertextBlob":"` + ct + `","GrantTokens":` + tokens11 + `}`, VE, "at 'grantTokens'"},
		{"ReEncrypt", "DestinationKeyId missing", `{"CiphertextBlob":"` + ct + `"}`, VE, "Value null at 'destinationKeyId'"},
		{"ReEncrypt", "CiphertextBlob missing", `{"DestinationKeyId":"` + sym + `"}`, VE, "Value null at 'ciphertextBlob'"},
		{"ReEncrypt", "garbage CiphertextBlob", `{"CiphertextBlob":"` + b64(64) + `","DestinationKeyId":"` + sym + `"}`, "InvalidCiphertextException", ""},
		{"ReEncrypt", "bad DestinationEncryptionAlgorithm", `{"CiphertextBlob":"` + ct + `","DestinationKeyId":"` + sym + `","DestinationEncryptionAlgorithm":"X"}`, VE, "at 'destinationEncryptionAlgorithm'"},
		{"GenerateDataKey", "NumberOfBytes 0", `{"KeyId":"` + sym + `","NumberOfBytes":0}`, VE, "Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"GenerateDataKey", "NumberOfBytes 1025", `{"KeyId":"` + sym + `","NumberOfBytes":1025}`, VE, "Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"},
		{"GenerateDataKey", "bad KeySpec", `{"KeyId":"` + sym + `","KeySpec":"AES_512"}`, VE, "at 'keySpec'"},
		{"GenerateDataKey", "neither KeySpec nor NumberOfBytes", `{"KeyId":"` + sym + `"}`, VE, ""},
		{"GenerateDataKey", "both KeySpec and NumberOfBytes", `{"KeyId":"` + sym + `","KeySpec":"AES_256","NumberOfBytes":32}`, VE, ""},
		{"GenerateDataKey", "HMAC key", `{"KeyId":"` + hmac + `","KeySpec":"AES_256"}`, IKU, ""},
		{"GenerateDataKeyWithoutPlaintext", "NumberOfBytes 1025", `{"KeyId":"` + sym + `","NumberOfBytes":1025}`, VE, "at 'numberOfBytes'"},
		{"GenerateDataKeyWithoutPlaintext", "KeyId missing", `{"KeySpec":"AES_256"}`, VE, "Value null at 'keyId'"},
		{"GenerateRandom", "NumberOfBytes 0", `{"NumberOfBytes":0}`, VE, "Value '0' at 'numberOfBytes'"},
		{"GenerateRandom", "NumberOfBytes 1025", `{"NumberOfBytes":1025}`, VE, "Value '1025' at 'numberOfBytes'"},

		// Key policies
		{"GetKeyPolicy", "unknown policy name", `{"KeyId":"` + sym + `","PolicyName":"other"}`, NF, ""},
		{"GetKeyPolicy", "bad policy name", `{"KeyId":"` + sym + `","PolicyName":"bad name"}`, VE, "at 'policyName'"},
		{"PutKeyPolicy", "Policy not JSON", `{"KeyId":"` + sym + `","PolicyName":"default","Policy":"{"}`, "MalformedPolicyDocumentException", ""},
		{"PutKeyPolicy", "Policy over 32 KB", `{"KeyId":"` + sym + `","PolicyName":"default","Policy":` + q(long(32769)) + `}`, "LimitExceededException", ""},
		{"PutKeyPolicy", "Policy missing", `{"KeyId":"` + sym + `","PolicyName":"default"}`, VE, "Value null at 'policy'"},
		{"PutKeyPolicy", "KeyId missing", `{"PolicyName":"default","Policy":"{}"}`, VE, "Value null at 'keyId'"},
		{"ListKeyPolicies", "Limit 0", `{"KeyId":"` + sym + `","Limit":0}`, VE, "Value '0' at 'limit'"},
		{"ListKeyPolicies", "Limit 1001", `{"KeyId":"` + sym + `","Limit":1001}`, VE, "Value '1001' at 'limit'"},

		// Grants
		{"CreateGrant", "GranteePrincipal missing", `{"KeyId":"` + sym + `","Operations":["Encrypt"]}`, VE, ""},
		{"CreateGrant", "Operations missing", `{"KeyId":"` + sym + `","GranteePrincipal":"arn:aws:iam::111122223333:root"}`, VE, "at 'operations'"},
		{"CreateGrant", "bad operation", `{"KeyId":"` + sym + `","GranteePrincipal":"arn:aws:iam::111122223333:root","Operations":["Frobnicate"]}`, VE, "Member must satisfy enum value set"},
		{"CreateGrant", "operation not for the key", `{"KeyId":"` + sym + `","GranteePrincipal":"arn:aws:iam::111122223333:root","Operations":["Sign"]}`, VE, ""},
		{"CreateGrant", "Name too long", `{"KeyId":"` + sym + `","GranteePrincipal":"arn:aws:iam::111122223333:root","Operations":["Encrypt"],"Name":` + q(long(257)) + `}`, VE, "at 'name'"},
		{"CreateGrant", "Name with bad characters", `{"KeyId":"` + sym + `","GranteePrincipal":"arn:aws:iam::111122223333:root","Operations":["Encrypt"],"Name":"a b"}`, VE, "at 'name'"},
		{"CreateGrant", "11 grant tokens", `{"KeyId":"` + sym + `","GranteePrincipal":"arn:aws:iam::111122223333:root","Operations":["Encrypt"],"GrantTokens":` + tokens11 + `}`, VE, "at 'grantTokens'"},
		{"ListGrants", "KeyId missing", `{}`, VE, "Value null at 'keyId'"},
		{"ListGrants", "Limit 0", `{"KeyId":"` + sym + `","Limit":0}`, VE, "Value '0' at 'limit'"},
		{"ListGrants", "Limit 101", `{"KeyId":"` + sym + `","Limit":101}`, VE, "Value '101' at 'limit'"},
		{"ListRetirableGrants", "neither retiring principal", `{}`, VE, "RetiringPrincipal or RetiringServicePrincipal"},
		{"ListRetirableGrants", "Limit 0", `{"RetiringPrincipal":"arn:aws:iam::111122223333:root","Limit":0}`, VE, "Value '0' at 'limit'"},
		{"RetireGrant", "nothing named", `{}`, VE, ""},
		{"RetireGrant", "unknown GrantId", `{"KeyId":"` + sym + `","GrantId":"` + hex.EncodeToString(make([]byte, 32)) + `"}`, NF, ""},
		{"RetireGrant", "GrantId too long", `{"KeyId":"` + sym + `","GrantId":"` + gid + long(65) + `"}`, VE, "at 'grantId'"},
		{"RetireGrant", "garbage GrantToken", `{"GrantToken":"garbage"}`, "InvalidGrantTokenException", ""},
		{"RevokeGrant", "GrantId missing", `{"KeyId":"` + sym + `"}`, VE, "Value null at 'grantId'"},
		{"RevokeGrant", "GrantId too long", `{"KeyId":"` + sym + `","GrantId":` + q(long(129)) + `}`, VE, "at 'grantId'"},
		{"RevokeGrant", "GrantId of another key", `{"KeyId":"` + rsa + `","GrantId":"` + gid + `"}`, NF, ""},
		{"RevokeGrant", "unknown GrantId", `{"KeyId":"` + sym + `","GrantId":"` + hex.EncodeToString(make([]byte, 32)) + `"}`, NF, ""},

		// Asymmetric keys, MACs, agreement, KEM
		{"GetPublicKey", "KeyId missing", `{}`, VE, "Value null at 'keyId'"},
		{"GetPublicKey", "symmetric key", `{"KeyId":"` + sym + `"}`, UO, ""},
		{"Sign", "Message missing", `{"KeyId":"` + rsa + `","SigningAlgorithm":"RSASSA_PSS_SHA_256"}`, VE, "Value null at 'message'"},
		{"Sign", "4097-byte Message", `{"KeyId":"` + rsa + `","SigningAlgorithm":"RSASSA_PSS_SHA_256","Message":"` + b64(4097) + `"}`, VE, "at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096"},
		{"Sign", "SigningAlgorithm missing", `{"KeyId":"` + rsa + `","Message":"aGk="}`, VE, "Value null at 'signingAlgorithm'"},
		{"Sign", "bad SigningAlgorithm", `{"KeyId":"` + rsa + `","Message":"aGk=","SigningAlgorithm":"RSA"}`, VE, "at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set"},
		{"Sign", "bad MessageType", `{"KeyId":"` + rsa + `","Message":"aGk=","SigningAlgorithm":"RSASSA_PSS_SHA_256","MessageType":"HASH"}`, VE, "at 'messageType'"},
		{"Sign", "symmetric key", `{"KeyId":"` + sym + `","Message":"aGk=","SigningAlgorithm":"RSASSA_PSS_SHA_256"}`, IKU, ""},
		{"Verify", "Signature missing", `{"KeyId":"` + rsa + `","Message":"aGk=","SigningAlgorithm":"RSASSA_PSS_SHA_256"}`, VE, "Value null at 'signature'"},
		{"Verify", "6145-byte Signature", `{"KeyId":"` + rsa + `","Message":"aGk=","SigningAlgorithm":"RSASSA_PSS_SHA_256","Signature":"` + b64(6145) + `"}`, VE, "at 'signature'"},
		{"GenerateMac", "Message missing", `{"KeyId":"` + hmac + `","MacAlgorithm":"HMAC_SHA_256"}`, VE, "Value null at 'message'"},
		{"GenerateMac", "4097-byte Message", `{"KeyId":"` + hmac + `","MacAlgorithm":"HMAC_SHA_256","Message":"` + b64(4097) + `"}`, VE, "at 'message'"},
		{"GenerateMac", "bad MacAlgorithm", `{"KeyId":"` + hmac + `","MacAlgorithm":"HMAC_MD5","Message":"aGk="}`, VE, "at 'macAlgorithm'"},
		{"GenerateMac", "symmetric key", `{"KeyId":"` + sym + `","MacAlgorithm":"HMAC_SHA_256","Message":"aGk="}`, IKU, ""},
		{"VerifyMac", "Mac missing", `{"KeyId":"` + hmac + `","MacAlgorithm":"HMAC_SHA_256","Message":"aGk="}`, VE, "Value null at 'mac'"},
		{"VerifyMac", "bad base64 Mac", `{"KeyId":"` + hmac + `","MacAlgorithm":"HMAC_SHA_256","Message":"aGk=","Mac":"***"}`, SE, ""},
		{"DeriveSharedSecret", "PublicKey missing", `{"KeyId":"` + ecc + `","KeyAgreementAlgorithm":"ECDH"}`, VE, "Value null at 'publicKey'"},
		{"DeriveSharedSecret", "bad KeyAgreementAlgorithm", `{"KeyId":"` + ecc + `","KeyAgreementAlgorithm":"DH","PublicKey":"aGk="}`, VE, "at 'keyAgreementAlgorithm'"},
		{"DeriveSharedSecret", "symmetric key", `{"KeyId":"` + sym + `","KeyAgreementAlgorithm":"ECDH","PublicKey":"aGk="}`, IKU, ""},
		{"Encapsulate", "KeyId missing", `{}`, VE, "Value null at 'keyId'"},
		{"Encapsulate", "EncapsulationAlgorithm missing", `{"KeyId":"` + kem + `"}`, VE, "Value null at 'encapsulationAlgorithm'"},
		{"Encapsulate", "bad EncapsulationAlgorithm", `{"KeyId":"` + kem + `","EncapsulationAlgorithm":"RSA_KEM"}`, VE, "at 'encapsulationAlgorithm'"},
		{"Encapsulate", "symmetric key", `{"KeyId":"` + sym + `","EncapsulationAlgorithm":"ML_KEM"}`, IKU, ""},
		{"Decapsulate", "KeyId missing", `{"Ciphertext":"aGk="}`, VE, "Value null at 'keyId'"},
		{"Decapsulate", "ciphertext missing", `{"KeyId":"` + kem + `","EncapsulationAlgorithm":"ML_KEM"}`, VE, "Value null at 'sharedSecretCiphertextBlob'"},
		{"Decapsulate", "garbage ciphertext", `{"KeyId":"` + kem + `","EncapsulationAlgorithm":"ML_KEM","SharedSecretCiphertextBlob":"` + b64(10) + `"}`, "InvalidCiphertextException", ""},
		{"GenerateDataKeyPair", "KeyPairSpec missing", `{"KeyId":"` + sym + `"}`, VE, "Value null at 'keyPairSpec'"},
		{"GenerateDataKeyPair", "bad KeyPairSpec", `{"KeyId":"` + sym + `","KeyPairSpec":"RSA_1024"}`, VE, "at 'keyPairSpec'"},
		{"GenerateDataKeyPairWithoutPlaintext", "KeyId missing", `{"KeyPairSpec":"RSA_2048"}`, VE, "Value null at 'keyId'"},
		{"GenerateDataKeyPairWithoutPlaintext", "signing key", `{"KeyId":"` + rsa + `","KeyPairSpec":"RSA_2048"}`, IKU, ""},

		// Rotation
		{"GetKeyRotationStatus", "KeyId missing", `{}`, VE, "Value null at 'keyId'"},
		{"GetKeyRotationStatus", "unknown key", `{"KeyId":"` + missingUUID + `"}`, NF, ""},
		{"ListKeyRotations", "Limit 0", `{"KeyId":"` + sym + `","Limit":0}`, VE, "Value '0' at 'limit'"},
		{"ListKeyRotations", "Limit 1001", `{"KeyId":"` + sym + `","Limit":1001}`, VE, "Value '1001' at 'limit'"},
		{"EnableKeyRotation", "RotationPeriodInDays 89", `{"KeyId":"` + sym + `","RotationPeriodInDays":89}`, VE, "Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90"},
		{"EnableKeyRotation", "RotationPeriodInDays 2561", `{"KeyId":"` + sym + `","RotationPeriodInDays":2561}`, VE, "Value '2561' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value less than or equal to 2560"},
		{"EnableKeyRotation", "asymmetric key", `{"KeyId":"` + rsa + `"}`, UO, ""},
		{"DisableKeyRotation", "asymmetric key", `{"KeyId":"` + rsa + `"}`, UO, ""},
		{"DisableKeyRotation", "KeyId missing", `{}`, VE, "Value null at 'keyId'"},
		{"RotateKeyOnDemand", "asymmetric key", `{"KeyId":"` + rsa + `"}`, UO, ""},
		{"RotateKeyOnDemand", "KeyId missing", `{}`, VE, "Value null at 'keyId'"},

		// Imported key material
		{"GetParametersForImport", "bad WrappingAlgorithm", `{"KeyId":"` + ext + `","WrappingAlgorithm":"RSA","WrappingKeySpec":"RSA_2048"}`, VE, "at 'wrappingAlgorithm'"},
		{"GetParametersForImport", "bad WrappingKeySpec", `{"KeyId":"` + ext + `","WrappingAlgorithm":"RSAES_OAEP_SHA_256","WrappingKeySpec":"RSA_1024"}`, VE, "at 'wrappingKeySpec'"},
		{"GetParametersForImport", "AWS_KMS key", `{"KeyId":"` + sym + `","WrappingAlgorithm":"RSAES_OAEP_SHA_256","WrappingKeySpec":"RSA_2048"}`, UO, ""},
		{"ImportKeyMaterial", "ImportToken missing", `{"KeyId":"` + ext + `","EncryptedKeyMaterial":"aGk="}`, VE, "Value null at 'importToken'"},
		{"ImportKeyMaterial", "EncryptedKeyMaterial missing", `{"KeyId":"` + ext + `","ImportToken":"aGk="}`, VE, "Value null at 'encryptedKeyMaterial'"},
		{"ImportKeyMaterial", "bad ExpirationModel", `{"KeyId":"` + ext + `","ImportToken":"aGk=","EncryptedKeyMaterial":"aGk=","ExpirationModel":"SOMETIMES"}`, VE, "at 'expirationModel'"},
		{"ImportKeyMaterial", "garbage ImportToken", `{"KeyId":"` + ext + `","ImportToken":"` + b64(100) + `","EncryptedKeyMaterial":"` + b64(256) + `","ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE"}`, "InvalidImportTokenException", ""},
		{"DeleteImportedKeyMaterial", "AWS_KMS key", `{"KeyId":"` + sym + `"}`, UO, ""},
		{"DeleteImportedKeyMaterial", "KeyId missing", `{}`, VE, "Value null at 'keyId'"},

		{"GetKeyLastUsage", "KeyId missing", `{}`, VE, "Value null at 'keyId'"},
		{"GetKeyLastUsage", "unknown key", `{"KeyId":"` + missingUUID + `"}`, NF, ""},
	}

	unimplemented := map[string]bool{}
	for _, op := range sdkUnimplemented {
		unimplemented[op] = true
	}
	covered := map[string]int{}
	for _, c := range cases {
		covered[c.op]++
	}
	for _, op := range sdkOperations(t) {
		if unimplemented[op] {
			continue
		}
		if covered[op] == 0 {
			t.Errorf("%s: no bad-input case", op)
		}
		// Malformed JSON is refused by every operation before it looks
		// at a member.
		cases = append(cases,
			badInputCase{op, "duplicate member", `{"KeyId":"` + sym + `","KeyId":"` + rsa + `"}`, SE, "Duplicate member"},
			badInputCase{op, "trailing data", `{"KeyId":"` + sym + `"} {}`, SE, ""},
			badInputCase{op, "JSON array", `[{"KeyId":"` + sym + `"}]`, SE, ""},
			badInputCase{op, "nested too deep", `{"X":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, SE, "nested deeper"},
			badInputCase{op, "invalid UTF-8", "{\"KeyId\":\"\xff\"}", SE, "UTF-8"},
		)
	}

	for _, c := range cases {
		what := c.op + ": " + c.name
		r := w.do(w.root(sdkWireReq{target: "TrentService." + c.op, body: c.body}))
		w.checkError(what, r, c.code)
		if msg, _ := r.obj["message"].(string); c.msg != "" && !strings.Contains(msg, c.msg) {
			t.Errorf("%s: message %q, want it to say %q", what, msg, c.msg)
		}
		if c.code == VE && strings.HasPrefix(c.msg, "Value ") {
			if msg, _ := r.obj["message"].(string); !badInputVEFormat.MatchString(msg) {
				t.Errorf("%s: message %q, want AWS's \"1 validation error detected: Value …\"", what, msg)
			}
		}
	}

	after, pairsAfter, err := env.Server.StoreDigest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the store changed: %d pairs %x before, %d pairs %x after %d bad requests", pairs, before, pairsAfter, after, len(cases))
	}
	t.Logf("%d bad requests over %d operations; the store's %d pairs unchanged", len(cases), len(covered), pairs)

	// The digest is not blind: one good request changes it.
	if _, err := c.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String(sym), Tags: []types.Tag{{TagKey: aws.String("k"), TagValue: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	if changed, _, err := env.Server.StoreDigest(ctx); err != nil || changed == after {
		t.Errorf("a TagResource left the digest as it was (%v)", err)
	}
}
