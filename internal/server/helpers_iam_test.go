package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// iamCaller sends IAM and STS query requests, signed with SigV4 by the
// AWS SDK's signer, to a test server.
type iamCaller struct {
	env   *servertest.Env
	hc    *http.Client
	creds aws.Credentials
}

func newIAMCaller(t testing.TB, env *servertest.Env, akid, secret, token string) *iamCaller {
	return &iamCaller{env: env, hc: env.HTTPClient(t), creds: aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token}}
}

func rootIAMCaller(t testing.TB, env *servertest.Env) *iamCaller {
	return newIAMCaller(t, env, servertest.AccessKeyID, env.Secret, "")
}

// iamResp is an answer of the query protocol.
type iamResp struct {
	Status  int
	Body    []byte
	Code    string // of an <ErrorResponse>
	Message string
}

// call runs an action of service ("iam" or "sts") with parameters given
// as name, value pairs.
func (c *iamCaller) call(t testing.TB, service, action string, params ...string) iamResp {
	t.Helper()
	q := url.Values{"Action": {action}, "Version": {map[string]string{"iam": "2010-05-08", "sts": "2011-06-15"}[service]}}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	body := q.Encode()
	req, err := http.NewRequest(http.MethodPost, c.env.Server.URL+"/", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), c.creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := iamResp{Status: resp.StatusCode, Body: b}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := xml.Unmarshal(b, &e); err != nil || e.Error.Code == "" {
			t.Fatalf("%s: status %d without an ErrorResponse: %s", action, resp.StatusCode, b)
		}
		r.Code, r.Message = e.Error.Code, e.Error.Message
	}
	return r
}

// ok runs an action that must succeed and decodes its answer into v (may
// be nil), whose XML paths start below <ActionResponse>.
func (c *iamCaller) ok(t testing.TB, v any, service, action string, params ...string) {
	t.Helper()
	r := c.call(t, service, action, params...)
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d %s: %s", action, r.Status, r.Code, r.Message)
	}
	if v != nil {
		if err := xml.Unmarshal(r.Body, v); err != nil {
			t.Fatalf("%s: %v\n%s", action, err, r.Body)
		}
	}
}

// fails runs an action that must fail with an HTTP status and error code.
func (c *iamCaller) fails(t testing.TB, status int, code, service, action string, params ...string) iamResp {
	t.Helper()
	r := c.call(t, service, action, params...)
	if r.Status != status || r.Code != code {
		t.Fatalf("%s: %d %s (%s), want %d %s", action, r.Status, r.Code, r.Message, status, code)
	}
	return r
}

// iamAccessKey creates a user with an access key and returns the key.
func iamAccessKey(t testing.TB, root *iamCaller, user string) (akid, secret string) {
	t.Helper()
	root.ok(t, nil, "iam", "CreateUser", "UserName", user)
	var out struct {
		AKID   string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	root.ok(t, &out, "iam", "CreateAccessKey", "UserName", user)
	if out.AKID == "" || out.Secret == "" {
		t.Fatalf("CreateAccessKey gave %+v", out)
	}
	return out.AKID, out.Secret
}

// iamCredentials is the Credentials element of AssumeRole and
// GetSessionToken.
type iamCredentials struct {
	AccessKeyID     string    `xml:"AccessKeyId"`
	SecretAccessKey string    `xml:"SecretAccessKey"`
	SessionToken    string    `xml:"SessionToken"`
	Expiration      time.Time `xml:"Expiration"`
}

// callerIdentity is GetCallerIdentity's answer.
type callerIdentity struct {
	Arn     string `xml:"GetCallerIdentityResult>Arn"`
	UserID  string `xml:"GetCallerIdentityResult>UserId"`
	Account string `xml:"GetCallerIdentityResult>Account"`
}

// iamKMSCode is the AWS error code of a KMS client's error ("" for none).
func iamKMSCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// iamKMSListKeys calls ListKeys once, without the SDK's retries.
func iamKMSListKeys(c *kms.Client) error {
	_, err := c.ListKeys(context.Background(), &kms.ListKeysInput{}, func(o *kms.Options) { o.RetryMaxAttempts = 1 })
	return err
}
