package oauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// algEdDSA is the only signing algorithm issued and accepted.
const algEdDSA = "EdDSA"

// ErrUnknownKey is returned when a token names a key id that is not
// published.
var ErrUnknownKey = errors.New("unknown signing key")

// JWK is a public key in JSON Web Key form (RFC 8037 for Ed25519).
type JWK struct {
	KeyType   string `json:"kty"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"`
	Use       string `json:"use"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// Keys holds the signing key in use and the public keys still published.
// It is safe for concurrent use.
type Keys struct {
	store    *store.Store
	data     *keyring.AEAD
	tokenTTL time.Duration
	now      func() time.Time

	mu       sync.RWMutex
	activeID string
	private  ed25519.PrivateKey
	public   map[string]ed25519.PublicKey
	jwks     JWKS
}

// LoadKeys reads the signing keys from st, generating the first one if
// there is none. tokenTTL decides how long a retired key stays published.
// It fails when a stored private key cannot be unsealed.
func LoadKeys(st *store.Store, data *keyring.AEAD, tokenTTL time.Duration) (*Keys, error) {
	k := &Keys{store: st, data: data, tokenTTL: tokenTTL, now: time.Now}
	list, err := st.ListSigningKeys()
	if err != nil {
		return nil, fmt.Errorf("loading signing keys: %w", err)
	}
	if activeOf(list) == nil {
		if _, err := k.Rotate(); err != nil {
			return nil, err
		}
		return k, nil
	}

	return k, k.install(list)
}

func activeOf(list []*store.SigningKey) *store.SigningKey {
	var active *store.SigningKey
	for _, sk := range list {
		if sk.RetiredAt.IsZero() {
			active = sk
		}
	}

	return active
}

// install makes list the published set, the unretired key the signer, and
// deletes keys whose tokens have all expired.
func (k *Keys) install(list []*store.SigningKey) error {
	active := activeOf(list)
	if active == nil {
		return errors.New("no active signing key")
	}
	seed, err := k.data.Open(active.SealedPrivate, []byte(active.ID))
	if err != nil {
		return fmt.Errorf("unsealing signing key %s: %w", active.ID, err)
	}
	if len(seed) != ed25519.SeedSize {
		return fmt.Errorf("signing key %s: bad seed length", active.ID)
	}
	public := map[string]ed25519.PublicKey{}
	jwks := JWKS{Keys: []JWK{}}
	for _, sk := range list {
		if k.expired(sk) {
			if err := k.store.DeleteSigningKey(sk.ID); err != nil {
				return fmt.Errorf("deleting expired signing key: %w", err)
			}
			continue
		}

		public[sk.ID] = ed25519.PublicKey(sk.Public)
		jwks.Keys = append(jwks.Keys, jwkOf(sk.ID, sk.Public))
	}

	k.mu.Lock()
	k.activeID, k.private, k.public, k.jwks = active.ID, ed25519.NewKeyFromSeed(seed), public, jwks
	k.mu.Unlock()

	return nil
}

// expired reports whether every token a retired key signed has expired.
func (k *Keys) expired(sk *store.SigningKey) bool {
	return !sk.RetiredAt.IsZero() && k.now().After(sk.RetiredAt.Add(k.tokenTTL+2*leeway))
}

// Rotate generates a new signing key and retires the current one, which
// stays published until its tokens have expired. It returns the new key id.
func (k *Keys) Rotate() (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generating signing key: %w", err)
	}
	now := k.now().UTC()
	id := thumbprint(pub)
	list, err := k.store.ListSigningKeys()
	if err != nil {
		return "", fmt.Errorf("loading signing keys: %w", err)
	}
	for _, sk := range list {
		if sk.RetiredAt.IsZero() {
			sk.RetiredAt = now
			if err := k.store.PutSigningKey(sk); err != nil {
				return "", fmt.Errorf("retiring signing key: %w", err)
			}
		}
	}

	sk := &store.SigningKey{ID: id, Algorithm: algEdDSA, Public: pub, CreatedAt: now,
		SealedPrivate: k.data.Seal(priv.Seed(), []byte(id))}
	if err := k.store.PutSigningKey(sk); err != nil {
		return "", fmt.Errorf("storing signing key: %w", err)
	}
	list, err = k.store.ListSigningKeys()
	if err != nil {
		return "", fmt.Errorf("loading signing keys: %w", err)
	}
	return id, k.install(list)
}

// JWKS returns the published public keys.
func (k *Keys) JWKS() JWKS {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.jwks
}

func (k *Keys) signer() (string, ed25519.PrivateKey) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.activeID, k.private
}

func (k *Keys) lookup(kid string) (ed25519.PublicKey, error) {
	k.mu.RLock()
	pub, ok := k.public[kid]
	k.mu.RUnlock()
	if !ok {
		return nil, ErrUnknownKey
	}
	return pub, nil
}

func jwkOf(id string, pub []byte) JWK {
	return JWK{KeyType: "OKP", Curve: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub),
		KeyID: id, Algorithm: algEdDSA, Use: "sig"}
}

// thumbprint is the RFC 7638 thumbprint of an Ed25519 public key.
func thumbprint(pub ed25519.PublicKey) string {
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
