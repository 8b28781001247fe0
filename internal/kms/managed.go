package kms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/storage"
)

// AWS managed keys (alias/aws/<service>) are made by kagi, not by a
// caller: the first time a registered service names alias/aws/<its name>
// on a caller's behalf (or anyone asks DescribeKey of it, as AWS documents),
// kagi creates, in the caller's account and Region, a symmetric key with
// KeyManager AWS, AWS's managed key policy and the alias, in one storage
// transaction. Nobody may change them: their policy allows only use through
// the service and, directly, the account's Describe*, Get* and List*, and
// the policy itself cannot be replaced, so DisableKey, ScheduleKeyDeletion,
// PutKeyPolicy, TagResource, UpdateKeyDescription, CreateGrant and the rest
// are AccessDeniedException, as in AWS. They rotate every year
// (rotation.go) and do not count toward the customer managed key quota.

// ServiceRegistry tells which services are registered (iam.Store
// implements it) and the name their AWS managed key's description uses.
type ServiceRegistry interface {
	ServiceDisplayName(ctx context.Context, name string) (displayName string, ok bool, err error)
}

const (
	keyManagerAWS      = "AWS"
	keyManagerCustomer = "CUSTOMER"
	managedAliasPrefix = "alias/aws/"
	// managedRotationDays is how often AWS managed keys rotate: every year.
	managedRotationDays = 365
)

// missingManagedKey is the cause of the NotFoundException for an
// alias/aws/<service> of the caller's account that does not exist yet:
// CreateManagedKey reads it to make the key.
type missingManagedKey struct {
	account, region, service string
	describe                 bool // the request was DescribeKey
}

func (*missingManagedKey) Error() string { return "kms: the AWS managed key does not exist yet" }

// markMissingManaged turns the NotFoundException of an unknown
// alias/aws/<service> alias in the caller's own account into one that
// carries a missingManagedKey. The client sees the same exception.
func markMissingManaged(err error, c *Caller, id string, a *access) error {
	var e *awserr.Error
	if !errors.As(err, &e) || e.Code != awserr.NotFound || c.AccountID == "" {
		return err
	}
	name := requestAlias(id)
	svc, ok := strings.CutPrefix(name, managedAliasPrefix)
	if !ok || svc == "" || strings.Contains(svc, "/") {
		return err
	}
	if strings.HasPrefix(id, "arn:") {
		p, perr := arn.Parse(id)
		if perr != nil || p.Account != c.AccountID {
			return err
		}
	}
	return &awserr.Error{Code: e.Code, Message: e.Message, Cause: &missingManagedKey{
		account: c.AccountID, region: c.Region, service: svc, describe: a != nil && a.action == "kms:DescribeKey"}}
}

// CreateManagedKey makes the AWS managed key that err (the result of a
// request by c) found missing, if c may have it made: a service calling on
// its caller's behalf for its own alias/aws/<name>, or a DescribeKey of the
// alias of a registered service. It reports whether the request should run
// again. Concurrent first uses make one key: the key and its alias are
// written in one transaction that first looks for the alias.
func (s *Service) CreateManagedKey(ctx context.Context, c *Caller, err error) (bool, error) {
	var m *missingManagedKey
	if err == nil || c == nil || !errors.As(err, &m) {
		return false, nil
	}
	display := strings.ToUpper(m.service)
	registered := false
	if s.services != nil {
		d, ok, rerr := s.services.ServiceDisplayName(ctx, m.service)
		if rerr != nil {
			return false, awserr.Internal(rerr)
		}
		if ok {
			display, registered = d, true
		}
	}
	viaOwn := c.CalledVia == m.service+".amazonaws.com"
	if !viaOwn && !(m.describe && registered) {
		return false, nil
	}
	if err := s.ensureManagedKey(ctx, c.Partition, m.account, m.region, m.service, display); err != nil {
		return false, err
	}
	return true, nil
}

func (s *Service) ensureManagedKey(ctx context.Context, partition, acct, region, svc, display string) error {
	id, err := s.newKeyID()
	if err != nil {
		return awserr.Internal(err)
	}
	now := s.clock.Now().UTC()
	next := now.AddDate(0, 0, managedRotationDays)
	k := &keyRecord{
		KeyID:        id,
		Account:      acct,
		Region:       region,
		ARN:          arn.Key(partition, region, acct, id),
		Created:      now,
		Description:  "Default key that protects my " + display + " data when no other key is defined",
		KeySpec:      crypto.SpecSymmetric,
		KeyUsage:     "ENCRYPT_DECRYPT",
		Origin:       "AWS_KMS",
		State:        stateEnabled,
		Policy:       managedKeyPolicy(partition, acct, region, svc, display),
		Manager:      keyManagerAWS,
		RotationDays: managedRotationDays,
		NextRotation: &next,
	}
	mat, err := s.newMaterial(ctx, k)
	if err != nil {
		return err
	}
	k.Materials = []material{mat}
	alias := managedAliasPrefix + svc
	return s.update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(aliasKey(acct, region, alias)); err == nil {
			return nil // made by a request that got here first
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := putJSON(tx, keyKey(acct, region, id), k); err != nil {
			return err
		}
		if err := putJSON(tx, aliasKey(acct, region, alias), aliasRecord{TargetKeyID: id, Created: now, Updated: now}); err != nil {
			return err
		}
		if err := tx.Put(aliasIndexKey(acct, region, id, alias), nil); err != nil {
			return err
		}
		return tx.Put(rotationKey(next, acct, region, id), nil)
	})
}

// managedKeyPolicy is the key policy of an AWS managed key, as AWS writes
// it for S3's (Id auto-s3-2): everyone in the account may use the key
// through the service; the account may read its metadata directly.
func managedKeyPolicy(partition, acct, region, svc, display string) string {
	return `{
  "Version" : "2012-10-17",
  "Id" : "auto-` + svc + `-2",
  "Statement" : [ {
    "Sid" : "Allow access through ` + display + ` for all principals in the account that are authorized to use ` + display + `",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "*"
    },
    "Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey" ],
    "Resource" : "*",
    "Condition" : {
      "StringEquals" : {
        "kms:CallerAccount" : "` + acct + `",
        "kms:ViaService" : "` + svc + `.` + region + `.amazonaws.com"
      }
    }
  }, {
    "Sid" : "Allow direct access to key metadata to the account",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:` + partition + `:iam::` + acct + `:root"
    },
    "Action" : [ "kms:Describe*", "kms:Get*", "kms:List*" ],
    "Resource" : "*"
  } ]
}`
}

// rotationKey indexes keys with automatic rotation by when they rotate next.
func rotationKey(when time.Time, acct, region, id string) []byte {
	return []byte(fmt.Sprintf("%s%020d/%s/%s/%s", rotationPrefix, when.UnixNano(), acct, region, id))
}

const rotationPrefix = "rot/"
