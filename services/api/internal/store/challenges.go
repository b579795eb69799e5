package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// challengeKey returns the 16-byte key of an auth id, or false when the id
// is not a UUID.
func challengeKey(id string) ([]byte, bool) {
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return nil, false
	}
	return u[:], true
}

// NewChallengeID returns a new time-ordered auth id (UUIDv7).
func NewChallengeID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// CreateChallenge stores a new challenge, sharing the commit with other
// concurrent writes. guard, when not nil, runs first in the same
// transaction; when it refuses, nothing is written and its error is
// returned. guard must write nothing when it refuses: a refusal does not
// roll the shared commit back, so that refusals cost the other writes in
// the batch nothing. It fails with ErrExists when the id is taken, or
// guard's error.
func (s *Store) CreateChallenge(c *Challenge, guard Guard) error {
	return s.CreateChallengeStarting(c, guard, nil)
}

// CreateChallengeStarting is CreateChallenge with starting, when not nil,
// called just before the commit that stores c begins, so that work it
// starts (a publish) overlaps the commit; it must neither block nor panic,
// as every write waits for it. It is not called when c never reaches a
// commit.
func (s *Store) CreateChallengeStarting(c *Challenge, guard Guard, starting func()) error {
	key, ok := challengeKey(c.ID)
	if !ok {
		return fmt.Errorf("%w: bad challenge id %q", ErrCorrupt, c.ID)
	}
	raw, err := encodeChallenge(c)
	if err != nil {
		return err
	}

	var refused error
	err = s.commits.doStarting(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChallenges)
		b.FillPercent = appendFill
		if refused = nil; b.Get(key) != nil {
			refused = ErrExists
			return nil
		}
		if guard != nil {
			if refused = guard(s.counters(tx)); refused != nil {
				return nil
			}
		}
		return b.Put(key, raw)
	}, starting)
	if err != nil {
		return err
	}
	return refused
}

// GetChallenge returns the challenge with id. It fails with ErrNotFound,
// also for an id that is not a UUID.
func (s *Store) GetChallenge(id string) (*Challenge, error) {
	key, ok := challengeKey(id)
	if !ok {
		return nil, ErrNotFound
	}
	var c Challenge
	err := s.db.View(func(tx *bolt.Tx) error {
		return getChallenge(tx.Bucket(bucketChallenges), key, &c)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdateChallenge reads the challenge with id, passes it to fn and stores
// it again if fn returns true, all in one batched write transaction, so
// that concurrent updates of one challenge are serialised.
//
// fn may run more than once and must set its outcomes afresh on every run.
// When fn returns an error the transaction is rolled back and the error
// returned. UpdateChallenge fails with ErrNotFound (fn not called) when the
// challenge does not exist.
func (s *Store) UpdateChallenge(id string, fn func(c *Challenge) (bool, error)) error {
	return s.updateChallenge(id, fn, s.commits.do)
}

// UpdateChallengeUnhurried is UpdateChallenge for a change that no request
// waits on, such as a delivery status: its write joins the next commit a
// request starts, waiting a few milliseconds at most, so that a steady
// stream of such changes does not take a commit each.
func (s *Store) UpdateChallengeUnhurried(id string, fn func(c *Challenge) (bool, error)) error {
	return s.updateChallenge(id, fn, s.commits.doUnhurried)
}

// updateChallenge is UpdateChallenge with the write made by write.
func (s *Store) updateChallenge(id string, fn func(c *Challenge) (bool, error),
	write func(func(*bolt.Tx) error) error) error {
	key, ok := challengeKey(id)
	if !ok {
		return ErrNotFound
	}
	missing := false
	err := write(func(tx *bolt.Tx) error {
		err := updateChallengeTx(tx, key, fn)
		// A missing challenge is an answer, not a failure: returning it
		// would roll back the whole shared commit.
		missing = errors.Is(err, ErrNotFound)
		if missing {
			return nil
		}
		return err
	})
	if err == nil && missing {
		return ErrNotFound
	}
	return err
}

func updateChallengeTx(tx *bolt.Tx, key []byte, fn func(*Challenge) (bool, error)) error {
	b := tx.Bucket(bucketChallenges)
	b.FillPercent = appendFill
	var c Challenge
	if err := getChallenge(b, key, &c); err != nil {
		return err
	}
	write, err := fn(&c)
	if err != nil || !write {
		return err
	}
	return putChallenge(b, key, &c)
}

// appendFill is the page fill of the challenges bucket: its keys are
// time-ordered, so new ones land at the end and pages can be packed full
// instead of split in half.
const appendFill = 0.95

func getChallenge(b *bolt.Bucket, key []byte, c *Challenge) error {
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	return decodeChallenge(raw, c)
}

func putChallenge(b *bolt.Bucket, key []byte, c *Challenge) error {
	raw, err := encodeChallenge(c)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// DeleteChallenge removes a challenge; a missing one is not an error.
func (s *Store) DeleteChallenge(id string) error {
	key, ok := challengeKey(id)
	if !ok {
		return nil
	}
	return s.commits.do(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketChallenges).Delete(key)
	})
}

// SweepChallenges deletes up to limit challenges created before cutoff
// and returns how many it deleted.
func (s *Store) SweepChallenges(cutoff time.Time, limit int) (int, error) {
	return s.sweepOld(bucketChallenges, cutoff, limit)
}

// sweepOld deletes up to limit entries of a bucket keyed by UUIDv7 that
// were made before cutoff. The keys are time-ordered, so it reads from
// the front of the bucket and stops at the first newer one.
func (s *Store) sweepOld(bucket []byte, cutoff time.Time, limit int) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucket)
		var doomed [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && len(doomed) < limit; k, _ = c.Next() {
			if !createdBefore(k, cutoff) {
				break
			}
			doomed = append(doomed, append([]byte(nil), k...))
		}

		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}

		n = len(doomed)
		return nil
	})

	return n, err
}

// createdBefore reads the millisecond timestamp of a UUIDv7 key.
func createdBefore(key []byte, cutoff time.Time) bool {
	if len(key) != 16 {
		return true
	}
	var ms int64
	for _, b := range key[:6] {
		ms = ms<<8 | int64(b)
	}
	return ms < cutoff.UnixMilli()
}

// CountChallenges returns the number of stored challenges.
func (s *Store) CountChallenges() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketChallenges).Stats().KeyN
		return nil
	})
	return n, err
}
