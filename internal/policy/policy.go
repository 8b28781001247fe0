// Package policy is the AWS IAM policy language as kagi speaks it: key
// policies, IAM identity policies and role trust policies are parsed,
// validated and evaluated the way AWS documents it, so that a policy moved
// from AWS to kagi unchanged gives the same decisions.
//
// The package is pure: no I/O, no clock, no global state. A policy is parsed
// once (Parse) and evaluated many times (Evaluate, Authorize); evaluation does
// not allocate in the common case.
//
// The references followed are AWS's own pages, cited where each rule is
// implemented:
//
//   - IAM JSON policy elements reference (Version, Id, Statement, Sid, Effect,
//     Principal, NotPrincipal, Action, NotAction, Resource, NotResource,
//     Condition): https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
//   - Condition operators: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
//   - Single-valued vs multivalued context keys (ForAnyValue, ForAllValues):
//     https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
//   - Policy variables: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
//   - Policy evaluation logic (same account and cross-account):
//     https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
//   - KMS key policies, default key policy, cross-account access, condition keys:
//     https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html,
//     https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html,
//     https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html,
//     https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
//
// Where those pages are silent, the choice made is said in a comment beside
// the code.
package policy

// Kind tells Parse which kind of policy a document is, and so what it must and
// must not contain.
type Kind int

const (
	// KeyPolicy is a KMS key policy (a resource-based policy): every statement
	// names a Principal or NotPrincipal.
	KeyPolicy Kind = iota
	// IdentityPolicy is an IAM policy attached to a user, group or role: no
	// statement may name a principal, and every statement needs a Resource or
	// NotResource.
	IdentityPolicy
	// TrustPolicy is an IAM role trust policy: every statement names a
	// principal, its actions are sts: actions, and it has no Resource.
	TrustPolicy
)

func (k Kind) String() string {
	switch k {
	case KeyPolicy:
		return "KeyPolicy"
	case IdentityPolicy:
		return "IdentityPolicy"
	case TrustPolicy:
		return "TrustPolicy"
	}
	return "Kind(?)"
}

// The policy language versions. A document without a Version element is read
// with the 2008-10-17 rules, in which policy variables are plain text.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Error is a policy document that cannot be accepted. Msg says what is wrong,
// in the spirit of AWS's MalformedPolicyDocumentException messages; it is
// meant to be sent to the client as the exception's message.
type Error struct {
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// Effect is the effect of a statement (Allow or Deny) or of a whole policy on
// a request (NoMatch, Allow or Deny).
type Effect int

const (
	// NoMatch means no statement of the policy applies to the request.
	NoMatch Effect = iota
	// Allow means a statement allows the request and none denies it.
	Allow
	// Deny means a statement explicitly denies the request.
	Deny
)

func (e Effect) String() string {
	switch e {
	case NoMatch:
		return "NoMatch"
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "Effect(?)"
}

// Policy is a parsed policy document. Its exported fields describe the
// document; treat them as read-only (Parse prepares hidden matching data from
// them, so a changed policy must be parsed again).
type Policy struct {
	Version    string // "2012-10-17", "2008-10-17" or "" (absent)
	ID         string // the Id element
	Statements []Statement

	kind Kind
}

// Kind is the kind the policy was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// Statement is one statement of a policy. Exactly one of Action and
// NotAction is set; at most one of Principal and NotPrincipal, and of
// Resource and NotResource.
type Statement struct {
	Sid          string
	Effect       Effect // Allow or Deny
	Principal    *Principals
	NotPrincipal *Principals
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	// Condition holds one entry per (operator, key) pair of the Condition
	// element, sorted by operator then key as written.
	Condition []Condition

	actions   []pattern // compiled Action or NotAction
	resources []pattern // compiled Resource or NotResource
	// anyResource is set for trust policies, whose statements have no
	// Resource and apply to the role they are attached to.
	anyResource bool
}

// Principals is the value of a Principal or NotPrincipal element.
type Principals struct {
	// Wildcard is the bare "Principal": "*" form; it is equivalent to
	// {"AWS": "*"} and kept apart only to re-serialise the document as written.
	Wildcard      bool
	AWS           []string // "*", account IDs, account/user/role/session ARNs, unique IDs
	Service       []string // service principals, e.g. "s3.amazonaws.com"
	Federated     []string // parsed; never matches a kagi principal
	CanonicalUser []string // parsed; never matches a kagi principal (an S3 notion)

	aws []awsPrincipal // compiled AWS entries
}

// Condition is one condition key tested by one operator: all Values are
// alternatives (OR); the conditions of a statement must all hold (AND).
type Condition struct {
	Operator string   // as written, e.g. "ForAnyValue:StringEqualsIgnoreCase"
	Key      string   // as written, e.g. "kms:EncryptionContext:AppName"
	Values   []string // JSON numbers and booleans are kept as their text

	op   operator
	key  string // Key lower-cased: condition keys are case-insensitive
	vals []condValue
}

// Principal is who makes a request.
type Principal struct {
	// ARN is arn:aws:iam::111122223333:root, arn:aws:iam::111122223333:user/path/Name,
	// arn:aws:sts::111122223333:assumed-role/Role/Session; for a service, its
	// service principal name may be given here or in Service.
	ARN string
	// Account is the 12-digit account ID ("" for a service).
	Account string
	// Type is "Root", "IAMUser", "AssumedRole" or "AWSService".
	Type string
	// RoleARN is, for an AssumedRole, the role's ARN with its path
	// (arn:aws:iam::111122223333:role/path/Role): it is what a "Principal":
	// {"AWS": role ARN} and aws:PrincipalArn match.
	RoleARN string
	// UserID is aws:userid: AIDA… for users, AROA…:session for roles, the
	// account ID for the root user.
	UserID string
	// Username is aws:username (IAM users only).
	Username string
	// Service is the service principal name for Type AWSService, e.g.
	// "s3.amazonaws.com".
	Service string
	// Tags are the principal's tags, aws:PrincipalTag/<key>.
	Tags map[string]string
}

// Principal types, as CloudTrail's userIdentity.type names them.
const (
	TypeRoot        = "Root"
	TypeIAMUser     = "IAMUser"
	TypeAssumedRole = "AssumedRole"
	TypeAWSService  = "AWSService"
)

// Request is one authorization question.
type Request struct {
	Principal Principal
	// Action is the action asked for, e.g. "kms:Encrypt".
	Action string
	// Resource is the ARN of the resource, e.g. the key ARN, or "*" for
	// account-level actions such as kms:CreateKey and kms:ListKeys.
	Resource string
	// Context holds the values of the condition keys for this request
	// (aws:SourceIp, aws:CurrentTime, aws:SecureTransport,
	// kms:EncryptionContext:Foo, kms:ViaService, aws:RequestTag/x,
	// aws:TagKeys …). Keys are case-insensitive as in AWS: store them
	// lower-cased for the fast path; other spellings are found by a
	// case-insensitive scan. Multivalued keys have several values; a key with
	// no values is absent.
	//
	// The principal keys aws:PrincipalArn, aws:PrincipalAccount,
	// aws:PrincipalType, aws:username, aws:userid, aws:PrincipalTag/*,
	// aws:PrincipalServiceName and aws:PrincipalIsAWSService are derived from
	// Principal and cannot be set here.
	Context map[string][]string
	// BoundPrincipals binds the user, role and session ARNs that a key or
	// trust policy names to the unique ID (AIDA…, AROA…) each had when the
	// policy was set. A bound ARN matches only a principal with that unique
	// ID, so a user or role deleted and re-created under the same name does
	// not inherit the old one's access, as in AWS, which stores the unique ID
	// (reference_policies_elements_principal.html). Unbound ARNs match by
	// ARN alone. Identity policies name no principals and ignore it.
	BoundPrincipals map[string]string
}
