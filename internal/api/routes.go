package api

import (
	"context"

	"github.com/kagikms/kagi/internal/kms"
)

// operations is every operation of the AWS KMS API (TrentService,
// 2014-11-01), so that an operation kagi does not implement yet answers
// UnsupportedOperationException rather than UnknownOperationException.
var operations = []string{
	"CancelKeyDeletion", "ConnectCustomKeyStore", "CreateAlias", "CreateCustomKeyStore", "CreateGrant",
	"CreateKey", "Decapsulate", "Decrypt", "DeleteAlias", "DeleteCustomKeyStore", "DeleteImportedKeyMaterial",
	"DeriveSharedSecret", "DescribeCustomKeyStores", "DescribeKey", "DisableKey", "DisableKeyRotation",
	"DisconnectCustomKeyStore", "EnableKey", "EnableKeyRotation", "Encapsulate", "Encrypt", "GenerateDataKey",
	"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext",
	"GenerateMac", "GenerateRandom", "GetKeyLastUsage", "GetKeyPolicy", "GetKeyRotationStatus",
	"GetParametersForImport", "GetPublicKey", "ImportKeyMaterial", "ListAliases", "ListGrants",
	"ListKeyPolicies", "ListKeyRotations", "ListKeys", "ListResourceTags", "ListRetirableGrants",
	"PutKeyPolicy", "ReEncrypt", "ReplicateKey", "RetireGrant", "RevokeGrant", "RotateKeyOnDemand",
	"ScheduleKeyDeletion", "Sign", "TagResource", "UntagResource", "UpdateAlias", "UpdateCustomKeyStore",
	"UpdateKeyDescription", "UpdatePrimaryRegion", "Verify", "VerifyMac",
}

// routes maps each implemented operation to its handler: one line per
// operation.
func routes(s *kms.Service) map[string]handler {
	return map[string]handler{
		"CreateKey":                       op(s.CreateKey),
		"DescribeKey":                     op(s.DescribeKey),
		"ListKeys":                        op(s.ListKeys),
		"EnableKey":                       op(s.EnableKey),
		"DisableKey":                      op(s.DisableKey),
		"ScheduleKeyDeletion":             op(s.ScheduleKeyDeletion),
		"CancelKeyDeletion":               op(s.CancelKeyDeletion),
		"UpdateKeyDescription":            op(s.UpdateKeyDescription),
		"CreateAlias":                     op(s.CreateAlias),
		"UpdateAlias":                     op(s.UpdateAlias),
		"DeleteAlias":                     op(s.DeleteAlias),
		"ListAliases":                     op(s.ListAliases),
		"TagResource":                     op(s.TagResource),
		"UntagResource":                   op(s.UntagResource),
		"ListResourceTags":                op(s.ListResourceTags),
		"Encrypt":                         op(s.Encrypt),
		"Decrypt":                         op(s.Decrypt),
		"ReEncrypt":                       op(s.ReEncrypt),
		"GenerateDataKey":                 op(s.GenerateDataKey),
		"GenerateDataKeyWithoutPlaintext": op(s.GenerateDataKeyWithoutPlaintext),
		"GenerateRandom":                  op(s.GenerateRandom),
		"GetKeyPolicy":                    op(s.GetKeyPolicy),
		"PutKeyPolicy":                    op(s.PutKeyPolicy),
		"ListKeyPolicies":                 op(s.ListKeyPolicies),
		"CreateGrant":                     op(s.CreateGrant),
		"ListGrants":                      op(s.ListGrants),
		"ListRetirableGrants":             op(s.ListRetirableGrants),
		"RetireGrant":                     op(s.RetireGrant),
		"RevokeGrant":                     op(s.RevokeGrant),
		"GetPublicKey":                    op(s.GetPublicKey),
		"Sign":                            op(s.Sign),
		"Verify":                          op(s.Verify),
		"GenerateMac":                     op(s.GenerateMac),
		"VerifyMac":                       op(s.VerifyMac),
		"DeriveSharedSecret":              op(s.DeriveSharedSecret),
		"Encapsulate":                     op(s.Encapsulate),
		"Decapsulate":                     op(s.Decapsulate),

		"GenerateDataKeyPair":                 op(s.GenerateDataKeyPair),
		"GenerateDataKeyPairWithoutPlaintext": op(s.GenerateDataKeyPairWithoutPlaintext),

		"GetKeyRotationStatus": op(s.GetKeyRotationStatus),
		"ListKeyRotations":     op(s.ListKeyRotations),
		"EnableKeyRotation":    op(s.EnableKeyRotation),
		"DisableKeyRotation":   op(s.DisableKeyRotation),
		"RotateKeyOnDemand":    op(s.RotateKeyOnDemand),

		"GetParametersForImport":    op(s.GetParametersForImport),
		"ImportKeyMaterial":         op(s.ImportKeyMaterial),
		"DeleteImportedKeyMaterial": op(s.DeleteImportedKeyMaterial),

		"GetKeyLastUsage": op(s.GetKeyLastUsage),
	}
}

// handler runs one operation on a request body. It returns the decoded
// request (nil if it did not decode) for the audit record, and the result.
type handler func(ctx context.Context, c *kms.Caller, body []byte) (in, out any, err error)

// op adapts a typed service method to a handler: it decodes the body into
// the method's input type.
func op[I, O any](f func(context.Context, *kms.Caller, *I) (*O, error)) handler {
	return func(ctx context.Context, c *kms.Caller, body []byte) (any, any, error) {
		in := new(I)
		if err := decode(body, in); err != nil {
			return nil, nil, err
		}
		out, err := f(ctx, c, in)
		if err != nil {
			return in, nil, err
		}
		return in, out, nil
	}
}
