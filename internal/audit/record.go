package audit

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// EventVersion is the CloudTrail record format version kagi writes, the
// one AWS KMS's current events carry.
const EventVersion = "1.11"

// The constant parts of an API call's record.
const (
	EventTypeAPICall   = "AwsApiCall"
	CategoryManagement = "Management"
	ResourceTypeKey    = "AWS::KMS::Key"
)

// Record is one CloudTrail event record, with the members of AWS's
// CloudTrail record contents for an API call, in the order AWS writes
// them. RequestParameters and ResponseElements are JSON (null when there
// are none); build them with Elements, which leaves secrets out.
type Record struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       UserIdentity    `json:"userIdentity"`
	EventTime          string          `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	ErrorMessage       string          `json:"errorMessage,omitempty"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	ReadOnly           bool            `json:"readOnly"`
	Resources          []Resource      `json:"resources,omitempty"`
	EventType          string          `json:"eventType"`
	ManagementEvent    bool            `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId,omitempty"`
	EventCategory      string          `json:"eventCategory"`
	TLSDetails         *TLSDetails     `json:"tlsDetails,omitempty"`
}

// UserIdentity is the record's userIdentity: who made the request.
// Type is Root, IAMUser, AssumedRole or AWSService, or Unknown when the
// request was not authenticated (then at most AccessKeyID is known).
type UserIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
	// InvokedBy names the AWS service that made the request, for a
	// service's own calls and for calls it makes on a caller's behalf.
	InvokedBy string `json:"invokedBy,omitempty"`
}

// SessionContext describes temporary credentials: the role they are a
// session of (none for GetSessionToken's sessions) and when they were
// issued.
type SessionContext struct {
	SessionIssuer *SessionIssuer    `json:"sessionIssuer,omitempty"`
	Attributes    SessionAttributes `json:"attributes"`
}

// SessionIssuer is the role behind an assumed-role session.
type SessionIssuer struct {
	Type        string `json:"type"` // "Role"
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// SessionAttributes are a session's creation date (ISO 8601, UTC) and
// whether it was made with MFA ("true"/"false", strings as AWS writes them).
type SessionAttributes struct {
	CreationDate     string `json:"creationDate,omitempty"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// Resource is a resource the request acted on.
type Resource struct {
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

// TLSDetails describes the connection of a request made over TLS.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// EventTime formats t as a record's eventTime: UTC, second precision.
func EventTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Marshal returns the record as one line of JSON, ready for Log.Append.
func (r *Record) Marshal() ([]byte, error) {
	if r.RequestParameters == nil {
		r.RequestParameters = json.RawMessage("null")
	}
	if r.ResponseElements == nil {
		r.ResponseElements = json.RawMessage("null")
	}
	return json.Marshal(r) // compact: never a newline
}

// secretMembers are members that carry a secret as text rather than as a
// blob: credentials an IAM or STS response returns, grant tokens, an MFA
// code, a custom key store's credentials. Elements leaves them out wherever they appear.
var secretMembers = map[string]bool{
	"SecretAccessKey": true,
	"SessionToken":    true,
	"GrantToken":      true,
	"GrantTokens":     true,
	"TokenCode":       true,
	// Custom key stores' credentials, should kagi serve them.
	"KeyStorePassword":                 true,
	"XksProxyAuthenticationCredential": true,
}

// Elements turns a request or response shape into a record's
// requestParameters or responseElements: member names in lower camel case
// as CloudTrail writes them (KeyId → keyId, AWSAccountId → aWSAccountId),
// map keys (an encryption context's, tags') as they are, unset members
// left out. Every blob ([]byte: plaintexts, ciphertexts, data keys,
// private and public keys, signatures, messages, MACs, shared secrets,
// wrapped key material, import tokens) and every member in secretMembers
// is left out, so no secret can reach a record: AWS leaves the
// ciphertext and plaintext out of its records too. Times are written as
// ISO 8601 in UTC. A nil v, or one with nothing left, is null.
func Elements(v any) json.RawMessage {
	out := walk(reflect.ValueOf(v))
	if out == nil {
		return json.RawMessage("null")
	}
	b, err := json.Marshal(out)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

var timeType = reflect.TypeFor[time.Time]()

// isBlob tells whether a member is a blob: a byte slice or array, or a
// pointer to one.
func isBlob(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t.Elem().Kind() == reflect.Uint8
}

// walk returns v as plain JSON values, or nil when it is unset or secret.
// A scalar behind a pointer was set explicitly, so its false or 0 is kept.
func walk(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	set := false
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		set = set || v.Kind() == reflect.Pointer
		v = v.Elem()
	}
	t := v.Type()
	if t.ConvertibleTo(timeType) && t.Kind() == reflect.Struct {
		tm := v.Convert(timeType).Interface().(time.Time)
		if tm.IsZero() {
			return nil
		}
		return tm.UTC().Format("2006-01-02T15:04:05Z")
	}
	switch t.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := memberName(f)
			if name == "" || secretMembers[name] || isBlob(f.Type) {
				continue
			}
			if x := walk(v.Field(i)); x != nil {
				m[lowerCamel(name)] = x
			}
		}
		if len(m) == 0 {
			return nil
		}
		return m
	case reflect.Map:
		if v.Len() == 0 || t.Key().Kind() != reflect.String {
			return nil
		}
		m := map[string]any{}
		for it := v.MapRange(); it.Next(); {
			if x := walk(it.Value()); x != nil {
				m[it.Key().String()] = x
			}
		}
		return m
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 || v.Len() == 0 {
			return nil // a blob
		}
		s := make([]any, 0, v.Len())
		for i := range v.Len() {
			if x := walk(v.Index(i)); x != nil {
				s = append(s, x)
			}
		}
		if len(s) == 0 {
			return nil
		}
		return s
	case reflect.String:
		if v.Len() == 0 {
			return nil
		}
		return v.String()
	case reflect.Bool:
		if !v.Bool() && !set {
			return nil
		}
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() == 0 && !set {
			return nil
		}
		return v.Int()
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() == 0 && !set {
			return nil
		}
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		if v.Float() == 0 && !set {
			return nil
		}
		return v.Float()
	}
	return nil
}

// memberName is a field's wire name: its json tag, else its xml tag, else
// its Go name with a trailing "ID" written "Id" (the query protocol's
// AccessKeyID is AccessKeyId). "" for a field left out of the wire.
func memberName(f reflect.StructField) string {
	for _, key := range []string{"json", "xml"} {
		if tag, ok := f.Tag.Lookup(key); ok {
			name, _, _ := strings.Cut(tag, ",")
			if name == "-" {
				return ""
			}
			if name != "" {
				return name
			}
		}
	}
	if n, ok := strings.CutSuffix(f.Name, "ID"); ok {
		return n + "Id"
	}
	return f.Name
}

// lowerCamel lowers a member name's first letter, as CloudTrail does.
func lowerCamel(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
