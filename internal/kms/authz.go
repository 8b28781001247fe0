package kms

import (
	"strconv"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/policy"
	"github.com/kagikms/kagi/internal/storage"
)

// access is what one operation asks of one key: the action and the
// condition keys the request itself supplies. Operations fill it; authorize
// adds the keys that come from the caller, the clock and the key.
type access struct {
	action string // "kms:Encrypt"
	// ec is the request's encryption context: kms:EncryptionContext:*,
	// kms:EncryptionContextKeys, and grant constraints.
	ec map[string]string
	// algorithm is kms:EncryptionAlgorithm (or Signing/Mac, by action).
	algorithm   string
	grantTokens []string
	// fromCiphertext: the key was named by a ciphertext, not by the caller;
	// a denial then does not name the key (AWS's Decrypt wording).
	fromCiphertext bool
	// requestAlias is kms:RequestAlias, set by loadKey when the caller
	// named the key by an alias.
	requestAlias string
	// extra holds other condition keys of the operation, lower-cased
	// (aws:RequestTag/…, aws:TagKeys, kms:BypassPolicyLockoutSafetyCheck …).
	extra map[string][]string
	// newGrant is, for kms:CreateGrant, the grant the caller asks for: a
	// grant that allows CreateGrant allows only grants it covers.
	newGrant *grantRecord
}

// can is an access for an action alone.
func can(action string) *access { return &access{action: action} }

// globalContext returns the condition keys every request has: where it
// came from, when, and the caller's account.
func (s *Service) globalContext(c *Caller, a *access) map[string][]string {
	now := s.clock.Now().UTC()
	m := make(map[string][]string, 8+len(a.ec)+len(a.extra))
	m["aws:currenttime"] = []string{now.Format(time.RFC3339)}
	m["aws:epochtime"] = []string{strconv.FormatInt(now.Unix(), 10)}
	m["aws:securetransport"] = []string{strconv.FormatBool(c.SecureTransport)}
	if c.SourceIP != "" {
		m["aws:sourceip"] = []string{c.SourceIP}
	}
	if c.AccountID != "" {
		m["kms:calleraccount"] = []string{c.AccountID}
	}
	if c.ViaService != "" {
		m["kms:viaservice"] = []string{c.ViaService}
	}
	// A request a service makes on a caller's behalf (AWS's forward access
	// sessions) names the service in aws:CalledVia* and sets
	// aws:ViaAWSService, which every request has.
	if c.CalledVia != "" {
		m["aws:calledvia"] = []string{c.CalledVia}
		m["aws:calledviafirst"] = []string{c.CalledVia}
		m["aws:calledvialast"] = []string{c.CalledVia}
	}
	m["aws:viaawsservice"] = []string{strconv.FormatBool(c.CalledVia != "")}
	if c.SourceArn != "" {
		m["aws:sourcearn"] = []string{c.SourceArn}
		m["aws:sourceaccount"] = []string{c.SourceAccount}
	}
	if len(a.ec) > 0 {
		keys := make([]string, 0, len(a.ec))
		for k, v := range a.ec {
			m["kms:encryptioncontext:"+strings.ToLower(k)] = []string{v}
			keys = append(keys, k)
		}
		m["kms:encryptioncontextkeys"] = keys
	}
	if a.algorithm != "" {
		switch {
		case strings.HasSuffix(a.action, "Mac"): // GenerateMac, VerifyMac
			m["kms:macalgorithm"] = []string{a.algorithm}
		case a.action == "kms:Sign", a.action == "kms:Verify":
			m["kms:signingalgorithm"] = []string{a.algorithm}
		default:
			m["kms:encryptionalgorithm"] = []string{a.algorithm}
		}
	}
	if a.requestAlias != "" {
		m["kms:requestalias"] = []string{a.requestAlias}
	}
	for k, v := range a.extra {
		m[k] = v
	}
	return m
}

// keyContext adds the condition keys that describe the key.
func keyContext(tx storage.Tx, m map[string][]string, k *keyRecord) error {
	m["kms:keyspec"] = []string{k.KeySpec}
	if cmk := customerMasterKeySpec(k.KeySpec); cmk != "" {
		m["kms:customermasterkeyspec"] = []string{cmk}
	}
	m["kms:keyusage"] = []string{k.KeyUsage}
	m["kms:customermasterkeyusage"] = []string{k.KeyUsage}
	m["kms:keyorigin"] = []string{k.Origin}
	m["kms:multiregion"] = []string{"false"}
	for _, t := range k.Tags {
		m["aws:resourcetag/"+strings.ToLower(t.TagKey)] = []string{t.TagValue}
	}
	kvs, _, err := tx.List(aliasIndexPrefix(k.Account, k.Region, k.KeyID), nil, 0)
	if err != nil {
		return err
	}
	if len(kvs) > 0 {
		names := make([]string, len(kvs))
		prefix := len(aliasIndexPrefix(k.Account, k.Region, k.KeyID))
		for i, kv := range kvs {
			names[i] = string(kv.Key[prefix:])
		}
		m["kms:resourcealiases"] = names
	}
	return nil
}

// authorize decides a request on a key as AWS KMS does (policy.Authorize):
// the key policy, the caller's identity policies and the key's grants.
func (s *Service) authorize(tx storage.Tx, c *Caller, k *keyRecord, a *access) error {
	if err := s.checkGrantTokens(a.grantTokens); err != nil {
		return err
	}
	kp, err := s.policies.Parse(k.Policy, policy.KeyPolicy)
	if err != nil {
		return awserr.Internal(err) // validated when it was set
	}
	ctx := s.globalContext(c, a)
	if err := keyContext(tx, ctx, k); err != nil {
		return awserr.Internal(err)
	}
	req := policy.Request{Principal: c.Principal, Action: a.action, Resource: k.ARN, Context: ctx, BoundPrincipals: k.PolicyIDs}
	in := policy.AuthzInput{Request: req, KeyAccount: k.Account, KeyPolicy: kp, IdentityPolicies: c.IdentityPolicies}
	d := policy.Authorize(&in)
	if !d.Allowed && !d.ExplicitDeny {
		// A grant can allow what no policy does, never what one denies.
		ok, err := s.grantAllows(tx, c, k, a, ctx)
		if err != nil {
			return err
		}
		if ok {
			in.GrantAllows = true
			d = policy.Authorize(&in)
		}
	}
	if d.Allowed {
		return nil
	}
	if a.fromCiphertext {
		return awserr.New(awserr.AccessDenied, "User: %s is not authorized to perform: %s on the resource associated with this ciphertext %s", c.ARN, a.action, d.Reason)
	}
	return awserr.New(awserr.AccessDenied, "%s", policy.DenyMessage(&req, d))
}

// authorizeAccount decides an action that concerns no key (CreateKey,
// ListKeys, GenerateRandom) or a resource without a policy (an alias):
// identity policies alone decide, and the account root may do it.
func (s *Service) authorizeAccount(c *Caller, a *access, resource string) error {
	req := policy.Request{Principal: c.Principal, Action: a.action, Resource: resource, Context: s.globalContext(c, a)}
	d := policy.Authorize(&policy.AuthzInput{Request: req, KeyAccount: c.AccountID, IdentityPolicies: c.IdentityPolicies})
	if d.Allowed {
		return nil
	}
	return awserr.New(awserr.AccessDenied, "%s", policy.DenyMessage(&req, d))
}
