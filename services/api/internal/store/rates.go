package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Rate-limit counters change with every request, each at its own place in
// the counters bucket, so writing them in the request's commit would add
// scattered pages to every shared commit (measured: about a fifth of the
// OTP request rate). Rates keeps them in memory instead and writes them
// behind: a changed counter reaches the bucket within one flush interval,
// and at Close. A crash loses at most the last interval's changes, so the
// limits then count fewer requests than were served, never more.

// DefaultRateFlush is how often changed rate counters are written when
// Options.RateFlush is zero.
const DefaultRateFlush = time.Second

// rateFlushChunk is the most counters one flush commit writes.
const rateFlushChunk = 500

// Rates holds rate-limit counters in memory in front of the counters
// bucket. Values are opaque here, as in the bucket. It is safe for
// concurrent use.
type Rates struct {
	db *bolt.DB
	// write runs a function in a shared write transaction.
	write func(func(*bolt.Tx) error) error
	// flushMu serialises flushes with deletions, so that a flush never
	// writes back a counter that is being deleted.
	flushMu sync.Mutex

	mu sync.Mutex
	m  map[string]*rateEntry
	// onDisk has every key the bucket may hold; keys it has not are not
	// read from the bucket. sinceScan collects the keys other writers
	// add while it is being rebuilt from the bucket.
	onDisk    *presence
	sinceScan []string
	// seq numbers the changes; epoch counts the times entries were
	// dropped, so that a load that raced with a drop is done again.
	seq, epoch uint64

	onError  func(error)
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// rateEntry is a counter in memory. changed is the seq of its latest
// change not yet written, or 0 when the bucket holds the same value.
type rateEntry struct {
	val     []byte
	changed uint64
}

func newRates(db *bolt.DB, write func(func(*bolt.Tx) error) error, every time.Duration,
	onError func(error)) (*Rates, error) {
	if every <= 0 {
		every = DefaultRateFlush
	}
	if onError == nil {
		onError = func(error) {}
	}
	r := &Rates{db: db, write: write, m: map[string]*rateEntry{}, onError: onError,
		stop: make(chan struct{}), done: make(chan struct{})}
	err := db.View(func(tx *bolt.Tx) error {
		r.onDisk = scanPresence(tx)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading counter keys: %w", err)
	}
	go r.run(every)
	return r, nil
}

// run flushes every interval until close.
func (r *Rates) run(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := r.Flush(); err != nil {
				r.onError(err)
			}
		case <-r.stop:
			return
		}
	}
}

// close stops the flusher and writes what is left. Calls after the first
// only write.
func (r *Rates) close() error {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
	return r.Flush()
}

// Apply passes the values at keys (nil where there is none) to fn, which
// may replace them; when fn returns nil the replacements are kept. No
// other Apply sees the keys in between. It fails only when a counter
// cannot be read from the bucket, or with fn's error.
func (r *Rates) Apply(keys []string, fn func(vals [][]byte) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for !r.cached(keys) {
		if err := r.load(keys); err != nil {
			return err
		}
	}

	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = r.m[k].val
	}
	if err := fn(vals); err != nil {
		return err
	}

	for i, k := range keys {
		if e := r.m[k]; !bytes.Equal(e.val, vals[i]) {
			r.seq++
			e.val, e.changed = bytes.Clone(vals[i]), r.seq
		}
	}
	return nil
}

// mayHold reports whether the counters bucket may hold key.
func (r *Rates) mayHold(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.onDisk.mayHave(key)
}

// holds records that a transaction writes key to the counters bucket.
func (r *Rates) holds(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onDisk.add(key)
	if r.sinceScan != nil {
		r.sinceScan = append(r.sinceScan, key)
	}
}

// peek returns a copy of the counter at key if it is in memory.
func (r *Rates) peek(key string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.m[key]; e != nil {
		return bytes.Clone(e.val), true
	}
	return nil, false
}

// cached reports whether every key is in memory. r.mu is held.
func (r *Rates) cached(keys []string) bool {
	for _, k := range keys {
		if r.m[k] == nil {
			return false
		}
	}
	return true
}

// load reads the keys missing from memory from the bucket, with r.mu
// released meanwhile so that other counters are not held up. What it read
// is dropped when a flush or deletion dropped entries in between, since
// the bucket may have moved on. r.mu is held on entry and on return.
func (r *Rates) load(keys []string) error {
	var missing []string
	for _, k := range keys {
		switch {
		case r.m[k] != nil:
		case !r.onDisk.mayHave(k):
			r.m[k] = &rateEntry{}
		default:
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	epoch := r.epoch
	r.mu.Unlock()
	vals := make([][]byte, len(missing))
	err := r.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		for i, k := range missing {
			vals[i] = bytes.Clone(b.Get([]byte(k)))
		}
		return nil
	})
	r.mu.Lock()
	if err != nil || r.epoch != epoch {
		return err
	}

	for i, k := range missing {
		if r.m[k] == nil {
			r.m[k] = &rateEntry{val: vals[i]}
		}
	}
	return nil
}

// Flush writes the changed counters to the bucket, at most rateFlushChunk
// at a time in key order, and drops every counter the bucket then holds
// from memory.
func (r *Rates) Flush() error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	return r.flush()
}

// flush is Flush with r.flushMu held.
func (r *Rates) flush() error {
	type write struct {
		key     string
		val     []byte
		changed uint64
	}
	r.mu.Lock()
	var writes []write
	for k, e := range r.m {
		if e.changed != 0 {
			writes = append(writes, write{k, e.val, e.changed})
			r.onDisk.add(k)
		}
	}
	r.mu.Unlock()

	// In key order, each chunk fills its own run of pages. Small chunks
	// ride along with requests' shared commits, which then grow a little,
	// instead of holding them all up behind one large commit.
	slices.SortFunc(writes, func(a, b write) int { return strings.Compare(a.key, b.key) })
	var failed error
	done := 0
	for chunk := range slices.Chunk(writes, rateFlushChunk) {
		err := r.write(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketCounters)
			for _, w := range chunk {
				if err := b.Put([]byte(w.key), w.val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			failed = errors.Join(errors.New("store: writing rate counters"), err)
			break
		}
		done += len(chunk)
	}

	var rebuilt *presence
	r.mu.Lock()
	full := r.onDisk.full()
	r.mu.Unlock()
	if full {
		var err error
		rebuilt, err = r.rescan()
		failed = errors.Join(failed, err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if rebuilt != nil {
		for _, k := range r.sinceScan {
			rebuilt.add(k)
		}
		r.onDisk = rebuilt
	}
	r.sinceScan = nil
	for _, w := range writes[:done] {
		if e := r.m[w.key]; e != nil && e.changed == w.changed {
			e.changed = 0
		}
	}
	for k, e := range r.m {
		if e.changed == 0 {
			delete(r.m, k)
		}
	}
	r.epoch++
	return failed
}

// rescan builds a new key filter from the bucket. Keys written from the
// time it starts are collected in r.sinceScan for the caller to add; an
// empty write transaction then waits out the writers that added keys
// before, so the read transaction that follows sees all of those.
func (r *Rates) rescan() (*presence, error) {
	r.mu.Lock()
	r.sinceScan = []string{}
	r.mu.Unlock()
	var p *presence
	err := r.db.Update(func(*bolt.Tx) error { return nil })
	if err == nil {
		err = r.db.View(func(tx *bolt.Tx) error {
			p = scanPresence(tx)
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("store: rescanning counter keys: %w", err)
	}
	return p, nil
}

// deleting writes every changed counter, runs fn, which deletes counters
// from the bucket, and then drops keys from memory, so that neither a
// flush nor a counter loaded before fn brings them back.
func (r *Rates) deleting(keys func() []string, fn func() error) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	if err := r.flush(); err != nil {
		return err
	}

	err := fn()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys() {
		delete(r.m, k)
	}
	r.epoch++
	return err
}

// Rates returns the store's rate counters.
func (s *Store) Rates() *Rates { return s.rates }
