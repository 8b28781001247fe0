package audit

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

type stamp time.Time

func (s stamp) MarshalJSON() ([]byte, error) { return []byte("1"), nil }

type tag struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
	hidden   bool
}

type shape struct {
	KeyId                string            `json:"KeyId"`
	Plaintext            []byte            `json:"Plaintext"`
	EncryptionContext    map[string]string `json:"EncryptionContext,omitempty"`
	NumberOfBytes        *int32            `json:"NumberOfBytes,omitempty"`
	Bypass               *bool             `json:"BypassPolicyLockoutSafetyCheck,omitempty"`
	Enabled              bool              `json:"Enabled"`
	Tags                 []tag             `json:"Tags,omitempty"`
	GrantTokens          []string          `json:"GrantTokens,omitempty"`
	Created              *stamp            `json:"CreationDate,omitempty"`
	AWSAccountId         string            `json:"AWSAccountId"`
	Fixed                *[32]byte         `json:"Fixed"`
	Skipped              string            `json:"-"`
	Nested               *shape            `json:"Nested,omitempty"`
	PrivateKeyPlaintext  []byte            `json:"PrivateKeyPlaintext,omitempty"`
	SecretAccessKey      string            `xml:"SecretAccessKey"`
	SessionToken         string            `xml:"SessionToken"`
	AccessKeyID          string            // the query protocol's AccessKeyId
	Policy               string            `json:"Policy,omitempty"`
	SharedSecretCipher   []uint8           `json:"SharedSecretCiphertextBlob"`
	KeyStorePassword     string            `json:"KeyStorePassword,omitempty"`
	unexportedSecretLike []byte
}

func TestElements(t *testing.T) {
	zero, no := int32(0), false
	at := stamp(time.Date(2026, 11, 23, 10, 0, 0, 5e8, time.FixedZone("x", 3600)))
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, `null`},
		{"typed nil", (*shape)(nil), `null`},
		{"nothing set", &shape{}, `null`},
		{"only secrets", &shape{Plaintext: []byte("pt"), SecretAccessKey: "s", SessionToken: "t", GrantTokens: []string{"g"}, KeyStorePassword: "p"}, `null`},
		{"members", &shape{KeyId: "alias/x", Plaintext: []byte("secret"), EncryptionContext: map[string]string{"Department": "Engineering", "": "empty key"},
			AWSAccountId: "111122223333", AccessKeyID: "AKIA", Policy: `{"a":1}`},
			`{"aWSAccountId":"111122223333","accessKeyId":"AKIA","encryptionContext":{"":"empty key","Department":"Engineering"},"keyId":"alias/x","policy":"{\"a\":1}"}`},
		{"set zero values are kept", &shape{NumberOfBytes: &zero, Bypass: &no}, `{"bypassPolicyLockoutSafetyCheck":false,"numberOfBytes":0}`},
		{"bool", &shape{Enabled: true}, `{"enabled":true}`},
		{"nested and lists", &shape{Tags: []tag{{TagKey: "k", TagValue: "v", hidden: true}, {}}, Nested: &shape{KeyId: "k2", PrivateKeyPlaintext: []byte("x")}},
			`{"nested":{"keyId":"k2"},"tags":[{"tagKey":"k","tagValue":"v"}]}`},
		{"time", &shape{Created: &at}, `{"creationDate":"2026-11-23T09:00:00Z"}`},
		{"blobs of every form", &shape{Fixed: &[32]byte{1}, SharedSecretCipher: []byte{1}, unexportedSecretLike: []byte{1}}, `null`},
		{"skipped", &shape{Skipped: "x"}, `null`},
	} {
		got := Elements(tc.in)
		if string(got) != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestRecordMarshal(t *testing.T) {
	r := Record{EventVersion: EventVersion, UserIdentity: UserIdentity{Type: "Unknown"}, EventTime: EventTime(time.Date(2026, 11, 23, 11, 0, 0, 999e6, time.FixedZone("x", -3600))),
		EventSource: "kms.amazonaws.com", EventName: "Encrypt", ErrorCode: "AccessDenied", ErrorMessage: "line\nbreak", EventType: EventTypeAPICall,
		ManagementEvent: true, EventCategory: CategoryManagement}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(string(b), '\n') {
		t.Fatalf("a record spans lines: %s", b)
	}
	want := `{"eventVersion":"1.11","userIdentity":{"type":"Unknown"},"eventTime":"2026-11-23T12:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Encrypt",` +
		`"awsRegion":"","sourceIPAddress":"","userAgent":"","errorCode":"AccessDenied","errorMessage":"line\nbreak","requestParameters":null,"responseElements":null,` +
		`"requestID":"","eventID":"","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"eventCategory":"Management"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil || back.ErrorMessage != "line\nbreak" {
		t.Errorf("round trip: %v %+v", err, back)
	}
}

// BenchmarkAppendRecord appends an Encrypt's record, one at a time: the
// latency of a durable Append, which a request with the audit trail on
// waits for.
func BenchmarkAppendRecord(b *testing.B) {
	l, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := Record{EventVersion: EventVersion, UserIdentity: UserIdentity{Type: "Root", PrincipalID: "111122223333", ARN: "arn:aws:iam::111122223333:root",
		AccountID: "111122223333", AccessKeyID: "AKIAKAGITESTROOT0001"}, EventTime: EventTime(time.Now()), EventSource: "kms.amazonaws.com",
		EventName: "Encrypt", AWSRegion: "us-east-1", SourceIPAddress: "127.0.0.1", UserAgent: "aws-sdk-go-v2/1.47.7",
		RequestParameters: json.RawMessage(`{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"purpose":"bench"},"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}`),
		RequestID:         "f3423043-63bc-11e4-bc2b-4198b6150d5c", EventID: "91235988-eb87-476a-ac2c-0cdc244e6dca", ReadOnly: true,
		Resources: []Resource{{AccountID: "111122223333", Type: ResourceTypeKey, ARN: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
		EventType: EventTypeAPICall, ManagementEvent: true, RecipientAccountID: "111122223333", EventCategory: CategoryManagement}
	rec, err := r.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if err := l.Append(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
}
