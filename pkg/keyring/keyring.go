// Package keyring holds symmetric keys with ids so that they can rotate.
//
// A key list is written as comma-separated "id:base64" entries. The first
// entry is the primary key, used for everything new; every entry is accepted
// when opening or verifying, so an operator rotates by putting a new key in
// front and removing the old one once nothing sealed under it is left.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Errors returned by this package.
var (
	// ErrNoKeys is returned when a key list holds no key.
	ErrNoKeys = errors.New("keyring: no keys")
	// ErrBadKey is returned when a key list entry cannot be parsed.
	ErrBadKey = errors.New("keyring: malformed key")
	// ErrUnknownKey is returned when sealed data names a key id that the
	// ring does not hold.
	ErrUnknownKey = errors.New("keyring: unknown key id")
	// ErrOpen is returned when sealed data is truncated or fails
	// authentication.
	ErrOpen = errors.New("keyring: cannot open sealed data")
)

// Key is one named key.
type Key struct {
	ID    string
	Bytes []byte
}

// maxIDLen bounds key ids so that one fits the one-byte length prefix.
const maxIDLen = 32

// ParseKeys parses a comma-separated "id:base64" list, primary first. Each
// key must decode to exactly size bytes (or at least size when size is
// negative, meaning a minimum). It fails with ErrNoKeys or ErrBadKey.
func ParseKeys(spec string, size int) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		k, err := parseEntry(entry, size)
		if err != nil {
			return nil, err
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("%w: duplicate id %q", ErrBadKey, k.ID)
		}
		seen[k.ID] = true
		keys = append(keys, k)
	}

	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	return keys, nil
}

func parseEntry(entry string, size int) (Key, error) {
	id, b64, ok := strings.Cut(entry, ":")
	if !ok || id == "" || len(id) > maxIDLen || strings.ContainsAny(id, " \t") {
		return Key{}, fmt.Errorf("%w: want id:base64", ErrBadKey)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(b64)
	}
	if err != nil {
		return Key{}, fmt.Errorf("%w: key %q is not base64", ErrBadKey, id)
	}
	if (size > 0 && len(raw) != size) || (size < 0 && len(raw) < -size) {
		return Key{}, fmt.Errorf("%w: key %q has %d bytes", ErrBadKey, id, len(raw))
	}
	return Key{ID: id, Bytes: raw}, nil
}

// Generate returns a key list spec holding one new random key of size bytes
// under id, for development profiles and tests.
func Generate(id string, size int) string {
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return id + ":" + base64.StdEncoding.EncodeToString(b)
}

// AEAD seals and opens data with AES-256-GCM under a ring of keys. The sealed
// form is: one byte of key id length, the key id, a 12-byte nonce, then the
// ciphertext with its tag. An AEAD is safe for concurrent use.
type AEAD struct {
	primary string
	ciphers map[string]cipher.AEAD
}

// NewAEAD parses a key list of 32-byte keys into an AEAD. It fails with
// ErrNoKeys or ErrBadKey.
func NewAEAD(spec string) (*AEAD, error) {
	keys, err := ParseKeys(spec, 32)
	if err != nil {
		return nil, err
	}
	a := &AEAD{primary: keys[0].ID, ciphers: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		block, err := aes.NewCipher(k.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
		}
		a.ciphers[k.ID] = gcm
	}

	return a, nil
}

// PrimaryID returns the id of the key that Seal uses.
func (a *AEAD) PrimaryID() string { return a.primary }

// Seal encrypts plaintext under the primary key, binding aad (which is not
// stored and must be given again to Open).
func (a *AEAD) Seal(plaintext, aad []byte) []byte {
	gcm := a.ciphers[a.primary]
	out := make([]byte, 0, 1+len(a.primary)+gcm.NonceSize()+len(plaintext)+gcm.Overhead())
	out = append(out, byte(len(a.primary)))
	out = append(out, a.primary...)
	nonceAt := len(out)
	out = out[:nonceAt+gcm.NonceSize()]
	if _, err := rand.Read(out[nonceAt:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return gcm.Seal(out, out[nonceAt:], plaintext, aad)
}

// Open decrypts data made by Seal with any key of the ring. It fails with
// ErrUnknownKey when the key id is not held, and ErrOpen when the data is
// truncated, altered, or sealed with other aad.
func (a *AEAD) Open(sealed, aad []byte) ([]byte, error) {
	id, rest, err := SplitID(sealed)
	if err != nil {
		return nil, err
	}
	gcm, ok := a.ciphers[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, id)
	}
	if len(rest) < gcm.NonceSize()+gcm.Overhead() {
		return nil, ErrOpen
	}
	nonce, ct := rest[:gcm.NonceSize()], rest[gcm.NonceSize():]
	pt, err := gcm.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// SplitID returns the key id that sealed data names and the rest of it. It
// fails with ErrOpen when the data is too short to hold an id.
func SplitID(sealed []byte) (string, []byte, error) {
	if len(sealed) < 1 || len(sealed) < 1+int(sealed[0]) {
		return "", nil, ErrOpen
	}
	n := int(sealed[0])
	return string(sealed[1 : 1+n]), sealed[1+n:], nil
}
