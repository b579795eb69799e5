// Package keyedhash computes HMAC-SHA256 sums under a ring of server keys,
// for values that must be checked but never stored: one-time codes and
// client secrets. Both are high-entropy or short-lived, so a fast keyed hash
// is the right tool; a password hash would only slow every request.
package keyedhash

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"

	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
)

// Hasher computes the keyed hashes codes are stored as. Keys rotate: new
// hashes use the primary key and any listed key verifies. Safe for
// concurrent use.
type Hasher struct {
	primary string
	pools   map[string]*sync.Pool
}

// New parses an MFA_HMAC_KEYS list of keys of at least 32 bytes. It
// fails with the keyring's ErrNoKeys or ErrBadKey.
func New(spec string) (*Hasher, error) {
	keys, err := keyring.ParseKeys(spec, -32)
	if err != nil {
		return nil, err
	}
	h := &Hasher{primary: keys[0].ID, pools: map[string]*sync.Pool{}}
	for _, k := range keys {
		secret := k.Bytes
		h.pools[k.ID] = &sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}
	}

	return h, nil
}

// Sum returns the primary key's id and the HMAC of parts, each
// length-prefixed so that no two inputs collide.
func (h *Hasher) Sum(parts ...string) (string, []byte) {
	return h.primary, h.sum(h.primary, parts)
}

// Verify reports whether sum is the HMAC of parts under key id, in
// constant time. An unknown key id never verifies.
func (h *Hasher) Verify(id string, sum []byte, parts ...string) bool {
	if _, ok := h.pools[id]; !ok {
		return false
	}
	return hmac.Equal(sum, h.sum(id, parts))
}

func (h *Hasher) sum(id string, parts []string) []byte {
	pool := h.pools[id]
	mac := pool.Get().(hash.Hash)
	defer pool.Put(mac)
	mac.Reset()
	var n [4]byte
	for _, p := range parts {
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		mac.Write(n[:])
		mac.Write([]byte(p))
	}

	return mac.Sum(nil)
}
