package server_test

// Helpers shared by the *_sdk_test.go files: integration tests that drive
// a real kagi server through aws-sdk-go-v2. Every name here starts with
// "sdk" so that it cannot collide with helpers of other test files in the
// package.

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/server/servertest"
)

var (
	sdkUUID       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	sdkMaterialID = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// sdkKeyARN is the ARN a key of the test account has in a Region.
func sdkKeyARN(region, keyID string) string {
	return "arn:aws:kms:" + region + ":" + servertest.AccountID + ":key/" + keyID
}

// sdkAliasARN is the ARN of an alias ("alias/…") of the test account.
func sdkAliasARN(region, name string) string {
	return "arn:aws:kms:" + region + ":" + servertest.AccountID + ":" + name
}

// sdkNoRetry turns the SDK's retries off for one call, except after a
// broken connection. The Go SDK retries LimitExceededException as a
// throttling error, and a test that expects a client fault should see a
// 5xx at once rather than after retries; but a call must not fail because
// the client read from a connection it had itself closed (aws-sdk-go-v2
// issue #2737: about 1% of calls without retries).
func sdkNoRetry(o *kms.Options) {
	o.RetryMaxAttempts = 0
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = 3
		so.RateLimiter = ratelimit.None
		so.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
	})
}

// sdkErrCode returns the AWS error code of err ("" for nil).
func sdkErrCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "<not an API error: " + err.Error() + ">"
}

// sdkStatus returns the HTTP status of a failed SDK call (0 if unknown).
func sdkStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// sdkWantErr checks that err is the AWS exception code, sent with a
// client-fault status.
func sdkWantErr(t *testing.T, what string, err error, code string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want %s", what, code)
		return
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: %v, want the API error %s", what, err, code)
		return
	}
	if ae.ErrorCode() != code {
		t.Errorf("%s: %s (%s), want %s", what, ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	if s := sdkStatus(err); s >= 500 || s < 400 {
		t.Errorf("%s: HTTP status %d, want a 4xx", what, s)
	}
}

// sdkCreateKey creates a key and fails the test if it cannot.
func sdkCreateKey(t *testing.T, c *kms.Client, in *kms.CreateKeyInput) *types.KeyMetadata {
	t.Helper()
	if in == nil {
		in = &kms.CreateKeyInput{}
	}
	out, err := c.CreateKey(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return out.KeyMetadata
}

// sdkDescribe returns a key's metadata and fails the test if it cannot.
func sdkDescribe(t *testing.T, c *kms.Client, keyID string) *types.KeyMetadata {
	t.Helper()
	out, err := c.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		t.Fatalf("DescribeKey %s: %v", keyID, err)
	}
	return out.KeyMetadata
}

// sdkCreateAlias creates an alias and fails the test if it cannot.
func sdkCreateAlias(t *testing.T, c *kms.Client, name, target string) {
	t.Helper()
	if _, err := c.CreateAlias(t.Context(), &kms.CreateAliasInput{AliasName: aws.String(name), TargetKeyId: aws.String(target)}); err != nil {
		t.Fatalf("CreateAlias %s → %s: %v", name, target, err)
	}
}

// sdkAllKeyIDs lists every key id of the client's account and Region.
func sdkAllKeyIDs(t *testing.T, c *kms.Client) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		for _, k := range page.Keys {
			ids[aws.ToString(k.KeyId)] = true
		}
	}
	return ids
}

// sdkAliasTargets lists the aliases of the client's account and Region
// (or of one key) as name → target key id.
func sdkAliasTargets(t *testing.T, c *kms.Client, keyID *string) map[string]string {
	t.Helper()
	m := map[string]string{}
	p := kms.NewListAliasesPaginator(c, &kms.ListAliasesInput{KeyId: keyID})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListAliases: %v", err)
		}
		for _, a := range page.Aliases {
			m[aws.ToString(a.AliasName)] = aws.ToString(a.TargetKeyId)
		}
	}
	return m
}

// sdkNear reports whether got is within tolerance of want.
func sdkNear(got *time.Time, want time.Time, tolerance time.Duration) bool {
	if got == nil {
		return false
	}
	d := got.Sub(want)
	return d >= -tolerance && d <= tolerance
}
