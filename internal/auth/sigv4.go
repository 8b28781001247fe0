// Package auth verifies AWS Signature Version 4 on requests to kagi's JSON API.
//
// The Authorization header is a format: ParseAuthorization parses it and is
// fuzzed. Verifier.Verify rebuilds the canonical request the way the AWS SDKs
// build it, derives the signing key (cached per secret, day, region and
// service, as the SDKs cache it), and compares the signatures in constant
// time. Every refusal is an *awserr.Error carrying the exception AWS answers
// with: MissingAuthenticationTokenException, IncompleteSignatureException,
// InvalidSignatureException or UnrecognizedClientException.
//
// Neither a secret access key nor a derived signing key is ever put in an
// error.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kagikms/kagi/internal/awserr"
)

// Identity is who owns an access key.
type Identity struct {
	AccountID string // 12 digits
	// ARN is the principal's ARN: arn:aws:iam::111122223333:root,
	// arn:aws:iam::111122223333:user/path/name, or for a role session
	// arn:aws:sts::111122223333:assumed-role/name/session.
	ARN string
	// PrincipalID is AWS's principalId, the aws:userid condition key: the
	// account id for root, the user id (AIDA…) for a user, "role id:session
	// name" (AROA…:name) for a role session.
	PrincipalID string
	Type        string // "Root", "IAMUser", "AssumedRole", "AWSService" (CloudTrail userIdentity.type)
	// ServicePrincipal is the service principal ("s3.amazonaws.com") of
	// Type AWSService, a registered service calling kagi; AccountID is
	// then "".
	ServicePrincipal string
	UserName         string // IAM users only

	// RoleARN is the ARN of the role behind an assumed-role session
	// (arn:aws:iam::111122223333:role/path/name); empty otherwise.
	RoleARN string
	// SessionName is an assumed-role session's RoleSessionName.
	SessionName string
	// Tags are the principal tags (aws:PrincipalTag/…): the user's or the
	// role's tags, with a session's tags in place of role tags of the same
	// key. Nil when there are none; callers must not modify it.
	Tags map[string]string
	// TokenIssued and TokenExpires date temporary credentials
	// (aws:TokenIssueTime); both are zero for long-term access keys.
	TokenIssued  time.Time
	TokenExpires time.Time
}

// CredentialStore looks up the secret of an access key. The iam package implements it.
type CredentialStore interface {
	// LookupAccessKey returns the identity and secret access key for an
	// access key id and the request's session token (X-Amz-Security-Token,
	// empty if none), or an error wrapping ErrUnknownAccessKey if the key
	// does not exist or the token does not belong to it. It may also fail
	// with an *awserr.Error, which Verify returns as it is (an expired
	// session token is ExpiredTokenException).
	LookupAccessKey(ctx context.Context, accessKeyID, sessionToken string) (Identity, string, error)
}

// ErrUnknownAccessKey is wrapped by a CredentialStore's error when an access
// key does not exist; Verify answers it with UnrecognizedClientException.
var ErrUnknownAccessKey = errors.New("auth: unknown access key")

// Principal is an authenticated caller.
type Principal struct {
	Identity
	AccessKeyID string
	Region      string // from the credential scope
	Service     string // from the credential scope: one of the Verifier's services

	// SessionToken is the request's X-Amz-Security-Token header, empty if it
	// has none. It is part of the signature only when the client listed it
	// in SignedHeaders (the AWS SDKs do). Verify hands it to the credential
	// store, whose job is checking that it belongs to AccessKeyID and has
	// not expired.
	SessionToken string

	// SignedHeaders is the request's SignedHeaders list: lower-case header
	// names separated by ';'. A header outside it is not covered by the
	// signature, so nobody vouches for it (Signs).
	SignedHeaders string
}

// Signs reports whether the request's signature covers the header name
// (any case).
func (p *Principal) Signs(name string) bool {
	name = strings.ToLower(name)
	for names := p.SignedHeaders; names != ""; {
		var n string
		n, names, _ = strings.Cut(names, ";")
		if n == name {
			return true
		}
	}
	return false
}

// Verifier checks SigV4 signatures. Its zero value, given Credentials, is
// ready to use; it is safe for concurrent use and must not be copied after
// first use (it holds the signing-key cache).
type Verifier struct {
	Credentials CredentialStore
	Service     string // "kms"; empty means "kms"; ignored when Services is set
	// Services are the services a request may be signed for ("kms",
	// "iam", "sts"); empty means Service alone. Principal.Service says
	// which one a request was signed for.
	Services []string
	MaxSkew  time.Duration    // 0 means 5 minutes (AWS's allowed skew)
	Now      func() time.Time // nil means time.Now

	keys    keyCache
	scratch sync.Pool // of *scratch
}

const (
	algorithm       = "AWS4-HMAC-SHA256"
	scopeTerminator = "aws4_request"
	amzDateLayout   = "20060102T150405Z"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	defaultService  = "kms"
	defaultMaxSkew  = 5 * time.Minute

	// maxSignedHeaders bounds the work one request can ask for; the SDKs
	// sign fewer than ten headers.
	maxSignedHeaders = 128
	// maxNameLen bounds an access key id (IAM allows 128), a region and a
	// service name.
	maxNameLen = 128
	// maxCachedKeys bounds the signing-key cache.
	maxCachedKeys = 1024
	// maxPooledBuffer and maxPooledPairs keep one request with huge
	// headers or a huge query from pinning huge buffers in the pool.
	maxPooledBuffer = 64 << 10
	maxPooledPairs  = 256
	// maxEcho bounds how much of a client's input an error message repeats.
	maxEcho = 256
)

// The messages AWS answers with.
const (
	msgMissingToken  = "Missing Authentication Token"
	msgNoDate        = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	msgUnknownKey    = "The security token included in the request is invalid."
	msgHostNotSigned = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgMismatch      = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgContentSHA256 = "The provided 'x-amz-content-sha256' header does not match what was computed."
)

// Verify checks the SigV4 signature on r, whose body has already been read into body.
// It returns the principal, or an *awserr.Error with AWS's exception name.
//
// The checks run in AWS's order: presence of the credentials, the form of the
// Authorization header and of the request date, clock skew, the signed
// headers, the credential scope, the access key, and last the signature.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (*Principal, error) {
	p, err := v.verify(ctx, r, body)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (v *Verifier) verify(ctx context.Context, r *http.Request, body []byte) (*Principal, *awserr.Error) {
	if r == nil {
		return nil, awserr.Internal(errors.New("auth: nil request"))
	}
	headers := r.Header["Authorization"]
	presigned := hasQueryParam(r, "X-Amz-Algorithm")
	if len(headers) == 0 || (len(headers) == 1 && trimOWS(headers[0]) == "") {
		if presigned {
			return nil, awserr.New(awserr.IncompleteSignature,
				"Query-string (presigned) authentication is not supported; sign the request with an Authorization header.")
		}
		if len(r.Header["X-Amz-Security-Token"]) > 0 {
			_, _, ok := requestDate(r)
			return nil, missingParams(0, !ok, "")
		}
		return nil, awserr.New(awserr.MissingAuthenticationToken, msgMissingToken)
	}
	if len(headers) > 1 {
		return nil, awserr.New(awserr.IncompleteSignature, "The request must have exactly one Authorization header.")
	}
	if presigned {
		return nil, awserr.New(awserr.IncompleteSignature,
			"Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
	}

	var a authz
	found, e := a.parseParams(headers[0])
	if e != nil {
		return nil, e
	}
	dateName, dateValue, haveDate := requestDate(r)
	if found != hasAll || !haveDate {
		return nil, missingParams(found, !haveDate, headers[0])
	}
	if e := a.parseValues(); e != nil {
		return nil, e
	}

	// The request time: X-Amz-Date, else Date.
	var (
		t       time.Time
		amzDate string // the request time as it goes into the string to sign
		ok      bool
	)
	if dateName == "x-amz-date" {
		amzDate = trimOWS(dateValue)
		t, ok = parseAmzDate(amzDate)
		if !ok {
			return nil, awserr.New(awserr.IncompleteSignature,
				"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", echo(dateValue))
		}
	} else {
		var err error
		t, err = http.ParseTime(trimOWS(dateValue))
		if err != nil {
			return nil, awserr.New(awserr.IncompleteSignature,
				"Date must be an HTTP date such as 'Mon, 02 Jan 2006 15:04:05 GMT'. Got '%s'.", echo(dateValue))
		}
		t = t.UTC()
		amzDate = t.Format(amzDateLayout)
	}

	now := v.now().UTC()
	skew := v.maxSkew()
	if earliest := now.Add(-skew); t.Before(earliest) {
		return nil, awserr.New(awserr.InvalidSignature, "Signature expired: %s is now earlier than %s (%s - %s)",
			t.Format(amzDateLayout), earliest.Format(amzDateLayout), now.Format(amzDateLayout), formatSkew(skew))
	}
	if latest := now.Add(skew); t.After(latest) {
		return nil, awserr.New(awserr.InvalidSignature, "Signature not yet current: %s is still later than %s (%s + %s)",
			t.Format(amzDateLayout), latest.Format(amzDateLayout), now.Format(amzDateLayout), formatSkew(skew))
	}

	if !a.signs("host") {
		return nil, awserr.New(awserr.InvalidSignature, msgHostNotSigned)
	}
	if !a.signs(dateName) {
		display := "X-Amz-Date"
		if dateName == "date" {
			display = "Date"
		}
		return nil, awserr.New(awserr.InvalidSignature, "'%s' must be a 'SignedHeader' in the AWS Authorization.", display)
	}

	if msgs := a.scopeProblems(v.expectedService(a.service), amzDate); len(msgs) > 0 {
		return nil, &awserr.Error{Code: awserr.InvalidSignature, Message: strings.Join(msgs, " ")}
	}
	if !validAccessKeyID(a.accessKeyID) {
		return nil, awserr.New(awserr.UnrecognizedClient, msgUnknownKey)
	}
	token := ""
	if tokens := r.Header["X-Amz-Security-Token"]; len(tokens) > 1 {
		return nil, awserr.New(awserr.UnrecognizedClient, msgUnknownKey)
	} else if len(tokens) == 1 {
		token = tokens[0]
	}

	s := v.getScratch()
	defer v.putScratch(s)

	sum := sha256.Sum256(body)
	payloadHash := hex.AppendEncode(s.payload[:0], sum[:])
	if claimed := r.Header["X-Amz-Content-Sha256"]; len(claimed) > 0 {
		// For KMS the body is always signed: a client may announce
		// UNSIGNED-PAYLOAD, but the canonical request still carries the
		// body's real hash.
		if len(claimed) != 1 || (claimed[0] != unsignedPayload && !equalHex(trimOWS(claimed[0]), payloadHash)) {
			return nil, awserr.New(awserr.InvalidSignature, msgContentSHA256)
		}
	}

	if v.Credentials == nil {
		return nil, awserr.Internal(errors.New("auth: Verifier has no CredentialStore"))
	}
	id, secret, err := v.Credentials.LookupAccessKey(ctx, a.accessKeyID, token)
	switch {
	case errors.Is(err, ErrUnknownAccessKey):
		return nil, &awserr.Error{Code: awserr.UnrecognizedClient, Message: msgUnknownKey, Cause: err}
	case err != nil:
		var ae *awserr.Error
		if errors.As(err, &ae) {
			return nil, ae
		}
		return nil, awserr.Internal(fmt.Errorf("auth: look up access key %s: %w", a.accessKeyID, err))
	case secret == "":
		return nil, awserr.Internal(fmt.Errorf("auth: credential store returned an empty secret for access key %s", a.accessKeyID))
	}

	if e := s.canonicalRequest(r, &a, len(body), payloadHash); e != nil {
		return nil, e
	}
	crHash := sha256.Sum256(s.buf)
	sts := append(s.buf[:0], algorithm...)
	sts = append(sts, '\n')
	sts = append(sts, amzDate...)
	sts = append(sts, '\n')
	sts = append(sts, a.scope...)
	sts = append(sts, '\n')
	sts = hex.AppendEncode(sts, crHash[:])
	s.buf = sts

	ck := cacheKey{secret: secret, date: a.date, region: a.region, service: a.service}
	key := v.keys.get(ck)
	fresh := key == nil
	if fresh {
		key = newSigningKey(secret, a.date, a.region, a.service)
	}
	mac := key.sign(s.mac[:0], sts)
	if !hmac.Equal(mac, a.sig[:]) {
		return nil, awserr.New(awserr.InvalidSignature, msgMismatch)
	}
	if fresh {
		// Only keys that produced a valid signature are cached, so a client
		// that knows an access key id but not its secret cannot fill the
		// cache with keys for made-up regions.
		v.keys.put(ck, key)
	}

	return &Principal{
		Identity:      id,
		AccessKeyID:   a.accessKeyID,
		Region:        a.region,
		Service:       strings.Clone(a.service),
		SessionToken:  token,
		SignedHeaders: strings.Clone(a.signedHeaders),
	}, nil
}

func (v *Verifier) service() string {
	if v.Service == "" {
		return defaultService
	}
	return v.Service
}

// expectedService is the service a request signed for signed must be
// signed for: signed itself if the Verifier accepts it, else the one the
// refusal names.
func (v *Verifier) expectedService(signed string) string {
	if len(v.Services) == 0 {
		return v.service()
	}
	for _, s := range v.Services {
		if s == signed {
			return s
		}
	}
	return v.Services[0]
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew <= 0 {
		return defaultMaxSkew
	}
	return v.MaxSkew
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

// formatSkew writes the skew as AWS does ("5 min.").
func formatSkew(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min."
	}
	return d.String()
}

// requestDate returns the header that dates the request: X-Amz-Date if
// present, else Date. Several values are joined so that a parse fails.
func requestDate(r *http.Request) (name, value string, ok bool) {
	if vs := r.Header["X-Amz-Date"]; len(vs) > 0 {
		return "x-amz-date", strings.Join(vs, ","), true
	}
	if vs := r.Header["Date"]; len(vs) > 0 {
		return "date", strings.Join(vs, ","), true
	}
	return "", "", false
}

// parseAmzDate parses the ISO 8601 basic format, 20060102T150405Z, strictly.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != len(amzDateLayout) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	year, ok1 := atoi(s[0:4])
	month, ok2 := atoi(s[4:6])
	day, ok3 := atoi(s[6:8])
	hour, ok4 := atoi(s[9:11])
	minute, ok5 := atoi(s[11:13])
	sec, ok6 := atoi(s[13:15])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	if !validDate(year, month, day) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), true
}

func validDate(year, month, day int) bool {
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	return t.Day() == day && t.Month() == time.Month(month)
}

// atoi parses a run of ASCII digits.
func atoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, s != ""
}

// hasQueryParam reports whether the query string names param. It does not
// parse the query unless the name appears in it.
func hasQueryParam(r *http.Request, param string) bool {
	if r.URL == nil || !strings.Contains(r.URL.RawQuery, param) {
		return false
	}
	q, _ := url.ParseQuery(r.URL.RawQuery)
	_, ok := q[param]
	return ok
}

// The Authorization header.

// Authorization is the parsed Authorization header.
type Authorization struct {
	AccessKeyID   string
	Date          string // yyyymmdd
	Region        string
	Service       string
	SignedHeaders []string // lower-case, as given
	Signature     []byte   // 32 bytes decoded from hex
}

// String formats a as an Authorization header value, the way the AWS SDKs
// write it.
func (a Authorization) String() string {
	return algorithm + " Credential=" + a.AccessKeyID + "/" + a.Date + "/" + a.Region + "/" + a.Service + "/" + scopeTerminator +
		", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + hex.EncodeToString(a.Signature)
}

// ParseAuthorization parses an "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." value.
//
// Components may be separated by commas, spaces or both; components other
// than the three are ignored. The access key id is 1 to 128 word characters
// (IAM's pattern), the date a valid yyyymmdd, region and service lower-case
// letters, digits and hyphens, the signed headers lower-case header names.
// A failure is an *awserr.Error with the exception Verify would answer.
func ParseAuthorization(h string) (Authorization, error) {
	var a authz
	found, e := a.parseParams(h)
	if e != nil {
		return Authorization{}, e
	}
	if found != hasAll {
		return Authorization{}, missingParams(found, false, h)
	}
	if e := a.parseValues(); e != nil {
		return Authorization{}, e
	}
	if msgs := a.scopeProblems("", ""); len(msgs) > 0 {
		return Authorization{}, &awserr.Error{Code: awserr.InvalidSignature, Message: strings.Join(msgs, " ")}
	}
	if !validAccessKeyID(a.accessKeyID) {
		return Authorization{}, awserr.New(awserr.UnrecognizedClient, msgUnknownKey)
	}
	return Authorization{
		AccessKeyID:   a.accessKeyID,
		Date:          a.date,
		Region:        a.region,
		Service:       a.service,
		SignedHeaders: strings.Split(a.signedHeaders, ";"),
		Signature:     slices.Clone(a.sig[:]),
	}, nil
}

// authz is the Authorization header as Verify uses it: substrings of the
// header and a fixed-size signature, so that parsing does not allocate.
type authz struct {
	header        string
	credential    string // the raw Credential value
	accessKeyID   string
	scope         string // date/region/service/terminator, as given
	date          string
	region        string
	service       string
	terminator    string
	signedHeaders string // the raw SignedHeaders value
	signature     string // the raw Signature value
	sig           [32]byte
}

// The parameters an Authorization header must have.
const (
	hasCredential = 1 << iota
	hasSignature
	hasSignedHeaders
	hasAll = hasCredential | hasSignature | hasSignedHeaders
)

// parseParams splits h into its algorithm and parameters and reports which
// of the three parameters it found with a value. A header that is not SigV4
// at all has none of them, as AWS reports it.
func (a *authz) parseParams(h string) (found int, e *awserr.Error) {
	a.header = h
	alg, rest := cutOWS(trimOWS(h))
	if alg != algorithm {
		if strings.HasPrefix(alg, "AWS4-") {
			return 0, awserr.New(awserr.IncompleteSignature,
				"Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now).", echo(alg))
		}
		return 0, nil
	}
	seen := 0
	for rest != "" {
		var tok string
		tok, rest = nextComponent(rest)
		if tok == "" {
			continue
		}
		k, val, ok := strings.Cut(tok, "=")
		if !ok {
			return 0, awserr.New(awserr.IncompleteSignature,
				"'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'", echo(tok), echo(h))
		}
		var bit int
		switch k {
		case "Credential":
			bit, a.credential = hasCredential, val
		case "Signature":
			bit, a.signature = hasSignature, val
		case "SignedHeaders":
			bit, a.signedHeaders = hasSignedHeaders, val
		default:
			continue
		}
		if seen&bit != 0 {
			return 0, awserr.New(awserr.IncompleteSignature, "Authorization header has more than one '%s' parameter.", k)
		}
		seen |= bit
		if val != "" {
			found |= bit
		}
	}
	return found, nil
}

// missingParams is AWS's IncompleteSignatureException for absent
// parameters and an absent date, which it reports together.
func missingParams(found int, noDate bool, header string) *awserr.Error {
	var b strings.Builder
	for _, p := range []struct {
		bit  int
		name string
	}{{hasCredential, "Credential"}, {hasSignature, "Signature"}, {hasSignedHeaders, "SignedHeaders"}} {
		if found&p.bit == 0 {
			b.WriteString("Authorization header requires '" + p.name + "' parameter. ")
		}
	}
	if noDate {
		b.WriteString(msgNoDate + " ")
	}
	b.WriteString("Authorization=" + echo(header))
	return &awserr.Error{Code: awserr.IncompleteSignature, Message: b.String()}
}

// parseValues checks the form of the three parameters.
func (a *authz) parseValues() *awserr.Error {
	if strings.Count(a.credential, "/") != 4 {
		return awserr.New(awserr.IncompleteSignature,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", echo(a.credential))
	}
	a.accessKeyID, a.scope, _ = strings.Cut(a.credential, "/")
	var rest string
	a.date, rest, _ = strings.Cut(a.scope, "/")
	a.region, rest, _ = strings.Cut(rest, "/")
	a.service, a.terminator, _ = strings.Cut(rest, "/")

	if len(a.signature) != 2*len(a.sig) {
		return awserr.New(awserr.IncompleteSignature,
			"Signature must be %d hexadecimal characters, got %d characters.", 2*len(a.sig), len(a.signature))
	}
	for i := range a.sig {
		hi, ok1 := fromHex(a.signature[2*i])
		lo, ok2 := fromHex(a.signature[2*i+1])
		if !ok1 || !ok2 {
			return awserr.New(awserr.IncompleteSignature, "Signature must be %d hexadecimal characters.", 2*len(a.sig))
		}
		a.sig[i] = hi<<4 | lo
	}

	names, more := a.signedHeaders, true
	for n := 1; more; n++ {
		var name string
		name, names, more = strings.Cut(names, ";")
		if !validHeaderName(name) || n > maxSignedHeaders {
			return awserr.New(awserr.IncompleteSignature,
				"SignedHeaders must be a list of at most %d lower-case header names separated by ';', got '%s'.",
				maxSignedHeaders, echo(a.signedHeaders))
		}
	}
	return nil
}

// signs reports whether name is in SignedHeaders.
func (a *authz) signs(name string) bool {
	for names := a.signedHeaders; names != ""; {
		var n string
		n, names, _ = strings.Cut(names, ";")
		if n == name {
			return true
		}
	}
	return false
}

// scopeProblems checks the credential scope and returns AWS's messages, all
// of them, as AWS reports them together. With service and amzDate empty it
// checks only the scope's form.
func (a *authz) scopeProblems(service, amzDate string) []string {
	var msgs []string
	if !validName(a.region) {
		msgs = append(msgs, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", echo(a.region)))
	}
	if service != "" {
		if a.service != service {
			msgs = append(msgs, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service))
		}
	} else if !validName(a.service) {
		msgs = append(msgs, fmt.Sprintf("Credential should be scoped to a valid service, not '%s'.", echo(a.service)))
	}
	if a.terminator != scopeTerminator {
		msgs = append(msgs, fmt.Sprintf("Credential should be scoped with a valid terminator: '%s', not '%s'.", scopeTerminator, echo(a.terminator)))
	}
	if amzDate != "" {
		if a.date != amzDate[:8] {
			msgs = append(msgs, fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
				echo(a.date), amzDate[:8], amzDate))
		}
	} else if !validScopeDate(a.date) {
		msgs = append(msgs, fmt.Sprintf("Date in Credential scope must be a date in YYYYMMDD format, not '%s'.", echo(a.date)))
	}
	return msgs
}

func validScopeDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	year, ok1 := atoi(s[0:4])
	month, ok2 := atoi(s[4:6])
	day, ok3 := atoi(s[6:8])
	return ok1 && ok2 && ok3 && validDate(year, month, day)
}

// validAccessKeyID matches IAM's pattern for access key ids, [\w]+, up to
// 128 characters.
func validAccessKeyID(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validName is the form of a region or service name: lower-case letters,
// digits and hyphens.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validHeaderName reports whether s is a lower-case HTTP field name (an RFC
// 9110 token without upper-case letters).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// equalHex reports whether the hex string s spells want (lower-case hex),
// in either case.
func equalHex(s string, want []byte) bool {
	if len(s) != len(want) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'F' {
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimOWS(s string) string {
	for s != "" && isOWS(s[0]) {
		s = s[1:]
	}
	for s != "" && isOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// cutOWS cuts s around its first run of spaces and tabs.
func cutOWS(s string) (before, after string) {
	for i := 0; i < len(s); i++ {
		if isOWS(s[i]) {
			return s[:i], trimOWS(s[i:])
		}
	}
	return s, ""
}

// nextComponent returns the text up to the next comma, space or tab, and
// the rest after it.
func nextComponent(s string) (tok, rest string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || isOWS(c) {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// echo makes client input safe and short enough to repeat in a message.
func echo(s string) string {
	truncated := len(s) > maxEcho
	if truncated {
		s = s[:maxEcho]
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			clean = false
			break
		}
	}
	if clean && !truncated {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	if truncated {
		b = append(b, "..."...)
	}
	return string(b)
}

// The canonical request.

// scratch holds the buffers of one verification; Verifier pools them.
type scratch struct {
	buf     []byte // the canonical request, then the string to sign
	key     []byte // a header name in canonical MIME form
	pairs   []queryPair
	payload [2 * sha256.Size]byte
	mac     [sha256.Size]byte
}

type queryPair struct{ k, v string }

func (v *Verifier) getScratch() *scratch {
	if s, ok := v.scratch.Get().(*scratch); ok {
		return s
	}
	return &scratch{buf: make([]byte, 0, 1024), key: make([]byte, 0, 64)}
}

func (v *Verifier) putScratch(s *scratch) {
	if cap(s.buf) > maxPooledBuffer || cap(s.pairs) > maxPooledPairs {
		return
	}
	s.buf = s.buf[:0]
	v.scratch.Put(s)
}

// canonicalRequest writes the canonical request into s.buf:
//
//	method \n canonical URI \n canonical query \n canonical headers \n signed headers \n payload hash
func (s *scratch) canonicalRequest(r *http.Request, a *authz, bodyLen int, payloadHash []byte) *awserr.Error {
	b := append(s.buf[:0], r.Method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, r.URL)
	b = append(b, '\n')
	if r.URL != nil && r.URL.RawQuery != "" {
		var ok bool
		if b, ok = s.appendCanonicalQuery(b, r.URL.RawQuery); !ok {
			s.buf = b
			return awserr.New(awserr.InvalidSignature, "The query string is not validly percent-encoded, so it has no canonical form.")
		}
	}
	b = append(b, '\n')
	for names := a.signedHeaders; names != ""; {
		var name string
		name, names, _ = strings.Cut(names, ";")
		b = append(b, name...)
		b = append(b, ':')
		b = s.appendHeaderValue(b, r, name, bodyLen)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, a.signedHeaders...)
	b = append(b, '\n')
	b = append(b, payloadHash...)
	s.buf = b
	return nil
}

// appendHeaderValue writes the canonical value of the header name: every
// value trimmed, runs of spaces collapsed, values joined by commas. The host
// comes from r.Host; a signed Content-Length that net/http has moved out of
// the header map is the body's length.
func (s *scratch) appendHeaderValue(b []byte, r *http.Request, name string, bodyLen int) []byte {
	if name == "host" {
		host := r.Host
		if host == "" && r.URL != nil {
			host = r.URL.Host
		}
		return appendTrimmed(b, host)
	}
	values := s.headerValues(r.Header, name)
	if values == nil && name == "content-length" {
		return strconv.AppendInt(b, int64(bodyLen), 10)
	}
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmed(b, v)
	}
	return b
}

// headerValues returns the values of the lower-case header name. net/http
// stores names in canonical MIME form, so that lookup does not allocate;
// header maps built by hand may hold other spellings, which a scan finds.
func (s *scratch) headerValues(h http.Header, name string) []string {
	k := s.key[:0]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		k = append(k, c)
		upper = c == '-'
	}
	s.key = k
	if vs, ok := h[string(k)]; ok {
		return vs
	}
	for key, vs := range h {
		if strings.EqualFold(key, name) {
			return vs
		}
	}
	return nil
}

// appendTrimmed writes v without leading and trailing white space and with
// each run of spaces collapsed to one, as the AWS SDKs canonicalize it.
func appendTrimmed(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b = append(b, v[i])
	}
	return b
}

// appendCanonicalURI writes the path as the AWS SDKs sign it for every
// service but S3: the escaped path of the URL, URI-encoded once more.
func appendCanonicalURI(b []byte, u *url.URL) []byte {
	path := ""
	if u != nil {
		if u.Opaque != "" {
			// As the SDKs read an opaque URL: "//host/path?query".
			opaque, _, _ := strings.Cut(u.Opaque, "?")
			opaque = strings.TrimPrefix(opaque, "//")
			if i := strings.IndexByte(opaque, '/'); i >= 0 {
				path = opaque[i:]
			}
		} else {
			path = u.EscapedPath()
		}
	}
	if path == "" {
		path = "/"
	}
	return appendEscaped(b, path, true)
}

// appendCanonicalQuery writes the query parameters, each name and value
// URI-encoded, sorted by name and then value after encoding.
func (s *scratch) appendCanonicalQuery(b []byte, raw string) ([]byte, bool) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return b, false
	}
	pairs := s.pairs[:0]
	for k, vs := range values {
		ek := string(appendEscaped(nil, k, false))
		for _, v := range vs {
			pairs = append(pairs, queryPair{ek, string(appendEscaped(nil, v, false))})
		}
	}
	slices.SortFunc(pairs, func(x, y queryPair) int {
		if c := strings.Compare(x.k, y.k); c != 0 {
			return c
		}
		return strings.Compare(x.v, y.v)
	})
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = append(b, p.v...)
	}
	clear(pairs)
	s.pairs = pairs[:0]
	return b, true
}

const upperHex = "0123456789ABCDEF"

// appendEscaped URI-encodes s as SigV4 requires: every byte but the
// unreserved characters (A-Z a-z 0-9 - _ . ~), and '/' if keepSlash, becomes
// %XX with upper-case hex.
func appendEscaped(b []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/') {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return b
}

// Signing keys.

// cacheKey is what a signing key is derived from.
type cacheKey struct {
	secret, date, region, service string
}

// signingKey is a derived key with a pool of HMACs keyed with it, so that a
// verification with a cached key allocates no HMAC.
type signingKey struct {
	key  [sha256.Size]byte
	macs sync.Pool // of hash.Hash
}

func newSigningKey(secret, date, region, service string) *signingKey {
	seed := []byte("AWS4" + secret)
	k := hmacSHA256(seed, date)
	clear(seed)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, scopeTerminator)
	sk := &signingKey{}
	copy(sk.key[:], k)
	clear(k)
	return sk
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// sign appends HMAC-SHA256(key, msg) to dst.
func (k *signingKey) sign(dst, msg []byte) []byte {
	m, ok := k.macs.Get().(hash.Hash)
	if !ok {
		m = hmac.New(sha256.New, k.key[:])
	}
	m.Reset()
	m.Write(msg)
	dst = m.Sum(dst)
	k.macs.Put(m)
	return dst
}

// keyCache maps what a signing key is derived from to the key. It holds at
// most maxCachedKeys keys.
type keyCache struct {
	mu sync.RWMutex
	m  map[cacheKey]*signingKey
}

func (c *keyCache) get(k cacheKey) *signingKey {
	c.mu.RLock()
	sk := c.m[k]
	c.mu.RUnlock()
	return sk
}

func (c *keyCache) put(k cacheKey, sk *signingKey) {
	// The date, region and service are substrings of a request's header:
	// copy them so the cache does not keep the header alive.
	k.date, k.region, k.service = strings.Clone(k.date), strings.Clone(k.region), strings.Clone(k.service)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[cacheKey]*signingKey)
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= maxCachedKeys {
		// Keys for other days are the first to go; if there are none,
		// an arbitrary key does (map iteration starts at random).
		for old := range c.m {
			if old.date != k.date {
				delete(c.m, old)
			}
		}
		if len(c.m) >= maxCachedKeys {
			for old := range c.m {
				delete(c.m, old)
				break
			}
		}
	}
	c.m[k] = sk
}

func (c *keyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
