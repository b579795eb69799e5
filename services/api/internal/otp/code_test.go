package otp

import (
	"testing"

	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/keyedhash"
)

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c := NewCode(6)
		if len(c) != 6 || !digitsOnly(c) {
			t.Fatalf("NewCode(6) = %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 1900 {
		t.Errorf("only %d distinct codes in 2000 draws", len(seen))
	}
	if c := NewCode(10); len(c) != 10 {
		t.Errorf("NewCode(10) = %q", c)
	}
}

func digitsOnly(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func BenchmarkCodeHash(b *testing.B) {
	h, err := keyedhash.New(keyring.Generate("h1", 32))
	if err != nil {
		b.Fatal(err)
	}
	id := "0192f0b4-7a7e-7000-8000-000000000000"
	_, sum := codeHash(h, id, 1, "123456")
	for b.Loop() {
		verifyCode(h, "h1", sum, id, 1, "123456")
	}
}
