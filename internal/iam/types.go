package iam

import (
	"time"
)

// The input and output shapes of the IAM (2010-05-08) and STS (2011-06-15)
// APIs. Outputs carry XML tags: internal/api writes each inside
// <ActionResult>, as the query protocol does. Member names are AWS's; Go
// names follow Go's initialisms (UserID for UserId).

// Tag is a key and value, on a user, a role or an STS session.
type Tag struct {
	Key   string `xml:"Key" json:"k"`
	Value string `xml:"Value" json:"v"`
}

// Members is a list as the query protocol writes it: <member> elements.
// The list element is written even when empty, as AWS writes it.
type Members[T any] struct {
	Member []T `xml:"member"`
}

// User is IAM's User shape.
type User struct {
	Path       string        `xml:"Path,omitempty"`
	UserName   string        `xml:"UserName,omitempty"`
	UserID     string        `xml:"UserId"`
	Arn        string        `xml:"Arn"`
	CreateDate time.Time     `xml:"CreateDate"`
	Tags       *Members[Tag] `xml:"Tags,omitempty"`
}

// Role is IAM's Role shape.
type Role struct {
	Path       string    `xml:"Path"`
	RoleName   string    `xml:"RoleName"`
	RoleID     string    `xml:"RoleId"`
	Arn        string    `xml:"Arn"`
	CreateDate time.Time `xml:"CreateDate"`
	// AssumeRolePolicyDocument is URL-encoded (RFC 3986), as AWS returns it.
	AssumeRolePolicyDocument string        `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              string        `xml:"Description,omitempty"`
	MaxSessionDuration       int32         `xml:"MaxSessionDuration,omitempty"`
	Tags                     *Members[Tag] `xml:"Tags,omitempty"`
}

// AccessKey is IAM's AccessKey shape: the secret is in it once, at creation.
type AccessKey struct {
	UserName        string    `xml:"UserName,omitempty"`
	AccessKeyID     string    `xml:"AccessKeyId"`
	Status          string    `xml:"Status"`
	SecretAccessKey string    `xml:"SecretAccessKey"`
	CreateDate      time.Time `xml:"CreateDate"`
}

// AccessKeyMetadata is an access key without its secret.
type AccessKeyMetadata struct {
	UserName    string    `xml:"UserName,omitempty"`
	AccessKeyID string    `xml:"AccessKeyId"`
	Status      string    `xml:"Status"`
	CreateDate  time.Time `xml:"CreateDate"`
}

// Users.

// CreateUserInput is the request of CreateUser.
type CreateUserInput struct {
	UserName            string
	Path                string
	PermissionsBoundary string
	Tags                []Tag
}

// CreateUserOutput is the result of CreateUser.
type CreateUserOutput struct {
	User User `xml:"User"`
}

// GetUserInput is the request of GetUser.
type GetUserInput struct {
	UserName string // empty: the caller
}

// GetUserOutput is the result of GetUser.
type GetUserOutput struct {
	User User `xml:"User"`
}

// DeleteUserInput is the request of DeleteUser.
type DeleteUserInput struct {
	UserName string
}

// ListUsersInput is the request of ListUsers.
type ListUsersInput struct {
	PathPrefix string
	Marker     string
	MaxItems   *int32
}

// ListUsersOutput is the result of ListUsers.
type ListUsersOutput struct {
	Users       Members[User] `xml:"Users"`
	IsTruncated bool          `xml:"IsTruncated"`
	Marker      string        `xml:"Marker,omitempty"`
}

// Access keys.

// CreateAccessKeyInput is the request of CreateAccessKey.
type CreateAccessKeyInput struct {
	UserName string // empty: the caller
}

// CreateAccessKeyOutput is the result of CreateAccessKey.
type CreateAccessKeyOutput struct {
	AccessKey AccessKey `xml:"AccessKey"`
}

// DeleteAccessKeyInput is the request of DeleteAccessKey.
type DeleteAccessKeyInput struct {
	UserName    string // empty: the caller
	AccessKeyID string
}

// UpdateAccessKeyInput is the request of UpdateAccessKey.
type UpdateAccessKeyInput struct {
	UserName    string // empty: the caller
	AccessKeyID string
	Status      string
}

// ListAccessKeysInput is the request of ListAccessKeys.
type ListAccessKeysInput struct {
	UserName string // empty: the caller
	Marker   string
	MaxItems *int32
}

// ListAccessKeysOutput is the result of ListAccessKeys.
type ListAccessKeysOutput struct {
	AccessKeyMetadata Members[AccessKeyMetadata] `xml:"AccessKeyMetadata"`
	IsTruncated       bool                       `xml:"IsTruncated"`
	Marker            string                     `xml:"Marker,omitempty"`
}

// Inline policies.

// PutUserPolicyInput is the request of PutUserPolicy.
type PutUserPolicyInput struct {
	UserName       string
	PolicyName     string
	PolicyDocument string
}

// GetUserPolicyInput is the request of GetUserPolicy.
type GetUserPolicyInput struct {
	UserName   string
	PolicyName string
}

// GetUserPolicyOutput is the result of GetUserPolicy.
type GetUserPolicyOutput struct {
	UserName   string `xml:"UserName"`
	PolicyName string `xml:"PolicyName"`
	// PolicyDocument is URL-encoded (RFC 3986), as AWS returns it.
	PolicyDocument string `xml:"PolicyDocument"`
}

// DeleteUserPolicyInput is the request of DeleteUserPolicy.
type DeleteUserPolicyInput struct {
	UserName   string
	PolicyName string
}

// ListUserPoliciesInput is the request of ListUserPolicies.
type ListUserPoliciesInput struct {
	UserName string
	Marker   string
	MaxItems *int32
}

// ListPoliciesOutput is the result of ListUserPolicies and ListRolePolicies.
type ListPoliciesOutput struct {
	PolicyNames Members[string] `xml:"PolicyNames"`
	IsTruncated bool            `xml:"IsTruncated"`
	Marker      string          `xml:"Marker,omitempty"`
}

// PutRolePolicyInput is the request of PutRolePolicy.
type PutRolePolicyInput struct {
	RoleName       string
	PolicyName     string
	PolicyDocument string
}

// GetRolePolicyInput is the request of GetRolePolicy.
type GetRolePolicyInput struct {
	RoleName   string
	PolicyName string
}

// GetRolePolicyOutput is the result of GetRolePolicy.
type GetRolePolicyOutput struct {
	RoleName   string `xml:"RoleName"`
	PolicyName string `xml:"PolicyName"`
	// PolicyDocument is URL-encoded (RFC 3986), as AWS returns it.
	PolicyDocument string `xml:"PolicyDocument"`
}

// DeleteRolePolicyInput is the request of DeleteRolePolicy.
type DeleteRolePolicyInput struct {
	RoleName   string
	PolicyName string
}

// ListRolePoliciesInput is the request of ListRolePolicies.
type ListRolePoliciesInput struct {
	RoleName string
	Marker   string
	MaxItems *int32
}

// Roles.

// CreateRoleInput is the request of CreateRole.
type CreateRoleInput struct {
	RoleName                 string
	Path                     string
	AssumeRolePolicyDocument string
	Description              string
	MaxSessionDuration       *int32
	PermissionsBoundary      string
	Tags                     []Tag
}

// CreateRoleOutput is the result of CreateRole.
type CreateRoleOutput struct {
	Role Role `xml:"Role"`
}

// GetRoleInput is the request of GetRole.
type GetRoleInput struct {
	RoleName string
}

// GetRoleOutput is the result of GetRole.
type GetRoleOutput struct {
	Role Role `xml:"Role"`
}

// DeleteRoleInput is the request of DeleteRole.
type DeleteRoleInput struct {
	RoleName string
}

// ListRolesInput is the request of ListRoles.
type ListRolesInput struct {
	PathPrefix string
	Marker     string
	MaxItems   *int32
}

// ListRolesOutput is the result of ListRoles.
type ListRolesOutput struct {
	Roles       Members[Role] `xml:"Roles"`
	IsTruncated bool          `xml:"IsTruncated"`
	Marker      string        `xml:"Marker,omitempty"`
}

// UpdateAssumeRolePolicyInput is the request of UpdateAssumeRolePolicy.
type UpdateAssumeRolePolicyInput struct {
	RoleName       string
	PolicyDocument string
}

// STS.

// Credentials are temporary security credentials.
type Credentials struct {
	AccessKeyID     string    `xml:"AccessKeyId"`
	SecretAccessKey string    `xml:"SecretAccessKey"`
	SessionToken    string    `xml:"SessionToken"`
	Expiration      time.Time `xml:"Expiration"`
}

// GetCallerIdentityOutput is the result of GetCallerIdentity.
type GetCallerIdentityOutput struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
}

// AssumeRoleInput is the request of AssumeRole.
type AssumeRoleInput struct {
	RoleArn           string
	RoleSessionName   string
	DurationSeconds   *int32
	ExternalID        string
	Tags              []Tag
	TransitiveTagKeys []string
	// Refused when set: kagi does not evaluate them yet, and ignoring one
	// would grant more than the caller asked for.
	Policy         string
	PolicyArns     []string
	SerialNumber   string
	TokenCode      string
	SourceIdentity string
}

// AssumedRoleUser names a role session.
type AssumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

// AssumeRoleOutput is the result of AssumeRole.
type AssumeRoleOutput struct {
	Credentials      Credentials     `xml:"Credentials"`
	AssumedRoleUser  AssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize *int32          `xml:"PackedPolicySize,omitempty"`
}

// GetSessionTokenInput is the request of GetSessionToken.
type GetSessionTokenInput struct {
	DurationSeconds *int32
	SerialNumber    string
	TokenCode       string
}

// GetSessionTokenOutput is the result of GetSessionToken.
type GetSessionTokenOutput struct {
	Credentials Credentials `xml:"Credentials"`
}
