package server_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestSDKScheduledDeletionErasesMaterial: keys of every kind — symmetric,
// RSA, ECC, ML-DSA, HMAC, imported symmetric and imported HMAC — are
// scheduled for deletion; the clock moves past the window and the sweeper
// erases them; once the store is compacted, none of their sealed material
// versions, none of their unsealed material and no imported material is
// in any file of the data directory, while a kept key is untouched.
func TestSDKScheduledDeletionErasesMaterial(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithSweepInterval(20*time.Millisecond))
	ctx := t.Context()
	var doomed []string
	for _, in := range []*kms.CreateKeyInput{
		{},
		{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeEncryptDecrypt},
		{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify},
		{KeySpec: types.KeySpecMlDsa44, KeyUsage: types.KeyUsageTypeSignVerify},
		{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac},
	} {
		doomed = append(doomed, *sdkCreateKey(t, env.KMS, in).KeyId)
	}
	// A rotated key: both its materials go.
	rotated := doomed[0]
	if _, err := env.KMS.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: aws.String(rotated)}); err != nil {
		t.Fatal(err)
	}
	// Imported material: symmetric and HMAC.
	imported := map[string][]byte{}
	for _, c := range []struct {
		in       *kms.CreateKeyInput
		material []byte
	}{
		{&kms.CreateKeyInput{Origin: types.OriginTypeExternal}, randomBytes(32)},
		{&kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: types.KeySpecHmac384, KeyUsage: types.KeyUsageTypeGenerateVerifyMac}, randomBytes(48)},
	} {
		m := sdkCreateKey(t, env.KMS, c.in)
		alg := types.AlgorithmSpecRsaesOaepSha256
		pub, tok := sdkImportParams(t, env, *m.KeyId, alg, types.WrappingKeySpecRsa2048)
		if _, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
			EncryptedKeyMaterial: sdkWrap(t, pub, alg, c.material), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
			t.Fatal(err)
		}
		doomed = append(doomed, *m.KeyId)
		imported["imported material of "+*m.KeyId] = c.material
	}
	// Kept: one key of origin EXTERNAL (sdkCheckErased's proof that
	// compaction kept live records) and one generated key.
	keepImported := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	keep := sdkCreateKey(t, env.KMS, nil)
	keepCT, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: keep.KeyId, Plaintext: []byte("kept")})
	if err != nil {
		t.Fatal(err)
	}

	// Used before the restart, so their last uses are stored (flushed at
	// shutdown), and again after it, so they wait in memory: neither
	// outlives the keys.
	use := func() {
		t.Helper()
		if _, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(doomed[0]), Plaintext: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(doomed[4]), Message: []byte("x"), MacAlgorithm: types.MacAlgorithmSpecHmacSha256}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(doomed[5]), NumberOfBytes: aws.Int32(32)}); err != nil {
			t.Fatal(err)
		}
	}
	use()

	// Every sealed version and the unsealed material of the doomed keys.
	env.Stop(t)
	secrets := map[string][]byte{}
	isDoomed := map[string]bool{}
	sealed := 0
	for _, id := range doomed {
		isDoomed[id] = true
	}
	sdkEachRecordAll(t, filepath.Join(env.DataDir, server.DBFile), func(id string, _ []byte, all [][]byte) {
		if !isDoomed[id] {
			return
		}
		if len(all) == 0 {
			t.Errorf("key %s has no sealed material", id)
		}
		if id == rotated && len(all) != 2 {
			t.Errorf("rotated key %s has %d sealed materials, want 2", id, len(all))
		}
		sealed += len(all)
		for i, s := range all {
			secrets["sealed material "+id+"#"+string(rune('0'+i))] = s
		}
	})
	for name, pt := range unsealAll(t, env.DataDir) {
		if id, _, _ := strings.Cut(name, "#"); isDoomed[id] {
			secrets["unsealed material of "+name] = pt
		}
	}
	for name, m := range imported {
		secrets[name] = m
	}
	if want := 2*sealed + len(imported); len(secrets) != want {
		t.Fatalf("collected %d secrets of the doomed keys, want %d", len(secrets), want)
	}
	env.Restart(t)
	use()

	for i, id := range doomed {
		// An alias each: ListAliases shows it until the sweeper erases the
		// key (ListKeys hides a key as soon as its date has passed).
		sdkCreateAlias(t, env.KMS, "alias/doomed-"+string(rune('a'+i)), id)
		if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)}); err != nil {
			t.Fatal(err)
		}
	}
	env.Clock.Advance(7*sdkDay + time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for len(sdkAliasTargets(t, env.KMS, nil)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the deletion date the doomed keys' aliases are still listed: %v", sdkAliasTargets(t, env.KMS, nil))
		}
		time.Sleep(20 * time.Millisecond)
	}
	ids := sdkAllKeyIDs(t, env.KMS)
	if !ids[*keep.KeyId] || !ids[*keepImported.KeyId] {
		t.Fatalf("ListKeys after the sweep: %v, want the two kept keys", ids)
	}
	// Nothing names a deleted key any more: no record, alias, index
	// entry or last use. The audit trail alone keeps their history, ids
	// included, as CloudTrail does.
	names := map[string][]byte{}
	for _, id := range doomed {
		names["id of deleted key "+id] = []byte(id)
	}
	sdkCheckErased(t, env, secrets)
	checkAbsent(t, "the data directory outside the audit trail", sdkDirBytesOutside(t, env.DataDir, server.AuditDir), names)
	if trail := sdkDirBytes(t, filepath.Join(env.DataDir, server.AuditDir)); !bytes.Contains(trail, []byte(doomed[0])) {
		t.Error("the audit trail does not name the deleted key")
	}
	sdkEachRecordAll(t, filepath.Join(env.DataDir, server.DBFile), func(id string, _ []byte, _ [][]byte) {
		if isDoomed[id] {
			t.Errorf("the record of deleted key %s is still in the store", id)
		}
	})

	// The kept key still works on the compacted store.
	env.Restart(t)
	dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: keepCT.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "kept" {
		t.Errorf("Decrypt under the kept key after compaction: %v", err)
	}
}

// sdkWantMessage checks an error's code and its message as AWS words it.
func sdkWantMessage(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	var e smithy.APIError
	if !errors.As(err, &e) || e.ErrorCode() != code || e.ErrorMessage() != msg {
		t.Errorf("%s: %v, want %s %q", what, err, code, msg)
	}
}

// TestSDKDeletionKeyStateTable: ScheduleKeyDeletion and CancelKeyDeletion
// in every key state kagi has, as the key-state table has them
// (Unavailable, Creating and Updating belong to custom key stores and
// multi-Region keys, which kagi does not have).
func TestSDKDeletionKeyStateTable(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	schedule := func(id *string) (*kms.ScheduleKeyDeletionOutput, error) {
		return env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(7)}, sdkNoRetry)
	}
	cancel := func(id *string) error {
		_, err := env.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: id}, sdkNoRetry)
		return err
	}
	state := func(m *types.KeyMetadata) types.KeyState { return sdkDescribe(t, env.KMS, *m.KeyId).KeyState }
	notPending := func(m *types.KeyMetadata) string { return *m.Arn + " is not pending deletion." }

	// Enabled: scheduling succeeds; cancelling is refused.
	enabled := sdkCreateKey(t, env.KMS, nil)
	sdkWantMessage(t, "CancelKeyDeletion of an Enabled key", cancel(enabled.KeyId), "KMSInvalidStateException", notPending(enabled))
	if s := state(enabled); s != types.KeyStateEnabled {
		t.Errorf("the refused cancel left the key %s", s)
	}
	if out, err := schedule(enabled.KeyId); err != nil || out.KeyState != types.KeyStatePendingDeletion {
		t.Errorf("ScheduleKeyDeletion of an Enabled key: %v", err)
	}

	// Disabled: the same.
	disabled := sdkCreateKey(t, env.KMS, nil)
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: disabled.KeyId}); err != nil {
		t.Fatal(err)
	}
	sdkWantMessage(t, "CancelKeyDeletion of a Disabled key", cancel(disabled.KeyId), "KMSInvalidStateException", notPending(disabled))
	if out, err := schedule(disabled.KeyId); err != nil || out.KeyState != types.KeyStatePendingDeletion {
		t.Errorf("ScheduleKeyDeletion of a Disabled key: %v", err)
	}

	// PendingDeletion: scheduling again is refused and changes nothing;
	// cancelling leaves the key Disabled (whatever it was before).
	for _, m := range []*types.KeyMetadata{enabled, disabled} {
		before := sdkDescribe(t, env.KMS, *m.KeyId)
		_, err := schedule(m.KeyId)
		sdkWantMessage(t, "ScheduleKeyDeletion of a PendingDeletion key", err, "KMSInvalidStateException", *m.Arn+" is pending deletion.")
		if after := sdkDescribe(t, env.KMS, *m.KeyId); !after.DeletionDate.Equal(*before.DeletionDate) || after.KeyState != types.KeyStatePendingDeletion {
			t.Errorf("the refused schedule changed the key: %s %v", after.KeyState, after.DeletionDate)
		}
		if err := cancel(m.KeyId); err != nil {
			t.Errorf("CancelKeyDeletion of a PendingDeletion key: %v", err)
		}
		if s := state(m); s != types.KeyStateDisabled {
			t.Errorf("after CancelKeyDeletion the key is %s, want Disabled", s)
		}
	}

	// PendingImport: scheduling succeeds, cancelling a key not scheduled is
	// refused; cancelled, a key without material is PendingImport again.
	pendingImport := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	sdkWantMessage(t, "CancelKeyDeletion of a PendingImport key", cancel(pendingImport.KeyId), "KMSInvalidStateException", notPending(pendingImport))
	if out, err := schedule(pendingImport.KeyId); err != nil || out.KeyState != types.KeyStatePendingDeletion {
		t.Errorf("ScheduleKeyDeletion of a PendingImport key: %v", err)
	}
	if err := cancel(pendingImport.KeyId); err != nil {
		t.Errorf("CancelKeyDeletion of a scheduled PendingImport key: %v", err)
	}
	if s := state(pendingImport); s != types.KeyStatePendingImport {
		t.Errorf("after CancelKeyDeletion the key without material is %s, want PendingImport", s)
	}

	// An imported key whose material is deleted while it is pending
	// deletion: it stays PendingDeletion, and a cancel leaves it
	// PendingImport.
	imp := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	alg := types.AlgorithmSpecRsaesOaepSha256
	pub, tok := sdkImportParams(t, env, *imp.KeyId, alg, types.WrappingKeySpecRsa2048)
	if _, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: imp.KeyId, ImportToken: tok,
		EncryptedKeyMaterial: sdkWrap(t, pub, alg, randomBytes(32)), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
		t.Fatal(err)
	}
	if _, err := schedule(imp.KeyId); err != nil {
		t.Fatal(err)
	}
	if _, err := env.KMS.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: imp.KeyId}); err != nil {
		t.Fatalf("DeleteImportedKeyMaterial of a PendingDeletion key: %v", err)
	}
	if s := state(imp); s != types.KeyStatePendingDeletion {
		t.Errorf("after DeleteImportedKeyMaterial the scheduled key is %s, want PendingDeletion", s)
	}
	if err := cancel(imp.KeyId); err != nil {
		t.Fatal(err)
	}
	if s := state(imp); s != types.KeyStatePendingImport {
		t.Errorf("after CancelKeyDeletion the key whose material was deleted is %s, want PendingImport", s)
	}

	// PendingWindowInDays outside 7–30 (and the ValidationException's
	// wording).
	for _, days := range []int32{-1, 0, 6, 31} {
		_, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: imp.KeyId, PendingWindowInDays: aws.Int32(days)}, sdkNoRetry)
		sdkWantErr(t, "a window of days outside 7–30", err, "ValidationException")
	}
	if s := state(imp); s != types.KeyStatePendingImport {
		t.Errorf("refused schedules left the key %s", s)
	}
	// Key id or key ARN only.
	sdkCreateAlias(t, env.KMS, "alias/deletion-table", *disabled.KeyId)
	_, err := schedule(aws.String("alias/deletion-table"))
	sdkWantErr(t, "ScheduleKeyDeletion by alias", err, "NotFoundException")
	sdkWantErr(t, "CancelKeyDeletion by alias", cancel(aws.String("alias/deletion-table")), "NotFoundException")
}

// sdkDirBytesOutside is sdkDirBytes without the subdirectory skip.
func sdkDirBytesOutside(t *testing.T, dir, skip string) []byte {
	t.Helper()
	var all []byte
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == filepath.Join(dir, skip) {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(path)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}
