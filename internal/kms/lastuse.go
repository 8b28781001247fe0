package kms

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kagikms/kagi/internal/storage"
)

// Last use of a key (GetKeyLastUsage). Every successful cryptographic
// operation records its key's last use in memory (usageTracker.record: a
// map write under a mutex, no storage write), and FlushLastUse writes what
// changed to storage in one transaction: every LastUseFlushInterval and at
// shutdown. GetKeyLastUsage reads memory first, so it is never behind on a
// running server; a crash loses at most one interval of updates, which AWS's
// eventual consistency allows.

// lastUse is a key's last successful cryptographic operation, as stored
// under lastUseKey.
type lastUse struct {
	Operation string    `json:"op"`
	Time      time.Time `json:"ts"`
	// RequestID is the x-amzn-RequestId of the request that used the key.
	RequestID string `json:"req,omitempty"`
	// EventID is the eventID of that request's audit record.
	EventID string `json:"ev,omitempty"`
}

// lastUseKey is where a key's last use is stored: apart from the key
// record, so that a flush rewrites a few bytes, not the record with its
// sealed material.
func lastUseKey(acct, region, id string) []byte {
	return []byte("lu/" + acct + "/" + region + "/" + id)
}

// trackingStartKey holds when this deployment began tracking last use: the
// first start of a kagi that has GetKeyLastUsage.
var trackingStartKey = []byte("meta/lastuse-tracking-start")

// usageTracker holds the last uses not yet written to storage.
type usageTracker struct {
	mu      sync.Mutex
	pending map[usageKey]lastUse
	start   time.Time // tracking start, once InitLastUse has run
}

// usageKey names a key in usageTracker (a struct, so a record allocates
// no map key).
type usageKey struct{ account, region, id string }

// usedKey records that k was used by a successful op (the operation's
// name, a KeyLastUsageTrackingOperation) in the request c.
func (s *Service) usedKey(k *keyRecord, op string, c *Caller) {
	if s.noLastUse {
		return
	}
	u := lastUse{Operation: op, Time: s.clock.Now().UTC(), RequestID: c.RequestID, EventID: c.EventID}
	key := usageKey{k.Account, k.Region, k.KeyID}
	t := &s.usage
	t.mu.Lock()
	if old, ok := t.pending[key]; !ok || !old.Time.After(u.Time) {
		if t.pending == nil {
			t.pending = map[usageKey]lastUse{}
		}
		t.pending[key] = u
	}
	t.mu.Unlock()
}

// pendingUse returns the unflushed last use of a key, if any.
func (t *usageTracker) pendingUse(key usageKey) (lastUse, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.pending[key]
	return u, ok
}

// InitLastUse reads, or on the first start records, when this deployment
// began tracking last use. The server calls it once before serving.
func (s *Service) InitLastUse(ctx context.Context) error {
	var start time.Time
	read := func(tx storage.Tx) (bool, error) {
		b, err := tx.Get(trackingStartKey)
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return true, start.UnmarshalText(b)
	}
	var found bool
	err := s.store.View(ctx, func(tx storage.Tx) (err error) {
		found, err = read(tx)
		return err
	})
	if err == nil && !found {
		err = s.store.Update(ctx, func(tx storage.Tx) error {
			if found, err := read(tx); found || err != nil {
				return err
			}
			start = s.clock.Now().UTC()
			b, err := start.MarshalText()
			if err != nil {
				return err
			}
			return tx.Put(trackingStartKey, b)
		})
	}
	if err != nil {
		return err
	}
	s.usage.mu.Lock()
	s.usage.start = start
	s.usage.mu.Unlock()
	return nil
}

// FlushLastUse writes the last uses recorded since the previous flush in
// one transaction, skipping keys erased meanwhile. It returns how many it
// wrote.
func (s *Service) FlushLastUse(ctx context.Context) (int, error) {
	t := &s.usage
	t.mu.Lock()
	if len(t.pending) == 0 {
		t.mu.Unlock()
		return 0, nil
	}
	batch := make(map[usageKey]lastUse, len(t.pending))
	for k, u := range t.pending {
		batch[k] = u
	}
	t.mu.Unlock()

	written := 0
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		written = 0
		for k, u := range batch {
			if _, err := tx.Get(keyKey(k.account, k.region, k.id)); err != nil {
				if errors.Is(err, storage.ErrNotFound) {
					continue // erased after its last use
				}
				return err
			}
			key := lastUseKey(k.account, k.region, k.id)
			var old lastUse
			switch err := getJSON(tx, key, &old); {
			case err == nil && old.Time.After(u.Time):
				continue
			case err != nil && !errors.Is(err, storage.ErrNotFound):
				return err
			}
			if err := putJSON(tx, key, u); err != nil {
				return err
			}
			written++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Forget what was written (or dropped), unless a newer use came since.
	t.mu.Lock()
	for k, u := range batch {
		if cur, ok := t.pending[k]; ok && cur == u {
			delete(t.pending, k)
		}
	}
	t.mu.Unlock()
	return written, nil
}

// RunLastUseFlusher flushes last uses every interval until ctx is done,
// and once more then, so a clean shutdown loses none.
func (s *Service) RunLastUseFlusher(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// The server has stopped serving; ctx is cancelled, so the
			// final flush gets a context of its own.
			if _, err := s.FlushLastUse(context.WithoutCancel(ctx)); err != nil {
				s.log.Error("last use flush at shutdown failed", "err", err)
			}
			return
		case <-t.C:
			if _, err := s.FlushLastUse(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("last use flush failed", "err", err)
			}
		}
	}
}

// GetKeyLastUsage returns a key's last successful cryptographic operation,
// in every key state.
func (s *Service) GetKeyLastUsage(ctx context.Context, c *Caller, in *KeyIDInput) (*GetKeyLastUsageOutput, error) {
	if err := validateKeyID(in.KeyId); err != nil {
		return nil, err
	}
	var out *GetKeyLastUsageOutput
	err := s.view(ctx, func(tx storage.Tx) error {
		k, err := s.loadKey(tx, c, in.KeyId, keyOnly, can("kms:GetKeyLastUsage"))
		if err != nil {
			return err
		}
		var stored lastUse
		if err := getJSON(tx, lastUseKey(k.Account, k.Region, k.KeyID), &stored); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		u := stored
		if p, ok := s.usage.pendingUse(usageKey{k.Account, k.Region, k.KeyID}); ok && !p.Time.Before(stored.Time) {
			u = p
		}
		s.usage.mu.Lock()
		start := s.usage.start
		s.usage.mu.Unlock()
		if start.Before(k.Created) {
			start = k.Created
		}
		out = &GetKeyLastUsageOutput{
			KeyId:             k.KeyID,
			KeyCreationDate:   ts(k.Created),
			TrackingStartDate: ts(start),
			KeyLastUsage:      &KeyLastUsageData{},
		}
		if u.Operation != "" {
			out.KeyLastUsage = &KeyLastUsageData{Operation: u.Operation, Timestamp: ts(u.Time), KmsRequestId: u.RequestID, CloudTrailEventId: u.EventID}
		}
		return nil
	})
	return out, err
}

// GetKeyLastUsageOutput is the GetKeyLastUsage response.
type GetKeyLastUsageOutput struct {
	KeyCreationDate *Timestamp `json:"KeyCreationDate,omitempty"`
	KeyId           string     `json:"KeyId"`
	// KeyLastUsage is an empty object while the key has no recorded use,
	// as the model documents.
	KeyLastUsage      *KeyLastUsageData `json:"KeyLastUsage"`
	TrackingStartDate *Timestamp        `json:"TrackingStartDate,omitempty"`
}

// KeyLastUsageData is the model's KeyLastUsageData. CloudTrailEventId is
// the eventID of the use's audit record (absent without an audit trail).
type KeyLastUsageData struct {
	CloudTrailEventId string     `json:"CloudTrailEventId,omitempty"`
	KmsRequestId      string     `json:"KmsRequestId,omitempty"`
	Operation         string     `json:"Operation,omitempty"`
	Timestamp         *Timestamp `json:"Timestamp,omitempty"`
}
