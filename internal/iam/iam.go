// Package iam keeps kagi's identities — accounts, IAM users, roles, their
// access keys and inline policies — and issues STS temporary credentials.
// It implements the credential lookup that SigV4 verification needs and the
// operations of the IAM and STS query APIs that internal/api serves.
//
// Secret access keys are stored sealed under the root key, never in
// plaintext. Temporary credentials are stateless: the session token is the
// sealed serialization of everything the credentials stand for (see
// sts.go), so nothing is stored per session.
//
// Storage layout (all keys under "iam/"; names of users and roles are
// case-insensitive, as AWS's are, so their keys use the lower-case name):
//
//	iam/account/<account>                         account record (and its user and role counts)
//	iam/accesskey/<access key id>                 access key: owner, status, sealed secret
//	iam/rootkey/<account>/<access key id>         index: the root principal's access keys
//	iam/user/<account>/<user>                     user record
//	iam/userkey/<account>/<user>/<access key id>  index: a user's access keys
//	iam/userpolicy/<account>/<user>/<policy>      inline user policy
//	iam/role/<account>/<role>                     role record, with its trust policy
//	iam/rolepolicy/<account>/<role>/<policy>      inline role policy
package iam

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/clock"
	"github.com/kagikms/kagi/internal/policy"
	"github.com/kagikms/kagi/internal/storage"
)

// Sealer seals secrets at rest; rootkey.Key implements it.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// ErrConflict is returned when an access key id exists with another secret
// or account.
var ErrConflict = errors.New("iam: access key exists with different credentials")

// Principal types, as CloudTrail's userIdentity.type names them.
const (
	TypeRoot        = "Root"
	TypeUser        = "IAMUser"
	TypeAssumedRole = "AssumedRole"
)

// cacheTTL bounds how long a looked-up long-term key is trusted without
// reading the store again. Writes through this Store empty the cache at
// once; the TTL bounds staleness from writes by other nodes of a cluster.
const cacheTTL = 30 * time.Second

// Store keeps accounts, users, roles, access keys and inline policies.
type Store struct {
	store     storage.Store
	sealer    Sealer
	partition string
	clock     clock.Clock

	mu    sync.RWMutex
	cache map[string]cachedKey
	gen   uint64 // bumped by every write, so that a lookup racing it does not cache what it read

	policies policy.Cache // parsed identity policies, by text
}

type cachedKey struct {
	id     auth.Identity
	secret string
	at     time.Time
}

// New returns a Store over st. Session tokens expire by clk (nil: the
// system clock), the clock that tests move.
func New(st storage.Store, sealer Sealer, partition string, clk clock.Clock) *Store {
	if partition == "" {
		partition = "aws"
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &Store{store: st, sealer: sealer, partition: partition, clock: clk, cache: map[string]cachedKey{}}
}

type accountRecord struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Users   int       `json:"users,omitempty"`
	Roles   int       `json:"roles,omitempty"`
}

// Principals that own access keys.
const (
	ownerRoot = "root"
	ownerUser = "user"
)

// Access key statuses.
const (
	statusActive   = "Active"
	statusInactive = "Inactive"
)

type accessKeyRecord struct {
	AccessKeyID  string    `json:"akid"`
	AccountID    string    `json:"acct"`
	Principal    string    `json:"principal"`      // ownerRoot, ownerUser or ownerService
	UserName     string    `json:"user,omitempty"` // ownerUser: the user's name as created; ownerService: the service's name
	UserID       string    `json:"uid,omitempty"`  // ownerUser: the user's id, so that a new user of the same name does not inherit the key
	Status       string    `json:"status,omitempty"`
	SealedSecret []byte    `json:"secret"`
	Created      time.Time `json:"created"`
}

func (r *accessKeyRecord) active() bool { return r.Status == "" || r.Status == statusActive }

func accountKey(id string) []byte      { return []byte("iam/account/" + id) }
func accessKeyKey(id string) []byte    { return []byte("iam/accesskey/" + id) }
func rootKeyPrefix(acct string) []byte { return []byte("iam/rootkey/" + acct + "/") }
func userPrefix(acct string) []byte    { return []byte("iam/user/" + acct + "/") }
func userKey(acct, name string) []byte {
	return []byte("iam/user/" + acct + "/" + strings.ToLower(name))
}
func userKeyPrefix(acct, user string) []byte {
	return []byte("iam/userkey/" + acct + "/" + strings.ToLower(user) + "/")
}
func userPolicyPrefix(acct, user string) []byte {
	return []byte("iam/userpolicy/" + acct + "/" + strings.ToLower(user) + "/")
}
func rolePrefix(acct string) []byte { return []byte("iam/role/" + acct + "/") }
func roleKey(acct, name string) []byte {
	return []byte("iam/role/" + acct + "/" + strings.ToLower(name))
}
func rolePolicyPrefix(acct, role string) []byte {
	return []byte("iam/rolepolicy/" + acct + "/" + strings.ToLower(role) + "/")
}

func secretAAD(akid string) []byte  { return []byte("kagi iam secret v1\x00" + akid) }
func rootARN(p, acct string) string { return "arn:" + p + ":iam::" + acct + ":root" }

func (s *Store) rootIdentity(acct string) auth.Identity {
	return auth.Identity{AccountID: acct, ARN: rootARN(s.partition, acct), PrincipalID: acct, Type: TypeRoot}
}

func (s *Store) putRootKey(tx storage.Tx, rec accessKeyRecord) error {
	if err := putJSON(tx, accessKeyKey(rec.AccessKeyID), rec); err != nil {
		return err
	}
	return tx.Put(append(rootKeyPrefix(rec.AccountID), rec.AccessKeyID...), []byte{})
}

// EnsureRootAccessKey creates the account if needed and gives its root
// principal the access key. It is idempotent: the same key and secret again
// is a no-op; the same key id with another secret or account is ErrConflict.
func (s *Store) EnsureRootAccessKey(ctx context.Context, accountID, accessKeyID, secret string) error {
	if !arn.IsAccountID(accountID) {
		return fmt.Errorf("iam: account id %q is not 12 digits", accountID)
	}
	if !ValidAccessKeyID(accessKeyID) {
		return fmt.Errorf("iam: access key id %q must be 16 to 128 letters and digits", accessKeyID)
	}
	if strings.HasPrefix(accessKeyID, temporaryKeyPrefix) {
		return fmt.Errorf("iam: access key id %q: the prefix %s is for temporary credentials", accessKeyID, temporaryKeyPrefix)
	}
	if len(secret) < 16 || len(secret) > 128 {
		return errors.New("iam: secret access key must be 16 to 128 characters")
	}
	sealed, err := s.sealer.Seal([]byte(secret), secretAAD(accessKeyID))
	if err != nil {
		return fmt.Errorf("iam: seal secret: %w", err)
	}
	now := s.now()
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(accountKey(accountID)); errors.Is(err, storage.ErrNotFound) {
			if err := putJSON(tx, accountKey(accountID), accountRecord{ID: accountID, Created: now}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		var rec accessKeyRecord
		err := getJSON(tx, accessKeyKey(accessKeyID), &rec)
		if err == nil {
			have, err := s.sealer.Open(rec.SealedSecret, secretAAD(accessKeyID))
			if err != nil {
				return fmt.Errorf("iam: unseal secret of %s: %w", accessKeyID, err)
			}
			if rec.AccountID != accountID || rec.Principal != ownerRoot || string(have) != secret {
				return ErrConflict
			}
			// Keys from before the index existed get their index entry.
			return tx.Put(append(rootKeyPrefix(accountID), accessKeyID...), []byte{})
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return s.putRootKey(tx, accessKeyRecord{AccessKeyID: accessKeyID, AccountID: accountID, Principal: ownerRoot,
			Status: statusActive, SealedSecret: sealed, Created: now})
	})
	if err != nil {
		return fmt.Errorf("iam: ensure root access key %s: %w", accessKeyID, err)
	}
	s.invalidate()
	return nil
}

// LookupAccessKey implements auth.CredentialStore. Temporary credentials
// (ASIA…) are opened from their session token; a long-term key comes with
// no token, as AWS requires.
func (s *Store) LookupAccessKey(ctx context.Context, accessKeyID, sessionToken string) (auth.Identity, string, error) {
	if strings.HasPrefix(accessKeyID, temporaryKeyPrefix) {
		return s.lookupSession(accessKeyID, sessionToken)
	}
	if sessionToken != "" {
		return auth.Identity{}, "", fmt.Errorf("long-term access key %s sent with a session token: %w", accessKeyID, auth.ErrUnknownAccessKey)
	}
	s.mu.RLock()
	c, ok := s.cache[accessKeyID]
	gen := s.gen
	s.mu.RUnlock()
	if ok && time.Since(c.at) < cacheTTL {
		return c.id, c.secret, nil
	}
	var (
		rec  accessKeyRecord
		user userRecord
		svc  auth.Identity
	)
	err := s.store.View(ctx, func(tx storage.Tx) error {
		if err := getJSON(tx, accessKeyKey(accessKeyID), &rec); err != nil {
			return err
		}
		switch rec.Principal {
		case ownerUser:
			return getJSON(tx, userKey(rec.AccountID, rec.UserName), &user)
		case ownerService:
			var err error
			svc, err = lookupServiceKey(tx, &rec)
			return err
		}
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return auth.Identity{}, "", auth.ErrUnknownAccessKey
	}
	if err != nil {
		return auth.Identity{}, "", fmt.Errorf("iam: look up access key: %w", err)
	}
	var id auth.Identity
	switch {
	case !rec.active():
		return auth.Identity{}, "", fmt.Errorf("access key %s is inactive: %w", accessKeyID, auth.ErrUnknownAccessKey)
	case rec.Principal == ownerRoot:
		id = s.rootIdentity(rec.AccountID)
	case rec.Principal == ownerUser && user.ID == rec.UserID:
		id = user.identity(rec.AccountID)
	case rec.Principal == ownerService:
		id = svc
	default:
		return auth.Identity{}, "", fmt.Errorf("access key %s has no owner: %w", accessKeyID, auth.ErrUnknownAccessKey)
	}
	secret, err := s.sealer.Open(rec.SealedSecret, secretAAD(accessKeyID))
	if err != nil {
		return auth.Identity{}, "", fmt.Errorf("iam: unseal secret of %s: %w", accessKeyID, err)
	}
	s.mu.Lock()
	if s.gen == gen {
		s.cache[accessKeyID] = cachedKey{id: id, secret: string(secret), at: time.Now()}
	}
	s.mu.Unlock()
	return id, string(secret), nil
}

// invalidate forgets every cached access key. Every write calls it after
// its transaction commits.
func (s *Store) invalidate() {
	s.mu.Lock()
	s.gen++
	clear(s.cache)
	s.mu.Unlock()
}

// update runs fn in a read-write transaction and then empties the cache.
func (s *Store) update(ctx context.Context, fn func(tx storage.Tx) error) error {
	err := s.store.Update(ctx, fn)
	s.invalidate()
	return err
}

func (s *Store) now() time.Time { return s.clock.Now().UTC().Truncate(time.Second) }

// ValidAccessKeyID reports whether s is an acceptable access key id:
// 16–128 upper-case letters and digits, as AWS's are.
func ValidAccessKeyID(s string) bool {
	if len(s) < 16 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// NewAccountID returns a random 12-digit account id.
func NewAccountID() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(900000000000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%012d", n.Int64()+100000000000), nil
}

// NewAccessKey returns a random access key id ("AKIA" + 16 characters, as
// AWS's long-term keys look) and a 40-character secret.
func NewAccessKey() (id, secret string, err error) {
	return newKeyPair("AKIA")
}

// temporaryKeyPrefix starts the access key id of temporary credentials.
const temporaryKeyPrefix = "ASIA"

func newKeyPair(prefix string) (id, secret string, err error) {
	var b [40]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	id = prefix + base32.StdEncoding.EncodeToString(b[:10])[:16]
	secret = base64.StdEncoding.EncodeToString(b[10:40])[:40]
	return id, secret, nil
}

// newUniqueID returns a unique id as IAM writes them: a four-letter prefix
// (AIDA for users, AROA for roles) and 16 base32 characters.
func newUniqueID(prefix string) (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return prefix + base32.StdEncoding.EncodeToString(b[:]), nil
}

func getJSON(tx storage.Tx, key []byte, v any) error {
	b, err := tx.Get(key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("iam: decode %s: %w", key, err)
	}
	return nil
}

func putJSON(tx storage.Tx, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(key, b)
}

// loadAccount reads an account record; a missing one (an account created
// before records counted users) reads as empty.
func loadAccount(tx storage.Tx, acct string) (accountRecord, error) {
	var a accountRecord
	err := getJSON(tx, accountKey(acct), &a)
	if errors.Is(err, storage.ErrNotFound) {
		return accountRecord{ID: acct}, nil
	}
	return a, err
}
