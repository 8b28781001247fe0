package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/awserr"
)

const (
	testAKID     = "AKIAIOSFODNN7EXAMPLE"
	testSecret   = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testHost     = "kms.us-east-1.amazonaws.com"
	testRegion   = "us-east-1"
	listKeysBody = "{}"
)

var (
	testTime     = time.Date(2024, 9, 9, 12, 0, 0, 0, time.UTC)
	testIdentity = Identity{
		AccountID:   "111122223333",
		ARN:         "arn:aws:iam::111122223333:root",
		PrincipalID: "111122223333",
		Type:        "Root",
	}
)

// memStore is a CredentialStore over a map.
type memStore struct {
	mu      sync.Mutex
	keys    map[string]memKey
	err     error // when set, every lookup fails with it
	lookups atomic.Int64
	tokens  []string // the session token of every lookup
}

type memKey struct {
	id     Identity
	secret string
}

func newStore() *memStore {
	return &memStore{keys: map[string]memKey{testAKID: {testIdentity, testSecret}}}
}

func (s *memStore) LookupAccessKey(_ context.Context, accessKeyID, sessionToken string) (Identity, string, error) {
	s.lookups.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = append(s.tokens, sessionToken)
	if s.err != nil {
		return Identity{}, "", s.err
	}
	k, ok := s.keys[accessKeyID]
	if !ok {
		return Identity{}, "", fmt.Errorf("access key %s: %w", accessKeyID, ErrUnknownAccessKey)
	}
	return k.id, k.secret, nil
}

func (s *memStore) setSecret(accessKeyID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[accessKeyID]
	k.secret = secret
	s.keys[accessKeyID] = k
}

func newVerifier(store CredentialStore, now time.Time) *Verifier {
	return &Verifier{Credentials: store, Service: "kms", Now: func() time.Time { return now }}
}

// call describes a KMS ListKeys call, signed by aws-sdk-go-v2's signer.
type call struct {
	url         string // default https://kms.us-east-1.amazonaws.com/
	region      string // default us-east-1
	service     string // default kms
	body        string // default {}
	akid        string // default testAKID
	secret      string // default testSecret
	token       string
	header      http.Header // added before signing
	signTime    time.Time   // default testTime
	payloadHash string      // default hex(sha256(body))
}

func (c call) sign(t testing.TB) (*http.Request, []byte) {
	t.Helper()
	if c.url == "" {
		c.url = "https://" + testHost + "/"
	}
	if c.region == "" {
		c.region = testRegion
	}
	if c.service == "" {
		c.service = "kms"
	}
	if c.body == "" {
		c.body = listKeysBody
	}
	if c.akid == "" {
		c.akid = testAKID
	}
	if c.secret == "" {
		c.secret = testSecret
	}
	if c.signTime.IsZero() {
		c.signTime = testTime
	}
	body := []byte(c.body)
	if c.payloadHash == "" {
		sum := sha256.Sum256(body)
		c.payloadHash = hex.EncodeToString(sum[:])
	}
	r, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "TrentService.ListKeys")
	for k, vs := range c.header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	creds := aws.Credentials{AccessKeyID: c.akid, SecretAccessKey: c.secret, SessionToken: c.token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, c.payloadHash, c.service, c.region, c.signTime); err != nil {
		t.Fatal(err)
	}
	return r, body
}

// signingKeyHex is the derived key for the test secret, which no error may
// contain.
func signingKeyHex(date, region string) string {
	k := newSigningKey(testSecret, date, region, "kms")
	return hex.EncodeToString(k.key[:])
}

// wantError checks that Verify refused with exactly an *awserr.Error of
// code whose message contains msg and no secret.
func wantError(t *testing.T, p *Principal, err error, code awserr.Code, msg string) {
	t.Helper()
	if p != nil {
		t.Errorf("got principal %+v with the error", p)
	}
	ae, ok := err.(*awserr.Error)
	if !ok {
		t.Fatalf("error = %#v (%T), want *awserr.Error %s", err, err, code)
	}
	if ae.Code != code {
		t.Errorf("code = %s, want %s (message %q)", ae.Code, code, ae.Message)
	}
	if !strings.Contains(ae.Message, msg) {
		t.Errorf("message = %q, want it to contain %q", ae.Message, msg)
	}
	for _, secret := range []string{testSecret, signingKeyHex("20240909", testRegion)} {
		if strings.Contains(ae.Error(), secret) || strings.Contains(fmt.Sprintf("%+v", ae), secret) {
			t.Errorf("error %q reveals a secret", ae.Error())
		}
	}
}

func TestVerifyAcceptsSDKSignedRequests(t *testing.T) {
	t.Parallel()
	bigBody := `{"Plaintext":"` + strings.Repeat("QUJD", 1024) + `","KeyId":"alias/big"}`
	tests := []struct {
		name      string
		call      call
		now       time.Time // default testTime
		wantToken string
		mutate    func(r *http.Request)
	}{
		{name: "us-east-1"},
		{name: "eu-west-3", call: call{region: "eu-west-3", url: "https://kms.eu-west-3.amazonaws.com/"}},
		{name: "ap-southeast-2", call: call{region: "ap-southeast-2"}},
		{name: "cn-north-1", call: call{region: "cn-north-1"}},
		{name: "custom region", call: call{region: "local"}},
		{name: "body of a few KB", call: call{body: bigBody}},
		{name: "one-byte body", call: call{body: " "}},
		{
			name: "headers with odd whitespace",
			call: call{header: http.Header{
				"X-Custom":   {"  spaced    out\tand\t\ttabbed   value  "},
				"X-Multi":    {"first", "  second    value  ", ""},
				"X-Amz-Meta": {"a,  b ,c"},
			}},
		},
		{name: "session token", call: call{token: "FQoGZXIvYXdzEXAMPLE//token+with/base64=="}, wantToken: "FQoGZXIvYXdzEXAMPLE//token+with/base64=="},
		{name: "query string", call: call{url: "https://" + testHost + "/?z=1&a=b%20c&a=a&empty=&%E2%9C%93=%2F"}},
		{name: "escaped path", call: call{url: "https://" + testHost + "/a%20b/c~d/%E2%9C%93/x%2Fy"}},
		{name: "host with port", call: call{url: "https://kms.localhost:8443/"}},
		{name: "default port dropped", call: call{url: "https://" + testHost + ":443/"}},
		{name: "x-amz-content-sha256 present", call: call{header: http.Header{"X-Amz-Content-Sha256": {sha256Hex(listKeysBody)}}}},
		{name: "x-amz-content-sha256 upper-case", call: call{header: http.Header{"X-Amz-Content-Sha256": {strings.ToUpper(sha256Hex(listKeysBody))}}}},
		{name: "UNSIGNED-PAYLOAD announced, body signed", call: call{header: http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}}},
		{name: "5 minutes late", now: testTime.Add(5 * time.Minute)},
		{name: "5 minutes early", now: testTime.Add(-5 * time.Minute)},
		{name: "unsigned header changed", mutate: func(r *http.Request) { r.Header.Set("User-Agent", "something else") }},
		{name: "unsigned header added", mutate: func(r *http.Request) { r.Header.Set("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793") }},
		{
			name: "header reformatted without spaces, upper-case hex",
			mutate: func(r *http.Request) {
				a, err := ParseAuthorization(r.Header.Get("Authorization"))
				if err != nil {
					panic(err)
				}
				r.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request,SignedHeaders=%s,Signature=%X",
					a.AccessKeyID, a.Date, a.Region, a.Service, strings.Join(a.SignedHeaders, ";"), a.Signature))
			},
		},
		{
			name: "header with an extra parameter",
			mutate: func(r *http.Request) {
				r.Header.Set("Authorization", r.Header.Get("Authorization")+", Foo=bar")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, body := tt.call.sign(t)
			if tt.mutate != nil {
				tt.mutate(r)
			}
			now := tt.now
			if now.IsZero() {
				now = testTime
			}
			store := newStore()
			p, err := newVerifier(store, now).Verify(context.Background(), r, body)
			if err != nil {
				t.Fatalf("Verify: %v\nAuthorization: %s", err, r.Header.Get("Authorization"))
			}
			region := tt.call.region
			if region == "" {
				region = testRegion
			}
			a, err := ParseAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			want := Principal{Identity: testIdentity, AccessKeyID: testAKID, Region: region, Service: "kms", SessionToken: tt.wantToken,
				SignedHeaders: strings.Join(a.SignedHeaders, ";")}
			if !reflect.DeepEqual(*p, want) {
				t.Errorf("principal = %+v, want %+v", *p, want)
			}
			if len(store.tokens) != 1 || store.tokens[0] != tt.wantToken {
				t.Errorf("the store was asked with session tokens %q, want [%q]", store.tokens, tt.wantToken)
			}
		})
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	type env struct {
		r     *http.Request
		body  []byte
		v     *Verifier
		store *memStore
	}
	tests := []struct {
		name   string
		call   call
		mutate func(e *env)
		code   awserr.Code
		msg    string
		lookup bool // whether the store may be asked
	}{
		{
			name:   "tampered body",
			mutate: func(e *env) { e.body = []byte(`{"Limit":1}`) },
			code:   awserr.InvalidSignature, msg: msgMismatch, lookup: true,
		},
		{
			name:   "tampered signed header",
			mutate: func(e *env) { e.r.Header.Set("X-Amz-Target", "TrentService.ScheduleKeyDeletion") },
			code:   awserr.InvalidSignature, msg: msgMismatch, lookup: true,
		},
		{
			name:   "value added to a signed header",
			mutate: func(e *env) { e.r.Header.Add("Content-Type", "text/plain") },
			code:   awserr.InvalidSignature, msg: msgMismatch, lookup: true,
		},
		{
			name:   "signed header removed",
			mutate: func(e *env) { e.r.Header.Del("X-Amz-Target") },
			code:   awserr.InvalidSignature, msg: msgMismatch, lookup: true,
		},
		{
			name:   "tampered host",
			mutate: func(e *env) { e.r.Host = "kms.evil.example" },
			code:   awserr.InvalidSignature, msg: msgMismatch, lookup: true,
		},
		{
			name:   "tampered method",
			mutate: func(e *env) { e.r.Method = http.MethodPut },
			code:   awserr.InvalidSignature, msg: msgMismatch, lookup: true,
		},
		{
			name:   "query added",
			mutate: func(e *env) { e.r.URL.RawQuery = "Action=Delete" },
			code:   awserr.InvalidSignature, msg: msgMismatch, lookup: true,
		},
		{
			name:   "path changed",
			mutate: func(e *env) { e.r.URL.Path = "/other" },
			code:   awserr.InvalidSignature, msg: msgMismatch, lookup: true,
		},
		{
			name:   "malformed query",
			mutate: func(e *env) { e.r.URL.RawQuery = "a=%zz" },
			code:   awserr.InvalidSignature, msg: "query string", lookup: true,
		},
		{
			name: "signature of another request",
			mutate: func(e *env) {
				other, _ := call{body: `{"Limit":2}`}.sign(t)
				e.r.Header.Set("Authorization", other.Header.Get("Authorization"))
			},
			code: awserr.InvalidSignature, msg: msgMismatch, lookup: true,
		},
		{
			name: "wrong secret",
			call: call{secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEz"},
			code: awserr.InvalidSignature, msg: msgMismatch, lookup: true,
		},
		{
			name: "unknown access key",
			call: call{akid: "AKIAI44QH8DHBEXAMPLE"},
			code: awserr.UnrecognizedClient, msg: "The security token included in the request is invalid.", lookup: true,
		},
		{
			name: "access key id of the wrong form",
			call: call{akid: "AKIA-not.a+key"},
			code: awserr.UnrecognizedClient, msg: "The security token included in the request is invalid.",
		},
		{
			name:   "expired",
			mutate: func(e *env) { e.v.Now = func() time.Time { return testTime.Add(5*time.Minute + time.Second) } },
			code:   awserr.InvalidSignature,
			msg:    "Signature expired: 20240909T120000Z is now earlier than 20240909T120001Z (20240909T120501Z - 5 min.)",
		},
		{
			name: "expired, 15 minutes allowed",
			mutate: func(e *env) {
				e.v.MaxSkew = 15 * time.Minute
				e.v.Now = func() time.Time { return testTime.Add(16 * time.Minute) }
			},
			code: awserr.InvalidSignature,
			msg:  "Signature expired: 20240909T120000Z is now earlier than 20240909T120100Z (20240909T121600Z - 15 min.)",
		},
		{
			name:   "not yet current",
			mutate: func(e *env) { e.v.Now = func() time.Time { return testTime.Add(-6 * time.Minute) } },
			code:   awserr.InvalidSignature,
			msg:    "Signature not yet current: 20240909T120000Z is still later than 20240909T115900Z (20240909T115400Z + 5 min.)",
		},
		{
			name: "wrong service",
			call: call{service: "dynamodb"},
			code: awserr.InvalidSignature, msg: "Credential should be scoped to correct service: 'kms'.",
		},
		{
			name: "scope date is not the request's day",
			call: call{signTime: time.Date(2024, 9, 9, 23, 59, 0, 0, time.UTC)},
			mutate: func(e *env) {
				e.r.Header.Set("X-Amz-Date", "20240910T000000Z")
				e.v.Now = func() time.Time { return time.Date(2024, 9, 10, 0, 0, 0, 0, time.UTC) }
			},
			code: awserr.InvalidSignature,
			msg:  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240909' != '20240910', from '20240910T000000Z'.",
		},
		{
			name:   "no Authorization header",
			mutate: func(e *env) { e.r.Header.Del("Authorization") },
			code:   awserr.MissingAuthenticationToken, msg: "Missing Authentication Token",
		},
		{
			name:   "blank Authorization header",
			mutate: func(e *env) { e.r.Header.Set("Authorization", " \t ") },
			code:   awserr.MissingAuthenticationToken, msg: "Missing Authentication Token",
		},
		{
			name: "security token without Authorization",
			mutate: func(e *env) {
				e.r.Header.Del("Authorization")
				e.r.Header.Set("X-Amz-Security-Token", "token")
			},
			code: awserr.IncompleteSignature,
			msg:  "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.",
		},
		{
			name: "presigned query",
			mutate: func(e *env) {
				e.r.Header.Del("Authorization")
				e.r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x&X-Amz-Signature=y"
			},
			code: awserr.IncompleteSignature, msg: "presigned",
		},
		{
			name:   "presigned query and Authorization header",
			mutate: func(e *env) { e.r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256" },
			code:   awserr.IncompleteSignature,
			msg:    "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
		},
		{
			name:   "two Authorization headers",
			mutate: func(e *env) { e.r.Header.Add("Authorization", e.r.Header.Get("Authorization")) },
			code:   awserr.IncompleteSignature, msg: "exactly one Authorization header",
		},
		{
			name:   "no X-Amz-Date",
			mutate: func(e *env) { e.r.Header.Del("X-Amz-Date") },
			code:   awserr.IncompleteSignature,
			msg:    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=" + testAKID + "/20240909/us-east-1/kms/aws4_request, SignedHeaders=",
		},
		{
			name:   "X-Amz-Date in extended format",
			mutate: func(e *env) { e.r.Header.Set("X-Amz-Date", "2024-09-09T12:00:00Z") },
			code:   awserr.IncompleteSignature,
			msg:    "Date must be in ISO-8601 'basic format'. Got '2024-09-09T12:00:00Z'.",
		},
		{
			name:   "X-Amz-Date not a calendar date",
			mutate: func(e *env) { e.r.Header.Set("X-Amz-Date", "20240231T120000Z") },
			code:   awserr.IncompleteSignature, msg: "Date must be in ISO-8601 'basic format'.",
		},
		{
			name:   "two X-Amz-Date values",
			mutate: func(e *env) { e.r.Header.Add("X-Amz-Date", "20240909T120000Z") },
			code:   awserr.IncompleteSignature, msg: "Date must be in ISO-8601 'basic format'.",
		},
		{
			name:   "Date header not signed",
			mutate: func(e *env) { e.r.Header.Del("X-Amz-Date"); e.r.Header.Set("Date", "Mon, 09 Sep 2024 12:00:00 GMT") },
			code:   awserr.InvalidSignature, msg: "'Date' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name:   "Date header not a date",
			mutate: func(e *env) { e.r.Header.Del("X-Amz-Date"); e.r.Header.Set("Date", "yesterday") },
			code:   awserr.IncompleteSignature, msg: "Got 'yesterday'",
		},
		{
			name: "x-amz-content-sha256 of another body",
			call: call{header: http.Header{"X-Amz-Content-Sha256": {sha256Hex("{ }")}}},
			code: awserr.InvalidSignature, msg: msgContentSHA256,
		},
		{
			name:   "x-amz-content-sha256 of a tampered body",
			call:   call{header: http.Header{"X-Amz-Content-Sha256": {sha256Hex(listKeysBody)}}},
			mutate: func(e *env) { e.body = []byte(`{"Limit":1}`) },
			code:   awserr.InvalidSignature, msg: msgContentSHA256,
		},
		{
			name: "signed as UNSIGNED-PAYLOAD",
			call: call{header: http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, payloadHash: "UNSIGNED-PAYLOAD"},
			code: awserr.InvalidSignature, msg: msgMismatch, lookup: true,
		},
		{
			name:   "two security tokens",
			call:   call{token: "one"},
			mutate: func(e *env) { e.r.Header.Add("X-Amz-Security-Token", "two") },
			code:   awserr.UnrecognizedClient, msg: msgUnknownKey,
		},
		{
			name:   "credential store fails",
			mutate: func(e *env) { e.store.err = errors.New("bbolt: database not open") },
			code:   awserr.KMSInternal, msg: "An internal error occurred.", lookup: true,
		},
		{
			name: "credential store answers an AWS exception",
			mutate: func(e *env) {
				e.store.err = awserr.New(awserr.ExpiredToken, "The security token included in the request is expired")
			},
			code: awserr.ExpiredToken, msg: "expired", lookup: true,
		},
		{
			name:   "no credential store",
			mutate: func(e *env) { e.v.Credentials = nil },
			code:   awserr.KMSInternal, msg: "An internal error occurred.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, body := tt.call.sign(t)
			store := newStore()
			e := &env{r: r, body: body, v: newVerifier(store, testTime), store: store}
			if tt.mutate != nil {
				tt.mutate(e)
			}
			p, err := e.v.Verify(context.Background(), e.r, e.body)
			wantError(t, p, err, tt.code, tt.msg)
			if !tt.lookup && store.lookups.Load() != 0 {
				t.Errorf("the credential store was asked %d times; the request should be refused before", store.lookups.Load())
			}
			if e.v.keys.len() != 0 {
				t.Errorf("a refused request left %d signing keys in the cache", e.v.keys.len())
			}
		})
	}
}

// A well-formed header for the malformed-header tables.
var (
	okCred   = testAKID + "/20240909/us-east-1/kms/aws4_request"
	okSigned = "content-length;content-type;host;x-amz-date;x-amz-target"
	okSig    = strings.Repeat("0a", 32)
)

func authHeader(cred, signed, sig string) string {
	return "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=" + signed + ", Signature=" + sig
}

// malformed are broken Authorization headers: what ParseAuthorization and
// Verify answer each with.
var malformed = []struct {
	name        string
	header      string
	parseCode   awserr.Code // "" means ParseAuthorization accepts it
	verifyCode  awserr.Code
	msg         string
	parseMsg    string // if ParseAuthorization's message differs from msg
	verifyOnlyM string // if Verify's message differs from msg
}{
	{
		name: "unsupported algorithm", header: strings.Replace(authHeader(okCred, okSigned, okSig), "SHA256", "SHA512", 1),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now).",
	},
	{
		name: "lower-case algorithm", header: strings.Replace(authHeader(okCred, okSigned, okSig), "AWS4-HMAC-SHA256", "aws4-hmac-sha256", 1),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.",
	},
	{
		name: "bearer token", header: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo",
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. ",
	},
	{
		name: "SigV2", header: "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Authorization header requires 'Credential' parameter.",
	},
	{
		name: "algorithm only", header: "AWS4-HMAC-SHA256",
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256",
	},
	{
		name: "no Signature", header: "AWS4-HMAC-SHA256 Credential=" + okCred + ", SignedHeaders=" + okSigned,
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=" + okCred,
	},
	{
		name: "no Credential", header: "AWS4-HMAC-SHA256 SignedHeaders=" + okSigned + ", Signature=" + okSig,
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Authorization header requires 'Credential' parameter. Authorization=",
	},
	{
		name: "no SignedHeaders", header: "AWS4-HMAC-SHA256 Credential=" + okCred + ", Signature=" + okSig,
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Authorization header requires 'SignedHeaders' parameter.",
	},
	{
		name: "empty Signature", header: authHeader(okCred, okSigned, ""),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Authorization header requires 'Signature' parameter.",
	},
	{
		name: "component without equal sign", header: "AWS4-HMAC-SHA256 FooBar, Credential=" + okCred + ", SignedHeaders=" + okSigned + ", Signature=" + okSig,
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "'FooBar' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 FooBar, ",
	},
	{
		name: "space inside a value", header: authHeader(testAKID+"/20240909/us-east-1/kms /aws4_request", okSigned, okSig),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "'/aws4_request' not a valid key=value pair",
	},
	{
		name: "duplicate Credential", header: authHeader(okCred, okSigned, okSig) + ", Credential=" + okCred,
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Authorization header has more than one 'Credential' parameter.",
	},
	{
		name: "credential of 4 parts", header: authHeader(testAKID+"/20240909/us-east-1/kms", okSigned, okSig),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + testAKID + "/20240909/us-east-1/kms'",
	},
	{
		name: "credential of 6 parts", header: authHeader(okCred+"/x", okSigned, okSig),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Credential must have exactly 5 slash-delimited elements",
	},
	{
		name: "wrong terminator", header: authHeader(testAKID+"/20240909/us-east-1/kms/aws4_requestx", okSigned, okSig),
		parseCode: awserr.InvalidSignature, verifyCode: awserr.InvalidSignature,
		msg: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_requestx'.",
	},
	{
		name: "upper-case region", header: authHeader(testAKID+"/20240909/US-EAST-1/kms/aws4_request", okSigned, okSig),
		parseCode: awserr.InvalidSignature, verifyCode: awserr.InvalidSignature,
		msg: "Credential should be scoped to a valid region, not 'US-EAST-1'.",
	},
	{
		name: "empty region and service", header: authHeader(testAKID+"/20240909///aws4_request", okSigned, okSig),
		parseCode: awserr.InvalidSignature, verifyCode: awserr.InvalidSignature,
		msg:         "Credential should be scoped to a valid region, not ''.",
		parseMsg:    "Credential should be scoped to a valid region, not ''. Credential should be scoped to a valid service, not ''.",
		verifyOnlyM: "Credential should be scoped to a valid region, not ''. Credential should be scoped to correct service: 'kms'.",
	},
	{
		name: "scope date not a date", header: authHeader(testAKID+"/2024099/us-east-1/kms/aws4_request", okSigned, okSig),
		parseCode: awserr.InvalidSignature, verifyCode: awserr.InvalidSignature,
		msg:         "Date in Credential scope",
		parseMsg:    "Date in Credential scope must be a date in YYYYMMDD format, not '2024099'.",
		verifyOnlyM: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '2024099' != '20240909', from '20240909T120000Z'.",
	},
	{
		name: "empty access key id", header: authHeader("/20240909/us-east-1/kms/aws4_request", okSigned, okSig),
		parseCode: awserr.UnrecognizedClient, verifyCode: awserr.UnrecognizedClient,
		msg: "The security token included in the request is invalid.",
	},
	{
		name: "signature of 63 hex digits", header: authHeader(okCred, okSigned, okSig[1:]),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Signature must be 64 hexadecimal characters, got 63 characters.",
	},
	{
		name: "signature of 65 hex digits", header: authHeader(okCred, okSigned, okSig+"0"),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Signature must be 64 hexadecimal characters",
	},
	{
		name: "signature not hex", header: authHeader(okCred, okSigned, "zz"+okSig[2:]),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "Signature must be 64 hexadecimal characters.",
	},
	{
		name: "upper-case signed header", header: authHeader(okCred, "content-type;Host;x-amz-date", okSig),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "SignedHeaders must be a list of at most 128 lower-case header names separated by ';', got 'content-type;Host;x-amz-date'.",
	},
	{
		name: "empty signed header", header: authHeader(okCred, "host;;x-amz-date", okSig),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "SignedHeaders must be a list",
	},
	{
		name: "trailing semicolon", header: authHeader(okCred, "host;x-amz-date;", okSig),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "SignedHeaders must be a list",
	},
	{
		name: "too many signed headers", header: authHeader(okCred, "host;x-amz-date"+strings.Repeat(";x-a", 127), okSig),
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "SignedHeaders must be a list of at most 128",
	},
	{
		name: "host not signed", header: authHeader(okCred, "content-type;x-amz-date;x-amz-target", okSig),
		verifyCode: awserr.InvalidSignature,
		msg:        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
	},
	{
		name: "x-amz-date not signed", header: authHeader(okCred, "content-type;host;x-amz-target", okSig),
		verifyCode: awserr.InvalidSignature,
		msg:        "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
	},
	{
		name: "control characters", header: "AWS4-HMAC-SHA256 \x01\x7f\xff",
		parseCode: awserr.IncompleteSignature, verifyCode: awserr.IncompleteSignature,
		msg: "'???' not a valid key=value pair",
	},
	{
		name: "well-formed, wrong signature", header: authHeader(okCred, okSigned, okSig),
		verifyCode: awserr.InvalidSignature, msg: msgMismatch,
	},
}

// TestVerifyServices checks a Verifier that serves several services: it
// accepts a request signed for any of them, says which in the principal,
// and refuses any other service, naming the first.
func TestVerifyServices(t *testing.T) {
	t.Parallel()
	v := &Verifier{Credentials: newStore(), Services: []string{"kms", "iam", "sts"}, Now: func() time.Time { return testTime }}
	for _, service := range []string{"kms", "iam", "sts"} {
		r, body := call{service: service}.sign(t)
		p, err := v.Verify(context.Background(), r, body)
		if err != nil {
			t.Fatalf("signed for %s: %v", service, err)
		}
		if p.Service != service {
			t.Errorf("signed for %s: principal service %q", service, p.Service)
		}
	}
	r, body := call{service: "s3"}.sign(t)
	_, err := v.Verify(context.Background(), r, body)
	if e := awserr.As(err); e.Code != awserr.InvalidSignature || e.Message != "Credential should be scoped to correct service: 'kms'." {
		t.Errorf("signed for s3: %v", err)
	}
	// Service alone still works, and Services takes its place when set.
	one := &Verifier{Credentials: newStore(), Service: "iam", Now: func() time.Time { return testTime }}
	if _, err := one.Verify(context.Background(), r, body); !awserr.Is(err, awserr.InvalidSignature) {
		t.Errorf("Service iam, signed for s3: %v", err)
	}
	r, body = call{service: "iam"}.sign(t)
	if p, err := one.Verify(context.Background(), r, body); err != nil || p.Service != "iam" {
		t.Errorf("Service iam, signed for iam: %+v, %v", p, err)
	}
}

func TestParseAuthorizationMalformed(t *testing.T) {
	t.Parallel()
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAuthorization(tt.header)
			if tt.parseCode == "" {
				if err != nil {
					t.Fatalf("ParseAuthorization: %v", err)
				}
				return
			}
			if a.AccessKeyID != "" || a.Signature != nil || a.SignedHeaders != nil {
				t.Errorf("got %+v with the error", a)
			}
			msg := tt.msg
			if tt.parseMsg != "" {
				msg = tt.parseMsg
			}
			wantError(t, nil, err, tt.parseCode, msg)
		})
	}
}

func TestVerifyMalformedAuthorization(t *testing.T) {
	t.Parallel()
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, body := call{}.sign(t)
			r.Header.Set("Authorization", tt.header)
			msg := tt.msg
			if tt.verifyOnlyM != "" {
				msg = tt.verifyOnlyM
			}
			p, err := newVerifier(newStore(), testTime).Verify(context.Background(), r, body)
			wantError(t, p, err, tt.verifyCode, msg)
			if e, ok := err.(*awserr.Error); ok {
				for _, c := range []byte(e.Message) {
					if c < 0x20 || c > 0x7e {
						t.Fatalf("message %q repeats a non-printable byte", e.Message)
					}
				}
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	const h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
		"SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
	a, err := ParseAuthorization(h)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := hex.DecodeString("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
	if a.AccessKeyID != "AKIDEXAMPLE" || a.Date != "20150830" || a.Region != "us-east-1" || a.Service != "iam" ||
		strings.Join(a.SignedHeaders, ",") != "content-type,host,x-amz-date" || !bytes.Equal(a.Signature, sig) {
		t.Errorf("ParseAuthorization = %+v", a)
	}
	if got := a.String(); got != h {
		t.Errorf("String() = %q, want %q", got, h)
	}
	// Commas without spaces, spaces without commas, tabs: all as AWS accepts.
	for _, variant := range []string{
		strings.ReplaceAll(h, ", ", ","),
		strings.ReplaceAll(h, ", ", " "),
		strings.ReplaceAll(h, ", ", ",\t "),
		"  " + h + " , ",
	} {
		b, err := ParseAuthorization(variant)
		if err != nil {
			t.Errorf("ParseAuthorization(%q): %v", variant, err)
			continue
		}
		if b.String() != h {
			t.Errorf("ParseAuthorization(%q) = %+v", variant, b)
		}
	}
}

// TestAWSTestSuite checks the verifier against signatures published in
// AWS's SigV4 test suite (testdata/sigv4-vectors.json).
func TestAWSTestSuite(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/sigv4-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Name, Method, URL, Body, Authorization string
		Headers                                map[string]string
	}
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) == 0 {
		t.Fatal("no vectors")
	}
	store := &memStore{keys: map[string]memKey{"AKIDEXAMPLE": {testIdentity, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}}}
	v := &Verifier{Credentials: store, Service: "service", Now: func() time.Time { return time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC) }}
	for _, vec := range vectors {
		t.Run(vec.Name, func(t *testing.T) {
			build := func(authorization string) *http.Request {
				r := httptest.NewRequest(vec.Method, vec.URL, strings.NewReader(vec.Body))
				for k, val := range vec.Headers {
					r.Header.Set(k, val)
				}
				r.Header.Set("Authorization", authorization)
				return r
			}
			if _, err := v.Verify(context.Background(), build(vec.Authorization), []byte(vec.Body)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// One bit off and it must fail.
			last := "0"
			if strings.HasSuffix(vec.Authorization, last) {
				last = "1"
			}
			bad := vec.Authorization[:len(vec.Authorization)-1] + last
			p, err := v.Verify(context.Background(), build(bad), []byte(vec.Body))
			wantError(t, p, err, awserr.InvalidSignature, msgMismatch)
		})
	}
}

// TestVerifyDateHeader signs with a Date header instead of X-Amz-Date. The
// canonical request is written out by hand from the SigV4 specification.
func TestVerifyDateHeader(t *testing.T) {
	t.Parallel()
	const (
		date   = "Mon, 09 Sep 2024 12:00:00 GMT"
		host   = "kms.example.test"
		signed = "content-type;date;host"
	)
	canonical := "POST\n/\n\ncontent-type:application/x-amz-json-1.1\ndate:" + date + "\nhost:" + host + "\n\n" + signed + "\n" + sha256Hex(listKeysBody)
	sts := "AWS4-HMAC-SHA256\n20240909T120000Z\n20240909/us-east-1/kms/aws4_request\n" + sha256Hex(canonical)
	key := []byte("AWS4" + testSecret)
	for _, part := range []string{"20240909", "us-east-1", "kms", "aws4_request", sts} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(part))
		key = m.Sum(nil)
	}
	sig := hex.EncodeToString(key)

	r := httptest.NewRequest(http.MethodPost, "https://"+host+"/", strings.NewReader(listKeysBody))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("Date", date)
	r.Header.Set("Authorization", authHeader(testAKID+"/20240909/us-east-1/kms/aws4_request", signed, sig))
	v := newVerifier(newStore(), testTime.Add(time.Minute))
	if _, err := v.Verify(context.Background(), r, []byte(listKeysBody)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	r.Header.Set("Date", "Mon, 09 Sep 2024 12:00:01 GMT")
	p, err := v.Verify(context.Background(), r, []byte(listKeysBody))
	wantError(t, p, err, awserr.InvalidSignature, msgMismatch)
}

func TestSigningKeyCache(t *testing.T) {
	t.Parallel()
	store := newStore()
	v := newVerifier(store, testTime)
	ctx := context.Background()

	r, body := call{}.sign(t)
	for range 3 {
		if _, err := v.Verify(ctx, r, body); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.keys.len(); n != 1 {
		t.Fatalf("cache holds %d keys after one key's requests, want 1", n)
	}

	// A bad signature for a new region leaves nothing behind.
	bad, body := call{region: "eu-west-1", secret: "not the secret"}.sign(t)
	if _, err := v.Verify(ctx, bad, body); !awserr.Is(err, awserr.InvalidSignature) {
		t.Fatalf("Verify = %v, want InvalidSignature", err)
	}
	if n := v.keys.len(); n != 1 {
		t.Fatalf("cache holds %d keys after a refused request, want 1", n)
	}

	// The cache is keyed by the secret: once the key is rotated, a request
	// signed with the old secret fails although its derived key is cached.
	store.setSecret(testAKID, "a new secret after rotation")
	if _, err := v.Verify(ctx, r, body); !awserr.Is(err, awserr.InvalidSignature) {
		t.Fatalf("Verify with the old secret after rotation = %v, want InvalidSignature", err)
	}
	rotated, body := call{secret: "a new secret after rotation"}.sign(t)
	if _, err := v.Verify(ctx, rotated, body); err != nil {
		t.Fatalf("Verify with the new secret: %v", err)
	}
}

func TestKeyCacheBounded(t *testing.T) {
	t.Parallel()
	var c keyCache
	for i := range maxCachedKeys + 50 {
		c.put(cacheKey{secret: "s", date: "20240909", region: fmt.Sprint("r", i), service: "kms"}, &signingKey{})
	}
	if n := c.len(); n != maxCachedKeys {
		t.Fatalf("cache holds %d keys, want %d", n, maxCachedKeys)
	}
	if c.get(cacheKey{secret: "s", date: "20240909", region: fmt.Sprint("r", maxCachedKeys+49), service: "kms"}) == nil {
		t.Error("the newest key was evicted")
	}
	// A key for a new day evicts the keys of other days first.
	c.put(cacheKey{secret: "s", date: "20240910", region: "r", service: "kms"}, &signingKey{})
	if n := c.len(); n != 1 {
		t.Errorf("cache holds %d keys after the day changed, want 1", n)
	}
}

// TestVerifyConcurrent runs verifications in parallel on one Verifier (run
// it with -race).
func TestVerifyConcurrent(t *testing.T) {
	t.Parallel()
	v := newVerifier(newStore(), testTime)
	regions := []string{"us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1"}
	type req struct {
		r    *http.Request
		body []byte
		ok   bool
	}
	var reqs []req
	for _, region := range regions {
		r, body := call{region: region}.sign(t)
		reqs = append(reqs, req{r, body, true})
		r, body = call{region: region, secret: "wrong"}.sign(t)
		reqs = append(reqs, req{r, body, false})
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				q := reqs[(g+i)%len(reqs)]
				_, err := v.Verify(context.Background(), q.r, q.body)
				if (err == nil) != q.ok {
					t.Errorf("Verify = %v, want ok=%v", err, q.ok)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := v.keys.len(); n != len(regions) {
		t.Errorf("cache holds %d keys, want %d", n, len(regions))
	}
}

// TestVerifyKMSClient sends real calls from aws-sdk-go-v2's KMS client over
// HTTP, so that everything the SDK adds to a request (amz-sdk-invocation-id,
// amz-sdk-request, Content-Length, its User-Agent) and everything net/http
// does to it on the way in is covered.
func TestVerifyKMSClient(t *testing.T) {
	t.Parallel()
	v := &Verifier{Credentials: newStore(), Service: "kms"}
	var (
		mu   sync.Mutex
		seen []*Principal
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		p, err := v.Verify(r.Context(), r, body)
		if err != nil {
			e := awserr.As(err)
			w.WriteHeader(e.HTTPStatus())
			json.NewEncoder(w).Encode(map[string]string{"__type": string(e.Code), "message": e.Message})
			return
		}
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
		io.WriteString(w, `{"Keys":[],"Truncated":false}`)
	}))
	defer srv.Close()

	client := func(akid, secret, token string) *kms.Client {
		return kms.New(kms.Options{
			Region:           "eu-central-1",
			Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, token),
			BaseEndpoint:     aws.String(srv.URL),
			HTTPClient:       srv.Client(),
			RetryMaxAttempts: 1,
		})
	}
	ctx := context.Background()
	if _, err := client(testAKID, testSecret, "").ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	if _, err := client(testAKID, testSecret, "session-token").ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(10)}); err != nil {
		t.Fatalf("ListKeys with a session token: %v", err)
	}
	mu.Lock()
	if len(seen) != 2 || seen[0].Region != "eu-central-1" || seen[0].ARN != testIdentity.ARN || seen[1].SessionToken != "session-token" {
		t.Errorf("principals = %+v %+v", seen[0], seen[1])
	}
	mu.Unlock()

	for _, tt := range []struct {
		name, akid, secret string
		code               awserr.Code
	}{
		{"wrong secret", testAKID, "wrong", awserr.InvalidSignature},
		{"unknown key", "AKIAI44QH8DHBEXAMPLE", testSecret, awserr.UnrecognizedClient},
	} {
		_, err := client(tt.akid, tt.secret, "").ListKeys(ctx, &kms.ListKeysInput{})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != string(tt.code) {
			t.Errorf("%s: ListKeys error = %v, want %s", tt.name, err, tt.code)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	r, body := call{}.sign(b)
	v := newVerifier(newStore(), testTime)
	ctx := context.Background()
	if _, err := v.Verify(ctx, r, body); err != nil { // fills the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, body); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPrincipalSigns: Signs matches whole names of SignedHeaders, in any
// case, and nothing else.
func TestPrincipalSigns(t *testing.T) {
	p := &Principal{SignedHeaders: "content-type;host;x-amz-date;x-kagi-forwarded-access-key-id"}
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"Host", true},
		{"X-Kagi-Forwarded-Access-Key-Id", true},
		{"x-amz-date", true},
		{"X-Kagi-Forwarded-Security-Token", false},
		{"x-kagi-forwarded", false},
		{"content", false},
		{"", false},
	} {
		if got := p.Signs(tt.name); got != tt.want {
			t.Errorf("Signs(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (&Principal{}).Signs("host") {
		t.Error("an empty SignedHeaders signs host")
	}
}
