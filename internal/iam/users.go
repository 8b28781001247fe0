package iam

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/storage"
)

// maxUsersPerAccount is IAM's default quota.
const maxUsersPerAccount = 5000

type userRecord struct {
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	ID      string    `json:"id"`
	ARN     string    `json:"arn"`
	Created time.Time `json:"created"`
	Tags    []Tag     `json:"tags,omitempty"`
}

func (u *userRecord) identity(acct string) auth.Identity {
	return auth.Identity{AccountID: acct, ARN: u.ARN, PrincipalID: u.ID, Type: TypeUser, UserName: u.Name, Tags: tagMap(u.Tags, nil)}
}

func (u *userRecord) shape() User {
	return User{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN, CreateDate: u.Created, Tags: tagList(u.Tags)}
}

func (s *Store) userARN(acct, path, name string) string {
	return "arn:" + s.partition + ":iam::" + acct + ":user" + path + name
}

// tagMap returns tags as a map, then over them the tags of over (session
// tags replace principal tags with the same key, compared without case).
// It returns nil when there are none.
func tagMap(tags []Tag, over []Tag) map[string]string {
	if len(tags)+len(over) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags)+len(over))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	for _, t := range over {
		for k := range m {
			if strings.EqualFold(k, t.Key) {
				delete(m, k)
			}
		}
		m[t.Key] = t.Value
	}
	return m
}

func tagList(tags []Tag) *Members[Tag] {
	if len(tags) == 0 {
		return nil
	}
	return &Members[Tag]{Member: tags}
}

// errNonUserCaller is IAM's answer when a request that defaults to the
// caller's user comes from a role session.
func errNonUserCaller() error {
	return errValidation("Must specify userName when calling with non-User credentials")
}

// loadUser reads a user of the caller's account after authorizing action
// on it. An unauthorized caller learns nothing about whether it exists.
func (s *Store) loadUser(ctx context.Context, c *auth.Principal, action, name string) (*userRecord, error) {
	var u userRecord
	err := s.store.View(ctx, func(tx storage.Tx) error { return getJSON(tx, userKey(c.AccountID, name), &u) })
	found := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, awserr.Internal(err)
	}
	resource := s.userARN(c.AccountID, "/", name)
	if found {
		resource = u.ARN
	}
	if err := s.authorizeIAM(ctx, c, action, resource); err != nil {
		return nil, err
	}
	if !found {
		return nil, noSuchUser(name)
	}
	return &u, nil
}

// CreateUser creates an IAM user in the caller's account.
func (s *Store) CreateUser(ctx context.Context, c *auth.Principal, in *CreateUserInput) (*CreateUserOutput, error) {
	var v validator
	v.name("userName", in.UserName, 64)
	v.path("path", in.Path)
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
	path := in.Path
	if path == "" {
		path = "/"
	}
	u := userRecord{Name: in.UserName, Path: path, ARN: s.userARN(c.AccountID, path, in.UserName), Created: s.now(), Tags: in.Tags}
	if err := s.authorizeIAM(ctx, c, "iam:CreateUser", u.ARN); err != nil {
		return nil, err
	}
	id, err := newUniqueID("AIDA")
	if err != nil {
		return nil, awserr.Internal(err)
	}
	u.ID = id
	err = s.update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(userKey(c.AccountID, u.Name)); err == nil {
			return awserr.New(CodeEntityAlreadyExists, "User with name %s already exists.", u.Name)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		acct, err := loadAccount(tx, c.AccountID)
		if err != nil {
			return err
		}
		if acct.Users >= maxUsersPerAccount {
			return awserr.New(CodeLimitExceeded, "Cannot exceed quota for UsersPerAccount: %d", maxUsersPerAccount)
		}
		acct.Users++
		if err := putJSON(tx, accountKey(c.AccountID), acct); err != nil {
			return err
		}
		return putJSON(tx, userKey(c.AccountID, u.Name), u)
	})
	if err != nil {
		return nil, asAWS(err)
	}
	return &CreateUserOutput{User: u.shape()}, nil
}

// GetUser returns a user, or the caller when no name is given (for the
// account root: its ARN and the account id).
func (s *Store) GetUser(ctx context.Context, c *auth.Principal, in *GetUserInput) (*GetUserOutput, error) {
	var v validator
	if in.UserName != "" {
		v.name("userName", in.UserName, 128)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	name := in.UserName
	if name == "" {
		switch c.Type {
		case TypeRoot:
			if err := s.authorizeIAM(ctx, c, "iam:GetUser", c.ARN); err != nil {
				return nil, err
			}
			var acct accountRecord
			err := s.store.View(ctx, func(tx storage.Tx) error {
				var err error
				acct, err = loadAccount(tx, c.AccountID)
				return err
			})
			if err != nil {
				return nil, awserr.Internal(err)
			}
			return &GetUserOutput{User: User{UserID: c.AccountID, Arn: c.ARN, CreateDate: acct.Created}}, nil
		case TypeUser:
			name = c.UserName
		default:
			return nil, errNonUserCaller()
		}
	}
	u, err := s.loadUser(ctx, c, "iam:GetUser", name)
	if err != nil {
		return nil, err
	}
	return &GetUserOutput{User: u.shape()}, nil
}

// DeleteUser deletes a user that has no access keys and no inline policies
// left, as IAM requires.
func (s *Store) DeleteUser(ctx context.Context, c *auth.Principal, in *DeleteUserInput) error {
	var v validator
	v.name("userName", in.UserName, 128)
	if err := v.err(); err != nil {
		return err
	}
	if _, err := s.loadUser(ctx, c, "iam:DeleteUser", in.UserName); err != nil {
		return err
	}
	err := s.update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(userKey(c.AccountID, in.UserName)); errors.Is(err, storage.ErrNotFound) {
			return noSuchUser(in.UserName)
		} else if err != nil {
			return err
		}
		if kvs, _, err := tx.List(userKeyPrefix(c.AccountID, in.UserName), nil, 1); err != nil {
			return err
		} else if len(kvs) > 0 {
			return awserr.New(CodeDeleteConflict, "Cannot delete entity, must delete access keys first.")
		}
		if kvs, _, err := tx.List(userPolicyPrefix(c.AccountID, in.UserName), nil, 1); err != nil {
			return err
		} else if len(kvs) > 0 {
			return awserr.New(CodeDeleteConflict, "Cannot delete entity, must delete policies first.")
		}
		acct, err := loadAccount(tx, c.AccountID)
		if err != nil {
			return err
		}
		if acct.Users > 0 {
			acct.Users--
		}
		if err := putJSON(tx, accountKey(c.AccountID), acct); err != nil {
			return err
		}
		return tx.Delete(userKey(c.AccountID, in.UserName))
	})
	return asAWS(err)
}

// ListUsers lists the users of the caller's account whose path starts with
// PathPrefix, in name order (without case), a page at a time.
func (s *Store) ListUsers(ctx context.Context, c *auth.Principal, in *ListUsersInput) (*ListUsersOutput, error) {
	var v validator
	v.pathPrefix("pathPrefix", in.PathPrefix)
	v.marker(in.Marker)
	limit := v.maxItems(in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorizeIAM(ctx, c, "iam:ListUsers", s.userARN(c.AccountID, "/", "")); err != nil {
		return nil, err
	}
	var (
		users []userRecord
		next  string
	)
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		users, next, err = page(tx, userPrefix(c.AccountID), in.Marker, limit, func(u *userRecord) bool {
			return strings.HasPrefix(u.Path, in.PathPrefix)
		})
		return err
	})
	if err != nil {
		return nil, asAWS(err)
	}
	out := &ListUsersOutput{Users: Members[User]{Member: []User{}}, IsTruncated: next != "", Marker: next}
	for i := range users {
		u := users[i].shape()
		u.Tags = nil // ListUsers leaves tags out, as AWS's does: GetUser has them
		out.Users.Member = append(out.Users.Member, u)
	}
	return out, nil
}

// asAWS passes an *awserr.Error through and makes anything else internal.
func asAWS(err error) error {
	if err == nil {
		return nil
	}
	var e *awserr.Error
	if errors.As(err, &e) {
		return e
	}
	return awserr.Internal(err)
}
