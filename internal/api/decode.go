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
// deeper than MaxJSONDepth, a null in a list or map, a member of the wrong
// type, an integer outside a 32-bit Integer, and bad base64 in a blob
// member. Unknown members are ignored, as AWS ignores them, so that a
// client built for a newer API still works; a member named in another
// case ("keyid") is unknown, as it is to AWS.
func decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	renames, err := scan(body, v)
	if err != nil {
		return err
	}
	body = hideNames(body, renames)
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
// lists or maps, or nesting deeper than MaxJSONDepth. It reads tokens
// without recursion, so depth costs it nothing, and follows the Go type
// of v alongside, to tell a list or map (where null is refused) from a
// structure (where null is an absent member). Member names are compared
// exactly, as AWS compares them; the spans it returns are those of names
// that only encoding/json's case-insensitive matching would read into a
// field, for decode to hide from it.
func scan(body []byte, v any) (renames []span, err error) {
	if !utf8.Valid(body) {
		return nil, awserr.New(awserr.Serialization, "Invalid UTF-8 in the request body.")
	}
	switch body[0] {
	case '{':
	case '[':
		return nil, awserr.New(awserr.Serialization, "Start of list found where not expected")
	default:
		return nil, awserr.New(awserr.Serialization, "Start of structure or map found where not expected.")
	}
	type frame struct {
		object bool
		name   bool            // in an object: the next token is a member name
		seen   map[string]bool // in an object: the member names so far
		typ    reflect.Type    // the Go type read into; nil: unknown (ignored)
		elem   reflect.Type    // the Go type of the value that comes next
	}
	var stack []frame
	next := reflect.TypeOf(v) // the type of the value that comes next
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for first := true; first || len(stack) > 0; first = false {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
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
			var elem reflect.Type
			switch {
			case top.typ == nil:
			case top.typ.Kind() == reflect.Map:
				elem = top.typ.Elem()
			case top.typ.Kind() == reflect.Struct:
				if f, ok := matchField(top.typ, name, func(a, b string) bool { return a == b }); ok {
					elem = f.Type
				} else if _, ok := matchField(top.typ, name, strings.EqualFold); ok {
					// AWS matches member names exactly and ignores
					// "keyid" as unknown; encoding/json would read it
					// into KeyId, so the name is hidden from it.
					renames = append(renames, nameSpan(body, before, dec.InputOffset()))
				}
			}
			if top.seen[name] {
				return nil, awserr.New(awserr.Serialization, "Duplicate member %s in a JSON object.", sanitize(name))
			}
			top.seen[name] = true
			top.name, top.elem = false, elem
			continue
		}
		if n := len(stack); n > 0 {
			next = stack[n-1].elem
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= MaxJSONDepth {
				return nil, awserr.New(awserr.Serialization, "JSON nested deeper than %d levels.", MaxJSONDepth)
			}
			typ := deref(next)
			f := frame{object: tok == json.Delim('{'), name: true, seen: map[string]bool{}, typ: typ}
			if !f.object && typ != nil && typ.Kind() == reflect.Slice {
				f.elem = typ.Elem()
			}
			stack = append(stack, f)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		case nil:
			if n := len(stack); n > 0 && !stack[n-1].object {
				return nil, awserr.New(awserr.Serialization, "A list must not contain null.")
			}
			if n := len(stack); n > 0 && stack[n-1].typ != nil && stack[n-1].typ.Kind() == reflect.Map {
				return nil, awserr.New(awserr.Serialization, "A map must not contain a null value.")
			}
		}
		// A value ended: in an object, a member name comes next.
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].name = true
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, awserr.New(awserr.Serialization, "Unexpected data after the request's JSON object.")
	}
	return renames, nil
}

// deref is t without its pointers; nil stays nil.
func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// span is a byte range of a request body.
type span struct{ start, end int64 }

// nameSpan is the member name token that ends at end, after the previous
// token ended at prev: what lies between them is white space, a comma and
// the name's opening quote.
func nameSpan(body []byte, prev, end int64) span {
	start := prev
	for start < end && body[start] != '"' {
		start++
	}
	return span{start, end}
}

// hideNames replaces each member name in spans by one that no field
// matches ("\u0000" and a number), so that encoding/json ignores the
// member as AWS does.
func hideNames(body []byte, spans []span) []byte {
	if len(spans) == 0 {
		return body
	}
	out := make([]byte, 0, len(body)+8*len(spans))
	var at int64
	for i, sp := range spans {
		out = append(out, body[at:sp.start]...)
		out = append(out, `"\u0000`...)
		out = strconv.AppendInt(out, int64(i), 10)
		out = append(out, '"')
		at = sp.end
	}
	return append(out, body[at:]...)
}

// matchField finds the field of struct type t that encoding/json would
// read the member name into under match (promoted fields included).
func matchField(t reflect.Type, name string, match func(a, b string) bool) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		n, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && n == "" {
			if et := deref(f.Type); et.Kind() == reflect.Struct {
				if ef, ok := matchField(et, name, match); ok {
					return ef, true
				}
			}
			continue
		}
		if !f.IsExported() || n == "-" {
			continue
		}
		if n == "" {
			n = f.Name
		}
		if match(n, name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
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
