package server_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server/servertest"
)

const sdkDay = 24 * time.Hour

// TestSDKScheduleKeyDeletion checks the waiting period (default 30 days,
// 7 to 30), the response, and what DescribeKey shows afterwards.
func TestSDKScheduleKeyDeletion(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	for _, c := range []struct {
		name   string
		window *int32
		days   int
		byARN  bool
	}{
		{"default", nil, 30, false},
		{"7 days", aws.Int32(7), 7, true},
		{"30 days", aws.Int32(30), 30, false},
	} {
		m := sdkCreateKey(t, env.KMS, nil)
		id := *m.KeyId
		if c.byARN {
			id = *m.Arn
		}
		before := time.Now()
		out, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: c.window})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		window := time.Duration(c.days) * sdkDay
		if !sdkNear(out.DeletionDate, before.Add(window), 5*time.Second) {
			t.Errorf("%s: DeletionDate %v, want about %v", c.name, out.DeletionDate, before.Add(window))
		}
		if aws.ToString(out.KeyId) != *m.Arn || out.KeyState != types.KeyStatePendingDeletion || aws.ToInt32(out.PendingWindowInDays) != int32(c.days) {
			t.Errorf("%s: response KeyId %s KeyState %s PendingWindowInDays %d", c.name, aws.ToString(out.KeyId), out.KeyState, aws.ToInt32(out.PendingWindowInDays))
		}
		d := sdkDescribe(t, env.KMS, *m.KeyId)
		if d.KeyState != types.KeyStatePendingDeletion || d.Enabled {
			t.Errorf("%s: DescribeKey KeyState %s Enabled %v", c.name, d.KeyState, d.Enabled)
		}
		if d.DeletionDate == nil || out.DeletionDate == nil || !d.DeletionDate.Equal(*out.DeletionDate) {
			t.Errorf("%s: DescribeKey DeletionDate %v, ScheduleKeyDeletion said %v", c.name, d.DeletionDate, out.DeletionDate)
		}
		if aws.ToInt32(d.PendingDeletionWindowInDays) != int32(c.days) {
			t.Errorf("%s: PendingDeletionWindowInDays %v, want %d", c.name, d.PendingDeletionWindowInDays, c.days)
		}
		_, err = env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: m.KeyId, PendingWindowInDays: aws.Int32(7)})
		sdkWantErr(t, c.name+": scheduled again", err, "KMSInvalidStateException")
		if d2 := sdkDescribe(t, env.KMS, *m.KeyId); d2.DeletionDate == nil || !d2.DeletionDate.Equal(*d.DeletionDate) {
			t.Errorf("%s: the refused second schedule moved DeletionDate to %v", c.name, d2.DeletionDate)
		}
	}

	// A disabled key can be scheduled too.
	dis := sdkCreateKey(t, env.KMS, nil)
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: dis.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: dis.KeyId}); err != nil {
		t.Errorf("ScheduleKeyDeletion of a disabled key: %v", err)
	}

	m := sdkCreateKey(t, env.KMS, nil)
	for _, days := range []int32{6, 31, 0, 365} {
		_, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: m.KeyId, PendingWindowInDays: aws.Int32(days)})
		sdkWantErr(t, fmt.Sprintf("window of %d days", days), err, "ValidationException")
	}
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStateEnabled {
		t.Errorf("refused schedules changed the key to %s", d.KeyState)
	}
	_, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String("0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")})
	sdkWantErr(t, "unknown key", err, "NotFoundException")
}

// TestSDKPendingDeletionKeyState checks the operations a key pending
// deletion refuses and those it still allows.
func TestSDKPendingDeletionKeyState(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Description: aws.String("doomed"),
		Tags: []types.Tag{{TagKey: aws.String("t"), TagValue: aws.String("v")}}})
	live := sdkCreateKey(t, env.KMS, nil)
	sdkCreateAlias(t, env.KMS, "alias/doomed", *m.KeyId)
	sdkCreateAlias(t, env.KMS, "alias/doomed-2", *m.KeyId)
	sdkCreateAlias(t, env.KMS, "alias/live", *live.KeyId)
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("before")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: m.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}

	id := m.KeyId
	refused := []struct {
		name string
		call func() error
	}{
		{"Encrypt", func() error {
			_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("x")})
			return err
		}},
		{"Encrypt by alias", func() error {
			_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/doomed"), Plaintext: []byte("x")})
			return err
		}},
		{"Decrypt", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob})
			return err
		}},
		{"ReEncrypt from it", func() error {
			_, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: ct.CiphertextBlob, DestinationKeyId: live.KeyId})
			return err
		}},
		{"GenerateDataKey", func() error {
			_, err := env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: id, KeySpec: types.DataKeySpecAes256})
			return err
		}},
		{"GenerateDataKeyWithoutPlaintext", func() error {
			_, err := env.KMS.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: id, NumberOfBytes: aws.Int32(16)})
			return err
		}},
		{"TagResource", func() error {
			_, err := env.KMS.TagResource(ctx, &kms.TagResourceInput{KeyId: id, Tags: []types.Tag{{TagKey: aws.String("n"), TagValue: aws.String("v")}}})
			return err
		}},
		{"UntagResource", func() error {
			_, err := env.KMS.UntagResource(ctx, &kms.UntagResourceInput{KeyId: id, TagKeys: []string{"t"}})
			return err
		}},
		{"UpdateKeyDescription", func() error {
			_, err := env.KMS.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: id, Description: aws.String("saved")})
			return err
		}},
		{"EnableKey", func() error { _, err := env.KMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: id}); return err }},
		{"DisableKey", func() error { _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: id}); return err }},
		{"CreateAlias", func() error {
			_, err := env.KMS.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/new"), TargetKeyId: id})
			return err
		}},
		{"UpdateAlias to it", func() error {
			_, err := env.KMS.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/live"), TargetKeyId: id})
			return err
		}},
	}
	for _, op := range refused {
		sdkWantErr(t, op.name, op.call(), "KMSInvalidStateException")
	}
	// ReEncrypt to a pending key fails on the destination.
	ct2, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: live.KeyId, Plaintext: []byte("live")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: ct2.CiphertextBlob, DestinationKeyId: id})
	sdkWantErr(t, "ReEncrypt to it", err, "KMSInvalidStateException")

	// What still works.
	d := sdkDescribe(t, env.KMS, "alias/doomed")
	if d.KeyState != types.KeyStatePendingDeletion || aws.ToString(d.Description) != "doomed" {
		t.Errorf("DescribeKey: %s %q (refused calls must change nothing)", d.KeyState, aws.ToString(d.Description))
	}
	tags, err := env.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: id})
	if err != nil || !sdkSameTags(tags.Tags, []types.Tag{{TagKey: aws.String("t"), TagValue: aws.String("v")}}) {
		t.Errorf("ListResourceTags: %v %v", tags, err)
	}
	if got := sdkAliasTargets(t, env.KMS, id); len(got) != 2 || got["alias/doomed"] != *id || got["alias/doomed-2"] != *id {
		t.Errorf("ListAliases KeyId: %v", got)
	}
	if !sdkAllKeyIDs(t, env.KMS)[*id] {
		t.Error("ListKeys does not list the key pending deletion")
	}
	if _, err := env.KMS.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/doomed-2")}); err != nil {
		t.Errorf("DeleteAlias: %v", err)
	}
	// An alias may move away from a key pending deletion.
	if _, err := env.KMS.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/doomed"), TargetKeyId: live.KeyId}); err != nil {
		t.Errorf("UpdateAlias away from the pending key: %v", err)
	}
	if got := sdkAliasTargets(t, env.KMS, nil); len(got) != 2 || got["alias/doomed"] != *live.KeyId || got["alias/live"] != *live.KeyId {
		t.Errorf("aliases after DeleteAlias and UpdateAlias: %v", got)
	}
}

// TestSDKCancelKeyDeletion: cancelling leaves the key Disabled; it is not
// deleted when the old date passes; cancelling a key that is not pending
// deletion is KMSInvalidStateException.
func TestSDKCancelKeyDeletion(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithSweepInterval(20*time.Millisecond))
	ctx := t.Context()
	m := sdkCreateKey(t, env.KMS, nil)
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: m.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	out, err := env.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: m.Arn})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.KeyId) != *m.Arn {
		t.Errorf("CancelKeyDeletion KeyId %s, want the ARN %s", aws.ToString(out.KeyId), *m.Arn)
	}
	d := sdkDescribe(t, env.KMS, *m.KeyId)
	if d.KeyState != types.KeyStateDisabled || d.Enabled || d.DeletionDate != nil || d.PendingDeletionWindowInDays != nil {
		t.Errorf("after CancelKeyDeletion: KeyState %s Enabled %v DeletionDate %v PendingDeletionWindowInDays %v, want Disabled and no deletion fields",
			d.KeyState, d.Enabled, d.DeletionDate, d.PendingDeletionWindowInDays)
	}
	_, err = env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("x")})
	sdkWantErr(t, "Encrypt after cancel", err, "DisabledException")
	_, err = env.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: m.KeyId})
	sdkWantErr(t, "CancelKeyDeletion again", err, "KMSInvalidStateException")

	fresh := sdkCreateKey(t, env.KMS, nil)
	_, err = env.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: fresh.KeyId})
	sdkWantErr(t, "CancelKeyDeletion of an enabled key", err, "KMSInvalidStateException")
	if d := sdkDescribe(t, env.KMS, *fresh.KeyId); d.KeyState != types.KeyStateEnabled {
		t.Errorf("refused cancel changed the key to %s", d.KeyState)
	}
	_, err = env.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String("0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")})
	sdkWantErr(t, "CancelKeyDeletion unknown key", err, "NotFoundException")

	// The old deletion date passes (and the sweeper runs several times):
	// the cancelled key stays.
	env.Clock.Advance(8 * sdkDay)
	time.Sleep(150 * time.Millisecond)
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStateDisabled {
		t.Errorf("cancelled key after its old deletion date: %s", d.KeyState)
	}
	if _, err := env.KMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: m.KeyId}); err != nil {
		t.Fatal(err)
	}
	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("back")})
	if err != nil {
		t.Fatalf("Encrypt after re-enabling: %v", err)
	}
	dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || !bytes.Equal(dec.Plaintext, []byte("back")) {
		t.Errorf("Decrypt after re-enabling: %v", err)
	}
}

// TestSDKScheduledDeletionHappens: when the waiting period ends the key,
// its aliases and its ciphertexts are gone; a day before, nothing is.
func TestSDKScheduledDeletionHappens(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithSweepInterval(50*time.Millisecond))
	ctx := t.Context()
	doomed := sdkCreateKey(t, env.KMS, nil)
	keep := sdkCreateKey(t, env.KMS, nil)
	sdkCreateAlias(t, env.KMS, "alias/doomed-a", *doomed.KeyId)
	sdkCreateAlias(t, env.KMS, "alias/doomed-b", *doomed.KeyId)
	sdkCreateAlias(t, env.KMS, "alias/keep", *keep.KeyId)
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: doomed.KeyId, Plaintext: []byte("lost"), EncryptionContext: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	keepCT, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: keep.KeyId, Plaintext: []byte("kept")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: doomed.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}

	// Six days later, after several sweeps, nothing is deleted.
	env.Clock.Advance(6 * sdkDay)
	time.Sleep(250 * time.Millisecond)
	if d := sdkDescribe(t, env.KMS, *doomed.KeyId); d.KeyState != types.KeyStatePendingDeletion {
		t.Errorf("after 6 days: KeyState %s", d.KeyState)
	}
	if got := sdkAliasTargets(t, env.KMS, nil); len(got) != 3 {
		t.Errorf("after 6 days: aliases %v", got)
	}
	if !sdkAllKeyIDs(t, env.KMS)[*doomed.KeyId] {
		t.Error("after 6 days: ListKeys no longer lists the key")
	}

	// The window ends: wait (at most 5 s) for the sweeper to erase it.
	env.Clock.Advance(sdkDay + time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := sdkAliasTargets(t, env.KMS, nil)
		if _, a := got["alias/doomed-a"]; !a {
			if _, b := got["alias/doomed-b"]; !b {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the deletion date the key's aliases are still listed: %v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []string{*doomed.KeyId, *doomed.Arn, "alias/doomed-a"} {
		_, err := env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		sdkWantErr(t, "DescribeKey "+id+" after deletion", err, "NotFoundException")
	}
	ids := sdkAllKeyIDs(t, env.KMS)
	if ids[*doomed.KeyId] || !ids[*keep.KeyId] || len(ids) != 1 {
		t.Errorf("ListKeys after deletion: %v, want only %s", ids, *keep.KeyId)
	}
	if got := sdkAliasTargets(t, env.KMS, nil); len(got) != 1 || got["alias/keep"] != *keep.KeyId {
		t.Errorf("ListAliases after deletion: %v, want only alias/keep", got)
	}
	_, err = env.KMS.ListAliases(ctx, &kms.ListAliasesInput{KeyId: doomed.KeyId})
	sdkWantErr(t, "ListAliases KeyId of the deleted key", err, "NotFoundException")
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob, EncryptionContext: map[string]string{"k": "v"}}, sdkNoRetry)
	if code := sdkErrCode(err); code != "NotFoundException" && code != "InvalidCiphertextException" {
		t.Errorf("Decrypt under the deleted key: %v, want NotFoundException or InvalidCiphertextException", err)
	}
	if s := sdkStatus(err); s >= 500 {
		t.Errorf("Decrypt under the deleted key: HTTP %d", s)
	}
	_, err = env.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: doomed.KeyId})
	sdkWantErr(t, "CancelKeyDeletion after deletion", err, "NotFoundException")
	// The alias names are free again: they were erased, not hidden.
	sdkCreateAlias(t, env.KMS, "alias/doomed-a", *keep.KeyId)
	// The other key is untouched.
	dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: keepCT.CiphertextBlob})
	if err != nil || !bytes.Equal(dec.Plaintext, []byte("kept")) {
		t.Errorf("Decrypt under the kept key: %v", err)
	}
}

// TestSDKScheduledDeletionSurvivesRestart: a schedule is kept across a
// restart and carried out afterwards.
func TestSDKScheduledDeletionSurvivesRestart(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithSweepInterval(50*time.Millisecond))
	m := sdkCreateKey(t, env.KMS, nil)
	sdkCreateAlias(t, env.KMS, "alias/restart", *m.KeyId)
	out, err := env.KMS.ScheduleKeyDeletion(t.Context(), &kms.ScheduleKeyDeletionInput{KeyId: m.KeyId, PendingWindowInDays: aws.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	env.Restart(t)
	d := sdkDescribe(t, env.KMS, *m.KeyId)
	if d.KeyState != types.KeyStatePendingDeletion || d.DeletionDate == nil || !d.DeletionDate.Equal(*out.DeletionDate) || aws.ToInt32(d.PendingDeletionWindowInDays) != 10 {
		t.Errorf("after restart: %s %v %v", d.KeyState, d.DeletionDate, d.PendingDeletionWindowInDays)
	}
	env.Clock.Advance(10*sdkDay + time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for len(sdkAliasTargets(t, env.KMS, nil)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the key's alias is still listed 5 s after its deletion date")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = env.KMS.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: m.KeyId})
	sdkWantErr(t, "DescribeKey after deletion", err, "NotFoundException")
	if ids := sdkAllKeyIDs(t, env.KMS); len(ids) != 0 {
		t.Errorf("ListKeys after deletion: %v", ids)
	}
}
