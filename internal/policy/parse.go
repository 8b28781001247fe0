package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Parse parses and validates a policy document of the given kind.
//
// The grammar is IAM's (reference_policies_grammar.html): a JSON object with
// Version, Id and Statement; Statement is one statement object or an array of
// them; a statement has Sid, Effect, Principal or NotPrincipal, Action or
// NotAction, Resource or NotResource, and Condition. Element names are
// case-sensitive. Errors are *Error.
//
// By kind:
//   - KeyPolicy: every statement has a Principal or NotPrincipal. A
//     statement without Resource is accepted and never applies, as AWS KMS
//     does (key-policy-overview.html: "the CreateKey and PutKeyPolicy APIs
//     succeed, even though the policy statement is ineffective"). A
//     ForAllValues operator on kms:EncryptionContext:<key> or
//     aws:RequestTag/<key> is refused with AWS KMS's
//     OverlyPermissiveCondition message, word for word and without the
//     statement position other messages carry (conditions-kms.html).
//   - IdentityPolicy: no Principal or NotPrincipal; a Resource or
//     NotResource is required; Sids are alphanumeric and unique (IAM's
//     rules; key policy Sids may hold spaces).
//   - TrustPolicy: every statement has a Principal or NotPrincipal, its
//     actions are sts: actions, and it has no Resource.
//
// The size of the document is not checked here (AWS KMS allows 32 KB).
func Parse(doc string, kind Kind) (*Policy, error) {
	if kind != KeyPolicy && kind != IdentityPolicy && kind != TrustPolicy {
		return nil, &Error{Msg: "Unknown policy kind."}
	}
	root, err := decodeJSON(doc)
	if err != nil {
		var dup *dupError
		switch {
		case errors.As(err, &dup):
			return nil, errorf("The policy document has a duplicate key %s.", quote(dup.name))
		case errors.Is(err, errTooDeep):
			return nil, errorf("The policy document is nested too deeply.")
		}
		return nil, errorf("The policy document is not valid JSON: %v.", err)
	}
	if root.kind != jObject {
		return nil, errorf("The policy document must be a JSON object.")
	}
	p := &Policy{kind: kind}
	var stmts *jsonValue
	for i := range root.members {
		m := &root.members[i]
		switch m.name {
		case "Version":
			if m.value.kind != jString {
				return nil, errorf("The Version element must be a string.")
			}
			if m.value.str != Version2012 && m.value.str != Version2008 {
				return nil, errorf("The policy Version %s is not supported: use %q (or %q).", quote(m.value.str), Version2012, Version2008)
			}
			p.Version = m.value.str
		case "Id":
			if m.value.kind != jString {
				return nil, errorf("The Id element must be a string.")
			}
			p.ID = m.value.str
		case "Statement":
			stmts = &m.value
		default:
			return nil, errorf("The policy document has an unknown element %s.", quote(m.name))
		}
	}
	if stmts == nil {
		return nil, errorf("The policy document is missing the required Statement element.")
	}
	var list []jsonValue
	switch stmts.kind {
	case jObject:
		list = []jsonValue{*stmts}
	case jArray:
		list = stmts.elems
	default:
		return nil, errorf("The Statement element must be an object or an array of objects.")
	}
	if len(list) == 0 {
		return nil, errorf("The policy document must contain at least one statement.")
	}
	vars := p.Version == Version2012
	sids := map[string]bool{}
	for i := range list {
		s, err := parseStatement(&list[i], kind, vars)
		if err != nil {
			var am awsMessage
			if errors.As(err, &am) {
				return nil, &Error{Msg: string(am)}
			}
			return nil, errorf("Statement %d%s: %s", i+1, sidLabel(&list[i]), err.Error())
		}
		if kind == IdentityPolicy && s.Sid != "" {
			if sids[s.Sid] {
				return nil, errorf("Statement IDs (SID) in a single policy must be unique: %s is repeated.", quote(s.Sid))
			}
			sids[s.Sid] = true
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func errorf(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// sidLabel names a statement by its Sid in error messages, if it has one.
func sidLabel(v *jsonValue) string {
	if v.kind != jObject {
		return ""
	}
	for _, m := range v.members {
		if m.name == "Sid" && m.value.kind == jString && m.value.str != "" {
			return " (Sid " + quote(m.value.str) + ")"
		}
	}
	return ""
}

// stmtError is a problem in one statement; Parse prefixes its position.
type stmtError string

func (e stmtError) Error() string { return string(e) }

// awsMessage is a problem whose message AWS documents word for word; Parse
// returns it as it is, without the statement position, so that the client
// gets the message AWS would send.
type awsMessage string

func (e awsMessage) Error() string { return string(e) }

// The OverlyPermissiveCondition messages of conditions-kms.html: the one
// quoted for kms:EncryptionContext:context-key
// (#conditions-kms-encryption-context), and the general one ("…without the
// specified [encryption context or tag] or with an unspecified [encryption
// context or tag]…", #set-operators) worded for aws:RequestTag/tag-key.
const (
	overlyPermissiveEncryptionContext = "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues."
	overlyPermissiveRequestTag        = "OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified tag or with an unspecified tag. To fix, remove ForAllValues."
)

func stmtErrorf(format string, args ...any) error {
	return stmtError(fmt.Sprintf(format, args...))
}

func parseStatement(v *jsonValue, kind Kind, vars bool) (Statement, error) {
	var s Statement
	if v.kind != jObject {
		return s, stmtErrorf("a statement must be a JSON object.")
	}
	var hasEffect bool
	for i := range v.members {
		m := &v.members[i]
		var err error
		switch m.name {
		case "Sid":
			if m.value.kind != jString {
				return s, stmtErrorf("the Sid element must be a string.")
			}
			s.Sid = m.value.str
			if kind == IdentityPolicy && !isAlnum(s.Sid) {
				return s, stmtErrorf("Statement IDs (SID) must be alpha-numeric; %s is not.", quote(s.Sid))
			}
		case "Effect":
			if m.value.kind != jString {
				return s, stmtErrorf("the Effect element must be a string.")
			}
			switch m.value.str {
			case "Allow":
				s.Effect = Allow
			case "Deny":
				s.Effect = Deny
			default:
				return s, stmtErrorf("invalid Effect %s: it must be \"Allow\" or \"Deny\".", quote(m.value.str))
			}
			hasEffect = true
		case "Principal":
			s.Principal, err = parsePrincipals(&m.value, "Principal")
		case "NotPrincipal":
			s.NotPrincipal, err = parsePrincipals(&m.value, "NotPrincipal")
		case "Action":
			s.Action, err = stringList(&m.value, "Action")
		case "NotAction":
			s.NotAction, err = stringList(&m.value, "NotAction")
		case "Resource":
			s.Resource, err = stringList(&m.value, "Resource")
		case "NotResource":
			s.NotResource, err = stringList(&m.value, "NotResource")
		case "Condition":
			s.Condition, err = parseCondition(&m.value, kind, vars)
		default:
			return s, stmtErrorf("unknown element %s.", quote(m.name))
		}
		if err != nil {
			return s, err
		}
	}

	if !hasEffect {
		return s, stmtErrorf("missing required field Effect.")
	}

	// Principal.
	switch {
	case s.Principal != nil && s.NotPrincipal != nil:
		return s, stmtErrorf("a statement cannot have both Principal and NotPrincipal.")
	case kind == IdentityPolicy && (s.Principal != nil || s.NotPrincipal != nil):
		return s, stmtErrorf("an identity-based policy should not specify a principal (Principal or NotPrincipal).")
	case kind != IdentityPolicy && s.Principal == nil && s.NotPrincipal == nil:
		return s, stmtErrorf("missing required field Principal.")
	}

	// Action.
	switch {
	case s.Action != nil && s.NotAction != nil:
		return s, stmtErrorf("a statement cannot have both Action and NotAction.")
	case s.Action == nil && s.NotAction == nil:
		return s, stmtErrorf("a policy statement must contain actions (Action or NotAction).")
	}
	actions := s.Action
	if actions == nil {
		actions = s.NotAction
	}
	for _, a := range actions {
		if err := checkAction(a, kind); err != nil {
			return s, err
		}
		s.actions = append(s.actions, compilePattern(a, compileOpts{wildcards: true}))
	}

	// Resource.
	switch {
	case s.Resource != nil && s.NotResource != nil:
		return s, stmtErrorf("a statement cannot have both Resource and NotResource.")
	case kind == TrustPolicy && (s.Resource != nil || s.NotResource != nil):
		return s, stmtErrorf("has prohibited field Resource: a role trust policy applies to its role.")
	case kind == IdentityPolicy && s.Resource == nil && s.NotResource == nil:
		return s, stmtErrorf("a policy statement must contain resources (Resource or NotResource).")
	}
	s.anyResource = kind == TrustPolicy
	resources := s.Resource
	if resources == nil {
		resources = s.NotResource
	}
	for _, r := range resources {
		if r != "*" && !isARNPattern(r) {
			return s, stmtErrorf("Resource %s must be in ARN format or \"*\".", quote(r))
		}
		s.resources = append(s.resources, compilePattern(r, compileOpts{wildcards: true, variables: vars, varsFrom: afterFifthColon(r), arn: true}))
	}
	return s, nil
}

// afterFifthColon is the offset of the resource part of an ARN, where policy
// variables may stand in a Resource element; len(s) if there is none.
func afterFifthColon(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			if n++; n == 5 {
				return i + 1
			}
		}
	}
	return len(s)
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// stringList reads a string or a non-empty array of strings.
func stringList(v *jsonValue, elem string) ([]string, error) {
	switch v.kind {
	case jString:
		return []string{v.str}, nil
	case jArray:
		if len(v.elems) == 0 {
			return nil, stmtErrorf("the %s element must not be an empty array.", elem)
		}
		out := make([]string, 0, len(v.elems))
		for _, e := range v.elems {
			if e.kind != jString {
				return nil, stmtErrorf("the %s element must hold strings, not %s.", elem, e.kind)
			}
			out = append(out, e.str)
		}
		return out, nil
	}
	return nil, stmtErrorf("the %s element must be a string or an array of strings, not %s.", elem, v.kind)
}

// checkAction checks an action: "*" or "<service>:<action>", where the
// service prefix is letters, digits and hyphens and the action name may hold
// wildcards. "Actions/Conditions must be prefaced by a vendor" is IAM's
// message for the rest.
func checkAction(a string, kind Kind) error {
	if a == "*" {
		if kind == TrustPolicy {
			return stmtErrorf("a role trust policy may only allow sts: actions, not %s.", quote(a))
		}
		return nil
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" || !isServicePrefix(svc) {
		return stmtErrorf("invalid action %s: actions must be prefaced by a vendor, e.g. kms:Encrypt.", quote(a))
	}
	if kind == TrustPolicy && !strings.EqualFold(svc, "sts") {
		return stmtErrorf("a role trust policy may only allow sts: actions, not %s.", quote(a))
	}
	return nil
}

func isServicePrefix(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// isARNPattern accepts "arn:" followed by at least a partition and a service
// segment; wildcards and variables may stand anywhere. A pattern such as
// "arn:aws:kms:*" is a valid Resource (its final '*' covers the rest).
func isARNPattern(s string) bool {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return false
	}
	part, rest, ok := strings.Cut(rest, ":")
	return ok && part != "" && rest != ""
}

// parsePrincipals reads a Principal or NotPrincipal element: "*" or an object
// with AWS, Service, Federated and CanonicalUser members, each a string or an
// array of strings (reference_policies_elements_principal.html). Invalid
// principals get AWS KMS's message.
func parsePrincipals(v *jsonValue, elem string) (*Principals, error) {
	const invalid = "Policy contains a statement with one or more invalid principals"
	if v.kind == jString {
		if v.str != "*" {
			return nil, stmtErrorf("%s: %s %s must be \"*\" or an object.", invalid, elem, quote(v.str))
		}
		return &Principals{Wildcard: true}, nil
	}
	if v.kind != jObject {
		return nil, stmtErrorf("%s: %s must be \"*\" or an object, not %s.", invalid, elem, v.kind)
	}
	if len(v.members) == 0 {
		return nil, stmtErrorf("%s: %s is empty.", invalid, elem)
	}
	ps := &Principals{}
	for i := range v.members {
		m := &v.members[i]
		list, err := stringList(&m.value, elem+"."+m.name)
		if err != nil {
			return nil, stmtErrorf("%s: %s", invalid, err.Error())
		}
		for _, s := range list {
			if s == "" {
				return nil, stmtErrorf("%s: an empty %s principal.", invalid, m.name)
			}
		}
		switch m.name {
		case "AWS":
			for _, s := range list {
				ap, ok := parseAWSPrincipal(s)
				if !ok {
					return nil, stmtErrorf("%s: %s.", invalid, quote(s))
				}
				ps.aws = append(ps.aws, ap)
			}
			ps.AWS = list
		case "Service":
			for _, s := range list {
				if strings.ContainsAny(s, "*?") && s != "*" {
					return nil, stmtErrorf("%s: %s (wildcards are not allowed in principals).", invalid, quote(s))
				}
			}
			ps.Service = list
		case "Federated":
			ps.Federated = list
		case "CanonicalUser":
			ps.CanonicalUser = list
		default:
			return nil, stmtErrorf("%s: unknown principal type %s.", invalid, quote(m.name))
		}
	}
	return ps, nil
}

// parseAWSPrincipal classifies an "AWS" principal entry: "*", an account ID,
// an account, user or role ARN (arn:<partition>:iam::<account>:root|user/…|role/…),
// an assumed-role session or federated user ARN (arn:<partition>:sts::…), or
// a unique ID (AIDA…, AROA…). "You cannot use a wildcard to match part of a
// principal name or ARN."
func parseAWSPrincipal(s string) (awsPrincipal, bool) {
	if s == "*" {
		return awsPrincipal{kind: apAny}, true
	}
	if strings.ContainsAny(s, "*?") {
		return awsPrincipal{}, false
	}
	if isAccountID(s) {
		return awsPrincipal{kind: apAccount, account: s}, true
	}
	if isUniqueID(s) {
		return awsPrincipal{kind: apUniqueID, value: s}, true
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[3] != "" || !isAccountID(parts[4]) {
		return awsPrincipal{}, false
	}
	partition, service, account, res := parts[1], parts[2], parts[4], parts[5]
	ap := awsPrincipal{account: account, partition: partition, value: s}
	switch service {
	case "iam":
		switch {
		case res == "root":
			ap.kind = apAccount
		case strings.HasPrefix(res, "user/") && validPathName(res[len("user/"):]):
			ap.kind = apUser
		case strings.HasPrefix(res, "role/") && validPathName(res[len("role/"):]):
			ap.kind = apRole
		default:
			return awsPrincipal{}, false
		}
	case "sts":
		switch {
		case strings.HasPrefix(res, "assumed-role/"):
			role, session, ok := strings.Cut(res[len("assumed-role/"):], "/")
			if !ok || role == "" || session == "" || strings.Contains(session, "/") {
				return awsPrincipal{}, false
			}
			ap.kind = apSession
		case strings.HasPrefix(res, "federated-user/") && len(res) > len("federated-user/"):
			ap.kind = apFederated
		default:
			return awsPrincipal{}, false
		}
	default:
		return awsPrincipal{}, false
	}
	return ap, true
}

// validPathName checks "path/…/Name": a non-empty final name.
func validPathName(s string) bool {
	return s != "" && !strings.HasSuffix(s, "/") && !strings.HasPrefix(s, "/")
}

func isAccountID(s string) bool {
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

// isUniqueID recognizes IAM unique IDs such as AIDAJQABLZS4A3QDU576Q (users)
// and AROADBQP57FF2AEXAMPLE (roles): "A" and then upper-case letters and
// digits (reference_identifiers.html#identifiers-unique-ids).
func isUniqueID(s string) bool {
	if len(s) < 16 || len(s) > 128 || s[0] != 'A' {
		return false
	}
	letters := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			letters++
		case '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return letters > 4
}

// parseCondition reads the Condition element: an object of operators, each
// an object of condition keys, each a value or an array of values (strings,
// numbers or booleans).
func parseCondition(v *jsonValue, kind Kind, vars bool) ([]Condition, error) {
	if v.kind != jObject {
		return nil, stmtErrorf("the Condition element must be an object, not %s.", v.kind)
	}
	var out []Condition
	for i := range v.members {
		om := &v.members[i]
		op, ok := parseOperator(om.name)
		if !ok {
			return nil, stmtErrorf("invalid condition operator %s.", quote(om.name))
		}
		if om.value.kind != jObject {
			return nil, stmtErrorf("condition operator %s must map condition keys to values, not be %s.", quote(om.name), om.value.kind)
		}
		for j := range om.value.members {
			km := &om.value.members[j]
			if err := checkConditionKey(km.name); err != nil {
				return nil, err
			}
			lower := strings.ToLower(km.name)
			if kind == KeyPolicy && op.set == setAll {
				switch {
				case strings.HasPrefix(lower, "kms:encryptioncontext:"):
					return nil, awsMessage(overlyPermissiveEncryptionContext)
				case strings.HasPrefix(lower, "aws:requesttag/"):
					return nil, awsMessage(overlyPermissiveRequestTag)
				}
			}
			values, err := conditionValues(&km.value)
			if err != nil {
				return nil, stmtErrorf("condition %s %s: %s", om.name, km.name, err.Error())
			}
			c := Condition{Operator: om.name, Key: km.name, Values: values, op: op, key: lower}
			for _, val := range values {
				cv, msg := compileValue(op, val, vars)
				if msg != "" {
					return nil, stmtErrorf("condition %s %s: the value %s %s.", om.name, km.name, quote(val), msg)
				}
				c.vals = append(c.vals, cv)
			}
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Condition) int {
		if c := strings.Compare(a.Operator, b.Operator); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, nil
}

// checkConditionKey checks that a condition key is "prefix:name".
func checkConditionKey(k string) error {
	prefix, name, ok := strings.Cut(k, ":")
	if !ok || prefix == "" || name == "" {
		return stmtErrorf("invalid condition key %s: condition keys must be prefaced by a vendor, e.g. aws:SourceIp.", quote(k))
	}
	return nil
}

// conditionValues reads the values of one condition key: a scalar or an
// array of scalars. Numbers keep their text and booleans become "true" or
// "false", as IAM compares them as text.
func conditionValues(v *jsonValue) ([]string, error) {
	scalar := func(e *jsonValue) (string, error) {
		switch e.kind {
		case jString, jNumber, jBool:
			return e.str, nil
		}
		return "", stmtError("condition values must be strings, numbers or booleans, not " + e.kind.String() + ".")
	}
	if v.kind == jArray {
		out := make([]string, 0, len(v.elems))
		for i := range v.elems {
			s, err := scalar(&v.elems[i])
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}
