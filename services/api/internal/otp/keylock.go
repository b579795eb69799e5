package otp

import (
	"hash/maphash"
	"sync"
)

// keyLocks serialise the requests that carry one idempotency key, so that
// a repeat sent while the first is still being stored waits for it and
// then finds it, rather than meeting the rate limits the first just
// filled. Keys share a fixed set of locks by hash.
type keyLocks struct {
	seed  maphash.Seed
	locks [256]sync.Mutex
}

func newKeyLocks() *keyLocks { return &keyLocks{seed: maphash.MakeSeed()} }

// lock takes the lock of a client's key and returns its unlock.
func (k *keyLocks) lock(clientID, key string) func() {
	var h maphash.Hash
	h.SetSeed(k.seed)
	_, _ = h.WriteString(clientID)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(key)
	m := &k.locks[h.Sum64()%uint64(len(k.locks))]
	m.Lock()
	return m.Unlock
}
