package iam

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/storage"
)

// STS temporary credentials are stateless. The session token is
//
//	base64(Seal(JSON(sessionClaims), "kagi sts session token v1"))
//
// sealed under the root key (AES-256-GCM, see rootkey.Key.Seal), so it
// cannot be read or forged without the root key, and the additional data
// keeps any other sealed blob (a secret access key, key material) from
// being passed off as a token. The claims carry the temporary secret, so a
// request signed with the temporary key is verified from its token alone.

// sessionTokenAAD is the additional data of every sealed session token.
const sessionTokenAAD = "kagi sts session token v1"

// maxSessionTokenLen bounds the token a request may carry (AWS's are a few
// hundred to a few thousand characters); longer ones are not decoded.
const maxSessionTokenLen = 16 << 10

// Session durations, in seconds.
const (
	minSessionDuration           = 900
	defaultRoleSessionDuration   = 3600
	maxChainedRoleSession        = 3600
	defaultSessionTokenDuration  = 43200
	maxSessionTokenDuration      = 129600
	maxRootSessionTokenDuration  = 3600
	maxSessionTags               = 50
	packedPolicyLimit            = 2048 // characters of session tags, for PackedPolicySize
	msgInvalidToken              = "The security token included in the request is invalid."
	msgExpiredToken              = "The security token included in the request is expired"
	msgSessionCredentialsRefused = "Cannot call GetSessionToken with session credentials"
)

// sessionClaims is what a session token stands for.
type sessionClaims struct {
	AccessKeyID string    `json:"akid"`
	Secret      string    `json:"sk"`
	Account     string    `json:"acct"`
	Type        string    `json:"type"` // TypeRoot, TypeUser (GetSessionToken) or TypeAssumedRole
	ARN         string    `json:"arn"`
	PrincipalID string    `json:"pid"`
	UserName    string    `json:"user,omitempty"`
	RoleARN     string    `json:"role,omitempty"`
	SessionName string    `json:"session,omitempty"`
	Issued      time.Time `json:"iat"`
	Expires     time.Time `json:"exp"`
	// PrincipalTags are the user's or the role's tags when the session
	// began; SessionTags are the session's own (AssumeRole Tags and the
	// transitive tags of the session that assumed the role), and
	// Transitive names the session tags that pass on to a chained role.
	PrincipalTags []Tag    `json:"ptags,omitempty"`
	SessionTags   []Tag    `json:"stags,omitempty"`
	Transitive    []string `json:"transitive,omitempty"`
}

func (c *sessionClaims) identity() auth.Identity {
	return auth.Identity{
		AccountID:    c.Account,
		ARN:          c.ARN,
		PrincipalID:  c.PrincipalID,
		Type:         c.Type,
		UserName:     c.UserName,
		RoleARN:      c.RoleARN,
		SessionName:  c.SessionName,
		Tags:         tagMap(c.PrincipalTags, c.SessionTags),
		TokenIssued:  c.Issued,
		TokenExpires: c.Expires,
	}
}

func (s *Store) sealSession(c *sessionClaims) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	sealed, err := s.sealer.Seal(b, []byte(sessionTokenAAD))
	if err != nil {
		return "", fmt.Errorf("iam: seal session token: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// openSession opens a session token. Any failure — not base64, too long,
// tampered, sealed under another root key or for another purpose, claims
// that do not hold together — is the one error auth.ErrUnknownAccessKey.
func (s *Store) openSession(token string) (*sessionClaims, error) {
	if token == "" || len(token) > maxSessionTokenLen {
		return nil, auth.ErrUnknownAccessKey
	}
	sealed, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return nil, auth.ErrUnknownAccessKey
	}
	b, err := s.sealer.Open(sealed, []byte(sessionTokenAAD))
	if err != nil {
		return nil, auth.ErrUnknownAccessKey
	}
	var c sessionClaims
	if err := json.Unmarshal(b, &c); err != nil || !strings.HasPrefix(c.AccessKeyID, temporaryKeyPrefix) ||
		c.Secret == "" || !arn.IsAccountID(c.Account) || c.ARN == "" || c.Expires.IsZero() {
		return nil, auth.ErrUnknownAccessKey
	}
	switch c.Type {
	case TypeRoot, TypeUser, TypeAssumedRole:
	default:
		return nil, auth.ErrUnknownAccessKey
	}
	return &c, nil
}

// lookupSession authenticates temporary credentials from their token.
func (s *Store) lookupSession(akid, token string) (auth.Identity, string, error) {
	c, err := s.openSession(token)
	if err != nil {
		return auth.Identity{}, "", err
	}
	if c.AccessKeyID != akid {
		return auth.Identity{}, "", auth.ErrUnknownAccessKey
	}
	if !s.clock.Now().Before(c.Expires) {
		return auth.Identity{}, "", awserr.New(awserr.ExpiredToken, msgExpiredToken)
	}
	return c.identity(), c.Secret, nil
}

// issue creates temporary credentials for claims, filling in the key,
// secret and dates.
func (s *Store) issue(c *sessionClaims, duration int32) (Credentials, error) {
	akid, secret, err := newKeyPair(temporaryKeyPrefix)
	if err != nil {
		return Credentials{}, awserr.Internal(err)
	}
	c.AccessKeyID, c.Secret = akid, secret
	c.Issued = s.now()
	c.Expires = c.Issued.Add(time.Duration(duration) * time.Second)
	token, err := s.sealSession(c)
	if err != nil {
		return Credentials{}, awserr.Internal(err)
	}
	return Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token, Expiration: c.Expires}, nil
}

// isTemporary reports whether the caller signed with temporary credentials.
func isTemporary(c *auth.Principal) bool {
	return strings.HasPrefix(c.AccessKeyID, temporaryKeyPrefix) || c.SessionToken != ""
}

// GetCallerIdentity says who the caller is. It needs no permission, as in
// AWS.
func (s *Store) GetCallerIdentity(_ context.Context, c *auth.Principal) (*GetCallerIdentityOutput, error) {
	return &GetCallerIdentityOutput{UserID: c.PrincipalID, Account: c.AccountID, Arn: c.ARN}, nil
}

func errMFA() error {
	return awserr.New(CodeAccessDenied, "MultiFactorAuthentication failed with invalid MFA one time pass code.")
}

// GetSessionToken issues temporary credentials for the calling user or
// account root: 900–129600 seconds (default 43200); for the root at most
// 3600 (default 3600), longer requests being cut to an hour, as AWS does.
// Temporary credentials may not call it.
func (s *Store) GetSessionToken(_ context.Context, c *auth.Principal, in *GetSessionTokenInput) (*GetSessionTokenOutput, error) {
	var v validator
	v.intRange("durationSeconds", in.DurationSeconds, minSessionDuration, maxSessionTokenDuration)
	if in.SerialNumber != "" {
		v.length("serialNumber", in.SerialNumber, 9, 256)
	}
	if in.TokenCode != "" {
		v.length("tokenCode", in.TokenCode, 6, 6)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if isTemporary(c) || c.Type == TypeAssumedRole {
		return nil, awserr.New(CodeAccessDenied, msgSessionCredentialsRefused)
	}
	if in.SerialNumber != "" || in.TokenCode != "" {
		return nil, errMFA() // kagi has no MFA devices
	}
	duration := int32(defaultSessionTokenDuration)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	if c.Type == TypeRoot {
		duration = min(duration, maxRootSessionTokenDuration)
	}
	claims := &sessionClaims{Account: c.AccountID, Type: c.Type, ARN: c.ARN, PrincipalID: c.PrincipalID, UserName: c.UserName}
	for k, v := range c.Tags {
		claims.PrincipalTags = append(claims.PrincipalTags, Tag{Key: k, Value: v})
	}
	creds, err := s.issue(claims, duration)
	if err != nil {
		return nil, err
	}
	return &GetSessionTokenOutput{Credentials: creds}, nil
}

// parseRoleARN splits arn:partition:iam::account:role/path/name.
func parseRoleARN(s string) (account, name string, ok bool) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[1] == "" || f[2] != "iam" || f[3] != "" || !arn.IsAccountID(f[4]) {
		return "", "", false
	}
	rest, ok := strings.CutPrefix(f[5], "role/")
	if !ok {
		return "", "", false
	}
	name = rest[strings.LastIndexByte(rest, '/')+1:]
	if name == "" || len(name) > 64 {
		return "", "", false
	}
	for _, r := range name {
		if !isNameChar(r) {
			return "", "", false
		}
	}
	return f[4], name, true
}

func assumeDenied(c *auth.Principal, action, roleARN string) error {
	return awserr.New(CodeAccessDenied, "User: %s is not authorized to perform: %s on resource: %s", c.ARN, action, roleARN)
}

// AssumeRole issues temporary credentials for a role. The role's trust
// policy must allow the caller (checkTrust); when it allows the caller
// only through its account, or the role is in another account, the
// caller's identity policies must allow sts:AssumeRole too (authorizeIAM).
// Session tags need sts:TagSession in the same way. The account root may
// not assume roles, as in AWS.
func (s *Store) AssumeRole(ctx context.Context, c *auth.Principal, in *AssumeRoleInput) (*AssumeRoleOutput, error) {
	var v validator
	if v.required("roleArn", in.RoleArn) {
		v.length("roleArn", in.RoleArn, 20, 2048)
	}
	if v.required("roleSessionName", in.RoleSessionName) && v.length("roleSessionName", in.RoleSessionName, 2, 64) {
		v.pattern("roleSessionName", in.RoleSessionName, isNameChar, reSessionName)
	}
	v.intRange("durationSeconds", in.DurationSeconds, minSessionDuration, maxMaxSessionDuration)
	if in.ExternalID != "" && v.length("externalId", in.ExternalID, 2, 1224) {
		v.pattern("externalId", in.ExternalID, isExternalIDChar, reExternalID)
	}
	v.tags("tags", in.Tags)
	if len(in.TransitiveTagKeys) > maxSessionTags {
		v.add("transitiveTagKeys", fmt.Sprintf("'%d keys'", len(in.TransitiveTagKeys)), "Member must have length less than or equal to 50")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	switch {
	case in.Policy != "" || len(in.PolicyArns) > 0:
		return nil, errValidation("kagi does not support session policies yet.")
	case in.SourceIdentity != "":
		return nil, errValidation("kagi does not support SourceIdentity yet.")
	case in.SerialNumber != "" || in.TokenCode != "":
		return nil, errMFA()
	}
	acct, roleName, ok := parseRoleARN(in.RoleArn)
	if !ok {
		return nil, errValidation("%s is invalid", in.RoleArn)
	}
	if c.Type == TypeRoot {
		return nil, awserr.New(CodeAccessDenied, "Roles may not be assumed by root accounts.")
	}

	// Session tags: the caller's transitive tags pass on and may not be
	// set again; the request's transitive keys must name its own tags.
	var caller *sessionClaims
	if c.Type == TypeAssumedRole {
		var err error
		if caller, err = s.openSession(c.SessionToken); err != nil {
			return nil, awserr.New(awserr.UnrecognizedClient, msgInvalidToken)
		}
	}
	tags, transitive, err := sessionTags(caller, in)
	if err != nil {
		return nil, err
	}

	var role roleRecord
	err = s.store.View(ctx, func(tx storage.Tx) error { return getJSON(tx, roleKey(acct, roleName), &role) })
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, awserr.Internal(err)
	}
	if err != nil || role.ARN != in.RoleArn {
		// A missing role is refused like a forbidden one, as AWS does.
		return nil, assumeDenied(c, "sts:AssumeRole", in.RoleArn)
	}
	actions := []string{"sts:AssumeRole"}
	if len(in.Tags) > 0 || len(in.TransitiveTagKeys) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	reqCtx := assumeContext(in, s.clock.Now())
	for _, action := range actions {
		if err := s.checkTrust(ctx, &role, c, action, reqCtx); err != nil {
			return nil, err
		}
	}

	duration := int32(defaultRoleSessionDuration)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	if duration > role.MaxSessionDuration {
		return nil, errValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if c.Type == TypeAssumedRole && duration > maxChainedRoleSession {
		return nil, errValidation("The requested DurationSeconds exceeds the 1 hour session limit for roles assuming other roles.")
	}

	var packed *int32
	if len(tags) > 0 {
		size := 0
		for _, t := range tags {
			size += len(t.Key) + len(t.Value)
		}
		for _, k := range transitive {
			size += len(k)
		}
		pct := int32((size*100 + packedPolicyLimit - 1) / packedPolicyLimit)
		if pct > 100 {
			return nil, awserr.New(CodePackedPolicyTooLarge, "Packed policy consumes %d%% of allotted space, please use smaller policy.", pct)
		}
		packed = &pct
	}

	claims := &sessionClaims{
		Account:       acct,
		Type:          TypeAssumedRole,
		ARN:           "arn:" + partitionOf(role.ARN) + ":sts::" + acct + ":assumed-role/" + role.Name + "/" + in.RoleSessionName,
		PrincipalID:   role.ID + ":" + in.RoleSessionName,
		RoleARN:       role.ARN,
		SessionName:   in.RoleSessionName,
		PrincipalTags: role.Tags,
		SessionTags:   tags,
		Transitive:    transitive,
	}
	creds, err := s.issue(claims, duration)
	if err != nil {
		return nil, err
	}
	return &AssumeRoleOutput{
		Credentials:      creds,
		AssumedRoleUser:  AssumedRoleUser{AssumedRoleID: claims.PrincipalID, Arn: claims.ARN},
		PackedPolicySize: packed,
	}, nil
}

func (r *roleRecord) accountOf() string { return resourceAccount(r.ARN) }

func partitionOf(a string) string {
	f := strings.SplitN(a, ":", 3)
	if len(f) < 3 {
		return "aws"
	}
	return f[1]
}

// sessionTags merges the transitive tags of the calling session with the
// request's tags, and returns the keys that stay transitive.
func sessionTags(caller *sessionClaims, in *AssumeRoleInput) ([]Tag, []string, error) {
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, nil, err
	}
	var tags []Tag
	var transitive []string
	has := map[string]bool{}
	if caller != nil {
		isTransitive := map[string]bool{}
		for _, k := range caller.Transitive {
			isTransitive[strings.ToLower(k)] = true
		}
		for _, t := range caller.SessionTags {
			if isTransitive[strings.ToLower(t.Key)] {
				tags = append(tags, t)
				transitive = append(transitive, t.Key)
				has[strings.ToLower(t.Key)] = true
			}
		}
	}
	own := map[string]bool{}
	for _, t := range in.Tags {
		if has[strings.ToLower(t.Key)] {
			return nil, nil, errValidation("One or more of the specified transitive tag keys can't be set because they conflict with the transitive session tags of the calling session: %s", t.Key)
		}
		own[strings.ToLower(t.Key)] = true
		tags = append(tags, t)
	}
	for _, k := range in.TransitiveTagKeys {
		if !own[strings.ToLower(k)] {
			return nil, nil, errValidation("The specified transitive tag key must be included in the requested tags: %s", k)
		}
		transitive = append(transitive, k)
	}
	if len(tags) > maxSessionTags {
		return nil, nil, errValidation("The number of session tags, %d, exceeds the limit of %d.", len(tags), maxSessionTags)
	}
	return tags, transitive, nil
}
