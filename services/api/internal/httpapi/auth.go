package httpapi

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/oauth"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

const (
	ctxPrincipal = "principal"
	ctxClient    = "client"
)

// authenticate verifies the bearer token and puts its principal and client
// in the context.
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw, ok := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			return errUnauthorized
		}
		p, err := s.Tokens.Verify(raw)
		if err != nil {
			return err
		}
		client, ok := s.Clients.Get(p.ClientID)
		if !ok {
			return oauth.ErrClientDisabled
		}
		c.Set(ctxPrincipal, p)
		c.Set(ctxClient, client)
		return next(c)
	}
}

// requireScope refuses tokens without scope, and tokens of a client that
// has since lost the scope (so that taking a scope away takes effect at
// once, like disabling a client).
func requireScope(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, _ := c.Get(ctxPrincipal).(*oauth.Principal)
			if p == nil || !p.HasScope(scope) || !clientOf(c).HasScope(scope) {
				return &scopeError{scope: scope}
			}
			return next(c)
		}
	}
}

func clientOf(c echo.Context) *store.Client {
	cl, _ := c.Get(ctxClient).(*store.Client)
	return cl
}

// bearer extracts the token of an "Authorization: Bearer" header.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > 4096 {
		return "", false
	}
	return token, true
}
