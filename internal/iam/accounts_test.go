package iam

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCreateAccountWithID(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	const acct = "123456789012"
	akid, secret, err := e.s.CreateAccountWithID(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	p := e.principal(t, akid, secret, "")
	if p.Type != TypeRoot || p.AccountID != acct || p.ARN != "arn:aws:iam::"+acct+":root" {
		t.Errorf("the new key is %+v", p.Identity)
	}

	if _, _, err := e.s.CreateAccountWithID(ctx, acct); !errors.Is(err, ErrAccountExists) {
		t.Errorf("the same id again: %v, want ErrAccountExists", err)
	}
	if _, _, err := e.s.CreateAccountWithID(ctx, e.acct); !errors.Is(err, ErrAccountExists) {
		t.Errorf("the first account's id: %v, want ErrAccountExists", err)
	}
	for _, bad := range []string{"", "12345678901", "1234567890123", "12345678901a", " 23456789012", "１23456789012"} {
		if _, _, err := e.s.CreateAccountWithID(ctx, bad); err == nil || errors.Is(err, ErrAccountExists) {
			t.Errorf("account id %q: %v, want a refusal", bad, err)
		}
	}
	accts, err := e.s.ListAccounts(ctx)
	if err != nil || len(accts) != 2 {
		t.Fatalf("ListAccounts = %v, %v; want 2 accounts (nothing created by the refusals)", accts, err)
	}
}

func TestCreateRootAccessKey(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()

	akid, secret, err := e.s.CreateRootAccessKey(ctx, e.acct)
	if err != nil {
		t.Fatal(err)
	}
	if akid == e.admin.AccessKeyID {
		t.Fatal("the second key has the first key's id")
	}
	second := e.principal(t, akid, secret, "")
	if second.ARN != e.admin.ARN {
		t.Errorf("the second key is %s, want the root %s", second.ARN, e.admin.ARN)
	}
	if _, _, err := e.s.LookupAccessKey(ctx, e.admin.AccessKeyID, ""); err != nil {
		t.Errorf("the first key after the second was made: %v", err)
	}

	// A third is refused, here and through the IAM API, which share the quota.
	if _, _, err := e.s.CreateRootAccessKey(ctx, e.acct); !errors.Is(err, ErrAccessKeyQuota) {
		t.Fatalf("third root key: %v, want ErrAccessKeyQuota", err)
	}
	_, err = e.s.CreateAccessKey(ctx, e.admin, &CreateAccessKeyInput{})
	wantCode(t, err, CodeLimitExceeded)

	// Once the root deletes one through the API, there is room again.
	if err := e.s.DeleteAccessKey(ctx, e.admin, &DeleteAccessKeyInput{AccessKeyID: akid}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.s.CreateRootAccessKey(ctx, e.acct); err != nil {
		t.Fatalf("after a delete: %v", err)
	}

	if _, _, err := e.s.CreateRootAccessKey(ctx, "999999999999"); !errors.Is(err, ErrNoSuchAccount) {
		t.Errorf("unknown account: %v, want ErrNoSuchAccount", err)
	}
	if _, _, err := e.s.CreateRootAccessKey(ctx, "12345"); err == nil || errors.Is(err, ErrNoSuchAccount) {
		t.Errorf("malformed account id: %v, want a refusal", err)
	}
}

func TestListAccounts(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	first := e.clock.Now().UTC().Truncate(time.Second)
	e.clock.Advance(48 * time.Hour)
	for _, id := range []string{"999900000000", "100000000000"} {
		if _, _, err := e.s.CreateAccountWithID(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	accts, err := e.s.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	later := first.Add(48 * time.Hour)
	want := map[string]time.Time{e.acct: first, "999900000000": later, "100000000000": later}
	if len(accts) != len(want) {
		t.Fatalf("ListAccounts = %v, want %d accounts", accts, len(want))
	}
	for i, a := range accts {
		if i > 0 && accts[i-1].ID >= a.ID {
			t.Errorf("not in id order: %v", accts)
		}
		if w, ok := want[a.ID]; !ok || !a.Created.Equal(w) {
			t.Errorf("account %s created %v, want %v (known: %v)", a.ID, a.Created, w, ok)
		}
	}
}
