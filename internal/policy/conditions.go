package policy

import (
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// opFamily is the family of a condition operator.
type opFamily uint8

const (
	famString opFamily = iota
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famARN
	famNull
)

// opCmp is the comparison an operator makes.
type opCmp uint8

const (
	cmpEq opCmp = iota
	cmpLike
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

// setOp is the ForAnyValue / ForAllValues qualifier.
type setOp uint8

const (
	setNone setOp = iota
	setAny
	setAll
)

// operator is a parsed condition operator name.
type operator struct {
	fam      opFamily
	cmp      opCmp
	negated  bool // StringNotEquals, NotIpAddress, ArnNotLike …
	fold     bool // …IgnoreCase
	ifExists bool
	set      setOp
}

// baseOps lists the condition operators of
// reference_policies_elements_condition_operators.html, keyed by lower-cased
// name.
var baseOps = map[string]operator{
	"stringequals":              {fam: famString, cmp: cmpEq},
	"stringnotequals":           {fam: famString, cmp: cmpEq, negated: true},
	"stringequalsignorecase":    {fam: famString, cmp: cmpEq, fold: true},
	"stringnotequalsignorecase": {fam: famString, cmp: cmpEq, fold: true, negated: true},
	"stringlike":                {fam: famString, cmp: cmpLike},
	"stringnotlike":             {fam: famString, cmp: cmpLike, negated: true},
	"numericequals":             {fam: famNumeric, cmp: cmpEq},
	"numericnotequals":          {fam: famNumeric, cmp: cmpEq, negated: true},
	"numericlessthan":           {fam: famNumeric, cmp: cmpLt},
	"numericlessthanequals":     {fam: famNumeric, cmp: cmpLe},
	"numericgreaterthan":        {fam: famNumeric, cmp: cmpGt},
	"numericgreaterthanequals":  {fam: famNumeric, cmp: cmpGe},
	"dateequals":                {fam: famDate, cmp: cmpEq},
	"datenotequals":             {fam: famDate, cmp: cmpEq, negated: true},
	"datelessthan":              {fam: famDate, cmp: cmpLt},
	"datelessthanequals":        {fam: famDate, cmp: cmpLe},
	"dategreaterthan":           {fam: famDate, cmp: cmpGt},
	"dategreaterthanequals":     {fam: famDate, cmp: cmpGe},
	"bool":                      {fam: famBool, cmp: cmpEq},
	"binaryequals":              {fam: famBinary, cmp: cmpEq},
	"ipaddress":                 {fam: famIP, cmp: cmpEq},
	"notipaddress":              {fam: famIP, cmp: cmpEq, negated: true},
	"arnequals":                 {fam: famARN, cmp: cmpLike},
	"arnlike":                   {fam: famARN, cmp: cmpLike},
	"arnnotequals":              {fam: famARN, cmp: cmpLike, negated: true},
	"arnnotlike":                {fam: famARN, cmp: cmpLike, negated: true},
	"null":                      {fam: famNull, cmp: cmpEq},
}

// parseOperator reads an operator name such as
// "ForAnyValue:StringNotEqualsIgnoreCaseIfExists".
//
// AWS does not document whether operator names are case-sensitive; kagi
// accepts any case, so that a policy AWS accepts is never refused here. The
// name is kept as written.
func parseOperator(name string) (operator, bool) {
	lower := strings.ToLower(name)
	set := setNone
	if rest, ok := strings.CutPrefix(lower, "foranyvalue:"); ok {
		set, lower = setAny, rest
	} else if rest, ok := strings.CutPrefix(lower, "forallvalues:"); ok {
		set, lower = setAll, rest
	}
	ifExists := false
	if rest, ok := strings.CutSuffix(lower, "ifexists"); ok {
		ifExists, lower = true, rest
	}
	op, ok := baseOps[lower]
	if !ok {
		return operator{}, false
	}
	// "You can add IfExists to the end of any condition operator name except
	// the Null condition" (…condition_operators.html#Conditions_IfExists).
	if ifExists && op.fam == famNull {
		return operator{}, false
	}
	op.ifExists, op.set = ifExists, set
	return op, true
}

// condValue is one compiled value of a condition.
type condValue struct {
	pat    pattern      // string, ARN and Bool operators
	num    float64      // numeric
	t      time.Time    // date
	prefix netip.Prefix // IP address
	bin    string       // binary: the decoded bytes
	null   bool         // Null: true means "the key is absent"
}

// compileValue checks and compiles one value of a condition; it returns a
// message if the value cannot be read by the operator.
func compileValue(op operator, v string, vars bool) (condValue, string) {
	switch op.fam {
	case famString:
		return condValue{pat: compilePattern(v, compileOpts{wildcards: op.cmp == cmpLike, variables: vars})}, ""
	case famARN:
		return condValue{pat: compilePattern(v, compileOpts{wildcards: true, variables: vars, arn: true})}, ""
	case famBool:
		// Policy variables are allowed with Bool (…condition_operators.html,
		// Boolean condition operators); a literal must be true or false.
		p := compilePattern(v, compileOpts{variables: vars})
		if len(p.vars) == 0 && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return condValue{}, "must be true or false"
		}
		return condValue{pat: p}, ""
	case famNumeric:
		f, ok := parseNumber(v)
		if !ok {
			return condValue{}, "is not a number"
		}
		return condValue{num: f}, ""
	case famDate:
		t, ok := parseDate(v)
		if !ok {
			return condValue{}, "is not an ISO 8601 date or an epoch time"
		}
		return condValue{t: t}, ""
	case famBinary:
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return condValue{}, "is not base64"
		}
		return condValue{bin: string(b)}, ""
	case famIP:
		p, ok := parseCIDR(v)
		if !ok {
			return condValue{}, "is not an IP address or CIDR block"
		}
		return condValue{prefix: p}, ""
	case famNull:
		switch {
		case strings.EqualFold(v, "true"):
			return condValue{null: true}, ""
		case strings.EqualFold(v, "false"):
			return condValue{null: false}, ""
		}
		return condValue{}, "must be true or false"
	}
	return condValue{}, "is not valid"
}

// parseNumber reads a decimal number: an optional sign, digits with an
// optional fraction, and an optional exponent. Hexadecimal, NaN and infinities
// (which strconv.ParseFloat would take) are refused.
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil { // out of range
		return 0, false
	}
	return f, true
}

// dateLayouts are the W3C profile of ISO 8601 (http://www.w3.org/TR/NOTE-datetime),
// which the Date operators accept (…condition_operators.html#Conditions_Date),
// plus the forms without a time zone designator, read as UTC.
var dateLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
	"2006-01",
	"2006",
}

// parseDate reads an ISO 8601 date-time or an epoch time in seconds (AWS:
// "W3C implementations of the ISO 8601 date formats or in epoch (UNIX) time").
// Epoch times may carry a fraction of a second. The result is in UTC.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if isEpoch(s) {
		sec, frac, _ := strings.Cut(s, ".")
		n, err := strconv.ParseInt(sec, 10, 64)
		if err != nil || n > 1<<40 || n < -(1<<40) {
			return time.Time{}, false
		}
		var nsec int64
		if frac != "" {
			if len(frac) > 9 {
				frac = frac[:9]
			}
			f, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
			nsec = f
			if n < 0 {
				nsec = -nsec
			}
		}
		return time.Unix(n, nsec).UTC(), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// isEpoch reports whether s looks like an epoch time: digits, optionally
// signed, with an optional fraction. A bare four-digit number could also be
// an ISO 8601 year; AWS does not say how it tells them apart, and kagi reads
// every all-digit value as an epoch time.
func isEpoch(s string) bool {
	i := 0
	if s[0] == '-' {
		i++
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			digits++
		case s[i] == '.' && !dot && digits > 0:
			dot = true
		default:
			return false
		}
	}
	return digits > 0 && s[len(s)-1] != '.'
}

// parseCIDR reads an address or CIDR block; a bare address is a /32 (or
// /128) block, as IAM does.
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			if p.Bits() < 0 {
				return netip.Prefix{}, false
			}
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// valueSet is the values of one context key in a request, without
// allocating for the derived single-valued keys.
type valueSet struct {
	one  string
	many []string
	n    int
}

func (v valueSet) at(i int) string {
	if v.many != nil {
		return v.many[i]
	}
	return v.one
}

// eval evaluates the condition against the request.
//
// The rules, from …condition_operators.html and
// …condition-single-vs-multi-valued-context-keys.html:
//   - A key absent from the request: the condition is false, except that a
//     negated operator (StringNotEquals, NotIpAddress, ArnNotLike …) is
//     true, …IfExists is true, ForAllValues is true ("It also returns true if
//     there are no context keys in the request") and ForAnyValue is false.
//   - Null: true checks that the key is absent, false that it is present.
//   - Several values in the policy are alternatives (OR).
//   - ForAllValues: every value in the request must match at least one value
//     of the policy; ForAnyValue: at least one must. With a negated operator
//     a request value "matches" when it matches none of the policy's values
//     (ForAllValues:StringNotEquals: no request value is in the policy's
//     list).
//   - Without a set operator, a negated operator is the negation of its
//     positive form: true when no request value matches any policy value.
//     The docs only describe single-valued keys here; for a multivalued key
//     without a set operator kagi reads the positive operators as "any
//     request value matches" and the negated ones as their negation.
func (c *Condition) eval(ctx *evalCtx) bool {
	vs := ctx.values(c.key)
	present := vs.n > 0
	if c.op.fam == famNull {
		for i := range c.vals {
			if c.vals[i].null != present {
				return true
			}
		}
		return false
	}
	if !present {
		switch {
		case c.op.ifExists:
			return true
		case c.op.set == setAll:
			return true
		case c.op.set == setAny:
			return false
		}
		return c.op.negated
	}
	switch c.op.set {
	case setAll:
		for i := 0; i < vs.n; i++ {
			if c.anyMatch(vs.at(i), ctx) == c.op.negated {
				return false
			}
		}
		return true
	case setAny:
		for i := 0; i < vs.n; i++ {
			if c.anyMatch(vs.at(i), ctx) != c.op.negated {
				return true
			}
		}
		return false
	}
	for i := 0; i < vs.n; i++ {
		if c.anyMatch(vs.at(i), ctx) {
			return !c.op.negated
		}
	}
	return c.op.negated
}

// anyMatch reports whether the request value x matches any of the policy's
// values under the positive form of the operator. A request value the
// operator cannot read (a malformed IP address, date or number) matches
// nothing.
func (c *Condition) anyMatch(x string, ctx *evalCtx) bool {
	switch c.op.fam {
	case famString:
		for i := range c.vals {
			if c.vals[i].pat.match(x, c.op.fold, ctx) {
				return true
			}
		}
	case famARN:
		for i := range c.vals {
			if c.vals[i].pat.matchARN(x, ctx) {
				return true
			}
		}
	case famBool:
		for i := range c.vals {
			if c.vals[i].pat.match(x, true, ctx) {
				return true
			}
		}
	case famNumeric:
		f, ok := parseNumber(x)
		if !ok {
			return false
		}
		for i := range c.vals {
			if compare(c.op.cmp, cmpFloat(f, c.vals[i].num)) {
				return true
			}
		}
	case famDate:
		t, ok := parseDate(x)
		if !ok {
			return false
		}
		for i := range c.vals {
			if compare(c.op.cmp, t.Compare(c.vals[i].t)) {
				return true
			}
		}
	case famBinary:
		// The request value is the binary value itself; the policy holds its
		// base64 encoding, decoded at parse time ("compares the value of the
		// specified key byte for byte").
		for i := range c.vals {
			if c.vals[i].bin == x {
				return true
			}
		}
	case famIP:
		a, err := netip.ParseAddr(x)
		if err != nil {
			return false
		}
		a = a.WithZone("").Unmap()
		for i := range c.vals {
			if c.vals[i].prefix.Contains(a) {
				return true
			}
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare reports whether the request value, compared with the policy value
// (c < 0: request value is smaller), satisfies cmp.
func compare(cmp opCmp, c int) bool {
	switch cmp {
	case cmpEq:
		return c == 0
	case cmpLt:
		return c < 0
	case cmpLe:
		return c <= 0
	case cmpGt:
		return c > 0
	case cmpGe:
		return c >= 0
	}
	return false
}
