package kms

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/storage"
)

// ScheduleKeyDeletion schedules a key's deletion after a waiting period of
// 7 to 30 days (30 by default). The key is PendingDeletion until then.
func (s *Service) ScheduleKeyDeletion(ctx context.Context, c *Caller, in *ScheduleKeyDeletionInput) (*ScheduleKeyDeletionOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	v.intRange("pendingWindowInDays", in.PendingWindowInDays, 7, 30)
	if err := v.err(); err != nil {
		return nil, err
	}
	days := 30
	if in.PendingWindowInDays != nil {
		days = *in.PendingWindowInDays
	}
	k, err := s.modifyKey(ctx, c, in.KeyId, can("kms:ScheduleKeyDeletion"), func(tx storage.Tx, k *keyRecord) error {
		if k.State == statePendingDeletion {
			return errInvalidState(k)
		}
		when := s.clock.Now().UTC().Add(time.Duration(days) * 24 * time.Hour)
		k.State = statePendingDeletion
		k.DeletionDate = &when
		k.PendingDays = days
		return tx.Put(deletionKey(when, k.Account, k.Region, k.KeyID), nil)
	})
	if err != nil {
		return nil, err
	}
	return &ScheduleKeyDeletionOutput{
		DeletionDate:        ts(*k.DeletionDate),
		KeyId:               k.ARN,
		KeyState:            k.State,
		PendingWindowInDays: days,
	}, nil
}

// CancelKeyDeletion cancels a scheduled deletion; the key is left Disabled,
// as AWS leaves it.
func (s *Service) CancelKeyDeletion(ctx context.Context, c *Caller, in *KeyIDInput) (*CancelKeyDeletionOutput, error) {
	if err := validateKeyID(in.KeyId); err != nil {
		return nil, err
	}
	k, err := s.modifyKey(ctx, c, in.KeyId, can("kms:CancelKeyDeletion"), func(tx storage.Tx, k *keyRecord) error {
		if k.State != statePendingDeletion {
			return awserr.New(awserr.KMSInvalidState, "%s is not pending deletion.", k.ARN)
		}
		if err := tx.Delete(deletionKey(*k.DeletionDate, k.Account, k.Region, k.KeyID)); err != nil {
			return err
		}
		k.State = stateDisabled
		if k.Origin == originExternal && (len(k.Materials) == 0 || k.Materials[k.Current].Sealed == nil) {
			k.State = statePendingImport // its imported material was deleted or expired
		}
		k.DeletionDate = nil
		k.PendingDays = 0
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &CancelKeyDeletionOutput{KeyId: k.ARN}, nil
}

// SweepDeletions erases every key whose deletion date has passed: the key
// record with its sealed material, its aliases, its grants, its last use
// and its index entries. It returns how many keys it erased.
func (s *Service) SweepDeletions(ctx context.Context) (int, error) {
	now := s.clock.Now()
	erased := 0
	for {
		var due []storage.KV
		err := s.store.View(ctx, func(tx storage.Tx) error {
			kvs, _, err := tx.List([]byte(deletionPrefix), nil, 100)
			for _, kv := range kvs {
				if indexTime(kv.Key, deletionPrefix).After(now) {
					break
				}
				due = append(due, kv)
			}
			return err
		})
		if err != nil || len(due) == 0 {
			return erased, err
		}
		for _, kv := range due {
			if err := s.store.Update(ctx, func(tx storage.Tx) error { return s.erase(tx, kv.Key) }); err != nil {
				return erased, err
			}
			erased++
		}
	}
}

// indexTime reads the time out of a time-ordered index key (deletions,
// rotations, expiries): "<prefix><20-digit unix nanos>/…".
func indexTime(key []byte, prefix string) time.Time {
	nanos, _, _ := strings.Cut(strings.TrimPrefix(string(key), prefix), "/")
	n, _ := strconv.ParseInt(nanos, 10, 64)
	return time.Unix(0, n)
}

func (s *Service) erase(tx storage.Tx, indexKey []byte) error {
	if err := tx.Delete(indexKey); err != nil {
		return err
	}
	parts := strings.Split(strings.TrimPrefix(string(indexKey), deletionPrefix), "/")
	if len(parts) != 4 {
		return errors.New("corrupt deletion index key " + string(indexKey))
	}
	acct, region, id := parts[1], parts[2], parts[3]
	var k keyRecord
	if err := getJSON(tx, keyKey(acct, region, id), &k); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	}
	if !s.deleted(&k) {
		return nil // cancelled and maybe rescheduled: another index entry covers it
	}
	// The aliases that point at the key go with it.
	aliases, _, err := tx.List(aliasIndexPrefix(acct, region, id), nil, 0)
	if err != nil {
		return err
	}
	for _, a := range aliases {
		name := strings.TrimPrefix(string(a.Key), string(aliasIndexPrefix(acct, region, id)))
		if err := tx.Delete(aliasKey(acct, region, name)); err != nil {
			return err
		}
		if err := tx.Delete(a.Key); err != nil {
			return err
		}
	}
	// So do its grants, with their index entries.
	if err := eraseGrants(tx, acct, region, id); err != nil {
		return err
	}
	n, err := getCount(tx, keyCountKey(acct, region))
	if err != nil {
		return err
	}
	if n > 0 {
		n--
	}
	if err := putCount(tx, keyCountKey(acct, region), n); err != nil {
		return err
	}
	if err := tx.Delete(lastUseKey(acct, region, id)); err != nil {
		return err
	}
	if err := markErased(tx); err != nil {
		return err
	}
	return tx.Delete(keyKey(acct, region, id))
}

// RunDeletionSweeper sweeps due deletions, then due rotations
// (SweepRotations), then expired imported material (SweepExpiredMaterial),
// then compacts the store if key material was erased (CompactIfErased),
// every interval until ctx is done.
func (s *Service) RunDeletionSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.SweepDeletions(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("deletion sweep failed", "err", err)
		} else if n > 0 {
			s.log.Info("deleted keys whose waiting period ended", "count", n)
		}
		if n, err := s.SweepRotations(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("rotation sweep failed", "err", err)
		} else if n > 0 {
			s.log.Info("rotated keys whose rotation was due", "count", n)
		}
		if n, err := s.SweepExpiredMaterial(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("imported material expiry sweep failed", "err", err)
		} else if n > 0 {
			s.log.Info("erased imported key material whose ValidTo passed", "count", n)
		}
		if _, err := s.CompactIfErased(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("compaction failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
