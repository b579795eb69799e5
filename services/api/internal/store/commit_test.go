package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketTest = []byte("commit_test")

// putting returns a write that puts key in the test bucket.
func putting(key string) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketTest)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), []byte("v"))
	}
}

// stored reports which of keys the test bucket holds.
func stored(t *testing.T, s *Store, keys ...string) []bool {
	t.Helper()
	held := make([]bool, len(keys))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTest)
		for i, k := range keys {
			held[i] = b != nil && b.Get([]byte(k)) != nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return held
}

func TestCommitter_ConcurrentWritesShareCommits(t *testing.T) {
	s := openTest(t)
	const writers = 200
	var mu sync.Mutex
	commits := map[int]int{}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			put := putting(fmt.Sprint("k", i))
			errs <- s.commits.do(func(tx *bolt.Tx) error {
				mu.Lock()
				commits[tx.ID()]++
				mu.Unlock()
				return put(tx)
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	keys := make([]string, writers)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	for i, ok := range stored(t, s, keys...) {
		if !ok {
			t.Errorf("write %d was answered but is not stored", i)
		}
	}
	if len(commits) >= writers {
		t.Errorf("%d concurrent writes took %d commits; want them grouped", writers, len(commits))
	}
}

func TestCommitter_FailureRollsBackOnlyItsOwnWrites(t *testing.T) {
	s := openTest(t)
	boom := errors.New("refused")
	group := []write{
		{fn: putting("before"), out: make(chan error, 1)},
		{fn: func(tx *bolt.Tx) error {
			if err := putting("failed")(tx); err != nil {
				return err
			}
			return boom
		}, out: make(chan error, 1)},
		{fn: func(*bolt.Tx) error { panic("bad write") }, out: make(chan error, 1)},
		{fn: putting("after"), out: make(chan error, 1)},
	}
	s.commits.commit(group)

	if err := <-group[1].out; !errors.Is(err, boom) {
		t.Errorf("the failing write got %v, want its own error", err)
	}
	if err := <-group[2].out; err == nil || !strings.Contains(err.Error(), "bad write") {
		t.Errorf("the panicking write got %v, want an error naming the panic", err)
	}
	for _, i := range []int{0, 3} {
		if err := <-group[i].out; err != nil {
			t.Errorf("write %d got %v, want it committed", i, err)
		}
	}
	held := stored(t, s, "before", "failed", "after")
	if !held[0] || held[1] || !held[2] {
		t.Errorf("stored before, failed, after = %v; want true, false, true", held)
	}
}

func TestCommitter_StartingRunsOnceBeforeTheWrite(t *testing.T) {
	s := openTest(t)
	var started, ran int
	err := s.commits.doStarting(func(tx *bolt.Tx) error {
		ran++
		if started != 1 {
			return fmt.Errorf("the write ran with starting called %d times, want once before", started)
		}
		return putting("k")(tx)
	}, func() { started++ })
	if err != nil {
		t.Fatal(err)
	}
	if started != 1 || ran != 1 || !stored(t, s, "k")[0] {
		t.Errorf("starting called %d times, the write ran %d times, stored %v; want 1, 1, true",
			started, ran, stored(t, s, "k")[0])
	}
}

func TestCommitter_WritesAfterCloseFail(t *testing.T) {
	s, err := Open(t.TempDir()+"/mfa.db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.commits.close() // a second close only waits

	called := false
	err = s.CreateChallengeStarting(&Challenge{ID: NewChallengeID()}, nil, func() { called = true })
	if !errors.Is(err, errClosed) || called {
		t.Errorf("a write after Close = %v with starting called %v; want errClosed, not called", err, called)
	}
}

// waitPending waits until n writes wait for a commit.
func waitPending(t *testing.T, c *committer, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		c.mu.Lock()
		got := len(c.pending)
		c.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
	t.Fatalf("%d writes never came to wait for a commit", n)
}

func TestCommitter_UnhurriedWritesRideAlong(t *testing.T) {
	s := openTest(t)
	s.commits.unhurried = time.Hour // only another write can start their commit
	const riders = 5
	var mu sync.Mutex
	txs := map[int]bool{}
	recording := func(key string) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			mu.Lock()
			txs[tx.ID()] = true
			mu.Unlock()
			return putting(key)(tx)
		}
	}

	errs := make(chan error, riders)
	for i := range riders {
		go func() { errs <- s.commits.doUnhurried(recording(fmt.Sprint("rider", i))) }()
	}
	waitPending(t, s.commits, riders)
	if err := s.commits.do(recording("hurried")); err != nil {
		t.Fatal(err)
	}
	for range riders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(txs) != 1 {
		t.Errorf("%d unhurried writes and a hurried one took %d commits; want them in one", riders, len(txs))
	}
}

func TestCommitter_UnhurriedWriteAloneCommits(t *testing.T) {
	s := openTest(t)
	if err := s.commits.doUnhurried(putting("alone")); err != nil {
		t.Fatal(err)
	}
	if !stored(t, s, "alone")[0] {
		t.Error("a lone unhurried write was answered but is not stored")
	}
}

func TestCommitter_CloseCommitsWaitingUnhurriedWrites(t *testing.T) {
	s, err := Open(t.TempDir()+"/mfa.db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.commits.unhurried = time.Hour // only the close can commit it
	done := make(chan error, 1)
	go func() { done <- s.commits.doUnhurried(putting("late")) }()
	waitPending(t, s.commits, 1)
	s.commits.close()
	if err := <-done; err != nil {
		t.Errorf("a waiting unhurried write got %v at close, want it committed", err)
	}
	if err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketTest); b == nil || b.Get([]byte("late")) == nil {
			return errors.New("not stored")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
