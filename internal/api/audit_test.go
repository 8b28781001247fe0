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
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/kagikms/kagi/internal/audit"
	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/kms"
)

// countingLog is the real audit log, noting what each Append was given
// and whether it succeeded.
type countingLog struct {
	*audit.Log
	mu      sync.Mutex
	written [][]byte
}

func (l *countingLog) Append(ctx context.Context, record []byte) error {
	if err := l.Log.Append(ctx, record); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.written = append(l.written, record)
	return nil
}

func (l *countingLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.written)
}

func (l *countingLog) last() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.written) == 0 {
		return nil
	}
	return l.written[len(l.written)-1]
}

// auditEnv is a handler over a real store, identity store and audit log.
type auditEnv struct {
	h     *Handler
	log   *countingLog
	dir   string
	creds aws.Credentials
}

func newAuditEnv(t testing.TB) *auditEnv {
	t.Helper()
	p := newHandlerParts(t)
	dir := filepath.Join(p.dir, "audit")
	al, err := audit.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { al.Close() })
	cl := &countingLog{Log: al}
	h := New(Config{Service: p.svc, IAM: p.ids, Logger: p.log, Audit: cl, Events: audit.Events{Dir: dir},
		Auth: &auth.Verifier{Credentials: p.ids, Services: []string{"kms", "iam", "sts"}}})
	return &auditEnv{h: h, log: cl, dir: dir, creds: p.creds}
}

// kms signs and serves a KMS request.
func (e *auditEnv) kms(t testing.TB, op, body string) *httptest.ResponseRecorder {
	t.Helper()
	return e.json(t, "kms", targetPrefix+op, body)
}

// json signs a JSON 1.1 request for service and serves it.
func (e *auditEnv) json(t testing.TB, service, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "https://127.0.0.1/", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), e.creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

// query signs and serves an IAM or STS request.
func (e *auditEnv) query(t testing.TB, service, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "https://127.0.0.1/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), e.creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

func (e *auditEnv) onDisk(t testing.TB) int {
	t.Helper()
	n := 0
	if err := audit.Read(e.dir, func([]byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAuditFailureWithholdsTheResult: once the audit log cannot take a
// record, a request that would return a data key or credentials gets
// KMSInternalException (InternalFailure in the query protocol) and none of
// its result; while it can, each request's record is on disk when the
// response is written.
func TestAuditFailureWithholdsTheResult(t *testing.T) {
	e := newAuditEnv(t)
	rec := e.kms(t, "CreateKey", `{}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("CreateKey: %d %s", rec.Code, rec.Body)
	}
	var ck struct{ KeyMetadata struct{ KeyId string } }
	json.Unmarshal(rec.Body.Bytes(), &ck)
	rec = e.kms(t, "GenerateDataKey", `{"KeyId":"`+ck.KeyMetadata.KeyId+`","KeySpec":"AES_256"}`)
	if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"Plaintext"`)) {
		t.Fatalf("GenerateDataKey: %d %s", rec.Code, rec.Body)
	}
	if n := e.onDisk(t); n != 2 {
		t.Fatalf("%d records on disk after two requests", n)
	}
	var last audit.Record
	if err := json.Unmarshal(e.log.last(), &last); err != nil || last.RequestID != rec.Header().Get("x-amzn-RequestId") {
		t.Fatalf("the last record %s is not the response's (%s)", e.log.last(), rec.Header().Get("x-amzn-RequestId"))
	}

	if err := e.log.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		do      func() *httptest.ResponseRecorder
		code    string
		secrets []string
	}{
		{"GenerateDataKey", func() *httptest.ResponseRecorder {
			return e.kms(t, "GenerateDataKey", `{"KeyId":"`+ck.KeyMetadata.KeyId+`","KeySpec":"AES_256"}`)
		}, `"__type":"KMSInternalException"`, []string{"Plaintext", "CiphertextBlob"}},
		{"a refused request", func() *httptest.ResponseRecorder {
			return e.kms(t, "Encrypt", `{"KeyId":"alias/none","Plaintext":"eA=="}`)
		},
			`"__type":"KMSInternalException"`, []string{"NotFound"}},
		{"CreateAccessKey", func() *httptest.ResponseRecorder {
			return e.query(t, "iam", "Action=CreateAccessKey&Version=2010-05-08")
		}, "<Code>InternalFailure</Code>", []string{"SecretAccessKey", "AccessKeyId"}},
	} {
		rec := tc.do()
		if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), tc.code) {
			t.Errorf("%s without an audit log: %d %s, want 500 %s", tc.name, rec.Code, rec.Body, tc.code)
		}
		for _, s := range tc.secrets {
			if strings.Contains(rec.Body.String(), s) {
				t.Errorf("%s without an audit log answered %s", tc.name, rec.Body)
			}
		}
	}
	if n := e.onDisk(t); n != 2 {
		t.Errorf("%d records on disk, want the 2 written before the log closed", n)
	}
}

// FuzzLookupEvents sends arbitrary LookupEvents bodies: never a 5xx, an
// AWS error shape or an Events list, and exactly one record each.
func FuzzLookupEvents(f *testing.F) {
	for _, s := range []string{`{}`, `{"MaxResults":1}`, `{"MaxResults":0}`, `{"NextToken":"a2FnaS1sb29rdXAtMTox"}`, `{"NextToken":"x"}`,
		`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"CreateKey"}]}`, `{"LookupAttributes":[{}, {}]}`,
		`{"StartTime":1e300,"EndTime":-1}`, `{"StartTime":1.5e9,"EndTime":1.6e9}`, `{"EventCategory":"insight"}`, `[]`, `{"MaxResults":"5"}`} {
		f.Add([]byte(s))
	}
	e := newAuditEnv(f)
	for range 3 {
		e.kms(f, "CreateKey", `{}`)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := e.log.count()
		rec := e.json(t, "cloudtrail", cloudTrailPrefix+"LookupEvents", string(body))
		if rec.Code >= 500 {
			t.Fatalf("%q: %d %s", body, rec.Code, rec.Body)
		}
		if n := e.log.count(); n != before+1 {
			t.Fatalf("%q: %d records", body, n-before)
		}
		var out struct {
			Type   string `json:"__type"`
			Events []audit.LookupEvent
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || (rec.Code == http.StatusOK) == (out.Type != "") ||
			rec.Code == http.StatusOK && out.Events == nil {
			t.Fatalf("%q: %d %s", body, rec.Code, rec.Body)
		}
	})
}

// BenchmarkRecordEncrypt builds the record of an Encrypt: the CPU share of
// the audit trail's cost, apart from the disk.
func BenchmarkRecordEncrypt(b *testing.B) {
	h := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	r := httptest.NewRequest(http.MethodPost, "https://127.0.0.1/", nil)
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.47.7 ua/2.1 os/linux lang/go#1.26 api/kms#1.62.4")
	keyID := "1234abcd-12ab-34cd-56ef-1234567890ab"
	ev := &event{start: time.Now(), reqID: newRequestID(), eventID: newRequestID(), source: "kms.amazonaws.com", name: "Encrypt",
		p: &auth.Principal{Identity: auth.Identity{AccountID: "111122223333", ARN: "arn:aws:iam::111122223333:root", PrincipalID: "111122223333", Type: "Root"},
			AccessKeyID: "AKIAKAGITESTROOT0001", Region: "us-east-1"},
		c:   &kms.Caller{AccountID: "111122223333", Keys: []string{"arn:aws:kms:us-east-1:111122223333:key/" + keyID}},
		in:  &kms.EncryptInput{KeyId: keyID, Plaintext: make([]byte, 32), EncryptionContext: map[string]string{"purpose": "bench"}},
		out: &kms.EncryptOutput{CiphertextBlob: make([]byte, 150), KeyId: "arn:aws:kms:us-east-1:111122223333:key/" + keyID}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.record(r, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAuditRecordBounded: requests with hundreds of kilobytes of
// parameters that fail validation leave records without them, and with
// their error messages cut, readable with the rest.
func TestAuditRecordBounded(t *testing.T) {
	e := newAuditEnv(t)
	big := strings.Repeat(`\u0001`, 120<<10)
	rec := e.kms(t, "Encrypt", `{"KeyId":"alias/x","Plaintext":"eA==","EncryptionContext":{"k":"`+big+`"}}`)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("Encrypt: %d %s", rec.Code, rec.Body)
	}
	rec = e.kms(t, "Encrypt", `{"KeyId":"alias/`+strings.Repeat("é", 300<<10)+`","Plaintext":"eA=="}`)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("Encrypt: %d %s", rec.Code, rec.Body)
	}
	rec = e.kms(t, "Encrypt", `{"KeyId":"alias/x","Plaintext":"eA==","EncryptionContext":{"k":"v"}}`)
	var got []audit.Record
	if err := audit.Read(e.dir, func(b []byte) error {
		var r audit.Record
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		if len(b) > 2*maxElements {
			t.Errorf("a record of %d bytes", len(b))
		}
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || string(got[0].RequestParameters) != "null" || got[0].ErrorCode == "" || string(got[1].RequestParameters) != "null" ||
		len(got[1].ErrorMessage) > maxErrorMessage+3 || !utf8.ValidString(got[1].ErrorMessage) ||
		!strings.Contains(string(got[2].RequestParameters), `"encryptionContext":{"k":"v"}`) {
		t.Errorf("records %+v", got)
	}
}

func TestPrintable(t *testing.T) {
	if got := printable("aws-cli/1.45 \x00é\n"+strings.Repeat("x", 2000), 20); got != "aws-cli/1.45 ???xxx..." {
		t.Errorf("printable = %q", got)
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc..."},
		{"aé", 2, "a..."},
		{"éé", 3, "é..."},
		{"", 0, ""},
	} {
		if got := truncate(tc.s, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
