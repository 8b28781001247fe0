package policy

import "sync"

// Cache keeps parsed policies by their text, so that a policy read with
// every request is parsed once. It holds at most Max documents (default
// 4096); when full it starts again empty, which keeps it bounded without
// bookkeeping on the hot path. The zero value is ready to use and safe for
// concurrent use.
type Cache struct {
	Max int

	mu sync.RWMutex
	m  map[cacheKey]*Policy
}

type cacheKey struct {
	doc  string
	kind Kind
}

// Parse returns Parse(doc, kind), from the cache when it has it. Documents
// that do not parse are not cached.
func (c *Cache) Parse(doc string, kind Kind) (*Policy, error) {
	k := cacheKey{doc, kind}
	c.mu.RLock()
	p, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return p, nil
	}
	p, err := Parse(doc, kind)
	if err != nil {
		return nil, err
	}
	max := c.Max
	if max <= 0 {
		max = 4096
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= max {
		c.m = make(map[cacheKey]*Policy)
	}
	c.m[k] = p
	c.mu.Unlock()
	return p, nil
}
