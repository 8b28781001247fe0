package iam

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/storage"
)

// maxAccessKeys is IAM's quota of access keys per user (and per root).
const maxAccessKeys = 2

// keyOwner is whose access keys a request is about: a user of the caller's
// account, or the account root.
type keyOwner struct {
	root bool
	user *userRecord
}

func (o keyOwner) indexPrefix(acct string) []byte {
	if o.root {
		return rootKeyPrefix(acct)
	}
	return userKeyPrefix(acct, o.user.Name)
}

func (o keyOwner) owns(acct string, rec *accessKeyRecord) bool {
	if rec.AccountID != acct {
		return false
	}
	if o.root {
		return rec.Principal == ownerRoot
	}
	return rec.Principal == ownerUser && rec.UserID == o.user.ID
}

func (o keyOwner) userName() string {
	if o.root {
		return ""
	}
	return o.user.Name
}

// resolveOwner finds whose keys a request is about — the named user, or
// without a name the caller itself — and authorizes action on it.
func (s *Store) resolveOwner(ctx context.Context, c *auth.Principal, action, name string) (keyOwner, error) {
	if name == "" {
		switch c.Type {
		case TypeRoot:
			if err := s.authorizeIAM(ctx, c, action, c.ARN); err != nil {
				return keyOwner{}, err
			}
			return keyOwner{root: true}, nil
		case TypeUser:
			name = c.UserName
		default:
			return keyOwner{}, errNonUserCaller()
		}
	}
	u, err := s.loadUser(ctx, c, action, name)
	if err != nil {
		return keyOwner{}, err
	}
	return keyOwner{user: u}, nil
}

// CreateAccessKey creates an access key for a user, or for the caller.
// The secret is in the answer once; it is stored only sealed.
func (s *Store) CreateAccessKey(ctx context.Context, c *auth.Principal, in *CreateAccessKeyInput) (*CreateAccessKeyOutput, error) {
	var v validator
	if in.UserName != "" {
		v.name("userName", in.UserName, 128)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	owner, err := s.resolveOwner(ctx, c, "iam:CreateAccessKey", in.UserName)
	if err != nil {
		return nil, err
	}
	akid, secret, err := NewAccessKey()
	if err != nil {
		return nil, awserr.Internal(err)
	}
	sealed, err := s.sealer.Seal([]byte(secret), secretAAD(akid))
	if err != nil {
		return nil, awserr.Internal(err)
	}
	rec := accessKeyRecord{AccessKeyID: akid, AccountID: c.AccountID, Principal: ownerRoot, Status: statusActive, SealedSecret: sealed, Created: s.now()}
	if !owner.root {
		rec.Principal, rec.UserName, rec.UserID = ownerUser, owner.user.Name, owner.user.ID
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		if !owner.root {
			var u userRecord
			if err := getJSON(tx, userKey(c.AccountID, owner.user.Name), &u); errors.Is(err, storage.ErrNotFound) || err == nil && u.ID != owner.user.ID {
				return noSuchUser(owner.user.Name)
			} else if err != nil {
				return err
			}
		}
		err := putNewKey(tx, owner.indexPrefix(c.AccountID), rec)
		if errors.Is(err, ErrAccessKeyQuota) {
			return awserr.New(CodeLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeys)
		}
		return err
	})
	if err != nil {
		return nil, asAWS(err)
	}
	return &CreateAccessKeyOutput{AccessKey: AccessKey{UserName: owner.userName(), AccessKeyID: akid, Status: statusActive,
		SecretAccessKey: secret, CreateDate: rec.Created}}, nil
}

// putNewKey stores a new access key and its entry in the owner's index,
// unless the owner has maxAccessKeys already (ErrAccessKeyQuota). Inactive
// keys count, as they do in IAM.
func putNewKey(tx storage.Tx, index []byte, rec accessKeyRecord) error {
	kvs, _, err := tx.List(index, nil, maxAccessKeys)
	if err != nil {
		return err
	}
	if len(kvs) >= maxAccessKeys {
		return ErrAccessKeyQuota
	}
	if _, err := tx.Get(accessKeyKey(rec.AccessKeyID)); err == nil {
		return errors.New("iam: a new access key id collides with an existing one")
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if err := putJSON(tx, accessKeyKey(rec.AccessKeyID), rec); err != nil {
		return err
	}
	return tx.Put(append(bytes.Clone(index), rec.AccessKeyID...), []byte{})
}

func validateAccessKeyID(v *validator, id string) {
	if v.required("accessKeyId", id) && v.length("accessKeyId", id, 16, 128) {
		v.pattern("accessKeyId", id, func(r rune) bool {
			return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_'
		}, `[\w]+`)
	}
}

// changeKey runs fn on an access key of owner inside a read-write
// transaction; a key of anyone else does not exist for the request.
func (s *Store) changeKey(ctx context.Context, c *auth.Principal, owner keyOwner, akid string, fn func(tx storage.Tx, rec *accessKeyRecord) error) error {
	err := s.update(ctx, func(tx storage.Tx) error {
		var rec accessKeyRecord
		if err := getJSON(tx, accessKeyKey(akid), &rec); errors.Is(err, storage.ErrNotFound) {
			return noSuchAccessKey(akid)
		} else if err != nil {
			return err
		}
		if !owner.owns(c.AccountID, &rec) {
			return noSuchAccessKey(akid)
		}
		return fn(tx, &rec)
	})
	return asAWS(err)
}

// DeleteAccessKey deletes an access key of a user, or of the caller.
func (s *Store) DeleteAccessKey(ctx context.Context, c *auth.Principal, in *DeleteAccessKeyInput) error {
	var v validator
	if in.UserName != "" {
		v.name("userName", in.UserName, 128)
	}
	validateAccessKeyID(&v, in.AccessKeyID)
	if err := v.err(); err != nil {
		return err
	}
	owner, err := s.resolveOwner(ctx, c, "iam:DeleteAccessKey", in.UserName)
	if err != nil {
		return err
	}
	return s.changeKey(ctx, c, owner, in.AccessKeyID, func(tx storage.Tx, rec *accessKeyRecord) error {
		if err := tx.Delete(accessKeyKey(rec.AccessKeyID)); err != nil {
			return err
		}
		return tx.Delete(append(owner.indexPrefix(c.AccountID), rec.AccessKeyID...))
	})
}

// UpdateAccessKey makes an access key Active or Inactive. An inactive key
// authenticates nothing.
func (s *Store) UpdateAccessKey(ctx context.Context, c *auth.Principal, in *UpdateAccessKeyInput) error {
	var v validator
	if in.UserName != "" {
		v.name("userName", in.UserName, 128)
	}
	validateAccessKeyID(&v, in.AccessKeyID)
	if v.required("status", in.Status) && in.Status != statusActive && in.Status != statusInactive {
		v.add("status", quote(in.Status), "Member must satisfy enum value set: [Active, Inactive]")
	}
	if err := v.err(); err != nil {
		return err
	}
	owner, err := s.resolveOwner(ctx, c, "iam:UpdateAccessKey", in.UserName)
	if err != nil {
		return err
	}
	return s.changeKey(ctx, c, owner, in.AccessKeyID, func(tx storage.Tx, rec *accessKeyRecord) error {
		rec.Status = in.Status
		return putJSON(tx, accessKeyKey(rec.AccessKeyID), rec)
	})
}

// ListAccessKeys lists the access keys of a user, or of the caller. There
// are at most two, so one page holds them all.
func (s *Store) ListAccessKeys(ctx context.Context, c *auth.Principal, in *ListAccessKeysInput) (*ListAccessKeysOutput, error) {
	var v validator
	if in.UserName != "" {
		v.name("userName", in.UserName, 128)
	}
	v.marker(in.Marker)
	v.maxItems(in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	owner, err := s.resolveOwner(ctx, c, "iam:ListAccessKeys", in.UserName)
	if err != nil {
		return nil, err
	}
	out := &ListAccessKeysOutput{AccessKeyMetadata: Members[AccessKeyMetadata]{Member: []AccessKeyMetadata{}}}
	err = s.store.View(ctx, func(tx storage.Tx) error {
		prefix := owner.indexPrefix(c.AccountID)
		kvs, _, err := tx.List(prefix, nil, 0)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			var rec accessKeyRecord
			akid := strings.TrimPrefix(string(kv.Key), string(prefix))
			if err := getJSON(tx, accessKeyKey(akid), &rec); errors.Is(err, storage.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if !owner.owns(c.AccountID, &rec) {
				continue
			}
			status := rec.Status
			if status == "" {
				status = statusActive
			}
			out.AccessKeyMetadata.Member = append(out.AccessKeyMetadata.Member, AccessKeyMetadata{
				UserName: owner.userName(), AccessKeyID: rec.AccessKeyID, Status: status, CreateDate: rec.Created})
		}
		return nil
	})
	if err != nil {
		return nil, asAWS(err)
	}
	return out, nil
}
