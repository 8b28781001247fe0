package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CloudTrail's LookupEvents over the audit trail. This first form reads
// the whole log with Read on every lookup: its cost grows with the log,
// which is fine for a development server and a test, not for a large
// trail (an index by time and attribute would replace it behind the same
// function).

// The lookup attributes LookupEvents accepts.
var LookupAttributeKeys = []string{"EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId"}

// MaxLookupResults is the most events one LookupEvents page holds, and
// the default.
const MaxLookupResults = 50

// ErrInvalidNextToken is Lookup's answer to a NextToken it did not issue.
var ErrInvalidNextToken = errors.New("audit: invalid next token")

// LookupQuery selects records.
type LookupQuery struct {
	// Account: only records of this account (its caller, the owner of a
	// key it names, or its recipient). Required.
	Account string
	// Key and Value are the lookup attribute; Key "" selects every record.
	Key, Value string
	// Start and End bound eventTime, inclusive; zero: unbounded.
	Start, End time.Time
	// Max is the page size, 1 to MaxLookupResults.
	Max int
	// NextToken continues a lookup from where the last page ended.
	NextToken string
}

// LookupEvent is one event as LookupEvents returns it.
type LookupEvent struct {
	EventID         string           `json:"EventId"`
	EventName       string           `json:"EventName"`
	ReadOnly        string           `json:"ReadOnly"`
	AccessKeyID     string           `json:"AccessKeyId,omitempty"`
	EventTime       float64          `json:"EventTime"`
	EventSource     string           `json:"EventSource"`
	Username        string           `json:"Username,omitempty"`
	Resources       []LookupResource `json:"Resources"`
	CloudTrailEvent string           `json:"CloudTrailEvent"`
}

// LookupResource is a resource of a LookupEvent.
type LookupResource struct {
	ResourceType string `json:"ResourceType"`
	ResourceName string `json:"ResourceName"`
}

// Events answers LookupEvents from the audit log in a directory.
type Events struct {
	Dir string
}

// Lookup returns the records q selects, newest first, one page at a time,
// and the token of the next page ("" after the last).
//
// A token is the position in the log (oldest first) below which the next
// page starts; the log only grows at its end, so positions do not move and
// a page is never repeated or skipped while records are added.
func (e Events) Lookup(ctx context.Context, q LookupQuery) ([]LookupEvent, string, error) {
	if q.Max < 1 || q.Max > MaxLookupResults {
		return nil, "", fmt.Errorf("audit: lookup page size %d", q.Max)
	}
	below := -1 // -1: from the newest
	if q.NextToken != "" {
		n, ok := parseToken(q.NextToken)
		if !ok {
			return nil, "", ErrInvalidNextToken
		}
		below = n
	}
	var raws [][]byte
	if err := Read(e.Dir, func(b []byte) error {
		if below >= 0 && len(raws) >= below {
			return errStop
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		raws = append(raws, b)
		return nil
	}); err != nil && !errors.Is(err, errStop) {
		return nil, "", err
	}
	if below > len(raws) {
		return nil, "", ErrInvalidNextToken
	}
	var out []LookupEvent
	for i := len(raws) - 1; i >= 0; i-- {
		ev, ok := match(raws[i], &q)
		if !ok {
			continue
		}
		if len(out) == q.Max {
			return out, formatToken(i + 1), nil
		}
		out = append(out, ev)
	}
	return out, "", nil
}

var errStop = errors.New("stop")

const tokenPrefix = "kagi-lookup-1:"

func formatToken(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.Itoa(n)))
}

func parseToken(s string) (int, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), tokenPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	// The decoder skips \r and \n: only the canonical form of a token is
	// one, so that a token names one position in one spelling.
	if err != nil || n < 1 || formatToken(n) != s {
		return 0, false
	}
	return n, true
}

// match reports whether a record is selected, and its event.
func match(raw []byte, q *LookupQuery) (LookupEvent, bool) {
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return LookupEvent{}, false
	}
	if !ofAccount(&r, q.Account) {
		return LookupEvent{}, false
	}
	t, err := time.Parse(time.RFC3339, r.EventTime)
	if err != nil || !q.Start.IsZero() && t.Before(q.Start) || !q.End.IsZero() && t.After(q.End) {
		return LookupEvent{}, false
	}
	ev := LookupEvent{
		EventID: r.EventID, EventName: r.EventName, ReadOnly: strconv.FormatBool(r.ReadOnly),
		AccessKeyID: r.UserIdentity.AccessKeyID, EventTime: float64(t.Unix()), EventSource: r.EventSource,
		Username: username(&r.UserIdentity), Resources: []LookupResource{}, CloudTrailEvent: string(raw),
	}
	for _, res := range r.Resources {
		ev.Resources = append(ev.Resources, LookupResource{ResourceType: res.Type, ResourceName: res.ARN})
	}
	if q.Key == "" {
		return ev, true
	}
	switch q.Key {
	case "EventId":
		return ev, ev.EventID == q.Value
	case "EventName":
		return ev, ev.EventName == q.Value
	case "ReadOnly":
		return ev, ev.ReadOnly == q.Value
	case "Username":
		return ev, ev.Username != "" && ev.Username == q.Value
	case "EventSource":
		return ev, ev.EventSource == q.Value
	case "AccessKeyId":
		return ev, ev.AccessKeyID != "" && ev.AccessKeyID == q.Value
	case "ResourceType", "ResourceName":
		for _, res := range ev.Resources {
			if q.Key == "ResourceType" && res.ResourceType == q.Value || q.Key == "ResourceName" && res.ResourceName == q.Value {
				return ev, true
			}
		}
	}
	return ev, false
}

// ofAccount reports whether a record belongs to an account: the account
// made the request, owns a resource it names, or receives it.
func ofAccount(r *Record, acct string) bool {
	if acct == "" {
		return false
	}
	if r.UserIdentity.AccountID == acct || r.RecipientAccountID == acct {
		return true
	}
	for _, res := range r.Resources {
		if res.AccountID == acct {
			return true
		}
	}
	return false
}

// username is LookupEvents' Username of a record: an IAM user's name,
// "root" for the account root, a role session's name.
func username(u *UserIdentity) string {
	switch u.Type {
	case "IAMUser":
		return u.UserName
	case "Root":
		return "root"
	case "AssumedRole":
		return u.ARN[strings.LastIndexByte(u.ARN, '/')+1:]
	}
	return ""
}
