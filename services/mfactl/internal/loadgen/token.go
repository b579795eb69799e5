package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Credentials are an OAuth client's id and secret.
type Credentials struct {
	ID, Secret string
}

// tokenAnswer is the token endpoint's success body.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// tokenRequest builds a client_credentials request to endpoint with
// client_secret_basic authentication.
func tokenRequest(ctx context.Context, endpoint string, cr Credentials) (*http.Request, error) {
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	req, err := newRequest(ctx, http.MethodPost, endpoint, "application/x-www-form-urlencoded",
		[]byte(form))
	if err != nil {
		return nil, err
	}

	req.SetBasicAuth(url.QueryEscape(cr.ID), url.QueryEscape(cr.Secret))
	return req, nil
}

// IssueTokens is a scenario that asks base's token endpoint for a token
// with every request and expects 200 with an access token.
func IssueTokens(client *http.Client, base string, cr Credentials) Scenario {
	endpoint := strings.TrimSuffix(base, "/") + "/oauth2/token"
	return func(int) Op {
		return func(ctx context.Context) Outcome {
			req, err := tokenRequest(ctx, endpoint, cr)
			if err != nil {
				return Outcome{Err: err}
			}

			var ans tokenAnswer
			out := send(client, req, http.StatusOK, decodeInto(&ans))
			if out.OK && ans.AccessToken == "" {
				out.OK, out.Err = false, fmt.Errorf("%w in the answer", ErrToken)
			}

			return out
		}
	}
}

// Tokens holds one access token for the workers of a run and renews it
// when four fifths of its lifetime have passed. It is safe for concurrent
// use.
type Tokens struct {
	client   *http.Client
	endpoint string
	cr       Credentials

	// cur is read without the lock; mu serialises renewals.
	cur atomic.Pointer[bearer]
	mu  sync.Mutex
	// now is the clock renewals are timed by.
	now func() time.Time
}

// bearer is a token, its Authorization header value and when to renew it.
type bearer struct {
	token, header string
	renewAt       time.Time
}

// NewTokens returns Tokens for the server at base.
func NewTokens(client *http.Client, base string, cr Credentials) *Tokens {
	return &Tokens{client: client, endpoint: strings.TrimSuffix(base, "/") + "/oauth2/token", cr: cr,
		now: time.Now}
}

// Get returns a valid access token, fetching one when needed. It fails
// with ErrToken.
func (t *Tokens) Get(ctx context.Context) (string, error) {
	b, err := t.current(ctx)
	if err != nil {
		return "", err
	}

	return b.token, nil
}

// current returns a bearer that is not due for renewal, fetching one when
// needed.
func (t *Tokens) current(ctx context.Context) (*bearer, error) {
	if b := t.cur.Load(); b != nil && t.now().Before(b.renewAt) {
		return b, nil
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.cur.Load(); b != nil && t.now().Before(b.renewAt) {
		return b, nil
	}

	req, err := tokenRequest(ctx, t.endpoint, t.cr)
	if err != nil {
		return nil, err
	}

	var ans tokenAnswer
	out := send(t.client, req, http.StatusOK, decodeInto(&ans))
	if !out.OK || ans.AccessToken == "" {
		return nil, fmt.Errorf("%w: %w", ErrToken, out.Err)
	}

	life := time.Duration(ans.ExpiresIn) * time.Second
	b := &bearer{token: ans.AccessToken, header: "Bearer " + ans.AccessToken,
		renewAt: t.now().Add(life * 4 / 5)}
	t.cur.Store(b)
	return b, nil
}

// authorized builds a JSON request carrying the bearer token.
func (t *Tokens) authorized(ctx context.Context, method, url string, body []byte) (*http.Request, error) {
	b, err := t.current(ctx)
	if err != nil {
		return nil, err
	}

	req, err := newRequest(ctx, method, url, "application/json", body)
	if err != nil {
		return nil, err
	}

	req.Header["Authorization"] = []string{b.header}
	return req, nil
}
