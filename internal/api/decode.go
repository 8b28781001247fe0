package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kagikms/kagi/internal/awserr"
)

// MaxJSONDepth bounds how deeply a request body's arrays and objects may
// nest. The deepest KMS request (a grant's constraints, a list of tags)
// nests three levels; the bound keeps a hostile body from costing more
// than its size.
const MaxJSONDepth = 32

// decode reads a JSON 1.1 request body into v, as strictly as AWS's
// JSON 1.1 services read one: an empty body is an empty object, but
// anything else that is not exactly one JSON object is
// SerializationException — malformed JSON, trailing data, a top-level
// array, scalar or null, invalid UTF-8, a member given twice, nesting
// deeper than MaxJSONDepth, a null in a list, a member of the wrong
// type, an integer outside a 32-bit Integer, and bad base64 in a blob
// member. Unknown members are ignored, as AWS ignores them, so that a
// client built for a newer API still works.
func decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if err := scan(body); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return unmarshalError(err)
	}
	if err := checkInts(reflect.ValueOf(v)); err != nil {
		return err
	}
	return nil
}

// scan checks what encoding/json lets through: that body is one object
// and nothing after it, valid UTF-8, without repeated members, nulls in
// lists, or nesting deeper than MaxJSONDepth. It reads tokens without
// recursion, so depth costs it nothing.
func scan(body []byte) error {
	if !utf8.Valid(body) {
		return awserr.New(awserr.Serialization, "Invalid UTF-8 in the request body.")
	}
	switch body[0] {
	case '{':
	case '[':
		return awserr.New(awserr.Serialization, "Start of list found where not expected")
	default:
		return awserr.New(awserr.Serialization, "Start of structure or map found where not expected.")
	}
	type frame struct {
		object bool
		name   bool            // in an object: the next token is a member name
		seen   map[string]bool // in an object: the member names so far
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for first := true; first || len(stack) > 0; first = false {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err)
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].name {
			top := &stack[n-1]
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				if n > 1 && stack[n-2].object {
					stack[n-2].name = true
				}
				continue
			}
			name, _ := tok.(string) // the decoder allows only a string here
			// encoding/json matches member names without regard to case,
			// so "KeyId" and "keyid" would be one member given twice.
			if folded := strings.ToLower(name); top.seen[folded] {
				return awserr.New(awserr.Serialization, "Duplicate member %s in a JSON object.", sanitize(name))
			} else {
				top.seen[folded] = true
			}
			top.name = false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= MaxJSONDepth {
				return awserr.New(awserr.Serialization, "JSON nested deeper than %d levels.", MaxJSONDepth)
			}
			stack = append(stack, frame{object: tok == json.Delim('{'), name: true, seen: map[string]bool{}})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		case nil:
			if n := len(stack); n > 0 && !stack[n-1].object {
				return awserr.New(awserr.Serialization, "A list must not contain null.")
			}
		}
		// A value ended: in an object, a member name comes next.
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].name = true
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return awserr.New(awserr.Serialization, "Unexpected data after the request's JSON object.")
	}
	return nil
}

// syntaxError is the exception for JSON that does not parse.
func syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return awserr.New(awserr.Serialization, "Malformed JSON at offset %d.", se.Offset)
	}
	return awserr.New(awserr.Serialization, "Malformed JSON: the body ends early.")
}

// unmarshalError words encoding/json's errors as AWS's JSON 1.1 services
// word theirs (Coral's "STRING_VALUE can not be converted to an Integer").
// No message echoes a value: it could be a plaintext.
func unmarshalError(err error) error {
	var te *json.UnmarshalTypeError
	var be base64.CorruptInputError
	switch {
	case errors.As(err, &te):
		var got string
		switch {
		case te.Value == "object":
			return awserr.New(awserr.Serialization, "Start of structure or map found where not expected.")
		case te.Value == "array":
			return awserr.New(awserr.Serialization, "Start of list found where not expected")
		case te.Value == "string":
			got = "STRING_VALUE"
		case te.Value == "bool":
			got = "BOOLEAN_VALUE"
		case strings.HasPrefix(te.Value, "number"):
			got = "NUMBER_VALUE"
		default:
			got = "A value"
		}
		msg := got + " can not be converted to " + shapeName(te.Type)
		if te.Field != "" {
			msg += " (member " + sanitizeField(te.Field) + ")"
		}
		return awserr.New(awserr.Serialization, "%s", msg)
	case errors.As(err, &be):
		return awserr.New(awserr.Serialization, "Value can not be converted to a Blob: it is not standard base64 (invalid data at input byte %d).", int64(be))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return syntaxError(err)
	}
	return awserr.New(awserr.Serialization, "Could not parse the request body: %s", sanitize(err.Error()))
}

// shapeName names a Go type by the model's shape type, with its article.
func shapeName(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "an Integer"
	case reflect.Float32, reflect.Float64:
		return "a Timestamp"
	case reflect.Bool:
		return "a Boolean"
	case reflect.String:
		return "a String"
	case reflect.Map:
		return "a Map"
	case reflect.Struct:
		return "a Structure"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a Blob"
		}
		return "a List"
	}
	return "a value"
}

// sanitizeField keeps a member path short and printable: it names the
// model's members, but encoding/json may also name a map key.
func sanitizeField(s string) string {
	if len(s) > 100 {
		s = s[:100]
	}
	return strconv.Quote(s)
}

// checkInts refuses integers a 32-bit Integer cannot hold, as AWS's
// parser does (its Integer is Java's int): Go's int would hold them and
// let them reach validation as if they were merely out of range.
func checkInts(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkInts(v.Elem())
	case reflect.Int, reflect.Int64:
		if n := v.Int(); n < math.MinInt32 || n > math.MaxInt32 {
			return awserr.New(awserr.Serialization, "NUMBER_VALUE %d is out of range of an Integer", n)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				if err := checkInts(v.Field(i)); err != nil {
					return err
				}
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := range v.Len() {
			if err := checkInts(v.Index(i)); err != nil {
				return err
			}
		}
	}
	return nil
}
