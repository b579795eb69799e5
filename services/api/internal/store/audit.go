package store

import (
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// The audit bucket is append-only: 16-byte UUIDv7 -> JSON AuditEntry, so
// entries sort by time.

// AuditEntry is one admin action.
type AuditEntry struct {
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Status    int       `json:"status"`
	RequestID string    `json:"requestId"`
	Remote    string    `json:"remote"`
}

// AppendAudit adds an entry.
func (s *Store) AppendAudit(e *AuditEntry) error {
	id := uuid.Must(uuid.NewV7())
	return s.commits.do(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketAudit), id[:], e)
	})
}

// SweepAudit deletes up to limit entries made before cutoff, oldest
// first, and returns how many it deleted. It fails only when the store
// cannot commit.
func (s *Store) SweepAudit(cutoff time.Time, limit int) (int, error) {
	return s.sweepOld(bucketAudit, cutoff, limit)
}

// ListAudit returns up to limit entries at or after since, newest first.
func (s *Store) ListAudit(since time.Time, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		c := b.Cursor()
		for k, _ := c.Last(); k != nil && len(out) < limit; k, _ = c.Prev() {
			if createdBefore(k, since) {
				break
			}
			var e AuditEntry
			if err := getJSON(b, k, &e); err != nil {
				return err
			}
			out = append(out, e)
		}

		return nil
	})

	return out, err
}
