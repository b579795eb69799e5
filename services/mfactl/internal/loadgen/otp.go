package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// OTPOptions shape the POST /v1/otp requests of CreateOTP.
type OTPOptions struct {
	// Prefix starts every userName and email local part, which go on with
	// a sequence number so that each request has its own user and
	// address; default "bench".
	Prefix string
	// Domain is the email addresses' domain; default example.com.
	Domain string
	// Template is the templateName; default demotemplate.
	Template string
	// ExpiresIn is expiresInSeconds; 0 leaves it to the client's policy.
	ExpiresIn int
	// Record, when set, gets a line for every challenge created.
	Record *Recorder
}

func (o *OTPOptions) defaults() {
	if o.Prefix == "" {
		o.Prefix = "bench"
	}

	if o.Domain == "" {
		o.Domain = "example.com"
	}

	if o.Template == "" {
		o.Template = "demotemplate"
	}
}

// otpBody builds the request bodies of POST /v1/otp: its fixed parts are
// encoded once, and each body only adds its sequence number.
type otpBody struct {
	user, email, rest []byte
}

// newOTPBody encodes the parts of o's bodies.
func newOTPBody(o OTPOptions) (otpBody, error) {
	user, err := openString(o.Prefix + "-")
	if err != nil {
		return otpBody{}, err
	}

	fields := map[string]any{"deviceType": "EMAIL", "templateName": o.Template}
	if o.ExpiresIn != 0 {
		fields["expiresInSeconds"] = o.ExpiresIn
	}

	rest, err := json.Marshal(fields)
	if err != nil {
		return otpBody{}, fmt.Errorf("encoding request: %w", err)
	}

	domain, err := json.Marshal("@" + o.Domain)
	if err != nil {
		return otpBody{}, fmt.Errorf("encoding request: %w", err)
	}

	b := otpBody{
		user:  append([]byte(`{"userName":`), user...),
		email: append([]byte(`","email":`), user...),
		rest:  append(append(domain[1:], ','), rest[1:]...),
	}
	return b, nil
}

// openString is s as a JSON string without its closing quote.
func openString(s string) ([]byte, error) {
	q, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}

	return q[:len(q)-1], nil
}

// body returns the body for user number n.
func (b otpBody) body(n int64) []byte {
	out := make([]byte, 0, len(b.user)+len(b.email)+len(b.rest)+40)
	out = strconv.AppendInt(append(out, b.user...), n, 10)
	out = strconv.AppendInt(append(out, b.email...), n, 10)
	return append(out, b.rest...)
}

// CreateOTP is a scenario that asks for an email OTP with every request,
// each for a new user and address, and expects 201 with an authId. It
// fails only when o's strings cannot be encoded as JSON.
func CreateOTP(client *http.Client, base string, tokens *Tokens, o OTPOptions) (Scenario, error) {
	o.defaults()
	bodies, err := newOTPBody(o)
	if err != nil {
		return nil, err
	}

	endpoint := strings.TrimSuffix(base, "/") + "/v1/otp"
	var seq atomic.Int64
	return func(int) Op {
		return func(ctx context.Context) Outcome {
			n := seq.Add(1)
			req, err := tokens.authorized(ctx, http.MethodPost, endpoint, bodies.body(n))
			if err != nil {
				return Outcome{Err: err}
			}

			sent := time.Now()
			var authID string
			out := send(client, req, http.StatusCreated, func(b []byte) (err error) {
				authID, err = authIDOf(b)
				return err
			})
			if out.OK && o.Record != nil {
				o.Record.Record(authID, o.Prefix+"-"+strconv.FormatInt(n, 10)+"@"+o.Domain, sent)
			}

			return out
		}
	}, nil
}

// authIDOf returns the authId of a created answer. The API writes its
// answers compact and an authId needs no escapes, so a scan finds it
// without the cost of a full decode; any other shape goes through
// encoding/json.
func authIDOf(body []byte) (string, error) {
	const key = `"authId":"`
	if _, v, ok := bytes.Cut(body, []byte(key)); ok {
		if end := bytes.IndexByte(v, '"'); end > 0 && bytes.IndexByte(v[:end], '\\') < 0 {
			return string(v[:end]), nil
		}
	}

	var ans struct {
		AuthID string `json:"authId"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return "", err
	}
	if ans.AuthID == "" {
		return "", ErrNoAuthID
	}

	return ans.AuthID, nil
}

// Recorder writes one line per created challenge: its authId, the email
// address and the time the request was sent in Unix nanoseconds,
// separated by tabs. It is safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	w    *bufio.Writer
	line []byte
	err  error
}

// NewRecorder returns a Recorder writing to w; Flush it at the end.
func NewRecorder(w io.Writer) *Recorder {
	return &Recorder{w: bufio.NewWriterSize(w, 64<<10)}
}

// Record writes one line; the first write error is kept for Flush.
func (r *Recorder) Record(authID, email string, sent time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.line = append(append(append(append(r.line[:0], authID...), '\t'), email...), '\t')
		r.line = append(strconv.AppendInt(r.line, sent.UnixNano(), 10), '\n')
		_, r.err = r.w.Write(r.line)
	}
}

// Flush writes out buffered lines and returns the first error met.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return fmt.Errorf("recording challenges: %w", r.err)
	}

	if err := r.w.Flush(); err != nil {
		return fmt.Errorf("recording challenges: %w", err)
	}

	return nil
}
