package oauth

import (
	"net/http"
	"slices"
	"strings"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
)

// Error is an RFC 6749 §5.2 error response.
type Error struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// Error returns the code and description.
func (e *Error) Error() string { return e.Code + ": " + e.Description }

func oauthErr(status int, code, desc string) *Error {
	return &Error{Status: status, Code: code, Description: desc}
}

// TokenResponse is a successful token response (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// TokenRequest is a token request as the HTTP layer read it.
type TokenRequest struct {
	// Form is the parsed form body.
	Form map[string][]string
	// BasicID and BasicSecret come from HTTP Basic authentication, when
	// HasBasic is set.
	BasicID, BasicSecret string
	HasBasic             bool
}

// Token handles a client credentials token request. It returns an *Error
// for every failure, as RFC 6749 §5.2 specifies.
func (t *Tokens) Token(r TokenRequest) (*TokenResponse, *Error) {
	for name, vals := range r.Form {
		if len(vals) > 1 {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request",
				"parameter "+quoted(name)+" repeated")
		}
	}

	id, secret, authErr := credentials(r)
	if authErr != nil {
		return nil, authErr
	}
	grant := first(r.Form["grant_type"])
	switch grant {
	case "client_credentials":
	case "":
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		return nil, oauthErr(http.StatusBadRequest, "unsupported_grant_type",
			"only client_credentials is supported")
	}
	c, err := t.clients.Authenticate(id, secret)
	if err != nil {
		return nil, oauthErr(http.StatusUnauthorized, "invalid_client", "client authentication failed")
	}
	scopes := c.Scopes
	if requested, ok := r.Form["scope"]; ok {
		var serr *Error
		if scopes, serr = requestedScopes(first(requested), c.HasScope); serr != nil {
			return nil, serr
		}
	}

	scopes = ordered(scopes)
	tok, ttl, err := t.Issue(c, scopes)
	if err != nil {
		return nil, oauthErr(http.StatusInternalServerError, "server_error", "token could not be issued")
	}
	return &TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(ttl.Seconds()),
		Scope: strings.Join(scopes, " ")}, nil
}

// requestedScopes splits a scope parameter into its tokens, which RFC 6749
// §3.3 separates by single spaces, and checks each with allowed.
func requestedScopes(param string, allowed func(string) bool) ([]string, *Error) {
	var scopes []string
	for s := range strings.SplitSeq(param, " ") {
		switch {
		case s == "":
		case !isScopeToken(s):
			return nil, oauthErr(http.StatusBadRequest, "invalid_scope",
				"scope tokens are printable ASCII separated by single spaces")
		case !allowed(s):
			return nil, oauthErr(http.StatusBadRequest, "invalid_scope",
				"scope "+quoted(s)+" is not allowed for this client")
		default:
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == 0 {
		return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "scope is empty")
	}
	return scopes, nil
}

// isScopeToken reports whether s has only the characters RFC 6749 §3.3
// allows in a scope token.
func isScopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// maxQuoted bounds how much of a caller's input an error description
// repeats.
const maxQuoted = 48

// quoted returns s for an error description: in single quotes, cut to
// maxQuoted bytes, with every byte that RFC 6749 §5.2 does not allow in a
// description (controls, non-ASCII, '"' and backslash) written as '?'.
func quoted(s string) string {
	cut := len(s) > maxQuoted
	if cut {
		s = s[:maxQuoted]
	}
	b := make([]byte, 0, len(s)+5)
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			c = '?'
		}
		b = append(b, c)
	}
	if cut {
		b = append(b, "..."...)
	}
	return string(append(b, '\''))
}

// credentials reads the client id and secret from exactly one method.
func credentials(r TokenRequest) (string, string, *Error) {
	_, formID := r.Form["client_id"]
	_, formSecret := r.Form["client_secret"]
	switch {
	case r.HasBasic && formSecret:
		return "", "", oauthErr(http.StatusBadRequest, "invalid_request",
			"use one client authentication method, not two")
	case r.HasBasic:
		if formID && first(r.Form["client_id"]) != r.BasicID {
			return "", "", oauthErr(http.StatusBadRequest, "invalid_request", "client_id differs from Basic")
		}
		return r.BasicID, r.BasicSecret, nil
	case formID && formSecret:
		return first(r.Form["client_id"]), first(r.Form["client_secret"]), nil
	default:
		return "", "", oauthErr(http.StatusUnauthorized, "invalid_client", "client authentication is required")
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// ordered removes duplicates and sorts scopes in AllScopes order.
func ordered(scopes []string) []string {
	var out []string
	for _, s := range clients.AllScopes {
		if slices.Contains(scopes, s) {
			out = append(out, s)
		}
	}

	return out
}

// IsInvalidClient reports whether e must carry WWW-Authenticate.
func IsInvalidClient(e *Error) bool { return e != nil && e.Code == "invalid_client" }
