package store

import (
	"bytes"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Branding buckets and keys:
//
//	templates  client id, 0x00, template name  -> JSON ClientTemplate
//	domains    client id, 0x00, domain          -> JSON Domain

// ClientTemplate is a template a client uploaded. Revision counts uploads
// from 1.
type ClientTemplate struct {
	ClientID  string            `json:"clientId"`
	Name      string            `json:"name"`
	Revision  int               `json:"revision"`
	Files     map[string]string `json:"files"`
	UpdatedAt time.Time         `json:"updatedAt"`
	// Deleted marks a removed upload, kept so that an upload of the same
	// name later goes on from its revision: workers keep the highest
	// revision they have seen.
	Deleted bool `json:"deleted,omitempty"`
}

// PutTemplate stores t with the next revision number for its name, also
// after a delete, and returns that number.
func (s *Store) PutTemplate(t *ClientTemplate) (int, error) {
	rev := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTemplates)
		key := userKey(t.ClientID, t.Name)
		var prev ClientTemplate
		rev = 1
		if err := getJSON(b, key, &prev); err == nil {
			rev = prev.Revision + 1
		}
		t.Revision = rev
		return putJSON(b, key, t)
	})

	return rev, err
}

// ListTemplates returns every client template, by client and name.
func (s *Store) ListTemplates() ([]*ClientTemplate, error) {
	var out []*ClientTemplate
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTemplates)
		return b.ForEach(func(k, _ []byte) error {
			var t ClientTemplate
			if err := getJSON(b, k, &t); err != nil {
				return err
			}
			if !t.Deleted {
				out = append(out, &t)
			}
			return nil
		})
	})

	return out, err
}

// DeleteTemplate removes a client template, keeping only a marker with
// its revision. It fails with ErrNotFound.
func (s *Store) DeleteTemplate(clientID, name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, key := tx.Bucket(bucketTemplates), userKey(clientID, name)
		var t ClientTemplate
		if err := getJSON(b, key, &t); err != nil {
			return err
		}
		if t.Deleted {
			return ErrNotFound
		}
		t.Deleted, t.Files, t.UpdatedAt = true, nil, time.Now().UTC()
		return putJSON(b, key, &t)
	})
}

// Domain is a sender domain a client registered, with its DKIM key sealed
// under the data key.
type Domain struct {
	ClientID  string    `json:"clientId"`
	Domain    string    `json:"domain"`
	Selector  string    `json:"selector"`
	Algorithm string    `json:"algorithm"`
	SealedKey []byte    `json:"sealedKey"`
	PublicKey string    `json:"publicKey"` // base64, as the DNS record carries it
	CreatedAt time.Time `json:"createdAt"`
}

// PutDomain stores or replaces a client's domain.
func (s *Store) PutDomain(d *Domain) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketDomains), userKey(d.ClientID, d.Domain), d)
	})
}

// ListDomains returns the domains of clientID (every client's when empty),
// sorted.
func (s *Store) ListDomains(clientID string) ([]*Domain, error) {
	var out []*Domain
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDomains)
		c := b.Cursor()
		prefix := []byte(nil)
		if clientID != "" {
			prefix = userKey(clientID, "")
		}
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			var d Domain
			if err := getJSON(b, k, &d); err != nil {
				return err
			}
			out = append(out, &d)
		}

		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })

	return out, err
}

// DeleteDomain removes a client's domain. It fails with ErrNotFound.
func (s *Store) DeleteDomain(clientID, domain string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, key := tx.Bucket(bucketDomains), userKey(clientID, domain)
		if b.Get(key) == nil {
			return ErrNotFound
		}
		return b.Delete(key)
	})
}
