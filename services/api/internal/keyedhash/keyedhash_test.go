package keyedhash

import (
	"testing"

	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
)

func TestHasher_Rotation(t *testing.T) {
	oldSpec := keyring.Generate("h1", 32)
	old, err := New(oldSpec)
	if err != nil {
		t.Fatal(err)
	}
	id, sum := old.Sum("otp", "a", "1", "123456")

	rotated, err := New(keyring.Generate("h2", 32) + "," + oldSpec)
	if err != nil {
		t.Fatal(err)
	}
	if !rotated.Verify(id, sum, "otp", "a", "1", "123456") {
		t.Error("sum under the old key no longer verifies after rotation")
	}
	if rotated.Verify(id, sum, "otp", "a", "1", "123457") {
		t.Error("a different code verifies")
	}
	if rotated.Verify(id, sum, "otp", "a1", "", "123456") {
		t.Error("parts that concatenate alike verify; length prefixes are missing")
	}
	if rotated.Verify("nope", sum, "otp", "a", "1", "123456") {
		t.Error("an unknown key id verifies")
	}
	if newID, _ := rotated.Sum("x"); newID != "h2" {
		t.Errorf("new sums use key %q, want h2", newID)
	}
}

func BenchmarkHasher_Sum(b *testing.B) {
	h, err := New(keyring.Generate("h1", 32))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		h.Sum("otp", "0192f0b4-7a7e-7000-8000-000000000000", "1", "123456")
	}
}
