// Package awserr defines the AWS exceptions kagi returns and their wire names.
//
// It is a leaf package: every other package may import it. An *Error carries
// what the client sees (the exception name and a message); the cause that
// goes to the log is kept apart and never sent.
package awserr

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is an AWS exception's wire name, as sent in the JSON __type member.
type Code string

// The exception names kagi uses. Client faults answer HTTP 400, as AWS KMS
// does; server faults answer 500 or 503 so that SDKs retry them.
const (
	AccessDenied               Code = "AccessDeniedException"
	AlreadyExists              Code = "AlreadyExistsException"
	Disabled                   Code = "DisabledException"
	DryRunOperation            Code = "DryRunOperationException"
	IncompleteSignature        Code = "IncompleteSignatureException"
	IncorrectKey               Code = "IncorrectKeyException"
	InternalFailure            Code = "InternalFailure"
	InvalidAliasName           Code = "InvalidAliasNameException"
	InvalidArn                 Code = "InvalidArnException"
	InvalidCiphertext          Code = "InvalidCiphertextException"
	InvalidGrantToken          Code = "InvalidGrantTokenException"
	InvalidKeyUsage            Code = "InvalidKeyUsageException"
	InvalidMarker              Code = "InvalidMarkerException"
	InvalidSignature           Code = "InvalidSignatureException"
	KMSInternal                Code = "KMSInternalException"
	KMSInvalidState            Code = "KMSInvalidStateException"
	KeyUnavailable             Code = "KeyUnavailableException"
	LimitExceeded              Code = "LimitExceededException"
	MissingAuthenticationToken Code = "MissingAuthenticationTokenException"
	NotFound                   Code = "NotFoundException"
	Serialization              Code = "SerializationException"
	TagException               Code = "TagException"
	Throttling                 Code = "ThrottlingException"
	UnknownOperation           Code = "UnknownOperationException"
	UnrecognizedClient         Code = "UnrecognizedClientException"
	UnsupportedOperation       Code = "UnsupportedOperationException"
	Validation                 Code = "ValidationException"
	DependencyTimeout          Code = "DependencyTimeoutException"
	MalformedPolicyDocument    Code = "MalformedPolicyDocumentException"
	ExpiredToken               Code = "ExpiredTokenException"
	RequestEntityTooLarge      Code = "RequestEntityTooLargeException"
	MethodNotAllowed           Code = "MethodNotAllowedException"
	InvalidImportToken         Code = "InvalidImportTokenException"
	ExpiredImportToken         Code = "ExpiredImportTokenException"
	IncorrectKeyMaterial       Code = "IncorrectKeyMaterialException"
	KMSInvalidMac              Code = "KMSInvalidMacException"
	KMSInvalidSignature        Code = "KMSInvalidSignatureException"
	CustomKeyStoreNotFound     Code = "CustomKeyStoreNotFoundException"
	CustomKeyStoreInvalidState Code = "CustomKeyStoreInvalidStateException"
	InvalidGrantID             Code = "InvalidGrantIdException"
	ConflictException          Code = "ConflictException"
	ServiceUnavailable         Code = "ServiceUnavailable"
)

// Error is an exception as the client sees it.
type Error struct {
	Code    Code
	Message string
	// Cause is for the log only; it is never sent to the client.
	Cause error
	// KeyState is the key's state when the exception is because of it
	// (DisabledException, KMSInvalidStateException): "Disabled",
	// "PendingDeletion", "PendingImport". Metrics count such uses of an
	// unusable key; it is never sent to the client.
	KeyState string
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// HTTPStatus is the status code the exception is sent with.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case KMSInternal, KeyUnavailable, InternalFailure:
		return http.StatusInternalServerError
	case DependencyTimeout, ServiceUnavailable:
		return http.StatusServiceUnavailable
	case RequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge
	case DryRunOperation:
		// The model gives 412; it is not a failure of the request.
		return http.StatusPreconditionFailed
	}
	return http.StatusBadRequest
}

// New returns an exception with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure: the client sees a generic
// KMSInternalException and the cause goes to the log.
func Internal(cause error) *Error {
	return &Error{Code: KMSInternal, Message: "An internal error occurred.", Cause: cause}
}

// As returns err as an *Error, turning anything else into an internal error.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// Is reports whether err is an exception with the given code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
