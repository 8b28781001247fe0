package iam

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/kagikms/kagi/internal/awserr"
)

// validator collects constraint violations in AWS's wording, so that one
// ValidationError names every bad member, as AWS does:
//
//	1 validation error detected: Value 'x y' at 'userName' failed to
//	satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+
type validator struct {
	errs []string
}

func (v *validator) add(field, value, constraint string) {
	v.errs = append(v.errs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", value, field, constraint))
}

func quote(s string) string {
	const max = 256
	if len(s) > max {
		s = s[:max] + "..."
	}
	return "'" + s + "'"
}

// required checks that a string member is present.
func (v *validator) required(field, s string) bool {
	if s == "" {
		v.add(field, "null", "Member must not be null")
		return false
	}
	return true
}

// length checks the length of a string member in characters. Absent
// optional members are not checked.
func (v *validator) length(field, s string, min, max int) bool {
	n := len([]rune(s))
	ok := true
	if n < min {
		v.add(field, quote(s), fmt.Sprintf("Member must have length greater than or equal to %d", min))
		ok = false
	}
	if n > max {
		v.add(field, quote(s), fmt.Sprintf("Member must have length less than or equal to %d", max))
		ok = false
	}
	return ok
}

// pattern checks s against a character class, reported as AWS's regular
// expression.
func (v *validator) pattern(field, s string, ok func(rune) bool, regex string) {
	for _, r := range s {
		if !ok(r) {
			v.add(field, quote(s), "Member must satisfy regular expression pattern: "+regex)
			return
		}
	}
}

// intRange checks an integer member.
func (v *validator) intRange(field string, n *int32, min, max int32) {
	if n == nil {
		return
	}
	if *n < min {
		v.add(field, fmt.Sprintf("'%d'", *n), fmt.Sprintf("Member must have value greater than or equal to %d", min))
	}
	if *n > max {
		v.add(field, fmt.Sprintf("'%d'", *n), fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	noun := "error"
	if len(v.errs) > 1 {
		noun = "errors"
	}
	return awserr.New(CodeValidationError, "%d validation %s detected: %s", len(v.errs), noun, strings.Join(v.errs, "; "))
}

// The character classes of IAM's patterns.

// isNameChar is [\w+=,.@-]: user, role, policy and session names.
func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+=,.@-", r)
}

// isExternalIDChar is [\w+=,.@:\/-].
func isExternalIDChar(r rune) bool { return isNameChar(r) || r == ':' || r == '/' }

// isPolicyChar is [\u0009\u000A\u000D\u0020-\u00FF].
func isPolicyChar(r rune) bool { return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xff }

// isDescriptionChar is [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF].
func isDescriptionChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7e || r >= 0xa1 && r <= 0xff
}

// isTagChar is [\p{L}\p{Z}\p{N}_.:/=+\-@].
func isTagChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.In(r, unicode.Z) || unicode.IsNumber(r) || strings.ContainsRune("_.:/=+-@", r)
}

const (
	reName        = `[\w+=,.@-]+`
	rePath        = `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
	rePathPrefix  = `\u002F[\u0021-\u007F]*`
	rePolicy      = `[\u0009\u000A\u000D\u0020-\u00FF]+`
	reDescription = `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`
	reTagKey      = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	reTagValue    = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
	reSessionName = `[\w+=,.@-]*`
	reExternalID  = `[\w+=,.@:\/-]*`
)

// name checks a required user, role or policy name.
func (v *validator) name(field, s string, max int) {
	if !v.required(field, s) {
		return
	}
	if v.length(field, s, 1, max) {
		v.pattern(field, s, isNameChar, reName)
	}
}

// path checks an optional path: "/" or "/…/" of printable ASCII.
func (v *validator) path(field, s string) {
	if s == "" {
		return
	}
	if !v.length(field, s, 1, 512) {
		return
	}
	ok := s == "/" || len(s) >= 3 && s[0] == '/' && s[len(s)-1] == '/'
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] >= 0x21 && s[i] <= 0x7e
	}
	if !ok {
		v.add(field, quote(s), "Member must satisfy regular expression pattern: "+rePath)
	}
}

// pathPrefix checks an optional PathPrefix.
func (v *validator) pathPrefix(field, s string) {
	if s == "" {
		return
	}
	if !v.length(field, s, 1, 512) {
		return
	}
	ok := s[0] == '/'
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] >= 0x21 && s[i] <= 0x7f
	}
	if !ok {
		v.add(field, quote(s), "Member must satisfy regular expression pattern: "+rePathPrefix)
	}
}

// policyDocument checks a required policy document's length and characters.
func (v *validator) policyDocument(field, s string) {
	if !v.required(field, s) {
		return
	}
	if v.length(field, s, 1, 131072) {
		v.pattern(field, s, isPolicyChar, rePolicy)
	}
}

// maxItems checks MaxItems (1–1000) and returns it, 100 when absent.
func (v *validator) maxItems(n *int32) int {
	v.intRange("maxItems", n, 1, 1000)
	if n == nil || *n < 1 || *n > 1000 {
		return 100
	}
	return int(*n)
}

// marker checks an optional Marker.
func (v *validator) marker(s string) {
	if s != "" {
		v.length("marker", s, 1, 320)
	}
}

// tags checks a Tags member: at most 50 tags, keys 1–128 and values 0–256
// characters of IAM's tag pattern, no key twice (keys are case-insensitive).
func (v *validator) tags(field string, tags []Tag) {
	if len(tags) > 50 {
		v.add(field, fmt.Sprintf("'%d tags'", len(tags)), "Member must have length less than or equal to 50")
	}
	for i, t := range tags {
		kf := fmt.Sprintf("%s.%d.member.key", field, i+1)
		vf := fmt.Sprintf("%s.%d.member.value", field, i+1)
		if v.required(kf, t.Key) && v.length(kf, t.Key, 1, 128) {
			v.pattern(kf, t.Key, isTagChar, reTagKey)
		}
		if v.length(vf, t.Value, 0, 256) {
			v.pattern(vf, t.Value, isTagChar, reTagValue)
		}
	}
}

// checkTagKeys refuses a tag key given twice, and keys in AWS's reserved
// "aws:" namespace, as IAM does (after the shape validation).
func checkTagKeys(tags []Tag) error {
	seen := map[string]bool{}
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		if strings.HasPrefix(k, "aws:") {
			return awserr.New(CodeInvalidInput, "Tag keys starting with 'aws:' are reserved for AWS use.")
		}
		if seen[k] {
			return awserr.New(CodeInvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	return nil
}
