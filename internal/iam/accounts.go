package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/storage"
)

// Errors of the account administration that `kagi admin` does, which it
// tells apart to explain them.
var (
	ErrAccountExists  = errors.New("iam: the account exists")
	ErrNoSuchAccount  = errors.New("iam: no such account")
	ErrAccessKeyQuota = fmt.Errorf("iam: a principal may have at most %d access keys", maxAccessKeys)
)

// Account is an account as `kagi admin list-accounts` shows it.
type Account struct {
	ID      string
	Created time.Time
}

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

// ListAccounts returns every account, in order of account id.
func (s *Store) ListAccounts(ctx context.Context) ([]Account, error) {
	var out []Account
	err := s.store.View(ctx, func(tx storage.Tx) error {
		kvs, _, err := tx.List([]byte("iam/account/"), nil, 0)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			var rec accountRecord
			if err := getJSON(tx, kv.Key, &rec); err != nil {
				return err
			}
			id := strings.TrimPrefix(string(kv.Key), "iam/account/")
			out = append(out, Account{ID: id, Created: rec.Created})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("iam: list accounts: %w", err)
	}
	return out, nil
}

// CreateAccount creates a new account with a random id and gives its root
// principal a new access key. The secret is returned once and stored only
// sealed.
func (s *Store) CreateAccount(ctx context.Context) (accountID, accessKeyID, secret string, err error) {
	for range 10 {
		acct, err := NewAccountID()
		if err != nil {
			return "", "", "", err
		}
		akid, secret, err := s.CreateAccountWithID(ctx, acct)
		if errors.Is(err, ErrAccountExists) {
			continue
		}
		if err != nil {
			return "", "", "", err
		}
		return acct, akid, secret, nil
	}
	return "", "", "", errors.New("iam: create account: no free account id after 10 tries")
}

// CreateAccountWithID creates the account with the given 12-digit id and
// gives its root principal a new access key. An existing account is
// ErrAccountExists. The secret is returned once and stored only sealed.
func (s *Store) CreateAccountWithID(ctx context.Context, accountID string) (accessKeyID, secret string, err error) {
	if !arn.IsAccountID(accountID) {
		return "", "", fmt.Errorf("iam: account id %q is not 12 digits", accountID)
	}
	rec, secret, err := s.newRootKey(accountID)
	if err != nil {
		return "", "", err
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(accountKey(accountID)); err == nil {
			return ErrAccountExists
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := putJSON(tx, accountKey(accountID), accountRecord{ID: accountID, Created: rec.Created}); err != nil {
			return err
		}
		return putNewKey(tx, rootKeyPrefix(accountID), rec)
	})
	if err != nil {
		return "", "", fmt.Errorf("iam: create account %s: %w", accountID, err)
	}
	return rec.AccessKeyID, secret, nil
}

// CreateRootAccessKey gives the root principal of an existing account
// another access key, within IAM's quota of two per principal
// (ErrAccessKeyQuota). A missing account is ErrNoSuchAccount. The secret is
// returned once and stored only sealed.
func (s *Store) CreateRootAccessKey(ctx context.Context, accountID string) (accessKeyID, secret string, err error) {
	if !arn.IsAccountID(accountID) {
		return "", "", fmt.Errorf("iam: account id %q is not 12 digits", accountID)
	}
	rec, secret, err := s.newRootKey(accountID)
	if err != nil {
		return "", "", err
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(accountKey(accountID)); errors.Is(err, storage.ErrNotFound) {
			return ErrNoSuchAccount
		} else if err != nil {
			return err
		}
		return putNewKey(tx, rootKeyPrefix(accountID), rec)
	})
	if err != nil {
		return "", "", fmt.Errorf("iam: create root access key for account %s: %w", accountID, err)
	}
	return rec.AccessKeyID, secret, nil
}

// newRootKey makes a new access key for the root of acct: the record to
// store, with its secret sealed, and the secret.
func (s *Store) newRootKey(acct string) (accessKeyRecord, string, error) {
	akid, secret, err := NewAccessKey()
	if err != nil {
		return accessKeyRecord{}, "", err
	}
	sealed, err := s.sealer.Seal([]byte(secret), secretAAD(akid))
	if err != nil {
		return accessKeyRecord{}, "", fmt.Errorf("iam: seal secret: %w", err)
	}
	return accessKeyRecord{AccessKeyID: akid, AccountID: acct, Principal: ownerRoot, Status: statusActive,
		SealedSecret: sealed, Created: s.now()}, secret, nil
}
