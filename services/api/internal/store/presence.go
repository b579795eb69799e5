package store

import (
	"hash/maphash"

	bolt "go.etcd.io/bbolt"
)

// presence is a Bloom filter of the keys the counters bucket may hold, so
// that Rates need not read the bucket for a subject it has never written:
// most requests are for users and addresses seen for the first time in
// their window. It answers "maybe" for every key added (and about one in a
// hundred others), and "no" only for keys never added. Deleted keys stay
// in it until it is rebuilt. It is not safe for concurrent use.
type presence struct {
	seed  maphash.Seed
	bits  []uint64
	added int
	// capacity is how many keys it holds at about 1 % false answers.
	capacity int
}

// Bloom filter shape: 10 bits a key and 7 probes give about 1 %.
const (
	presenceBitsPerKey = 10
	presenceProbes     = 7
	// presenceMin is the smallest capacity built.
	presenceMin = 1 << 16
)

func newPresence(capacity int) *presence {
	capacity = max(capacity, presenceMin)
	words := (capacity*presenceBitsPerKey + 63) / 64
	return &presence{seed: maphash.MakeSeed(), bits: make([]uint64, words), capacity: capacity}
}

// probes calls fn with each bit index of key.
func (p *presence) probes(key string, fn func(word int, mask uint64) bool) {
	h := maphash.String(p.seed, key)
	h1, h2 := uint32(h), uint32(h>>32)|1
	n := uint64(len(p.bits)) * 64
	for i := range uint32(presenceProbes) {
		bit := uint64(h1+i*h2) % n
		if !fn(int(bit/64), uint64(1)<<(bit%64)) {
			return
		}
	}
}

// add records key. Only a key that sets a new bit counts towards the
// capacity, so that keys written again and again do not fill it.
func (p *presence) add(key string) {
	fresh := false
	p.probes(key, func(w int, m uint64) bool {
		fresh = fresh || p.bits[w]&m == 0
		p.bits[w] |= m
		return true
	})
	if fresh {
		p.added++
	}
}

func (p *presence) mayHave(key string) bool {
	all := true
	p.probes(key, func(w int, m uint64) bool {
		all = p.bits[w]&m != 0
		return all
	})
	return all
}

// full reports whether more keys were added than it was sized for.
func (p *presence) full() bool { return p.added > p.capacity }

// scanPresence builds a filter of every key in the counters bucket, sized
// for twice as many.
func scanPresence(tx *bolt.Tx) *presence {
	b := tx.Bucket(bucketCounters)
	n := b.Stats().KeyN
	p := newPresence(2 * n)
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		p.add(string(k))
	}
	return p
}
