package server_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server/servertest"
)

const throttleMessage = "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."

// TestQuotaFlood floods Encrypt past a low symmetric quota (20 per second)
// from many goroutines for two seconds, the SDK's retries off: some calls
// are throttled, none fails otherwise, and the successes are the bucket's
// burst plus its rate over the flood. Meanwhile DescribeKey (a quota of its
// own) and another account's Encrypt (its own bucket) still succeed. Every
// throttled call is answered as AWS does, leaves a record with errorCode
// ThrottlingException, and is counted by kagi_throttled_requests_total.
func TestQuotaFlood(t *testing.T) {
	const rate, flood, workers = 20, 2 * time.Second, 16
	env := servertest.Start(t, servertest.WithQuotas("symmetric=20"), servertest.WithMetrics())
	ctx := context.Background()
	key := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{})
	other := env.CreateAccount(t)
	oc := env.Client(t, servertest.Region, other.AccessKeyID, other.Secret)
	otherKey := sdkCreateKey(t, oc, &kms.CreateKeyInput{})

	in := &kms.EncryptInput{KeyId: key.KeyId, Plaintext: []byte("flood")}
	var ok, throttled atomic.Int64
	var mu sync.Mutex
	var others []string
	start := time.Now()
	end := start.Add(flood)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(end) {
				_, err := env.KMS.Encrypt(ctx, in, sdkNoRetry)
				switch {
				case err == nil:
					ok.Add(1)
				case sdkErrCode(err) == "ThrottlingException" && sdkStatus(err) == http.StatusBadRequest && strings.Contains(err.Error(), throttleMessage):
					throttled.Add(1)
				default:
					mu.Lock()
					others = append(others, err.Error())
					mu.Unlock()
				}
			}
		})
	}
	// Legitimate calls in other quotas, spaced well below them.
	var legit []string
	var legitN int
	for time.Now().Before(end.Add(-200 * time.Millisecond)) {
		if _, err := env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: key.KeyId}, sdkNoRetry); err != nil {
			legit = append(legit, "DescribeKey: "+err.Error())
		}
		if _, err := oc.Encrypt(ctx, &kms.EncryptInput{KeyId: otherKey.KeyId, Plaintext: []byte("x")}, sdkNoRetry); err != nil {
			legit = append(legit, "other account's Encrypt: "+err.Error())
		}
		legitN++
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	elapsed := time.Since(start)

	if len(others) > 0 {
		t.Errorf("%d calls failed with something other than ThrottlingException, first: %s", len(others), others[0])
	}
	if len(legit) > 0 || legitN < 10 {
		t.Errorf("%d rounds of calls in other quotas, failures: %v", legitN, legit)
	}
	n, th := ok.Load(), throttled.Load()
	if th == 0 {
		t.Fatalf("no call throttled among %d", n)
	}
	// The bucket starts full (20) and refills at 20/s from the first
	// Encrypt on: at most burst + rate × elapsed succeed; at least most of
	// that, a slow machine sending fewer than the bucket allows.
	most := rate + int64(float64(rate)*elapsed.Seconds()) + 1
	least := int64(float64(rate+rate*flood.Seconds()) * 0.8)
	if n > most || n < least {
		t.Errorf("%d Encrypts succeeded in %v at %d/s (burst %d), want %d..%d", n, elapsed, rate, rate, least, most)
	}
	t.Logf("flood: %d succeeded, %d throttled in %v; %d rounds of legitimate calls succeeded", n, th, elapsed, legitN)

	recs, _ := auditRecords(t, env)
	var recThrottled int64
	for _, r := range recs {
		if r.EventName == "Encrypt" && r.ErrorCode == "ThrottlingException" {
			recThrottled++
			if r.ErrorMessage != throttleMessage {
				t.Errorf("record's errorMessage %q", r.ErrorMessage)
			}
		}
	}
	if recThrottled != th {
		t.Errorf("%d records with errorCode ThrottlingException, want %d", recThrottled, th)
	}
	mfs := scrape(t, env.Server.MetricsURL)
	if v, _ := metricValue(mfs, "kagi_throttled_requests_total", nil); int64(v) != th {
		t.Errorf("kagi_throttled_requests_total = %v, want %d", v, th)
	}
}

// TestQuotaRetriesSucceed sends a burst of Encrypts over the symmetric
// quota with the SDK's retries on (ThrottlingException is a throttle error
// to its retryer, which backs off): every call succeeds in the end.
func TestQuotaRetriesSucceed(t *testing.T) {
	env := servertest.Start(t, servertest.WithQuotas("symmetric=20"))
	key := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			_, err := env.KMS.Encrypt(context.Background(), &kms.EncryptInput{KeyId: key.KeyId, Plaintext: []byte("x")},
				func(o *kms.Options) { o.RetryMaxAttempts = 10 })
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a call failed despite retries: %v", err)
	}
	recs, _ := auditRecords(t, env)
	var th int
	for _, r := range recs {
		if r.ErrorCode == "ThrottlingException" {
			th++
		}
	}
	if th == 0 {
		t.Error("no call was throttled: the burst did not exceed the quota")
	}
	t.Logf("40 Encrypts at 20/s: %d throttled attempts, all retried to success", th)
}

// TestQuotaDefaultsCreateKey checks AWS's default CreateKey quota (5 per
// second): a burst of ten concurrent CreateKeys, retries off, gets some
// throttled, and a throttled CreateKey creates no key.
func TestQuotaDefaultsCreateKey(t *testing.T) {
	env := servertest.Start(t, servertest.WithQuotas())
	ctx := context.Background()
	var ok, throttled atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 10 {
		wg.Go(func() {
			_, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{}, sdkNoRetry)
			switch sdkErrCode(err) {
			case "":
				ok.Add(1)
			case "ThrottlingException":
				throttled.Add(1)
			default:
				t.Errorf("CreateKey: %v", err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if throttled.Load() == 0 || ok.Load() < 5 || float64(ok.Load()) > 5+5*elapsed.Seconds()+1 {
		t.Errorf("10 CreateKeys in %v at 5/s: %d created, %d throttled", elapsed, ok.Load(), throttled.Load())
	}
	if n := len(sdkAllKeyIDs(t, env.KMS)); int64(n) != ok.Load() {
		t.Errorf("%d keys after %d successful CreateKeys: a throttled one created a key", n, ok.Load())
	}
	recs, _ := auditRecords(t, env)
	var th int64
	for _, r := range recs {
		if r.EventName == "CreateKey" && r.ErrorCode == "ThrottlingException" {
			th++
			if len(r.Resources) != 0 || len(r.ResponseElements) > 0 && string(r.ResponseElements) != "null" {
				t.Errorf("a throttled CreateKey's record names a key: %s", r.ResponseElements)
			}
		}
	}
	if th != throttled.Load() {
		t.Errorf("%d CreateKey records with ThrottlingException, want %d", th, throttled.Load())
	}
}

// TestQuotaClasses checks what counts against which quota: the key's type
// picks the shared cryptographic quota, GenerateRandom counts against the
// symmetric one, GenerateDataKeyPair against its spec's, and each quota
// is apart from the others. A quota of 0.001 per second admits one
// request, then none for the test's life.
func TestQuotaClasses(t *testing.T) {
	env := servertest.Start(t, servertest.WithQuotas(
		"symmetric=0.001", "rsa=0.001", "ecc=0.001", "GenerateDataKeyPair/ECC_NIST_P256=0.001", "DescribeKey=0.001"))
	ctx := context.Background()
	c := env.KMS
	sym := sdkCreateKey(t, c, &kms.CreateKeyInput{})
	rsa := sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	ecc := sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	hmac := sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	msg := []byte("message")
	sign := func(k *types.KeyMetadata, alg types.SigningAlgorithmSpec) func() error {
		return func() error {
			_, err := c.Sign(ctx, &kms.SignInput{KeyId: k.KeyId, Message: msg, SigningAlgorithm: alg}, sdkNoRetry)
			return err
		}
	}
	steps := []struct {
		name string
		call func() error
		want string
	}{
		{"Encrypt (symmetric)", func() error {
			_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: msg}, sdkNoRetry)
			return err
		}, ""},
		{"GenerateMac (HMAC shares symmetric)", func() error {
			_, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: hmac.KeyId, Message: msg, MacAlgorithm: types.MacAlgorithmSpecHmacSha256}, sdkNoRetry)
			return err
		}, "ThrottlingException"},
		{"GenerateRandom (symmetric)", func() error {
			_, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(8)}, sdkNoRetry)
			return err
		}, "ThrottlingException"},
		{"Sign (RSA)", sign(rsa, types.SigningAlgorithmSpecRsassaPssSha256), ""},
		{"Sign (RSA) again", sign(rsa, types.SigningAlgorithmSpecRsassaPssSha256), "ThrottlingException"},
		{"Sign (ECC)", sign(ecc, types.SigningAlgorithmSpecEcdsaSha256), ""},
		{"Sign (ECC) again", sign(ecc, types.SigningAlgorithmSpecEcdsaSha256), "ThrottlingException"},
		{"GenerateDataKeyPair ECC_NIST_P256", func() error {
			_, err := c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: sym.KeyId, KeyPairSpec: types.DataKeyPairSpecEccNistP256}, sdkNoRetry)
			return err
		}, ""},
		{"GenerateDataKeyPair ECC_NIST_P256 again", func() error {
			_, err := c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: sym.KeyId, KeyPairSpec: types.DataKeyPairSpecEccNistP256}, sdkNoRetry)
			return err
		}, "ThrottlingException"},
		{"GenerateDataKeyPair ECC_NIST_P384 (its own quota)", func() error {
			_, err := c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: sym.KeyId, KeyPairSpec: types.DataKeyPairSpecEccNistP384}, sdkNoRetry)
			return err
		}, ""},
		{"DescribeKey", func() error {
			_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: sym.KeyId}, sdkNoRetry)
			return err
		}, ""},
		{"DescribeKey again", func() error {
			_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: sym.KeyId}, sdkNoRetry)
			return err
		}, "ThrottlingException"},
		{"GetPublicKey (its own quota)", func() error {
			_, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: rsa.KeyId}, sdkNoRetry)
			return err
		}, ""},
	}
	for _, s := range steps {
		if got := sdkErrCode(s.call()); got != s.want {
			t.Errorf("%s: %q, want %q", s.name, got, s.want)
		}
	}
	// Another account has buckets of its own. An Encrypt with a key that
	// does not exist counts against its symmetric quota, so that a flood
	// of them is throttled too.
	other := env.CreateAccount(t)
	oc := env.Client(t, servertest.Region, other.AccessKeyID, other.Secret)
	missing := aws.String("1234abcd-12ab-34cd-56ef-1234567890ab")
	_, err := oc.Encrypt(ctx, &kms.EncryptInput{KeyId: missing, Plaintext: msg}, sdkNoRetry)
	if got := sdkErrCode(err); got != "NotFoundException" {
		t.Errorf("another account's Encrypt with a missing key: %q, want NotFoundException", got)
	}
	_, err = oc.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(8)}, sdkNoRetry)
	if got := sdkErrCode(err); got != "ThrottlingException" {
		t.Errorf("GenerateRandom after an Encrypt with a missing key: %q, want ThrottlingException", got)
	}
	_, err = oc.Encrypt(ctx, &kms.EncryptInput{KeyId: missing, Plaintext: msg}, sdkNoRetry)
	if got := sdkErrCode(err); got != "ThrottlingException" {
		t.Errorf("a second Encrypt with a missing key: %q, want ThrottlingException", got)
	}
	third := env.CreateAccount(t)
	tc := env.Client(t, servertest.Region, third.AccessKeyID, third.Secret)
	if _, err := tc.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(8)}, sdkNoRetry); err != nil {
		t.Errorf("a third account's GenerateRandom: %v", err)
	}
}

// TestResourceQuotas checks the resource quotas the other tests do not:
// customer managed keys per account and Region (lowered to 3 here; AWS's
// is 100,000) and the 32 KB key policy on PutKeyPolicy. Each refusal is
// LimitExceededException and changes nothing.
func TestResourceQuotas(t *testing.T) {
	env := servertest.Start(t, servertest.WithMaxKeys(3))
	ctx := context.Background()
	var first *types.KeyMetadata
	for range 3 {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{})
		if first == nil {
			first = k
		}
	}
	_, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{}, sdkNoRetry)
	sdkWantErr(t, "4th key of 3", err, "LimitExceededException")
	if n := len(sdkAllKeyIDs(t, env.KMS)); n != 3 {
		t.Errorf("%d keys after the refused CreateKey, want 3", n)
	}
	// Another Region has a quota of its own.
	west := env.Client(t, "us-west-2", servertest.AccessKeyID, env.Secret)
	if _, err := west.CreateKey(ctx, &kms.CreateKeyInput{}, sdkNoRetry); err != nil {
		t.Errorf("a key in another Region: %v", err)
	}
	// Deleting a key (once erased) is not needed to see the count: a key
	// pending deletion still counts, as on AWS.
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: first.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.CreateKey(ctx, &kms.CreateKeyInput{}, sdkNoRetry)
	sdkWantErr(t, "a key while one of 3 is pending deletion", err, "LimitExceededException")

	k := sdkCreateKey(t, west, &kms.CreateKeyInput{})
	before, err := west.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("default")})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("x", 32768) + `","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}`
	_, err = west.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("default"), Policy: aws.String(big)}, sdkNoRetry)
	sdkWantErr(t, "PutKeyPolicy over 32 KB", err, "LimitExceededException")
	after, err := west.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("default")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(after.Policy) != aws.ToString(before.Policy) {
		t.Error("the refused PutKeyPolicy changed the policy")
	}
}

// TestQuotaFile runs a server with a quota file that turns every quota
// off ("all", applied first wherever it stands) and then sets CreateKey's
// and DescribeKey's to one request: the second of each is throttled, and
// a burst of GenerateDataKeyPair past AWS's default for its spec is not.
func TestQuotaFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quotas.json")
	if err := os.WriteFile(path, []byte(`{"CreateKey": 0.001, "all": "off", "DescribeKey": 0.001}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := servertest.Start(t, servertest.WithQuotaFile(path))
	ctx := context.Background()
	k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{})
	_, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{}, sdkNoRetry)
	sdkWantErr(t, "second CreateKey at 0.001/s", err, "ThrottlingException")
	if _, err := env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId}, sdkNoRetry); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId}, sdkNoRetry)
	sdkWantErr(t, "second DescribeKey at 0.001/s", err, "ThrottlingException")
	// AWS's GenerateDataKeyPair (ECC_NIST_P521) quota is 5 per second;
	// "all": "off" turned it off.
	for i := range 12 {
		in := &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: k.KeyId, KeyPairSpec: types.DataKeyPairSpecEccNistP521}
		if _, err := env.KMS.GenerateDataKeyPairWithoutPlaintext(ctx, in, sdkNoRetry); err != nil {
			t.Fatalf("GenerateDataKeyPair %d with its quota off: %v", i, err)
		}
	}
}
