// Package arn parses and formats the identifiers of KMS resources: key IDs,
// key ARNs, alias names and alias ARNs. It is pure and fuzzed.
package arn

import (
	"errors"
	"strings"
)

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("arn: invalid")

// Resource kinds of a KMS ARN.
const (
	KindKey   = "key"
	KindAlias = "alias"
)

// ARN is a parsed KMS ARN: arn:<partition>:kms:<region>:<account>:<kind>/<name>.
// For an alias, Name excludes the "alias/" prefix's kind but AliasName gives
// the full "alias/..." name.
type ARN struct {
	Partition string
	Region    string
	Account   string
	Kind      string // KindKey or KindAlias
	Name      string // key id, or alias name without "alias/"
}

// String formats the ARN.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":kms:" + a.Region + ":" + a.Account + ":" + a.Kind + "/" + a.Name
}

// AliasName is the full alias name ("alias/…") of an alias ARN.
func (a ARN) AliasName() string { return "alias/" + a.Name }

// Key returns the ARN of a key.
func Key(partition, region, account, keyID string) string {
	return "arn:" + partition + ":kms:" + region + ":" + account + ":key/" + keyID
}

// Alias returns the ARN of an alias given its full name ("alias/…").
func Alias(partition, region, account, aliasName string) string {
	return "arn:" + partition + ":kms:" + region + ":" + account + ":" + aliasName
}

// Parse parses a KMS key or alias ARN.
func Parse(s string) (ARN, error) {
	if !strings.HasPrefix(s, "arn:") {
		return ARN{}, errInvalid("does not start with arn:")
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 {
		return ARN{}, errInvalid("too few fields")
	}
	a := ARN{Partition: parts[1], Region: parts[3], Account: parts[4]}
	if !IsPartition(a.Partition) {
		return ARN{}, errInvalid("bad partition")
	}
	if parts[2] != "kms" {
		return ARN{}, errInvalid("service is not kms")
	}
	if !IsRegion(a.Region) {
		return ARN{}, errInvalid("bad region")
	}
	if !IsAccountID(a.Account) {
		return ARN{}, errInvalid("bad account id")
	}
	kind, name, ok := strings.Cut(parts[5], "/")
	if !ok || name == "" {
		return ARN{}, errInvalid("bad resource")
	}
	switch kind {
	case KindKey:
		if !IsKeyID(name) {
			return ARN{}, errInvalid("bad key id")
		}
	case KindAlias:
		if !IsAliasName("alias/" + name) {
			return ARN{}, errInvalid("bad alias name")
		}
	default:
		return ARN{}, errInvalid("resource is neither key nor alias")
	}
	a.Kind, a.Name = kind, name
	return a, nil
}

func errInvalid(why string) error { return &parseError{why} }

type parseError struct{ why string }

func (e *parseError) Error() string { return "arn: invalid: " + e.why }
func (e *parseError) Unwrap() error { return ErrInvalid }

// IsPartition reports whether s is an AWS partition name (aws, aws-cn, …).
func IsPartition(s string) bool {
	if s == "" || len(s) > 32 || !strings.HasPrefix(s, "aws") {
		return false
	}
	return isLowerAlnumDash(s)
}

// IsRegion reports whether s looks like a region name: lower-case letters,
// digits and dashes, 1–32 characters, starting with a letter.
func IsRegion(s string) bool {
	if s == "" || len(s) > 32 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	return isLowerAlnumDash(s)
}

func isLowerAlnumDash(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// IsAccountID reports whether s is a 12-digit account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsKeyID reports whether s is a key id: a lower-case UUID, or "mrk-"
// followed by 32 lower-case hex digits (multi-Region keys).
func IsKeyID(s string) bool {
	if rest, ok := strings.CutPrefix(s, "mrk-"); ok {
		return len(rest) == 32 && isLowerHex(rest)
	}
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isLowerHex(s[i : i+1]) {
				return false
			}
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// MaxAliasNameLen is the longest alias name AWS accepts.
const MaxAliasNameLen = 256

// IsAliasName reports whether s is a well-formed alias name: "alias/"
// followed by at least one character of [a-zA-Z0-9:/_-], 256 characters at
// most. It does not check the reserved "alias/aws/" prefix.
func IsAliasName(s string) bool {
	rest, ok := strings.CutPrefix(s, "alias/")
	if !ok || rest == "" || len(s) > MaxAliasNameLen {
		return false
	}
	return MatchesAliasPattern(s)
}

// MatchesAliasPattern reports whether s matches AWS's model pattern for
// alias names, ^[a-zA-Z0-9:/_-]+$.
func MatchesAliasPattern(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '/' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
