package iam

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/policy"
)

// authorizeIAM decides whether the caller's identity-based policies allow
// an IAM or STS action on a resource: every IAM operation asks it, and
// AssumeRole asks it for the caller's side when the role's trust policy
// does not name the caller itself (it names the caller's account, or the
// role is in another account).
//
// IAM resources have no resource-based policies here, so IAM actions on
// another account's users and roles are always denied; sts:AssumeRole of
// another account's role is the caller's account's to allow (its trust
// policy was checked before). An account's root user may do everything its
// account may.
func (s *Store) authorizeIAM(ctx context.Context, c *auth.Principal, action, resource string) error {
	if resourceAccount(resource) != c.AccountID && !strings.HasPrefix(action, "sts:") {
		return notAuthorized(c.ARN, action, resource)
	}
	if c.Type == TypeRoot {
		return nil
	}
	ps, err := s.ParsedIdentityPolicies(ctx, c.Identity)
	if err != nil {
		return err
	}
	now := s.clock.Now().UTC()
	req := policy.Request{Principal: policyPrincipal(c.Identity), Action: action, Resource: resource,
		Context: map[string][]string{
			"aws:currenttime": {now.Format(time.RFC3339)},
			"aws:epochtime":   {strconv.FormatInt(now.Unix(), 10)},
		}}
	d := policy.Authorize(&policy.AuthzInput{Request: req, KeyAccount: c.AccountID, IdentityPolicies: ps})
	if d.Allowed {
		return nil
	}
	return awserr.New(CodeAccessDenied, "%s", policy.DenyMessage(&req, d))
}

// resourceAccount is the account field of an ARN (arn:partition:service:region:account:…).
func resourceAccount(arn string) string {
	f := strings.SplitN(arn, ":", 6)
	if len(f) < 6 || f[0] != "arn" {
		return ""
	}
	return f[4]
}
