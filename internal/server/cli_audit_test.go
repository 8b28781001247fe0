package server_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/audit"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// cliEvents runs `aws cloudtrail lookup-events` with args and returns its
// events, each with its CloudTrailEvent parsed.
func cliEvents(t *testing.T, cli *awsCLI, creds cliCreds, args ...string) ([]map[string]any, []audit.Record) {
	t.Helper()
	out := cli.ok(creds, append([]string{"cloudtrail", "lookup-events"}, args...)...)
	list, _ := out["Events"].([]any)
	var evs []map[string]any
	var recs []audit.Record
	for _, e := range list {
		m, _ := e.(map[string]any)
		var r audit.Record
		if err := json.Unmarshal([]byte(cliField(m, "CloudTrailEvent")), &r); err != nil {
			t.Fatalf("CloudTrailEvent of %v: %v", m, err)
		}
		evs = append(evs, m)
		recs = append(recs, r)
	}
	return evs, recs
}

// TestCLIAuditLookupEvents runs the scenario of the audit trail (success,
// AccessDenied, bad signature, DisabledException, pending deletion)
// through the SDK and finds each record, with the right fields, through
// the AWS CLI's `cloudtrail lookup-events`: by resource, event name, user
// name and access key, a page at a time, in a time range, newest first,
// only the caller's account's, and only for callers a policy allows.
func TestCLIAuditLookupEvents(t *testing.T) {
	bin := cliPath(t)
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	cli := newAWSCLI(t, bin, env)
	rootCreds := cliCreds{akid: servertest.AccessKeyID, secret: env.Secret}
	acct := servertest.AccountID

	key := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Description: aws.String("looked up")})
	keyARN := *key.Arn
	type want struct{ name, code, user string }
	wants := map[string]want{} // by request id

	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyId, Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	wants[sdkRequestID(t, enc.ResultMetadata)] = want{"Encrypt", "", "root"}

	root := rootIAMCaller(t, env)
	akid, secret := iamAccessKey(t, root, "alice")
	alice := env.Client(t, servertest.Region, akid, secret)
	_, err = alice.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("x")})
	sdkWantErr(t, "alice's Encrypt", err, "AccessDeniedException")
	wants[sdkErrRequestID(t, err)] = want{"Encrypt", "AccessDenied", "alice"}

	forged := env.Client(t, servertest.Region, servertest.AccessKeyID, strings.Repeat("f", 40))
	_, err = forged.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyARN), Plaintext: []byte("x")})
	sdkWantErr(t, "a forged Encrypt", err, "InvalidSignatureException")
	forgedID := sdkErrRequestID(t, err)

	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: key.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyId, Plaintext: []byte("x")})
	sdkWantErr(t, "Encrypt with a disabled key", err, "DisabledException")
	wants[sdkErrRequestID(t, err)] = want{"Encrypt", "DisabledException", "root"}
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: key.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	sdkWantErr(t, "Decrypt with a key pending deletion", err, "KMSInvalidStateException")
	wants[sdkErrRequestID(t, err)] = want{"Decrypt", "KMSInvalidStateException", "root"}

	// By resource: every call on the key, newest first.
	evs, recs := cliEvents(t, cli, rootCreds, "--lookup-attributes", "AttributeKey=ResourceName,AttributeValue="+keyARN)
	names := []string{}
	for _, r := range recs {
		names = append(names, r.EventName)
	}
	if got, wantNames := strings.Join(names, ","), "Decrypt,ScheduleKeyDeletion,Encrypt,DisableKey,Encrypt,Encrypt,CreateKey"; got != wantNames {
		t.Errorf("events of the key, newest first: %s, want %s", got, wantNames)
	}
	found := 0
	for i, r := range recs {
		e := evs[i]
		w, ok := wants[r.RequestID]
		if !ok {
			continue
		}
		found++
		if r.EventName != w.name || r.ErrorCode != w.code || cliField(e, "Username") != w.user || cliField(e, "EventName") != w.name ||
			cliField(e, "EventId") != r.EventID || cliField(e, "EventSource") != "kms.amazonaws.com" || cliField(e, "ReadOnly") != "true" ||
			cliField(e, "AccessKeyId") != r.UserIdentity.AccessKeyID || r.UserIdentity.AccessKeyID == "" {
			t.Errorf("event %+v, record %+v, want %+v", e, r, w)
		}
		res, _ := e["Resources"].([]any)
		if len(res) != 1 || cliField(res[0].(map[string]any), "ResourceName") != keyARN || cliField(res[0].(map[string]any), "ResourceType") != "AWS::KMS::Key" {
			t.Errorf("%s: Resources %v", w.name, e["Resources"])
		}
		if w.code != "" && r.ErrorMessage == "" {
			t.Errorf("%s: no errorMessage", w.code)
		}
		// EventTime is the record's eventTime: epoch seconds on the wire,
		// which the CLI prints as they are or in ISO 8601.
		rt, _ := time.Parse(time.RFC3339, r.EventTime)
		switch et := e["EventTime"].(type) {
		case float64:
			if int64(et) != rt.Unix() {
				t.Errorf("%s: EventTime %v, record %q", w.name, et, r.EventTime)
			}
		case string:
			if pt, err := time.Parse(time.RFC3339, et); err != nil || !pt.Equal(rt) {
				t.Errorf("%s: EventTime %q, record %q", w.name, et, r.EventTime)
			}
		default:
			t.Errorf("%s: EventTime %v", w.name, e["EventTime"])
		}
	}
	if found != len(wants) {
		t.Errorf("found %d of the %d scenario's events by resource", found, len(wants))
	}

	// The bad signature, by the access key it claimed.
	_, recs = cliEvents(t, cli, rootCreds, "--lookup-attributes", "AttributeKey=AccessKeyId,AttributeValue="+servertest.AccessKeyID)
	var bad *audit.Record
	for i := range recs {
		if recs[i].RequestID == forgedID {
			bad = &recs[i]
		}
	}
	if bad == nil || bad.ErrorCode != "InvalidSignatureException" || bad.UserIdentity.Type != "Unknown" || bad.EventName != "Encrypt" {
		t.Errorf("the bad signature's record: %+v", bad)
	}

	// By event name and by user name.
	_, recs = cliEvents(t, cli, rootCreds, "--lookup-attributes", "AttributeKey=EventName,AttributeValue=Encrypt")
	if len(recs) != 4 {
		t.Errorf("%d Encrypt events, want 4", len(recs))
	}
	for _, r := range recs {
		if r.EventName != "Encrypt" {
			t.Errorf("EventName=Encrypt found %s", r.EventName)
		}
	}
	_, recs = cliEvents(t, cli, rootCreds, "--lookup-attributes", "AttributeKey=Username,AttributeValue=alice")
	if len(recs) != 1 || recs[0].ErrorCode != "AccessDenied" || recs[0].UserIdentity.UserName != "alice" {
		t.Errorf("alice's events: %+v", recs)
	}

	// A page at a time: the CLI follows NextToken through pages of one.
	// The paged lookup also sees the record of the lookup before it, and
	// nothing written while it pages.
	all, _ := cliEvents(t, cli, rootCreds)
	paged, pagedRecs := cliEvents(t, cli, rootCreds, "--page-size", "1")
	if len(all) < 10 || len(paged) != len(all)+1 || pagedRecs[0].EventName != "LookupEvents" {
		t.Fatalf("%d events in pages of 1, %d at once", len(paged), len(all))
	}
	for i := range all {
		if cliField(all[i], "EventId") != cliField(paged[i+1], "EventId") {
			t.Errorf("event %d differs between pages of 1 and one page", i)
			break
		}
	}
	out := cli.ok(rootCreds, "cloudtrail", "lookup-events", "--max-items", "2")
	if evs, _ := out["Events"].([]any); len(evs) != 2 || cliField(out, "NextToken") == "" {
		t.Errorf("--max-items 2: %d events, NextToken %q", len(evs), cliField(out, "NextToken"))
	}

	// A time range: one that ended before the key was made holds none of
	// its events; one around now holds them all.
	past := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	long := strconv.FormatInt(time.Now().Add(-2*time.Hour).Unix(), 10)
	if evs, _ := cliEvents(t, cli, rootCreds, "--start-time", long, "--end-time", past); len(evs) != 0 {
		t.Errorf("%d events an hour ago", len(evs))
	}
	soon := strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)
	if evs, _ := cliEvents(t, cli, rootCreds, "--start-time", past, "--end-time", soon, "--lookup-attributes", "AttributeKey=ResourceName,AttributeValue="+keyARN); len(evs) != 7 {
		t.Errorf("%d events of the key in the last hour, want 7", len(evs))
	}

	// Who may look: alice only once a policy allows cloudtrail:LookupEvents;
	// another account sees only its own records.
	aliceCreds := cliCreds{akid: akid, secret: secret}
	cli.fails(aliceCreds, "AccessDeniedException", "", "cloudtrail", "lookup-events")
	root.ok(t, nil, "iam", "PutUserPolicy", "UserName", "alice", "PolicyName", "trail",
		"PolicyDocument", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}]}`)
	if evs, _ := cliEvents(t, cli, aliceCreds, "--lookup-attributes", "AttributeKey=ResourceName,AttributeValue="+keyARN); len(evs) != 7 {
		t.Errorf("alice, allowed, sees %d events of the key, want 7", len(evs))
	}
	other := env.CreateAccount(t)
	otherCreds := cliCreds{akid: other.AccessKeyID, secret: other.Secret}
	if evs, _ := cliEvents(t, cli, otherCreds); len(evs) != 0 {
		t.Errorf("a new account sees %d events", len(evs))
	}
	_, recs = cliEvents(t, cli, otherCreds)
	for _, r := range recs {
		if r.UserIdentity.AccountID != other.ID && r.RecipientAccountID != other.ID {
			t.Errorf("account %s sees a record of %s: %s %s", other.ID, acct, r.EventName, r.RequestID)
		}
	}
	if len(recs) != 1 || recs[0].EventName != "LookupEvents" || recs[0].EventSource != "cloudtrail.amazonaws.com" {
		t.Errorf("the other account sees %+v, want its own first lookup", recs)
	}

	// Bad lookups get CloudTrail's exceptions.
	cli.fails(rootCreds, "InvalidLookupAttributesException", "", "cloudtrail", "lookup-events", "--lookup-attributes",
		"AttributeKey=EventName,AttributeValue=Encrypt", "AttributeKey=Username,AttributeValue=root")
	cli.fails(rootCreds, "InvalidTimeRangeException", "", "cloudtrail", "lookup-events", "--start-time", soon, "--end-time", past)
	creds := &aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: env.Secret}
	hc := env.HTTPClient(t)
	for _, tc := range []struct{ body, code string }{
		{`{"MaxResults":51}`, "InvalidMaxResultsException"},
		{`{"MaxResults":0}`, "InvalidMaxResultsException"},
		{`{"NextToken":"bm90IGEgdG9rZW4"}`, "InvalidNextTokenException"},
		{`{"LookupAttributes":[{"AttributeKey":"Nope","AttributeValue":"x"}]}`, "InvalidLookupAttributesException"},
		{`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":""}]}`, "InvalidLookupAttributesException"},
		{`{"EventCategory":"other"}`, "InvalidEventCategoryException"},
		{`{"StartTime":"yesterday"}`, "SerializationException"},
	} {
		status, _, b := rawJSON(t, hc, env, creds, "cloudtrail", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", []byte(tc.body))
		if status != http.StatusBadRequest || !strings.Contains(string(b), `"__type":"`+tc.code+`"`) {
			t.Errorf("%s: %d %s, want %s", tc.body, status, b, tc.code)
		}
	}
	status, _, b := rawJSON(t, hc, env, creds, "cloudtrail", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail", []byte(`{}`))
	if status != http.StatusBadRequest || !strings.Contains(string(b), "UnsupportedOperationException") {
		t.Errorf("CreateTrail: %d %s", status, b)
	}
	status, _, b = rawJSON(t, hc, env, creds, "kms", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", []byte(`{}`))
	if status != http.StatusBadRequest || !strings.Contains(string(b), "InvalidSignatureException") {
		t.Errorf("LookupEvents signed for kms: %d %s", status, b)
	}
}
