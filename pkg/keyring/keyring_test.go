package keyring

import (
	"errors"
	"testing"
)

func TestAEAD_SealOpen(t *testing.T) {
	old := Generate("k1", 32)
	next := Generate("k2", 32)
	sealer, err := NewAEAD(old)
	if err != nil {
		t.Fatal(err)
	}
	sealed := sealer.Seal([]byte("123456"), []byte("auth-1"))

	rotated, err := NewAEAD(next + "," + old)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rotated.Open(sealed, []byte("auth-1"))
	if err != nil || string(got) != "123456" {
		t.Fatalf("Open after rotation = %q, %v; want 123456", got, err)
	}
	if rotated.PrimaryID() != "k2" {
		t.Errorf("PrimaryID = %q, want k2", rotated.PrimaryID())
	}

	tests := []struct {
		name   string
		ring   *AEAD
		sealed []byte
		aad    string
		want   error
	}{
		{"other aad", rotated, sealed, "auth-2", ErrOpen},
		{"truncated", rotated, sealed[:10], "auth-1", ErrOpen},
		{"empty", rotated, nil, "auth-1", ErrOpen},
		{"flipped bit", rotated, flip(sealed), "auth-1", ErrOpen},
		{"key removed", mustAEAD(t, next), sealed, "auth-1", ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.ring.Open(tt.sealed, []byte(tt.aad))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseKeys_Errors(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want error
	}{
		{"empty", " , ", ErrNoKeys},
		{"no colon", "abc", ErrBadKey},
		{"not base64", "k:!!!", ErrBadKey},
		{"short", "k:AAAA", ErrBadKey},
		{"duplicate", Generate("k", 32) + "," + Generate("k", 32), ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseKeys(tt.spec, 32); !errors.Is(err, tt.want) {
				t.Fatalf("ParseKeys(%q) error = %v, want %v", tt.spec, err, tt.want)
			}
		})
	}
}

func BenchmarkAEAD_Seal(b *testing.B) {
	a := mustAEAD(b, Generate("k1", 32))
	pt := []byte(`{"code":"123456","to":"jon.doe@example.com"}`)
	for b.Loop() {
		a.Seal(pt, []byte("auth"))
	}
}

func flip(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[len(c)-1] ^= 1
	return c
}

func mustAEAD(t testing.TB, spec string) *AEAD {
	t.Helper()
	a, err := NewAEAD(spec)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
