package kms

import (
	"encoding/json"
	"strconv"
	"time"
)

// The input and output shapes mirror the AWS KMS model (API version
// 2014-11-01): member names are the model's PascalCase names, blobs are
// []byte (base64 on the wire), timestamps are epoch seconds.

// Timestamp is a time sent as JSON epoch seconds with millisecond precision,
// as AWS sends it (e.g. 1607472987.918).
type Timestamp time.Time

// MarshalJSON writes epoch seconds.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds (integer or fractional).
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*t = Timestamp(time.UnixMilli(int64(f * 1000)).UTC())
	return nil
}

func ts(t time.Time) *Timestamp {
	v := Timestamp(t)
	return &v
}

// Tag is a key tag. Both members are required on the wire; an empty
// TagValue is allowed, a missing or null one is not.
type Tag struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`

	keyNull, valueNull bool // set by UnmarshalJSON: the member was absent or null
}

// UnmarshalJSON tells an absent or null member from an empty string, which
// AWS's validation does.
func (t *Tag) UnmarshalJSON(b []byte) error {
	var w struct {
		TagKey   *string `json:"TagKey"`
		TagValue *string `json:"TagValue"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = Tag{keyNull: w.TagKey == nil, valueNull: w.TagValue == nil}
	if w.TagKey != nil {
		t.TagKey = *w.TagKey
	}
	if w.TagValue != nil {
		t.TagValue = *w.TagValue
	}
	return nil
}

// KeyMetadata describes a KMS key, as DescribeKey returns it.
type KeyMetadata struct {
	AWSAccountId                string     `json:"AWSAccountId"`
	Arn                         string     `json:"Arn"`
	CreationDate                *Timestamp `json:"CreationDate,omitempty"`
	CurrentKeyMaterialId        string     `json:"CurrentKeyMaterialId,omitempty"`
	CustomerMasterKeySpec       string     `json:"CustomerMasterKeySpec,omitempty"`
	DeletionDate                *Timestamp `json:"DeletionDate,omitempty"`
	Description                 string     `json:"Description"`
	Enabled                     bool       `json:"Enabled"`
	EncapsulationAlgorithms     []string   `json:"EncapsulationAlgorithms,omitempty"`
	EncryptionAlgorithms        []string   `json:"EncryptionAlgorithms,omitempty"`
	ExpirationModel             string     `json:"ExpirationModel,omitempty"`
	KeyAgreementAlgorithms      []string   `json:"KeyAgreementAlgorithms,omitempty"`
	KeyId                       string     `json:"KeyId"`
	KeyManager                  string     `json:"KeyManager"`
	KeySpec                     string     `json:"KeySpec"`
	KeyState                    string     `json:"KeyState"`
	KeyUsage                    string     `json:"KeyUsage"`
	MacAlgorithms               []string   `json:"MacAlgorithms,omitempty"`
	MultiRegion                 bool       `json:"MultiRegion"`
	Origin                      string     `json:"Origin"`
	PendingDeletionWindowInDays *int       `json:"PendingDeletionWindowInDays,omitempty"`
	SigningAlgorithms           []string   `json:"SigningAlgorithms,omitempty"`
	ValidTo                     *Timestamp `json:"ValidTo,omitempty"`
}

// CreateKeyInput is the CreateKey request.
type CreateKeyInput struct {
	Policy                         *string `json:"Policy"`
	Description                    *string `json:"Description"`
	KeyUsage                       string  `json:"KeyUsage"`
	CustomerMasterKeySpec          string  `json:"CustomerMasterKeySpec"`
	KeySpec                        string  `json:"KeySpec"`
	Origin                         string  `json:"Origin"`
	CustomKeyStoreId               *string `json:"CustomKeyStoreId"`
	BypassPolicyLockoutSafetyCheck bool    `json:"BypassPolicyLockoutSafetyCheck"`
	Tags                           []Tag   `json:"Tags"`
	MultiRegion                    bool    `json:"MultiRegion"`
	XksKeyId                       *string `json:"XksKeyId"`
}

// CreateKeyOutput is the CreateKey response.
type CreateKeyOutput struct {
	KeyMetadata *KeyMetadata `json:"KeyMetadata"`
}

// DescribeKeyInput is the DescribeKey request.
type DescribeKeyInput struct {
	KeyId       string   `json:"KeyId"`
	GrantTokens []string `json:"GrantTokens"`
}

// DescribeKeyOutput is the DescribeKey response.
type DescribeKeyOutput struct {
	KeyMetadata *KeyMetadata `json:"KeyMetadata"`
}

// KeyIDInput is the request of the operations that take only a KeyId
// (EnableKey, DisableKey, CancelKeyDeletion).
type KeyIDInput struct {
	KeyId string `json:"KeyId"`
}

// Empty is the response of operations with no output members.
type Empty struct{}

// ListInput carries the pagination members shared by the List operations.
type ListInput struct {
	Limit  *int    `json:"Limit"`
	Marker *string `json:"Marker"`
}

// ListKeysInput is the ListKeys request.
type ListKeysInput struct {
	ListInput
}

// KeyListEntry is one key in ListKeys.
type KeyListEntry struct {
	KeyArn string `json:"KeyArn"`
	KeyId  string `json:"KeyId"`
}

// ListKeysOutput is the ListKeys response.
type ListKeysOutput struct {
	Keys       []KeyListEntry `json:"Keys"`
	NextMarker string         `json:"NextMarker,omitempty"`
	Truncated  bool           `json:"Truncated"`
}

// ScheduleKeyDeletionInput is the ScheduleKeyDeletion request.
type ScheduleKeyDeletionInput struct {
	KeyId               string `json:"KeyId"`
	PendingWindowInDays *int   `json:"PendingWindowInDays"`
}

// ScheduleKeyDeletionOutput is the ScheduleKeyDeletion response.
type ScheduleKeyDeletionOutput struct {
	DeletionDate        *Timestamp `json:"DeletionDate,omitempty"`
	KeyId               string     `json:"KeyId"`
	KeyState            string     `json:"KeyState"`
	PendingWindowInDays int        `json:"PendingWindowInDays"`
}

// CancelKeyDeletionOutput is the CancelKeyDeletion response.
type CancelKeyDeletionOutput struct {
	KeyId string `json:"KeyId"`
}

// UpdateKeyDescriptionInput is the UpdateKeyDescription request.
type UpdateKeyDescriptionInput struct {
	KeyId       string  `json:"KeyId"`
	Description *string `json:"Description"`
}

// AliasInput is the CreateAlias and UpdateAlias request.
type AliasInput struct {
	AliasName   string `json:"AliasName"`
	TargetKeyId string `json:"TargetKeyId"`
}

// DeleteAliasInput is the DeleteAlias request.
type DeleteAliasInput struct {
	AliasName string `json:"AliasName"`
}

// ListAliasesInput is the ListAliases request.
type ListAliasesInput struct {
	ListInput
	KeyId *string `json:"KeyId"`
}

// AliasListEntry is one alias in ListAliases.
type AliasListEntry struct {
	AliasArn        string     `json:"AliasArn"`
	AliasName       string     `json:"AliasName"`
	CreationDate    *Timestamp `json:"CreationDate,omitempty"`
	LastUpdatedDate *Timestamp `json:"LastUpdatedDate,omitempty"`
	TargetKeyId     string     `json:"TargetKeyId,omitempty"`
}

// ListAliasesOutput is the ListAliases response.
type ListAliasesOutput struct {
	Aliases    []AliasListEntry `json:"Aliases"`
	NextMarker string           `json:"NextMarker,omitempty"`
	Truncated  bool             `json:"Truncated"`
}

// TagResourceInput is the TagResource request.
type TagResourceInput struct {
	KeyId string `json:"KeyId"`
	Tags  []Tag  `json:"Tags"`
}

// UntagResourceInput is the UntagResource request.
type UntagResourceInput struct {
	KeyId   string   `json:"KeyId"`
	TagKeys []string `json:"TagKeys"`
}

// ListResourceTagsInput is the ListResourceTags request.
type ListResourceTagsInput struct {
	ListInput
	KeyId string `json:"KeyId"`
}

// ListResourceTagsOutput is the ListResourceTags response.
type ListResourceTagsOutput struct {
	Tags       []Tag  `json:"Tags"`
	NextMarker string `json:"NextMarker,omitempty"`
	Truncated  bool   `json:"Truncated"`
}

// EncryptInput is the Encrypt request.
type EncryptInput struct {
	KeyId               string            `json:"KeyId"`
	Plaintext           []byte            `json:"Plaintext"`
	EncryptionContext   map[string]string `json:"EncryptionContext"`
	GrantTokens         []string          `json:"GrantTokens"`
	EncryptionAlgorithm string            `json:"EncryptionAlgorithm"`
	DryRun              bool              `json:"DryRun"`
}

// EncryptOutput is the Encrypt response.
type EncryptOutput struct {
	CiphertextBlob      []byte `json:"CiphertextBlob"`
	EncryptionAlgorithm string `json:"EncryptionAlgorithm"`
	KeyId               string `json:"KeyId"`
}

// DecryptInput is the Decrypt request.
type DecryptInput struct {
	CiphertextBlob      []byte            `json:"CiphertextBlob"`
	EncryptionContext   map[string]string `json:"EncryptionContext"`
	GrantTokens         []string          `json:"GrantTokens"`
	KeyId               *string           `json:"KeyId"`
	EncryptionAlgorithm string            `json:"EncryptionAlgorithm"`
	Recipient           json.RawMessage   `json:"Recipient"`
	DryRun              bool              `json:"DryRun"`
	DryRunModifiers     []string          `json:"DryRunModifiers"`
}

// DecryptOutput is the Decrypt response.
type DecryptOutput struct {
	EncryptionAlgorithm string `json:"EncryptionAlgorithm"`
	KeyId               string `json:"KeyId"`
	KeyMaterialId       string `json:"KeyMaterialId,omitempty"`
	Plaintext           []byte `json:"Plaintext"`
}

// ReEncryptInput is the ReEncrypt request.
type ReEncryptInput struct {
	CiphertextBlob                 []byte            `json:"CiphertextBlob"`
	SourceEncryptionContext        map[string]string `json:"SourceEncryptionContext"`
	SourceKeyId                    *string           `json:"SourceKeyId"`
	DestinationKeyId               string            `json:"DestinationKeyId"`
	DestinationEncryptionContext   map[string]string `json:"DestinationEncryptionContext"`
	SourceEncryptionAlgorithm      string            `json:"SourceEncryptionAlgorithm"`
	DestinationEncryptionAlgorithm string            `json:"DestinationEncryptionAlgorithm"`
	GrantTokens                    []string          `json:"GrantTokens"`
	DryRun                         bool              `json:"DryRun"`
	DryRunModifiers                []string          `json:"DryRunModifiers"`
}

// ReEncryptOutput is the ReEncrypt response.
type ReEncryptOutput struct {
	CiphertextBlob                 []byte `json:"CiphertextBlob"`
	DestinationEncryptionAlgorithm string `json:"DestinationEncryptionAlgorithm"`
	DestinationKeyMaterialId       string `json:"DestinationKeyMaterialId,omitempty"`
	KeyId                          string `json:"KeyId"`
	SourceEncryptionAlgorithm      string `json:"SourceEncryptionAlgorithm"`
	SourceKeyId                    string `json:"SourceKeyId"`
	SourceKeyMaterialId            string `json:"SourceKeyMaterialId,omitempty"`
}

// GenerateDataKeyInput is the GenerateDataKey and
// GenerateDataKeyWithoutPlaintext request.
type GenerateDataKeyInput struct {
	KeyId             string            `json:"KeyId"`
	EncryptionContext map[string]string `json:"EncryptionContext"`
	NumberOfBytes     *int              `json:"NumberOfBytes"`
	KeySpec           string            `json:"KeySpec"`
	GrantTokens       []string          `json:"GrantTokens"`
	Recipient         json.RawMessage   `json:"Recipient"`
	DryRun            bool              `json:"DryRun"`
}

// GenerateDataKeyOutput is the GenerateDataKey response; Plaintext is
// omitted by GenerateDataKeyWithoutPlaintext.
type GenerateDataKeyOutput struct {
	CiphertextBlob []byte `json:"CiphertextBlob"`
	KeyId          string `json:"KeyId"`
	KeyMaterialId  string `json:"KeyMaterialId,omitempty"`
	Plaintext      []byte `json:"Plaintext,omitempty"`
}

// GenerateDataKeyPairInput is the GenerateDataKeyPair and
// GenerateDataKeyPairWithoutPlaintext request.
type GenerateDataKeyPairInput struct {
	KeyId             string            `json:"KeyId"`
	KeyPairSpec       string            `json:"KeyPairSpec"`
	EncryptionContext map[string]string `json:"EncryptionContext"`
	GrantTokens       []string          `json:"GrantTokens"`
	Recipient         json.RawMessage   `json:"Recipient"`
	DryRun            bool              `json:"DryRun"`
}

// GenerateDataKeyPairOutput is the GenerateDataKeyPair response;
// PrivateKeyPlaintext is omitted by GenerateDataKeyPairWithoutPlaintext.
type GenerateDataKeyPairOutput struct {
	KeyId                    string `json:"KeyId"`
	KeyMaterialId            string `json:"KeyMaterialId,omitempty"`
	KeyPairSpec              string `json:"KeyPairSpec"`
	PrivateKeyCiphertextBlob []byte `json:"PrivateKeyCiphertextBlob"`
	PrivateKeyPlaintext      []byte `json:"PrivateKeyPlaintext,omitempty"`
	PublicKey                []byte `json:"PublicKey"`
}

// GenerateRandomInput is the GenerateRandom request.
type GenerateRandomInput struct {
	NumberOfBytes    *int            `json:"NumberOfBytes"`
	CustomKeyStoreId *string         `json:"CustomKeyStoreId"`
	Recipient        json.RawMessage `json:"Recipient"`
}

// GenerateRandomOutput is the GenerateRandom response.
type GenerateRandomOutput struct {
	Plaintext []byte `json:"Plaintext"`
}

// GetKeyPolicyInput is the GetKeyPolicy request.
type GetKeyPolicyInput struct {
	KeyId      string  `json:"KeyId"`
	PolicyName *string `json:"PolicyName"`
}

// GetKeyPolicyOutput is the GetKeyPolicy response.
type GetKeyPolicyOutput struct {
	Policy     string `json:"Policy"`
	PolicyName string `json:"PolicyName"`
}

// PutKeyPolicyInput is the PutKeyPolicy request.
type PutKeyPolicyInput struct {
	KeyId                          string  `json:"KeyId"`
	Policy                         string  `json:"Policy"`
	PolicyName                     *string `json:"PolicyName"`
	BypassPolicyLockoutSafetyCheck bool    `json:"BypassPolicyLockoutSafetyCheck"`
}

// ListKeyPoliciesInput is the ListKeyPolicies request.
type ListKeyPoliciesInput struct {
	ListInput
	KeyId string `json:"KeyId"`
}

// ListKeyPoliciesOutput is the ListKeyPolicies response.
type ListKeyPoliciesOutput struct {
	PolicyNames []string `json:"PolicyNames"`
	NextMarker  string   `json:"NextMarker,omitempty"`
	Truncated   bool     `json:"Truncated"`
}

// GrantConstraints are a grant's constraints: the encryption context
// constraints and SourceArn (the aws:SourceArn a request must have).
type GrantConstraints struct {
	EncryptionContextEquals map[string]string `json:"EncryptionContextEquals,omitempty"`
	EncryptionContextSubset map[string]string `json:"EncryptionContextSubset,omitempty"`
	SourceArn               *string           `json:"SourceArn,omitempty"`
}

// CreateGrantInput is the CreateGrant request.
type CreateGrantInput struct {
	KeyId                    string            `json:"KeyId"`
	GranteePrincipal         *string           `json:"GranteePrincipal"`
	RetiringPrincipal        *string           `json:"RetiringPrincipal"`
	Operations               []string          `json:"Operations"`
	Constraints              *GrantConstraints `json:"Constraints"`
	GrantTokens              []string          `json:"GrantTokens"`
	Name                     *string           `json:"Name"`
	DryRun                   bool              `json:"DryRun"`
	GranteeServicePrincipal  *string           `json:"GranteeServicePrincipal"`
	RetiringServicePrincipal *string           `json:"RetiringServicePrincipal"`
}

// CreateGrantOutput is the CreateGrant response.
type CreateGrantOutput struct {
	GrantId    string `json:"GrantId"`
	GrantToken string `json:"GrantToken"`
}

// ListGrantsInput is the ListGrants request.
type ListGrantsInput struct {
	ListInput
	KeyId                   string  `json:"KeyId"`
	GrantId                 *string `json:"GrantId"`
	GranteePrincipal        *string `json:"GranteePrincipal"`
	GranteeServicePrincipal *string `json:"GranteeServicePrincipal"`
}

// GrantListEntry is one grant in ListGrants and ListRetirableGrants.
type GrantListEntry struct {
	KeyId             string            `json:"KeyId"`
	GrantId           string            `json:"GrantId"`
	Name              string            `json:"Name"` // "" for an unnamed grant, as AWS sends it
	CreationDate      *Timestamp        `json:"CreationDate,omitempty"`
	GranteePrincipal  string            `json:"GranteePrincipal,omitempty"`
	RetiringPrincipal string            `json:"RetiringPrincipal,omitempty"`
	IssuingAccount    string            `json:"IssuingAccount"`
	Operations        []string          `json:"Operations"`
	Constraints       *GrantConstraints `json:"Constraints,omitempty"`
	// A grant names a GranteePrincipal or a GranteeServicePrincipal.
	GranteeServicePrincipal  string `json:"GranteeServicePrincipal,omitempty"`
	RetiringServicePrincipal string `json:"RetiringServicePrincipal,omitempty"`
}

// ListGrantsOutput is the ListGrants and ListRetirableGrants response.
type ListGrantsOutput struct {
	Grants     []GrantListEntry `json:"Grants"`
	NextMarker string           `json:"NextMarker,omitempty"`
	Truncated  bool             `json:"Truncated"`
}

// ListRetirableGrantsInput is the ListRetirableGrants request.
type ListRetirableGrantsInput struct {
	ListInput
	RetiringPrincipal        *string `json:"RetiringPrincipal"`
	RetiringServicePrincipal *string `json:"RetiringServicePrincipal"`
}

// RetireGrantInput is the RetireGrant request: a grant token, or a key and
// a grant id.
type RetireGrantInput struct {
	GrantToken *string `json:"GrantToken"`
	KeyId      *string `json:"KeyId"`
	GrantId    *string `json:"GrantId"`
	DryRun     bool    `json:"DryRun"`
}

// RevokeGrantInput is the RevokeGrant request.
type RevokeGrantInput struct {
	KeyId   string `json:"KeyId"`
	GrantId string `json:"GrantId"`
	DryRun  bool   `json:"DryRun"`
}

// GetPublicKeyInput is the GetPublicKey request.
type GetPublicKeyInput struct {
	KeyId       string   `json:"KeyId"`
	GrantTokens []string `json:"GrantTokens"`
}

// GetPublicKeyOutput is the GetPublicKey response.
type GetPublicKeyOutput struct {
	CustomerMasterKeySpec   string   `json:"CustomerMasterKeySpec,omitempty"`
	EncapsulationAlgorithms []string `json:"EncapsulationAlgorithms,omitempty"`
	EncryptionAlgorithms    []string `json:"EncryptionAlgorithms,omitempty"`
	KeyAgreementAlgorithms  []string `json:"KeyAgreementAlgorithms,omitempty"`
	KeyId                   string   `json:"KeyId"`
	KeySpec                 string   `json:"KeySpec"`
	KeyUsage                string   `json:"KeyUsage"`
	PublicKey               []byte   `json:"PublicKey"`
	SigningAlgorithms       []string `json:"SigningAlgorithms,omitempty"`
}

// SignInput is the Sign request.
type SignInput struct {
	KeyId            string   `json:"KeyId"`
	Message          []byte   `json:"Message"`
	MessageType      string   `json:"MessageType"`
	GrantTokens      []string `json:"GrantTokens"`
	SigningAlgorithm string   `json:"SigningAlgorithm"`
	DryRun           bool     `json:"DryRun"`
}

// SignOutput is the Sign response.
type SignOutput struct {
	KeyId            string `json:"KeyId"`
	Signature        []byte `json:"Signature"`
	SigningAlgorithm string `json:"SigningAlgorithm"`
}

// VerifyInput is the Verify request.
type VerifyInput struct {
	KeyId            string   `json:"KeyId"`
	Message          []byte   `json:"Message"`
	MessageType      string   `json:"MessageType"`
	Signature        []byte   `json:"Signature"`
	SigningAlgorithm string   `json:"SigningAlgorithm"`
	GrantTokens      []string `json:"GrantTokens"`
	DryRun           bool     `json:"DryRun"`
}

// VerifyOutput is the Verify response. SignatureValid is always true: a
// signature that does not verify is a KMSInvalidSignatureException.
type VerifyOutput struct {
	KeyId            string `json:"KeyId"`
	SignatureValid   bool   `json:"SignatureValid"`
	SigningAlgorithm string `json:"SigningAlgorithm"`
}

// GenerateMacInput is the GenerateMac request.
type GenerateMacInput struct {
	Message      []byte   `json:"Message"`
	KeyId        string   `json:"KeyId"`
	MacAlgorithm string   `json:"MacAlgorithm"`
	GrantTokens  []string `json:"GrantTokens"`
	DryRun       bool     `json:"DryRun"`
}

// GenerateMacOutput is the GenerateMac response.
type GenerateMacOutput struct {
	Mac          []byte `json:"Mac"`
	MacAlgorithm string `json:"MacAlgorithm"`
	KeyId        string `json:"KeyId"`
}

// VerifyMacInput is the VerifyMac request.
type VerifyMacInput struct {
	Message      []byte   `json:"Message"`
	KeyId        string   `json:"KeyId"`
	MacAlgorithm string   `json:"MacAlgorithm"`
	Mac          []byte   `json:"Mac"`
	GrantTokens  []string `json:"GrantTokens"`
	DryRun       bool     `json:"DryRun"`
}

// VerifyMacOutput is the VerifyMac response. MacValid is always true: a
// MAC that does not verify is a KMSInvalidMacException.
type VerifyMacOutput struct {
	KeyId        string `json:"KeyId"`
	MacValid     bool   `json:"MacValid"`
	MacAlgorithm string `json:"MacAlgorithm"`
}

// DeriveSharedSecretInput is the DeriveSharedSecret request.
type DeriveSharedSecretInput struct {
	KeyId                 string          `json:"KeyId"`
	KeyAgreementAlgorithm string          `json:"KeyAgreementAlgorithm"`
	PublicKey             []byte          `json:"PublicKey"`
	GrantTokens           []string        `json:"GrantTokens"`
	DryRun                bool            `json:"DryRun"`
	Recipient             json.RawMessage `json:"Recipient"`
}

// DeriveSharedSecretOutput is the DeriveSharedSecret response.
// CiphertextForRecipient is never set: kagi refuses a Recipient.
type DeriveSharedSecretOutput struct {
	KeyId                 string `json:"KeyId"`
	SharedSecret          []byte `json:"SharedSecret"`
	KeyAgreementAlgorithm string `json:"KeyAgreementAlgorithm"`
	KeyOrigin             string `json:"KeyOrigin"`
}

// EncapsulateInput is the Encapsulate request.
type EncapsulateInput struct {
	KeyId                  string   `json:"KeyId"`
	EncapsulationAlgorithm string   `json:"EncapsulationAlgorithm"`
	GrantTokens            []string `json:"GrantTokens"`
	DryRun                 bool     `json:"DryRun"`
}

// EncapsulateOutput is the Encapsulate response.
type EncapsulateOutput struct {
	KeyId                      string `json:"KeyId"`
	SharedSecret               []byte `json:"SharedSecret"`
	SharedSecretCiphertextBlob []byte `json:"SharedSecretCiphertextBlob"`
	EncapsulationAlgorithm     string `json:"EncapsulationAlgorithm"`
}

// DecapsulateInput is the Decapsulate request.
type DecapsulateInput struct {
	KeyId                      string   `json:"KeyId"`
	SharedSecretCiphertextBlob []byte   `json:"SharedSecretCiphertextBlob"`
	EncapsulationAlgorithm     string   `json:"EncapsulationAlgorithm"`
	GrantTokens                []string `json:"GrantTokens"`
	DryRun                     bool     `json:"DryRun"`
}

// DecapsulateOutput is the Decapsulate response.
type DecapsulateOutput struct {
	KeyId                  string `json:"KeyId"`
	SharedSecret           []byte `json:"SharedSecret"`
	EncapsulationAlgorithm string `json:"EncapsulationAlgorithm"`
}

// GetParametersForImportInput is the GetParametersForImport request.
type GetParametersForImportInput struct {
	KeyId             string `json:"KeyId"`
	WrappingAlgorithm string `json:"WrappingAlgorithm"`
	WrappingKeySpec   string `json:"WrappingKeySpec"`
}

// GetParametersForImportOutput is the GetParametersForImport response.
type GetParametersForImportOutput struct {
	ImportToken       []byte     `json:"ImportToken"`
	KeyId             string     `json:"KeyId"`
	ParametersValidTo *Timestamp `json:"ParametersValidTo"`
	PublicKey         []byte     `json:"PublicKey"`
}

// ImportKeyMaterialInput is the ImportKeyMaterial request.
type ImportKeyMaterialInput struct {
	KeyId                  string     `json:"KeyId"`
	ImportToken            []byte     `json:"ImportToken"`
	EncryptedKeyMaterial   []byte     `json:"EncryptedKeyMaterial"`
	ValidTo                *Timestamp `json:"ValidTo"`
	ExpirationModel        string     `json:"ExpirationModel"`
	ImportType             string     `json:"ImportType"`
	KeyMaterialDescription *string    `json:"KeyMaterialDescription"`
	KeyMaterialId          *string    `json:"KeyMaterialId"`
}

// ImportKeyMaterialOutput is the ImportKeyMaterial response.
type ImportKeyMaterialOutput struct {
	KeyId         string `json:"KeyId"`
	KeyMaterialId string `json:"KeyMaterialId,omitempty"`
}

// DeleteImportedKeyMaterialInput is the DeleteImportedKeyMaterial request.
type DeleteImportedKeyMaterialInput struct {
	KeyId         string  `json:"KeyId"`
	KeyMaterialId *string `json:"KeyMaterialId"`
}

// DeleteImportedKeyMaterialOutput is the DeleteImportedKeyMaterial response.
type DeleteImportedKeyMaterialOutput struct {
	KeyId         string `json:"KeyId"`
	KeyMaterialId string `json:"KeyMaterialId,omitempty"`
}
