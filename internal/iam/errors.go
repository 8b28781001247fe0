package iam

import (
	"github.com/kagikms/kagi/internal/awserr"
)

// The error codes of the IAM and STS query APIs, as they go on the wire.
// internal/api gives each its HTTP status.
const (
	CodeAccessDenied            awserr.Code = "AccessDenied"
	CodeDeleteConflict          awserr.Code = "DeleteConflict"
	CodeEntityAlreadyExists     awserr.Code = "EntityAlreadyExists"
	CodeInvalidInput            awserr.Code = "InvalidInput"
	CodeLimitExceeded           awserr.Code = "LimitExceeded"
	CodeMalformedPolicyDocument awserr.Code = "MalformedPolicyDocument"
	CodeNoSuchEntity            awserr.Code = "NoSuchEntity"
	CodeValidationError         awserr.Code = "ValidationError"
	CodePackedPolicyTooLarge    awserr.Code = "PackedPolicyTooLarge"
)

func noSuchUser(name string) error {
	return awserr.New(CodeNoSuchEntity, "The user with name %s cannot be found.", name)
}

func noSuchRole(name string) error {
	return awserr.New(CodeNoSuchEntity, "The role with name %s cannot be found.", name)
}

func noSuchAccessKey(id string) error {
	return awserr.New(CodeNoSuchEntity, "The Access Key with id %s cannot be found.", id)
}

func errValidation(format string, args ...any) error {
	return awserr.New(CodeValidationError, format, args...)
}

func errMalformedPolicy(msg string) error {
	return awserr.New(CodeMalformedPolicyDocument, "%s", msg)
}

// notAuthorized is AWS's AccessDenied for an identity-based refusal.
func notAuthorized(callerARN, action, resource string) error {
	return awserr.New(CodeAccessDenied, "User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		callerARN, action, resource, action)
}
