// Package api serves the AWS KMS JSON 1.1 protocol over HTTP: it routes on
// X-Amz-Target and runs every request through one pipeline,
// authenticate → decode → authorize and run (in kms) → respond, logging one
// line per request, failures included. On the same endpoint it serves the
// IAM and STS query protocol (query.go): form-encoded bodies without
// X-Amz-Target.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/iam"
	"github.com/kagikms/kagi/internal/kms"
	"github.com/kagikms/kagi/internal/policy"
)

// MaxBodyBytes bounds a request body. The largest KMS request (a 128 KiB
// policy, or a 6 KiB ciphertext in base64) is far below it.
const MaxBodyBytes = 1 << 20

// Authenticator verifies a request's signature; auth.Verifier implements it.
type Authenticator interface {
	Verify(ctx context.Context, r *http.Request, body []byte) (*auth.Principal, error)
}

// AuditLog takes the audit record of each request; audit.Log implements
// it. Append returns once the record is durable.
type AuditLog interface {
	Append(ctx context.Context, record []byte) error
}

// Config configures a Handler.
type Config struct {
	Service *kms.Service
	// Audit receives one record per request; nil: no audit trail.
	Audit AuditLog
	// Events answers CloudTrail's LookupEvents from the audit trail; nil:
	// it is not served.
	Events EventLookup
	// IAM serves the IAM and STS query APIs; nil: they are not served.
	IAM    *iam.Store
	Auth   Authenticator
	Logger *slog.Logger
	// Partition is the ARN partition of this deployment ("aws").
	Partition string
	// Observer is told of every answered request (metrics); nil: nobody.
	Observer Observer
}

// Handler is the KMS endpoint.
type Handler struct {
	auth      Authenticator
	svc       *kms.Service
	routes    map[string]handler
	known     map[string]bool
	query     map[string]queryAPI // by API version; nil without Config.IAM
	iam       *iam.Store          // identity policies; nil without Config.IAM
	log       *slog.Logger
	audit     AuditLog    // nil: no audit trail
	events    EventLookup // nil: no LookupEvents
	partition string
	observer  Observer
}

// New returns the KMS endpoint handler.
func New(cfg Config) *Handler {
	h := &Handler{auth: cfg.Auth, svc: cfg.Service, routes: routes(cfg.Service), known: map[string]bool{}, log: cfg.Logger, partition: cfg.Partition, iam: cfg.IAM, audit: cfg.Audit, events: cfg.Events}
	h.observer = cfg.Observer
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.partition == "" {
		h.partition = "aws"
	}
	for _, name := range operations {
		h.known[name] = true
	}
	if cfg.IAM != nil {
		h.query = queryAPIs(cfg.IAM)
	}
	return h
}

const targetPrefix = "TrentService."

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
		return
	}
	if h.query != nil && isQueryRequest(r) {
		h.serveQuery(w, r, reqID, start)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	opName := strings.TrimPrefix(target, targetPrefix)
	ev := &event{start: start, reqID: reqID, eventID: newRequestID(), source: "kms.amazonaws.com"}
	if op, ok := strings.CutPrefix(target, cloudTrailPrefix); ok && h.events != nil {
		opName, ev.source = op, "cloudtrail.amazonaws.com"
	}
	ev.name = echoParam(opName)
	body, err := h.serve(w, r, opName, ev)
	p, c := ev.p, ev.c
	var e *awserr.Error
	if err != nil {
		e = awserr.As(err)
		ev.code, ev.message = auditCode(e), e.Message
	}
	if aerr := h.writeRecord(r, ev); aerr != nil {
		// No acknowledgment without a record: the result is withheld.
		e = awserr.Internal(aerr)
		h.log.Error("audit record not written: request failed", "request_id", reqID, "op", ev.name, "cause", aerr.Error())
	}
	h.observe(opName, strings.HasPrefix(target, targetPrefix) && h.known[opName], e, start)
	attrs := []any{"request_id", reqID, "op", opName, "source", sourceIP(r), "duration", time.Since(start)}
	switch {
	case c != nil && c.CalledVia != "":
		// On a caller's behalf: the record names the caller, invoked by
		// the service (CloudTrail's userIdentity.invokedBy).
		attrs = append(attrs, "account", c.AccountID, "principal", c.ARN, "invoked_by", c.CalledVia, "access_key", p.AccessKeyID, "region", p.Region)
	case p != nil:
		attrs = append(attrs, "account", p.AccountID, "access_key", p.AccessKeyID, "region", p.Region)
	}
	if e != nil {
		writeError(w, e)
		attrs = append(attrs, "status", e.HTTPStatus(), "error", string(e.Code))
		if e.HTTPStatus() >= 500 {
			// The cause may say what failed inside; it never carries key
			// material (see awserr), and is not sent to the client.
			h.log.Error("request failed", append(attrs, "cause", fmt.Sprint(e.Cause))...)
			return
		}
		h.log.Info("request", attrs...)
		return
	}
	writeBody(w, body)
	h.log.Info("request", append(attrs, "status", http.StatusOK)...)
}

// serve runs a KMS request up to its response body, which it returns
// unsent; ev gathers what the audit record needs as it goes.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, opName string, ev *event) (resp []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = awserr.Internal(fmt.Errorf("panic: %v", v))
		}
	}()
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, awserr.New(awserr.UnknownOperation, "Only POST / is served.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, awserr.New(awserr.RequestEntityTooLarge, "Request body exceeds %d bytes.", MaxBodyBytes)
		}
		return nil, awserr.New(awserr.Serialization, "Could not read the request body.")
	}
	p, err := h.auth.Verify(r.Context(), r, body)
	if err != nil {
		return nil, err
	}
	ev.p = p
	if ev.source == "cloudtrail.amazonaws.com" {
		out, err := h.serveCloudTrail(r, p, opName, body, ev)
		if err != nil {
			return nil, err
		}
		ev.out = out
		return encodeJSON(out)
	}
	if p.Service != "" && p.Service != "kms" {
		return nil, awserr.New(awserr.InvalidSignature, "Credential should be scoped to correct service: 'kms'.")
	}
	if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), targetPrefix) || !h.known[opName] {
		return nil, awserr.New(awserr.UnknownOperation, "")
	}
	hf, ok := h.routes[opName]
	if !ok {
		return nil, awserr.New(awserr.UnsupportedOperation, "kagi does not support %s yet.", opName)
	}
	c, err := h.caller(r, p)
	if err != nil {
		return nil, err
	}
	ev.c = c
	// Request quotas: a management operation counts here, a cryptographic
	// one when kms has loaded its key (its type picks the quota).
	if err := h.svc.Admit(c, opName); err != nil {
		return nil, err
	}
	// The id the response carries, for GetKeyLastUsage's KmsRequestId,
	// and the record's, for its CloudTrailEventId.
	c.RequestID = w.Header().Get("x-amzn-RequestId")
	if h.audit != nil {
		c.EventID = ev.eventID
	}
	in, out, err := hf(r.Context(), c, body)
	ev.in = in
	if retry, cerr := h.svc.CreateManagedKey(r.Context(), c, err); cerr != nil {
		return nil, cerr
	} else if retry {
		// The AWS managed key the request named exists now; the first
		// attempt failed before it changed anything.
		_, out, err = hf(r.Context(), c, body)
	}
	if err != nil {
		return nil, err
	}
	ev.out = out
	return encodeJSON(out)
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// newRequestID returns a random UUID, as AWS's request ids are.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// The headers a service sends to call on behalf of a caller: the access
// key id of the caller's credentials, and for temporary credentials their
// session token. The caller's secret never travels.
const (
	ForwardedAccessKeyHeader = "X-Kagi-Forwarded-Access-Key-Id"
	ForwardedTokenHeader     = "X-Kagi-Forwarded-Security-Token"
)

// SourceArnHeader is the header a service calling for itself sends to name
// the resource it acts for (an S3 access point, a log group): it becomes
// aws:SourceArn, and its account aws:SourceAccount, as AWS sets them when
// one service calls another for a resource. Grants to the service
// (GranteeServicePrincipal) allow only requests whose aws:SourceArn is the
// grant's SourceArn constraint.
const SourceArnHeader = "X-Kagi-Source-Arn"

// caller describes the authenticated principal to kms: who it is as
// policies see it, its identity policies, and where the request came from.
//
// A registered service (principal type AWSService) may call on behalf of
// another principal, as AWS services do with forward access sessions: it
// names the caller's credentials in ForwardedAccessKeyHeader (and
// ForwardedTokenHeader), both covered by its own SigV4 signature. The
// request then runs as that caller, with kms:ViaService
// <service>.<region>.amazonaws.com, aws:CalledVia <service>.amazonaws.com
// and aws:ViaAWSService true. Nobody else may send the headers, and they
// count only when signed.
//
// A service calling for itself may name the resource it acts for in
// SourceArnHeader, covered by its signature too; nobody else may send it,
// and a service calling on a caller's behalf may not (AWS sets
// aws:SourceArn only on a service's own requests).
func (h *Handler) caller(r *http.Request, p *auth.Principal) (*kms.Caller, error) {
	akids, tokens := r.Header.Values(ForwardedAccessKeyHeader), r.Header.Values(ForwardedTokenHeader)
	sources := r.Header.Values(SourceArnHeader)
	if len(sources) > 0 && (p.Type != iam.TypeService || len(akids) > 0 || len(tokens) > 0) {
		who := p.ARN
		if p.Type == iam.TypeService {
			who = p.ServicePrincipal
		}
		return nil, awserr.New(awserr.AccessDenied, "User: %s is not authorized to name a source resource: only a service principal calling for itself may send %s.", who, SourceArnHeader)
	}
	if len(akids) > 0 || len(tokens) > 0 {
		return h.forwardedCaller(r, p, akids, tokens)
	}
	if p.Type == iam.TypeService {
		// A service calling for itself: no account, no identity policies;
		// key policies name it as {"Service": "<name>.amazonaws.com"}.
		c := &kms.Caller{
			Partition: h.partition, Region: p.Region, ARN: p.ServicePrincipal,
			Principal:       policy.Principal{Type: policy.TypeAWSService, Service: p.ServicePrincipal, UserID: p.PrincipalID},
			SourceIP:        sourceIP(r),
			SecureTransport: r.TLS != nil,
		}
		if len(sources) > 0 {
			if !p.Signs(SourceArnHeader) {
				return nil, awserr.New(awserr.InvalidSignature, "'%s' must be a 'SignedHeader' in the AWS Authorization.", SourceArnHeader)
			}
			src := strings.TrimSpace(sources[0])
			acct, ok := kms.SourceArnAccount(src)
			if len(sources) != 1 || !ok {
				return nil, awserr.New(awserr.Validation, "%s must be one ARN of 20 to 512 characters that names an account: arn:<partition>:<service>:<region>:<account>:<resource>.", SourceArnHeader)
			}
			c.SourceArn, c.SourceAccount = src, acct
		}
		return c, nil
	}
	c := &kms.Caller{
		Partition: h.partition, AccountID: p.AccountID, Region: p.Region, ARN: p.ARN,
		Principal: policy.Principal{
			ARN: p.ARN, Account: p.AccountID, Type: p.Type, RoleARN: p.RoleARN,
			UserID: p.PrincipalID, Username: p.UserName, Tags: p.Tags,
		},
		SourceIP:        sourceIP(r),
		SecureTransport: r.TLS != nil,
	}
	if h.iam != nil && p.Type != policy.TypeRoot {
		ps, err := h.iam.ParsedIdentityPolicies(r.Context(), p.Identity)
		if err != nil {
			return nil, awserr.Internal(err)
		}
		c.IdentityPolicies = ps
	}
	return c, nil
}

// forwardedCaller is the caller a service names in the forwarding headers.
func (h *Handler) forwardedCaller(r *http.Request, p *auth.Principal, akids, tokens []string) (*kms.Caller, error) {
	who := p.ARN
	if p.Type == iam.TypeService {
		who = p.ServicePrincipal
	}
	if p.Type != iam.TypeService || h.iam == nil {
		return nil, awserr.New(awserr.AccessDenied, "User: %s is not authorized to make requests on behalf of another principal: only a service principal may send %s.", who, ForwardedAccessKeyHeader)
	}
	for _, name := range []string{ForwardedAccessKeyHeader, ForwardedTokenHeader} {
		if len(r.Header.Values(name)) > 0 && !p.Signs(name) {
			return nil, awserr.New(awserr.InvalidSignature, "'%s' must be a 'SignedHeader' in the AWS Authorization.", name)
		}
	}
	if len(akids) != 1 || len(tokens) > 1 {
		return nil, awserr.New(awserr.Validation, "A request on behalf of another principal must carry exactly one %s and at most one %s.", ForwardedAccessKeyHeader, ForwardedTokenHeader)
	}
	akid, token := strings.TrimSpace(akids[0]), ""
	if len(tokens) == 1 {
		token = strings.TrimSpace(tokens[0])
	}
	if !iam.ValidAccessKeyID(akid) {
		return nil, awserr.New(awserr.UnrecognizedClient, "The security token forwarded in %s is invalid.", ForwardedAccessKeyHeader)
	}
	id, _, err := h.iam.LookupAccessKey(r.Context(), akid, token)
	switch {
	case errors.Is(err, auth.ErrUnknownAccessKey):
		return nil, &awserr.Error{Code: awserr.UnrecognizedClient, Message: "The security token forwarded in " + ForwardedAccessKeyHeader + " is invalid.", Cause: err}
	case err != nil:
		var ae *awserr.Error
		if errors.As(err, &ae) {
			return nil, ae // ExpiredTokenException
		}
		return nil, awserr.Internal(err)
	case id.Type == iam.TypeService:
		return nil, awserr.New(awserr.AccessDenied, "User: %s is not authorized to make requests on behalf of another service principal.", p.ServicePrincipal)
	}
	svc := strings.TrimSuffix(p.ServicePrincipal, ".amazonaws.com")
	c := &kms.Caller{
		Partition: h.partition, AccountID: id.AccountID, Region: p.Region, ARN: id.ARN,
		Principal: policy.Principal{
			ARN: id.ARN, Account: id.AccountID, Type: id.Type, RoleARN: id.RoleARN,
			UserID: id.PrincipalID, Username: id.UserName, Tags: id.Tags,
		},
		// aws:SourceIp is the service's address, not the caller's: AWS
		// leaves it out of requests a service makes on a caller's behalf.
		SecureTransport: r.TLS != nil,
		ViaService:      svc + "." + p.Region + ".amazonaws.com",
		CalledVia:       p.ServicePrincipal,
	}
	if id.Type != iam.TypeRoot {
		ps, err := h.iam.ParsedIdentityPolicies(r.Context(), id)
		if err != nil {
			return nil, awserr.Internal(err)
		}
		c.IdentityPolicies = ps
	}
	return c, nil
}
