// Package adminclient calls mfa-api's admin API.
package adminclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrUnreachable is returned when the admin API cannot be reached.
var ErrUnreachable = errors.New("admin API unreachable")

// APIError is an error answer from the admin API.
type APIError struct {
	// Status is the HTTP status; the body's own "status" is always FAILED.
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Body is the whole answer, for the fields some errors add.
	Body json.RawMessage `json:"-"`
}

// Error returns the code, status and message.
func (e *APIError) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

// Client talks to one admin API.
type Client struct {
	base  string
	token string
	actor string
	http  *http.Client
}

// New returns a client for the admin API at base with the admin token;
// actor names the operator in the audit log.
func New(base, token, actor string) *Client {
	return &Client{base: strings.TrimSuffix(base, "/"), token: token, actor: actor,
		http: &http.Client{Timeout: 60 * time.Second}}
}

// Do sends a request with an optional JSON body and returns the raw JSON
// answer. It fails with ErrUnreachable or an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, body any) (json.RawMessage, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}

	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if c.actor != "" {
		req.Header.Set("X-Mfa-Actor", c.actor)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", ErrUnreachable, c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		apiErr := &APIError{Status: resp.StatusCode, Body: raw}
		if json.Unmarshal(raw, apiErr) != nil || apiErr.Code == "" {
			apiErr.Code, apiErr.Message = "HTTP_ERROR", strings.TrimSpace(string(raw))
		}
		return nil, apiErr
	}

	return raw, nil
}
