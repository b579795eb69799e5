package httpapi

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpio"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/oauth"
)

// maxFormBytes bounds a token request body.
const maxFormBytes = 4 << 10

// token is the OAuth 2.0 token endpoint; it answers in RFC 6749 §5.2 form,
// not the API's error form.
//
// Failed client authentications are counted per source address (the
// socket address, or X-Forwarded-For from a trusted proxy); an address
// over its allowance gets 429 until it has waited, right secret or not.
func (s *server) token(c echo.Context) error {
	addr, now := c.RealIP(), time.Now()
	if wait, refused := s.tokenFailures.Refused(addr, now); refused {
		c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
		return c.JSON(http.StatusTooManyRequests, &oauth.Error{Code: "temporarily_unavailable",
			Description: "too many failed attempts from this address; retry later"})
	}

	req, oerr := s.tokenRequest(c)
	if oerr == nil {
		var resp *oauth.TokenResponse
		if resp, oerr = s.Tokens.Token(req); oerr == nil {
			c.Response().Header().Set("Pragma", "no-cache")
			return c.JSON(http.StatusOK, resp)
		}
	}

	if oauth.IsInvalidClient(oerr) {
		s.tokenFailures.Count(addr, now)
		c.Response().Header().Set("WWW-Authenticate", `Basic realm="ciam-mfa"`)
	}

	return c.JSON(oerr.Status, oerr)
}

func (s *server) tokenRequest(c echo.Context) (oauth.TokenRequest, *oauth.Error) {
	r := c.Request()
	invalid := func(desc string) *oauth.Error {
		return &oauth.Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
	}
	if r.ContentLength == 0 {
		return oauth.TokenRequest{}, invalid("grant_type is required, in an application/x-www-form-urlencoded body")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); err != nil ||
		mt != echo.MIMEApplicationForm {
		return oauth.TokenRequest{}, invalid("body must be application/x-www-form-urlencoded")
	}
	body, err := readLimited(r, maxFormBytes)
	if err != nil {
		return oauth.TokenRequest{}, invalid("body is too large or unreadable")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return oauth.TokenRequest{}, invalid("body is not a valid form")
	}
	req := oauth.TokenRequest{Form: form}
	if h := r.Header.Get(echo.HeaderAuthorization); h != "" {
		id, secret, ok := r.BasicAuth()
		if !ok {
			return oauth.TokenRequest{}, &oauth.Error{Status: http.StatusUnauthorized,
				Code: "invalid_client", Description: "malformed Basic credentials"}
		}

		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first.
		if id, err = url.QueryUnescape(id); err == nil {
			secret, err = url.QueryUnescape(secret)
		}
		if err != nil {
			return oauth.TokenRequest{}, &oauth.Error{Status: http.StatusUnauthorized,
				Code: "invalid_client", Description: "malformed Basic credentials"}
		}

		req.BasicID, req.BasicSecret, req.HasBasic = id, secret, true
	}

	return req, nil
}

func readLimited(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, httpio.ErrTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, httpio.ErrTooLarge
	}
	return b, nil
}

func (s *server) jwks(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, s.Keys.JWKS())
}

// serverMetadata is the RFC 8414 authorization server metadata.
type serverMetadata struct {
	Issuer                     string   `json:"issuer"`
	TokenEndpoint              string   `json:"token_endpoint"`
	JWKSURI                    string   `json:"jwks_uri"`
	GrantTypesSupported        []string `json:"grant_types_supported"`
	TokenAuthMethodsSupported  []string `json:"token_endpoint_auth_methods_supported"`
	ScopesSupported            []string `json:"scopes_supported"`
	ResponseTypesSupported     []string `json:"response_types_supported"`
	AccessTokenSigningAlgsUsed []string `json:"access_token_signing_alg_values_supported"`
}

func (s *server) metadata(c echo.Context) error {
	base := strings.TrimSuffix(s.Issuer, "/")
	return c.JSON(http.StatusOK, serverMetadata{
		Issuer: s.Issuer, TokenEndpoint: base + "/oauth2/token",
		JWKSURI:                    base + "/.well-known/jwks.json",
		GrantTypesSupported:        []string{"client_credentials"},
		TokenAuthMethodsSupported:  []string{"client_secret_basic", "client_secret_post"},
		ScopesSupported:            clients.AllScopes,
		ResponseTypesSupported:     []string{},
		AccessTokenSigningAlgsUsed: []string{"EdDSA"},
	})
}
