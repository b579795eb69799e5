package loadgen

import (
	"bufio"
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

// otpBody is the request body of POST /v1/otp.
type otpBody struct {
	UserName         string `json:"userName"`
	Email            string `json:"email"`
	DeviceType       string `json:"deviceType"`
	TemplateName     string `json:"templateName"`
	ExpiresInSeconds int    `json:"expiresInSeconds,omitempty"`
}

// CreateOTP is a scenario that asks for an email OTP with every request,
// each for a new user and address, and expects 201 with an authId.
func CreateOTP(client *http.Client, base string, tokens *Tokens, o OTPOptions) Scenario {
	o.defaults()
	endpoint := strings.TrimSuffix(base, "/") + "/v1/otp"
	var seq atomic.Int64
	return func(int) Op {
		return func(ctx context.Context) Outcome {
			user := o.Prefix + "-" + strconv.FormatInt(seq.Add(1), 10)
			body, err := json.Marshal(otpBody{UserName: user, Email: user + "@" + o.Domain,
				DeviceType: "EMAIL", TemplateName: o.Template, ExpiresInSeconds: o.ExpiresIn})
			if err != nil {
				return Outcome{Err: fmt.Errorf("encoding request: %w", err)}
			}

			req, err := tokens.authorized(ctx, http.MethodPost, endpoint, body)
			if err != nil {
				return Outcome{Err: err}
			}

			sent := time.Now()
			var ans struct {
				AuthID string `json:"authId"`
			}

			out := send(client, req, http.StatusCreated, &ans)
			if out.OK && o.Record != nil {
				o.Record.Record(ans.AuthID, user+"@"+o.Domain, sent)
			}

			return out
		}
	}
}

// Recorder writes one line per created challenge: its authId, the email
// address and the time the request was sent in Unix nanoseconds,
// separated by tabs. It is safe for concurrent use.
type Recorder struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
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
		_, r.err = fmt.Fprintf(r.w, "%s\t%s\t%d\n", authID, email, sent.UnixNano())
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
