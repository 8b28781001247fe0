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

// Config configures a Handler.
type Config struct {
	Service *kms.Service
	// IAM serves the IAM and STS query APIs; nil: they are not served.
	IAM    *iam.Store
	Auth   Authenticator
	Logger *slog.Logger
	// Partition is the ARN partition of this deployment ("aws").
	Partition string
}

// Handler is the KMS endpoint.
type Handler struct {
	auth      Authenticator
	routes    map[string]handler
	known     map[string]bool
	query     map[string]queryAPI // by API version; nil without Config.IAM
	iam       *iam.Store          // identity policies; nil without Config.IAM
	log       *slog.Logger
	partition string
}

// New returns the KMS endpoint handler.
func New(cfg Config) *Handler {
	h := &Handler{auth: cfg.Auth, routes: routes(cfg.Service), known: map[string]bool{}, log: cfg.Logger, partition: cfg.Partition, iam: cfg.IAM}
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
	opName := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	p, err := h.serve(w, r, opName)
	attrs := []any{"request_id", reqID, "op", opName, "source", sourceIP(r), "duration", time.Since(start)}
	if p != nil {
		attrs = append(attrs, "account", p.AccountID, "access_key", p.AccessKeyID, "region", p.Region)
	}
	if err != nil {
		e := awserr.As(err)
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
	h.log.Info("request", append(attrs, "status", http.StatusOK)...)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, opName string) (p *auth.Principal, err error) {
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
	p, err = h.auth.Verify(r.Context(), r, body)
	if err != nil {
		return nil, err
	}
	if p.Service != "" && p.Service != "kms" {
		return p, awserr.New(awserr.InvalidSignature, "Credential should be scoped to correct service: 'kms'.")
	}
	if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), targetPrefix) || !h.known[opName] {
		return p, awserr.New(awserr.UnknownOperation, "")
	}
	hf, ok := h.routes[opName]
	if !ok {
		return p, awserr.New(awserr.UnsupportedOperation, "kagi does not support %s yet.", opName)
	}
	c, err := h.caller(r, p)
	if err != nil {
		return p, err
	}
	out, err := hf(r.Context(), c, body)
	if err != nil {
		return p, err
	}
	return p, writeJSON(w, out)
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

// caller describes the authenticated principal to kms: who it is as
// policies see it, its identity policies, and where the request came from.
func (h *Handler) caller(r *http.Request, p *auth.Principal) (*kms.Caller, error) {
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
