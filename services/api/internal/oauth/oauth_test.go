package oauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/keyedhash"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

type fixture struct {
	tokens *Tokens
	keys   *Keys
	reg    *clients.Registry
	client *store.Client
	secret string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "mfa.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	data, _ := keyring.NewAEAD(keyring.Generate("k1", 32))
	hasher, _ := keyedhash.New(keyring.Generate("h1", 32))
	keys, err := LoadKeys(st, data, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := clients.Load(st, hasher)
	if err != nil {
		t.Fatal(err)
	}
	c, secret, err := reg.Create(clients.Spec{Name: "App", DeviceTypes: store.DeviceTypes})
	if err != nil {
		t.Fatal(err)
	}
	tokens := NewTokens(Config{Issuer: "https://mfa.example", Audience: "ciam-mfa"}, keys, reg)
	return &fixture{tokens: tokens, keys: keys, reg: reg, client: c, secret: secret}
}

// forge signs claims with header overrides, using the active key unless
// key is given.
func (f *fixture) forge(t *testing.T, method jwt.SigningMethod, key any, header map[string]any,
	claims jwt.MapClaims) string {
	t.Helper()
	kid, priv := f.keys.signer()
	if key == nil {
		key = priv
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["typ"] = "at+jwt"
	tok.Header["kid"] = kid
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) claims(mutate func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"iss": "https://mfa.example", "aud": "ciam-mfa", "sub": f.client.ID,
		"client_id": f.client.ID, "scope": "otp:send", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(), "jti": "j1"}
	if mutate != nil {
		mutate(c)
	}
	return c
}

func TestTokens_IssueAndVerify(t *testing.T) {
	f := newFixture(t)
	raw, ttl, err := f.tokens.Issue(f.client, []string{"otp:send", "otp:validate"})
	if err != nil || ttl != 15*time.Minute {
		t.Fatalf("Issue = %v, %v", ttl, err)
	}
	p, err := f.tokens.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.ClientID != f.client.ID || !p.HasScope("otp:validate") || p.HasScope("totp:manage") {
		t.Errorf("principal = %+v", p)
	}
	parsed, _, _ := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	for _, claim := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} {
		if _, ok := parsed.Claims.(jwt.MapClaims)[claim]; !ok {
			t.Errorf("token lacks RFC 9068 claim %s", claim)
		}
	}
	if parsed.Header["typ"] != "at+jwt" || parsed.Header["alg"] != "EdDSA" || parsed.Header["kid"] == "" {
		t.Errorf("token header = %v", parsed.Header)
	}
}

func TestTokens_RejectsForgeries(t *testing.T) {
	f := newFixture(t)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	pub := []byte(f.keys.JWKS().Keys[0].X)
	tests := []struct {
		name string
		tok  func(t *testing.T) string
	}{
		{"alg none", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, f.claims(nil))
		}},
		{"HS256 with the public key", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodHS256, pub, nil, f.claims(nil))
		}},
		{"signed by another key", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, otherKey, nil, f.claims(nil))
		}},
		{"unknown kid", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, nil, map[string]any{"kid": "nope"}, f.claims(nil))
		}},
		{"embedded jwk header", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, otherKey, map[string]any{"kid": nil,
				"jwk": map[string]string{"kty": "OKP", "crv": "Ed25519"}, "jku": "https://evil.example/jwks"}, f.claims(nil))
		}},
		{"wrong typ", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, nil, map[string]any{"typ": "JWT"}, f.claims(nil))
		}},
		{"missing typ", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, nil, map[string]any{"typ": nil}, f.claims(nil))
		}},
		{"wrong aud", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, nil, nil, f.claims(func(c jwt.MapClaims) { c["aud"] = "other" }))
		}},
		{"missing aud", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, nil, nil, f.claims(func(c jwt.MapClaims) { delete(c, "aud") }))
		}},
		{"wrong iss", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, nil, nil, f.claims(func(c jwt.MapClaims) { c["iss"] = "https://evil" }))
		}},
		{"missing exp", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, nil, nil, f.claims(func(c jwt.MapClaims) { delete(c, "exp") }))
		}},
		{"expired beyond leeway", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, nil, nil, f.claims(func(c jwt.MapClaims) {
				c["exp"] = time.Now().Add(-61 * time.Second).Unix()
			}))
		}},
		{"not yet valid", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, nil, nil, f.claims(func(c jwt.MapClaims) {
				c["nbf"] = time.Now().Add(5 * time.Minute).Unix()
			}))
		}},
		{"sub differs from client_id", func(t *testing.T) string {
			return f.forge(t, jwt.SigningMethodEdDSA, nil, nil, f.claims(func(c jwt.MapClaims) { c["sub"] = "someone" }))
		}},
		{"bad signature", func(t *testing.T) string {
			s := f.forge(t, jwt.SigningMethodEdDSA, nil, nil, f.claims(nil))
			return s[:len(s)-3] + "AAA"
		}},
		{"not a jwt", func(*testing.T) string { return "a.b.c" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.tokens.Verify(tt.tok(t)); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify = %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestTokens_LeewayAccepted(t *testing.T) {
	f := newFixture(t)
	tok := f.forge(t, jwt.SigningMethodEdDSA, nil, nil, f.claims(func(c jwt.MapClaims) {
		c["exp"] = time.Now().Add(-10 * time.Second).Unix()
	}))
	if _, err := f.tokens.Verify(tok); err != nil {
		t.Fatalf("a token 10s past exp (inside the leeway) was refused: %v", err)
	}
}

func TestTokens_DisabledClientStopsAtOnce(t *testing.T) {
	f := newFixture(t)
	raw, _, _ := f.tokens.Issue(f.client, []string{"otp:send"})
	if _, err := f.tokens.Verify(raw); err != nil {
		t.Fatal(err) // now cached
	}
	if _, err := f.reg.Update(f.client.ID, func(c *store.Client) error { c.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tokens.Verify(raw); !errors.Is(err, ErrClientDisabled) {
		t.Fatalf("Verify after disabling = %v, want ErrClientDisabled", err)
	}
}

func TestKeys_Rotate(t *testing.T) {
	f := newFixture(t)
	old, _, _ := f.tokens.Issue(f.client, []string{"otp:send"})
	oldKid := f.keys.JWKS().Keys[0].KeyID
	newKid, err := f.keys.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.keys.JWKS().Keys) != 2 || newKid == oldKid {
		t.Fatalf("JWKS after rotation = %+v", f.keys.JWKS())
	}
	if _, err := f.tokens.parse(old); err != nil {
		t.Errorf("a token of the retired key no longer verifies: %v", err)
	}
	fresh, _, _ := f.tokens.Issue(f.client, []string{"otp:send"})
	parsed, _, _ := jwt.NewParser().ParseUnverified(fresh, jwt.MapClaims{})
	if parsed.Header["kid"] != newKid {
		t.Errorf("new tokens are signed with %v, want %s", parsed.Header["kid"], newKid)
	}
}

func TestTokens_Endpoint(t *testing.T) {
	f := newFixture(t)
	form := func(kv ...string) map[string][]string {
		m := map[string][]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = append(m[kv[i]], kv[i+1])
		}
		return m
	}
	basic := func(r TokenRequest) TokenRequest {
		r.BasicID, r.BasicSecret, r.HasBasic = f.client.ID, f.secret, true
		return r
	}
	tests := []struct {
		name   string
		req    TokenRequest
		status int
		code   string
	}{
		{"basic", basic(TokenRequest{Form: form("grant_type", "client_credentials")}), 200, ""},
		{"post", TokenRequest{Form: form("grant_type", "client_credentials", "client_id", f.client.ID,
			"client_secret", f.secret)}, 200, ""},
		{"scope subset", basic(TokenRequest{Form: form("grant_type", "client_credentials", "scope", "otp:send")}), 200, ""},
		{"no credentials", TokenRequest{Form: form("grant_type", "client_credentials")}, 401, "invalid_client"},
		{"wrong secret", TokenRequest{Form: form("grant_type", "client_credentials", "client_id", f.client.ID,
			"client_secret", "wrong")}, 401, "invalid_client"},
		{"unknown client", TokenRequest{Form: form("grant_type", "client_credentials", "client_id", "x",
			"client_secret", "y")}, 401, "invalid_client"},
		{"two methods", basic(TokenRequest{Form: form("grant_type", "client_credentials", "client_secret", "x")}),
			400, "invalid_request"},
		{"missing grant", basic(TokenRequest{Form: form()}), 400, "invalid_request"},
		{"password grant", basic(TokenRequest{Form: form("grant_type", "password")}), 400, "unsupported_grant_type"},
		{"unknown scope", basic(TokenRequest{Form: form("grant_type", "client_credentials", "scope", "admin")}),
			400, "invalid_scope"},
		{"repeated parameter", basic(TokenRequest{Form: form("grant_type", "client_credentials",
			"grant_type", "client_credentials")}), 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, oerr := f.tokens.Token(tt.req)
			if tt.status == 200 {
				if oerr != nil || resp.TokenType != "Bearer" || resp.ExpiresIn != 900 {
					t.Fatalf("Token = %+v, %v", resp, oerr)
				}
				if strings.Contains(tt.name, "subset") && resp.Scope != "otp:send" {
					t.Errorf("scope = %q, want otp:send", resp.Scope)
				}
				return
			}
			if oerr == nil || oerr.Status != tt.status || oerr.Code != tt.code {
				t.Fatalf("Token error = %+v, want %d %s", oerr, tt.status, tt.code)
			}
		})
	}
}

func BenchmarkTokens_Verify(b *testing.B) {
	f := newFixture(b)
	raw, _, _ := f.tokens.Issue(f.client, []string{"otp:send"})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.tokens.Verify(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.tokens.parse(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkTokens_Issue(b *testing.B) {
	f := newFixture(b)
	for b.Loop() {
		if _, _, err := f.tokens.Issue(f.client, []string{"otp:send"}); err != nil {
			b.Fatal(err)
		}
	}
}
