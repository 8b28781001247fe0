package server_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// sdkRotationStatus returns GetKeyRotationStatus of a key.
func sdkRotationStatus(t *testing.T, c *kms.Client, keyID string) *kms.GetKeyRotationStatusOutput {
	t.Helper()
	st, err := c.GetKeyRotationStatus(t.Context(), &kms.GetKeyRotationStatusInput{KeyId: aws.String(keyID)})
	if err != nil {
		t.Fatalf("GetKeyRotationStatus: %v", err)
	}
	return st
}

// sdkRotations returns every ListKeyRotations entry of a key, paging with
// limit.
func sdkRotations(t *testing.T, c *kms.Client, keyID string, include types.IncludeKeyMaterial, limit int32) []types.RotationsListEntry {
	t.Helper()
	var all []types.RotationsListEntry
	in := &kms.ListKeyRotationsInput{KeyId: aws.String(keyID), IncludeKeyMaterial: include}
	if limit > 0 {
		in.Limit = aws.Int32(limit)
	}
	for range 100 {
		out, err := c.ListKeyRotations(t.Context(), in)
		if err != nil {
			t.Fatalf("ListKeyRotations: %v", err)
		}
		if limit > 0 && len(out.Rotations) > int(limit) {
			t.Fatalf("ListKeyRotations gave %d entries for Limit %d", len(out.Rotations), limit)
		}
		all = append(all, out.Rotations...)
		if !out.Truncated {
			if out.NextMarker != nil {
				t.Errorf("last page has NextMarker %q", *out.NextMarker)
			}
			return all
		}
		in.Marker = out.NextMarker
	}
	t.Fatal("ListKeyRotations never ended")
	return nil
}

// sdkWaitRotations waits until a key has n rotations (the sweeper runs
// every 20 ms in these tests) and returns them.
func sdkWaitRotations(t *testing.T, c *kms.Client, keyID string, n int) []types.RotationsListEntry {
	t.Helper()
	var rots []types.RotationsListEntry
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rots = sdkRotations(t, c, keyID, "", 0); len(rots) >= n {
			break
		}
	}
	if len(rots) != n {
		t.Fatalf("%d rotations, want %d: %+v", len(rots), n, rots)
	}
	return rots
}

// TestSDKKeyRotation covers EnableKeyRotation, DisableKeyRotation,
// GetKeyRotationStatus, RotateKeyOnDemand and ListKeyRotations and their
// errors.
func TestSDKKeyRotation(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	c := env.KMS
	k := sdkCreateKey(t, c, nil)
	id := *k.KeyId

	st := sdkRotationStatus(t, c, id)
	if st.KeyRotationEnabled || st.RotationPeriodInDays != nil || st.NextRotationDate != nil || aws.ToString(st.KeyId) != *k.Arn {
		t.Errorf("status of a new key: %+v", st)
	}
	// The default period is 365 days, counted from EnableKeyRotation.
	env.Clock.Advance(3 * sdkDay)
	enabledAt := env.Clock.Now()
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
	st = sdkRotationStatus(t, c, id)
	if !st.KeyRotationEnabled || aws.ToInt32(st.RotationPeriodInDays) != 365 || !sdkNear(st.NextRotationDate, enabledAt.AddDate(0, 0, 365), time.Second) ||
		st.OnDemandRotationStartDate != nil {
		t.Errorf("status after EnableKeyRotation: %+v", st)
	}
	// Another period keeps the start and counts the new period from it.
	env.Clock.Advance(10 * sdkDay)
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(90)}); err != nil {
		t.Fatal(err)
	}
	st = sdkRotationStatus(t, c, id)
	if aws.ToInt32(st.RotationPeriodInDays) != 90 || !sdkNear(st.NextRotationDate, enabledAt.AddDate(0, 0, 90), time.Second) {
		t.Errorf("status after a period of 90 days: %+v", st)
	}
	for _, days := range []int32{89, 2561, 0, -1} {
		_, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(days)}, sdkNoRetry)
		sdkWantErr(t, "RotationPeriodInDays "+strconv.Itoa(int(days)), err, "ValidationException")
	}
	if st2 := sdkRotationStatus(t, c, id); aws.ToInt32(st2.RotationPeriodInDays) != 90 || !st2.NextRotationDate.Equal(*st.NextRotationDate) {
		t.Errorf("refused EnableKeyRotation changed the schedule: %+v", st2)
	}
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(2560)}); err != nil {
		t.Errorf("RotationPeriodInDays 2560: %v", err)
	}

	// On demand: a new current material, the schedule unchanged.
	before := sdkRotationStatus(t, c, id)
	ct0, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("before")})
	if err != nil {
		t.Fatal(err)
	}
	rot, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k.KeyId})
	if err != nil || aws.ToString(rot.KeyId) != *k.Arn {
		t.Fatalf("RotateKeyOnDemand: %v %+v", err, rot)
	}
	d := sdkDescribe(t, c, id)
	if aws.ToString(d.CurrentKeyMaterialId) == aws.ToString(k.CurrentKeyMaterialId) || len(aws.ToString(d.CurrentKeyMaterialId)) != 64 {
		t.Errorf("CurrentKeyMaterialId %s after rotation, %s before", aws.ToString(d.CurrentKeyMaterialId), aws.ToString(k.CurrentKeyMaterialId))
	}
	if st := sdkRotationStatus(t, c, id); !st.NextRotationDate.Equal(*before.NextRotationDate) || st.OnDemandRotationStartDate != nil {
		t.Errorf("on-demand rotation moved the schedule: %+v, was %+v", st, before)
	}
	ct1, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("after")})
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range []struct {
		blob []byte
		want string
		mat  *string
	}{{ct0.CiphertextBlob, "before", k.CurrentKeyMaterialId}, {ct1.CiphertextBlob, "after", d.CurrentKeyMaterialId}} {
		dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.blob})
		if err != nil || string(dec.Plaintext) != ct.want || aws.ToString(dec.KeyMaterialId) != aws.ToString(ct.mat) {
			t.Errorf("Decrypt %q: %v, material %s want %s", ct.want, err, aws.ToString(dec.KeyMaterialId), aws.ToString(ct.mat))
		}
	}

	// Up to 25 on-demand rotations; the 26th is refused.
	for i := 2; i <= 25; i++ {
		if _, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k.KeyId}); err != nil {
			t.Fatalf("on-demand rotation %d: %v", i, err)
		}
	}
	last := sdkDescribe(t, c, id).CurrentKeyMaterialId
	_, err = c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k.KeyId}, sdkNoRetry)
	sdkWantErr(t, "26th on-demand rotation", err, "LimitExceededException")
	if now := sdkDescribe(t, c, id).CurrentKeyMaterialId; aws.ToString(now) != aws.ToString(last) {
		t.Error("refused rotation changed the current material")
	}

	// ListKeyRotations pages through the 25 rotations, oldest first; with
	// ALL_KEY_MATERIAL the first material leads.
	rots := sdkRotations(t, c, id, types.IncludeKeyMaterialRotationsOnly, 4)
	if len(rots) != 25 {
		t.Fatalf("%d rotations, want 25", len(rots))
	}
	for i, r := range rots {
		wantState := types.KeyMaterialStateNonCurrent
		if i == 24 {
			wantState = types.KeyMaterialStateCurrent
		}
		if r.RotationType != types.RotationTypeOnDemand || r.KeyMaterialState != wantState || aws.ToString(r.KeyId) != id ||
			r.RotationDate == nil || len(aws.ToString(r.KeyMaterialId)) != 64 || r.ImportState != "" || r.ExpirationModel != "" {
			t.Errorf("rotation %d: %+v", i, r)
		}
	}
	if aws.ToString(rots[24].KeyMaterialId) != aws.ToString(last) || aws.ToString(rots[0].KeyMaterialId) != aws.ToString(d.CurrentKeyMaterialId) {
		t.Error("rotations out of order")
	}
	all := sdkRotations(t, c, id, types.IncludeKeyMaterialAllKeyMaterial, 7)
	if len(all) != 26 || aws.ToString(all[0].KeyMaterialId) != aws.ToString(k.CurrentKeyMaterialId) || all[0].RotationType != "" ||
		all[0].RotationDate != nil || all[0].KeyMaterialState != types.KeyMaterialStateNonCurrent {
		t.Errorf("ALL_KEY_MATERIAL: %d entries, first %+v", len(all), all[0])
	}
	_, err = c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: k.KeyId, Marker: aws.String("bm90IGEgbWFya2Vy")}, sdkNoRetry)
	sdkWantErr(t, "ListKeyRotations with a made-up marker", err, "InvalidMarkerException")
	_, err = c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: k.KeyId, IncludeKeyMaterial: "SOME"}, sdkNoRetry)
	sdkWantErr(t, "ListKeyRotations with an unknown IncludeKeyMaterial", err, "ValidationException")
	_, err = c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: k.KeyId, Limit: aws.Int32(1001)}, sdkNoRetry)
	sdkWantErr(t, "ListKeyRotations with Limit 1001", err, "ValidationException")

	// DisableKeyRotation stops the schedule; the materials stay.
	if _, err := c.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
	if st := sdkRotationStatus(t, c, id); st.KeyRotationEnabled || st.RotationPeriodInDays != nil || st.NextRotationDate != nil {
		t.Errorf("status after DisableKeyRotation: %+v", st)
	}
	if dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct0.CiphertextBlob}); err != nil || string(dec.Plaintext) != "before" {
		t.Errorf("Decrypt after DisableKeyRotation: %v", err)
	}
}

// TestSDKKeyRotationErrors: keys that cannot rotate, key states, the
// conflict with a due automatic rotation, and the kms:RotationPeriodInDays
// condition key.
func TestSDKKeyRotationErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	c := env.KMS
	type call struct {
		name string
		fn   func(id *string) error
	}
	enable := call{"EnableKeyRotation", func(id *string) error {
		_, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: id}, sdkNoRetry)
		return err
	}}
	disable := call{"DisableKeyRotation", func(id *string) error {
		_, err := c.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: id}, sdkNoRetry)
		return err
	}}
	onDemand := call{"RotateKeyOnDemand", func(id *string) error {
		_, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: id}, sdkNoRetry)
		return err
	}}
	list := call{"ListKeyRotations", func(id *string) error {
		_, err := c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: id}, sdkNoRetry)
		return err
	}}
	rsa := sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	hmac := sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	external := sdkCreateKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	disabled := sdkCreateKey(t, c, nil)
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: disabled.KeyId}); err != nil {
		t.Fatal(err)
	}
	pending := sdkCreateKey(t, c, nil)
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: pending.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: pending.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key   *types.KeyMetadata
		calls []call
		code  string
	}{
		{rsa, []call{enable, disable, onDemand, list}, "UnsupportedOperationException"},
		{hmac, []call{enable, disable, onDemand, list}, "UnsupportedOperationException"},
		{external, []call{enable, disable}, "UnsupportedOperationException"},
		{external, []call{onDemand}, "KMSInvalidStateException"}, // PendingImport
		{disabled, []call{enable, disable, onDemand}, "DisabledException"},
		{pending, []call{enable, disable, onDemand}, "KMSInvalidStateException"},
	} {
		for _, cl := range tc.calls {
			sdkWantErr(t, cl.name+" of "+string(tc.key.KeySpec)+" "+string(tc.key.Origin)+" "+string(tc.key.KeyState), cl.fn(tc.key.KeyId), tc.code)
		}
	}
	for _, k := range []*types.KeyMetadata{rsa, hmac, external, disabled} {
		if st := sdkRotationStatus(t, c, *k.KeyId); st.KeyRotationEnabled {
			t.Errorf("refused calls enabled rotation of %s", *k.KeyId)
		}
	}
	// ListKeyRotations works in every state of a key that can rotate.
	for _, k := range []*types.KeyMetadata{disabled, pending, external} {
		if err := list.fn(k.KeyId); err != nil {
			t.Errorf("ListKeyRotations of %s: %v", *k.KeyId, err)
		}
	}
	_, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String("alias/nope")}, sdkNoRetry)
	sdkWantErr(t, "EnableKeyRotation of an alias", err, "NotFoundException")
	_, err = c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab")}, sdkNoRetry)
	sdkWantErr(t, "RotateKeyOnDemand of a missing key", err, "NotFoundException")

	// Pending deletion reports false; CancelKeyDeletion brings the
	// schedule back.
	if st := sdkRotationStatus(t, c, *pending.KeyId); st.KeyRotationEnabled {
		t.Errorf("status while pending deletion: %+v", st)
	}
	if _, err := c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: pending.KeyId}); err != nil {
		t.Fatal(err)
	}
	if st := sdkRotationStatus(t, c, *pending.KeyId); !st.KeyRotationEnabled || aws.ToInt32(st.RotationPeriodInDays) != 365 {
		t.Errorf("status after CancelKeyDeletion: %+v", st)
	}

	// An automatic rotation due within 20 minutes refuses on-demand ones.
	k := sdkCreateKey(t, c, nil)
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(90)}); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(90*sdkDay - 30*time.Minute)
	if err := onDemand.fn(k.KeyId); err != nil {
		t.Errorf("on-demand rotation 30 minutes before an automatic one: %v", err)
	}
	env.Clock.Advance(15 * time.Minute)
	sdkWantErr(t, "on-demand rotation 15 minutes before an automatic one", onDemand.fn(k.KeyId), "ConflictException")
	if n := len(sdkRotations(t, c, *k.KeyId, "", 0)); n != 1 {
		t.Errorf("%d rotations, want the one on-demand rotation", n)
	}

	// kms:RotationPeriodInDays limits the periods callers may set.
	policy := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + servertest.AccountID + `:root"},"Action":"kms:*","Resource":"*"},
	  {"Effect":"Deny","Principal":"*","Action":"kms:EnableKeyRotation","Resource":"*",
	   "Condition":{"NumericLessThan":{"kms:RotationPeriodInDays":"180"}}}]}`
	limited := sdkCreateKey(t, c, &kms.CreateKeyInput{Policy: aws.String(policy)})
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: limited.KeyId, RotationPeriodInDays: aws.Int32(90)}, sdkNoRetry)
	sdkWantErr(t, "EnableKeyRotation with 90 days against kms:RotationPeriodInDays >= 180", err, "AccessDeniedException")
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: limited.KeyId, RotationPeriodInDays: aws.Int32(180)}); err != nil {
		t.Errorf("EnableKeyRotation with 180 days: %v", err)
	}
}

// TestSDKRotationFiveRotationsAcrossRestarts: a ciphertext made before
// each of five rotations, on-demand and scheduled by turns, decrypts after
// all of them, with the server restarted before and after every rotation.
func TestSDKRotationFiveRotationsAcrossRestarts(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithSweepInterval(20*time.Millisecond))
	k := sdkCreateKey(t, env.KMS, nil)
	if _, err := env.KMS.EnableKeyRotation(t.Context(), &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(90)}); err != nil {
		t.Fatal(err)
	}
	type sealed struct {
		blob     []byte
		text     string
		material string
	}
	var cts []sealed
	materials := map[string]bool{aws.ToString(k.CurrentKeyMaterialId): true}
	for i := range 5 {
		ctx := t.Context()
		text := "before rotation " + strconv.Itoa(i+1)
		out, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte(text), EncryptionContext: map[string]string{"n": strconv.Itoa(i)}})
		if err != nil {
			t.Fatal(err)
		}
		cur := aws.ToString(sdkDescribe(t, env.KMS, *k.KeyId).CurrentKeyMaterialId)
		cts = append(cts, sealed{out.CiphertextBlob, text, cur})
		env.Restart(t)
		if i%2 == 0 {
			if _, err := env.KMS.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k.KeyId}); err != nil {
				t.Fatalf("rotation %d on demand: %v", i+1, err)
			}
		} else {
			env.Clock.Advance(91 * sdkDay)
			sdkWaitRotations(t, env.KMS, *k.KeyId, i+1)
		}
		env.Restart(t)
		cur = aws.ToString(sdkDescribe(t, env.KMS, *k.KeyId).CurrentKeyMaterialId)
		if materials[cur] {
			t.Fatalf("rotation %d left material %s current", i+1, cur)
		}
		materials[cur] = true
	}
	rots := sdkRotations(t, env.KMS, *k.KeyId, "", 0)
	if len(rots) != 5 {
		t.Fatalf("%d rotations, want 5", len(rots))
	}
	for i, r := range rots {
		want := types.RotationTypeOnDemand
		if i%2 == 1 {
			want = types.RotationTypeAutomatic
		}
		if r.RotationType != want || !materials[aws.ToString(r.KeyMaterialId)] {
			t.Errorf("rotation %d: %s %s", i+1, r.RotationType, aws.ToString(r.KeyMaterialId))
		}
	}
	seen := map[string]bool{}
	for i, ct := range cts {
		dec, err := env.KMS.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: ct.blob, EncryptionContext: map[string]string{"n": strconv.Itoa(i)}})
		if err != nil || string(dec.Plaintext) != ct.text || aws.ToString(dec.KeyMaterialId) != ct.material {
			t.Errorf("ciphertext %d after five rotations: %v (material %s, encrypted under %s)", i, err, aws.ToString(dec.KeyMaterialId), ct.material)
			continue
		}
		seen[ct.material] = true
	}
	if len(seen) != 5 {
		t.Errorf("the five ciphertexts used %d materials, want 5", len(seen))
	}
}

// TestSDKRotationExactlyOnceAcrossRestarts: a due rotation happens once
// however often the server restarts, and one that fell due while the
// server was down happens once when it starts, however many periods it
// missed.
func TestSDKRotationExactlyOnceAcrossRestarts(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithSweepInterval(20*time.Millisecond))
	k := sdkCreateKey(t, env.KMS, nil)
	enabledAt := env.Clock.Now()
	if _, err := env.KMS.EnableKeyRotation(t.Context(), &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(100)}); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(99 * sdkDay)
	env.Restart(t)
	time.Sleep(100 * time.Millisecond) // several sweeps: nothing is due
	if n := len(sdkRotations(t, env.KMS, *k.KeyId, "", 0)); n != 0 {
		t.Fatalf("%d rotations before the period ended", n)
	}
	env.Clock.Advance(2 * sdkDay)
	sdkWaitRotations(t, env.KMS, *k.KeyId, 1)
	for range 3 {
		env.Restart(t)
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(sdkRotations(t, env.KMS, *k.KeyId, "", 0)); n != 1 {
		t.Fatalf("%d rotations after restarts, want 1", n)
	}
	st := sdkRotationStatus(t, env.KMS, *k.KeyId)
	if !sdkNear(st.NextRotationDate, enabledAt.AddDate(0, 0, 200), time.Second) {
		t.Errorf("next rotation %v, want %v", st.NextRotationDate, enabledAt.AddDate(0, 0, 200))
	}

	// Down for three periods: one rotation on start, the next a period
	// later.
	env.Stop(t)
	env.Clock.Advance(300 * sdkDay)
	restartedAt := env.Clock.Now()
	env.Restart(t)
	rots := sdkWaitRotations(t, env.KMS, *k.KeyId, 2)
	time.Sleep(100 * time.Millisecond)
	if n := len(sdkRotations(t, env.KMS, *k.KeyId, "", 0)); n != 2 {
		t.Fatalf("%d rotations after three missed periods, want 2", n)
	}
	st = sdkRotationStatus(t, env.KMS, *k.KeyId)
	if !sdkNear(st.NextRotationDate, restartedAt.AddDate(0, 0, 100), time.Second) || rots[1].RotationType != types.RotationTypeAutomatic ||
		!sdkNear(rots[1].RotationDate, restartedAt, time.Second) {
		t.Errorf("after the missed periods: next %v, rotation %+v", st.NextRotationDate, rots[1])
	}
}

// TestSDKImportedKeyRotateOnDemand: a symmetric key with imported
// material rotates on demand to new material imported with ImportType
// NEW_KEY_MATERIAL; every material stays needed for the key to work.
func TestSDKImportedKeyRotateOnDemand(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithSweepInterval(20*time.Millisecond))
	ctx := t.Context()
	c := env.KMS
	alg, spec := types.AlgorithmSpecRsaesOaepSha256, types.WrappingKeySpecRsa2048
	dnx := types.ExpirationModelTypeKeyMaterialDoesNotExpire
	k := sdkCreateKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	imp := func(material []byte, in kms.ImportKeyMaterialInput) (*kms.ImportKeyMaterialOutput, error) {
		pub, tok := sdkImportParams(t, env, *k.KeyId, alg, spec)
		in.KeyId, in.ImportToken, in.EncryptedKeyMaterial = k.KeyId, tok, sdkWrap(t, pub, alg, material)
		return c.ImportKeyMaterial(ctx, &in, sdkNoRetry)
	}
	first := randomBytes(32)
	out1, err := imp(first, kms.ImportKeyMaterialInput{ExpirationModel: dnx})
	if err != nil {
		t.Fatal(err)
	}
	ct1, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("one")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k.KeyId}, sdkNoRetry)
	sdkWantErr(t, "RotateKeyOnDemand without new material", err, "ValidationException")
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId}, sdkNoRetry)
	sdkWantErr(t, "EnableKeyRotation of an imported key", err, "UnsupportedOperationException")
	_, err = imp(first, kms.ImportKeyMaterialInput{ExpirationModel: dnx, ImportType: types.ImportTypeNewKeyMaterial})
	sdkWantErr(t, "the current material as NEW_KEY_MATERIAL", err, "IncorrectKeyMaterialException")

	second := randomBytes(32)
	validTo := env.Clock.Now().Add(200 * sdkDay).Truncate(time.Second)
	out2, err := imp(second, kms.ImportKeyMaterialInput{ValidTo: aws.Time(validTo), ImportType: types.ImportTypeNewKeyMaterial, KeyMaterialDescription: aws.String("second")})
	if err != nil {
		t.Fatalf("import of new material: %v", err)
	}
	id1, id2 := aws.ToString(out1.KeyMaterialId), aws.ToString(out2.KeyMaterialId)
	if id2 == id1 || len(id2) != 64 {
		t.Fatalf("new material id %s, first %s", id2, id1)
	}
	if d := sdkDescribe(t, c, *k.KeyId); aws.ToString(d.CurrentKeyMaterialId) != id1 || d.KeyState != types.KeyStateEnabled {
		t.Errorf("new material is current before the rotation: %s %s", aws.ToString(d.CurrentKeyMaterialId), d.KeyState)
	}
	all := sdkRotations(t, c, *k.KeyId, types.IncludeKeyMaterialAllKeyMaterial, 0)
	if len(all) != 2 || aws.ToString(all[0].KeyMaterialId) != id1 || all[0].KeyMaterialState != types.KeyMaterialStateCurrent ||
		all[0].ImportState != types.ImportStateImported || all[0].ExpirationModel != dnx ||
		aws.ToString(all[1].KeyMaterialId) != id2 || all[1].KeyMaterialState != types.KeyMaterialStatePendingRotation ||
		all[1].ImportState != types.ImportStateImported || all[1].ExpirationModel != types.ExpirationModelTypeKeyMaterialExpires ||
		all[1].ValidTo == nil || !all[1].ValidTo.Equal(validTo) || aws.ToString(all[1].KeyMaterialDescription) != "second" || all[1].RotationDate != nil {
		t.Errorf("ALL_KEY_MATERIAL before the rotation: %+v", all)
	}
	if n := len(sdkRotations(t, c, *k.KeyId, "", 0)); n != 0 {
		t.Errorf("%d rotations before the rotation", n)
	}
	_, err = imp(randomBytes(32), kms.ImportKeyMaterialInput{ExpirationModel: dnx, ImportType: types.ImportTypeNewKeyMaterial})
	sdkWantErr(t, "more new material while some is pending rotation", err, "ValidationException")

	if _, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k.KeyId}); err != nil {
		t.Fatalf("RotateKeyOnDemand: %v", err)
	}
	d := sdkDescribe(t, c, *k.KeyId)
	if aws.ToString(d.CurrentKeyMaterialId) != id2 || d.ExpirationModel != types.ExpirationModelTypeKeyMaterialExpires || d.ValidTo == nil || !d.ValidTo.Equal(validTo) {
		t.Errorf("after the rotation: material %s, %s %v", aws.ToString(d.CurrentKeyMaterialId), d.ExpirationModel, d.ValidTo)
	}
	rots := sdkRotations(t, c, *k.KeyId, "", 0)
	if len(rots) != 1 || aws.ToString(rots[0].KeyMaterialId) != id2 || rots[0].RotationType != types.RotationTypeOnDemand ||
		rots[0].KeyMaterialState != types.KeyMaterialStateCurrent || !sdkNear(rots[0].RotationDate, env.Clock.Now(), time.Second) {
		t.Errorf("rotations: %+v", rots)
	}
	ct2, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("two")})
	if err != nil {
		t.Fatal(err)
	}
	if got := openLocally(t, second, ct2.CiphertextBlob, nil); string(got) != "two" {
		t.Errorf("the new material opens %q", got)
	}
	if got := openLocally(t, first, ct1.CiphertextBlob, nil); string(got) != "one" {
		t.Errorf("the first material opens %q", got)
	}
	decryptBoth := func(what string) {
		t.Helper()
		for _, ct := range []struct {
			blob []byte
			want string
		}{{ct1.CiphertextBlob, "one"}, {ct2.CiphertextBlob, "two"}} {
			dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.blob})
			if err != nil || string(dec.Plaintext) != ct.want {
				t.Errorf("%s: Decrypt %q: %v", what, ct.want, err)
			}
		}
	}
	decryptBoth("after the rotation")
	env.Restart(t)
	c = env.KMS // the closures above use the new client
	decryptBoth("after a restart")

	// Material pending rotation may be deleted, and goes; the key stays
	// usable.
	third := randomBytes(32)
	out3, err := imp(third, kms.ImportKeyMaterialInput{ExpirationModel: dnx, ImportType: types.ImportTypeNewKeyMaterial})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: k.KeyId, KeyMaterialId: out3.KeyMaterialId}); err != nil {
		t.Fatalf("DeleteImportedKeyMaterial of pending material: %v", err)
	}
	if n := len(sdkRotations(t, c, *k.KeyId, types.IncludeKeyMaterialAllKeyMaterial, 0)); n != 2 {
		t.Errorf("%d materials after deleting the pending one, want 2", n)
	}
	if d := sdkDescribe(t, c, *k.KeyId); d.KeyState != types.KeyStateEnabled {
		t.Errorf("deleting pending material left the key %s", d.KeyState)
	}
	_, err = c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k.KeyId}, sdkNoRetry)
	sdkWantErr(t, "RotateKeyOnDemand after the pending material was deleted", err, "ValidationException")

	// Deleting a non-current material makes the key PendingImport; its
	// re-import brings everything back.
	if _, err := c.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: k.KeyId, KeyMaterialId: out1.KeyMaterialId}); err != nil {
		t.Fatal(err)
	}
	if d := sdkDescribe(t, c, *k.KeyId); d.KeyState != types.KeyStatePendingImport || aws.ToString(d.CurrentKeyMaterialId) != id2 {
		t.Errorf("after deleting the first material: %s %s", d.KeyState, aws.ToString(d.CurrentKeyMaterialId))
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct2.CiphertextBlob}, sdkNoRetry)
	sdkWantErr(t, "Decrypt while a material is deleted", err, "KMSInvalidStateException")
	all = sdkRotations(t, c, *k.KeyId, types.IncludeKeyMaterialAllKeyMaterial, 0)
	if len(all) != 2 || all[0].ImportState != types.ImportStatePendingImport || all[1].ImportState != types.ImportStateImported {
		t.Errorf("ALL_KEY_MATERIAL with the first material deleted: %+v", all)
	}
	if _, err := imp(first, kms.ImportKeyMaterialInput{ExpirationModel: dnx, ImportType: types.ImportTypeExistingKeyMaterial, KeyMaterialId: out1.KeyMaterialId}); err != nil {
		t.Fatalf("re-import of the first material: %v", err)
	}
	if d := sdkDescribe(t, c, *k.KeyId); d.KeyState != types.KeyStateEnabled || aws.ToString(d.CurrentKeyMaterialId) != id2 {
		t.Errorf("after re-import: %s %s", d.KeyState, aws.ToString(d.CurrentKeyMaterialId))
	}
	decryptBoth("after re-import")

	// The current material expires: PendingImport, until re-imported.
	env.Clock.Advance(201 * sdkDay)
	waitState(t, c, *k.KeyId, types.KeyStatePendingImport)
	if _, err := imp(second, kms.ImportKeyMaterialInput{ExpirationModel: dnx, ImportType: types.ImportTypeExistingKeyMaterial}); err != nil {
		t.Fatalf("re-import of the expired material: %v", err)
	}
	decryptBoth("after the expired material was re-imported")
}

// waitState waits until the sweeper has left a key in state.
func waitState(t *testing.T, c *kms.Client, keyID string, state types.KeyState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if sdkDescribe(t, c, keyID).KeyState == state {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("key %s never became %s", keyID, state)
}

// TestSDKRotationWaitsForDisabledKey: a key that is disabled when its
// rotation falls due does not rotate; enabled again, it rotates at once,
// and then a period later.
func TestSDKRotationWaitsForDisabledKey(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithSweepInterval(20*time.Millisecond))
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	if _, err := env.KMS.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(90)}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(100 * sdkDay)
	time.Sleep(100 * time.Millisecond) // several sweeps
	env.Restart(t)
	time.Sleep(100 * time.Millisecond)
	if n := len(sdkRotations(t, env.KMS, *k.KeyId, "", 0)); n != 0 {
		t.Fatalf("a disabled key rotated %d times", n)
	}
	if st := sdkRotationStatus(t, env.KMS, *k.KeyId); !st.KeyRotationEnabled {
		t.Errorf("disabled key's rotation status: %+v", st)
	}
	enabledAt := env.Clock.Now()
	if _, err := env.KMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
	sdkWaitRotations(t, env.KMS, *k.KeyId, 1)
	time.Sleep(100 * time.Millisecond)
	if n := len(sdkRotations(t, env.KMS, *k.KeyId, "", 0)); n != 1 {
		t.Fatalf("%d rotations after EnableKey, want 1", n)
	}
	if st := sdkRotationStatus(t, env.KMS, *k.KeyId); !sdkNear(st.NextRotationDate, enabledAt.AddDate(0, 0, 90), time.Second) {
		t.Errorf("next rotation %v, want %v", st.NextRotationDate, enabledAt.AddDate(0, 0, 90))
	}
}

// TestAuthzRotationActions: each rotation operation needs its own action
// (kms:EnableKeyRotation, kms:DisableKeyRotation, kms:GetKeyRotationStatus,
// kms:RotateKeyOnDemand, kms:ListKeyRotations), and a refused call changes
// nothing.
func TestAuthzRotationActions(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	acct := servertest.AccountID
	key := sdkCreateKey(t, env.KMS, nil)
	keyARN := *key.Arn
	calls := map[string]func(c *kms.Client) error{
		"EnableKeyRotation": func(c *kms.Client) error {
			_, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: key.KeyId})
			return err
		},
		"DisableKeyRotation": func(c *kms.Client) error {
			_, err := c.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: key.KeyId})
			return err
		},
		"GetKeyRotationStatus": func(c *kms.Client) error {
			_, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: key.KeyId})
			return err
		},
		"RotateKeyOnDemand": func(c *kms.Client) error {
			_, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: key.KeyId})
			return err
		},
		"ListKeyRotations": func(c *kms.Client) error {
			_, err := c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: key.KeyId})
			return err
		},
	}
	for _, allowed := range []string{"EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand", "ListKeyRotations"} {
		user, userARN := authzUser(t, env, root, acct, "only-"+allowed,
			authzPolicy(`{"Effect":"Allow","Action":"kms:`+allowed+`","Resource":"*"}`))
		for op, call := range calls {
			err := call(user)
			if op == allowed {
				if err != nil {
					t.Errorf("%s with kms:%s allowed: %v", op, allowed, err)
				}
				continue
			}
			authzDenied(t, op+" with only kms:"+allowed, err, "User: "+userARN+" is not authorized to perform: kms:"+op+" on resource: "+keyARN+
				" because no identity-based policy allows the kms:"+op+" action")
		}
	}
	// Only the one allowed RotateKeyOnDemand rotated the key.
	if n := len(sdkRotations(t, env.KMS, *key.KeyId, "", 0)); n != 1 {
		t.Errorf("%d rotations, want 1", n)
	}
}
