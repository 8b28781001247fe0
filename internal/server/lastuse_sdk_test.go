package server_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
	"github.com/kagikms/kagi/internal/storage"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// sdkRequestID is the x-amzn-RequestId the SDK read from a response.
func sdkRequestID(t *testing.T, md middleware.Metadata) string {
	t.Helper()
	id, ok := awsmiddleware.GetRequestIDMetadata(md)
	if !ok || id == "" {
		t.Fatal("the response carried no request id")
	}
	return id
}

func sdkLastUse(t *testing.T, c *kms.Client, keyID string) *kms.GetKeyLastUsageOutput {
	t.Helper()
	out, err := c.GetKeyLastUsage(t.Context(), &kms.GetKeyLastUsageInput{KeyId: aws.String(keyID)})
	if err != nil {
		t.Fatalf("GetKeyLastUsage %s: %v", keyID, err)
	}
	return out
}

// sdkWantLastUse checks a key's last use: op in the request reqID, whose
// audit record's eventID is the CloudTrailEventId, at a time of the
// server's clock between from and to (to the millisecond the wire carries).
func sdkWantLastUse(t *testing.T, env *servertest.Env, what string, c *kms.Client, keyID string, op types.KeyLastUsageTrackingOperation, reqID string, from, to time.Time) {
	t.Helper()
	u := sdkLastUse(t, c, keyID).KeyLastUsage
	if u == nil || u.Operation != op || aws.ToString(u.KmsRequestId) != reqID {
		t.Errorf("%s: KeyLastUsage %+v, want Operation %s, KmsRequestId %s", what, u, op, reqID)
		return
	}
	if u.Timestamp == nil || u.Timestamp.Before(from.Truncate(time.Millisecond)) || u.Timestamp.After(to) {
		t.Errorf("%s: Timestamp %v, want between %v and %v", what, u.Timestamp, from, to)
	}
	// CloudTrailEventId is the eventID of the request's audit record.
	recs, _ := auditRecords(t, env)
	eventID := ""
	for _, r := range recs {
		if r.RequestID == reqID {
			eventID = r.EventID
		}
	}
	if eventID == "" || aws.ToString(u.CloudTrailEventId) != eventID {
		t.Errorf("%s: CloudTrailEventId %q, want the eventID %q of request %s's record", what, aws.ToString(u.CloudTrailEventId), eventID, reqID)
	}
}

// TestSDKGetKeyLastUsage: a new key has no last use; a successful Encrypt
// records itself with the server's clock and the request id the SDK saw; a
// failed or dry-run call records nothing; ReEncrypt records both keys; the
// record survives a restart (written at shutdown: the periodic flush is an
// hour here).
func TestSDKGetKeyLastUsage(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithLastUseFlushInterval(time.Hour))
	ctx := t.Context()
	m := sdkCreateKey(t, env.KMS, nil)

	out := sdkLastUse(t, env.KMS, *m.KeyId)
	if u := out.KeyLastUsage; u != nil && (u.Operation != "" || u.Timestamp != nil || u.KmsRequestId != nil || u.CloudTrailEventId != nil) {
		t.Errorf("a new key has KeyLastUsage %+v, want none", u)
	}
	if aws.ToString(out.KeyId) != *m.KeyId {
		t.Errorf("KeyId %s, want the key id %s", aws.ToString(out.KeyId), *m.KeyId)
	}
	if out.KeyCreationDate == nil || !out.KeyCreationDate.Equal(*m.CreationDate) {
		t.Errorf("KeyCreationDate %v, want %v", out.KeyCreationDate, m.CreationDate)
	}
	// The key was made after the server began tracking: tracking starts
	// with the key.
	if out.TrackingStartDate == nil || !out.TrackingStartDate.Equal(*m.CreationDate) {
		t.Errorf("TrackingStartDate %v, want the creation date %v", out.TrackingStartDate, m.CreationDate)
	}

	env.Clock.Advance(3 * sdkDay) // the record must come from env.Clock, not the system clock
	before := env.Clock.Now()
	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	encID := sdkRequestID(t, enc.ResultMetadata)
	after := env.Clock.Now()
	sdkWantLastUse(t, env, "after Encrypt", env.KMS, *m.KeyId, types.KeyLastUsageTrackingOperationEncrypt, encID, before, after)
	sdkWantLastUse(t, env, "by key ARN", env.KMS, *m.Arn, types.KeyLastUsageTrackingOperationEncrypt, encID, before, after)

	// What does not succeed is no use.
	env.Clock.Advance(sdkDay)
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"k": "other"}}, sdkNoRetry)
	sdkWantErr(t, "Decrypt with the wrong context", err, "InvalidCiphertextException")
	_, err = env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("x"), DryRun: aws.Bool(true)})
	sdkWantErr(t, "DryRun Encrypt", err, "DryRunOperationException")
	_, err = env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: m.KeyId, NumberOfBytes: aws.Int32(2000)})
	sdkWantErr(t, "GenerateDataKey of 2000 bytes", err, "ValidationException")
	if _, err := env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: m.KeyId}); err != nil {
		t.Fatal(err) // not a cryptographic operation
	}
	sdkWantLastUse(t, env, "after failed calls", env.KMS, *m.KeyId, types.KeyLastUsageTrackingOperationEncrypt, encID, before, after)

	// ReEncrypt records both keys, with the one request id.
	dst := sdkCreateKey(t, env.KMS, nil)
	before = env.Clock.Now()
	re, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: map[string]string{"k": "v"}, DestinationKeyId: dst.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	reID := sdkRequestID(t, re.ResultMetadata)
	after = env.Clock.Now()
	sdkWantLastUse(t, env, "source after ReEncrypt", env.KMS, *m.KeyId, types.KeyLastUsageTrackingOperationReEncrypt, reID, before, after)
	sdkWantLastUse(t, env, "destination after ReEncrypt", env.KMS, *dst.KeyId, types.KeyLastUsageTrackingOperationReEncrypt, reID, before, after)
	reBefore, reAfter := before, after

	// The next use replaces the last.
	env.Clock.Advance(sdkDay)
	before = env.Clock.Now()
	dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob})
	if err != nil {
		t.Fatal(err)
	}
	decID := sdkRequestID(t, dec.ResultMetadata)
	after = env.Clock.Now()
	sdkWantLastUse(t, env, "after Decrypt", env.KMS, *dst.KeyId, types.KeyLastUsageTrackingOperationDecrypt, decID, before, after)

	// Kept across a restart: the flush at shutdown wrote it.
	env.Restart(t)
	sdkWantLastUse(t, env, "after restart", env.KMS, *dst.KeyId, types.KeyLastUsageTrackingOperationDecrypt, decID, before, after)
	sdkWantLastUse(t, env, "source after restart", env.KMS, *m.KeyId, types.KeyLastUsageTrackingOperationReEncrypt, reID, reBefore, reAfter)
	if out := sdkLastUse(t, env.KMS, *dst.KeyId); out.TrackingStartDate == nil || !out.TrackingStartDate.Equal(*dst.CreationDate) {
		t.Errorf("after restart TrackingStartDate %v, want %v", out.TrackingStartDate, dst.CreationDate)
	}
}

// TestSDKGetKeyLastUsageStatesAndErrors: GetKeyLastUsage answers in every
// key state, takes a key id or key ARN only, and is the action
// kms:GetKeyLastUsage.
func TestSDKGetKeyLastUsageStatesAndErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	m := sdkCreateKey(t, env.KMS, nil)
	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	encID := sdkRequestID(t, enc.ResultMetadata)
	check := func(state string) {
		t.Helper()
		if u := sdkLastUse(t, env.KMS, *m.KeyId).KeyLastUsage; u == nil || aws.ToString(u.KmsRequestId) != encID {
			t.Errorf("%s: KeyLastUsage %+v, want the Encrypt %s", state, u, encID)
		}
	}
	check("Enabled")
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: m.KeyId}); err != nil {
		t.Fatal(err)
	}
	check("Disabled")
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: m.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	check("PendingDeletion")
	imp := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	if u := sdkLastUse(t, env.KMS, *imp.KeyId).KeyLastUsage; u != nil && u.Operation != "" {
		t.Errorf("PendingImport: KeyLastUsage %+v", u)
	}

	sdkCreateAlias(t, env.KMS, "alias/last-use", *imp.KeyId)
	for _, id := range []string{"alias/last-use", sdkAliasARN(servertest.Region, "alias/last-use"), "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", sdkKeyARN("eu-west-1", *imp.KeyId)} {
		_, err := env.KMS.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String(id)})
		sdkWantErr(t, "GetKeyLastUsage "+id, err, "NotFoundException")
	}
	_, err = env.KMS.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String("arn:aws:kms:nonsense")})
	sdkWantErr(t, "GetKeyLastUsage of a malformed ARN", err, "InvalidArnException")
	_, err = env.KMS.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String("")})
	sdkWantErr(t, "GetKeyLastUsage of an empty KeyId", err, "ValidationException")

	// A key policy that denies the action (even to the account root).
	pol := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + servertest.AccountID + `:root"},"Action":"kms:*","Resource":"*"},
	 {"Effect":"Deny","Principal":{"AWS":"*"},"Action":"kms:GetKeyLastUsage","Resource":"*"}]}`
	if _, err := env.KMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: imp.KeyId, Policy: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: imp.KeyId})
	sdkWantErr(t, "GetKeyLastUsage denied by the key policy", err, "AccessDeniedException")
	if _, err := env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: imp.KeyId}); err != nil {
		t.Errorf("DescribeKey under the same policy: %v", err)
	}
}

// TestSDKGetKeyLastUsageOperations: every cryptographic operation records
// itself under its name in the KeyLastUsageTrackingOperation enum; a
// signature or MAC that does not verify records nothing.
func TestSDKGetKeyLastUsageOperations(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	sym := sdkCreateKey(t, env.KMS, nil)
	signer := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	hmacKey := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	agree := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeKeyAgreement})
	kem := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecMlKem768, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("message")
	sig, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: signer.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	if err != nil {
		t.Fatal(err)
	}
	mac, err := env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: hmacKey.KeyId, Message: msg, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
	if err != nil {
		t.Fatal(err)
	}
	encap, err := env.KMS.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: kem.KeyId, EncapsulationAlgorithm: types.EncapsulationAlgorithmSpecMlKem})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		op   types.KeyLastUsageTrackingOperation
		key  *string
		call func() (middleware.Metadata, error)
	}{
		{types.KeyLastUsageTrackingOperationGenerateDataKey, sym.KeyId, func() (middleware.Metadata, error) {
			o, err := env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: sym.KeyId, KeySpec: types.DataKeySpecAes256})
			return md(o, err, func() middleware.Metadata { return o.ResultMetadata })
		}},
		{types.KeyLastUsageTrackingOperationGenerateDataKeyWithoutPlaintext, sym.KeyId, func() (middleware.Metadata, error) {
			o, err := env.KMS.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: sym.KeyId, NumberOfBytes: aws.Int32(16)})
			return md(o, err, func() middleware.Metadata { return o.ResultMetadata })
		}},
		{types.KeyLastUsageTrackingOperationGenerateDataKeyPair, sym.KeyId, func() (middleware.Metadata, error) {
			o, err := env.KMS.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: sym.KeyId, KeyPairSpec: types.DataKeyPairSpecEccNistP256})
			return md(o, err, func() middleware.Metadata { return o.ResultMetadata })
		}},
		{types.KeyLastUsageTrackingOperationGenerateDataKeyPairWithoutPlaintext, sym.KeyId, func() (middleware.Metadata, error) {
			o, err := env.KMS.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: sym.KeyId, KeyPairSpec: types.DataKeyPairSpecEccNistP256})
			return md(o, err, func() middleware.Metadata { return o.ResultMetadata })
		}},
		{types.KeyLastUsageTrackingOperationSign, signer.KeyId, func() (middleware.Metadata, error) {
			o, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: signer.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
			return md(o, err, func() middleware.Metadata { return o.ResultMetadata })
		}},
		{types.KeyLastUsageTrackingOperationVerify, signer.KeyId, func() (middleware.Metadata, error) {
			o, err := env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: signer.KeyId, Message: msg, Signature: sig.Signature, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
			return md(o, err, func() middleware.Metadata { return o.ResultMetadata })
		}},
		{types.KeyLastUsageTrackingOperationGenerateMac, hmacKey.KeyId, func() (middleware.Metadata, error) {
			o, err := env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: hmacKey.KeyId, Message: msg, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
			return md(o, err, func() middleware.Metadata { return o.ResultMetadata })
		}},
		{types.KeyLastUsageTrackingOperationVerifyMac, hmacKey.KeyId, func() (middleware.Metadata, error) {
			o, err := env.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: hmacKey.KeyId, Message: msg, Mac: mac.Mac, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
			return md(o, err, func() middleware.Metadata { return o.ResultMetadata })
		}},
		{types.KeyLastUsageTrackingOperationDeriveSharedSecret, agree.KeyId, func() (middleware.Metadata, error) {
			o, err := env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: agree.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: sdkPeerDER(t, peer)})
			return md(o, err, func() middleware.Metadata { return o.ResultMetadata })
		}},
		{types.KeyLastUsageTrackingOperationEncapsulate, kem.KeyId, func() (middleware.Metadata, error) {
			o, err := env.KMS.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: kem.KeyId, EncapsulationAlgorithm: types.EncapsulationAlgorithmSpecMlKem})
			return md(o, err, func() middleware.Metadata { return o.ResultMetadata })
		}},
		{types.KeyLastUsageTrackingOperationDecapsulate, kem.KeyId, func() (middleware.Metadata, error) {
			o, err := env.KMS.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: kem.KeyId, EncapsulationAlgorithm: types.EncapsulationAlgorithmSpecMlKem, SharedSecretCiphertextBlob: encap.SharedSecretCiphertextBlob})
			return md(o, err, func() middleware.Metadata { return o.ResultMetadata })
		}},
	} {
		before := env.Clock.Now()
		m, err := c.call()
		if err != nil {
			t.Errorf("%s: %v", c.op, err)
			continue
		}
		sdkWantLastUse(t, env, string(c.op), env.KMS, *c.key, c.op, sdkRequestID(t, m), before, env.Clock.Now())
	}

	// A signature or a MAC that does not verify is no successful use.
	last := sdkLastUse(t, env.KMS, *hmacKey.KeyId).KeyLastUsage
	bad := append([]byte(nil), mac.Mac...)
	bad[0] ^= 1
	_, err = env.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: hmacKey.KeyId, Message: msg, Mac: bad, MacAlgorithm: types.MacAlgorithmSpecHmacSha256}, sdkNoRetry)
	sdkWantErr(t, "VerifyMac of a wrong MAC", err, "KMSInvalidMacException")
	if now := sdkLastUse(t, env.KMS, *hmacKey.KeyId).KeyLastUsage; aws.ToString(now.KmsRequestId) != aws.ToString(last.KmsRequestId) || now.Operation != last.Operation {
		t.Errorf("a failed VerifyMac changed KeyLastUsage to %+v", now)
	}
	lastSig := sdkLastUse(t, env.KMS, *signer.KeyId).KeyLastUsage
	_, err = env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: signer.KeyId, Message: []byte("other"), Signature: sig.Signature, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256}, sdkNoRetry)
	sdkWantErr(t, "Verify of another message", err, "KMSInvalidSignatureException")
	if now := sdkLastUse(t, env.KMS, *signer.KeyId).KeyLastUsage; aws.ToString(now.KmsRequestId) != aws.ToString(lastSig.KmsRequestId) {
		t.Errorf("a failed Verify changed KeyLastUsage to %+v", now)
	}
	// GetPublicKey is not a cryptographic operation AWS tracks.
	if _, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: signer.KeyId}); err != nil {
		t.Fatal(err)
	}
	if now := sdkLastUse(t, env.KMS, *signer.KeyId).KeyLastUsage; aws.ToString(now.KmsRequestId) != aws.ToString(lastSig.KmsRequestId) {
		t.Errorf("GetPublicKey changed KeyLastUsage to %+v", now)
	}
}

// md returns a call's response metadata, or its error.
func md[T any](o *T, err error, get func() middleware.Metadata) (middleware.Metadata, error) {
	if err != nil {
		return middleware.Metadata{}, err
	}
	return get(), nil
}

// BenchmarkLastUseEncrypt32 and BenchmarkLastUseOffEncrypt32 measure
// Encrypt with last-use tracking and without it, in one run:
//
//	go test -run '^$' -bench 'LastUse' -count 5 ./internal/server
func BenchmarkLastUseEncrypt32(b *testing.B) {
	c, id := benchKagi(b)
	runEncrypt(b, c, id)
}

func BenchmarkLastUseOffEncrypt32(b *testing.B) {
	env := servertest.Start(b, servertest.WithoutLastUse())
	k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{})
	if err != nil {
		b.Fatal(err)
	}
	runEncrypt(b, env.KMS, *k.KeyMetadata.KeyId)
}

// TestSDKLastUseFlushedInBatches: an Encrypt writes nothing to the store
// file (its last use waits in memory for the flush: an hour here), while
// a server flushing every 20 ms has the request id in its file soon after.
func TestSDKLastUseFlushedInBatches(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		interval time.Duration
		written  bool
	}{
		{time.Hour, false},
		{20 * time.Millisecond, true},
	} {
		env := servertest.Start(t, servertest.WithLastUseFlushInterval(c.interval))
		m := sdkCreateKey(t, env.KMS, nil)
		enc, err := env.KMS.Encrypt(t.Context(), &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		id := []byte(sdkRequestID(t, enc.ResultMetadata))
		db := filepath.Join(env.DataDir, server.DBFile)
		inFile := func() bool {
			b, err := os.ReadFile(db)
			if err != nil {
				t.Fatal(err)
			}
			return bytes.Contains(b, id)
		}
		found := false
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && !found; time.Sleep(20 * time.Millisecond) {
			found = inFile()
		}
		if found != c.written {
			t.Errorf("flush interval %v: the Encrypt's request id in the store file %v, want %v", c.interval, found, c.written)
		}
		if !c.written {
			env.Stop(t)
			if !inFile() {
				t.Error("the last use was not written when the server stopped")
			}
		}
	}
}

// TestSDKLastUseTrackingStartOfOlderDataDir: a data directory written by a
// kagi without last-use tracking (no meta/lastuse-tracking-start) starts
// tracking when the new version first runs: its older keys report that
// date as TrackingStartDate, later than their creation, and keep it
// across restarts.
func TestSDKLastUseTrackingStartOfOlderDataDir(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	old := sdkCreateKey(t, env.KMS, nil)
	env.Stop(t)
	st, err := bolt.Open(filepath.Join(env.DataDir, server.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(t.Context(), func(tx storage.Tx) error {
		if _, err := tx.Get([]byte("meta/lastuse-tracking-start")); err != nil {
			return err // the first start must have written it
		}
		return tx.Delete([]byte("meta/lastuse-tracking-start"))
	})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	env.Clock.Advance(30 * sdkDay)
	before := env.Clock.Now()
	env.Restart(t)
	after := env.Clock.Now()
	out := sdkLastUse(t, env.KMS, *old.KeyId)
	start := out.TrackingStartDate
	if start == nil || start.Before(before.Truncate(time.Millisecond)) || start.After(after) {
		t.Fatalf("TrackingStartDate of a key older than tracking: %v, want between %v and %v", start, before, after)
	}
	if !out.KeyCreationDate.Equal(*old.CreationDate) || !out.KeyCreationDate.Before(*start) {
		t.Errorf("KeyCreationDate %v, want %v, before TrackingStartDate", out.KeyCreationDate, old.CreationDate)
	}
	fresh := sdkCreateKey(t, env.KMS, nil)
	if got := sdkLastUse(t, env.KMS, *fresh.KeyId).TrackingStartDate; got == nil || !got.Equal(*fresh.CreationDate) {
		t.Errorf("TrackingStartDate of a newer key %v, want its creation %v", got, fresh.CreationDate)
	}
	env.Clock.Advance(sdkDay)
	env.Restart(t)
	if got := sdkLastUse(t, env.KMS, *old.KeyId).TrackingStartDate; got == nil || !got.Equal(*start) {
		t.Errorf("after another restart TrackingStartDate %v, want it kept at %v", got, start)
	}
}
