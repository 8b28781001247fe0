package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kagikms/kagi/internal/storage"
)

// PrincipalID reports whether an "AWS" principal that a policy names
// exists and, for a user, role or role session ARN, the unique ID (AIDA…,
// AROA…) of the user or role it names now, which the policy binds to
// (policy.Request.BoundPrincipals). It checks as AWS does as AWS checks when a key policy or trust policy is set ("Policy
// contains a statement with one or more invalid principals"): an account
// (its ID or root ARN) must exist; a user or role ARN must name an existing
// user or role, path included; an assumed-role session ARN needs its role; a
// federated user ARN needs its account. "*" and unique IDs (AIDA…, AROA…,
// which AWS shows in place of deleted principals) are accepted as written.
// Anything else — another partition, a malformed ARN — does not exist.
func (s *Store) PrincipalID(ctx context.Context, principal string) (uniqueID string, exists bool, err error) {
	if principal == "*" || isUniqueIDPrincipal(principal) {
		return "", true, nil
	}
	if isAccountIDString(principal) {
		ok, err := s.exists(ctx, accountKey(principal), nil)
		return "", ok, err
	}
	parts := strings.SplitN(principal, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != s.partition || parts[3] != "" || !isAccountIDString(parts[4]) {
		return "", false, nil
	}
	service, acct, res := parts[2], parts[4], parts[5]
	switch {
	case service == "iam" && res == "root",
		service == "sts" && strings.HasPrefix(res, "federated-user/") && len(res) > len("federated-user/"):
		ok, err := s.exists(ctx, accountKey(acct), nil)
		return "", ok, err
	case service == "iam" && strings.HasPrefix(res, "user/"):
		var u userRecord
		ok, err := s.exists(ctx, nil, func(tx storage.Tx) (bool, error) {
			if err := getJSON(tx, userKey(acct, lastSegment(res)), &u); err != nil {
				return false, err
			}
			return u.ARN == principal, nil
		})
		return u.ID, ok, err
	case service == "iam" && strings.HasPrefix(res, "role/"):
		var r roleRecord
		ok, err := s.exists(ctx, nil, func(tx storage.Tx) (bool, error) {
			if err := getJSON(tx, roleKey(acct, lastSegment(res)), &r); err != nil {
				return false, err
			}
			return r.ARN == principal, nil
		})
		return r.ID, ok, err
	case service == "sts" && strings.HasPrefix(res, "assumed-role/"):
		role, session, ok := strings.Cut(strings.TrimPrefix(res, "assumed-role/"), "/")
		if !ok || role == "" || session == "" {
			return "", false, nil
		}
		var r roleRecord
		ok, err := s.exists(ctx, nil, func(tx storage.Tx) (bool, error) {
			if err := getJSON(tx, roleKey(acct, role), &r); err != nil {
				return false, err
			}
			return r.Name == role, nil
		})
		return r.ID, ok, err
	}
	return "", false, nil
}

// exists reports whether key is stored, and then whether check (if any)
// accepts what is there.
func (s *Store) exists(ctx context.Context, key []byte, check func(storage.Tx) (bool, error)) (bool, error) {
	var ok bool
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		if check != nil {
			ok, err = check(tx)
			return err
		}
		_, err = tx.Get(key)
		ok = err == nil
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("iam: looking up principal: %w", err)
	}
	return ok, nil
}

func lastSegment(res string) string { return res[strings.LastIndex(res, "/")+1:] }

func isAccountIDString(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// isUniqueIDPrincipal matches the unique IDs of users (AIDA) and roles
// (AROA): the prefix and 12 or more upper-case letters and digits.
func isUniqueIDPrincipal(s string) bool {
	if len(s) < 16 || !(strings.HasPrefix(s, "AIDA") || strings.HasPrefix(s, "AROA")) {
		return false
	}
	for _, r := range s[4:] {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
