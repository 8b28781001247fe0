package policy

// Decision is the final answer of AWS KMS's authorization logic.
type Decision struct {
	Allowed bool
	// ExplicitDeny is set when a Deny statement denied the request (as
	// opposed to no policy allowing it).
	ExplicitDeny bool
	// Reason is, for a denied request, the end of AWS's AccessDeniedException
	// message: "with an explicit deny in a resource-based policy", "because
	// no identity-based policy allows the kms:Decrypt action", …
	Reason string
	// HideResource is set when the message must not name the resource: the
	// key policy refused a principal of another account, who is not told
	// whether the key exists ("on this resource", see crossAccountDenied).
	HideResource bool
}

// AuthzInput is what Authorize needs to know.
type AuthzInput struct {
	Request Request
	// KeyAccount is the account that owns the resource.
	KeyAccount string
	// KeyPolicy is the key policy; nil for account-level actions such as
	// kms:CreateKey and kms:ListKeys, which only identity policies govern.
	KeyPolicy *Policy
	// IdentityPolicies are the caller's IAM policies (user, groups, role).
	IdentityPolicies []*Policy
	// GrantAllows is set when a grant for the key covers this operation for
	// this principal.
	GrantAllows bool
}

// The policy types named in AccessDeniedException messages.
const (
	resourceBased = "resource-based"
	identityBased = "identity-based"
)

// Authorize combines the key policy, the caller's identity policies and
// grants as AWS KMS does:
//
//   - An explicit Deny in the key policy or in any identity policy denies the
//     request, whatever allows it elsewhere, grants included ("No AWS
//     principal has any permissions to a KMS key unless that permission is
//     provided explicitly and never denied", kms control-access.html; a Deny
//     in a key policy "takes precedence over all grants for this KMS key",
//     conditions-kms.html#conditions-kms-encryption-algorithm; grants "allow
//     access, but not deny it", grants.html).
//   - A grant that covers the operation allows it; it needs no policy, in the
//     key's account or another ("users and roles in the external account
//     cannot use the CMK until you attach IAM policies … or use grants",
//     key-policy-modifying-external-accounts.html).
//   - Otherwise the key policy must allow. If it names the principal itself
//     (its user, role, session, "*"), that is enough within the key's
//     account. If it names only the principal's account (the default key
//     policy's arn:aws:iam::<account>:root), it delegates to IAM: the
//     caller's identity policies must allow too ("Without this permission,
//     IAM policies that allow access to the key are ineffective",
//     key-policy-default.html). An identity policy alone never suffices.
//   - The account's root user needs no identity policy: "all requests are
//     implicitly denied with the exception of the AWS account root user,
//     which has full access" (reference_policies_evaluation-logic_policy-eval-denyallow.html).
//   - Cross-account (the principal's account is not KeyAccount): the key
//     policy must allow the principal or its account, and the caller's own
//     identity policies must allow as well, even when the key policy names
//     the principal ("Neither the key policy nor the IAM policy alone is
//     sufficient", key-policy-modifying-external-accounts.html). The other
//     account's root user is allowed by its own account implicitly.
//   - A service principal (Type AWSService) has no identity policies: the key
//     policy must name it.
//   - With no key policy (account-level actions), identity policies decide;
//     the root user is allowed.
//
// The same rules give IAM's answer for a role trust policy passed as
// KeyPolicy, with the role's account as KeyAccount.
func Authorize(in *AuthzInput) Decision {
	r := &in.Request
	ctx := (*evalCtx)(r)
	p := &r.Principal

	keyDeny, keyAllow := false, matchNone
	if in.KeyPolicy != nil {
		keyDeny, keyAllow = in.KeyPolicy.eval(ctx)
	}
	idDeny, idAllow := false, false
	for _, ip := range in.IdentityPolicies {
		if ip == nil {
			continue
		}
		d, a := ip.eval(ctx)
		if d {
			idDeny = true
			break
		}
		idAllow = idAllow || a > matchNone
	}

	// A principal of another account that the key policy refuses learns
	// neither which policy refused it nor whether the key exists.
	crossAccount := p.Type != TypeAWSService && p.Account != in.KeyAccount

	// When several policy types deny a request, AWS names only one of them
	// (troubleshoot_access-denied.html); kagi names the key policy first.
	switch {
	case keyDeny && crossAccount:
		return Decision{ExplicitDeny: true, Reason: crossAccountDenied, HideResource: true}
	case keyDeny:
		return explicitDeny(resourceBased)
	case idDeny:
		return explicitDeny(identityBased)
	case in.GrantAllows:
		return Decision{Allowed: true}
	}

	isRoot := p.Type == TypeRoot
	idOK := idAllow || isRoot

	if in.KeyPolicy == nil {
		if idOK {
			return Decision{Allowed: true}
		}
		return implicitDeny(identityBased, r.Action)
	}
	if p.Type == TypeAWSService {
		if keyAllow == matchDirect {
			return Decision{Allowed: true}
		}
		return implicitDeny(resourceBased, r.Action)
	}
	sameAccount := p.Account != "" && p.Account == in.KeyAccount
	switch {
	case keyAllow == matchNone && crossAccount:
		return Decision{Reason: crossAccountDenied, HideResource: true}
	case keyAllow == matchNone:
		return implicitDeny(resourceBased, r.Action)
	case sameAccount && keyAllow == matchDirect:
		return Decision{Allowed: true}
	case idOK:
		return Decision{Allowed: true}
	}
	return implicitDeny(identityBased, r.Action)
}

// crossAccountDenied is the reason AWS gives a principal of another account
// whom a key policy refuses, implicitly or explicitly, with the resource left
// unnamed ("… is not authorized to perform: kms:Encrypt on this resource
// because …"; for Decrypt "on the resource associated with this ciphertext
// because …"), as AWS's answers to cross-account requests read.
const crossAccountDenied = "because the resource does not exist in this Region, no resource-based policies allow access, " +
	"or a resource-based policy explicitly denies access"

func explicitDeny(policyType string) Decision {
	article := "a "
	if policyType == identityBased {
		article = "an "
	}
	return Decision{ExplicitDeny: true, Reason: "with an explicit deny in " + article + policyType + " policy"}
}

func implicitDeny(policyType, action string) Decision {
	return Decision{Reason: "because no " + policyType + " policy allows the " + action + " action"}
}

// DenyMessage formats AWS's AccessDeniedException message for a denied
// request (troubleshoot_access-denied.html): "User: <principal ARN> is not
// authorized to perform: <action> on resource: <resource> <reason>". AWS
// KMS names the resource "*" for actions on no key ("kms:CreateKey on
// resource: * because …", "kms:ListKeys on resource: * because …"); the
// "on resource" part is left out only for a request without a Resource, and
// is "on this resource" when Decision.HideResource is set. It returns "" for
// an allowed request.
//
// AWS KMS words some messages its own way: for Decrypt, whose key comes from
// the ciphertext, it says "on the resource associated with this ciphertext"
// instead of naming the key; a caller that wants that wording builds it from
// Decision.Reason.
func DenyMessage(r *Request, d Decision) string {
	if d.Allowed {
		return ""
	}
	who := r.Principal.ARN
	if who == "" {
		who = r.Principal.Service
	}
	msg := "User: " + who + " is not authorized to perform: " + r.Action
	switch {
	case d.HideResource:
		msg += " on this resource"
	case r.Resource != "":
		msg += " on resource: " + r.Resource
	}
	if d.Reason != "" {
		msg += " " + d.Reason
	}
	return msg
}
