package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxAnswer bounds how much of an answer body is read.
const maxAnswer = 64 << 10

// send performs req and reads the whole answer so the connection is
// reused. The outcome is OK when the status is want and, if decode is not
// nil, decode accepts the body.
func send(client *http.Client, req *http.Request, want int, decode func([]byte) error) Outcome {
	resp, err := client.Do(req)
	if err != nil {
		return Outcome{Err: err}
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_ = resp.Body.Close()
	out := Outcome{Status: resp.StatusCode}
	switch {
	case err != nil:
		out.Err = fmt.Errorf("reading answer: %w", err)
	case resp.StatusCode != want:
		out.Err = fmt.Errorf("status %d, want %d: %s", resp.StatusCode, want, clip(body))
	case decode != nil:
		if err := decode(body); err != nil {
			out.Err = fmt.Errorf("decoding answer: %w", err)
			break
		}

		out.OK = true
	default:
		out.OK = true
	}

	return out
}

// clip shortens an answer body for an error message.
func clip(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		b = append(b[:200:200], "..."...)
	}

	return string(b)
}

// decodeInto returns a decode function for send that unmarshals into v.
func decodeInto(v any) func([]byte) error {
	return func(b []byte) error { return json.Unmarshal(b, v) }
}

// newRequest builds a request with an optional body and content type. It
// fails only for a malformed method or URL.
func newRequest(ctx context.Context, method, url, contentType string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}

	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}

	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}

	return req, nil
}

// Ping is a scenario that sends method to url with body (nil for none)
// and expects status want.
func Ping(client *http.Client, method, url, contentType string, body []byte, want int) Scenario {
	return func(int) Op {
		return func(ctx context.Context) Outcome {
			req, err := newRequest(ctx, method, url, contentType, body)
			if err != nil {
				return Outcome{Err: err}
			}

			return send(client, req, want, nil)
		}
	}
}
