package policy

import "strings"

// match is how a statement's principal matched a request.
type match uint8

const (
	matchNone match = iota
	// matchAccount: the statement names the principal's account (account ID
	// or arn:…:iam::<account>:root). In a resource-based policy this
	// delegates to the account: the account's identity policies must allow
	// too ("Using the account ARN in the Principal element does not limit
	// permissions to only the root user of the account",
	// reference_policies_elements_principal.html#principal-accounts).
	matchAccount
	// matchDirect: the statement names the principal itself (its user, role
	// or session ARN, its service), or everyone ("*", NotPrincipal). Identity
	// policy statements, which have no principal, also match directly.
	matchDirect
)

// Evaluate evaluates the policy alone: Deny if a statement that applies to
// the request denies it, else Allow if one allows it, else NoMatch.
//
// A statement applies when its principal (for key and trust policies), action,
// resource and all its conditions match. Evaluate does not combine policies;
// Authorize does, as AWS KMS does.
func (p *Policy) Evaluate(r *Request) Effect {
	if p == nil || r == nil {
		return NoMatch
	}
	ctx := (*evalCtx)(r)
	switch deny, allow := p.eval(ctx); {
	case deny:
		return Deny
	case allow > matchNone:
		return Allow
	}
	return NoMatch
}

// eval reports whether a statement denies the request and, if none does, the
// best way an Allow statement matched it.
func (p *Policy) eval(ctx *evalCtx) (deny bool, allow match) {
	for i := range p.Statements {
		s := &p.Statements[i]
		m := s.match(ctx)
		if m == matchNone {
			continue
		}
		if s.Effect == Deny {
			return true, matchNone
		}
		allow = max(allow, m)
	}
	return false, allow
}

// match reports whether the statement applies to the request, and how its
// principal matched.
func (s *Statement) match(ctx *evalCtx) match {
	m := matchDirect
	p := &ctx.Principal
	switch {
	case s.Principal != nil:
		if m = s.Principal.match(p, ctx.BoundPrincipals); m == matchNone {
			return matchNone
		}
	case s.NotPrincipal != nil:
		if s.NotPrincipal.excludes(p, ctx.BoundPrincipals) {
			return matchNone
		}
	}
	if !s.matchAction(ctx.Action) || !s.matchResource(ctx) {
		return matchNone
	}
	for i := range s.Condition {
		if !s.Condition[i].eval(ctx) {
			return matchNone
		}
	}
	return m
}

// matchAction matches the action case-insensitively: "The prefix and the
// action name are case insensitive" (reference_policies_elements_action.html).
func (s *Statement) matchAction(action string) bool {
	in := false
	for i := range s.actions {
		if s.actions[i].match(action, true, nil) {
			in = true
			break
		}
	}
	if len(s.Action) > 0 {
		return in
	}
	return !in // NotAction
}

func (s *Statement) matchResource(ctx *evalCtx) bool {
	if s.anyResource {
		return true
	}
	in := false
	for i := range s.resources {
		if s.resources[i].matchARN(ctx.Resource, ctx) {
			in = true
			break
		}
	}
	switch {
	case len(s.Resource) > 0:
		return in
	case len(s.NotResource) > 0:
		return !in
	}
	// A key policy statement without Resource "has no effect"
	// (kms developerguide, key-policy-overview.html, Resource).
	return false
}

// apKind classifies an "AWS" principal entry.
type apKind uint8

const (
	apAny       apKind = iota // "*"
	apAccount                 // "111122223333" or arn:aws:iam::111122223333:root
	apUser                    // arn:aws:iam::111122223333:user/path/Name
	apRole                    // arn:aws:iam::111122223333:role/path/Name
	apSession                 // arn:aws:sts::111122223333:assumed-role/Role/Session
	apFederated               // arn:aws:sts::111122223333:federated-user/Name
	apUniqueID                // AIDA…, AROA…: what AWS shows for a deleted principal
)

// awsPrincipal is a compiled "AWS" principal entry.
type awsPrincipal struct {
	kind      apKind
	account   string
	partition string // "" for the bare account ID form: any partition
	value     string
}

// match reports how the Principal element matches the request's principal.
//
// An account entry matches every principal of the account (matchAccount),
// and the account's root user directly. A role ARN matches the sessions of
// the role: "Principal": {"AWS": role ARN} is how a key policy lets a role's
// sessions in. Wildcards are not allowed inside principal ARNs ("You cannot
// use a wildcard to match part of a principal name or ARN"), so entries
// compare exactly; the user name part of an ARN is case-sensitive
// (reference_policies_elements_principal.html#principal-users).
func (ps *Principals) match(p *Principal, bound map[string]string) match {
	if ps.Wildcard {
		return matchDirect
	}
	best := matchNone
	for i := range ps.aws {
		e := &ps.aws[i]
		switch e.kind {
		case apAny:
			return matchDirect
		case apAccount:
			if e.coversAccount(p) {
				if p.Type == TypeRoot {
					return matchDirect
				}
				best = matchAccount
			}
		case apUser, apSession, apFederated:
			if p.ARN != "" && e.value == p.ARN && e.sameID(p, bound) {
				return matchDirect
			}
		case apRole:
			if p.Type == TypeAssumedRole && p.RoleARN != "" && e.value == p.RoleARN && e.sameID(p, bound) {
				return matchDirect
			}
		case apUniqueID:
			if e.coversUniqueID(p) {
				return matchDirect
			}
		}
	}
	if p.Type == TypeAWSService {
		name := serviceName(p)
		for _, s := range ps.Service {
			if s == name {
				return matchDirect
			}
		}
	}
	// Federated and CanonicalUser principals never match: kagi has no web
	// identity or SAML sessions, and canonical users are an S3 notion.
	return best
}

// excludes reports whether a NotPrincipal element exempts the principal.
//
// AWS evaluates a principal as a chain: the account, then (for a session) the
// role, then the user or session, and a NotPrincipal with Deny "might deny
// access to the entire account" unless the account ARN is listed too
// (reference_policies_elements_notprincipal.html). kagi follows that chain
// strictly: a principal is exempt only when every link of its chain is
// listed — the account and the user; the account, the role and the session.
func (ps *Principals) excludes(p *Principal, bound map[string]string) bool {
	switch p.Type {
	case TypeAWSService:
		return ps.coversService(p)
	case TypeRoot:
		return ps.coversAccount(p)
	case TypeIAMUser:
		return ps.coversAccount(p) && ps.coversARN(p, bound)
	case TypeAssumedRole:
		return ps.coversAccount(p) && ps.coversRole(p, bound) && ps.coversARN(p, bound)
	}
	if p.Account == "" && p.ARN == "" {
		return ps.hasAny()
	}
	return (p.Account == "" || ps.coversAccount(p)) && (p.ARN == "" || ps.coversARN(p, bound))
}

func (ps *Principals) hasAny() bool {
	if ps.Wildcard {
		return true
	}
	for i := range ps.aws {
		if ps.aws[i].kind == apAny {
			return true
		}
	}
	return false
}

func (ps *Principals) coversAccount(p *Principal) bool {
	if ps.hasAny() {
		return true
	}
	for i := range ps.aws {
		if ps.aws[i].kind == apAccount && ps.aws[i].coversAccount(p) {
			return true
		}
	}
	return false
}

func (ps *Principals) coversARN(p *Principal, bound map[string]string) bool {
	if ps.hasAny() {
		return true
	}
	for i := range ps.aws {
		e := &ps.aws[i]
		switch e.kind {
		case apUser, apSession, apFederated:
			if p.ARN != "" && e.value == p.ARN && e.sameID(p, bound) {
				return true
			}
		case apUniqueID:
			if e.coversUniqueID(p) {
				return true
			}
		}
	}
	return false
}

func (ps *Principals) coversRole(p *Principal, bound map[string]string) bool {
	if ps.hasAny() {
		return true
	}
	for i := range ps.aws {
		e := &ps.aws[i]
		if e.kind == apRole && p.RoleARN != "" && e.value == p.RoleARN && e.sameID(p, bound) {
			return true
		}
	}
	return false
}

func (ps *Principals) coversService(p *Principal) bool {
	if ps.hasAny() {
		return true
	}
	name := serviceName(p)
	for _, s := range ps.Service {
		if s == name {
			return true
		}
	}
	return false
}

func (e *awsPrincipal) coversAccount(p *Principal) bool {
	if p.Type == TypeAWSService || p.Account == "" || e.account != p.Account {
		return false
	}
	return e.partition == "" || partitionOf(p.ARN) == "" || partitionOf(p.ARN) == e.partition
}

// sameID reports whether the principal is the one the entry's ARN named when
// the policy was set: true when the ARN is not bound (Request.BoundPrincipals),
// else when the principal's unique ID (a user's, or a session's role's) is
// the bound one.
func (e *awsPrincipal) sameID(p *Principal, bound map[string]string) bool {
	want, ok := bound[e.value]
	if !ok {
		return true
	}
	id := p.UserID
	if p.Type == TypeAssumedRole {
		id, _, _ = strings.Cut(id, ":")
	}
	return id != "" && id == want
}

// coversUniqueID matches a unique-ID entry: a user's ID (AIDA…) or a role's
// (AROA…, the part of aws:userid before the session name).
func (e *awsPrincipal) coversUniqueID(p *Principal) bool {
	switch p.Type {
	case TypeIAMUser:
		return p.UserID != "" && e.value == p.UserID
	case TypeAssumedRole:
		id, _, _ := strings.Cut(p.UserID, ":")
		return id != "" && e.value == id
	}
	return false
}

func partitionOf(arn string) string {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return ""
	}
	part, _, _ := strings.Cut(rest, ":")
	return part
}

func serviceName(p *Principal) string {
	if p.Service != "" {
		return p.Service
	}
	return p.ARN
}

// evalCtx is one request being evaluated: it looks up condition keys and
// resolves policy variables.
//
// It is a Request with methods: converting a *Request to a *evalCtx, and that
// to the resolver interface, costs no allocation.
type evalCtx Request

// values returns the values of a context key (key is lower-cased). The
// principal keys are derived from the request's Principal and cannot be set
// through Context, so a caller cannot spoof them by accident.
func (c *evalCtx) values(key string) valueSet {
	p := &c.Principal
	one := func(s string) valueSet {
		if s == "" {
			return valueSet{}
		}
		return valueSet{one: s, n: 1}
	}
	switch key {
	case "aws:principalarn":
		// "For IAM roles, the request context returns the ARN of the role,
		// not the ARN of the user that assumed the role"
		// (reference_policies_condition-keys.html#condition-keys-principalarn).
		switch p.Type {
		case TypeAssumedRole:
			return one(p.RoleARN)
		case TypeAWSService:
			return valueSet{}
		}
		return one(p.ARN)
	case "aws:principalaccount":
		return one(p.Account)
	case "aws:principaltype":
		// aws:PrincipalType values: Account, User, FederatedUser, AssumedRole,
		// Anonymous (reference_policies_variables.html, principal key values).
		switch p.Type {
		case TypeRoot:
			return one("Account")
		case TypeIAMUser:
			return one("User")
		case TypeAssumedRole:
			return one("AssumedRole")
		}
		return valueSet{}
	case "aws:username":
		if p.Type == TypeIAMUser {
			return one(p.Username)
		}
		return valueSet{}
	case "aws:userid":
		return one(p.UserID)
	case "aws:principalservicename":
		if p.Type == TypeAWSService {
			return one(serviceName(p))
		}
		return valueSet{}
	case "aws:principalisawsservice":
		if p.Type == TypeAWSService {
			return one("true")
		}
		return one("false")
	}
	if tag, ok := strings.CutPrefix(key, "aws:principaltag/"); ok {
		// Condition keys are case-insensitive, the tag key part included.
		if v, ok := p.Tags[tag]; ok {
			return one(v)
		}
		for k, v := range p.Tags {
			if strings.EqualFold(k, tag) {
				return one(v)
			}
		}
		return valueSet{}
	}
	if v, ok := c.Context[key]; ok && len(v) > 0 {
		return valueSet{many: v, n: len(v)}
	}
	for k, v := range c.Context {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return valueSet{many: v, n: len(v)}
		}
	}
	return valueSet{}
}

// variable resolves a policy variable. A key with several values cannot be a
// variable ("you can't use multivalued context keys as policy variables");
// it resolves to nothing.
func (c *evalCtx) variable(key string) (string, bool) {
	v := c.values(key)
	if v.n != 1 {
		return "", false
	}
	return v.at(0), true
}
