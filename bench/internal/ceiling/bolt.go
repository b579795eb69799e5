package ceiling

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// BoltOptions shape a raw bbolt measurement.
type BoltOptions struct {
	// Dir holds the temporary database file; required.
	Dir string
	// Goroutines call DB.Batch concurrently; default 64.
	Goroutines int
	// Duration is how long to measure; required.
	Duration time.Duration
	// ValueSize is the size of each value written; default 600 bytes, about
	// a stored challenge.
	ValueSize int
}

// BoltResult is what a raw bbolt measurement achieved.
type BoltResult struct {
	// WritesPerSec counts DB.Batch calls that returned, each one durable.
	WritesPerSec float64
	// CommitsPerSec counts write transactions (fsynced commits).
	CommitsPerSec float64
	// Goroutines is the concurrency used.
	Goroutines int
}

// Bolt measures DB.Batch on a fresh file, removed afterwards, with the options mfa-api's store
// uses (fsync on commit, no freelist sync, map freelist, 2 ms and 1000 per
// batch): each goroutine puts a time-ordered 16-byte key and a value, one
// Batch call at a time. It fails when the file cannot be opened or a
// write fails.
func Bolt(ctx context.Context, o BoltOptions) (BoltResult, error) {
	if o.Goroutines <= 0 {
		o.Goroutines = 64
	}

	if o.ValueSize <= 0 {
		o.ValueSize = 600
	}

	path := filepath.Join(o.Dir, "ceiling.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		return BoltResult{}, fmt.Errorf("ceiling: opening bbolt: %w", err)
	}

	// Removing the file drops its unwritten pages, so that later
	// measurements do not share the disk with their writeback.
	defer os.Remove(path)
	defer db.Close()
	db.MaxBatchDelay, db.MaxBatchSize = 2*time.Millisecond, 1000
	bucket := []byte("challenges")
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		return BoltResult{}, fmt.Errorf("ceiling: creating bucket: %w", err)
	}

	return runBolt(ctx, db, bucket, o)
}

// runBolt runs the writers until the duration has passed.
func runBolt(ctx context.Context, db *bolt.DB, bucket []byte, o BoltOptions) (BoltResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var writes atomic.Int64
	var firstTx, lastTx atomic.Int64
	firstTx.Store(-1)
	errs := make(chan error, o.Goroutines)
	start := time.Now()
	var wg sync.WaitGroup
	for range o.Goroutines {
		wg.Go(func() {
			value := make([]byte, o.ValueSize)
			_, _ = rand.Read(value)
			for ctx.Err() == nil {
				key := uuid.Must(uuid.NewV7())
				err := db.Batch(func(tx *bolt.Tx) error {
					firstTx.CompareAndSwap(-1, int64(tx.ID()))
					lastTx.Store(int64(tx.ID()))
					return tx.Bucket(bucket).Put(key[:], value)
				})
				if err != nil {
					errs <- err
					return
				}

				writes.Add(1)
			}
		})
	}

	wg.Wait()
	secs := time.Since(start).Seconds()
	close(errs)
	if err := <-errs; err != nil {
		return BoltResult{}, fmt.Errorf("ceiling: bbolt write: %w", err)
	}

	commits := lastTx.Load() - firstTx.Load() + 1
	return BoltResult{WritesPerSec: float64(writes.Load()) / secs,
		CommitsPerSec: float64(commits) / secs, Goroutines: o.Goroutines}, nil
}
