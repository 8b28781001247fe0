package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// sdkWire sends raw JSON 1.1 requests, signed or not, to a test server.
type sdkWire struct {
	t   *testing.T
	env *servertest.Env
	hc  *http.Client
}

func newSDKWire(t *testing.T, env *servertest.Env) *sdkWire {
	return &sdkWire{t: t, env: env, hc: env.HTTPClient(t)}
}

// sdkWireReq is one raw request.
type sdkWireReq struct {
	method   string // "" is POST
	path     string // "" is "/"
	target   string // X-Amz-Target; "" leaves the header out
	body     string
	akid     string // "" with secret "": unsigned
	secret   string
	region   string    // "" is us-east-1
	signedAt time.Time // zero is now
}

// sdkWireResp is a raw response.
type sdkWireResp struct {
	status int
	header http.Header
	body   []byte
	obj    map[string]any // the body as a JSON object, if it is one
}

// root fills in the test server's root credentials.
func (w *sdkWire) root(r sdkWireReq) sdkWireReq {
	r.akid, r.secret = servertest.AccessKeyID, w.env.Secret
	return r
}

// do sends r; it fails the test on a transport error and reports any 5xx.
func (w *sdkWire) do(r sdkWireReq) sdkWireResp {
	t := w.t
	t.Helper()
	method, path, region := r.method, r.path, r.region
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/"
	}
	if region == "" {
		region = "us-east-1"
	}
	req, err := http.NewRequestWithContext(t.Context(), method, w.env.Server.URL+path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if r.target != "" {
		req.Header.Set("X-Amz-Target", r.target)
	}
	if r.akid != "" {
		when := r.signedAt
		if when.IsZero() {
			when = time.Now()
		}
		sum := sha256.Sum256([]byte(r.body))
		creds := aws.Credentials{AccessKeyID: r.akid, SecretAccessKey: r.secret}
		if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), "kms", region, when); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, r.target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := sdkWireResp{status: resp.StatusCode, header: resp.Header, body: body}
	_ = json.Unmarshal(body, &out.obj)
	if resp.StatusCode >= 500 {
		t.Errorf("%s %s %q: HTTP %d %s", method, r.target, r.body, resp.StatusCode, body)
	}
	return out
}

// checkCommon checks what every KMS response carries.
func (w *sdkWire) checkCommon(what string, r sdkWireResp) {
	w.t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		w.t.Errorf("%s: Content-Type %q", what, ct)
	}
	if id := r.header.Get("x-amzn-RequestId"); !sdkUUID.MatchString(id) {
		w.t.Errorf("%s: x-amzn-RequestId %q, want a UUID", what, id)
	}
	if r.obj == nil {
		w.t.Errorf("%s: body is not a JSON object: %q", what, r.body)
	}
}

// checkError checks an error response: status 400 and AWS's JSON error
// shape {"__type": code, "message": "..."}.
func (w *sdkWire) checkError(what string, r sdkWireResp, code string) {
	w.t.Helper()
	if r.status < 300 {
		w.t.Errorf("%s: HTTP %d %.200s, want 400 %s", what, r.status, r.body, code)
		return
	}
	w.checkCommon(what, r)
	if r.status != http.StatusBadRequest {
		w.t.Errorf("%s: HTTP %d, want 400", what, r.status)
	}
	if typ, _ := r.obj["__type"].(string); typ != code {
		w.t.Errorf("%s: __type %q, want %q (body %s)", what, r.obj["__type"], code, r.body)
	}
	if _, ok := r.obj["message"].(string); !ok {
		w.t.Errorf("%s: no string member \"message\" in %s", what, r.body)
	}
	for k := range r.obj {
		if k != "__type" && k != "message" {
			w.t.Errorf("%s: unexpected member %q in the error body %s", what, k, r.body)
		}
	}
	if h := r.header.Get("X-Amzn-ErrorType"); h != "" && h != code {
		w.t.Errorf("%s: X-Amzn-ErrorType %q disagrees with __type %q", what, h, code)
	}
}

// TestSDKProtocolErrors sends malformed, misrouted and badly signed
// requests and checks the exception, status, headers and error shape of
// each answer.
func TestSDKProtocolErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	w := newSDKWire(t, env)
	k := sdkCreateKey(t, env.KMS, nil)
	kid := *k.KeyId
	cases := []struct {
		name string
		req  sdkWireReq
		want string
	}{
		{"unknown operation", w.root(sdkWireReq{target: "TrentService.Nope", body: `{}`}), "UnknownOperationException"},
		{"no X-Amz-Target", w.root(sdkWireReq{body: `{}`}), "UnknownOperationException"},
		{"another service's target prefix", w.root(sdkWireReq{target: "DynamoDB_20120810.ListKeys", body: `{}`}), "UnknownOperationException"},
		{"operation name in lower case", w.root(sdkWireReq{target: "TrentService.listkeys", body: `{}`}), "UnknownOperationException"},
		{"truncated JSON", w.root(sdkWireReq{target: "TrentService.DescribeKey", body: `{"KeyId":`}), "SerializationException"},
		{"not JSON", w.root(sdkWireReq{target: "TrentService.DescribeKey", body: `KeyId=x`}), "SerializationException"},
		{"JSON array", w.root(sdkWireReq{target: "TrentService.ListKeys", body: `[1]`}), "SerializationException"},
		{"JSON string", w.root(sdkWireReq{target: "TrentService.ListKeys", body: `"x"`}), "SerializationException"},
		{"number for a string member", w.root(sdkWireReq{target: "TrentService.DescribeKey", body: `{"KeyId": 5}`}), "SerializationException"},
		{"string for an integer member", w.root(sdkWireReq{target: "TrentService.ListKeys", body: `{"Limit": "3"}`}), "SerializationException"},
		{"fraction for an integer member", w.root(sdkWireReq{target: "TrentService.GenerateRandom", body: `{"NumberOfBytes": 1.5}`}), "SerializationException"},
		{"object for a list member", w.root(sdkWireReq{target: "TrentService.UntagResource", body: `{"KeyId":"` + kid + `","TagKeys":{"a":"b"}}`}), "SerializationException"},
		{"number in the context map", w.root(sdkWireReq{target: "TrentService.Encrypt", body: `{"KeyId":"` + kid + `","Plaintext":"aGVsbG8=","EncryptionContext":{"a":1}}`}), "SerializationException"},
		{"invalid base64 in Plaintext", w.root(sdkWireReq{target: "TrentService.Encrypt", body: `{"KeyId":"` + kid + `","Plaintext":"!!!not base64!!!"}`}), "SerializationException"},
		{"invalid base64 in CiphertextBlob", w.root(sdkWireReq{target: "TrentService.Decrypt", body: `{"CiphertextBlob":"%%%%"}`}), "SerializationException"},
		{"unsigned", sdkWireReq{target: "TrentService.ListKeys", body: `{}`}, "MissingAuthenticationTokenException"},
		{"wrong secret", sdkWireReq{target: "TrentService.ListKeys", body: `{}`, akid: servertest.AccessKeyID, secret: "not-the-secret-0123456789"}, "InvalidSignatureException"},
		{"unknown access key", sdkWireReq{target: "TrentService.ListKeys", body: `{}`, akid: "AKIAUNKNOWNKEY000001", secret: "whatever-0123456789"}, "UnrecognizedClientException"},
		{"signed 10 minutes ago", w.root(sdkWireReq{target: "TrentService.ListKeys", body: `{}`, signedAt: time.Now().Add(-10 * time.Minute)}), "InvalidSignatureException"},
		{"signed 10 minutes ahead", w.root(sdkWireReq{target: "TrentService.ListKeys", body: `{}`, signedAt: time.Now().Add(10 * time.Minute)}), "InvalidSignatureException"},
	}
	for _, c := range cases {
		w.checkError(c.name, w.do(c.req), c.want)
	}

	// A body changed after signing.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, env.Server.URL+"/", strings.NewReader(`{"Limit":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService.ListKeys")
	sum := sha256.Sum256([]byte(`{"Limit":2}`))
	if err := v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: env.Secret},
		req, hex.EncodeToString(sum[:]), "kms", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte(`"InvalidSignatureException"`)) {
		t.Errorf("body changed after signing: HTTP %d %s", resp.StatusCode, body)
	}

	// A body over the 1 MiB limit is refused as a client error.
	big := w.do(w.root(sdkWireReq{target: "TrentService.ListKeys", body: `{"Marker":"` + strings.Repeat("a", 2<<20) + `"}`}))
	if big.status < 400 || big.status >= 500 {
		t.Errorf("2 MiB body: HTTP %d, want a 4xx", big.status)
	}

	// Other methods and paths are never a server error.
	for _, r := range []sdkWireReq{
		{method: http.MethodGet, path: "/"},
		w.root(sdkWireReq{method: http.MethodPut, target: "TrentService.ListKeys", body: `{}`}),
		w.root(sdkWireReq{path: "/other", target: "TrentService.ListKeys", body: `{}`}),
	} {
		if got := w.do(r); got.status < 400 {
			t.Errorf("%s %s: HTTP %d, want a 4xx", r.method, r.path, got.status)
		}
	}
}

// TestSDKProtocolSuccess checks successful responses on the wire: status,
// headers, PascalCase members, base64 blobs, epoch-second timestamps, and
// an order-insensitive encryption context.
func TestSDKProtocolSuccess(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	w := newSDKWire(t, env)

	r := w.do(w.root(sdkWireReq{target: "TrentService.CreateKey", body: `{"Description":"wire"}`}))
	w.checkCommon("CreateKey", r)
	if r.status != http.StatusOK {
		t.Fatalf("CreateKey: HTTP %d %s", r.status, r.body)
	}
	md, _ := r.obj["KeyMetadata"].(map[string]any)
	kid, _ := md["KeyId"].(string)
	if !sdkUUID.MatchString(kid) || md["Arn"] != sdkKeyARN("us-east-1", kid) || md["Description"] != "wire" {
		t.Errorf("CreateKey KeyMetadata: %v", md)
	}
	if created, ok := md["CreationDate"].(float64); !ok || time.Since(time.Unix(int64(created), 0)).Abs() > time.Minute {
		t.Errorf("CreationDate %v (%T), want epoch seconds close to now", md["CreationDate"], md["CreationDate"])
	}

	r2 := w.do(w.root(sdkWireReq{target: "TrentService.ListKeys", body: `{}`}))
	w.checkCommon("ListKeys", r2)
	keys, _ := r2.obj["Keys"].([]any)
	if r2.status != http.StatusOK || len(keys) != 1 || r2.obj["Truncated"] != false {
		t.Errorf("ListKeys: HTTP %d %s", r2.status, r2.body)
	}
	if _, ok := r2.obj["NextMarker"]; ok {
		t.Errorf("ListKeys: a NextMarker on the only page: %s", r2.body)
	}
	if r.header.Get("x-amzn-RequestId") == r2.header.Get("x-amzn-RequestId") {
		t.Error("two responses share a request id")
	}

	// An operation without output members answers a JSON object.
	r3 := w.do(w.root(sdkWireReq{target: "TrentService.DisableKey", body: `{"KeyId":"` + kid + `"}`}))
	w.checkCommon("DisableKey", r3)
	if r3.status != http.StatusOK {
		t.Errorf("DisableKey: HTTP %d %s", r3.status, r3.body)
	}
	w.do(w.root(sdkWireReq{target: "TrentService.EnableKey", body: `{"KeyId":"` + kid + `"}`}))

	// Blobs are standard, padded base64.
	pt := []byte("wire plaintext?>")
	r4 := w.do(w.root(sdkWireReq{target: "TrentService.Encrypt",
		body: `{"KeyId":"` + kid + `","Plaintext":"` + base64.StdEncoding.EncodeToString(pt) + `","EncryptionContext":{"x":"1","y":"2"}}`}))
	w.checkCommon("Encrypt", r4)
	b64, _ := r4.obj["CiphertextBlob"].(string)
	if _, err := base64.StdEncoding.DecodeString(b64); err != nil || r4.status != http.StatusOK {
		t.Fatalf("Encrypt: HTTP %d, CiphertextBlob %q is not standard base64: %v", r4.status, b64, err)
	}
	if r4.obj["KeyId"] != sdkKeyARN("us-east-1", kid) || r4.obj["EncryptionAlgorithm"] != "SYMMETRIC_DEFAULT" {
		t.Errorf("Encrypt: %s", r4.body)
	}
	// The context's pairs in either order.
	for _, ec := range []string{`{"x":"1","y":"2"}`, `{"y":"2","x":"1"}`} {
		r := w.do(w.root(sdkWireReq{target: "TrentService.Decrypt", body: `{"CiphertextBlob":"` + b64 + `","EncryptionContext":` + ec + `}`}))
		got, _ := r.obj["Plaintext"].(string)
		if r.status != http.StatusOK || got != base64.StdEncoding.EncodeToString(pt) {
			t.Errorf("Decrypt with context %s: HTTP %d %s", ec, r.status, r.body)
		}
	}
	// JSON null is an absent member.
	r5 := w.do(w.root(sdkWireReq{target: "TrentService.Decrypt", body: `{"CiphertextBlob":"` + b64 + `","EncryptionContext":{"x":"1","y":"2"},"KeyId":null,"GrantTokens":null}`}))
	if r5.status != http.StatusOK {
		t.Errorf("Decrypt with null members: HTTP %d %s", r5.status, r5.body)
	}
	// Unknown members are ignored, so that members added to the API later
	// do not break older servers.
	r6 := w.do(w.root(sdkWireReq{target: "TrentService.ListKeys", body: `{"Unknown":"member"}`}))
	if r6.status != http.StatusOK {
		t.Errorf("ListKeys with an unknown member: HTTP %d %s", r6.status, r6.body)
	}

	// GenerateDataKeyWithoutPlaintext sends no Plaintext member at all.
	r7 := w.do(w.root(sdkWireReq{target: "TrentService.GenerateDataKeyWithoutPlaintext", body: `{"KeyId":"` + kid + `","KeySpec":"AES_256"}`}))
	w.checkCommon("GenerateDataKeyWithoutPlaintext", r7)
	if _, ok := r7.obj["Plaintext"]; ok || r7.status != http.StatusOK || r7.obj["CiphertextBlob"] == nil {
		t.Errorf("GenerateDataKeyWithoutPlaintext: HTTP %d %s", r7.status, r7.body)
	}

	// The SDK sees the request id too.
	out, err := env.KMS.ListKeys(t.Context(), &kms.ListKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || !sdkUUID.MatchString(id) {
		t.Errorf("SDK request id %q %v", id, ok)
	}
}

// sdkUnimplemented is every KMS operation kagi does not implement yet. As
// operations are implemented they leave this list.
var sdkUnimplemented = []string{
	"ConnectCustomKeyStore", "CreateCustomKeyStore", "DeleteCustomKeyStore",
	"DescribeCustomKeyStores",
	"DisconnectCustomKeyStore", "ReplicateKey",
	"UpdateCustomKeyStore", "UpdatePrimaryRegion",
}

// TestSDKUnsupportedOperations: operations of the KMS API that kagi does
// not implement answer UnsupportedOperationException (not
// UnknownOperationException), through the SDK and on the wire.
func TestSDKUnsupportedOperations(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	id := k.KeyId
	calls := []struct {
		name string
		call func() error
	}{
		{"ReplicateKey", func() error {
			_, err := env.KMS.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: id, ReplicaRegion: aws.String("us-west-2")})
			return err
		}},
		{"DescribeCustomKeyStores", func() error {
			_, err := env.KMS.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{})
			return err
		}},
	}
	for _, c := range calls {
		err := c.call()
		sdkWantErr(t, c.name, err, "UnsupportedOperationException")
		var u *types.UnsupportedOperationException
		if err != nil && !errors.As(err, &u) {
			t.Errorf("%s: %T, want *types.UnsupportedOperationException", c.name, err)
		}
	}

	w := newSDKWire(t, env)
	for _, op := range sdkUnimplemented {
		w.checkError(op, w.do(w.root(sdkWireReq{target: "TrentService." + op, body: `{"KeyId":"` + *id + `"}`})), "UnsupportedOperationException")
	}
	// Nothing happened to the key.
	if d := sdkDescribe(t, env.KMS, *id); d.KeyState != types.KeyStateEnabled {
		t.Errorf("key state %s", d.KeyState)
	}
}

// TestSDKAuthErrorsThroughSDK checks how the SDK sees authentication
// failures.
func TestSDKAuthErrorsThroughSDK(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	for _, c := range []struct {
		name, akid, secret, want string
	}{
		{"wrong secret", servertest.AccessKeyID, "not-the-secret-0123456789", "InvalidSignatureException"},
		{"unknown access key", "AKIAUNKNOWNKEY000001", env.Secret, "UnrecognizedClientException"},
	} {
		c2 := env.Client(t, "us-east-1", c.akid, c.secret)
		_, err := c2.ListKeys(t.Context(), &kms.ListKeysInput{}, sdkNoRetry)
		sdkWantErr(t, c.name, err, c.want)
	}
}

// TestSDKWireTagValueRequired: Tag.TagValue is a required member of the
// model (it may be empty, but not absent), so a tag without one is
// ValidationException ("Value null at 'tags.1.member.tagValue' failed to
// satisfy constraint: Member must not be null"). The SDKs check this
// client-side; other clients reach the server. kagi accepts the tag today
// and stores an empty value.
func TestSDKWireTagValueRequired(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	w := newSDKWire(t, env)
	k := sdkCreateKey(t, env.KMS, nil)
	for _, c := range []struct{ name, target, body string }{
		{"TagResource, TagValue absent", "TrentService.TagResource", `{"KeyId":"` + *k.KeyId + `","Tags":[{"TagKey":"a"}]}`},
		{"TagResource, TagValue null", "TrentService.TagResource", `{"KeyId":"` + *k.KeyId + `","Tags":[{"TagKey":"b","TagValue":null}]}`},
		{"CreateKey, TagValue absent", "TrentService.CreateKey", `{"Tags":[{"TagKey":"c"}]}`},
	} {
		w.checkError(c.name, w.do(w.root(sdkWireReq{target: c.target, body: c.body})), "ValidationException")
	}
	if tags := sdkListTags(t, env.KMS, *k.KeyId); len(tags) != 0 {
		t.Errorf("tags without a value were stored: %v", sdkTagMap(tags))
	}
	if ids := sdkAllKeyIDs(t, env.KMS); len(ids) != 1 {
		t.Errorf("%d keys, want 1: CreateKey with a tag without a value created a key", len(ids))
	}
}
