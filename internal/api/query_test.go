package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/clock"
	"github.com/kagikms/kagi/internal/iam"
	"github.com/kagikms/kagi/internal/keystore/software"
	"github.com/kagikms/kagi/internal/kms"
	"github.com/kagikms/kagi/internal/rootkey"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// queryEnv is a Handler with IAM over a real store, and the root
// credentials of one account.
type queryEnv struct {
	h     *Handler
	creds aws.Credentials
}

func newQueryEnv(t testing.TB) *queryEnv {
	t.Helper()
	p := newHandlerParts(t)
	h := New(Config{Service: p.svc, IAM: p.ids, Logger: p.log,
		Auth: &auth.Verifier{Credentials: p.ids, Services: []string{"kms", "iam", "sts"}}})
	return &queryEnv{h: h, creds: p.creds}
}

// handlerParts are the real parts a test Handler is made of: a bbolt
// store in a temporary directory, identities with one account, and the
// KMS service.
type handlerParts struct {
	dir   string
	ids   *iam.Store
	svc   *kms.Service
	log   *slog.Logger
	creds aws.Credentials // the account's root credentials
}

func newHandlerParts(t testing.TB) *handlerParts {
	t.Helper()
	dir := t.TempDir()
	root, _, err := rootkey.LoadOrCreateFile(filepath.Join(dir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(dir, "kagi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids := iam.New(st, root, "aws", &clock.Fake{})
	_, akid, secret, err := ids.CreateAccount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := kms.New(kms.Config{Store: st, Keystore: software.New(root, 100), Sealer: root, Principals: ids, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return &handlerParts{dir: dir, ids: ids, svc: svc, log: log, creds: aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}}
}

// do signs a form request for service and serves it.
func (e *queryEnv) do(t testing.TB, service, body string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "https://127.0.0.1/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for k, vs := range header {
		req.Header[k] = vs
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), e.creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

type queryErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

func parseQueryError(t testing.TB, rec *httptest.ResponseRecorder) queryErrorResponse {
	t.Helper()
	var e queryErrorResponse
	if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("not an ErrorResponse: %v\n%s", err, rec.Body)
	}
	if e.RequestID == "" || e.RequestID != rec.Header().Get("x-amzn-RequestId") {
		t.Errorf("RequestId %q, header %q", e.RequestID, rec.Header().Get("x-amzn-RequestId"))
	}
	return e
}

func TestQueryResponseShape(t *testing.T) {
	t.Parallel()
	e := newQueryEnv(t)
	rec := e.do(t, "iam", "Action=CreateUser&Version=2010-05-08&UserName=alice&Path=%2Fteam%2F&Tags.member.1.Key=k&Tags.member.1.Value=v", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/xml" {
		t.Fatalf("status %d, %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	id := rec.Header().Get("x-amzn-RequestId")
	if !strings.HasPrefix(body, `<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateUserResult><User><Path>/team/</Path><UserName>alice</UserName><UserId>AIDA`) ||
		!strings.Contains(body, `<Tags><member><Key>k</Key><Value>v</Value></member></Tags></User></CreateUserResult>`) ||
		!strings.HasSuffix(body, `<ResponseMetadata><RequestId>`+id+`</RequestId></ResponseMetadata></CreateUserResponse>`) {
		t.Errorf("body:\n%s", body)
	}

	rec = e.do(t, "iam", "Action=DeleteUser&Version=2010-05-08&UserName=alice", nil)
	if want := `<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>` +
		rec.Header().Get("x-amzn-RequestId") + `</RequestId></ResponseMetadata></DeleteUserResponse>`; rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("DeleteUser: %d\n%s\nwant\n%s", rec.Code, rec.Body, want)
	}

	rec = e.do(t, "iam", "Action=ListUsers&Version=2010-05-08", nil)
	if !strings.Contains(rec.Body.String(), "<ListUsersResult><Users></Users><IsTruncated>false</IsTruncated></ListUsersResult>") {
		t.Errorf("empty ListUsers:\n%s", rec.Body)
	}

	rec = e.do(t, "sts", "Action=GetCallerIdentity&Version=2011-06-15", nil)
	if !strings.HasPrefix(rec.Body.String(), `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><UserId>`) {
		t.Errorf("GetCallerIdentity:\n%s", rec.Body)
	}

	rec = e.do(t, "iam", "Action=GetUser&Version=2010-05-08&UserName=nobody", nil)
	want := `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>` +
		`<Message>The user with name nobody cannot be found.</Message></Error><RequestId>` + rec.Header().Get("x-amzn-RequestId") + `</RequestId></ErrorResponse>`
	if rec.Code != http.StatusNotFound || rec.Body.String() != want {
		t.Errorf("NoSuchEntity: %d\n%s\nwant\n%s", rec.Code, rec.Body, want)
	}
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	e := newQueryEnv(t)
	for _, tt := range []struct {
		name    string
		service string
		body    string
		header  http.Header
		status  int
		code    string
		ns      string
		msg     string
	}{
		{"unknown action", "iam", "Action=Frobnicate&Version=2010-05-08", nil, 400, "InvalidAction", "iam", "Could not find operation Frobnicate for version 2010-05-08"},
		{"no action", "sts", "Version=2011-06-15", nil, 400, "InvalidAction", "sts", "Could not find operation  for version 2011-06-15"},
		{"unknown version", "iam", "Action=CreateUser&Version=2099-01-01", nil, 400, "InvalidAction", "iam", ""},
		{"IAM signed for sts", "sts", "Action=ListUsers&Version=2010-05-08", nil, 403, "SignatureDoesNotMatch", "iam", "Credential should be scoped to correct service: 'iam'."},
		{"STS signed for kms", "kms", "Action=GetCallerIdentity&Version=2011-06-15", nil, 403, "SignatureDoesNotMatch", "sts", ""},
		{"signed for s3", "s3", "Action=GetCallerIdentity&Version=2011-06-15", nil, 403, "SignatureDoesNotMatch", "sts", ""},
		{"validation", "iam", "Action=CreateUser&Version=2010-05-08&UserName=a%20b", nil, 400, "ValidationError", "iam", ""},
		{"bad integer", "iam", "Action=ListUsers&Version=2010-05-08&MaxItems=ten", nil, 400, "ValidationError", "iam",
			"1 validation error detected: Value 'ten' at 'maxItems' failed to satisfy constraint: Member must be an integer"},
		{"bad list index", "iam", "Action=CreateUser&Version=2010-05-08&UserName=a&Tags.member.x.Key=k", nil, 400, "ValidationError", "iam", ""},
		{"malformed form", "iam", "Action=ListUsers&Version=2010-05-08&x=%zz", nil, 400, "MalformedQueryString", "iam", ""},
		{"session token with a long-term key", "sts", "Action=GetCallerIdentity&Version=2011-06-15", http.Header{"X-Amz-Security-Token": {"abc"}}, 403, "InvalidClientTokenId", "sts",
			"The security token included in the request is invalid."},
		{"malformed policy", "iam", "Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument=%7B", nil, 400, "MalformedPolicyDocument", "iam", "Syntax errors in policy."},
	} {
		rec := e.do(t, tt.service, tt.body, tt.header)
		er := parseQueryError(t, rec)
		ns := map[string]string{"iam": "https://iam.amazonaws.com/doc/2010-05-08/", "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}[tt.ns]
		if rec.Code != tt.status || er.Error.Code != tt.code || er.XMLName.Space != ns || er.Error.Type != "Sender" ||
			tt.msg != "" && er.Error.Message != tt.msg {
			t.Errorf("%s: %d %+v, want %d %s %s %q", tt.name, rec.Code, er, tt.status, tt.code, ns, tt.msg)
		}
	}

	// An unknown key, unsigned, and signed with a wrong secret.
	req := httptest.NewRequest(http.MethodPost, "https://127.0.0.1/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if er := parseQueryError(t, rec); rec.Code != 403 || er.Error.Code != "MissingAuthenticationToken" {
		t.Errorf("unsigned: %d %+v", rec.Code, er)
	}
	saved := e.creds
	e.creds = aws.Credentials{AccessKeyID: "AKIAUNKNOWNKEY000001", SecretAccessKey: "x"}
	rec = e.do(t, "sts", "Action=GetCallerIdentity&Version=2011-06-15", nil)
	if er := parseQueryError(t, rec); rec.Code != 403 || er.Error.Code != "InvalidClientTokenId" {
		t.Errorf("unknown key: %d %+v", rec.Code, er)
	}
	e.creds = aws.Credentials{AccessKeyID: saved.AccessKeyID, SecretAccessKey: "wrong"}
	rec = e.do(t, "iam", "Action=ListUsers&Version=2010-05-08", nil)
	if er := parseQueryError(t, rec); rec.Code != 403 || er.Error.Code != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %d %+v", rec.Code, er)
	}
	e.creds = saved

	// A KMS request signed for iam is refused in KMS's JSON shape.
	req = httptest.NewRequest(http.MethodPost, "https://127.0.0.1/", strings.NewReader("{}"))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", "TrentService.ListKeys")
	sum := sha256.Sum256([]byte("{}"))
	if err := v4.NewSigner().SignHTTP(context.Background(), e.creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 400 || rec.Header().Get("X-Amzn-ErrorType") != "InvalidSignatureException" ||
		!strings.Contains(rec.Body.String(), "Credential should be scoped to correct service: 'kms'.") {
		t.Errorf("KMS signed for iam: %d %s", rec.Code, rec.Body)
	}
}

func TestDecodeQuery(t *testing.T) {
	t.Parallel()
	q, _ := url.ParseQuery("RoleArn=arn&RoleSessionName=s&DurationSeconds=900&ExternalId=e" +
		"&Tags.member.10.Key=k10&Tags.member.10.Value=v10&Tags.member.2.Key=k2&Tags.member.2.Value=" +
		"&TransitiveTagKeys.member.1=k2&PolicyArns.member.1.arn=p1&PolicyArns.member.2.arn=p2&Unknown=x")
	var in iam.AssumeRoleInput
	if err := decodeQuery(q, &in); err != nil {
		t.Fatal(err)
	}
	d := int32(900)
	want := iam.AssumeRoleInput{RoleArn: "arn", RoleSessionName: "s", DurationSeconds: &d, ExternalID: "e",
		Tags: []iam.Tag{{Key: "k2", Value: ""}, {Key: "k10", Value: "v10"}}, TransitiveTagKeys: []string{"k2"}, PolicyArns: []string{"p1", "p2"}}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("decoded %+v\nwant %+v", in, want)
	}
	for _, bad := range []string{"DurationSeconds=1e3", "DurationSeconds=99999999999", "Tags.member.0.Key=k", "Tags.member.1001.Key=k", "Tags.member.-1.Key=k"} {
		q, _ := url.ParseQuery(bad)
		if err := decodeQuery(q, &iam.AssumeRoleInput{}); err == nil {
			t.Errorf("%s: decoded", bad)
		}
	}
}

// FuzzQueryRequest sends signed query requests with arbitrary bodies
// through the whole pipeline over a real store: every answer is a 200 with
// an <ActionResponse> or an <ErrorResponse> with a code, never a 5xx.
func FuzzQueryRequest(f *testing.F) {
	for _, s := range []string{
		"Action=CreateUser&Version=2010-05-08&UserName=alice&Tags.member.1.Key=a&Tags.member.1.Value=b",
		"Action=ListUsers&Version=2010-05-08&MaxItems=1&Marker=a2FnaTE6YQ",
		"Action=PutUserPolicy&Version=2010-05-08&UserName=alice&PolicyName=p&PolicyDocument=%7B%22Statement%22%3A%5B%5D%7D",
		"Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=7200",
		"Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::111122223333:role/r&RoleSessionName=s1",
		"Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900",
		"Action=GetCallerIdentity&Version=2011-06-15",
		"Action=CreateAccessKey&Version=2010-05-08",
	} {
		f.Add(s)
	}
	e := newQueryEnv(f)
	f.Fuzz(func(t *testing.T, body string) {
		service := "iam"
		if strings.Contains(body, "2011-06-15") {
			service = "sts"
		}
		rec := e.do(t, service, body, nil)
		if rec.Code >= 500 {
			t.Fatalf("%q: status %d: %s", body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			if er := parseQueryError(t, rec); er.Error.Code == "" || er.Error.Type != "Sender" {
				t.Fatalf("%q: %+v", body, er)
			}
			return
		}
		var any struct {
			XMLName xml.Name
		}
		if err := xml.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&any); err != nil || !strings.HasSuffix(any.XMLName.Local, "Response") {
			t.Fatalf("%q: not a response: %v\n%s", body, err, rec.Body)
		}
	})
}
