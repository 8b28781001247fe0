package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/kagikms/kagi/internal/awserr"
)

// contentType is the AWS JSON 1.1 protocol's media type.
const contentType = "application/x-amz-json-1.1"

// sanitize keeps a decoder message short and printable; decoder messages
// can quote input, so they are cut rather than echoed whole.
func sanitize(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strconv.Quote(s)
}

// encodeJSON encodes a successful response's body.
func encodeJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, awserr.Internal(fmt.Errorf("encode response: %w", err))
	}
	return b, nil
}

// writeBody writes a successful response.
func writeBody(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b) // a failed write is the client's connection failing
}

// writeError writes an exception in AWS's JSON error shape.
func writeError(w http.ResponseWriter, e *awserr.Error) {
	b, _ := json.Marshal(struct {
		Type    awserr.Code `json:"__type"`
		Message string      `json:"message"`
	}{e.Code, e.Message})
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Amzn-ErrorType", string(e.Code))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.HTTPStatus())
	w.Write(b)
}
