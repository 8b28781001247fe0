package api

import (
	"strings"
	"testing"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/kms"
)

// TestDecodeStrict: what AWS's JSON 1.1 services refuse with
// SerializationException (smithy's malformed-request protocol tests,
// smithy-aws-protocol-tests/model/restJson1/malformedRequests), kagi's
// decoder refuses too; what they accept (an empty body, unknown members,
// null for an absent member), it accepts.
func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"a":`, MaxJSONDepth) + `1` + strings.Repeat(`}`, MaxJSONDepth)
	deeper := `{"EncryptionContext":` + strings.Repeat(`[`, MaxJSONDepth) + strings.Repeat(`]`, MaxJSONDepth) + `}`
	cases := []struct {
		name, body string
		in         func() any
		wantErr    string // a substring of the message; "" accepts
	}{
		{"empty body", ``, gdk, ""},
		{"whitespace", " \n\t", gdk, ""},
		{"empty object", `{}`, gdk, ""},
		{"unknown member", `{"KeyId":"k","NoSuchMember":{"a":[1,2,{}]}}`, gdk, ""},
		{"null member", `{"KeyId":null,"NumberOfBytes":null}`, gdk, ""},
		{"nested up to the bound", deep, gdk, ""},
		{"largest Integer", `{"NumberOfBytes":2147483647}`, gdk, ""},
		{"smallest Integer", `{"NumberOfBytes":-2147483648}`, gdk, ""},

		{"not JSON", `{[`, gdk, "Malformed JSON"},
		{"trailing data", `{"NumberOfBytes":10}abc`, gdk, "after the request's JSON object"},
		{"a second object", `{"KeyId":"a"} {"KeyId":"b"}`, gdk, "after the request's JSON object"},
		{"leading data", `abc{"NumberOfBytes":10}`, gdk, "Start of structure"},
		{"line comment", "{\"NumberOfBytes\": 10 // ten\n}", gdk, "Malformed JSON"},
		{"block comment", `{"NumberOfBytes": 10 /* ten */}`, gdk, "Malformed JSON"},
		{"form feed", "{\"NumberOfBytes\" :\f10}", gdk, "Malformed JSON"},
		{"single quotes", `{'NumberOfBytes': 10}`, gdk, "Malformed JSON"},
		{"trailing comma", `{"NumberOfBytes": 10,}`, gdk, "Malformed JSON"},
		{"truncated", `{"KeyId":`, gdk, "Malformed JSON"},
		{"top-level array", `[{"NumberOfBytes": 10}]`, gdk, "Start of list"},
		{"top-level number", `10`, gdk, "Start of structure"},
		{"top-level null", `null`, gdk, "Start of structure"},
		{"top-level string", `"x"`, gdk, "Start of structure"},
		{"invalid UTF-8 in a string", "{\"KeyId\":\"\xff\xfe\"}", gdk, "UTF-8"},
		{"invalid UTF-8 in a name", "{\"\xc3\":1}", gdk, "UTF-8"},
		{"duplicate member", `{"KeyId":"a","KeyId":"b"}`, gdk, "Duplicate member"},
		{"duplicate member in a nested object", `{"EncryptionContext":{"a":"1","a":"2"}}`, gdk, "Duplicate member"},
		{"map keys differing in case", `{"EncryptionContext":{"a":"1","A":"2"}}`, gdk, ""},
		{"unknown members differing in case", `{"X":1,"x":2}`, gdk, ""},
		{"duplicate member of an embedded structure", `{"Limit":1,"Limit":2}`, la, "Duplicate member"},
		{"embedded structure's member", `{"Limit":1,"Marker":"m","KeyId":"k"}`, la, ""},
		{"null in a Map", `{"EncryptionContext":{"a":null}}`, gdk, "must not contain a null value"},
		{"null in a nested Map", `{"Constraints":{"EncryptionContextSubset":{"a":null}}}`, cg, "must not contain a null value"},
		{"null member of a nested structure", `{"Constraints":{"EncryptionContextSubset":null}}`, cg, ""},
		{"duplicate in a list of structures", `{"Tags":[{"TagKey":"a","TagValue":"b","TagKey":"c"}]}`, ck, "Duplicate member"},
		{"duplicate unknown member", `{"X":1,"X":2}`, gdk, "Duplicate member"},
		{"nested too deep", `{"a":` + deep + `}`, gdk, "nested deeper"},
		{"arrays nested too deep", deeper, gdk, "nested deeper"},
		{"string for an Integer", `{"NumberOfBytes":"123"}`, gdk, "STRING_VALUE can not be converted to an Integer"},
		{"bool for an Integer", `{"NumberOfBytes":true}`, gdk, "BOOLEAN_VALUE can not be converted to an Integer"},
		{"fraction for an Integer", `{"NumberOfBytes":1.001}`, gdk, "NUMBER_VALUE can not be converted to an Integer"},
		{"hex", `{"NumberOfBytes":0x42}`, gdk, "Malformed JSON"},
		{"Infinity", `{"NumberOfBytes":Infinity}`, gdk, "Malformed JSON"},
		{"NaN string", `{"NumberOfBytes":"NaN"}`, gdk, "STRING_VALUE"},
		{"Integer overflow", `{"NumberOfBytes":2147483648}`, gdk, "out of range of an Integer"},
		{"Integer underflow", `{"NumberOfBytes":-2147483649}`, gdk, "out of range of an Integer"},
		{"beyond a long", `{"NumberOfBytes":123000000000000000000000}`, gdk, "NUMBER_VALUE can not be converted to an Integer"},
		{"number for a String", `{"KeyId":5}`, gdk, "NUMBER_VALUE can not be converted to a String"},
		{"object for a String", `{"KeyId":{}}`, gdk, "Start of structure or map"},
		{"array for a String", `{"KeyId":[]}`, gdk, "Start of list"},
		{"string for a List", `{"GrantTokens":"t"}`, gdk, "STRING_VALUE can not be converted to a List"},
		{"null in a List", `{"GrantTokens":["a",null]}`, gdk, "must not contain null"},
		{"number in a Map", `{"EncryptionContext":{"a":1}}`, gdk, "NUMBER_VALUE can not be converted to a String"},
		{"bad base64", `{"CiphertextBlob":"!!!"}`, dec, "not standard base64"},
		{"base64 without padding", `{"CiphertextBlob":"YmxvYg"}`, dec, "not standard base64"},
		{"URL-safe base64", `{"CiphertextBlob":"-_=="}`, dec, "not standard base64"},
		{"number for a Blob", `{"CiphertextBlob":5}`, dec, "NUMBER_VALUE can not be converted to a Blob"},
		{"string for a Boolean", `{"BypassPolicyLockoutSafetyCheck":"true"}`, ck, "STRING_VALUE can not be converted to a Boolean"},
	}
	for _, c := range cases {
		err := decode([]byte(c.body), c.in())
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want accepted", c.name, err)
		case c.wantErr != "" && (!awserr.Is(err, awserr.Serialization) || !strings.Contains(awserr.As(err).Message, c.wantErr)):
			t.Errorf("%s: %v, want SerializationException saying %q", c.name, err, c.wantErr)
		}
	}
	// No message echoes a value: a blob or string may be a plaintext.
	err := decode([]byte(`{"Plaintext":"c2VjcmV0!!","KeyId":"secret-value"}`), &kms.EncryptInput{})
	if err == nil || strings.Contains(awserr.As(err).Message, "secret") || strings.Contains(awserr.As(err).Message, "c2Vj") {
		t.Errorf("bad base64: %v", err)
	}
}

func gdk() any { return &kms.GenerateDataKeyInput{} }
func dec() any { return &kms.DecryptInput{} }
func ck() any  { return &kms.CreateKeyInput{} }
func la() any  { return &kms.ListAliasesInput{} }
func cg() any  { return &kms.CreateGrantInput{} }

// TestDecodeNested: members after a nested object or list are still
// members (the scan tracks where a name is due).
func TestDecodeNested(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"EncryptionContext":{"x":"1","y":"2"},"KeyId":null,"GrantTokens":null}`,
		`{"EncryptionContext":{},"KeyId":"k","GrantTokens":["a"],"NumberOfBytes":3}`,
		`{"GrantTokens":[],"EncryptionContext":{"a":"b"},"KeyId":"k"}`,
		`{"X":[{"a":{}},[],{"b":[1]}],"KeyId":"k"}`,
	} {
		in := &kms.GenerateDataKeyInput{}
		if err := decode([]byte(body), in); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
	err := decode([]byte(`{"EncryptionContext":{"x":"1"},"KeyId":"a","KeyId":"b"}`), &kms.GenerateDataKeyInput{})
	if !awserr.Is(err, awserr.Serialization) {
		t.Errorf("duplicate after a nested object: %v", err)
	}
}

// TestDecodeMemberCase: AWS matches member names exactly, so "keyid" is
// an unknown member it ignores; encoding/json alone would read it into
// KeyId. kagi ignores it too, at any depth.
func TestDecodeMemberCase(t *testing.T) {
	t.Parallel()
	in := &kms.GenerateDataKeyInput{}
	if err := decode([]byte(`{"KeyId":"a", "keyid":"b","NUMBEROFBYTES":5,"GrantTokens":["t"],"granttokens":["u","v"]}`), in); err != nil {
		t.Fatal(err)
	}
	if in.KeyId != "a" || in.NumberOfBytes != nil || len(in.GrantTokens) != 1 {
		t.Errorf("decoded %+v: a member named in another case was read", in)
	}
	in2 := &kms.DescribeKeyInput{}
	if err := decode([]byte(`{"keyId":"x"}`), in2); err != nil || in2.KeyId != "" {
		t.Errorf("keyId: %v, KeyId %q, want it ignored", err, in2.KeyId)
	}
	la := &kms.ListAliasesInput{}
	if err := decode([]byte("{\"limit\":2,\n\t\"Limit\" : 3 , \"marker\":\"m\"}"), la); err != nil || la.Limit == nil || *la.Limit != 3 || la.Marker != nil {
		t.Errorf("promoted members: %v, %+v", err, la)
	}
	ck := &kms.CreateKeyInput{}
	if err := decode([]byte(`{"Tags":[{"tagkey":"x","TagKey":"a","TagValue":"b","tagvalue":"c"}],"description":"d"}`), ck); err != nil ||
		len(ck.Tags) != 1 || ck.Tags[0].TagKey != "a" || ck.Tags[0].TagValue != "b" || ck.Description != nil {
		t.Errorf("tags: %v, %+v", err, ck)
	}
	// A name with escapes is still one token.
	d := &kms.DescribeKeyInput{}
	if err := decode([]byte(`{"K\u0065yid":"x","KeyId":"y"}`), d); err != nil || d.KeyId != "y" {
		t.Errorf("escaped name: %v, KeyId %q", err, d.KeyId)
	}
}
