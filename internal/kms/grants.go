package kms

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/policy"
	"github.com/kagikms/kagi/internal/storage"
)

// Grants (AWS KMS Developer Guide, grants.html, create-grant-overview.html,
// grant-delete.html; API reference of CreateGrant, GrantConstraints).
//
// A grant lets its grantee principal call some operations on one key,
// without any policy. kagi consults grants only when the key policy and the
// caller's IAM policies do not allow a request and nothing denies it
// (authorize); a grant never overrides an explicit Deny.
//
// Who a grant's grantee is: the caller's own ARN (an IAM user, the account
// root, or an assumed-role session ARN), the caller's role ARN (a grant to
// a role covers all of its sessions: "the grantee principal can represent
// multiple identities"), or the caller's account root ARN. A grant to an
// account is like a key policy that names the account: the account's root
// may use it, and its users and roles may if their IAM policies allow the
// operation on the key.
//
// A grant may instead name a service principal (GranteeServicePrincipal,
// "s3.amazonaws.com"): a registered service calling for itself, for the
// resource its request names (aws:SourceArn, api.SourceArnHeader), which
// must be the grant's SourceArn constraint. Such a grant must have that
// constraint and a retiring principal, which may be a service principal too
// (RetiringServicePrincipal).
//
// Grants take effect as soon as CreateGrant commits (kagi's storage is
// transactional), so grant tokens are never needed; see granttoken.go.

// maxGrantsPerKey is AWS's quota of grants on one KMS key.
const maxGrantsPerKey = 50000

// Limits of the encryption context constraints (create-grant-overview.html:
// "up to 8 encryption context pairs", values of at most 384 characters).
const (
	maxConstraintPairs    = 8
	maxConstraintValueLen = 384
)

// grantOperations is the model's GrantOperation enum.
var grantOperations = []string{"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
	"ReEncryptFrom", "ReEncryptTo", "Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey",
	"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
	"DeriveSharedSecret", "Encapsulate", "Decapsulate"}

// contextOperations are the grant operations that take an encryption
// context: the only ones the encryption context constraints apply to.
var contextOperations = []string{"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
	"ReEncryptFrom", "ReEncryptTo", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"}

// grantOperationsFor is the set of grant operations a key supports
// (grants.html#terms-grant-operations): CreateGrant, DescribeKey and
// RetireGrant for every key, and the key type's own operations.
func grantOperationsFor(k *keyRecord) []string {
	ops := []string{"CreateGrant", "DescribeKey", "RetireGrant"}
	switch {
	case k.KeySpec == "SYMMETRIC_DEFAULT":
		ops = append(ops, contextOperations...)
	case strings.HasPrefix(k.KeySpec, "HMAC_"):
		ops = append(ops, "GenerateMac", "VerifyMac")
	case k.KeyUsage == "ENCRYPT_DECRYPT":
		ops = append(ops, "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey")
	case k.KeyUsage == "SIGN_VERIFY":
		ops = append(ops, "Sign", "Verify", "GetPublicKey")
	case k.KeyUsage == "KEY_AGREEMENT":
		ops = append(ops, "DeriveSharedSecret", "GetPublicKey")
	case k.KeyUsage == "ENCAPSULATE_DECAPSULATE":
		ops = append(ops, "Encapsulate", "Decapsulate", "GetPublicKey")
	}
	return ops
}

// grantRecord is a grant as stored.
type grantRecord struct {
	GrantID string    `json:"id"`
	KeyARN  string    `json:"key"`
	Name    string    `json:"name,omitempty"`
	Created time.Time `json:"created"`
	Grantee string    `json:"grantee"`
	// Retiring is the retiring principal ("" for none).
	Retiring string `json:"retiring,omitempty"`
	// GranteeID and RetiringID are the unique IDs (AIDA…, AROA…) of the
	// user or role the grantee and retiring principals named when the grant
	// was created ("" for an account): a principal deleted and created again
	// under the same ARN is not the one the grant was for.
	GranteeID  string `json:"granteeID,omitempty"`
	RetiringID string `json:"retiringID,omitempty"`
	// GranteeService and RetiringService are the grantee and retiring
	// service principals ("s3.amazonaws.com"). A grant has a Grantee or a
	// GranteeService, and at most one of Retiring and RetiringService.
	GranteeService  string `json:"granteeService,omitempty"`
	RetiringService string `json:"retiringService,omitempty"`
	// SourceArn is the SourceArn constraint: the grant allows only
	// requests whose aws:SourceArn it is (RetireGrant aside).
	SourceArn string `json:"sourceArn,omitempty"`
	// Issuing is the ARN of the root of the account that created the grant
	// (IssuingAccount).
	Issuing    string            `json:"issuing"`
	Operations []string          `json:"ops"`
	Equals     map[string]string `json:"ecEquals,omitempty"`
	Subset     map[string]string `json:"ecSubset,omitempty"`
	// Fingerprint is, for a named grant, the digest of its name and
	// parameters that indexes it for idempotent retries.
	Fingerprint string `json:"fp,omitempty"`
}

func (g *grantRecord) entry() GrantListEntry {
	e := GrantListEntry{
		KeyId:                    g.KeyARN,
		GrantId:                  g.GrantID,
		Name:                     g.Name,
		CreationDate:             ts(g.Created),
		GranteePrincipal:         g.Grantee,
		RetiringPrincipal:        g.Retiring,
		GranteeServicePrincipal:  g.GranteeService,
		RetiringServicePrincipal: g.RetiringService,
		IssuingAccount:           g.Issuing,
		Operations:               g.Operations,
	}
	if g.Equals != nil || g.Subset != nil || g.SourceArn != "" {
		e.Constraints = &GrantConstraints{EncryptionContextEquals: g.Equals, EncryptionContextSubset: g.Subset}
		if g.SourceArn != "" {
			e.Constraints.SourceArn = &g.SourceArn
		}
	}
	return e
}

// granteeName is the grantee principal or service principal, as the
// grantee index names it. The two cannot be confused: a principal is an
// ARN ("arn:…"), a service principal has no colon.
func (g *grantRecord) granteeName() string {
	if g.GranteeService != "" {
		return g.GranteeService
	}
	return g.Grantee
}

// retiringName is the retiring principal or service principal ("" for
// none), as the retiring index names it.
func (g *grantRecord) retiringName() string {
	if g.RetiringService != "" {
		return g.RetiringService
	}
	return g.Retiring
}

// issuingAccount is the account id of the account that created the grant.
func (g *grantRecord) issuingAccount() string {
	acct, _ := principalAccount(g.Issuing)
	return acct
}

// fingerprint digests what makes two CreateGrant requests the same
// request: the name and every parameter of the grant.
func (g *grantRecord) fingerprint() string {
	h := sha256.New()
	field := func(s string) {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		h.Write([]byte(s))
	}
	pairs := func(m map[string]string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		field(fmt.Sprint(len(keys)))
		for _, k := range keys {
			field(k)
			field(m[k])
		}
	}
	field("kagi grant v1")
	field(g.Name)
	field(g.Grantee)
	field(g.Retiring)
	ops := append([]string(nil), g.Operations...)
	sort.Strings(ops)
	field(strings.Join(ops, ","))
	field(fmt.Sprint(g.Equals != nil))
	pairs(g.Equals)
	field(fmt.Sprint(g.Subset != nil))
	pairs(g.Subset)
	if g.GranteeService != "" || g.RetiringService != "" || g.SourceArn != "" {
		// Only grants with these members digest them, so the digests of
		// grants made before they existed stay the same.
		field("services")
		field(g.GranteeService)
		field(g.RetiringService)
		field(g.SourceArn)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// allows reports whether the grant lets its grantee do a with key k.
// Encryption context constraints apply to the operations that take an
// encryption context (keys case-insensitive, values exact: "in a grant
// constraint, the key in each key-value pair is not case sensitive, but the
// value is case sensitive", API_GrantConstraints); a grant that allows
// CreateGrant allows only grants it covers; the other operations
// (DescribeKey …) ignore the constraints.
func (g *grantRecord) allows(op string, a *access) bool {
	if !contains(g.Operations, op) {
		return false
	}
	switch {
	case op == "CreateGrant":
		return a.newGrant != nil && g.covers(a.newGrant)
	case contains(contextOperations, op):
		return g.contextHolds(a.ec)
	}
	return true
}

// contextHolds reports whether an encryption context meets the grant's
// constraints.
func (g *grantRecord) contextHolds(ec map[string]string) bool {
	if g.Equals != nil && (len(ec) != len(g.Equals) || !containsPairs(ec, g.Equals)) {
		return false
	}
	return g.Subset == nil || containsPairs(ec, g.Subset)
}

// containsPairs reports whether ec has every pair of want, keys compared
// without case, values exactly.
func containsPairs(ec, want map[string]string) bool {
	for wk, wv := range want {
		if v, ok := ec[wk]; ok && v == wv {
			continue
		}
		found := false
		for k, v := range ec {
			if v == wv && strings.EqualFold(k, wk) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// covers reports whether a grant that allows CreateGrant allows creating
// child: "the grantee principal can only create grants that allow some or
// all of the operations in the parent grant", and the child's constraints
// must be "at least as strict": every request the child allows, the parent
// allows (create-grant-overview.html#grant-creategrant). A parent's
// SourceArn constraint must be the child's.
func (g *grantRecord) covers(child *grantRecord) bool {
	if g.SourceArn != "" && child.SourceArn != g.SourceArn {
		return false // a child without the parent's SourceArn is looser
	}
	for _, op := range child.Operations {
		if !contains(g.Operations, op) {
			return false
		}
	}
	if g.Equals == nil && g.Subset == nil {
		return true
	}
	if child.Equals != nil {
		// The child allows at most the one context child.Equals.
		return g.contextHolds(child.Equals)
	}
	// The child allows every context that contains child.Subset: only a
	// Subset constraint the child's includes is as loose.
	return g.Equals == nil && containsPairs(child.Subset, g.Subset)
}

// Storage layout of grants. A grant lives under its key, so the deletion
// sweeper and ListGrants read one prefix; the indexes make grantAllows,
// the GranteePrincipal filter, ListRetirableGrants and idempotent retries
// cost what they return, not the number of grants on the key. '#' ends a
// principal in an index key: it cannot occur in one ([\w+=,.@:/-]+), nor in
// a service principal ([A-Za-z0-9-] and dots), which the indexes hold too.
func grantKey(acct, region, keyID, grantID string) []byte {
	return []byte("g/" + acct + "/" + region + "/" + keyID + "/" + grantID)
}
func grantPrefix(acct, region, keyID string) []byte {
	return []byte("g/" + acct + "/" + region + "/" + keyID + "/")
}

// granteeIndexPrefix indexes a key's grants by grantee principal.
func granteeIndexPrefix(acct, region, keyID, grantee string) []byte {
	return []byte("gg/" + acct + "/" + region + "/" + keyID + "/" + grantee + "#")
}

// retiringIndexPrefix indexes the grants of a Region by retiring principal,
// across keys and accounts, for ListRetirableGrants; the entry's rest is
// "<key account>/<key id>/<grant id>".
func retiringIndexPrefix(region, retiring string) []byte {
	return []byte("gr/" + region + "/" + retiring + "#")
}

// grantNameKey maps a named grant's fingerprint to its grant id.
func grantNameKey(acct, region, keyID, fingerprint string) []byte {
	return []byte("gi/" + acct + "/" + region + "/" + keyID + "/" + fingerprint)
}

// grantCountKey holds the number of grants on a key, for the quota.
func grantCountKey(acct, region, keyID string) []byte {
	return []byte("gn/" + acct + "/" + region + "/" + keyID)
}

// putGrant stores a new grant and its index entries.
func putGrant(tx storage.Tx, k *keyRecord, g *grantRecord) error {
	if err := putJSON(tx, grantKey(k.Account, k.Region, k.KeyID, g.GrantID), g); err != nil {
		return err
	}
	if err := tx.Put(append(granteeIndexPrefix(k.Account, k.Region, k.KeyID, g.granteeName()), g.GrantID...), nil); err != nil {
		return err
	}
	if r := g.retiringName(); r != "" {
		ref := k.Account + "/" + k.KeyID + "/" + g.GrantID
		if err := tx.Put(append(retiringIndexPrefix(k.Region, r), ref...), nil); err != nil {
			return err
		}
	}
	if g.Fingerprint != "" {
		return tx.Put(grantNameKey(k.Account, k.Region, k.KeyID, g.Fingerprint), []byte(g.GrantID))
	}
	return nil
}

// removeGrant erases a grant and its index entries (not the count).
func removeGrant(tx storage.Tx, acct, region, keyID string, g *grantRecord) error {
	keys := [][]byte{
		grantKey(acct, region, keyID, g.GrantID),
		append(granteeIndexPrefix(acct, region, keyID, g.granteeName()), g.GrantID...),
	}
	if r := g.retiringName(); r != "" {
		keys = append(keys, append(retiringIndexPrefix(region, r), (acct+"/"+keyID+"/"+g.GrantID)...))
	}
	if g.Fingerprint != "" {
		keys = append(keys, grantNameKey(acct, region, keyID, g.Fingerprint))
	}
	for _, key := range keys {
		if err := tx.Delete(key); err != nil {
			return err
		}
	}
	return nil
}

// deleteGrant erases a grant (RetireGrant, RevokeGrant).
func deleteGrant(tx storage.Tx, k *keyRecord, g *grantRecord) error {
	if err := removeGrant(tx, k.Account, k.Region, k.KeyID, g); err != nil {
		return err
	}
	n, err := getCount(tx, grantCountKey(k.Account, k.Region, k.KeyID))
	if err != nil {
		return err
	}
	if n > 0 {
		n--
	}
	return putCount(tx, grantCountKey(k.Account, k.Region, k.KeyID), n)
}

// eraseGrants erases every grant of a key, for the deletion sweeper.
func eraseGrants(tx storage.Tx, acct, region, keyID string) error {
	kvs, _, err := tx.List(grantPrefix(acct, region, keyID), nil, 0)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		var g grantRecord
		if err := json.Unmarshal(kv.Value, &g); err != nil {
			return fmt.Errorf("decode %q: %w", kv.Key, err)
		}
		if err := removeGrant(tx, acct, region, keyID, &g); err != nil {
			return err
		}
	}
	return tx.Delete(grantCountKey(acct, region, keyID))
}

// loadGrant reads a grant of key k.
func loadGrant(tx storage.Tx, k *keyRecord, grantID string) (*grantRecord, error) {
	var g grantRecord
	if err := getJSON(tx, grantKey(k.Account, k.Region, k.KeyID, grantID), &g); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, awserr.New(awserr.NotFound, "Grant ID %s not found for key %s.", grantID, k.ARN)
		}
		return nil, err
	}
	return &g, nil
}

// grantOperationOf is the grant operation that allows an action ("" if
// no grant can allow it).
func grantOperationOf(action string) string {
	op, ok := strings.CutPrefix(action, "kms:")
	if !ok || !contains(grantOperations, op) {
		return ""
	}
	return op
}

// accountRoot is the ARN of an account's root user.
func accountRoot(partition, account string) string {
	return "arn:" + partition + ":iam::" + account + ":root"
}

// grantAllows reports whether a grant on k lets the caller do a: a grant
// whose grantee is the caller, the caller's role, or the caller's account
// (for a user or role, only if its IAM policies allow a on the key), or,
// for a service calling for itself, whose grantee service principal is the
// service; whose operations include a's, and whose constraints a meets (a
// SourceArn constraint: the request's aws:SourceArn). ctx is the request's
// condition keys, as authorize built them.
func (s *Service) grantAllows(tx storage.Tx, c *Caller, k *keyRecord, a *access, ctx map[string][]string) (bool, error) {
	op := grantOperationOf(a.action)
	if op == "" {
		return false, nil
	}
	service := c.Principal.Type == policy.TypeAWSService
	root := accountRoot(c.Partition, c.AccountID)
	var who []string
	switch {
	case service:
		who = []string{c.Principal.Service}
	default:
		who = []string{c.ARN}
		if r := c.Principal.RoleARN; r != "" && r != c.ARN {
			who = append(who, r)
		}
		if c.ARN != root {
			who = append(who, root)
		}
	}
	for _, grantee := range who {
		prefix := granteeIndexPrefix(k.Account, k.Region, k.KeyID, grantee)
		kvs, _, err := tx.List(prefix, nil, 0)
		if err != nil {
			return false, awserr.Internal(err)
		}
		for _, kv := range kvs {
			g, err := loadGrant(tx, k, string(kv.Key[len(prefix):]))
			if err != nil {
				return false, awserr.Internal(err) // an index entry without its grant
			}
			if !g.allows(op, a) || !sameUniqueID(c, g.GranteeID) || (g.GranteeService != "") != service {
				continue
			}
			if g.SourceArn != "" && g.SourceArn != c.SourceArn {
				continue // made for another resource, or the request names none
			}
			if grantee == root && c.ARN != root && !identityAllows(c, a.action, k.ARN, ctx) {
				// The grant is the account's: it reaches a user or role
				// only through that principal's IAM policies.
				return false, nil
			}
			return true, nil
		}
	}
	return false, nil
}

// sameUniqueID reports whether the caller is the user or role (of a
// session) whose unique ID a grant recorded; true when none was recorded
// (an account principal).
func sameUniqueID(c *Caller, id string) bool {
	if id == "" {
		return true
	}
	own, _, _ := strings.Cut(c.Principal.UserID, ":")
	return own == id
}

// identityAllows reports whether the caller's IAM policies allow action on
// resource (the account root needs none) and none denies it.
func identityAllows(c *Caller, action, resource string, ctx map[string][]string) bool {
	req := policy.Request{Principal: c.Principal, Action: action, Resource: resource, Context: ctx}
	return policy.Authorize(&policy.AuthzInput{Request: req, KeyAccount: c.AccountID, IdentityPolicies: c.IdentityPolicies}).Allowed
}

// Validation of the grant members.

// isPrincipalChar is the model's pattern for principal ARNs: [\w+=,.@:/-].
func isPrincipalChar(r rune) bool {
	return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("+=,.@:/-", r)
}

// isServicePrincipal is the model's service principal pattern: three or
// more labels of [A-Za-z0-9-] separated by dots.
func isServicePrincipal(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) < 3 {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
		for _, r := range l {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

// isGrantNameChar is the model's pattern for grant names: [a-zA-Z0-9:/_-].
func isGrantNameChar(r rune) bool {
	return r == '_' || r == ':' || r == '/' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func (v *validator) pattern(field, s string, ok func(rune) bool, re string) {
	for _, r := range s {
		if !ok(r) {
			v.add(field, quote(s), "Member must satisfy regular expression pattern: "+re)
			return
		}
	}
}

func (v *validator) principal(field string, p *string) {
	if p == nil {
		return
	}
	v.length(field, *p, 1, 256)
	v.pattern(field, *p, isPrincipalChar, `^[\w+=,.@:/-]+$`)
}

func (v *validator) servicePrincipal(field string, p *string) {
	if p == nil {
		return
	}
	v.length(field, *p, 1, 128)
	if !isServicePrincipal(*p) {
		v.add(field, quote(*p), `Member must satisfy regular expression pattern: ^([A-Za-z0-9\-]+)\.([A-Za-z0-9\-]+)(\.[A-Za-z0-9\-]+)+$`)
	}
}

func (v *validator) grantID(field string, id *string) {
	if id != nil {
		v.length(field, *id, 1, 128)
	}
}

func (v *validator) constraints(c *GrantConstraints) {
	if c == nil {
		return
	}
	for field, m := range map[string]map[string]string{
		"constraints.encryptionContextEquals": c.EncryptionContextEquals,
		"constraints.encryptionContextSubset": c.EncryptionContextSubset,
	} {
		if len(m) > maxConstraintPairs {
			v.add(field, "'{…}'", fmt.Sprintf("Member must have at most %d entries", maxConstraintPairs))
		}
		for _, val := range m {
			if len([]rune(val)) > maxConstraintValueLen {
				v.add(field, "'{…}'", fmt.Sprintf("Member values must have length less than or equal to %d", maxConstraintValueLen))
				break
			}
		}
	}
	if c.SourceArn != nil {
		v.length("constraints.sourceArn", *c.SourceArn, 20, 512)
		if _, ok := sourceArnAccount(*c.SourceArn); !ok {
			v.add("constraints.sourceArn", quote(*c.SourceArn), "Member must satisfy regular expression pattern: "+sourceArnPattern)
		}
	}
}

// sourceArnPattern is the model's pattern of the SourceArn constraint.
const sourceArnPattern = `^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$`

// sourceArnAccount checks s against sourceArnPattern and returns the
// account it names. Like the model's (Java) regular expression, '.' is any
// character but a line terminator.
func sourceArnAccount(s string) (string, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[5] == "" || strings.ContainsAny(parts[5], "\n\r\u0085\u2028\u2029") {
		return "", false
	}
	lower := func(x string, empty bool) bool {
		if x == "" {
			return empty
		}
		for i := 0; i < len(x); i++ {
			if c := x[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		return true
	}
	part, ok := strings.CutPrefix(parts[1], "aws")
	if !ok || !lower(part, true) || !lower(parts[2], false) || !lower(parts[3], true) || len(parts[4]) != 12 {
		return "", false
	}
	for i := 0; i < 12; i++ {
		if c := parts[4][i]; c < '0' || c > '9' {
			return "", false
		}
	}
	return parts[4], true
}

// SourceArnAccount reports whether s may be an aws:SourceArn (the SourceArn
// constraint's pattern and length) and returns the account it names, for
// aws:SourceAccount.
func SourceArnAccount(s string) (string, bool) {
	if n := len([]rune(s)); n < 20 || n > 512 {
		return "", false
	}
	return sourceArnAccount(s)
}

// principalAccount checks that p is the ARN of a principal a grant may
// name (an account root, IAM user, IAM role, assumed-role session or
// federated user) and returns its account.
func principalAccount(p string) (string, bool) {
	parts := strings.SplitN(p, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !arn.IsPartition(parts[1]) || parts[3] != "" || !arn.IsAccountID(parts[4]) {
		return "", false
	}
	res := parts[5]
	// A user or role name may follow a path (user/ops/carol).
	pathName := func(prefix string) bool {
		rest, ok := strings.CutPrefix(res, prefix)
		return ok && rest != "" && !strings.HasSuffix(rest, "/")
	}
	segments := func(prefix string, n int) bool {
		rest, ok := strings.CutPrefix(res, prefix)
		s := strings.Split(rest, "/")
		if !ok || len(s) != n {
			return false
		}
		for _, x := range s {
			if x == "" {
				return false
			}
		}
		return true
	}
	ok := false
	switch parts[2] {
	case "iam":
		ok = res == "root" || pathName("user/") || pathName("role/")
	case "sts":
		ok = segments("assumed-role/", 2) || segments("federated-user/", 1)
	}
	return parts[4], ok
}

// checkPrincipal refuses what is not a principal ARN of the caller's
// partition, as AWS answers a grantee or retiring principal it cannot
// resolve.
func checkPrincipal(c *Caller, p string) error {
	if _, ok := principalAccount(p); !ok || !strings.HasPrefix(p, "arn:"+c.Partition+":") {
		return awserr.New(awserr.InvalidArn, "%s is not a valid principal ARN: a grant names an account (arn:%s:iam::<account>:root), an IAM user, an IAM role or an assumed-role session.", p, c.Partition)
	}
	return nil
}

// grantPrincipal checks a grantee or retiring principal: its form, then
// that it exists (InvalidArnException otherwise, as AWS answers for a
// principal it cannot find). It returns the unique ID of the user or role it
// names, "" for an account.
func (s *Service) grantPrincipal(ctx context.Context, c *Caller, p string) (string, error) {
	if err := checkPrincipal(c, p); err != nil {
		return "", err
	}
	if s.princ == nil {
		return "", nil
	}
	id, ok, err := s.princ.PrincipalID(ctx, p)
	if err != nil {
		return "", awserr.Internal(err)
	}
	if !ok {
		return "", awserr.New(awserr.InvalidArn, "%s is not a valid principal: no such account, user or role.", p)
	}
	return id, nil
}

func checkGrantID(id string) error {
	if !isGrantID(id) {
		return awserr.New(awserr.InvalidGrantID, "Invalid grant ID %s: a grant ID is 64 lowercase hexadecimal digits.", id)
	}
	return nil
}

// CreateGrant adds a grant to a key.
func (s *Service) CreateGrant(ctx context.Context, c *Caller, in *CreateGrantInput) (*CreateGrantOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	v.principal("granteePrincipal", in.GranteePrincipal)
	v.principal("retiringPrincipal", in.RetiringPrincipal)
	v.servicePrincipal("granteeServicePrincipal", in.GranteeServicePrincipal)
	v.servicePrincipal("retiringServicePrincipal", in.RetiringServicePrincipal)
	switch {
	case in.Operations == nil:
		v.add("operations", "null", "Member must not be null")
	case len(in.Operations) == 0:
		v.add("operations", "'[]'", "Member must have length greater than or equal to 1")
	}
	for _, op := range in.Operations {
		if !contains(grantOperations, op) {
			v.add("operations", quote("["+strings.Join(in.Operations, ", ")+"]"),
				"Member must satisfy constraint: [Member must satisfy enum value set: ["+strings.Join(grantOperations, ", ")+"]]")
			break
		}
	}
	v.constraints(in.Constraints)
	v.grantTokens(in.GrantTokens)
	if in.Name != nil {
		v.length("name", *in.Name, 1, 256)
		v.pattern("name", *in.Name, isGrantNameChar, "^[a-zA-Z0-9:/_-]+$")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	switch {
	case in.GranteePrincipal != nil && in.GranteeServicePrincipal != nil:
		return nil, awserr.New(awserr.Validation, "You must specify either GranteePrincipal or GranteeServicePrincipal, but not both.")
	case in.GranteePrincipal == nil && in.GranteeServicePrincipal == nil:
		return nil, awserr.New(awserr.Validation, "You must specify either GranteePrincipal or GranteeServicePrincipal.")
	case in.RetiringPrincipal != nil && in.RetiringServicePrincipal != nil:
		return nil, awserr.New(awserr.Validation, "You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both.")
	case in.GranteeServicePrincipal != nil && (in.Constraints == nil || in.Constraints.SourceArn == nil):
		return nil, awserr.New(awserr.Validation, "When you specify a GranteeServicePrincipal, you must also specify a SourceArn grant constraint.")
	case in.GranteeServicePrincipal != nil && in.RetiringPrincipal == nil && in.RetiringServicePrincipal == nil:
		return nil, awserr.New(awserr.Validation, "When you specify a GranteeServicePrincipal, you must also specify either a RetiringPrincipal or a RetiringServicePrincipal.")
	}
	var ops []string
	for _, op := range in.Operations {
		if !contains(ops, op) {
			ops = append(ops, op)
		}
	}
	if len(ops) == 1 && ops[0] == "CreateGrant" {
		return nil, awserr.New(awserr.Validation, "Grants must not contain only the CreateGrant operation.")
	}
	g := &grantRecord{
		Issuing:    accountRoot(c.Partition, c.AccountID),
		Operations: ops,
	}
	// A service principal need not be registered: AWS accepts any name of
	// the pattern, and kagi's services are registered by the operator,
	// possibly after the grant. It has no unique ID to bind: a service
	// principal names one service for good.
	var err error
	if in.GranteePrincipal != nil {
		if g.GranteeID, err = s.grantPrincipal(ctx, c, *in.GranteePrincipal); err != nil {
			return nil, err
		}
		g.Grantee = *in.GranteePrincipal
	} else {
		g.GranteeService = *in.GranteeServicePrincipal
	}
	if in.RetiringPrincipal != nil {
		if g.RetiringID, err = s.grantPrincipal(ctx, c, *in.RetiringPrincipal); err != nil {
			return nil, err
		}
		g.Retiring = *in.RetiringPrincipal
	}
	if in.RetiringServicePrincipal != nil {
		g.RetiringService = *in.RetiringServicePrincipal
	}
	if in.Name != nil {
		g.Name = *in.Name
	}
	if con := in.Constraints; con != nil {
		if len(con.EncryptionContextEquals) > 0 {
			g.Equals = con.EncryptionContextEquals
		}
		if len(con.EncryptionContextSubset) > 0 {
			g.Subset = con.EncryptionContextSubset
		}
		if con.SourceArn != nil {
			g.SourceArn = *con.SourceArn
		}
	}
	if g.Name != "" {
		g.Fingerprint = g.fingerprint()
	}

	a := &access{action: "kms:CreateGrant", grantTokens: in.GrantTokens, newGrant: g, extra: grantRequestContext(c, g)}
	// kms:EncryptionContext:* and kms:EncryptionContextKeys are the
	// constraints' pairs (conditions-kms.html).
	if g.Equals != nil || g.Subset != nil {
		a.ec = make(map[string]string, len(g.Equals)+len(g.Subset))
		for k, val := range g.Subset {
			a.ec[k] = val
		}
		for k, val := range g.Equals {
			a.ec[k] = val
		}
	}
	var ref grantRef
	err = s.update(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, in.KeyId, keyOnly, a)
		if err != nil {
			return err
		}
		if err := usable(k); err != nil {
			return err
		}
		if err := checkGrantOperations(k, g); err != nil {
			return err
		}
		ref = grantRef{k.Account, k.Region, k.KeyID, ""}
		if g.Fingerprint != "" {
			// The same name and parameters: a retry of a request that
			// created this grant, which answers with its id.
			id, err := tx.Get(grantNameKey(k.Account, k.Region, k.KeyID, g.Fingerprint))
			switch {
			case err == nil:
				ref.grantID = string(id)
				if in.DryRun {
					return dryRun()
				}
				return nil
			case !errors.Is(err, storage.ErrNotFound):
				return err
			}
		}
		n, err := getCount(tx, grantCountKey(k.Account, k.Region, k.KeyID))
		if err != nil {
			return err
		}
		if n >= uint64(s.maxGrants) {
			return awserr.New(awserr.LimitExceeded, "Key %s already has %d grants, the maximum.", k.ARN, s.maxGrants)
		}
		if in.DryRun {
			return dryRun()
		}
		var b [32]byte
		if _, err := s.randRead(b[:]); err != nil {
			return err
		}
		rec := *g
		rec.GrantID = hex.EncodeToString(b[:])
		rec.KeyARN = k.ARN
		if c.AccountID == "" {
			// A service calling for itself, through a grant that allows
			// CreateGrant, belongs to no account: the key's issues it.
			rec.Issuing = accountRoot(c.Partition, k.Account)
		}
		rec.Created = s.clock.Now().UTC()
		if err := putGrant(tx, k, &rec); err != nil {
			return err
		}
		ref.grantID = rec.GrantID
		return putCount(tx, grantCountKey(k.Account, k.Region, k.KeyID), n+1)
	})
	if err != nil {
		return nil, err
	}
	tok, err := s.sealGrantToken(ref)
	if err != nil {
		return nil, err
	}
	return &CreateGrantOutput{GrantId: ref.grantID, GrantToken: tok}, nil
}

// grantRequestContext is the condition keys of a CreateGrant request
// (conditions-kms.html, grant-authorization.html): kms:GranteePrincipal or
// kms:GranteeServicePrincipal, kms:RetiringPrincipal, kms:GrantOperations,
// kms:GrantConstraintType, kms:GrantConstraintSourceArn and
// kms:GrantIsForAWSResource. AWS documents no condition key for a retiring
// service principal.
func grantRequestContext(c *Caller, g *grantRecord) map[string][]string {
	m := map[string][]string{
		"kms:grantoperations":       g.Operations,
		"kms:grantisforawsresource": grantIsForAWSResource(c),
	}
	if g.Grantee != "" {
		m["kms:granteeprincipal"] = []string{g.Grantee}
	}
	if g.GranteeService != "" {
		m["kms:granteeserviceprincipal"] = []string{g.GranteeService}
	}
	if g.Retiring != "" {
		m["kms:retiringprincipal"] = []string{g.Retiring}
	}
	if g.SourceArn != "" {
		m["kms:grantconstraintsourcearn"] = []string{g.SourceArn}
	}
	var types []string
	if g.Equals != nil {
		types = append(types, "EncryptionContextEquals")
	}
	if g.Subset != nil {
		types = append(types, "EncryptionContextSubset")
	}
	if types != nil {
		m["kms:grantconstrainttype"] = types
	}
	return m
}

// checkGrantOperations checks a grant's operations and constraints against
// its key: "The grant operations must be supported by the KMS key", and
// encryption context constraints need a key that takes an encryption
// context.
func checkGrantOperations(k *keyRecord, g *grantRecord) error {
	allowed := grantOperationsFor(k)
	var bad []string
	for _, op := range g.Operations {
		if !contains(allowed, op) {
			bad = append(bad, op)
		}
	}
	if bad != nil {
		return awserr.New(awserr.Validation, "Grant operations %s are not valid for %s, a %s %s key. Valid grant operations for this key: %s.",
			strings.Join(bad, ", "), k.ARN, k.KeySpec, k.KeyUsage, strings.Join(allowed, ", "))
	}
	if (g.Equals != nil || g.Subset != nil) && k.KeySpec != "SYMMETRIC_DEFAULT" {
		return awserr.New(awserr.Validation, "Encryption context grant constraints are valid only for symmetric encryption keys; %s is %s.", k.ARN, k.KeySpec)
	}
	return nil
}

// ListGrants lists the grants of a key, in every key state, optionally
// only one grant or the grants of one grantee principal or grantee service
// principal.
func (s *Service) ListGrants(ctx context.Context, c *Caller, in *ListGrantsInput) (*ListGrantsOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	v.grantID("grantId", in.GrantId)
	v.principal("granteePrincipal", in.GranteePrincipal)
	v.servicePrincipal("granteeServicePrincipal", in.GranteeServicePrincipal)
	if err := v.err(); err != nil {
		return nil, err
	}
	limit, after, err := pageArgs(&in.ListInput, 100, 50)
	if err != nil {
		return nil, err
	}
	if in.GranteePrincipal != nil && in.GranteeServicePrincipal != nil {
		return nil, awserr.New(awserr.Validation, "You can specify either GranteePrincipal or GranteeServicePrincipal, but not both.")
	}
	if in.GrantId != nil {
		if err := checkGrantID(*in.GrantId); err != nil {
			return nil, err
		}
	}
	a := &access{action: "kms:ListGrants", extra: map[string][]string{"kms:grantisforawsresource": grantIsForAWSResource(c)}}
	out := &ListGrantsOutput{Grants: []GrantListEntry{}}
	err = s.view(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, in.KeyId, keyOnly, a)
		if err != nil {
			return err
		}
		switch {
		case in.GranteePrincipal != nil && !strings.HasPrefix(*in.GranteePrincipal, "arn:"):
			// Every grantee principal is an ARN; the index also holds
			// service principals, which this filter must not find.
			return nil
		case in.GrantId != nil:
			g, err := loadGrant(tx, k, *in.GrantId)
			if awserr.Is(err, awserr.NotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if (in.GranteePrincipal == nil || g.Grantee == *in.GranteePrincipal) &&
				(in.GranteeServicePrincipal == nil || g.GranteeService == *in.GranteeServicePrincipal) && g.GrantID > after {
				out.Grants = append(out.Grants, g.entry())
			}
			return nil
		}
		prefix := grantPrefix(k.Account, k.Region, k.KeyID)
		switch {
		case in.GranteePrincipal != nil:
			prefix = granteeIndexPrefix(k.Account, k.Region, k.KeyID, *in.GranteePrincipal)
		case in.GranteeServicePrincipal != nil:
			prefix = granteeIndexPrefix(k.Account, k.Region, k.KeyID, *in.GranteeServicePrincipal)
		}
		kvs, more, err := tx.List(prefix, afterKey(prefix, after), limit)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			g, err := loadGrant(tx, k, string(kv.Key[len(prefix):]))
			if err != nil {
				return awserr.Internal(err)
			}
			out.Grants = append(out.Grants, g.entry())
		}
		if more && len(kvs) > 0 {
			out.Truncated = true
			out.NextMarker = encodeMarker(out.Grants[len(out.Grants)-1].GrantId)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListRetirableGrants lists the grants, on keys of any account in the
// caller's Region, whose retiring principal is the one named. The principal
// must be of the caller's account ("Enter a principal in your AWS
// account"); kms:ListRetirableGrants is decided by IAM policies alone.
//
// A retiring service principal belongs to no account: an account's
// principals see the grants of their own account's keys that name it, and
// a service calling for itself sees, on keys of every account, the grants
// that name it (and may name no other principal).
func (s *Service) ListRetirableGrants(ctx context.Context, c *Caller, in *ListRetirableGrantsInput) (*ListGrantsOutput, error) {
	var v validator
	v.principal("retiringPrincipal", in.RetiringPrincipal)
	v.servicePrincipal("retiringServicePrincipal", in.RetiringServicePrincipal)
	if err := v.err(); err != nil {
		return nil, err
	}
	limit, after, err := pageArgs(&in.ListInput, 100, 50)
	if err != nil {
		return nil, err
	}
	switch {
	case in.RetiringPrincipal != nil && in.RetiringServicePrincipal != nil:
		return nil, awserr.New(awserr.Validation, "You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both.")
	case in.RetiringPrincipal == nil && in.RetiringServicePrincipal == nil:
		return nil, awserr.New(awserr.Validation, "You must specify either RetiringPrincipal or RetiringServicePrincipal.")
	}
	var p, scope string // the retiring principal; "<account>/" to list one account's keys
	switch service := c.Principal.Type == policy.TypeAWSService; {
	case service && (in.RetiringServicePrincipal == nil || *in.RetiringServicePrincipal != c.Principal.Service):
		return nil, awserr.New(awserr.AccessDenied, "User: %s is not authorized to perform: kms:ListRetirableGrants for another principal: a service may list only the grants it can retire", c.ARN)
	case service:
		p = *in.RetiringServicePrincipal
	default:
		if err := s.authorizeAccount(c, can("kms:ListRetirableGrants"), "*"); err != nil {
			return nil, err
		}
		if in.RetiringServicePrincipal != nil {
			p, scope = *in.RetiringServicePrincipal, c.AccountID+"/"
			break
		}
		p = *in.RetiringPrincipal
		if err := checkPrincipal(c, p); err != nil {
			return nil, err
		}
		if acct, _ := principalAccount(p); acct != c.AccountID {
			return nil, awserr.New(awserr.AccessDenied, "User: %s is not authorized to perform: kms:ListRetirableGrants for %s, a principal of another account", c.ARN, p)
		}
	}
	out := &ListGrantsOutput{Grants: []GrantListEntry{}}
	err = s.view(ctx, func(tx storage.Tx) error {
		base := retiringIndexPrefix(c.Region, p)
		prefix := append(base[:len(base):len(base)], scope...)
		keys := map[string]*keyRecord{} // keys read so far; nil: deleted
		last := ""                      // the index position of the last grant listed
		// Grants of keys past their deletion date are skipped, so read a
		// little more than a page and stop at the limit.
		for {
			kvs, more, err := tx.List(prefix, afterKey(base, after), limit-len(out.Grants)+1)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				ref := string(kv.Key[len(base):])
				after = ref
				parts := strings.Split(ref, "/")
				if len(parts) != 3 {
					return fmt.Errorf("corrupt retiring index key %q", kv.Key)
				}
				acct, keyID, grantID := parts[0], parts[1], parts[2]
				k, seen := keys[acct+"/"+keyID]
				if !seen {
					var rec keyRecord
					switch err := getJSON(tx, keyKey(acct, c.Region, keyID), &rec); {
					case err == nil:
						if !s.deleted(&rec) {
							k = &rec
						}
					case !errors.Is(err, storage.ErrNotFound):
						return err
					}
					keys[acct+"/"+keyID] = k
				}
				if k == nil {
					continue // the key is gone, or past its deletion date: its grants go with it
				}
				if len(out.Grants) == limit {
					out.Truncated = true
					out.NextMarker = encodeMarker(last)
					return nil
				}
				g, err := loadGrant(tx, k, grantID)
				if err != nil {
					return awserr.Internal(err)
				}
				out.Grants = append(out.Grants, g.entry())
				last = ref
			}
			if !more {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RetireGrant deletes a grant, named by a grant token or by its key and
// grant id. The grant says who may: its retiring principal, its grantee if
// it allows RetireGrant, and the account that created it (grant-delete.html);
// an account named there passes the permission on to its users and roles
// with kms:RetireGrant in their IAM policies, and a Deny of kms:RetireGrant
// in an IAM policy stops it. Key policies play no part. Any key state.
func (s *Service) RetireGrant(ctx context.Context, c *Caller, in *RetireGrantInput) (*Empty, error) {
	var v validator
	if in.GrantToken != nil {
		v.length("grantToken", *in.GrantToken, 1, maxGrantTokenLen)
	}
	if in.KeyId != nil {
		v.length("keyId", *in.KeyId, 1, 2048)
	}
	v.grantID("grantId", in.GrantId)
	if err := v.err(); err != nil {
		return nil, err
	}
	var tok grantRef
	switch {
	case in.GrantToken != nil:
		var err error
		if tok, err = s.openGrantToken(*in.GrantToken); err != nil {
			return nil, err
		}
	case in.KeyId == nil || in.GrantId == nil:
		return nil, awserr.New(awserr.Validation, "Specify either a GrantToken, or a KeyId and a GrantId.")
	}
	if in.GrantId != nil {
		if err := checkGrantID(*in.GrantId); err != nil {
			return nil, err
		}
	}
	err := s.update(ctx, func(tx storage.Tx) error {
		var r resolvedID
		if in.KeyId != nil {
			var err error
			if r, err = s.resolve(tx, c, *in.KeyId, keyOnly); err != nil {
				return err
			}
		}
		grantID := tok.grantID
		switch {
		case in.GrantToken == nil:
			grantID = *in.GrantId
		case in.KeyId != nil && r != (resolvedID{tok.account, tok.region, tok.keyID}),
			in.GrantId != nil && *in.GrantId != tok.grantID:
			return awserr.New(awserr.Validation, "The KeyId and GrantId do not name the grant of the GrantToken.")
		case tok.region != c.Region:
			return awserr.New(awserr.NotFound, "The grant of this grant token is not in Region %s.", c.Region)
		default:
			r = resolvedID{tok.account, tok.region, tok.keyID}
		}
		k, err := s.loadResolved(tx, c, r, nil)
		if err != nil {
			return err
		}
		g, err := loadGrant(tx, k, grantID)
		if err != nil {
			return err
		}
		if err := s.authorizeRetire(c, k, g); err != nil {
			return err
		}
		if in.DryRun {
			return dryRun()
		}
		return deleteGrant(tx, k, g)
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// authorizeRetire decides who may retire grant g of key k. A service
// calling for itself may if the grant names it as retiring service
// principal, or as grantee service principal with RetireGrant among the
// operations (the SourceArn constraint does not apply to RetireGrant).
func (s *Service) authorizeRetire(c *Caller, k *keyRecord, g *grantRecord) error {
	if c.Principal.Type == policy.TypeAWSService {
		svc := c.Principal.Service
		if g.RetiringService == svc || contains(g.Operations, "RetireGrant") && g.GranteeService == svc {
			return nil
		}
		return awserr.New(awserr.AccessDenied, "User: %s is not authorized to perform: kms:RetireGrant on grant %s of resource: %s because the grant does not name it as a retiring principal", c.ARN, g.GrantID, k.ARN)
	}
	a := can("kms:RetireGrant")
	ctx := s.globalContext(c, a)
	req := policy.Request{Principal: c.Principal, Action: a.action, Resource: k.ARN, Context: ctx}
	d := policy.Authorize(&policy.AuthzInput{Request: req, KeyAccount: c.AccountID, IdentityPolicies: c.IdentityPolicies})
	if d.ExplicitDeny {
		return awserr.New(awserr.AccessDenied, "%s", policy.DenyMessage(&req, d))
	}
	// d.Allowed: the caller's account lets it act for the account.
	root := accountRoot(c.Partition, c.AccountID)
	is := func(p, id string) bool {
		return p != "" && (p == c.ARN || p == c.Principal.RoleARN) && sameUniqueID(c, id) || p == root && d.Allowed
	}
	if is(g.Retiring, g.RetiringID) || contains(g.Operations, "RetireGrant") && is(g.Grantee, g.GranteeID) || g.issuingAccount() == c.AccountID && d.Allowed {
		return nil
	}
	return awserr.New(awserr.AccessDenied, "User: %s is not authorized to perform: kms:RetireGrant on grant %s of resource: %s because the grant does not name it as a retiring principal", c.ARN, g.GrantID, k.ARN)
}

// RevokeGrant deletes a grant of a key, in every key state. It needs
// kms:RevokeGrant on the key.
func (s *Service) RevokeGrant(ctx context.Context, c *Caller, in *RevokeGrantInput) (*Empty, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	if v.required("grantId", in.GrantId) {
		v.length("grantId", in.GrantId, 1, 128)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkGrantID(in.GrantId); err != nil {
		return nil, err
	}
	a := &access{action: "kms:RevokeGrant", extra: map[string][]string{"kms:grantisforawsresource": grantIsForAWSResource(c)}}
	err := s.update(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, in.KeyId, keyOnly, a)
		if err != nil {
			return err
		}
		g, err := loadGrant(tx, k, in.GrantId)
		if err != nil {
			return err
		}
		if in.DryRun {
			return dryRun()
		}
		return deleteGrant(tx, k, g)
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// grantIsForAWSResource is kms:GrantIsForAWSResource: true when a service
// calls CreateGrant, ListGrants or RevokeGrant on its caller's behalf (as
// EBS does for a volume's key), false for a direct call
// (conditions-kms.html#conditions-kms-grant-is-for-aws-resource).
func grantIsForAWSResource(c *Caller) []string {
	if c.CalledVia != "" {
		return []string{"true"}
	}
	return []string{"false"}
}
