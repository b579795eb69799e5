package store

import (
	"sort"

	bolt "go.etcd.io/bbolt"
)

// PutSigningKey stores or replaces a signing key.
func (s *Store) PutSigningKey(k *SigningKey) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketSigningKeys), []byte(k.ID), k)
	})
}

// ListSigningKeys returns every signing key, oldest first.
func (s *Store) ListSigningKeys() ([]*SigningKey, error) {
	var out []*SigningKey
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSigningKeys)
		return b.ForEach(func(k, _ []byte) error {
			var sk SigningKey
			if err := getJSON(b, k, &sk); err != nil {
				return err
			}
			out = append(out, &sk)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })

	return out, err
}

// DeleteSigningKey removes a signing key; a missing one is not an error.
func (s *Store) DeleteSigningKey(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSigningKeys).Delete([]byte(id))
	})
}
