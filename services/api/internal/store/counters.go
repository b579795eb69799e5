package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// The counters bucket holds rate-limit and failure-budget state, keyed by
// NUL-separated strings built by package limits (such as
// "rl\x00dest\x00<client>\x00<destination>"). Values are opaque here.

// Counters reads and writes the counters bucket inside one write
// transaction. It is only valid during the call it is passed to.
type Counters struct {
	b *bolt.Bucket
	// rates knows which keys the bucket may hold, so that a key never
	// written (most failure budgets: few users ever type a wrong code) is
	// not looked up.
	rates *Rates
}

func (s *Store) counters(tx *bolt.Tx) Counters {
	return Counters{b: tx.Bucket(bucketCounters), rates: s.rates}
}

// Get returns a copy of the value at key, or nil.
func (c Counters) Get(key string) []byte {
	if !c.rates.mayHold(key) {
		return nil
	}
	v := c.b.Get([]byte(key))
	if v == nil {
		return nil
	}
	return bytes.Clone(v)
}

// Put stores value at key.
func (c Counters) Put(key string, value []byte) error {
	c.rates.holds(key)
	return c.b.Put([]byte(key), value)
}

// Guard checks and updates counters before a write is allowed; an error
// rolls the whole transaction back.
type Guard func(ctrs Counters) error

// DeleteCounters deletes the counters at keys, in memory and in the
// bucket, and returns how many existed.
func (s *Store) DeleteCounters(keys []string) (int, error) {
	n := 0
	err := s.rates.deleting(func() []string { return keys }, func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			n = 0
			return deleteCountersTx(tx, keys, &n)
		})
	})
	return n, err
}

func deleteCountersTx(tx *bolt.Tx, keys []string, n *int) error {
	b := tx.Bucket(bucketCounters)
	for _, k := range keys {
		if b.Get([]byte(k)) == nil {
			continue
		}
		if err := b.Delete([]byte(k)); err != nil {
			return err
		}
		*n++
	}

	return nil
}

// SweepCounters deletes the counters that stale reports as no longer
// mattering among up to limit keys from start (empty for the beginning).
// It returns how many it deleted and the first key it did not look at,
// to start the next call from (empty when the scan reached the end). The
// keys are read in a read-only transaction, so a scan that finds nothing
// to delete costs no commit; those found are checked again before they
// are deleted, since a request may have counted one in between.
func (s *Store) SweepCounters(start string, limit int, stale func(key string, value []byte) bool) (int, string, error) {
	var doomed [][]byte
	next := ""
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketCounters).Cursor()
		seen := 0
		for k, v := c.Seek([]byte(start)); k != nil; k, v = c.Next() {
			if seen++; seen > limit {
				next = string(k)
				break
			}
			if stale(string(k), v) {
				doomed = append(doomed, bytes.Clone(k))
			}
		}
		return nil
	})
	if err != nil || len(doomed) == 0 {
		return 0, next, err
	}

	n := 0
	err = s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketCounters)
		for _, k := range doomed {
			if v := b.Get(k); v == nil || !stale(string(k), v) {
				continue
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, next, err
}

// ReadCounter returns a copy of the counter at key, or nil, whether it is
// held in memory or only in the bucket.
func (s *Store) ReadCounter(key string) ([]byte, error) {
	if v, ok := s.rates.peek(key); ok {
		return v, nil
	}
	if !s.rates.mayHold(key) {
		return nil, nil
	}
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		out = bytes.Clone(tx.Bucket(bucketCounters).Get([]byte(key)))
		return nil
	})
	return out, err
}
