package oauth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// leeway is the clock skew allowed on exp, nbf and iat.
const leeway = 30 * time.Second

// maxCached bounds the verified-token cache; when it fills up it starts
// over.
const maxCached = 100_000

// Errors returned by Verify. Every one means 401.
var (
	// ErrInvalidToken is returned for a token that is malformed, forged,
	// expired, or not meant for this server.
	ErrInvalidToken = errors.New("invalid access token")
	// ErrClientDisabled is returned for a valid token whose client has been
	// disabled or deleted since it was issued.
	ErrClientDisabled = errors.New("client disabled")
)

// Claims are an access token's claims (RFC 9068 §2.2).
type Claims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// Principal is what a verified token grants.
type Principal struct {
	ClientID  string
	Scopes    []string
	ExpiresAt time.Time
}

// HasScope reports whether the token carries scope.
func (p *Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// Config configures token issuing.
type Config struct {
	// Issuer is the iss of every token, the service's public base URL.
	Issuer string
	// Audience is the aud of every token; default "ciam-mfa".
	Audience string
	// TTL is a token's lifetime; default 15 minutes.
	TTL time.Duration
}

// Tokens issues and verifies access tokens. It is safe for concurrent use.
type Tokens struct {
	cfg     Config
	keys    *Keys
	clients *clients.Registry
	now     func() time.Time
	parser  *jwt.Parser

	mu    sync.RWMutex
	cache map[string]*Principal
}

// NewTokens returns a token service.
func NewTokens(cfg Config, keys *Keys, reg *clients.Registry) *Tokens {
	if cfg.Audience == "" {
		cfg.Audience = "ciam-mfa"
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 15 * time.Minute
	}
	t := &Tokens{cfg: cfg, keys: keys, clients: reg, now: time.Now, cache: map[string]*Principal{}}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{algEdDSA}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(func() time.Time { return t.now() }),
	)

	return t
}

// Issue signs a token for client with scopes.
func (t *Tokens) Issue(c *store.Client, scopes []string) (string, time.Duration, error) {
	now := t.now()
	kid, priv := t.keys.signer()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.cfg.Issuer,
			Subject:   c.ID,
			Audience:  jwt.ClaimStrings{t.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(t.cfg.TTL)),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        newJTI(),
		},
		ClientID: c.ID,
		Scope:    strings.Join(scopes, " "),
	}

	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["typ"] = "at+jwt"
	tok.Header["kid"] = kid
	signed, err := tok.SignedString(priv)
	if err != nil {
		return "", 0, fmt.Errorf("signing token: %w", err)
	}
	return signed, t.cfg.TTL, nil
}

// Verify checks a bearer token and returns what it grants. It fails with
// ErrInvalidToken or ErrClientDisabled.
func (t *Tokens) Verify(raw string) (*Principal, error) {
	p := t.cached(raw)
	if p == nil {
		var err error
		if p, err = t.parse(raw); err != nil {
			return nil, err
		}
		t.remember(raw, p)
	}

	if !t.clients.Enabled(p.ClientID) {
		return nil, ErrClientDisabled
	}
	return p, nil
}

func (t *Tokens) cached(raw string) *Principal {
	t.mu.RLock()
	p := t.cache[raw]
	t.mu.RUnlock()
	if p == nil || !t.now().Before(p.ExpiresAt.Add(leeway)) {
		return nil
	}
	return p
}

func (t *Tokens) remember(raw string, p *Principal) {
	t.mu.Lock()
	if len(t.cache) >= maxCached {
		t.cache = make(map[string]*Principal, maxCached/4)
	}
	t.cache[raw] = p
	t.mu.Unlock()
}

func (t *Tokens) parse(raw string) (*Principal, error) {
	var claims Claims
	tok, err := t.parser.ParseWithClaims(raw, &claims, t.keyFor)
	if err != nil || !tok.Valid {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if typ, _ := tok.Header["typ"].(string); !strings.EqualFold(typ, "at+jwt") &&
		!strings.EqualFold(typ, "application/at+jwt") {
		return nil, fmt.Errorf("%w: typ %q", ErrInvalidToken, typ)
	}
	if claims.ClientID == "" || claims.Subject != claims.ClientID {
		return nil, fmt.Errorf("%w: client_id does not match sub", ErrInvalidToken)
	}
	return &Principal{ClientID: claims.ClientID, Scopes: strings.Fields(claims.Scope),
		ExpiresAt: claims.ExpiresAt.Time}, nil
}

// keyFor picks the public key by kid from our own set; any key material or
// key location in the token's header is ignored.
func (t *Tokens) keyFor(tok *jwt.Token) (any, error) {
	kid, _ := tok.Header["kid"].(string)
	return t.keys.lookup(kid)
}

func newJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
