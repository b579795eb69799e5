package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Enrollment buckets and keys:
//
//	totp_enrollments  16-byte UUIDv7 enrollment id       -> JSON Enrollment
//	totp_users        client id, 0x00, user name          -> 16-byte id of the active enrollment
//	totp_pending      16-byte UUIDv7 id of a pending one  -> empty (read by the sweeper)
//
// The buckets are declared with the others in store.go.

// EnrollmentState is a TOTP enrollment's state.
type EnrollmentState int

// The enrollment states.
const (
	EnrollmentPending EnrollmentState = iota + 1
	EnrollmentActive
)

// String returns "PENDING" or "ACTIVE".
func (s EnrollmentState) String() string {
	switch s {
	case EnrollmentPending:
		return "PENDING"
	case EnrollmentActive:
		return "ACTIVE"
	default:
		return fmt.Sprintf("STATE(%d)", int(s))
	}
}

// Enrollment is a user's authenticator app. The secret is stored sealed
// under the data key, bound to the enrollment's id.
type Enrollment struct {
	ID           string          `json:"id"`
	ClientID     string          `json:"clientId"`
	UserName     string          `json:"userName"`
	State        EnrollmentState `json:"state"`
	SealedSecret []byte          `json:"sealedSecret"`
	Issuer       string          `json:"issuer"`
	Algorithm    string          `json:"algorithm"`
	Digits       int             `json:"digits"`
	Period       int             `json:"period"`
	// LastStep is the last time step accepted; no step at or before it is
	// accepted again.
	LastStep int64 `json:"lastStep"`
	// Attempts counts wrong activation codes.
	Attempts    int       `json:"attempts,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt,omitzero"`
	ActivatedAt time.Time `json:"activatedAt,omitzero"`
}

func userKey(clientID, userName string) []byte {
	return append(append([]byte(clientID), 0), userName...)
}

// CreateEnrollment stores a pending enrollment. It fails with ErrExists
// when the user already has an active one.
func (s *Store) CreateEnrollment(e *Enrollment) error {
	key, ok := challengeKey(e.ID)
	if !ok {
		return fmt.Errorf("%w: bad enrollment id %q", ErrCorrupt, e.ID)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketEnrollmentUsers).Get(userKey(e.ClientID, e.UserName)) != nil {
			return ErrExists
		}
		if err := putJSON(tx.Bucket(bucketEnrollments), key, e); err != nil {
			return err
		}
		return tx.Bucket(bucketPending).Put(key, nil)
	})
}

// GetEnrollment returns the enrollment with id. It fails with ErrNotFound.
func (s *Store) GetEnrollment(id string) (*Enrollment, error) {
	key, ok := challengeKey(id)
	if !ok {
		return nil, ErrNotFound
	}
	var e Enrollment
	err := s.db.View(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketEnrollments), key, &e)
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// ActivateEnrollment passes the enrollment to fn and, when fn returns true
// with no error and activate set, makes it the user's active enrollment,
// all in one write. fn may run more than once. It fails with ErrNotFound,
// ErrExists (another enrollment became active first) or fn's error.
func (s *Store) ActivateEnrollment(id string, fn func(e *Enrollment) (write bool, err error)) error {
	key, ok := challengeKey(id)
	if !ok {
		return ErrNotFound
	}
	return s.commits.do(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEnrollments)
		var e Enrollment
		if err := getJSON(b, key, &e); err != nil {
			return err
		}
		wasPending := e.State == EnrollmentPending
		write, err := fn(&e)
		if err != nil || !write {
			return err
		}
		if wasPending && e.State == EnrollmentActive {
			users := tx.Bucket(bucketEnrollmentUsers)
			uk := userKey(e.ClientID, e.UserName)
			if users.Get(uk) != nil {
				return ErrExists
			}
			if err := users.Put(uk, key); err != nil {
				return err
			}
			if err := tx.Bucket(bucketPending).Delete(key); err != nil {
				return err
			}
		}

		return putJSON(b, key, &e)
	})
}

// DeleteEnrollment removes an enrollment and, if it was active, the user's
// link to it. It fails with ErrNotFound.
func (s *Store) DeleteEnrollment(id string) error {
	key, ok := challengeKey(id)
	if !ok {
		return ErrNotFound
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return deleteEnrollmentTx(tx, key)
	})
}

func deleteEnrollmentTx(tx *bolt.Tx, key []byte) error {
	b := tx.Bucket(bucketEnrollments)
	var e Enrollment
	if err := getJSON(b, key, &e); err != nil {
		return err
	}
	users := tx.Bucket(bucketEnrollmentUsers)
	uk := userKey(e.ClientID, e.UserName)
	if string(users.Get(uk)) == string(key) {
		if err := users.Delete(uk); err != nil {
			return err
		}
	}

	if err := tx.Bucket(bucketPending).Delete(key); err != nil {
		return err
	}
	return b.Delete(key)
}

// ActiveEnrollment returns the user's active enrollment, or ErrNotFound.
func (s *Store) ActiveEnrollment(clientID, userName string) (*Enrollment, error) {
	var e Enrollment
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketEnrollmentUsers).Get(userKey(clientID, userName))
		if id == nil {
			return ErrNotFound
		}
		return getJSON(tx.Bucket(bucketEnrollments), id, &e)
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// UpdateChallengeWithEnrollment is UpdateChallenge that, for a TOTP
// challenge, also passes fn the user's active enrollment (nil when there is
// none, and always nil for email and SMS) and writes it back when fn says
// so, in the same transaction. fn may run more than once.
//
// fn also gets the counters bucket, for failure budgets.
func (s *Store) UpdateChallengeWithEnrollment(id string,
	fn func(c *Challenge, e *Enrollment, ctrs Counters) (writeC, writeE bool, err error)) error {
	key, ok := challengeKey(id)
	if !ok {
		return ErrNotFound
	}
	missing := false
	err := s.commits.do(func(tx *bolt.Tx) error {
		cb := tx.Bucket(bucketChallenges)
		cb.FillPercent = appendFill
		var c Challenge
		err := getChallenge(cb, key, &c)
		if missing = errors.Is(err, ErrNotFound); missing {
			return nil // an answer, not a failure that rolls back the batch
		}
		if err != nil {
			return err
		}
		eb := tx.Bucket(bucketEnrollments)
		var e *Enrollment
		var eid []byte
		if c.DeviceType == DeviceTOTP {
			eid = tx.Bucket(bucketEnrollmentUsers).Get(userKey(c.ClientID, c.UserName))
		}
		if eid != nil {
			e = &Enrollment{}
			if err := getJSON(eb, eid, e); err != nil {
				return err
			}
		}

		writeC, writeE, err := fn(&c, e, s.counters(tx))
		if err != nil {
			return err
		}
		if writeE && e != nil {
			if err := putJSON(eb, eid, e); err != nil {
				return err
			}
		}

		if writeC {
			return putChallenge(cb, key, &c)
		}
		return nil
	})
	if err == nil && missing {
		return ErrNotFound
	}
	return err
}

// SweepPendingEnrollments deletes up to limit pending enrollments that
// expired before now and returns how many.
func (s *Store) SweepPendingEnrollments(now time.Time, limit int) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		var doomed [][]byte
		c := tx.Bucket(bucketPending).Cursor()
		eb := tx.Bucket(bucketEnrollments)
		for k, _ := c.First(); k != nil && len(doomed) < limit; k, _ = c.Next() {
			var e Enrollment
			raw := eb.Get(k)
			if raw != nil && json.Unmarshal(raw, &e) == nil && now.Before(e.ExpiresAt) {
				break // pending ones are in creation order; the rest are newer
			}
			doomed = append(doomed, append([]byte(nil), k...))
		}

		for _, k := range doomed {
			if err := deleteEnrollmentTx(tx, k); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err := tx.Bucket(bucketPending).Delete(k); err != nil {
				return err
			}
		}

		n = len(doomed)
		return nil
	})

	return n, err
}
