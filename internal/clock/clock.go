// Package clock gives kagi one source of time that tests can move.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time. Every schedule in kagi reads it.
type Clock interface {
	Now() time.Time
}

// System is the real clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// Fake is a clock that runs with real time plus an offset that tests move
// forward, so that days and years pass in a second while timeouts and
// request signatures made with the same clock keep working.
type Fake struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the real time moved by the offset.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().Add(f.offset)
}

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.offset += d
	f.mu.Unlock()
}
