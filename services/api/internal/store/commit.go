package store

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// errClosed is returned for writes that arrive after Close.
var errClosed = errors.New("store: closed")

// committer groups concurrent writes into shared commits. One goroutine
// commits: it takes every write waiting when it is free and runs them in
// one transaction, so a commit's fsyncs are shared by all the writes that
// arrived while the previous commit ran. Under no load a write commits at
// once; under load the groups grow with it, and no write waits for a timer.
// Writes that no request waits on (delivery statuses) do wait, up to
// unhurriedDelay, to ride along with a commit that a request starts.
type committer struct {
	db  *bolt.DB
	max int

	mu      sync.Mutex
	pending []write
	// hurried counts the pending writes that are not unhurried; due is
	// set when the unhurried ones have waited long enough.
	hurried int
	due     bool
	closed  bool
	// unhurried is how long an unhurried write waits for a commit that
	// another write starts; later is set while one waits.
	unhurried time.Duration
	later     *time.Timer
	wake      chan struct{}
	done      chan struct{}
}

// unhurriedDelay is the longest an unhurried write waits for a commit
// that another write starts before it starts one itself.
const unhurriedDelay = 5 * time.Millisecond

// write is one caller's function and where its outcome goes.
type write struct {
	fn  func(*bolt.Tx) error
	out chan error
	// starting, when set, is called once as the commit that takes the
	// write begins.
	starting  func()
	unhurried bool
}

// newCommitter starts the committing goroutine; max bounds the writes of
// one commit.
func newCommitter(db *bolt.DB, max int) *committer {
	c := &committer{db: db, max: max, unhurried: unhurriedDelay,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.run()
	return c
}

// do runs fn in a write transaction shared with other writes and returns
// once that transaction is committed, or fn's error. As with bolt's Batch,
// fn may run more than once, and an error from fn rolls back only its own
// writes.
func (c *committer) do(fn func(*bolt.Tx) error) error {
	w := write{fn: fn, out: make(chan error, 1)}
	if err := c.submit(w); err != nil {
		return err
	}
	return <-w.out
}

// doStarting is do with starting called just before the transaction that
// runs fn begins, for work that should overlap the commit. It runs on the
// committing goroutine, so it must neither block nor panic. It is not
// called when the write never reaches a commit.
func (c *committer) doStarting(fn func(*bolt.Tx) error, starting func()) error {
	w := write{fn: fn, out: make(chan error, 1), starting: starting}
	if err := c.submit(w); err != nil {
		return err
	}
	return <-w.out
}

// doUnhurried is do for a write that no request waits on: it joins the
// next commit another write starts, and starts one itself only after
// unhurriedDelay. At a steady trickle of such writes this takes many
// fewer commits, each with its two fsyncs, than do would.
func (c *committer) doUnhurried(fn func(*bolt.Tx) error) error {
	w := write{fn: fn, out: make(chan error, 1), unhurried: true}
	if err := c.submit(w); err != nil {
		return err
	}
	return <-w.out
}

// submit adds w to the waiting writes. An unhurried write wakes the
// committer only through a timer.
func (c *committer) submit(w write) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	c.pending = append(c.pending, w)
	switch {
	case !w.unhurried:
		c.hurried++
		c.signal()
	case c.later == nil:
		c.later = time.AfterFunc(c.unhurried, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.later, c.due = nil, true
			if !c.closed {
				c.signal()
			}
		})
	}
	return nil
}

// signal wakes the committer; c.mu is held.
func (c *committer) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
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
		// Let the writers that are ready to run add their writes first,
		// so that they share this commit even on a single processor.
		runtime.Gosched()
		c.drain()
	}
	// Unhurried writes may still wait for their timer.
	c.drain()
}

// drain commits the waiting writes, in groups of at most max.
func (c *committer) drain() {
	for group := c.take(); len(group) > 0; group = c.take() {
		for _, w := range group {
			if w.starting != nil {
				w.starting()
			}
		}
		c.commit(group)
	}
}

// take removes up to max waiting writes. Unhurried writes stay until a
// hurried one comes to take them along, their wait is over, or the
// committer is closing.
func (c *committer) take() []write {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hurried == 0 && !c.due && !c.closed {
		return nil
	}
	n := min(len(c.pending), c.max)
	group := c.pending[:n:n]
	c.pending = c.pending[n:]
	for _, w := range group {
		if !w.unhurried {
			c.hurried--
		}
	}
	if len(c.pending) == 0 {
		c.pending, c.due = nil, false
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
