package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of one piece of a compiled pattern.
type tokKind uint8

const (
	tokLit  tokKind = iota // literal text
	tokStar                // '*': any run of characters
	tokQM                  // '?': any one character
	tokVar                 // a policy variable, replaced by its value as literal text
)

type token struct {
	kind tokKind
	text string // tokLit: the text
	vi   int    // tokVar: index into pattern.vars
}

// variable is a policy variable ${key} or ${key, 'default'}.
type variable struct {
	key    string // lower-cased context key
	def    string
	hasDef bool
}

// pattern is a compiled Action, Resource or condition value.
type pattern struct {
	toks []token
	// segs is toks split at the first five literal colons, for ARN matching
	// (Resource, NotResource and the Arn condition operators).
	segs [][]token
	vars []variable
	// any is set for the pattern "*", which matches everything.
	any bool
	// fast is a shortcut for the common patterns without variables: a
	// literal ("kms:Decrypt", a key ARN) or a literal followed by one final
	// '*' ("kms:Describe*", "arn:aws:kms:us-east-1:111122223333:key/*").
	fast fastKind
	lit  string
}

type fastKind uint8

const (
	fastNone fastKind = iota
	fastLiteral
	fastPrefix
)

// compileOpts says how to read a pattern's text.
type compileOpts struct {
	wildcards bool // '*' and '?' are wildcards (else literal)
	variables bool // ${...} are policy variables (else literal)
	varsFrom  int  // …but only those that start at or after this offset
	arn       bool // prepare segs for ARN matching
}

// compilePattern compiles s. Policy variables are read only when asked: AWS
// reads them only in policies of Version 2012-10-17, in the Resource element
// and in the values of the string, ARN and Bool condition operators
// (reference_policies_variables.html, "Where you can use policy variables").
//
// The escapes ${*}, ${?} and ${$} stand for a literal '*', '?' and '$'. A "${"
// with no closing '}' is literal text (AWS does not say; reading it as text is
// the only reading that does not invent a variable).
//
// The text a variable resolves to is literal when matched: a '*' in a user's
// tag value is not a wildcard.
func compilePattern(s string, o compileOpts) pattern {
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.toks = append(p.toks, token{kind: tokLit, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case o.wildcards && c == '*':
			flush()
			p.toks = append(p.toks, token{kind: tokStar})
			i++
		case o.wildcards && c == '?':
			flush()
			p.toks = append(p.toks, token{kind: tokQM})
			i++
		case o.variables && i >= o.varsFrom && c == '$' && strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				lit.WriteByte(c)
				i++
				continue
			}
			body := s[i+2 : i+2+end]
			i += 2 + end + 1
			switch body {
			case "*", "?", "$":
				lit.WriteString(body)
				continue
			}
			v, ok := parseVariable(body)
			if !ok {
				lit.WriteString("${" + body + "}")
				continue
			}
			flush()
			p.toks = append(p.toks, token{kind: tokVar, vi: len(p.vars)})
			p.vars = append(p.vars, v)
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	p.any = len(p.toks) == 1 && p.toks[0].kind == tokStar
	switch {
	case len(p.toks) == 0:
		p.fast = fastLiteral
	case len(p.toks) == 1 && p.toks[0].kind == tokLit:
		p.fast, p.lit = fastLiteral, p.toks[0].text
	case len(p.toks) == 2 && p.toks[0].kind == tokLit && p.toks[1].kind == tokStar:
		// For ARN matching too, "literal*" is a prefix match: the literal's
		// segments compare whole, and the final '*' covers the rest.
		p.fast, p.lit = fastPrefix, p.toks[0].text
	}
	if o.arn {
		p.segs = splitSegments(p.toks)
	}
	return p
}

// parseVariable reads the inside of ${...}: a context key, optionally
// followed by ", 'default'" (reference_policies_variables.html, "Specifying
// default values").
func parseVariable(body string) (variable, bool) {
	key, def, hasDef := strings.Cut(body, ",")
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " \t'${") {
		return variable{}, false
	}
	v := variable{key: strings.ToLower(key)}
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return variable{}, false
		}
		v.def, v.hasDef = def[1:len(def)-1], true
	}
	return v, true
}

// splitSegments splits a token list at the first five literal colons, the
// separators of arn:partition:service:region:account:resource. A colon inside
// a variable's value never splits.
func splitSegments(toks []token) [][]token {
	segs := [][]token{{}}
	for _, t := range toks {
		if t.kind != tokLit || len(segs) == 6 {
			segs[len(segs)-1] = append(segs[len(segs)-1], t)
			continue
		}
		text := t.text
		for len(segs) < 6 {
			before, after, found := strings.Cut(text, ":")
			if before != "" {
				segs[len(segs)-1] = append(segs[len(segs)-1], token{kind: tokLit, text: before})
			}
			if !found {
				text = ""
				break
			}
			segs = append(segs, []token{})
			text = after
		}
		if text != "" {
			segs[len(segs)-1] = append(segs[len(segs)-1], token{kind: tokLit, text: text})
		}
	}
	return segs
}

// resolver supplies the values of policy variables.
type resolver interface {
	variable(key string) (string, bool)
}

// resolveVars resolves the pattern's variables into buf. It reports false if
// one has no value and no default: such a value matches nothing ("Policy
// variables with no value" in reference_policies_variables.html: the value is
// effectively null, with no equal or like value).
func (p *pattern) resolveVars(res resolver, buf []string) ([]string, bool) {
	if len(p.vars) == 0 {
		return nil, true
	}
	if res == nil {
		return nil, false
	}
	buf = buf[:0]
	for _, v := range p.vars {
		val, ok := res.variable(v.key)
		if !ok {
			if !v.hasDef {
				return nil, false
			}
			val = v.def
		}
		buf = append(buf, val)
	}
	return buf, true
}

// match reports whether s matches the pattern as a whole string.
func (p *pattern) match(s string, fold bool, res resolver) bool {
	if p.any {
		return true
	}
	if p.fast != fastNone {
		return fastMatch(p.fast, p.lit, s, fold)
	}
	var arr [4]string
	vt, ok := p.resolveVars(res, arr[:])
	if !ok {
		return false
	}
	return glob(p.toks, vt, s, fold)
}

// matchARN reports whether the ARN s matches the pattern, segment by
// segment.
//
// IAM compares "each of the six colon-delimited components of the ARN ...
// separately", wildcards matching within a component
// (reference_policies_elements_condition_operators.html, ARN operators), and
// for the Resource element "if the * wildcard is the last character of a
// resource ARN segment, it can expand to match beyond colon boundaries"
// (reference_policies_elements_resource.html). Both are implemented here:
// a pattern segment that ends in '*' may also cover several value segments.
// The sixth segment (the resource) runs to the end and may hold colons.
func (p *pattern) matchARN(s string, res resolver) bool {
	if p.any {
		return true
	}
	if p.fast != fastNone {
		// A literal ARN pattern matches segment by segment exactly when the
		// strings are equal; a literal with one final '*' when it is a
		// prefix.
		return fastMatch(p.fast, p.lit, s, false)
	}
	var arr [4]string
	vt, ok := p.resolveVars(res, arr[:])
	if !ok {
		return false
	}
	// bounds[j] = [start, end) of value segment j.
	var bounds [6][2]int
	n, start := 0, 0
	for i := 0; i < len(s) && n < 5; i++ {
		if s[i] == ':' {
			bounds[n] = [2]int{start, i}
			n++
			start = i + 1
		}
	}
	bounds[n] = [2]int{start, len(s)}
	n++
	m := arnMatcher{segs: p.segs, vt: vt, s: s, b: bounds[:n]}
	return m.match(0, 0)
}

// arnMatcher matches pattern segments against value segments. Because a
// segment ending in '*' may cover several value segments, the search
// branches; memo keeps it to at most 6×6 states.
type arnMatcher struct {
	segs [][]token
	vt   []string
	s    string
	b    [][2]int // [start, end) of each value segment
	memo [6][6]uint8
}

// match reports whether pattern segments i… match value segments j….
func (m *arnMatcher) match(i, j int) bool {
	if j >= len(m.b) {
		return false
	}
	if r := m.memo[i][j]; r != 0 {
		return r == 1
	}
	ok := m.try(i, j)
	m.memo[i][j] = 2
	if ok {
		m.memo[i][j] = 1
	}
	return ok
}

func (m *arnMatcher) try(i, j int) bool {
	seg, b, s := m.segs[i], m.b, m.s
	star := len(seg) > 0 && seg[len(seg)-1].kind == tokStar
	if i == len(m.segs)-1 {
		if star {
			return glob(seg, m.vt, s[b[j][0]:], false)
		}
		return j == len(b)-1 && glob(seg, m.vt, s[b[j][0]:b[j][1]], false)
	}
	if glob(seg, m.vt, s[b[j][0]:b[j][1]], false) && m.match(i+1, j+1) {
		return true
	}
	if star {
		for t := j + 1; t < len(b); t++ {
			if glob(seg, m.vt, s[b[j][0]:b[t][1]], false) && m.match(i+1, t+1) {
				return true
			}
		}
	}
	return false
}

// glob matches s against toks, where tokStar matches any run of characters
// and tokQM any one character; vt holds the text of the variables. It is the
// classic single-backtrack wildcard match, which is exact for patterns made
// only of '*', '?' and literals, and runs in O(len(pattern)·len(s)).
func glob(toks []token, vt []string, s string, fold bool) bool {
	type pos struct{ ti, ci int }
	text := func(t token) string {
		if t.kind == tokVar {
			return vt[t.vi]
		}
		return t.text
	}
	// norm skips literal pieces that are used up.
	norm := func(p pos) pos {
		for p.ti < len(toks) {
			t := toks[p.ti]
			if (t.kind == tokLit || t.kind == tokVar) && p.ci >= len(text(t)) {
				p = pos{p.ti + 1, 0}
				continue
			}
			break
		}
		return p
	}
	p := norm(pos{})
	si := 0
	star := pos{-1, 0}
	starS := 0
	for si < len(s) {
		if p.ti < len(toks) {
			t := toks[p.ti]
			switch t.kind {
			case tokStar:
				star = norm(pos{p.ti + 1, 0})
				starS = si
				p = star
				continue
			case tokQM:
				_, n := utf8.DecodeRuneInString(s[si:])
				si += n
				p = norm(pos{p.ti + 1, 0})
				continue
			default:
				lt := text(t)
				if n1, n2, ok := runeEq(lt[p.ci:], s[si:], fold); ok {
					p = norm(pos{p.ti, p.ci + n1})
					si += n2
					continue
				}
			}
		}
		if star.ti < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		si = starS
		p = star
	}
	for ; p.ti < len(toks); p = norm(pos{p.ti + 1, 0}) {
		if toks[p.ti].kind != tokStar {
			return false
		}
	}
	return true
}

func fastMatch(kind fastKind, lit, s string, fold bool) bool {
	switch {
	case kind == fastLiteral && fold:
		n, ok := prefixFold(s, lit)
		return ok && n == len(s)
	case kind == fastLiteral:
		return s == lit
	case fold:
		_, ok := prefixFold(s, lit)
		return ok
	}
	return strings.HasPrefix(s, lit)
}

// prefixFold reports whether s begins with prefix, under case folding if
// asked, and the length of that beginning of s.
func prefixFold(s, prefix string) (int, bool) {
	i := 0
	for prefix != "" {
		n1, n2, ok := runeEq(prefix, s[i:], true)
		if !ok {
			return 0, false
		}
		prefix = prefix[n1:]
		i += n2
	}
	return i, true
}

// runeEq compares the first characters of a and b (b may be empty), under
// simple Unicode case folding if fold is set, and returns their lengths. A
// byte that is not valid UTF-8 equals only the same byte (utf8 decodes every
// such byte to U+FFFD, which would make them all equal).
func runeEq(a, b string, fold bool) (int, int, bool) {
	if b == "" {
		return 0, 0, false
	}
	if a[0] < utf8.RuneSelf && b[0] < utf8.RuneSelf {
		x, y := a[0], b[0]
		if fold {
			if 'A' <= x && x <= 'Z' {
				x += 'a' - 'A'
			}
			if 'A' <= y && y <= 'Z' {
				y += 'a' - 'A'
			}
		}
		// Two different ASCII letters never fold together (K and ſ fold to
		// k and s, but they are not ASCII).
		return 1, 1, x == y
	}
	r1, n1 := utf8.DecodeRuneInString(a)
	r2, n2 := utf8.DecodeRuneInString(b)
	if (r1 == utf8.RuneError && n1 == 1) || (r2 == utf8.RuneError && n2 == 1) {
		return n1, n2, n1 == n2 && a[0] == b[0]
	}
	return n1, n2, r1 == r2 || (fold && foldEq(r1, r2))
}

// foldEq reports whether a and b are equal under simple Unicode case folding,
// the folding strings.EqualFold uses.
func foldEq(a, b rune) bool {
	if a == b {
		return true
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}
