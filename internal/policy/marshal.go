package policy

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON re-serialises the policy. The result parses (with the same
// Kind) to a policy equal to p: Statement is always an array, a list of one
// is written as a single string, condition values are written as strings
// (IAM compares them as text), and elements come in the order of the IAM
// grammar.
func (p *Policy) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	field := func(name string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(&b, name)
		b.WriteByte(':')
	}
	if p.Version != "" {
		field("Version")
		writeString(&b, p.Version)
	}
	if p.ID != "" {
		field("Id")
		writeString(&b, p.ID)
	}
	field("Statement")
	b.WriteByte('[')
	for i := range p.Statements {
		if i > 0 {
			b.WriteByte(',')
		}
		p.Statements[i].marshal(&b)
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

func (s *Statement) marshal(b *bytes.Buffer) {
	b.WriteByte('{')
	first := true
	field := func(name string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, name)
		b.WriteByte(':')
	}
	if s.Sid != "" {
		field("Sid")
		writeString(b, s.Sid)
	}
	field("Effect")
	if s.Effect == Deny {
		writeString(b, "Deny")
	} else {
		writeString(b, "Allow")
	}
	if s.Principal != nil {
		field("Principal")
		s.Principal.marshal(b)
	}
	if s.NotPrincipal != nil {
		field("NotPrincipal")
		s.NotPrincipal.marshal(b)
	}
	for _, e := range []struct {
		name string
		list []string
	}{
		{"Action", s.Action},
		{"NotAction", s.NotAction},
		{"Resource", s.Resource},
		{"NotResource", s.NotResource},
	} {
		if e.list != nil {
			field(e.name)
			writeList(b, e.list)
		}
	}
	if len(s.Condition) > 0 {
		field("Condition")
		b.WriteByte('{')
		// Conditions are sorted by operator, so each operator's keys are
		// adjacent.
		for i := 0; i < len(s.Condition); {
			op := s.Condition[i].Operator
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, op)
			b.WriteString(":{")
			start := i
			for ; i < len(s.Condition) && s.Condition[i].Operator == op; i++ {
				if i > start {
					b.WriteByte(',')
				}
				writeString(b, s.Condition[i].Key)
				b.WriteByte(':')
				writeList(b, s.Condition[i].Values)
			}
			b.WriteByte('}')
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
}

func (ps *Principals) marshal(b *bytes.Buffer) {
	if ps.Wildcard {
		writeString(b, "*")
		return
	}
	b.WriteByte('{')
	first := true
	for _, e := range []struct {
		name string
		list []string
	}{
		{"AWS", ps.AWS},
		{"Service", ps.Service},
		{"Federated", ps.Federated},
		{"CanonicalUser", ps.CanonicalUser},
	} {
		if e.list == nil {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, e.name)
		b.WriteByte(':')
		writeList(b, e.list)
	}
	b.WriteByte('}')
}

// writeList writes a list of one as a string, any other as an array.
func writeList(b *bytes.Buffer, list []string) {
	if len(list) == 1 {
		writeString(b, list[0])
		return
	}
	b.WriteByte('[')
	for i, s := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, s)
	}
	b.WriteByte(']')
}

func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // a string always marshals
	b.Write(enc)
}
