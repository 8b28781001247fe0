package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kagikms/kagi/internal/audit"
	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/iam"
	"github.com/kagikms/kagi/internal/kms"
)

// The audit trail: every request that reaches ServeHTTP (the health check
// aside) ends in exactly one CloudTrail record, written once the response
// is decided and before a byte of it is sent. Config.Audit's Append
// returns once the record is durable, so no call is acknowledged before
// its record is on disk. When Append fails the request fails too, with
// KMSInternalException (InternalFailure in the query protocol): the
// caller gets no result (no plaintext, no data key, no credentials) that
// the trail does not show. What the request changed stays changed, as it
// does when a connection breaks after a commit; the failure is logged
// with the request id and event name so the operator can account for it.

// event is what the pipeline knows about a request when its response is
// decided: the material of its record.
type event struct {
	start   time.Time
	reqID   string
	eventID string // the record's eventID
	source  string // eventSource: kms.amazonaws.com, iam.amazonaws.com …
	name    string // eventName: the operation, as the client named it (sanitized)
	p       *auth.Principal
	c       *kms.Caller
	in, out any    // the decoded request and the result; nil when there are none
	code    string // the error code as the client sees it; "" on success
	message string
}

// cryptoOps are the KMS operations that use a key without changing
// anything: CloudTrail marks them readOnly and leaves their
// responseElements null.
var cryptoOps = map[string]bool{
	"Encrypt": true, "Decrypt": true, "ReEncrypt": true, "GenerateDataKey": true,
	"GenerateDataKeyWithoutPlaintext": true, "GenerateDataKeyPair": true,
	"GenerateDataKeyPairWithoutPlaintext": true, "GenerateRandom": true, "Sign": true,
	"Verify": true, "GenerateMac": true, "VerifyMac": true, "DeriveSharedSecret": true,
	"Encapsulate": true, "Decapsulate": true,
}

// readOnly tells whether an operation changes nothing (CloudTrail's
// readOnly): the cryptographic operations, every Describe, Get and List,
// and STS's (which issue credentials but change no resource).
func readOnly(source, name string) bool {
	if source == "sts.amazonaws.com" || cryptoOps[name] {
		return true
	}
	for _, p := range []string{"Describe", "Get", "List", "Lookup"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// hasResponseElements tells whether the record carries the result: AWS
// writes responseElements for calls that change something (CreateKey's
// keyMetadata, ScheduleKeyDeletion's deletionDate) and for STS's
// credentials (without their secret), null for reads and for the
// cryptographic operations.
func hasResponseElements(source, name string) bool {
	if source == "sts.amazonaws.com" {
		return name != "GetCallerIdentity"
	}
	return !readOnly(source, name)
}

// withDefaults fills in what AWS's records show even when the request
// left it out: Encrypt's and Decrypt's encryptionAlgorithm
// (SYMMETRIC_DEFAULT), as the Developer Guide's examples of both show.
func withDefaults(in any) any {
	switch v := in.(type) {
	case *kms.EncryptInput:
		if v.EncryptionAlgorithm == "" {
			c := *v
			c.EncryptionAlgorithm = "SYMMETRIC_DEFAULT"
			return &c
		}
	case *kms.DecryptInput:
		if v.EncryptionAlgorithm == "" {
			c := *v
			c.EncryptionAlgorithm = "SYMMETRIC_DEFAULT"
			return &c
		}
	}
	return in
}

// maxElements bounds requestParameters and responseElements, as
// CloudTrail bounds them at 100 KB: a larger one is left out (null). A
// request may carry up to MaxBodyBytes of input that fails validation, and
// JSON escaping can grow it sixfold; unbounded, one request could make a
// record too large to read back.
const maxElements = 100 << 10

// maxUserAgent bounds a record's userAgent: long enough for the SDKs'
// and the CLI's (about 200 characters), short of what a header may hold.
const maxUserAgent = 1 << 10

// printable is s cut to n bytes with control and non-ASCII characters
// replaced by '?', for a header's value in a record.
func printable(s string, n int) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, truncate(s, n))
}

// maxErrorMessage bounds a record's errorMessage: messages may quote the
// request's own values (a KeyId), which are bounded only by the body.
const maxErrorMessage = 4 << 10

// truncate cuts s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func bounded(b json.RawMessage) json.RawMessage {
	if len(b) > maxElements {
		return nil
	}
	return b
}

// record builds the event's record.
func (h *Handler) record(r *http.Request, ev *event) ([]byte, error) {
	rec := audit.Record{
		EventVersion:    audit.EventVersion,
		EventTime:       audit.EventTime(ev.start),
		EventSource:     ev.source,
		EventName:       ev.name,
		SourceIPAddress: sourceIP(r),
		UserAgent:       printable(r.UserAgent(), maxUserAgent),
		ErrorCode:       ev.code,
		ErrorMessage:    truncate(ev.message, maxErrorMessage),
		RequestID:       ev.reqID,
		EventID:         ev.eventID,
		ReadOnly:        readOnly(ev.source, ev.name),
		EventType:       audit.EventTypeAPICall,
		ManagementEvent: true,
		EventCategory:   audit.CategoryManagement,
	}
	if ev.in != nil {
		rec.RequestParameters = bounded(audit.Elements(withDefaults(ev.in)))
	}
	if ev.code == "" && ev.out != nil && hasResponseElements(ev.source, ev.name) {
		rec.ResponseElements = bounded(audit.Elements(ev.out))
	}
	rec.UserIdentity, rec.AWSRegion = h.identity(r, ev)
	if via := invokedBy(ev); via != "" {
		// A service's call: AWS names the service as its source and agent.
		rec.SourceIPAddress, rec.UserAgent = via, via
	}
	rec.RecipientAccountID = rec.UserIdentity.AccountID
	if ev.c != nil {
		for i, k := range ev.c.Keys {
			acct := arnAccount(k)
			rec.Resources = append(rec.Resources, audit.Resource{AccountID: acct, Type: audit.ResourceTypeKey, ARN: k})
			if i == 0 && acct != "" {
				// The key's owner receives the record of its use.
				rec.RecipientAccountID = acct
			}
		}
	}
	if r.TLS != nil {
		rec.TLSDetails = &audit.TLSDetails{
			TLSVersion:               tlsVersion(r.TLS.Version),
			CipherSuite:              tls.CipherSuiteName(r.TLS.CipherSuite),
			ClientProvidedHostHeader: echoParam(r.Host),
		}
	}
	return rec.Marshal()
}

// writeRecord appends the event's record to the audit log. It returns an
// error only when the record could not be made durable; the request must
// then fail.
func (h *Handler) writeRecord(r *http.Request, ev *event) (err error) {
	if h.audit == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("build audit record: panic: %v", v)
		}
	}()
	b, err := h.record(r, ev)
	if err != nil {
		return fmt.Errorf("build audit record: %w", err)
	}
	// Not the request's context: a client that hangs up after its request
	// changed something must not cost the record of the change.
	if err := h.audit.Append(context.WithoutCancel(r.Context()), b); err != nil {
		return fmt.Errorf("append audit record: %w", err)
	}
	return nil
}

func invokedBy(ev *event) string {
	switch {
	case ev.c != nil && ev.c.CalledVia != "":
		return ev.c.CalledVia
	case ev.p != nil && ev.p.Type == iam.TypeService:
		return ev.p.ServicePrincipal
	}
	return ""
}

// identity is the record's userIdentity and the request's region.
func (h *Handler) identity(r *http.Request, ev *event) (audit.UserIdentity, string) {
	p := ev.p
	if p == nil {
		// Not authenticated: what the Authorization header claims, if it
		// parses, and only an access key id of IAM's form (never a secret
		// pasted in its place).
		id := audit.UserIdentity{Type: "Unknown"}
		a, err := auth.ParseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			return id, ""
		}
		if iam.ValidAccessKeyID(a.AccessKeyID) {
			id.AccessKeyID = a.AccessKeyID
			// The account the access key belongs to, if it exists: the
			// attempt is that account's to see (LookupEvents shows it),
			// though nothing proves who made it.
			if h.iam != nil {
				who, _, err := h.iam.LookupAccessKey(r.Context(), a.AccessKeyID, r.Header.Get("X-Amz-Security-Token"))
				if err == nil {
					id.AccountID = who.AccountID
				}
			}
		}
		return id, a.Region
	}
	if c := ev.c; c != nil && c.CalledVia != "" {
		// A service on a caller's behalf: the caller, invoked by the
		// service, with the access key the service forwarded.
		id := audit.UserIdentity{
			Type: c.Principal.Type, PrincipalID: c.Principal.UserID, ARN: c.ARN,
			AccountID: c.AccountID, UserName: c.Principal.Username, InvokedBy: c.CalledVia,
		}
		if akid := strings.TrimSpace(r.Header.Get(ForwardedAccessKeyHeader)); iam.ValidAccessKeyID(akid) {
			id.AccessKeyID = akid
		}
		if c.Principal.Type == iam.TypeAssumedRole {
			id.SessionContext = &audit.SessionContext{
				SessionIssuer: sessionIssuer(c.Principal.UserID, c.Principal.RoleARN, c.AccountID),
				Attributes:    audit.SessionAttributes{MFAAuthenticated: "false"},
			}
		}
		return id, p.Region
	}
	if p.Type == iam.TypeService {
		return audit.UserIdentity{Type: "AWSService", InvokedBy: p.ServicePrincipal}, p.Region
	}
	id := audit.UserIdentity{
		Type: p.Type, PrincipalID: p.PrincipalID, ARN: p.ARN, AccountID: p.AccountID,
		AccessKeyID: p.AccessKeyID, UserName: p.UserName,
	}
	if !p.TokenIssued.IsZero() || p.Type == iam.TypeAssumedRole {
		id.SessionContext = &audit.SessionContext{Attributes: audit.SessionAttributes{MFAAuthenticated: "false"}}
		if !p.TokenIssued.IsZero() {
			id.SessionContext.Attributes.CreationDate = audit.EventTime(p.TokenIssued)
		}
		if p.Type == iam.TypeAssumedRole {
			id.SessionContext.SessionIssuer = sessionIssuer(p.PrincipalID, p.RoleARN, p.AccountID)
		}
	}
	return id, p.Region
}

// sessionIssuer is the role behind a session whose principal id is
// "<role id>:<session name>".
func sessionIssuer(principalID, roleARN, acct string) *audit.SessionIssuer {
	roleID, _, _ := strings.Cut(principalID, ":")
	name := roleARN[strings.LastIndexByte(roleARN, '/')+1:]
	return &audit.SessionIssuer{Type: "Role", PrincipalID: roleID, ARN: roleARN, AccountID: acct, UserName: name}
}

// arnAccount is the account field of an ARN.
func arnAccount(a string) string {
	parts := strings.SplitN(a, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	}
	return tls.VersionName(v)
}

// auditCode is the errorCode a record gives a KMS exception: its wire
// name, except that AWS writes a denial as "AccessDenied".
func auditCode(e *awserr.Error) string {
	if e.Code == awserr.AccessDenied {
		return "AccessDenied"
	}
	return string(e.Code)
}
