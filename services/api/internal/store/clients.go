package store

import (
	"sort"

	bolt "go.etcd.io/bbolt"
)

// CreateClient stores a new client. It fails with ErrExists when the id is
// taken.
func (s *Store) CreateClient(c *Client) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClients)
		if b.Get([]byte(c.ID)) != nil {
			return ErrExists
		}
		return putJSON(b, []byte(c.ID), c)
	})
}

// PutClient stores c, replacing any client with its id.
func (s *Store) PutClient(c *Client) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketClients), []byte(c.ID), c)
	})
}

// GetClient returns the client with id. It fails with ErrNotFound.
func (s *Store) GetClient(id string) (*Client, error) {
	var c Client
	err := s.db.View(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketClients), []byte(id), &c)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ListClients returns every client, ordered by id.
func (s *Store) ListClients() ([]*Client, error) {
	var out []*Client
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketClients).ForEach(func(k, _ []byte) error {
			var c Client
			if err := getJSON(tx.Bucket(bucketClients), k, &c); err != nil {
				return err
			}
			out = append(out, &c)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })

	return out, err
}
