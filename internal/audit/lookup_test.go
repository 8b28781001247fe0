package audit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// writeRecords appends n records to a real log in a new directory: record
// i is event "Op<i%3>" of account 111122223333 (odd i: 444455556666) at
// base+i seconds, on key k<i%2>.
func writeRecords(t *testing.T, n int, base time.Time) string {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range n {
		acct := "111122223333"
		if i%2 == 1 {
			acct = "444455556666"
		}
		key := fmt.Sprintf("arn:aws:kms:us-east-1:%s:key/k%d", acct, i%2)
		r := Record{EventVersion: EventVersion, EventTime: EventTime(base.Add(time.Duration(i) * time.Second)), EventSource: "kms.amazonaws.com",
			EventName: fmt.Sprintf("Op%d", i%3), EventID: fmt.Sprintf("id-%d", i), ReadOnly: i%3 == 0, RequestID: fmt.Sprint(i),
			UserIdentity: UserIdentity{Type: "IAMUser", UserName: fmt.Sprintf("u%d", i%4), AccountID: acct, AccessKeyID: "AKIA" + acct},
			Resources:    []Resource{{AccountID: acct, Type: ResourceTypeKey, ARN: key}}, RecipientAccountID: acct}
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Append(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func ids(evs []LookupEvent) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.EventID)
	}
	return strings.Join(s, ",")
}

func TestLookup(t *testing.T) {
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	ev := Events{Dir: writeRecords(t, 12, base)}
	ctx := context.Background()
	const a = "111122223333"
	for _, tc := range []struct {
		name string
		q    LookupQuery
		want string
	}{
		{"all of an account, newest first", LookupQuery{Account: a, Max: 50}, "id-10,id-8,id-6,id-4,id-2,id-0"},
		{"no account", LookupQuery{Max: 50}, ""},
		{"another account", LookupQuery{Account: "999999999999", Max: 50}, ""},
		{"EventName", LookupQuery{Account: a, Key: "EventName", Value: "Op0", Max: 50}, "id-6,id-0"},
		{"EventId", LookupQuery{Account: a, Key: "EventId", Value: "id-4", Max: 50}, "id-4"},
		{"EventId of another account", LookupQuery{Account: a, Key: "EventId", Value: "id-5", Max: 50}, ""},
		{"ReadOnly", LookupQuery{Account: a, Key: "ReadOnly", Value: "true", Max: 50}, "id-6,id-0"},
		{"Username", LookupQuery{Account: a, Key: "Username", Value: "u2", Max: 50}, "id-10,id-6,id-2"},
		{"ResourceName", LookupQuery{Account: a, Key: "ResourceName", Value: "arn:aws:kms:us-east-1:111122223333:key/k0", Max: 50}, "id-10,id-8,id-6,id-4,id-2,id-0"},
		{"ResourceType", LookupQuery{Account: a, Key: "ResourceType", Value: "AWS::KMS::Alias", Max: 50}, ""},
		{"AccessKeyId", LookupQuery{Account: a, Key: "AccessKeyId", Value: "AKIA111122223333", Max: 50}, "id-10,id-8,id-6,id-4,id-2,id-0"},
		{"EventSource", LookupQuery{Account: a, Key: "EventSource", Value: "iam.amazonaws.com", Max: 50}, ""},
		{"time range, inclusive", LookupQuery{Account: a, Start: base.Add(2 * time.Second), End: base.Add(6 * time.Second), Max: 50}, "id-6,id-4,id-2"},
		{"first page", LookupQuery{Account: a, Max: 4}, "id-10,id-8,id-6,id-4"},
	} {
		got, _, err := ev.Lookup(ctx, tc.q)
		if err != nil || ids(got) != tc.want {
			t.Errorf("%s: %s (%v), want %s", tc.name, ids(got), err, tc.want)
		}
	}

	// Pages of 2 until the end, while records are added: no page repeats
	// or skips one.
	var pages []string
	q := LookupQuery{Account: a, Max: 2}
	for range 10 {
		got, next, err := ev.Lookup(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, ids(got))
		if next == "" {
			break
		}
		q.NextToken = next
		writeMore(t, ev.Dir)
	}
	if got := strings.Join(pages, "|"); got != "id-10,id-8|id-6,id-4|id-2,id-0" {
		t.Errorf("pages %s", got)
	}
	for _, bad := range []string{"x", formatToken(0), formatToken(10000), "a2FnaS1sb29rdXAtMTowMQ", "a2FnaS1sb29rdXAtMTotMQ"} {
		if _, _, err := ev.Lookup(ctx, LookupQuery{Account: a, Max: 2, NextToken: bad}); err != ErrInvalidNextToken {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	if _, _, err := ev.Lookup(ctx, LookupQuery{Account: a, Max: 51}); err == nil {
		t.Error("a page of 51")
	}
	got, _, err := ev.Lookup(ctx, LookupQuery{Account: a, Max: 1})
	if err != nil || len(got) != 1 || got[0].EventID != "later" || got[0].ReadOnly != "false" || got[0].Username != "u1" ||
		got[0].EventTime != float64(base.Add(16*time.Second).Unix()) || got[0].Resources == nil || !strings.Contains(got[0].CloudTrailEvent, `"eventID":"later"`) {
		t.Errorf("newest event %+v %v", got, err)
	}
	got, _, err = ev.Lookup(ctx, LookupQuery{Account: a, Key: "EventId", Value: "id-10", Max: 1})
	if err != nil || len(got) != 1 || got[0].ReadOnly != "false" || got[0].Username != "u2" || got[0].AccessKeyID != "AKIA111122223333" ||
		len(got[0].Resources) != 1 || got[0].Resources[0] != (LookupResource{ResourceType: "AWS::KMS::Key", ResourceName: "arn:aws:kms:us-east-1:111122223333:key/k0"}) ||
		!strings.HasPrefix(got[0].CloudTrailEvent, `{"eventVersion":"1.11"`) {
		t.Errorf("event id-10 %+v %v", got, err)
	}
}

// writeMore appends a record of account 111122223333 at 10:00:16.
func writeMore(t *testing.T, dir string) {
	t.Helper()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := Record{EventTime: "2026-11-23T10:00:16Z", EventName: "Later", EventID: "later", UserIdentity: UserIdentity{Type: "IAMUser", UserName: "u1", AccountID: "111122223333"}}
	b, _ := r.Marshal()
	if err := l.Append(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func FuzzLookupToken(f *testing.F) {
	f.Add(formatToken(1))
	f.Add(formatToken(123456))
	f.Add("")
	f.Add("a2FnaS1sb29rdXAtMTo")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseToken(s)
		if ok && (n < 1 || formatToken(n) != s) {
			t.Fatalf("parseToken(%q) = %d, which formats as %q", s, n, formatToken(n))
		}
	})
}
