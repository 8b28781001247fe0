package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/audit"
	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// auditRecords reads every record of a test server's audit trail, parsed,
// with the raw JSON of each.
func auditRecords(t testing.TB, env *servertest.Env) ([]audit.Record, [][]byte) {
	t.Helper()
	var recs []audit.Record
	var raws [][]byte
	err := audit.Read(filepath.Join(env.DataDir, server.AuditDir), func(b []byte) error {
		var r audit.Record
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("record %d is not a CloudTrail record: %w: %s", len(recs), err, b)
		}
		recs = append(recs, r)
		raws = append(raws, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, raws
}

// idRecorder is an HTTP transport that notes the x-amzn-RequestId of every
// response the server sends, retries included: the requests that must
// each have one record.
type idRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	ids  []string
}

func (r *idRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.ids = append(r.ids, resp.Header.Get("x-amzn-RequestId"))
		r.mu.Unlock()
	}
	return resp, err
}

func (r *idRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// recordingClient is the test server's HTTP client with an idRecorder.
func recordingClient(t testing.TB, env *servertest.Env) (*http.Client, *idRecorder) {
	hc := env.HTTPClient(t)
	rec := &idRecorder{next: hc.Transport}
	if rec.next == nil {
		rec.next = http.DefaultTransport
	}
	c := *hc
	c.Transport = rec
	return &c, rec
}

// checkOneRecordEach fails unless the audit trail has exactly one record
// for each request id the server answered, and no other record.
func checkOneRecordEach(t *testing.T, env *servertest.Env, ids []string) map[string]audit.Record {
	t.Helper()
	recs, _ := auditRecords(t, env)
	byID := map[string]audit.Record{}
	for _, r := range recs {
		if _, dup := byID[r.RequestID]; dup {
			t.Errorf("two records for request %s (%s)", r.RequestID, r.EventName)
		}
		byID[r.RequestID] = r
	}
	for _, id := range ids {
		if id == "" {
			t.Errorf("a response without x-amzn-RequestId")
			continue
		}
		if _, ok := byID[id]; !ok {
			t.Errorf("no record for request %s", id)
		}
	}
	if len(recs) != len(ids) {
		t.Errorf("%d records for %d requests", len(recs), len(ids))
	}
	return byID
}

// sdkErrRequestID is the request id of the response behind an SDK error.
func sdkErrRequestID(t *testing.T, err error) string {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.ServiceRequestID() == "" {
		t.Fatalf("no response with a request id behind %v", err)
	}
	return re.ServiceRequestID()
}

// rawKMS sends a KMS JSON request as the given credentials (unsigned when
// creds is nil) and returns the status, the request id, and the
// exception's name and message.
func rawKMS(t *testing.T, hc *http.Client, env *servertest.Env, creds *aws.Credentials, target string, body []byte) (status int, reqID, code, message string) {
	t.Helper()
	status, reqID, b := rawJSON(t, hc, env, creds, "kms", target, body)
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	json.Unmarshal(b, &e)
	return status, reqID, e.Type, e.Message
}

// rawJSON sends a JSON 1.1 request signed for service and returns the
// status, the request id and the body.
func rawJSON(t *testing.T, hc *http.Client, env *servertest.Env, creds *aws.Credentials, service, target string, body []byte) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.Server.URL+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("User-Agent", "kagi-audit-test")
	if creds != nil {
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), *creds, req, hex.EncodeToString(sum[:]), service, servertest.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("x-amzn-RequestId"), b
}

// sdkErrMessage is an SDK error's AWS message.
func sdkErrMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// TestAuditScenario runs a success, an AccessDenied, a bad signature, a
// DisabledException, a key pending deletion, and requests that never reach
// an operation (unsigned, unknown target, malformed JSON, the query API),
// and finds exactly one record per request, with AWS's fields: the
// request id the SDK saw, the caller, the key, the error.
func TestAuditScenario(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	hc, ids := recordingClient(t, env)
	root := servertest.NewClient(env.Server.URL, hc, servertest.Region, servertest.AccessKeyID, env.Secret)
	acct := servertest.AccountID
	rootARN := "arn:aws:iam::" + acct + ":root"

	type want struct {
		name, code, message, identityType, arn, userName, accessKey string
		keys                                                        []string
		readOnly                                                    bool
	}
	check := func(what, reqID string, w want) audit.Record {
		t.Helper()
		recs, raws := auditRecords(t, env)
		var r audit.Record
		var raw []byte
		for i := range recs {
			if recs[i].RequestID == reqID {
				r, raw = recs[i], raws[i]
			}
		}
		if r.RequestID == "" {
			t.Fatalf("%s: no record for request %q", what, reqID)
		}
		u := r.UserIdentity
		if r.EventName != w.name || r.ErrorCode != w.code || r.ErrorMessage != w.message || r.ReadOnly != w.readOnly ||
			u.Type != w.identityType || u.ARN != w.arn || u.UserName != w.userName || u.AccessKeyID != w.accessKey {
			t.Errorf("%s: record %s", what, raw)
		}
		if r.EventVersion != "1.11" || r.EventSource != "kms.amazonaws.com" || r.EventType != "AwsApiCall" || r.EventCategory != "Management" ||
			!r.ManagementEvent || r.SourceIPAddress != "127.0.0.1" || len(r.EventID) != 36 || r.EventID == r.RequestID {
			t.Errorf("%s: constant fields: %s", what, raw)
		}
		if tm, err := time.Parse(time.RFC3339, r.EventTime); err != nil || !strings.HasSuffix(r.EventTime, "Z") || time.Since(tm) > time.Minute || time.Since(tm) < -time.Second {
			t.Errorf("%s: eventTime %q", what, r.EventTime)
		}
		if r.TLSDetails == nil || r.TLSDetails.TLSVersion != "TLSv1.3" || !strings.HasPrefix(r.TLSDetails.CipherSuite, "TLS_") || r.TLSDetails.ClientProvidedHostHeader == "" {
			t.Errorf("%s: tlsDetails %+v", what, r.TLSDetails)
		}
		var got []string
		for _, res := range r.Resources {
			got = append(got, res.ARN)
			if res.Type != "AWS::KMS::Key" || res.AccountID != acct {
				t.Errorf("%s: resource %+v", what, res)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(w.keys) {
			t.Errorf("%s: resources %v, want %v", what, got, w.keys)
		}
		if w.identityType != "Unknown" && (u.AccountID != acct || r.AWSRegion != servertest.Region || r.RecipientAccountID != acct) {
			t.Errorf("%s: account and region: %s", what, raw)
		}
		return r
	}

	// Success: CreateKey answers its keyMetadata; Encrypt its parameters
	// and no response elements.
	ck, err := root.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("audited")})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := *ck.KeyMetadata.Arn
	r := check("CreateKey", sdkRequestID(t, ck.ResultMetadata), want{name: "CreateKey", identityType: "Root", arn: rootARN, accessKey: servertest.AccessKeyID, keys: []string{keyARN}})
	var created struct {
		KeyMetadata struct {
			AWSAccountID string `json:"aWSAccountId"`
			Arn          string `json:"arn"`
			KeyState     string `json:"keyState"`
			Description  string `json:"description"`
		} `json:"keyMetadata"`
	}
	if err := json.Unmarshal(r.ResponseElements, &created); err != nil || created.KeyMetadata.Arn != keyARN || created.KeyMetadata.AWSAccountID != acct ||
		created.KeyMetadata.KeyState != "Enabled" || created.KeyMetadata.Description != "audited" {
		t.Errorf("CreateKey responseElements %s", r.ResponseElements)
	}
	if string(r.RequestParameters) != `{"description":"audited"}` || r.ReadOnly {
		t.Errorf("CreateKey requestParameters %s readOnly %v", r.RequestParameters, r.ReadOnly)
	}

	enc, err := root.Encrypt(ctx, &kms.EncryptInput{KeyId: ck.KeyMetadata.KeyId, Plaintext: []byte("hello"), EncryptionContext: map[string]string{"Department": "Engineering"}})
	if err != nil {
		t.Fatal(err)
	}
	r = check("Encrypt", sdkRequestID(t, enc.ResultMetadata), want{name: "Encrypt", identityType: "Root", arn: rootARN, accessKey: servertest.AccessKeyID, keys: []string{keyARN}, readOnly: true})
	if want := `{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"Department":"Engineering"},"keyId":"` + *ck.KeyMetadata.KeyId + `"}`; string(r.RequestParameters) != want || string(r.ResponseElements) != "null" {
		t.Errorf("Encrypt requestParameters %s responseElements %s, want %s and null", r.RequestParameters, r.ResponseElements, want)
	}
	if r.UserIdentity.PrincipalID != acct || r.UserIdentity.SessionContext != nil || !strings.HasPrefix(r.UserAgent, "aws-sdk-go-v2/") || !strings.Contains(r.UserAgent, "api/kms#") {
		t.Errorf("Encrypt userIdentity %+v userAgent %q", r.UserIdentity, r.UserAgent)
	}

	// AccessDenied: a user no policy allows. The key was resolved, so it
	// is the record's resource.
	iamc := &iamCaller{env: env, hc: hc, creds: aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: env.Secret}}
	akid, secret := iamAccessKey(t, iamc, "alice")
	alice := servertest.NewClient(env.Server.URL, hc, servertest.Region, akid, secret)
	_, err = alice.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("x")})
	sdkWantErr(t, "alice's Encrypt", err, "AccessDeniedException")
	r = check("AccessDenied", sdkErrRequestID(t, err), want{name: "Encrypt", code: "AccessDenied", message: sdkErrMessage(err), identityType: "IAMUser",
		arn: "arn:aws:iam::" + acct + ":user/alice", userName: "alice", accessKey: akid, keys: []string{keyARN}, readOnly: true})
	if !strings.HasPrefix(r.UserIdentity.PrincipalID, "AIDA") || r.ErrorMessage == "" {
		t.Errorf("AccessDenied: principalId %q message %q", r.UserIdentity.PrincipalID, r.ErrorMessage)
	}

	// A bad signature: nobody is authenticated; the access key it claims,
	// and that key's account, are noted.
	forged := servertest.NewClient(env.Server.URL, hc, servertest.Region, servertest.AccessKeyID, strings.Repeat("x", 40))
	_, err = forged.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("x")})
	sdkWantErr(t, "forged Encrypt", err, "InvalidSignatureException")
	r = check("bad signature", sdkErrRequestID(t, err), want{name: "Encrypt", code: "InvalidSignatureException", message: sdkErrMessage(err),
		identityType: "Unknown", accessKey: servertest.AccessKeyID, readOnly: true})
	if string(r.RequestParameters) != "null" || r.UserIdentity.AccountID != acct || r.RecipientAccountID != acct || r.AWSRegion != servertest.Region ||
		r.UserIdentity.ARN != "" || r.UserIdentity.PrincipalID != "" {
		t.Errorf("bad signature: a record of what was not authenticated: %+v %s", r.UserIdentity, r.RequestParameters)
	}

	// DisabledException, then a key pending deletion.
	if _, err := root.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keyARN)}); err != nil {
		t.Fatal(err)
	}
	_, err = root.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("x")})
	sdkWantErr(t, "Encrypt with a disabled key", err, "DisabledException")
	check("DisabledException", sdkErrRequestID(t, err), want{name: "Encrypt", code: "DisabledException", message: sdkErrMessage(err),
		identityType: "Root", arn: rootARN, accessKey: servertest.AccessKeyID, keys: []string{keyARN}, readOnly: true})

	sched, err := root.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyARN), PendingWindowInDays: aws.Int32(7)})
	if err != nil {
		t.Fatal(err)
	}
	r = check("ScheduleKeyDeletion", sdkRequestID(t, sched.ResultMetadata), want{name: "ScheduleKeyDeletion", identityType: "Root", arn: rootARN,
		accessKey: servertest.AccessKeyID, keys: []string{keyARN}})
	if string(r.RequestParameters) != `{"keyId":"`+keyARN+`","pendingWindowInDays":7}` || !strings.Contains(string(r.ResponseElements), `"keyState":"PendingDeletion"`) ||
		!strings.Contains(string(r.ResponseElements), `"deletionDate":"`) {
		t.Errorf("ScheduleKeyDeletion: %s %s", r.RequestParameters, r.ResponseElements)
	}
	_, err = root.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"Department": "Engineering"}})
	sdkWantErr(t, "Decrypt with a key pending deletion", err, "KMSInvalidStateException")
	r = check("pending deletion", sdkErrRequestID(t, err), want{name: "Decrypt", code: "KMSInvalidStateException", message: sdkErrMessage(err),
		identityType: "Root", arn: rootARN, accessKey: servertest.AccessKeyID, keys: []string{keyARN}, readOnly: true})
	if string(r.RequestParameters) != `{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"Department":"Engineering"}}` {
		t.Errorf("Decrypt requestParameters %s: the ciphertext must not be in it", r.RequestParameters)
	}

	// Requests that never reach an operation.
	creds := &aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: env.Secret}
	for _, tc := range []struct {
		what, target, body, code string
		creds                    *aws.Credentials
		w                        want
	}{
		{"unsigned", "TrentService.ListKeys", `{}`, "MissingAuthenticationTokenException", nil,
			want{name: "ListKeys", identityType: "Unknown", readOnly: true}},
		{"unknown target", "TrentService.Frobnicate", `{}`, "UnknownOperationException", creds,
			want{name: "Frobnicate", identityType: "Root", arn: rootARN, accessKey: servertest.AccessKeyID}},
		{"malformed JSON", "TrentService.Encrypt", `{"KeyId":`, "SerializationException", creds,
			want{name: "Encrypt", identityType: "Root", arn: rootARN, accessKey: servertest.AccessKeyID, readOnly: true}},
		{"unsupported", "TrentService.ReplicateKey", `{}`, "UnsupportedOperationException", creds,
			want{name: "ReplicateKey", identityType: "Root", arn: rootARN, accessKey: servertest.AccessKeyID}},
	} {
		status, id, code, message := rawKMS(t, hc, env, tc.creds, tc.target, []byte(tc.body))
		if status != http.StatusBadRequest || code != tc.code {
			t.Errorf("%s: %d %s, want 400 %s", tc.what, status, code, tc.code)
		}
		tc.w.code, tc.w.message = tc.code, message
		r := check(tc.what, id, tc.w)
		if string(r.RequestParameters) != "null" || r.UserAgent != "kagi-audit-test" {
			t.Errorf("%s: requestParameters %s userAgent %q", tc.what, r.RequestParameters, r.UserAgent)
		}
	}

	// The query API's calls are in the trail too, as IAM's and STS's events.
	var gci callerIdentity
	iamc.ok(t, &gci, "sts", "GetCallerIdentity")
	recs, _ := auditRecords(t, env)
	last := recs[len(recs)-1]
	if last.EventSource != "sts.amazonaws.com" || last.EventName != "GetCallerIdentity" || !last.ReadOnly || last.UserIdentity.Type != "Root" {
		t.Errorf("GetCallerIdentity record %+v", last)
	}
	byID := checkOneRecordEach(t, env, ids.all())
	for _, r := range byID {
		if r.EventName == "CreateUser" && (r.EventSource != "iam.amazonaws.com" || string(r.RequestParameters) != `{"userName":"alice"}` ||
			!strings.Contains(string(r.ResponseElements), `"userName":"alice"`) || r.ReadOnly) {
			t.Errorf("CreateUser record %+v", r)
		}
	}
}

// TestAuditIdentities: the userIdentity of a role session, of a service
// calling for itself, and of a service calling on a user's behalf, as
// CloudTrail writes them.
func TestAuditIdentities(t *testing.T) {
	t.Parallel()
	e := newServicesEnv(t)
	ctx := t.Context()
	acct := servertest.AccountID
	recordOf := func(reqID string) audit.Record {
		t.Helper()
		recs, _ := auditRecords(t, e.env)
		for _, r := range recs {
			if r.RequestID == reqID {
				return r
			}
		}
		t.Fatalf("no record of request %s", reqID)
		return audit.Record{}
	}

	// A role session.
	root := rootIAMCaller(t, e.env)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`
	var role struct {
		Arn    string `xml:"CreateRoleResult>Role>Arn"`
		RoleID string `xml:"CreateRoleResult>Role>RoleId"`
	}
	root.ok(t, &role, "iam", "CreateRole", "RoleName", "auditor", "AssumeRolePolicyDocument", trust)
	akid, secret := iamAccessKey(t, root, "bob")
	root.ok(t, nil, "iam", "PutUserPolicy", "UserName", "bob", "PolicyName", "assume",
		"PolicyDocument", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	var assumed struct {
		Creds iamCredentials `xml:"AssumeRoleResult>Credentials"`
	}
	before := time.Now().Add(-time.Second)
	newIAMCaller(t, e.env, akid, secret, "").ok(t, &assumed, "sts", "AssumeRole", "RoleArn", role.Arn, "RoleSessionName", "night-shift")
	c := assumed.Creds
	session := e.env.ClientWithToken(t, servertest.Region, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	_, err := session.ListKeys(ctx, &kms.ListKeysInput{})
	sdkWantErr(t, "the session's ListKeys", err, "AccessDeniedException")
	u := recordOf(sdkErrRequestID(t, err)).UserIdentity
	sc := u.SessionContext
	if u.Type != "AssumedRole" || u.PrincipalID != role.RoleID+":night-shift" || u.ARN != "arn:aws:sts::"+acct+":assumed-role/auditor/night-shift" ||
		u.AccountID != acct || u.AccessKeyID != c.AccessKeyID || u.UserName != "" || sc == nil || sc.SessionIssuer == nil ||
		*sc.SessionIssuer != (audit.SessionIssuer{Type: "Role", PrincipalID: role.RoleID, ARN: role.Arn, AccountID: acct, UserName: "auditor"}) ||
		sc.Attributes.MFAAuthenticated != "false" {
		t.Errorf("a role session's userIdentity %+v (session context %+v)", u, sc)
	}
	if created, err := time.Parse(time.RFC3339, sc.Attributes.CreationDate); err != nil || created.Before(before.Truncate(time.Second)) || time.Since(created) > time.Minute {
		t.Errorf("creationDate %q", sc.Attributes.CreationDate)
	}

	// A service on alice's behalf, with the AWS managed key it makes.
	enc, err := e.svc.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/s3"), Plaintext: []byte("x")}, onBehalfOf(e.aliceKeyID, ""))
	if err != nil {
		t.Fatal(err)
	}
	r := recordOf(sdkRequestID(t, enc.ResultMetadata))
	u = r.UserIdentity
	if u.Type != "IAMUser" || u.UserName != "alice" || u.ARN != "arn:aws:iam::"+acct+":user/alice" || u.AccessKeyID != e.aliceKeyID ||
		u.AccountID != acct || u.InvokedBy != "s3.amazonaws.com" || !strings.HasPrefix(u.PrincipalID, "AIDA") ||
		r.SourceIPAddress != "s3.amazonaws.com" || r.UserAgent != "s3.amazonaws.com" {
		t.Errorf("on alice's behalf: userIdentity %+v, source %q, agent %q", u, r.SourceIPAddress, r.UserAgent)
	}
	if len(r.Resources) != 1 || r.Resources[0].ARN != aws.ToString(enc.KeyId) || r.RecipientAccountID != acct {
		t.Errorf("on alice's behalf: resources %+v, recipient %s; the key is %s", r.Resources, r.RecipientAccountID, aws.ToString(enc.KeyId))
	}

	// The service for itself: no account.
	_, err = e.svc.ListKeys(ctx, &kms.ListKeysInput{})
	var id string
	if err != nil {
		id = sdkErrRequestID(t, err)
	} else {
		t.Fatal("a service listed keys of no account")
	}
	r = recordOf(id)
	if r.UserIdentity != (audit.UserIdentity{Type: "AWSService", InvokedBy: "s3.amazonaws.com"}) || r.SourceIPAddress != "s3.amazonaws.com" {
		t.Errorf("the service's own call: %+v from %q", r.UserIdentity, r.SourceIPAddress)
	}
}

// TestAuditPlainHTTP: a record of a request over plain HTTP has no
// tlsDetails.
func TestAuditPlainHTTP(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithInsecureHTTP())
	out, err := env.KMS.ListKeys(t.Context(), &kms.ListKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := sdkRequestID(t, out.ResultMetadata)
	_, raws := auditRecords(t, env)
	if len(raws) != 1 || !strings.Contains(string(raws[0]), `"requestID":"`+id+`"`) || strings.Contains(string(raws[0]), "tlsDetails") ||
		!strings.Contains(string(raws[0]), `"eventName":"ListKeys"`) {
		t.Errorf("records %s", raws)
	}
}
