package policy

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// jsonKind is the type of a decoded JSON value.
type jsonKind uint8

const (
	jNull jsonKind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

func (k jsonKind) String() string {
	switch k {
	case jNull:
		return "null"
	case jBool:
		return "a boolean"
	case jNumber:
		return "a number"
	case jString:
		return "a string"
	case jArray:
		return "an array"
	case jObject:
		return "an object"
	}
	return "?"
}

// jsonValue is a decoded JSON value that keeps the order of object members
// and the text of numbers, which encoding/json's generic decoding loses.
type jsonValue struct {
	kind    jsonKind
	str     string // string value, number text, or "true"/"false"
	elems   []jsonValue
	members []jsonMember
}

type jsonMember struct {
	name  string
	value jsonValue
}

// maxDepth bounds the nesting of a policy document. The deepest legitimate
// policy (Statement → statement → Condition → operator → key → values) is
// six levels; the margin is generous.
const maxDepth = 32

var errTooDeep = errors.New("nested too deeply")

// decodeJSON decodes exactly one JSON value from doc. Duplicate member names
// in an object are an error: encoding/json would silently keep the last one,
// and other parsers the first, so a document such as
// {"Effect": "Deny", "Effect": "Allow"} means different things to different
// readers. AWS does not document its behaviour; refusing is the safe answer.
func decodeJSON(doc string) (jsonValue, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return jsonValue{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jsonValue{}, errors.New("unexpected data after the top-level value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (jsonValue, error) {
	if depth > maxDepth {
		return jsonValue{}, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return jsonValue{}, errors.New("unexpected end of input")
		}
		return jsonValue{}, err
	}
	switch t := tok.(type) {
	case nil:
		return jsonValue{kind: jNull}, nil
	case bool:
		if t {
			return jsonValue{kind: jBool, str: "true"}, nil
		}
		return jsonValue{kind: jBool, str: "false"}, nil
	case json.Number:
		return jsonValue{kind: jNumber, str: string(t)}, nil
	case string:
		return jsonValue{kind: jString, str: t}, nil
	case json.Delim:
		switch t {
		case '[':
			v := jsonValue{kind: jArray, elems: []jsonValue{}}
			for dec.More() {
				e, err := decodeValue(dec, depth+1)
				if err != nil {
					return jsonValue{}, err
				}
				v.elems = append(v.elems, e)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return jsonValue{}, err
			}
			return v, nil
		case '{':
			v := jsonValue{kind: jObject}
			for dec.More() {
				nt, err := dec.Token()
				if err != nil {
					return jsonValue{}, err
				}
				name, ok := nt.(string)
				if !ok {
					return jsonValue{}, errors.New("object member name is not a string")
				}
				for _, m := range v.members {
					if m.name == name {
						return jsonValue{}, &dupError{name: name}
					}
				}
				e, err := decodeValue(dec, depth+1)
				if err != nil {
					return jsonValue{}, err
				}
				v.members = append(v.members, jsonMember{name: name, value: e})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return jsonValue{}, err
			}
			return v, nil
		}
	}
	return jsonValue{}, errors.New("unexpected token")
}

// dupError is a duplicate member name in a JSON object.
type dupError struct{ name string }

func (e *dupError) Error() string { return "duplicate key " + quote(e.name) }

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
