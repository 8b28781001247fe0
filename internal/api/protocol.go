package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/kagikms/kagi/internal/awserr"
)

// contentType is the AWS JSON 1.1 protocol's media type.
const contentType = "application/x-amz-json-1.1"

// decode reads a JSON 1.1 request body into v. An empty body is an empty
// object. Malformed JSON, a member of the wrong type and bad base64 in a
// blob member are SerializationException, as AWS answers them.
func decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || string(body) == "null" {
		return nil
	}
	if body[0] != '{' {
		return awserr.New(awserr.Serialization, "Start of structure or map found where not expected.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			return awserr.New(awserr.Serialization, "Unexpected value type for member %s: expected %s", typeErr.Field, typeErr.Type)
		case errors.As(err, &syntaxErr):
			return awserr.New(awserr.Serialization, "Malformed JSON at offset %d", syntaxErr.Offset)
		}
		return awserr.New(awserr.Serialization, "Could not parse the request body: %s", sanitize(err.Error()))
	}
	return nil
}

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
