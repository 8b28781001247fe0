package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/kagikms/kagi/internal/audit"
	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/iam"
	"github.com/kagikms/kagi/internal/keystore/software"
	"github.com/kagikms/kagi/internal/kms"
	"github.com/kagikms/kagi/internal/rootkey"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// FuzzDecode feeds arbitrary bodies to the decoder of every input type: it
// must accept them or answer SerializationException, never panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"KeyId":"alias/x","Plaintext":"aGVsbG8="}`, `{"KeyId":5}`,
		`{"Plaintext":"!!"}`, `[1]`, `{"EncryptionContext":{"a":1}}`, `{"Limit":1e400}`, `{"Tags":[{"TagKey":null}]}`,
		`{"KeyId":"a","keyid":"b"}`, `{"GrantTokens":["a",null]}`, `{"a":{"b":{"c":[[[]]]}}}`, `{} {}`, `{"Limit":2147483648}`,
		"{\"KeyId\":\"\xff\"}", `{"CiphertextBlob":"YQ=="}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, in := range []any{&kms.CreateKeyInput{}, &kms.EncryptInput{}, &kms.DecryptInput{}, &kms.ReEncryptInput{},
			&kms.GenerateDataKeyInput{}, &kms.ListAliasesInput{}, &kms.TagResourceInput{}, &kms.ScheduleKeyDeletionInput{},
			&kms.CreateGrantInput{}, &kms.ImportKeyMaterialInput{}} {
			err := decode(body, in)
			if err != nil && !awserr.Is(err, awserr.Serialization) {
				t.Fatalf("decode(%q) = %v, want nil or SerializationException", body, err)
			}
			if err != nil {
				continue
			}
			// What is accepted is empty or one valid JSON object.
			trimmed := bytes.TrimSpace(body)
			if len(trimmed) > 0 && (!utf8.Valid(trimmed) || !json.Valid(trimmed) || trimmed[0] != '{') {
				t.Fatalf("decode(%q) accepted what is not one JSON object", body)
			}
		}
	})
}

type staticCreds map[string]string

func (c staticCreds) LookupAccessKey(_ context.Context, id, token string) (auth.Identity, string, error) {
	s, ok := c[id]
	if !ok || token != "" {
		return auth.Identity{}, "", auth.ErrUnknownAccessKey
	}
	return auth.Identity{AccountID: "111122223333", ARN: "arn:aws:iam::111122223333:root", PrincipalID: "111122223333", Type: "Root"}, s, nil
}

// FuzzRequest sends signed requests with arbitrary targets and bodies
// through the whole pipeline over a real store and audit log: each leaves
// exactly one record, its own; every answer is a 200 with
// a JSON body or an AWS error shape, never a 5xx.
func FuzzRequest(f *testing.F) {
	for _, op := range operations[:10] {
		f.Add(op, []byte(`{}`))
	}
	f.Add("CreateKey", []byte(`{"Description":"x","Tags":[{"TagKey":"a","TagValue":"b"}]}`))
	f.Add("Encrypt", []byte(`{"KeyId":"alias/fuzz","Plaintext":"aGVsbG8=","EncryptionContext":{"a":"b"}}`))
	f.Add("Decrypt", []byte(`{"CiphertextBlob":"AQBOYXJuOmF3czprbXM6dXMtZWFzdC0xOjExMTEyMjIyMzMzMzprZXkv"}`))
	f.Add("CreateAlias", []byte(`{"AliasName":"alias/fuzz","TargetKeyId":"arn:aws:kms:us-east-1:111122223333:key/x"}`))
	f.Add("ListKeys", []byte(`{"Limit":2,"Marker":"a2FnaTE6"}`))
	f.Add("GenerateDataKey", []byte(`{"KeyId":"alias/fuzz","NumberOfBytes":1024}`))
	f.Add("Encrypt", []byte(`{"KeyId":"alias/fuzz","keyid":"x","Plaintext":"aGk="}`))
	f.Add("Encrypt", []byte(`{"KeyId":"alias/fuzz","Plaintext":"aGk=","EncryptionContext":{"a":null}}`))
	f.Add("ListKeys", []byte(`{"Limit":2147483648} {}`))
	f.Add("TagResource", []byte(`{"KeyId":"x","Tags":[[[[{"TagKey":"a"}]]]]}`))

	dir := f.TempDir()
	root, _, err := rootkey.LoadOrCreateFile(filepath.Join(dir, "root.key"))
	if err != nil {
		f.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(dir, "kagi.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc, err := kms.New(kms.Config{Store: st, Keystore: software.New(root, 100), Sealer: root, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	al, err := audit.Open(filepath.Join(dir, "audit"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { al.Close() })
	trail := &countingLog{Log: al}
	const akid, secret = "AKIAFUZZ000000000001", "fuzz-secret-0123456789"
	h := New(Config{Service: svc, Auth: &auth.Verifier{Credentials: staticCreds{akid: secret}, Service: "kms"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Audit: trail})
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}

	f.Fuzz(func(t *testing.T, op string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "https://127.0.0.1/", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-Amz-Target", targetPrefix+op)
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "kms", "us-east-1", time.Now()); err != nil {
			t.Skip("unsignable header value") // the SDK refuses it before it reaches kagi
		}
		rec := httptest.NewRecorder()
		before := trail.count()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", op, body, rec.Code, rec.Body)
		}
		// Exactly one record, this request's.
		var r audit.Record
		if n := trail.count(); n != before+1 {
			t.Fatalf("%s %q: %d audit records", op, body, n-before)
		}
		if err := json.Unmarshal(trail.last(), &r); err != nil || r.RequestID != rec.Header().Get("x-amzn-RequestId") || r.EventName != echoParam(op) ||
			(rec.Code == http.StatusOK) != (r.ErrorCode == "") {
			t.Fatalf("%s %q: record %s for a %d answer", op, body, trail.last(), rec.Code)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %q: response is not a JSON object: %q", op, body, rec.Body)
		}
		if rec.Code != http.StatusOK {
			if typ, _ := out["__type"].(string); typ == "" || rec.Header().Get("X-Amzn-ErrorType") != typ {
				t.Fatalf("%s %q: error without a matching __type: %v", op, body, out)
			}
		}
	})
}

// FuzzForwardedRequest sends requests of a registered service that forward
// arbitrary caller credentials (X-Kagi-Forwarded-Access-Key-Id and
// -Security-Token), signed or added after the signature, through the whole
// pipeline with a real identity store: never a 5xx, and an unsigned
// forwarding header never gets a request through.
func FuzzForwardedRequest(f *testing.F) {
	fx := newServiceFixture(f)
	h, userKey, svcKey := fx.h, fx.user.AccessKeyID, fx.svc.AccessKeyID
	signer := v4.NewSigner()
	creds := fx.svc

	f.Add("Encrypt", []byte(`{"KeyId":"alias/aws/s3","Plaintext":"aGVsbG8="}`), userKey, "", true)
	f.Add("DescribeKey", []byte(`{"KeyId":"alias/aws/s3"}`), userKey, "", false)
	f.Add("GenerateDataKey", []byte(`{"KeyId":"alias/aws/s3","NumberOfBytes":32}`), "ASIAFUZZ000000000001", "token", true)
	f.Add("Decrypt", []byte(`{"CiphertextBlob":"AQBO"}`), svcKey, "", true)
	f.Add("ListKeys", []byte(`{}`), "", "x", true)

	f.Fuzz(func(t *testing.T, op string, body []byte, akid, token string, signed bool) {
		if !validHeaderValue(akid) || !validHeaderValue(token) {
			t.Skip("not a header value an HTTP server would pass on")
		}
		req := httptest.NewRequest(http.MethodPost, "https://127.0.0.1/", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-Amz-Target", targetPrefix+op)
		forward := func() {
			req.Header.Set(ForwardedAccessKeyHeader, akid)
			if token != "" {
				req.Header.Set(ForwardedTokenHeader, token)
			}
		}
		if signed {
			forward()
		}
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "kms", "us-east-1", time.Now()); err != nil {
			t.Skip("unsignable header value")
		}
		if !signed {
			forward()
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q as %q/%q: status %d: %s", op, body, akid, token, rec.Code, rec.Body)
		}
		if !signed && rec.Code == http.StatusOK {
			t.Fatalf("%s with unsigned forwarding headers %q/%q succeeded", op, akid, token)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %q: response is not a JSON object: %q", op, body, rec.Body)
		}
	})
}

// serviceFixture is a handler over a real store and identity store with an
// account (111122223333, its root's credentials in user) and a registered
// service s3 (its credentials in svc).
type serviceFixture struct {
	h         *Handler
	user, svc aws.Credentials
}

func newServiceFixture(f *testing.F) *serviceFixture {
	dir := f.TempDir()
	root, _, err := rootkey.LoadOrCreateFile(filepath.Join(dir, "root.key"))
	if err != nil {
		f.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(dir, "kagi.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	ids := iam.New(st, root, "aws", nil)
	ctx := context.Background()
	const acct = "111122223333"
	userKey, userSecret, err := ids.CreateAccountWithID(ctx, acct)
	if err != nil {
		f.Fatal(err)
	}
	_, svcKey, svcSecret, err := ids.CreateService(ctx, "s3", "")
	if err != nil {
		f.Fatal(err)
	}
	svc, err := kms.New(kms.Config{Store: st, Keystore: software.New(root, 100), Sealer: root, Principals: ids, Services: ids,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	h := New(Config{Service: svc, IAM: ids, Auth: &auth.Verifier{Credentials: ids, Services: []string{"kms", "iam", "sts"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return &serviceFixture{h: h,
		user: aws.Credentials{AccessKeyID: userKey, SecretAccessKey: userSecret},
		svc:  aws.Credentials{AccessKeyID: svcKey, SecretAccessKey: svcSecret}}
}

// FuzzSourceArnRequest sends requests that name a source resource
// (X-Kagi-Source-Arn) with arbitrary values, signed or added after the
// signature, from the service or from an account's root, alone or with a
// forwarded caller, through the whole pipeline: never a 5xx, and no request
// gets through with the header unsigned, from anyone but the service, or
// together with a forwarded caller.
func FuzzSourceArnRequest(f *testing.F) {
	fx := newServiceFixture(f)
	signer := v4.NewSigner()
	src := "arn:aws:s3:us-east-1:111122223333:accesspoint/photos"
	f.Add("ListKeys", []byte(`{}`), src, true, true, false)
	f.Add("ListRetirableGrants", []byte(`{"RetiringServicePrincipal":"s3.amazonaws.com"}`), src, true, true, false)
	f.Add("ListKeys", []byte(`{}`), src, false, true, false)
	f.Add("ListKeys", []byte(`{}`), src, true, false, false)
	f.Add("ListKeys", []byte(`{}`), src, true, true, true)
	f.Add("GenerateDataKey", []byte(`{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/x","NumberOfBytes":32}`), "arn:aws:s3:::b", true, true, false)
	f.Add("Decrypt", []byte(`{"CiphertextBlob":"AQBO"}`), "arn:aws:s3:us-east-1:111122223333:", true, true, false)

	f.Fuzz(func(t *testing.T, op string, body []byte, sourceArn string, asService, signed, forwarded bool) {
		if !validHeaderValue(sourceArn) || sourceArn == "" {
			t.Skip("not a header value an HTTP server would pass on")
		}
		req := httptest.NewRequest(http.MethodPost, "https://127.0.0.1/", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-Amz-Target", targetPrefix+op)
		if forwarded {
			req.Header.Set(ForwardedAccessKeyHeader, fx.user.AccessKeyID)
		}
		if signed {
			req.Header.Set(SourceArnHeader, sourceArn)
		}
		creds := fx.user
		if asService {
			creds = fx.svc
		}
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "kms", "us-east-1", time.Now()); err != nil {
			t.Skip("unsignable header value")
		}
		if !signed {
			req.Header.Set(SourceArnHeader, sourceArn)
		}
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q for %q: status %d: %s", op, body, sourceArn, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK && (!signed || !asService || forwarded) {
			t.Fatalf("%s for %q succeeded (signed %v, service %v, forwarded %v)", op, sourceArn, signed, asService, forwarded)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %q: response is not a JSON object: %q", op, body, rec.Body)
		}
	})
}

// validHeaderValue reports whether s can travel as an HTTP header value:
// visible ASCII and spaces, not starting or ending with a space.
func validHeaderValue(s string) bool {
	if strings.TrimSpace(s) != s {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
