package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Idempotency buckets and keys:
//
//	idempotency       client id, 0x00, key                -> JSON IdempotencyRecord
//	idempotency_time  8-byte big-endian unix nanos, record key -> empty (read by the sweeper)

// IdempotencyRecord remembers which challenge a request with an
// Idempotency-Key created.
type IdempotencyRecord struct {
	// BodyHash is a hash of the request, so a different request with the
	// same key is told apart.
	BodyHash  []byte    `json:"bodyHash"`
	AuthID    string    `json:"authId"`
	CreatedAt time.Time `json:"createdAt"`
}

// ErrIdempotencyConflict is returned when a key is reused with another
// request.
var ErrIdempotencyConflict = errors.New("store: idempotency key reused with another request")

// Replayed is returned by CreateChallengeOnce when the key was already
// used for the same request; AuthID is the challenge it created.
type Replayed struct{ AuthID string }

// Error names the earlier challenge.
func (r *Replayed) Error() string { return "store: request already made as " + r.AuthID }

func idemKey(clientID, key string) []byte { return userKey(clientID, key) }

// CreateChallengeOnce is CreateChallenge guarded by an idempotency key: if
// the client used key within window for the same request (bodyHash) and
// its challenge still exists, nothing is stored and a *Replayed is
// returned; for another request it fails with ErrIdempotencyConflict.
// guard runs as for CreateChallenge, but only when a challenge is created.
// Like a guard's refusal, a replay or conflict writes nothing and does not
// roll back the shared commit.
func (s *Store) CreateChallengeOnce(c *Challenge, key string, bodyHash []byte, window time.Duration,
	guard Guard) error {
	ck, ok := challengeKey(c.ID)
	if !ok {
		return fmt.Errorf("%w: bad challenge id %q", ErrCorrupt, c.ID)
	}
	var outcome error
	err := s.commits.do(func(tx *bolt.Tx) error {
		ib := tx.Bucket(bucketIdempotency)
		k := idemKey(c.ClientID, key)
		if outcome = earlier(tx, ib.Get(k), c.CreatedAt, bodyHash, window); outcome != nil {
			return nil
		}

		if guard != nil {
			if outcome = guard(s.counters(tx)); outcome != nil {
				return nil
			}
		}

		rec := IdempotencyRecord{BodyHash: bodyHash, AuthID: c.ID, CreatedAt: c.CreatedAt}
		if err := putJSON(ib, k, &rec); err != nil {
			return err
		}
		if err := tx.Bucket(bucketIdempotencyTime).Put(timeKey(c.CreatedAt, k), nil); err != nil {
			return err
		}
		cb := tx.Bucket(bucketChallenges)
		cb.FillPercent = appendFill
		return putChallenge(cb, ck, c)
	})
	if err != nil {
		return err
	}
	return outcome
}

// EarlierUse reports, without writing, what CreateChallengeOnce would find
// for key: a *Replayed for the same request, ErrIdempotencyConflict for
// another, or nil when the key is free.
func (s *Store) EarlierUse(clientID, key string, bodyHash []byte, now time.Time, window time.Duration) error {
	var found error
	err := s.db.View(func(tx *bolt.Tx) error {
		found = earlier(tx, tx.Bucket(bucketIdempotency).Get(idemKey(clientID, key)), now, bodyHash, window)
		return nil
	})
	if err != nil {
		return err
	}
	return found
}

// earlier reports a live earlier use of an idempotency key: a *Replayed
// for the same request, ErrIdempotencyConflict for another.
func earlier(tx *bolt.Tx, raw []byte, now time.Time, bodyHash []byte, window time.Duration) error {
	var rec IdempotencyRecord
	if raw == nil || json.Unmarshal(raw, &rec) != nil || now.Sub(rec.CreatedAt) >= window {
		return nil
	}
	if string(rec.BodyHash) != string(bodyHash) {
		return ErrIdempotencyConflict
	}
	if prev, ok := challengeKey(rec.AuthID); ok && tx.Bucket(bucketChallenges).Get(prev) != nil {
		return &Replayed{AuthID: rec.AuthID}
	}
	return nil
}

func timeKey(t time.Time, suffix []byte) []byte {
	out := make([]byte, 8, 8+len(suffix))
	binary.BigEndian.PutUint64(out, uint64(t.UnixNano()))
	return append(out, suffix...)
}

// SweepIdempotency deletes up to limit records created before cutoff.
func (s *Store) SweepIdempotency(cutoff time.Time, limit int) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		tb, ib := tx.Bucket(bucketIdempotencyTime), tx.Bucket(bucketIdempotency)
		var doomed [][]byte
		c := tb.Cursor()
		for k, _ := c.First(); k != nil && len(doomed) < limit; k, _ = c.Next() {
			if len(k) < 8 || int64(binary.BigEndian.Uint64(k)) >= cutoff.UnixNano() {
				break
			}
			doomed = append(doomed, append([]byte(nil), k...))
		}

		for _, k := range doomed {
			var rec IdempotencyRecord
			indexed := time.Unix(0, int64(binary.BigEndian.Uint64(k)))
			if getJSON(ib, k[8:], &rec) == nil && !rec.CreatedAt.After(indexed) {
				if err := ib.Delete(k[8:]); err != nil {
					return err
				}
			}

			if err := tb.Delete(k); err != nil {
				return err
			}
		}

		n = len(doomed)
		return nil
	})

	return n, err
}
