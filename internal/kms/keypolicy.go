package kms

import (
	"context"
	"errors"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/policy"
	"github.com/kagikms/kagi/internal/storage"
)

// defaultPolicyName is the name of a key's one policy.
const defaultPolicyName = "default"

// checkKeyPolicy validates a key policy that a caller sets on the key
// keyARN (CreateKey, PutKeyPolicy): its size, its characters, its language,
// its principals, and, unless bypass, AWS's lockout safety check: the caller
// must still be allowed kms:PutKeyPolicy by the new policy, so that no one
// locks the key away from everyone by mistake. It returns the unique IDs the
// policy binds to (keyRecord.PolicyIDs).
func (s *Service) checkKeyPolicy(ctx context.Context, c *Caller, doc, keyARN, keyAccount string, bypass bool) (map[string]string, error) {
	if len(doc) > maxPolicyBytes {
		return nil, awserr.New(awserr.LimitExceeded, "Policy exceeds the maximum size of %d bytes.", maxPolicyBytes)
	}
	for _, r := range doc {
		if r != '\t' && r != '\n' && r != '\r' && (r < 0x20 || r > 0xff) {
			return nil, awserr.New(awserr.MalformedPolicyDocument, "Policy contains a character outside TAB, LF, CR and U+0020 to U+00FF: %U", r)
		}
	}
	p, err := s.policies.Parse(doc, policy.KeyPolicy)
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return nil, awserr.New(awserr.MalformedPolicyDocument, "%s", pe.Msg)
		}
		return nil, awserr.Internal(err)
	}
	ids, err := s.checkPrincipals(ctx, p)
	if err != nil {
		return nil, err
	}
	if bypass {
		return ids, nil
	}
	req := policy.Request{Principal: c.Principal, Action: "kms:PutKeyPolicy", Resource: keyARN,
		Context: s.globalContext(c, can("kms:PutKeyPolicy")), BoundPrincipals: ids}
	d := policy.Authorize(&policy.AuthzInput{Request: req, KeyAccount: keyAccount, KeyPolicy: p, IdentityPolicies: c.IdentityPolicies})
	if !d.Allowed {
		return nil, awserr.New(awserr.MalformedPolicyDocument, "The new key policy will not allow you to update the key policy in the future.")
	}
	return ids, nil
}

// checkPrincipals refuses a key policy that names an AWS principal that
// does not exist, as AWS does ("Policy contains a statement with one or more
// invalid principals."), so that a typo does not silently grant nothing.
func (s *Service) checkPrincipals(ctx context.Context, p *policy.Policy) (map[string]string, error) {
	if s.princ == nil {
		return nil, nil
	}
	ids, missing, err := policy.BindPrincipals(p, func(name string) (string, bool, error) { return s.princ.PrincipalID(ctx, name) })
	if err != nil {
		return nil, awserr.Internal(err)
	}
	if missing != "" {
		return nil, awserr.New(awserr.MalformedPolicyDocument, "Policy contains a statement with one or more invalid principals.")
	}
	return ids, nil
}

// validPolicyName checks PolicyName: the model's constraints, then KMS's
// rule that a key has one policy, named "default".
func validPolicyName(v *validator, name *string) {
	if name == nil {
		return
	}
	v.length("policyName", *name, 1, 128)
	for _, r := range *name {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			v.add("policyName", quote(*name), "Member must satisfy regular expression pattern: [\\w]+")
			break
		}
	}
}

func checkPolicyName(name *string) error {
	if name != nil && *name != defaultPolicyName {
		return awserr.New(awserr.NotFound, "No such policy exists: %s. The only policy name is default.", *name)
	}
	return nil
}

// GetKeyPolicy returns a key's policy, in every key state.
func (s *Service) GetKeyPolicy(ctx context.Context, c *Caller, in *GetKeyPolicyInput) (*GetKeyPolicyOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	validPolicyName(&v, in.PolicyName)
	if err := v.err(); err != nil {
		return nil, err
	}
	var out *GetKeyPolicyOutput
	err := s.view(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, in.KeyId, keyOnly, can("kms:GetKeyPolicy"))
		if err != nil {
			return err
		}
		if err := checkPolicyName(in.PolicyName); err != nil {
			return err
		}
		out = &GetKeyPolicyOutput{Policy: k.Policy, PolicyName: defaultPolicyName}
		return nil
	})
	return out, err
}

// PutKeyPolicy replaces a key's policy, in every key state.
func (s *Service) PutKeyPolicy(ctx context.Context, c *Caller, in *PutKeyPolicyInput) (*Empty, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	validPolicyName(&v, in.PolicyName)
	if v.required("policy", in.Policy) {
		v.length("policy", in.Policy, 1, 131072)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	a := &access{action: "kms:PutKeyPolicy", extra: map[string][]string{
		"kms:bypasspolicylockoutsafetycheck": {boolString(in.BypassPolicyLockoutSafetyCheck)}}}
	err := s.update(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, in.KeyId, keyOnly, a)
		if err != nil {
			return err
		}
		if err := checkPolicyName(in.PolicyName); err != nil {
			return err
		}
		ids, err := s.checkKeyPolicy(ctx, c, in.Policy, k.ARN, k.Account, in.BypassPolicyLockoutSafetyCheck)
		if err != nil {
			return err
		}
		k.Policy, k.PolicyIDs = in.Policy, ids
		return putJSON(tx, keyKey(k.Account, k.Region, k.KeyID), k)
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// ListKeyPolicies lists a key's policy names: always just "default".
func (s *Service) ListKeyPolicies(ctx context.Context, c *Caller, in *ListKeyPoliciesInput) (*ListKeyPoliciesOutput, error) {
	if err := validateKeyID(in.KeyId); err != nil {
		return nil, err
	}
	limit, after, err := pageArgs(&in.ListInput, 1000, 100)
	if err != nil {
		return nil, err
	}
	err = s.view(ctx, func(tx storage.Tx) error {
		_, err := s.loadKey(tx, c, in.KeyId, keyOnly, can("kms:ListKeyPolicies"))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &ListKeyPoliciesOutput{PolicyNames: []string{}}
	if after < defaultPolicyName && limit > 0 {
		out.PolicyNames = append(out.PolicyNames, defaultPolicyName)
	}
	return out, nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
