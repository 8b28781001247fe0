// Package iam keeps kagi's identities: accounts and their access keys. It
// implements the credential lookup that SigV4 verification needs.
//
// Secret access keys are stored sealed under the root key, never in
// plaintext. This first version knows account root principals only; IAM
// users, roles, policies and STS come with the authorization issue.
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
	"sync"
	"time"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/auth"
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

// Store keeps accounts and access keys.
type Store struct {
	store     storage.Store
	sealer    Sealer
	partition string

	mu    sync.RWMutex
	cache map[string]cachedKey
}

type cachedKey struct {
	id     auth.Identity
	secret string
}

// New returns a Store over st.
func New(st storage.Store, sealer Sealer, partition string) *Store {
	if partition == "" {
		partition = "aws"
	}
	return &Store{store: st, sealer: sealer, partition: partition, cache: map[string]cachedKey{}}
}

type accountRecord struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

type accessKeyRecord struct {
	AccessKeyID  string    `json:"akid"`
	AccountID    string    `json:"acct"`
	Principal    string    `json:"principal"` // "root" for the account root
	SealedSecret []byte    `json:"secret"`
	Created      time.Time `json:"created"`
}

func accountKey(id string) []byte   { return []byte("iam/account/" + id) }
func accessKeyKey(id string) []byte { return []byte("iam/accesskey/" + id) }
func secretAAD(akid string) []byte  { return []byte("kagi iam secret v1\x00" + akid) }
func rootARN(p, acct string) string { return "arn:" + p + ":iam::" + acct + ":root" }

// HasAccounts reports whether any account exists (false on a fresh store).
func (s *Store) HasAccounts(ctx context.Context) (bool, error) {
	var found bool
	err := s.store.View(ctx, func(tx storage.Tx) error {
		kvs, _, err := tx.List([]byte("iam/account/"), nil, 1)
		found = len(kvs) > 0
		return err
	})
	return found, err
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
	if len(secret) < 16 || len(secret) > 128 {
		return errors.New("iam: secret access key must be 16 to 128 characters")
	}
	sealed, err := s.sealer.Seal([]byte(secret), secretAAD(accessKeyID))
	if err != nil {
		return fmt.Errorf("iam: seal secret: %w", err)
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(accountKey(accountID)); errors.Is(err, storage.ErrNotFound) {
			b, _ := json.Marshal(accountRecord{ID: accountID, Created: time.Now().UTC()})
			if err := tx.Put(accountKey(accountID), b); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		b, err := tx.Get(accessKeyKey(accessKeyID))
		if err == nil {
			var rec accessKeyRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				return err
			}
			have, err := s.sealer.Open(rec.SealedSecret, secretAAD(accessKeyID))
			if err != nil {
				return fmt.Errorf("iam: unseal secret of %s: %w", accessKeyID, err)
			}
			if rec.AccountID != accountID || rec.Principal != "root" || string(have) != secret {
				return ErrConflict
			}
			return nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		b, _ = json.Marshal(accessKeyRecord{AccessKeyID: accessKeyID, AccountID: accountID, Principal: "root", SealedSecret: sealed, Created: time.Now().UTC()})
		return tx.Put(accessKeyKey(accessKeyID), b)
	})
	if err != nil {
		return fmt.Errorf("iam: ensure root access key %s: %w", accessKeyID, err)
	}
	return nil
}

// LookupAccessKey implements auth.CredentialStore.
func (s *Store) LookupAccessKey(ctx context.Context, accessKeyID string) (auth.Identity, string, error) {
	s.mu.RLock()
	c, ok := s.cache[accessKeyID]
	s.mu.RUnlock()
	if ok {
		return c.id, c.secret, nil
	}
	var rec accessKeyRecord
	err := s.store.View(ctx, func(tx storage.Tx) error {
		b, err := tx.Get(accessKeyKey(accessKeyID))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &rec)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return auth.Identity{}, "", auth.ErrUnknownAccessKey
	}
	if err != nil {
		return auth.Identity{}, "", fmt.Errorf("iam: look up access key: %w", err)
	}
	secret, err := s.sealer.Open(rec.SealedSecret, secretAAD(accessKeyID))
	if err != nil {
		return auth.Identity{}, "", fmt.Errorf("iam: unseal secret of %s: %w", accessKeyID, err)
	}
	id := auth.Identity{
		AccountID:   rec.AccountID,
		ARN:         rootARN(s.partition, rec.AccountID),
		PrincipalID: rec.AccountID,
		Type:        "Root",
	}
	s.mu.Lock()
	s.cache[accessKeyID] = cachedKey{id: id, secret: string(secret)}
	s.mu.Unlock()
	return id, string(secret), nil
}

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
	var b [40]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	id = "AKIA" + base32.StdEncoding.EncodeToString(b[:10])[:16]
	secret = base64.StdEncoding.EncodeToString(b[10:40])[:40]
	return id, secret, nil
}
