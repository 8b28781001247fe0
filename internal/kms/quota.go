package kms

import (
	"strings"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/quota"
)

// Limiter enforces request quotas: Allow takes one request from the quota
// class of an account in a Region and tells whether it was there;
// quota.Limiter implements it.
type Limiter interface {
	Allow(account, region string, class quota.Class) bool
}

// errThrottled is what a request past a quota gets, worded as AWS words it.
func errThrottled() error {
	return awserr.New(awserr.Throttling, "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.")
}

// quotaAccount is whose quota a request counts against: the caller's
// account (a cross-account request counts against the caller's, not the
// key owner's), or, for a service calling for itself, the service.
func quotaAccount(c *Caller) string {
	if c.AccountID != "" {
		return c.AccountID
	}
	return c.ARN
}

// count takes one request of class from the caller's quota.
func (s *Service) count(c *Caller, class quota.Class) error {
	if s.limiter == nil || class == "" {
		return nil
	}
	if !s.limiter.Allow(quotaAccount(c), c.Region, class) {
		return errThrottled()
	}
	return nil
}

// Admit counts a request against the quota its operation has before any
// key is known — a management operation's own quota, or the symmetric one
// for GenerateRandom — and returns ThrottlingException when it is spent.
// The api package calls it once the caller is known and before the
// operation runs, so a throttled request changes nothing. Cryptographic
// operations are counted when their key is loaded (countKeyUse), against
// the quota of the key's type.
func (s *Service) Admit(c *Caller, operation string) error {
	if s.limiter == nil {
		return nil
	}
	return s.count(c, quota.ForOperation(operation))
}

// countKeyUse counts a cryptographic operation against the shared quota
// of its key's type (RSA, ECC, …), once per request: ReEncrypt counts
// against its source key's. A key that does not exist (k nil) counts
// against the symmetric quota, so that a flood of requests for missing
// keys is throttled too.
func (s *Service) countKeyUse(c *Caller, k *keyRecord, a *access) error {
	if s.limiter == nil || a == nil || c.counted {
		return nil
	}
	op := strings.TrimPrefix(a.action, "kms:")
	if op == "ReEncryptFrom" || op == "ReEncryptTo" {
		op = "ReEncrypt"
	}
	if !quota.KeyCrypto(op) {
		return nil
	}
	c.counted = true
	spec := ""
	if k != nil {
		spec = k.KeySpec
	}
	return s.count(c, quota.ForKeySpec(spec))
}
