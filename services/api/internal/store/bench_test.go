package store

import (
	"path/filepath"
	"testing"
	"time"
)

func sampleChallenge() *Challenge {
	now := time.Now().UTC()
	return &Challenge{ID: NewChallengeID(), ClientID: "mfa_abcdefghijklmnopqrstuvwxyz", UserName: "jdoe",
		DeviceType: DeviceEmail, State: ChallengePending, SealedDestination: make([]byte, 60),
		MaskedDestination: "j***@e***.com", LimitKey: "email:jon.doe@example.com", CodeHash: make([]byte, 32),
		HashKeyID: "h1", Generation: 1, MaxAttempts: 5, Template: "demotemplate", CreatedAt: now,
		ExpiresAt: now.Add(5 * time.Minute), SentAt: now}
}

func BenchmarkChallenge_Encode(b *testing.B) {
	c := sampleChallenge()
	for b.Loop() {
		if _, err := encodeChallenge(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChallenge_Decode(b *testing.B) {
	raw, _ := encodeChallenge(sampleChallenge())
	for b.Loop() {
		var c Challenge
		if err := decodeChallenge(raw, &c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStore_CreateChallenge measures batched inserts from many
// goroutines, fsync included.
func BenchmarkStore_CreateChallenge(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "mfa.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.CreateChallenge(sampleChallenge(), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
