package iam

import (
	"context"
	"strings"

	"github.com/kagikms/kagi/internal/auth"
)

// authorizeIAM decides whether the caller's identity-based policies allow
// an IAM or STS action on a resource: every IAM operation asks it, and
// AssumeRole asks it for the caller's side when the role's trust policy
// does not name the caller itself (it names the caller's account, or the
// role is in another account).
//
// Until policy evaluation is wired in, the account root may do everything
// in its own account and every other principal nothing. The wiring replaces
// this body with an evaluation of s.IdentityPolicies(ctx, c.Identity), with
// the principal's tags (c.Tags) and the request's condition keys.
func (s *Store) authorizeIAM(ctx context.Context, c *auth.Principal, action, resource string) error {
	if c.Type == TypeRoot && resourceAccount(resource) == c.AccountID {
		return nil
	}
	return notAuthorized(c.ARN, action, resource)
}

// resourceAccount is the account field of an ARN (arn:partition:service:region:account:…).
func resourceAccount(arn string) string {
	f := strings.SplitN(arn, ":", 6)
	if len(f) < 6 || f[0] != "arn" {
		return ""
	}
	return f[4]
}
