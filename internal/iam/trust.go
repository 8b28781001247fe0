package iam

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/policy"
)

// policyPrincipal is the principal of a policy.Request for an identity.
func policyPrincipal(id auth.Identity) policy.Principal {
	return policy.Principal{
		ARN:      id.ARN,
		Account:  id.AccountID,
		Type:     id.Type,
		RoleARN:  id.RoleARN,
		UserID:   id.PrincipalID,
		Username: id.UserName,
		Tags:     id.Tags,
	}
}

// assumeContext is the request context of an AssumeRole call, as its trust
// policy sees it: sts:ExternalId, sts:RoleSessionName, the session tags
// (aws:RequestTag/…, aws:TagKeys, sts:TransitiveTagKeys) and the time.
func assumeContext(in *AssumeRoleInput, now time.Time) map[string][]string {
	ctx := map[string][]string{
		"sts:rolesessionname": {in.RoleSessionName},
		"aws:currenttime":     {now.UTC().Format(time.RFC3339)},
		"aws:epochtime":       {strconv.FormatInt(now.Unix(), 10)},
	}
	if in.ExternalID != "" {
		ctx["sts:externalid"] = []string{in.ExternalID}
	}
	for _, t := range in.Tags {
		ctx["aws:requesttag/"+strings.ToLower(t.Key)] = []string{t.Value}
		ctx["aws:tagkeys"] = append(ctx["aws:tagkeys"], t.Key)
	}
	if len(in.TransitiveTagKeys) > 0 {
		ctx["sts:transitivetagkeys"] = in.TransitiveTagKeys
	}
	return ctx
}

// checkTrust decides whether the caller may perform action
// (sts:AssumeRole, sts:TagSession) on a role, as IAM decides it: the
// role's trust policy must allow the caller and no statement may deny it.
// A trust policy that names the caller itself (its user, its role, its
// session, or "*") is enough within the role's account; one that names
// only the caller's account delegates to the caller's identity policies,
// and so does any trust from another account (authorizeIAM answers for
// those).
func (s *Store) checkTrust(ctx context.Context, role *roleRecord, c *auth.Principal, action string, reqCtx map[string][]string) error {
	trust, err := policy.Parse(role.TrustPolicy, policy.TrustPolicy)
	if err != nil {
		// A document stored before trust policies were parsed, that the
		// parser refuses: it allows nothing.
		return assumeDenied(c, action, role.ARN)
	}
	req := &policy.Request{Principal: policyPrincipal(c.Identity), Action: action, Resource: role.ARN, Context: reqCtx,
		BoundPrincipals: role.TrustIDs}
	if trust.Evaluate(req) != policy.Allow {
		return assumeDenied(c, action, role.ARN)
	}
	// With no identity policies, Authorize allows only what the trust
	// policy allows by itself: the caller named, in the role's account.
	if policy.Authorize(&policy.AuthzInput{Request: *req, KeyAccount: role.accountOf(), KeyPolicy: trust}).Allowed {
		return nil
	}
	if err := s.authorizeIAM(ctx, c, action, role.ARN); err != nil {
		return assumeDenied(c, action, role.ARN)
	}
	return nil
}
