package iam

import (
	"context"
	"errors"
	"testing"

	"github.com/kagikms/kagi/internal/auth"
)

func TestServices(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	principal, akid, secret, err := e.s.CreateService(ctx, "s3", "")
	if err != nil || principal != "s3.amazonaws.com" {
		t.Fatalf("CreateService: %q %v", principal, err)
	}
	p := e.principal(t, akid, secret, "")
	if p.Type != TypeService || p.ServicePrincipal != "s3.amazonaws.com" || p.AccountID != "" || p.ARN != "s3.amazonaws.com" {
		t.Errorf("the service's key is %+v", p.Identity)
	}
	if d, ok, err := e.s.ServiceDisplayName(ctx, "s3"); d != "S3" || !ok || err != nil {
		t.Errorf("ServiceDisplayName(s3) = %q %v %v", d, ok, err)
	}
	if _, ok, err := e.s.ServiceDisplayName(ctx, "ebs"); ok || err != nil {
		t.Errorf("ServiceDisplayName(ebs) = %v %v", ok, err)
	}
	if _, _, _, err := e.s.CreateService(ctx, "s3", "other"); !errors.Is(err, ErrServiceExists) {
		t.Errorf("s3 again: %v", err)
	}
	for _, bad := range []string{"", "S3", "3s", "s3.amazonaws.com", "s3-", "a/b", string(make([]byte, 64))} {
		if _, _, _, err := e.s.CreateService(ctx, bad, ""); err == nil {
			t.Errorf("service name %q accepted", bad)
		}
	}
	if svcs, err := e.s.ListServices(ctx); err != nil || len(svcs) != 1 || svcs[0].Principal != "s3.amazonaws.com" {
		t.Errorf("ListServices = %+v, %v", svcs, err)
	}
	// The service's principal exists for nobody's key policy as an AWS
	// principal, and its key stops working when it is removed.
	if err := e.s.DeleteService(ctx, "s3"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.s.LookupAccessKey(ctx, akid, ""); !errors.Is(err, auth.ErrUnknownAccessKey) {
		t.Errorf("a removed service's key: %v, want ErrUnknownAccessKey", err)
	}
	if err := e.s.DeleteService(ctx, "s3"); !errors.Is(err, ErrNoSuchService) {
		t.Errorf("s3 removed twice: %v", err)
	}
}
