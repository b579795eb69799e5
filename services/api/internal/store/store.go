package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Errors returned by the store.
var (
	// ErrNotFound is returned when a record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrExists is returned when creating a record whose key is taken.
	ErrExists = errors.New("store: already exists")
	// ErrCorrupt is returned when a stored record cannot be decoded.
	ErrCorrupt = errors.New("store: corrupt record")
)

var (
	bucketClients         = []byte("clients")
	bucketChallenges      = []byte("challenges")
	bucketSigningKeys     = []byte("signing_keys")
	bucketMeta            = []byte("meta")
	bucketEnrollments     = []byte("totp_enrollments")
	bucketEnrollmentUsers = []byte("totp_users")
	bucketCounters        = []byte("counters")
	bucketIdempotency     = []byte("idempotency")
	bucketAudit           = []byte("audit")
	bucketTemplates       = []byte("templates")
	bucketDomains         = []byte("domains")
	bucketPending         = []byte("totp_pending")
	bucketIdempotencyTime = []byte("idempotency_time")
)

// allBuckets are created when the store opens.
var allBuckets = [][]byte{
	bucketClients, bucketChallenges, bucketSigningKeys, bucketMeta,
	bucketEnrollments, bucketEnrollmentUsers, bucketCounters, bucketIdempotency,
	bucketAudit, bucketTemplates, bucketDomains, bucketPending, bucketIdempotencyTime,
}

// Options tunes the store.
type Options struct {
	// MaxBatchSize is the most writes one shared commit takes; default
	// 1000.
	MaxBatchSize int
	// NoSync skips fsync on commit; for benchmarks of the ceiling only.
	NoSync bool
	// RateFlush is how often changed rate counters are written; default
	// DefaultRateFlush.
	RateFlush time.Duration
	// OnFlushError, when set, is told when writing rate counters failed;
	// they are tried again at the next flush.
	OnFlushError func(error)
}

// Store is the bbolt-backed state of mfa-api. It is safe for concurrent use.
type Store struct {
	db      *bolt.DB
	rates   *Rates
	commits *committer
}

// Open opens or creates the store file at path (mode 0600, parent created
// 0700) and its buckets. It fails when the file is locked by another
// process for more than 5 seconds, or cannot be opened.
func Open(path string, o Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating store directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        5 * time.Second,
		NoSync:         o.NoSync,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("opening store %q: another process holds it (is another mfa-api running "+
			"with this data directory?): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening store %q: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}

		return nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("creating buckets: %w", err), db.Close())
	}
	maxGroup := 1000
	if o.MaxBatchSize > 0 {
		maxGroup = o.MaxBatchSize
	}
	commits := newCommitter(db, maxGroup)
	rates, err := newRates(db, commits.do, o.RateFlush, o.OnFlushError)
	if err != nil {
		commits.close()
		return nil, errors.Join(err, db.Close())
	}
	return &Store{db: db, rates: rates, commits: commits}, nil
}

// Close writes the rate counters held in memory and closes the file.
func (s *Store) Close() error {
	err := s.rates.close()
	s.commits.close()
	return errors.Join(err, s.db.Close())
}

// Path returns the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Size returns the file's size in bytes.
func (s *Store) Size() (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n, err
}

// Ping reports whether the store can run a read transaction.
func (s *Store) Ping() error {
	return s.db.View(func(*bolt.Tx) error { return nil })
}

// DB exposes the underlying database, for benchmarks of raw commit rates.
func (s *Store) DB() *bolt.DB { return s.db }

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: key %x: %w", ErrCorrupt, key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	return b.Put(key, raw)
}

// GetMeta returns a meta value, or ErrNotFound.
func (s *Store) GetMeta(name string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get([]byte(name))
		if v == nil {
			return ErrNotFound
		}
		out = append([]byte(nil), v...)
		return nil
	})

	return out, err
}

// PutMeta sets a meta value.
func (s *Store) PutMeta(name string, value []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte(name), value)
	})
}
