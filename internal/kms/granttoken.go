package kms

import (
	"encoding/base64"
	"strings"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/awserr"
)

// Grant tokens.
//
// A grant token names one grant: its key's account, Region and id, and the
// grant id. It is that reference, "<account>/<region>/<key id>/<grant id>",
// sealed by Config.Sealer (the root key: AES-256-GCM with a random nonce)
// with the additional data grantTokenAAD, and written as base64url without
// padding, about 200 characters. So a token
//
//   - cannot be made or altered without the root key: anything else fails
//     authentication and is an InvalidGrantTokenException;
//   - says nothing about its grant to whoever holds it, as AWS's tokens;
//   - needs no storage: any server with the root key opens it, nothing
//     grows per token, and CreateGrant returns a new token every time (a
//     retried named grant too), all of them interchangeable, as in AWS.
//
// A token outlives its grant: once the grant is retired or revoked the
// token still opens but names nothing, so it allows nothing.
//
// kagi's grants are effective as soon as CreateGrant commits, so a token is
// never needed to use one; tokens are checked (every GrantTokens entry must
// be one kagi issued) and RetireGrant accepts one to name the grant.

// grantTokenAAD separates grant tokens from everything else the root key
// seals (key material, session tokens).
const grantTokenAAD = "kagi grant token v1"

// maxGrantTokenLen is the model's bound on a grant token.
const maxGrantTokenLen = 8192

// grantRef names a grant.
type grantRef struct {
	account, region, keyID, grantID string
}

func (r grantRef) String() string {
	return r.account + "/" + r.region + "/" + r.keyID + "/" + r.grantID
}

// parseGrantRef reads the payload of a grant token.
func parseGrantRef(b []byte) (grantRef, bool) {
	parts := strings.Split(string(b), "/")
	if len(parts) != 4 || !arn.IsAccountID(parts[0]) || !arn.IsRegion(parts[1]) || !arn.IsKeyID(parts[2]) || !isGrantID(parts[3]) {
		return grantRef{}, false
	}
	return grantRef{parts[0], parts[1], parts[2], parts[3]}, true
}

// isGrantID reports whether s has the form of the grant ids kagi issues:
// 64 lowercase hex digits, as AWS's.
func isGrantID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// sealGrantToken makes a new token for a grant.
func (s *Service) sealGrantToken(r grantRef) (string, error) {
	sealed, err := s.sealer.Seal([]byte(r.String()), []byte(grantTokenAAD))
	if err != nil {
		return "", awserr.Internal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openGrantToken reads a grant token. Whatever kagi did not issue is an
// InvalidGrantTokenException.
func (s *Service) openGrantToken(tok string) (grantRef, error) {
	if tok == "" || len(tok) > maxGrantTokenLen {
		return grantRef{}, errInvalidGrantToken()
	}
	sealed, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return grantRef{}, errInvalidGrantToken()
	}
	b, err := s.sealer.Open(sealed, []byte(grantTokenAAD))
	if err != nil {
		return grantRef{}, errInvalidGrantToken()
	}
	r, ok := parseGrantRef(b)
	if !ok {
		return grantRef{}, errInvalidGrantToken()
	}
	return r, nil
}

// checkGrantTokens checks that every token of a request is one kagi issued.
func (s *Service) checkGrantTokens(tokens []string) error {
	for _, t := range tokens {
		if _, err := s.openGrantToken(t); err != nil {
			return err
		}
	}
	return nil
}

func errInvalidGrantToken() error {
	return awserr.New(awserr.InvalidGrantToken, "The request was rejected because the specified grant token is not valid.")
}
