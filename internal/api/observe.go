package api

import (
	"time"

	"github.com/kagikms/kagi/internal/awserr"
)

// Observer is told of every request the Handler answers, once, when the
// response is decided and its audit record written; the metrics wiring in internal/server implements
// it. It must be safe for concurrent use and quick: it runs on the
// request's goroutine.
type Observer interface {
	ObserveRequest(RequestInfo)
}

// UnknownOperation is RequestInfo.Operation for a request that names no
// operation of its protocol, so that metrics labels stay a bounded set.
const UnknownOperation = "Unknown"

// RequestInfo describes one answered request.
type RequestInfo struct {
	// Service is "kms" for the KMS JSON protocol, "iam" or "sts" for the
	// query protocol.
	Service string
	// Operation is the operation's name (Encrypt, CreateUser), or
	// UnknownOperation.
	Operation string
	// ErrorCode is the AWS exception name the client was sent; "" on
	// success.
	ErrorCode string
	// Status is the HTTP status of the response.
	Status int
	// KeyState is the key's state when the request failed because of it
	// (DisabledException, KMSInvalidStateException); "" otherwise.
	KeyState string
	// Duration is the time from the request's arrival to its response.
	Duration time.Duration
}

// observe tells the observer, if any, of a KMS request. known says whether
// op is an operation of the protocol.
func (h *Handler) observe(op string, known bool, e *awserr.Error, start time.Time) {
	if h.observer == nil {
		return
	}
	ri := RequestInfo{Service: "kms", Operation: op, Status: 200}
	if !known {
		ri.Operation = UnknownOperation
	}
	if e != nil {
		ri.ErrorCode, ri.Status, ri.KeyState = string(e.Code), e.HTTPStatus(), e.KeyState
	}
	ri.Duration = time.Since(start)
	h.observer.ObserveRequest(ri)
}

// observeQuery tells the observer, if any, of an IAM or STS request.
func (h *Handler) observeQuery(api queryAPI, action string, e *awserr.Error, start time.Time) {
	if h.observer == nil {
		return
	}
	ri := RequestInfo{Service: api.service, Operation: action, Status: 200}
	if _, ok := api.ops[action]; !ok {
		ri.Operation = UnknownOperation
	}
	if e != nil {
		ri.ErrorCode, ri.Status = queryError(e)
		ri.KeyState = e.KeyState
	}
	ri.Duration = time.Since(start)
	h.observer.ObserveRequest(ri)
}
