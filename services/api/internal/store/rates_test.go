package store

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bump adds one to the big-endian counters at keys.
func bump(t testing.TB, r *Rates, keys ...string) {
	t.Helper()
	err := r.Apply(keys, func(vals [][]byte) error {
		for i, v := range vals {
			n := uint64(0)
			if v != nil {
				n = binary.BigEndian.Uint64(v)
			}
			vals[i] = binary.BigEndian.AppendUint64(nil, n+1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// inBucket reads key from the counters bucket itself, past the memory.
func inBucket(t testing.TB, s *Store, key string) uint64 {
	t.Helper()
	var n uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketCounters).Get([]byte(key)); v != nil {
			n = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// reopen closes s and opens its file again, flushing only at Close.
func reopen(t *testing.T, s *Store) *Store {
	t.Helper()
	path := s.Path()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{RateFlush: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRates_WrittenBehindAndAtClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mfa.db")
	s, err := Open(path, Options{RateFlush: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	bump(t, s.Rates(), "rl\x00a", "rl\x00b")
	bump(t, s.Rates(), "rl\x00a")
	if n := inBucket(t, s, "rl\x00a"); n != 0 {
		t.Errorf("bucket holds %d before any flush; want the change kept in memory", n)
	}
	if v, _ := s.ReadCounter("rl\x00a"); v == nil || binary.BigEndian.Uint64(v) != 2 {
		t.Errorf("ReadCounter = %v; want 2 from memory", v)
	}
	s = reopen(t, s)
	defer s.Close()
	if a, b := inBucket(t, s, "rl\x00a"), inBucket(t, s, "rl\x00b"); a != 2 || b != 1 {
		t.Errorf("after close and reopen the bucket holds a=%d b=%d; want 2 and 1", a, b)
	}
	bump(t, s.Rates(), "rl\x00a")
	if err := s.Rates().Flush(); err != nil {
		t.Fatal(err)
	}
	if n := inBucket(t, s, "rl\x00a"); n != 3 {
		t.Errorf("after a flush the bucket holds %d; want 3, counted on from what was stored", n)
	}
	if len(s.Rates().m) != 0 {
		t.Errorf("%d counters left in memory after a flush; want none", len(s.Rates().m))
	}
}

// Counters dropped from memory by frequent flushes are read back from the
// bucket without losing a count, however the two interleave.
func TestRates_ConcurrentCountsSurviveFlushes(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "mfa.db"), Options{RateFlush: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const workers, each = 16, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if i%2 == 0 {
					bump(t, s.Rates(), "rl\x00hot", "rl\x00w"+string(rune('a'+w)))
				} else {
					bump(t, s.Rates(), "rl\x00hot")
				}
			}
		})
	}
	wg.Wait()
	if err := s.Rates().Flush(); err != nil {
		t.Fatal(err)
	}
	if n := inBucket(t, s, "rl\x00hot"); n != workers*each {
		t.Errorf("hot counter = %d; want %d", n, workers*each)
	}
	for w := range workers {
		if n := inBucket(t, s, "rl\x00w"+string(rune('a'+w))); n != each/2 {
			t.Errorf("worker %d's counter = %d; want %d", w, n, each/2)
		}
	}
}

func TestRates_FnErrorKeepsNothing(t *testing.T) {
	s := openTest(t)
	bump(t, s.Rates(), "rl\x00a")
	err := s.Rates().Apply([]string{"rl\x00a", "rl\x00b"}, func(vals [][]byte) error {
		vals[0], vals[1] = []byte("changed!"), []byte("changed!")
		return errRefused
	})
	if err != errRefused {
		t.Fatalf("Apply = %v; want fn's error", err)
	}
	if v, _ := s.ReadCounter("rl\x00a"); binary.BigEndian.Uint64(v) != 1 {
		t.Errorf("a refused Apply changed a counter to %q", v)
	}
	if v, _ := s.ReadCounter("rl\x00b"); v != nil {
		t.Errorf("a refused Apply created a counter %q", v)
	}
}

func TestRates_DeleteCountersClearsMemoryAndBucket(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "mfa.db"), Options{RateFlush: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bump(t, s.Rates(), "rl\x00flushed")
	if err := s.Rates().Flush(); err != nil {
		t.Fatal(err)
	}
	bump(t, s.Rates(), "rl\x00memory", "rl\x00kept")

	n, err := s.DeleteCounters([]string{"rl\x00flushed", "rl\x00memory", "rl\x00never"})
	if err != nil || n != 2 {
		t.Fatalf("DeleteCounters = %d, %v; want 2 (one flushed, one only in memory)", n, err)
	}
	if err := s.Rates().Flush(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rl\x00flushed", "rl\x00memory"} {
		if v, _ := s.ReadCounter(k); v != nil {
			t.Errorf("%q = %q after it was deleted and flushed", k, v)
		}
	}
	if n := inBucket(t, s, "rl\x00kept"); n != 1 {
		t.Errorf("a counter not deleted = %d; want 1", n)
	}
}

var errRefused = errorString("refused")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestPresence_NoFalseNoAndFewFalseYes(t *testing.T) {
	p := newPresence(10_000)
	for i := range 10_000 {
		p.add(fmt.Sprintf("rl\x00user\x00c\x00in%d", i))
	}
	for i := range 10_000 {
		if k := fmt.Sprintf("rl\x00user\x00c\x00in%d", i); !p.mayHave(k) {
			t.Fatalf("added key %q reported absent", k)
		}
	}
	for range 100_000 {
		p.add("rl\x00user\x00c\x00in7")
	}
	if p.full() {
		t.Error("one key added again and again filled the filter")
	}
	wrong := 0
	for i := range 10_000 {
		if p.mayHave(fmt.Sprintf("rl\x00user\x00c\x00out%d", i)) {
			wrong++
		}
	}
	if wrong > 300 {
		t.Errorf("%d of 10000 keys never added reported present; want about 1 %%", wrong)
	}
}

// A counter in the bucket from before the store opened is read, and so
// is one flushed after the key filter was rebuilt for growing past its
// size.
func TestRates_ReadsWhatTheBucketHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mfa.db")
	s, err := Open(path, Options{RateFlush: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCounters).Put([]byte("rl\x00old"), binary.BigEndian.AppendUint64(nil, 41))
	})
	if err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s)
	defer s.Close()
	bump(t, s.Rates(), "rl\x00old")
	for i := range presenceMin + 10 {
		bump(t, s.Rates(), fmt.Sprintf("rl\x00many\x00%d", i))
	}
	if err := s.Rates().Flush(); err != nil {
		t.Fatal(err)
	}
	if s.Rates().onDisk.full() {
		t.Error("the key filter was not rebuilt once it held more keys than it was sized for")
	}
	bump(t, s.Rates(), "rl\x00old", "rl\x00many\x007")
	if v, _ := s.ReadCounter("rl\x00old"); binary.BigEndian.Uint64(v) != 43 {
		t.Errorf("counter stored before opening = %d; want 43", binary.BigEndian.Uint64(v))
	}
	if v, _ := s.ReadCounter("rl\x00many\x007"); binary.BigEndian.Uint64(v) != 2 {
		t.Errorf("counter flushed before the rebuild = %d; want 2", binary.BigEndian.Uint64(v))
	}
}
