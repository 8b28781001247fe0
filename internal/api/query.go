package api

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/iam"
)

// The AWS query protocol, which IAM and STS speak on the same endpoint as
// KMS: POST / with an application/x-www-form-urlencoded body
// Action=…&Version=…&…, signed for the service "iam" or "sts", answered in
// XML (<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…)
// or with an <ErrorResponse>.

// queryAPI is one service of the query protocol.
type queryAPI struct {
	service   string // the SigV4 service name
	namespace string // the XML namespace of its responses
	ops       map[string]queryHandler
}

// queryHandler runs one action. It returns the decoded request (nil if it
// did not decode) for the audit record, and the result: nil means the
// response has no <ActionResult> element.
type queryHandler func(ctx context.Context, p *auth.Principal, q url.Values) (in, out any, err error)

const (
	iamVersion = "2010-05-08"
	stsVersion = "2011-06-15"
)

// queryAPIs maps each API version to its service and actions: one line per
// action.
func queryAPIs(s *iam.Store) map[string]queryAPI {
	return map[string]queryAPI{
		iamVersion: {service: "iam", namespace: "https://iam.amazonaws.com/doc/2010-05-08/", ops: map[string]queryHandler{
			"CreateUser":             queryOp(s.CreateUser),
			"GetUser":                queryOp(s.GetUser),
			"DeleteUser":             queryExec(s.DeleteUser),
			"ListUsers":              queryOp(s.ListUsers),
			"CreateAccessKey":        queryOp(s.CreateAccessKey),
			"DeleteAccessKey":        queryExec(s.DeleteAccessKey),
			"UpdateAccessKey":        queryExec(s.UpdateAccessKey),
			"ListAccessKeys":         queryOp(s.ListAccessKeys),
			"PutUserPolicy":          queryExec(s.PutUserPolicy),
			"GetUserPolicy":          queryOp(s.GetUserPolicy),
			"DeleteUserPolicy":       queryExec(s.DeleteUserPolicy),
			"ListUserPolicies":       queryOp(s.ListUserPolicies),
			"CreateRole":             queryOp(s.CreateRole),
			"GetRole":                queryOp(s.GetRole),
			"DeleteRole":             queryExec(s.DeleteRole),
			"ListRoles":              queryOp(s.ListRoles),
			"UpdateAssumeRolePolicy": queryExec(s.UpdateAssumeRolePolicy),
			"PutRolePolicy":          queryExec(s.PutRolePolicy),
			"GetRolePolicy":          queryOp(s.GetRolePolicy),
			"DeleteRolePolicy":       queryExec(s.DeleteRolePolicy),
			"ListRolePolicies":       queryOp(s.ListRolePolicies),
		}},
		stsVersion: {service: "sts", namespace: "https://sts.amazonaws.com/doc/2011-06-15/", ops: map[string]queryHandler{
			"GetCallerIdentity": func(ctx context.Context, p *auth.Principal, _ url.Values) (any, any, error) {
				out, err := s.GetCallerIdentity(ctx, p)
				if err != nil {
					return nil, nil, err
				}
				return nil, out, nil
			},
			"AssumeRole":      queryOp(s.AssumeRole),
			"GetSessionToken": queryOp(s.GetSessionToken),
		}},
	}
}

// queryOp adapts an action with a result: it decodes the form into the
// action's input type.
func queryOp[I, O any](f func(context.Context, *auth.Principal, *I) (*O, error)) queryHandler {
	return func(ctx context.Context, p *auth.Principal, q url.Values) (any, any, error) {
		in := new(I)
		if err := decodeQuery(q, in); err != nil {
			return nil, nil, err
		}
		out, err := f(ctx, p, in)
		if err != nil {
			return in, nil, err
		}
		return in, out, nil
	}
}

// queryExec adapts an action without a result.
func queryExec[I any](f func(context.Context, *auth.Principal, *I) error) queryHandler {
	return func(ctx context.Context, p *auth.Principal, q url.Values) (any, any, error) {
		in := new(I)
		if err := decodeQuery(q, in); err != nil {
			return nil, nil, err
		}
		return in, nil, f(ctx, p, in)
	}
}

// Query-protocol error codes that are not an operation's own.
const (
	codeInvalidAction        awserr.Code = "InvalidAction"
	codeMalformedQueryString awserr.Code = "MalformedQueryString"
)

// queryErrors gives the wire code and HTTP status of each exception in the
// query protocol. Authentication failures have other names here than in
// KMS's JSON protocol. Codes missing from the table keep their name and
// answer 400.
var queryErrors = map[awserr.Code]struct {
	code   string
	status int
}{
	awserr.MissingAuthenticationToken: {"MissingAuthenticationToken", http.StatusForbidden},
	awserr.IncompleteSignature:        {"IncompleteSignature", http.StatusBadRequest},
	awserr.InvalidSignature:           {"SignatureDoesNotMatch", http.StatusForbidden},
	awserr.UnrecognizedClient:         {"InvalidClientTokenId", http.StatusForbidden},
	awserr.ExpiredToken:               {"ExpiredToken", http.StatusForbidden},
	awserr.AccessDenied:               {"AccessDenied", http.StatusForbidden},
	awserr.RequestEntityTooLarge:      {"RequestEntityTooLarge", http.StatusRequestEntityTooLarge},
	awserr.Throttling:                 {"Throttling", http.StatusBadRequest},
	awserr.KMSInternal:                {"InternalFailure", http.StatusInternalServerError},
	awserr.InternalFailure:            {"InternalFailure", http.StatusInternalServerError},
	awserr.ServiceUnavailable:         {"ServiceUnavailable", http.StatusServiceUnavailable},
	iam.CodeAccessDenied:              {"AccessDenied", http.StatusForbidden},
	iam.CodeNoSuchEntity:              {"NoSuchEntity", http.StatusNotFound},
	iam.CodeEntityAlreadyExists:       {"EntityAlreadyExists", http.StatusConflict},
	iam.CodeLimitExceeded:             {"LimitExceeded", http.StatusConflict},
	iam.CodeDeleteConflict:            {"DeleteConflict", http.StatusConflict},
	iam.CodeMalformedPolicyDocument:   {"MalformedPolicyDocument", http.StatusBadRequest},
	iam.CodeValidationError:           {"ValidationError", http.StatusBadRequest},
	iam.CodeInvalidInput:              {"InvalidInput", http.StatusBadRequest},
	iam.CodePackedPolicyTooLarge:      {"PackedPolicyTooLarge", http.StatusBadRequest},
}

func queryError(e *awserr.Error) (code string, status int) {
	if m, ok := queryErrors[e.Code]; ok {
		return m.code, m.status
	}
	return string(e.Code), http.StatusBadRequest
}

// isQueryRequest reports whether r speaks the query protocol: a form body
// and no X-Amz-Target.
func isQueryRequest(r *http.Request) bool {
	if len(r.Header["X-Amz-Target"]) > 0 {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// serveQuery runs a query-protocol request through the pipeline —
// authenticate, route on Version and Action, run, respond — and logs one
// line, failures included.
func (h *Handler) serveQuery(w http.ResponseWriter, r *http.Request, reqID string, start time.Time) {
	api := h.query[iamVersion]
	ev := &event{start: start, reqID: reqID, eventID: newRequestID()}
	var action string
	out, err := func() (out any, err error) {
		defer func() {
			if v := recover(); v != nil {
				err = awserr.Internal(fmt.Errorf("panic: %v", v))
			}
		}()
		if r.Method != http.MethodPost || r.URL.Path != "/" {
			return nil, awserr.New(codeInvalidAction, "Only POST / is served.")
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, awserr.New(awserr.RequestEntityTooLarge, "Request body exceeds %d bytes.", MaxBodyBytes)
			}
			return nil, awserr.New(codeMalformedQueryString, "Could not read the request body.")
		}
		// The form is read before the signature is checked only to answer in
		// the right namespace; nothing in it is acted on until then.
		q, formErr := url.ParseQuery(string(body))
		version := q.Get("Version")
		if a, ok := h.query[version]; ok {
			api = a
		}
		action = q.Get("Action")
		p, err := h.auth.Verify(r.Context(), r, body)
		if err != nil {
			return nil, err
		}
		ev.p = p
		if formErr != nil {
			return nil, awserr.New(codeMalformedQueryString, "The request body is not a valid form.")
		}
		a, ok := h.query[version]
		if !ok {
			return nil, awserr.New(codeInvalidAction, "Could not find operation %s for version %s", echoParam(action), echoParam(version))
		}
		if p.Service != a.service {
			return nil, awserr.New(awserr.InvalidSignature, "Credential should be scoped to correct service: '%s'.", a.service)
		}
		op, ok := a.ops[action]
		if !ok {
			return nil, awserr.New(codeInvalidAction, "Could not find operation %s for version %s", echoParam(action), version)
		}
		if p.Type == iam.TypeService {
			// A service principal belongs to no account: IAM and STS have
			// nothing for it.
			return nil, awserr.New(awserr.AccessDenied, "User: %s is not authorized to perform: %s:%s", p.ServicePrincipal, a.service, echoParam(action))
		}
		ev.in, out, err = op(r.Context(), p, q)
		return out, err
	}()
	p := ev.p
	ev.source, ev.name, ev.out = api.service+".amazonaws.com", echoParam(action), out
	var resp []byte
	if err == nil {
		resp, err = encodeQueryResult(api.namespace, action, reqID, out)
	}
	var e *awserr.Error
	code, status := "", http.StatusOK
	if err != nil {
		e = awserr.As(err)
		code, status = queryError(e)
		ev.code, ev.message = code, e.Message
	}
	if aerr := h.writeRecord(r, ev); aerr != nil {
		// No acknowledgment without a record: the result is withheld.
		e = awserr.Internal(aerr)
		code, status = queryError(e)
		h.log.Error("audit record not written: request failed", "request_id", reqID, "op", ev.name, "cause", aerr.Error())
	}
	attrs := []any{"request_id", reqID, "op", echoParam(action), "service", api.service, "source", sourceIP(r), "duration", time.Since(start)}
	if p != nil {
		attrs = append(attrs, "account", p.AccountID, "access_key", p.AccessKeyID, "principal", p.ARN)
	}
	h.observeQuery(api, action, e, start)
	if e != nil {
		writeQueryError(w, api.namespace, code, status, e.Message, reqID)
		attrs = append(attrs, "status", status, "error", code)
		if status >= 500 {
			h.log.Error("request failed", append(attrs, "cause", fmt.Sprint(e.Cause))...)
			return
		}
		h.log.Info("request", attrs...)
		return
	}
	writeQueryBody(w, resp)
	h.log.Info("request", append(attrs, "status", http.StatusOK)...)
}

// echoParam makes a client's parameter safe and short for a message or
// the log.
func echoParam(s string) string {
	if len(s) > 128 {
		s = s[:128] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// encodeQueryResult encodes <ActionResponse> with the result, if any, in
// <ActionResult>. action is a name from the route table, never raw input.
func encodeQueryResult(namespace, action, reqID string, result any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<" + action + `Response xmlns="` + namespace + `">`)
	if result != nil {
		enc := xml.NewEncoder(&b)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return nil, awserr.Internal(fmt.Errorf("encode %s result: %w", action, err))
		}
		if err := enc.Close(); err != nil {
			return nil, awserr.Internal(fmt.Errorf("encode %s result: %w", action, err))
		}
	}
	b.WriteString("<ResponseMetadata><RequestId>" + reqID + "</RequestId></ResponseMetadata></" + action + "Response>")
	return b.Bytes(), nil
}

// writeQueryBody writes a successful query-protocol response.
func writeQueryBody(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// writeQueryError writes an <ErrorResponse>.
func writeQueryError(w http.ResponseWriter, namespace, code string, status int, message, reqID string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse xmlns="` + namespace + `"><Error><Type>` + typ + `</Type><Code>`)
	xml.EscapeText(&b, []byte(code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(message))
	b.WriteString("</Message></Error><RequestId>" + reqID + "</RequestId></ErrorResponse>")
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// decodeQuery fills the input struct v from the form. A member's parameter
// is its field name, with a trailing "ID" written "Id" (AccessKeyID →
// AccessKeyId); lists are Name.member.N (PolicyArns.member.N.arn) and tags
// Name.member.N.Key / .Value, as the AWS SDKs write them.
func decodeQuery(q url.Values, v any) error {
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		name := f.Name
		if n, ok := strings.CutSuffix(name, "ID"); ok {
			name = n + "Id"
		}
		fv := rv.Field(i)
		switch fv.Interface().(type) {
		case string:
			fv.SetString(q.Get(name))
		case *int32:
			s := q.Get(name)
			if s == "" {
				continue
			}
			n, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return awserr.New(iam.CodeValidationError, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be an integer",
					echoParam(s), strings.ToLower(name[:1])+name[1:])
			}
			n32 := int32(n)
			fv.Set(reflect.ValueOf(&n32))
		case []string:
			suffix := ""
			if name == "PolicyArns" {
				suffix = ".arn"
			}
			members, err := queryMembers(q, name, func(m map[string]string) string { return m[suffix] })
			if err != nil {
				return err
			}
			fv.Set(reflect.ValueOf(members))
		case []iam.Tag:
			tags, err := queryMembers(q, name, func(m map[string]string) iam.Tag { return iam.Tag{Key: m[".Key"], Value: m[".Value"]} })
			if err != nil {
				return err
			}
			fv.Set(reflect.ValueOf(tags))
		default:
			panic("api: decodeQuery: unsupported member type " + f.Type.String())
		}
	}
	return nil
}

// maxQueryMembers bounds a list in a query request; AWS's longest lists
// here have 50 members.
const maxQueryMembers = 1000

// queryMembers reads the list Name.member.N[suffix] in the order of N. Each
// member is the map from suffix ("" for a plain list, ".Key" …) to value.
func queryMembers[T any](q url.Values, name string, build func(map[string]string) T) ([]T, error) {
	prefix := name + ".member."
	byIndex := map[int]map[string]string{}
	for k, vs := range q {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num, suffix := rest, ""
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			num, suffix = rest[:i], rest[i:]
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > maxQueryMembers {
			return nil, awserr.New(iam.CodeValidationError, "Invalid list member parameter %s.", echoParam(k))
		}
		if byIndex[n] == nil {
			byIndex[n] = map[string]string{}
		}
		byIndex[n][suffix] = vs[0]
	}
	if len(byIndex) == 0 {
		return nil, nil
	}
	idx := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idx = append(idx, n)
	}
	slices.Sort(idx)
	out := make([]T, 0, len(idx))
	for _, n := range idx {
		out = append(out, build(byIndex[n]))
	}
	return out, nil
}
