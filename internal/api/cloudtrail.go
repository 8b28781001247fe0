package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/kagikms/kagi/internal/audit"
	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/iam"
	"github.com/kagikms/kagi/internal/policy"
)

// CloudTrail's LookupEvents, on the same endpoint as KMS: JSON 1.1 with
// X-Amz-Target com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.*,
// signed for the service "cloudtrail". It reads the audit trail, so that
// `aws cloudtrail lookup-events --endpoint-url …` finds kagi's records.
// Other CloudTrail operations answer UnsupportedOperationException.

const cloudTrailPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."

// EventLookup answers LookupEvents from the audit trail; audit.Events
// implements it.
type EventLookup interface {
	Lookup(ctx context.Context, q audit.LookupQuery) ([]audit.LookupEvent, string, error)
}

// CloudTrail's exceptions.
const (
	codeInvalidLookupAttributes awserr.Code = "InvalidLookupAttributesException"
	codeInvalidTimeRange        awserr.Code = "InvalidTimeRangeException"
	codeInvalidMaxResults       awserr.Code = "InvalidMaxResultsException"
	codeInvalidNextToken        awserr.Code = "InvalidNextTokenException"
	codeInvalidEventCategory    awserr.Code = "InvalidEventCategoryException"
)

type lookupAttribute struct {
	AttributeKey   string `json:"AttributeKey"`
	AttributeValue string `json:"AttributeValue"`
}

type lookupEventsInput struct {
	LookupAttributes []lookupAttribute `json:"LookupAttributes,omitempty"`
	StartTime        *float64          `json:"StartTime,omitempty"`
	EndTime          *float64          `json:"EndTime,omitempty"`
	EventCategory    string            `json:"EventCategory,omitempty"`
	MaxResults       *int32            `json:"MaxResults,omitempty"`
	NextToken        string            `json:"NextToken,omitempty"`
}

type lookupEventsOutput struct {
	Events    []audit.LookupEvent `json:"Events"`
	NextToken string              `json:"NextToken,omitempty"`
}

// serveCloudTrail runs an authenticated CloudTrail request.
func (h *Handler) serveCloudTrail(r *http.Request, p *auth.Principal, opName string, body []byte, ev *event) (any, error) {
	if p.Service != "cloudtrail" {
		return nil, awserr.New(awserr.InvalidSignature, "Credential should be scoped to correct service: 'cloudtrail'.")
	}
	if opName != "LookupEvents" || h.events == nil {
		return nil, awserr.New(awserr.UnsupportedOperation, "kagi does not support CloudTrail's %s.", opName)
	}
	c, err := h.caller(r, p)
	if err != nil {
		return nil, err
	}
	ev.c = c
	in := new(lookupEventsInput)
	if err := decode(body, in); err != nil {
		return nil, err
	}
	ev.in = in
	if p.Type == iam.TypeService {
		return nil, awserr.New(awserr.AccessDenied, "User: %s is not authorized to perform: cloudtrail:LookupEvents", p.ServicePrincipal)
	}
	// Decided by identity policies, as IAM decides CloudTrail's actions;
	// the account root needs none.
	now := time.Now().UTC()
	req := policy.Request{Principal: c.Principal, Action: "cloudtrail:LookupEvents", Resource: "*", Context: map[string][]string{
		"aws:currenttime":     {now.Format(time.RFC3339)},
		"aws:epochtime":       {strconv.FormatInt(now.Unix(), 10)},
		"aws:securetransport": {strconv.FormatBool(c.SecureTransport)},
		"aws:sourceip":        {c.SourceIP},
		"aws:viaawsservice":   {strconv.FormatBool(c.CalledVia != "")},
	}}
	if d := policy.Authorize(&policy.AuthzInput{Request: req, KeyAccount: c.AccountID, IdentityPolicies: c.IdentityPolicies}); !d.Allowed {
		return nil, awserr.New(awserr.AccessDenied, "%s", policy.DenyMessage(&req, d))
	}

	q := audit.LookupQuery{Account: c.AccountID, Max: audit.MaxLookupResults, NextToken: in.NextToken}
	switch len(in.LookupAttributes) {
	case 0:
	case 1:
		a := in.LookupAttributes[0]
		if !slices.Contains(audit.LookupAttributeKeys, a.AttributeKey) {
			return nil, awserr.New(codeInvalidLookupAttributes, "AttributeKey %s is not valid: it must be one of %v.", echoParam(a.AttributeKey), audit.LookupAttributeKeys)
		}
		if a.AttributeValue == "" || len(a.AttributeValue) > 2000 {
			return nil, awserr.New(codeInvalidLookupAttributes, "AttributeValue must be 1 to 2000 characters long.")
		}
		q.Key, q.Value = a.AttributeKey, a.AttributeValue
	default:
		return nil, awserr.New(codeInvalidLookupAttributes, "You can specify only one lookup attribute.")
	}
	var err2 error
	if q.Start, err2 = epoch(in.StartTime); err2 != nil {
		return nil, err2
	}
	if q.End, err2 = epoch(in.EndTime); err2 != nil {
		return nil, err2
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.Start.After(q.End) {
		return nil, awserr.New(codeInvalidTimeRange, "StartTime must be before EndTime.")
	}
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > audit.MaxLookupResults {
			return nil, awserr.New(codeInvalidMaxResults, "MaxResults must be between 1 and %d.", audit.MaxLookupResults)
		}
		q.Max = int(*in.MaxResults)
	}
	switch in.EventCategory {
	case "":
	case "insight":
		// kagi has no Insights events.
		return &lookupEventsOutput{Events: []audit.LookupEvent{}}, nil
	default:
		return nil, awserr.New(codeInvalidEventCategory, "EventCategory must be insight.")
	}
	events, next, err := h.events.Lookup(r.Context(), q)
	switch {
	case errors.Is(err, audit.ErrInvalidNextToken):
		return nil, awserr.New(codeInvalidNextToken, "Invalid NextToken.")
	case err != nil:
		return nil, awserr.Internal(err)
	}
	if events == nil {
		events = []audit.LookupEvent{}
	}
	return &lookupEventsOutput{Events: events, NextToken: next}, nil
}

// epoch reads a JSON timestamp (epoch seconds); nil is the zero time.
func epoch(f *float64) (time.Time, error) {
	if f == nil {
		return time.Time{}, nil
	}
	if math.IsNaN(*f) || math.IsInf(*f, 0) || *f < 0 || *f > 253402300799 {
		return time.Time{}, awserr.New(codeInvalidTimeRange, "The time is out of range.")
	}
	sec, frac := math.Modf(*f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
