package store

import (
	"bytes"
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// Erased counts what EraseUser removed.
type Erased struct {
	Challenges  int `json:"challenges"`
	Enrollments int `json:"enrollments"`
	Counters    int `json:"counters"`
}

// EraseUser removes everything the store holds about one user of a
// client: challenges, TOTP enrollments, and the rate-limit and budget
// counters of the user and of the destinations their challenges used.
// counterKeys returns, for the user and those destinations, the counter
// keys to delete. The scan reads every challenge, so it
// is an operator's tool, not a request path.
func (s *Store) EraseUser(clientID, userName string, counterKeys func(destKeys []string) []string) (Erased, error) {
	var out Erased
	var keys []string
	err := s.rates.deleting(func() []string { return keys }, func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			out = Erased{}
			dests, err := eraseChallenges(tx, clientID, userName, &out)
			if err != nil {
				return err
			}
			if err := eraseEnrollments(tx, clientID, userName, &out); err != nil {
				return err
			}
			keys = counterKeys(dests)
			return deleteCountersTx(tx, keys, &out.Counters)
		})
	})

	return out, err
}

func eraseChallenges(tx *bolt.Tx, clientID, userName string, out *Erased) ([]string, error) {
	b := tx.Bucket(bucketChallenges)
	var doomed [][]byte
	dests := map[string]bool{}
	err := b.ForEach(func(k, v []byte) error {
		var c Challenge
		if decodeChallenge(v, &c) == nil && c.ClientID == clientID && c.UserName == userName {
			doomed = append(doomed, bytes.Clone(k))
			if c.LimitKey != "" {
				dests[c.LimitKey] = true
			}
		}

		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return nil, err
		}
	}

	out.Challenges = len(doomed)
	list := make([]string, 0, len(dests))
	for d := range dests {
		list = append(list, d)
	}
	return list, nil
}

func eraseEnrollments(tx *bolt.Tx, clientID, userName string, out *Erased) error {
	var doomed [][]byte
	err := tx.Bucket(bucketEnrollments).ForEach(func(k, v []byte) error {
		var e Enrollment
		if json.Unmarshal(v, &e) == nil && e.ClientID == clientID && e.UserName == userName {
			doomed = append(doomed, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range doomed {
		if err := deleteEnrollmentTx(tx, k); err != nil {
			return err
		}
	}

	out.Enrollments = len(doomed)

	return nil
}
