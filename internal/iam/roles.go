package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/policy"
	"github.com/kagikms/kagi/internal/storage"
)

// maxRolesPerAccount is IAM's default quota.
const maxRolesPerAccount = 1000

// Session durations a role allows, in seconds.
const (
	defaultMaxSessionDuration = 3600
	minMaxSessionDuration     = 3600
	maxMaxSessionDuration     = 43200
)

type roleRecord struct {
	Name        string    `json:"name"`
	Path        string    `json:"path"`
	ID          string    `json:"id"`
	ARN         string    `json:"arn"`
	Created     time.Time `json:"created"`
	TrustPolicy string    `json:"trust"`
	// TrustIDs binds the users and roles the trust policy names to their
	// unique IDs when it was set (policy.Request.BoundPrincipals).
	TrustIDs           map[string]string `json:"trustIDs,omitempty"`
	Description        string            `json:"description,omitempty"`
	MaxSessionDuration int32             `json:"maxSession"`
	Tags               []Tag             `json:"tags,omitempty"`
}

func (r *roleRecord) shape() Role {
	return Role{Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN, CreateDate: r.Created,
		AssumeRolePolicyDocument: escapePolicy(r.TrustPolicy), Description: r.Description,
		MaxSessionDuration: r.MaxSessionDuration, Tags: tagList(r.Tags)}
}

func (s *Store) roleARN(acct, path, name string) string {
	return "arn:" + s.partition + ":iam::" + acct + ":role" + path + name
}

// loadRole reads a role of the caller's account after authorizing action
// on it. An unauthorized caller learns nothing about whether it exists.
func (s *Store) loadRole(ctx context.Context, c *auth.Principal, action, name string) (*roleRecord, error) {
	var r roleRecord
	err := s.store.View(ctx, func(tx storage.Tx) error { return getJSON(tx, roleKey(c.AccountID, name), &r) })
	found := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, awserr.Internal(err)
	}
	resource := s.roleARN(c.AccountID, "/", name)
	if found {
		resource = r.ARN
	}
	if err := s.authorizeIAM(ctx, c, action, resource); err != nil {
		return nil, err
	}
	if !found {
		return nil, noSuchRole(name)
	}
	return &r, nil
}

// validateTrustPolicy checks a role's trust policy: its syntax, its size,
// and, as IAM does, that every AWS principal it names exists ("Invalid
// principal in policy").
// It returns the unique IDs the policy binds to.
func (s *Store) validateTrustPolicy(ctx context.Context, doc string) (map[string]string, error) {
	if err := validatePolicyDocument(doc, policy.TrustPolicy); err != nil {
		return nil, err
	}
	if policySize(doc) > maxTrustPolicySize {
		return nil, awserr.New(CodeLimitExceeded, "Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize)
	}
	p, err := policy.Parse(doc, policy.TrustPolicy)
	if err != nil {
		return nil, errMalformedPolicy("Syntax errors in policy.")
	}
	ids, missing, err := policy.BindPrincipals(p, func(name string) (string, bool, error) { return s.PrincipalID(ctx, name) })
	if err != nil {
		return nil, awserr.Internal(err)
	}
	if missing != "" {
		return nil, errMalformedPolicy(fmt.Sprintf("Invalid principal in policy: \"AWS\":%q", missing))
	}
	return ids, nil
}

// CreateRole creates a role in the caller's account.
func (s *Store) CreateRole(ctx context.Context, c *auth.Principal, in *CreateRoleInput) (*CreateRoleOutput, error) {
	var v validator
	v.name("roleName", in.RoleName, 64)
	v.path("path", in.Path)
	v.policyDocument("assumeRolePolicyDocument", in.AssumeRolePolicyDocument)
	if v.length("description", in.Description, 0, 1000) {
		v.pattern("description", in.Description, isDescriptionChar, reDescription)
	}
	v.intRange("maxSessionDuration", in.MaxSessionDuration, minMaxSessionDuration, maxMaxSessionDuration)
	if in.PermissionsBoundary != "" {
		v.length("permissionsBoundary", in.PermissionsBoundary, 20, 2048)
	}
	v.tags("tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	if in.PermissionsBoundary != "" {
		return nil, errValidation("kagi does not support permissions boundaries yet.")
	}
	trustIDs, err := s.validateTrustPolicy(ctx, in.AssumeRolePolicyDocument)
	if err != nil {
		return nil, err
	}
	path := in.Path
	if path == "" {
		path = "/"
	}
	maxSession := int32(defaultMaxSessionDuration)
	if in.MaxSessionDuration != nil {
		maxSession = *in.MaxSessionDuration
	}
	r := roleRecord{Name: in.RoleName, Path: path, ARN: s.roleARN(c.AccountID, path, in.RoleName), Created: s.now(),
		TrustPolicy: in.AssumeRolePolicyDocument, TrustIDs: trustIDs, Description: in.Description, MaxSessionDuration: maxSession, Tags: in.Tags}
	if err := s.authorizeIAM(ctx, c, "iam:CreateRole", r.ARN); err != nil {
		return nil, err
	}
	id, err := newUniqueID("AROA")
	if err != nil {
		return nil, awserr.Internal(err)
	}
	r.ID = id
	err = s.update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(roleKey(c.AccountID, r.Name)); err == nil {
			return awserr.New(CodeEntityAlreadyExists, "Role with name %s already exists.", r.Name)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		acct, err := loadAccount(tx, c.AccountID)
		if err != nil {
			return err
		}
		if acct.Roles >= maxRolesPerAccount {
			return awserr.New(CodeLimitExceeded, "Cannot exceed quota for RolesPerAccount: %d", maxRolesPerAccount)
		}
		acct.Roles++
		if err := putJSON(tx, accountKey(c.AccountID), acct); err != nil {
			return err
		}
		return putJSON(tx, roleKey(c.AccountID, r.Name), r)
	})
	if err != nil {
		return nil, asAWS(err)
	}
	return &CreateRoleOutput{Role: r.shape()}, nil
}

// GetRole returns a role.
func (s *Store) GetRole(ctx context.Context, c *auth.Principal, in *GetRoleInput) (*GetRoleOutput, error) {
	var v validator
	v.name("roleName", in.RoleName, 64)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := s.loadRole(ctx, c, "iam:GetRole", in.RoleName)
	if err != nil {
		return nil, err
	}
	return &GetRoleOutput{Role: r.shape()}, nil
}

// DeleteRole deletes a role that has no inline policies left. Sessions of
// the role keep authenticating until they expire, as AWS's do, but have no
// identity policies any more.
func (s *Store) DeleteRole(ctx context.Context, c *auth.Principal, in *DeleteRoleInput) error {
	var v validator
	v.name("roleName", in.RoleName, 64)
	if err := v.err(); err != nil {
		return err
	}
	if _, err := s.loadRole(ctx, c, "iam:DeleteRole", in.RoleName); err != nil {
		return err
	}
	err := s.update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(roleKey(c.AccountID, in.RoleName)); errors.Is(err, storage.ErrNotFound) {
			return noSuchRole(in.RoleName)
		} else if err != nil {
			return err
		}
		if kvs, _, err := tx.List(rolePolicyPrefix(c.AccountID, in.RoleName), nil, 1); err != nil {
			return err
		} else if len(kvs) > 0 {
			return awserr.New(CodeDeleteConflict, "Cannot delete entity, must delete policies first.")
		}
		acct, err := loadAccount(tx, c.AccountID)
		if err != nil {
			return err
		}
		if acct.Roles > 0 {
			acct.Roles--
		}
		if err := putJSON(tx, accountKey(c.AccountID), acct); err != nil {
			return err
		}
		return tx.Delete(roleKey(c.AccountID, in.RoleName))
	})
	return asAWS(err)
}

// ListRoles lists the roles of the caller's account whose path starts with
// PathPrefix, in name order (without case), a page at a time.
func (s *Store) ListRoles(ctx context.Context, c *auth.Principal, in *ListRolesInput) (*ListRolesOutput, error) {
	var v validator
	v.pathPrefix("pathPrefix", in.PathPrefix)
	v.marker(in.Marker)
	limit := v.maxItems(in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorizeIAM(ctx, c, "iam:ListRoles", s.roleARN(c.AccountID, "/", "")); err != nil {
		return nil, err
	}
	var (
		roles []roleRecord
		next  string
	)
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		roles, next, err = page(tx, rolePrefix(c.AccountID), in.Marker, limit, func(r *roleRecord) bool {
			return strings.HasPrefix(r.Path, in.PathPrefix)
		})
		return err
	})
	if err != nil {
		return nil, asAWS(err)
	}
	out := &ListRolesOutput{Roles: Members[Role]{Member: []Role{}}, IsTruncated: next != "", Marker: next}
	for i := range roles {
		r := roles[i].shape()
		r.Tags = nil // ListRoles leaves tags out, as AWS's does: GetRole has them
		out.Roles.Member = append(out.Roles.Member, r)
	}
	return out, nil
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Store) UpdateAssumeRolePolicy(ctx context.Context, c *auth.Principal, in *UpdateAssumeRolePolicyInput) error {
	var v validator
	v.name("roleName", in.RoleName, 64)
	v.policyDocument("policyDocument", in.PolicyDocument)
	if err := v.err(); err != nil {
		return err
	}
	trustIDs, err := s.validateTrustPolicy(ctx, in.PolicyDocument)
	if err != nil {
		return err
	}
	r, err := s.loadRole(ctx, c, "iam:UpdateAssumeRolePolicy", in.RoleName)
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
		cur.TrustPolicy, cur.TrustIDs = in.PolicyDocument, trustIDs
		return putJSON(tx, roleKey(c.AccountID, r.Name), cur)
	})
	return asAWS(err)
}
