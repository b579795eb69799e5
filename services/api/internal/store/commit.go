package store

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// errClosed is returned for writes that arrive after Close.
var errClosed = errors.New("store: closed")

// committer groups concurrent writes into shared commits. One goroutine
// commits: it takes every write waiting when it is free and runs them in
// one transaction, so a commit's fsyncs are shared by all the writes that
// arrived while the previous commit ran. Under no load a write commits at
// once; under load the groups grow with it, and no write waits for a timer.
type committer struct {
	db  *bolt.DB
	max int

	mu      sync.Mutex
	pending []write
	closed  bool
	wake    chan struct{}
	done    chan struct{}
}

// write is one caller's function and where its outcome goes.
type write struct {
	fn  func(*bolt.Tx) error
	out chan error
	// starting, when set, is called once as the commit that takes the
	// write begins.
	starting func()
}

// newCommitter starts the committing goroutine; max bounds the writes of
// one commit.
func newCommitter(db *bolt.DB, max int) *committer {
	c := &committer{db: db, max: max, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.run()
	return c
}

// do runs fn in a write transaction shared with other writes and returns
// once that transaction is committed, or fn's error. As with bolt's Batch,
// fn may run more than once, and an error from fn rolls back only its own
// writes.
func (c *committer) do(fn func(*bolt.Tx) error) error { return c.doStarting(fn, nil) }

// doStarting is do with a function called just before the transaction
// that runs fn begins, for work that should overlap the commit; it must
// not block. It is not called when the write never reaches a commit.
func (c *committer) doStarting(fn func(*bolt.Tx) error, starting func()) error {
	out := make(chan error, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.pending = append(c.pending, write{fn: fn, out: out, starting: starting})
	select {
	case c.wake <- struct{}{}:
	default:
	}
	c.mu.Unlock()
	return <-out
}

// close commits what is waiting and stops the goroutine; later writes
// fail with errClosed. Calls after the first only wait.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.wake)
	}
	c.mu.Unlock()
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	for range c.wake {
		for group := c.take(); len(group) > 0; group = c.take() {
			for _, w := range group {
				if w.starting != nil {
					w.starting()
				}
			}
			c.commit(group)
		}
	}
}

// take removes up to max waiting writes.
func (c *committer) take() []write {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.pending), c.max)
	group := c.pending[:n:n]
	c.pending = c.pending[n:]
	if len(c.pending) == 0 {
		c.pending = nil
	}
	return group
}

// commit runs the group in one transaction. When a function fails, the
// transaction is rolled back, that function's caller gets its error, and
// the others run again without it.
func (c *committer) commit(group []write) {
	for len(group) > 0 {
		failed, failure := -1, error(nil)
		err := c.db.Update(func(tx *bolt.Tx) error {
			for i, w := range group {
				if failure = call(w.fn, tx); failure != nil {
					failed = i
					return failure
				}
			}
			return nil
		})
		if failed < 0 {
			for _, w := range group {
				w.out <- err
			}
			return
		}
		group[failed].out <- failure
		group = append(group[:failed:failed], group[failed+1:]...)
	}
}

// call runs fn, turning a panic into an error for its caller alone.
func call(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: write panicked: %v", p)
		}
	}()
	return fn(tx)
}
