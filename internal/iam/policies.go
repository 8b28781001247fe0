package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/policy"
	"github.com/kagikms/kagi/internal/storage"
)

// IAM's quotas on inline policies: the total size of a user's or a role's
// inline policies, and the size of a role's trust policy, in characters
// other than white space.
const (
	maxUserPolicySize  = 2048
	maxRolePolicySize  = 10240
	maxTrustPolicySize = 2048
)

type policyRecord struct {
	Name     string `json:"name"`
	Document string `json:"doc"`
}

// validatePolicyDocument refuses a document that is not a policy of its
// kind (policy.IdentityPolicy for inline policies, policy.TrustPolicy for a
// role's AssumeRolePolicyDocument) with MalformedPolicyDocument: IAM's
// "Syntax errors in policy." for what is not JSON, else the parser's
// message.
func validatePolicyDocument(doc string, kind policy.Kind) error {
	if !json.Valid([]byte(doc)) {
		return errMalformedPolicy("Syntax errors in policy.")
	}
	if _, err := policy.Parse(doc, kind); err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return errMalformedPolicy(pe.Msg)
		}
		return errMalformedPolicy("Syntax errors in policy.")
	}
	return nil
}

// policySize is a document's size as IAM's quotas count it: characters
// other than white space.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// escapePolicy URL-encodes a policy document as IAM returns documents
// (RFC 3986: everything but the unreserved characters is %XX).
func escapePolicy(doc string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(doc) * 3 / 2)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func validatePolicyInput(v *validator, policyName, doc string) {
	v.name("policyName", policyName, 128)
	v.policyDocument("policyDocument", doc)
}

// putPolicy writes an inline policy under prefix in tx, refusing it when the
// owner's inline policies would exceed max characters.
func putPolicy(tx storage.Tx, prefix []byte, name, doc string, max int, tooBig error) error {
	kvs, _, err := tx.List(prefix, nil, 0)
	if err != nil {
		return err
	}
	total := policySize(doc)
	for _, kv := range kvs {
		if string(kv.Key[len(prefix):]) == name {
			continue
		}
		var p policyRecord
		if err := json.Unmarshal(kv.Value, &p); err != nil {
			return err
		}
		total += policySize(p.Document)
	}
	if total > max {
		return tooBig
	}
	return putJSON(tx, append(append([]byte{}, prefix...), name...), policyRecord{Name: name, Document: doc})
}

// PutUserPolicy adds or replaces an inline policy of a user.
func (s *Store) PutUserPolicy(ctx context.Context, c *auth.Principal, in *PutUserPolicyInput) error {
	var v validator
	v.name("userName", in.UserName, 128)
	validatePolicyInput(&v, in.PolicyName, in.PolicyDocument)
	if err := v.err(); err != nil {
		return err
	}
	if err := validatePolicyDocument(in.PolicyDocument, policy.IdentityPolicy); err != nil {
		return err
	}
	u, err := s.loadUser(ctx, c, "iam:PutUserPolicy", in.UserName)
	if err != nil {
		return err
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		var cur userRecord
		if err := getJSON(tx, userKey(c.AccountID, u.Name), &cur); errors.Is(err, storage.ErrNotFound) || err == nil && cur.ID != u.ID {
			return noSuchUser(in.UserName)
		} else if err != nil {
			return err
		}
		return putPolicy(tx, userPolicyPrefix(c.AccountID, u.Name), in.PolicyName, in.PolicyDocument, maxUserPolicySize,
			awserr.New(CodeLimitExceeded, "Maximum policy size of %d bytes exceeded for user %s", maxUserPolicySize, u.Name))
	})
	return asAWS(err)
}

// GetUserPolicy returns an inline policy of a user, URL-encoded.
func (s *Store) GetUserPolicy(ctx context.Context, c *auth.Principal, in *GetUserPolicyInput) (*GetUserPolicyOutput, error) {
	var v validator
	v.name("userName", in.UserName, 128)
	v.name("policyName", in.PolicyName, 128)
	if err := v.err(); err != nil {
		return nil, err
	}
	u, err := s.loadUser(ctx, c, "iam:GetUserPolicy", in.UserName)
	if err != nil {
		return nil, err
	}
	p, err := s.getPolicy(ctx, userPolicyPrefix(c.AccountID, u.Name), in.PolicyName,
		awserr.New(CodeNoSuchEntity, "The user policy with name %s cannot be found.", in.PolicyName))
	if err != nil {
		return nil, err
	}
	return &GetUserPolicyOutput{UserName: u.Name, PolicyName: p.Name, PolicyDocument: escapePolicy(p.Document)}, nil
}

func (s *Store) getPolicy(ctx context.Context, prefix []byte, name string, notFound error) (*policyRecord, error) {
	var p policyRecord
	err := s.store.View(ctx, func(tx storage.Tx) error {
		return getJSON(tx, append(append([]byte{}, prefix...), name...), &p)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, awserr.Internal(err)
	}
	return &p, nil
}

func (s *Store) deletePolicy(ctx context.Context, prefix []byte, name string, notFound error) error {
	err := s.update(ctx, func(tx storage.Tx) error {
		key := append(append([]byte{}, prefix...), name...)
		if _, err := tx.Get(key); errors.Is(err, storage.ErrNotFound) {
			return notFound
		} else if err != nil {
			return err
		}
		return tx.Delete(key)
	})
	return asAWS(err)
}

func (s *Store) listPolicies(ctx context.Context, prefix []byte, marker string, limit int) (*ListPoliciesOutput, error) {
	var (
		recs []policyRecord
		next string
	)
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		recs, next, err = page[policyRecord](tx, prefix, marker, limit, nil)
		return err
	})
	if err != nil {
		return nil, asAWS(err)
	}
	out := &ListPoliciesOutput{PolicyNames: Members[string]{Member: []string{}}, IsTruncated: next != "", Marker: next}
	for _, p := range recs {
		out.PolicyNames.Member = append(out.PolicyNames.Member, p.Name)
	}
	return out, nil
}

// DeleteUserPolicy deletes an inline policy of a user.
func (s *Store) DeleteUserPolicy(ctx context.Context, c *auth.Principal, in *DeleteUserPolicyInput) error {
	var v validator
	v.name("userName", in.UserName, 128)
	v.name("policyName", in.PolicyName, 128)
	if err := v.err(); err != nil {
		return err
	}
	u, err := s.loadUser(ctx, c, "iam:DeleteUserPolicy", in.UserName)
	if err != nil {
		return err
	}
	return s.deletePolicy(ctx, userPolicyPrefix(c.AccountID, u.Name), in.PolicyName,
		awserr.New(CodeNoSuchEntity, "The user policy with name %s cannot be found.", in.PolicyName))
}

// ListUserPolicies lists the names of a user's inline policies.
func (s *Store) ListUserPolicies(ctx context.Context, c *auth.Principal, in *ListUserPoliciesInput) (*ListPoliciesOutput, error) {
	var v validator
	v.name("userName", in.UserName, 128)
	v.marker(in.Marker)
	limit := v.maxItems(in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	u, err := s.loadUser(ctx, c, "iam:ListUserPolicies", in.UserName)
	if err != nil {
		return nil, err
	}
	return s.listPolicies(ctx, userPolicyPrefix(c.AccountID, u.Name), in.Marker, limit)
}

// PutRolePolicy adds or replaces an inline policy of a role.
func (s *Store) PutRolePolicy(ctx context.Context, c *auth.Principal, in *PutRolePolicyInput) error {
	var v validator
	v.name("roleName", in.RoleName, 64)
	validatePolicyInput(&v, in.PolicyName, in.PolicyDocument)
	if err := v.err(); err != nil {
		return err
	}
	if err := validatePolicyDocument(in.PolicyDocument, policy.IdentityPolicy); err != nil {
		return err
	}
	r, err := s.loadRole(ctx, c, "iam:PutRolePolicy", in.RoleName)
	if err != nil {
		return err
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		var cur roleRecord
		if err := getJSON(tx, roleKey(c.AccountID, r.Name), &cur); errors.Is(err, storage.ErrNotFound) || err == nil && cur.ID != r.ID {
			return noSuchRole(in.RoleName)
		} else if err != nil {
			return err
		}
		return putPolicy(tx, rolePolicyPrefix(c.AccountID, r.Name), in.PolicyName, in.PolicyDocument, maxRolePolicySize,
			awserr.New(CodeLimitExceeded, "Maximum policy size of %d bytes exceeded for role %s", maxRolePolicySize, r.Name))
	})
	return asAWS(err)
}

// GetRolePolicy returns an inline policy of a role, URL-encoded.
func (s *Store) GetRolePolicy(ctx context.Context, c *auth.Principal, in *GetRolePolicyInput) (*GetRolePolicyOutput, error) {
	var v validator
	v.name("roleName", in.RoleName, 64)
	v.name("policyName", in.PolicyName, 128)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := s.loadRole(ctx, c, "iam:GetRolePolicy", in.RoleName)
	if err != nil {
		return nil, err
	}
	p, err := s.getPolicy(ctx, rolePolicyPrefix(c.AccountID, r.Name), in.PolicyName,
		awserr.New(CodeNoSuchEntity, "The role policy with name %s cannot be found.", in.PolicyName))
	if err != nil {
		return nil, err
	}
	return &GetRolePolicyOutput{RoleName: r.Name, PolicyName: p.Name, PolicyDocument: escapePolicy(p.Document)}, nil
}

// DeleteRolePolicy deletes an inline policy of a role.
func (s *Store) DeleteRolePolicy(ctx context.Context, c *auth.Principal, in *DeleteRolePolicyInput) error {
	var v validator
	v.name("roleName", in.RoleName, 64)
	v.name("policyName", in.PolicyName, 128)
	if err := v.err(); err != nil {
		return err
	}
	r, err := s.loadRole(ctx, c, "iam:DeleteRolePolicy", in.RoleName)
	if err != nil {
		return err
	}
	return s.deletePolicy(ctx, rolePolicyPrefix(c.AccountID, r.Name), in.PolicyName,
		awserr.New(CodeNoSuchEntity, "The role policy with name %s cannot be found.", in.PolicyName))
}

// ListRolePolicies lists the names of a role's inline policies.
func (s *Store) ListRolePolicies(ctx context.Context, c *auth.Principal, in *ListRolePoliciesInput) (*ListPoliciesOutput, error) {
	var v validator
	v.name("roleName", in.RoleName, 64)
	v.marker(in.Marker)
	limit := v.maxItems(in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := s.loadRole(ctx, c, "iam:ListRolePolicies", in.RoleName)
	if err != nil {
		return nil, err
	}
	return s.listPolicies(ctx, rolePolicyPrefix(c.AccountID, r.Name), in.Marker, limit)
}

// IdentityPolicies returns the identity-based policy documents that apply
// to a principal: the inline policies of an IAM user, or of the role behind
// an assumed-role session. The account root has none (it needs none). A
// user or role that no longer exists, or was deleted and created again
// (another unique id), has none.
func (s *Store) IdentityPolicies(ctx context.Context, id auth.Identity) ([]string, error) {
	var docs []string
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var prefix []byte
		switch id.Type {
		case TypeUser:
			var u userRecord
			if err := getJSON(tx, userKey(id.AccountID, id.UserName), &u); errors.Is(err, storage.ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			if u.ID != id.PrincipalID {
				return nil
			}
			prefix = userPolicyPrefix(id.AccountID, u.Name)
		case TypeAssumedRole:
			name := id.RoleARN[strings.LastIndexByte(id.RoleARN, '/')+1:]
			var r roleRecord
			if err := getJSON(tx, roleKey(id.AccountID, name), &r); errors.Is(err, storage.ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			roleID, _, _ := strings.Cut(id.PrincipalID, ":")
			if r.ID != roleID || r.ARN != id.RoleARN {
				return nil
			}
			prefix = rolePolicyPrefix(id.AccountID, r.Name)
		default:
			return nil
		}
		kvs, _, err := tx.List(prefix, nil, 0)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			var p policyRecord
			if err := json.Unmarshal(kv.Value, &p); err != nil {
				return err
			}
			docs = append(docs, p.Document)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("iam: identity policies of %s: %w", id.ARN, err)
	}
	return docs, nil
}

// ParsedIdentityPolicies is IdentityPolicies parsed, for evaluation. A
// stored document was validated when it was put; one that no longer parses
// is an error rather than a policy silently ignored.
func (s *Store) ParsedIdentityPolicies(ctx context.Context, id auth.Identity) ([]*policy.Policy, error) {
	docs, err := s.IdentityPolicies(ctx, id)
	if err != nil || len(docs) == 0 {
		return nil, err
	}
	out := make([]*policy.Policy, len(docs))
	for i, d := range docs {
		if out[i], err = s.policies.Parse(d, policy.IdentityPolicy); err != nil {
			return nil, fmt.Errorf("iam: identity policy of %s: %w", id.ARN, err)
		}
	}
	return out, nil
}
