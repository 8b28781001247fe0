package policy

// BindPrincipals resolves each "AWS" principal that the policy names, in
// Principal and NotPrincipal, with resolve, which answers whether it exists
// and the unique ID of the user or role it names ("" for others). It returns
// the IDs to bind the policy to (Request.BoundPrincipals), or the first
// principal that does not exist as missing.
func BindPrincipals(p *Policy, resolve func(principal string) (uniqueID string, exists bool, err error)) (bound map[string]string, missing string, err error) {
	for _, st := range p.Statements {
		for _, ps := range []*Principals{st.Principal, st.NotPrincipal} {
			if ps == nil {
				continue
			}
			for _, name := range ps.AWS {
				id, ok, err := resolve(name)
				if err != nil {
					return nil, "", err
				}
				if !ok {
					return nil, name, nil
				}
				if id != "" {
					if bound == nil {
						bound = map[string]string{}
					}
					bound[name] = id
				}
			}
		}
	}
	return bound, "", nil
}
