// Package vonage sends SMS through the Vonage SMS API with the Vonage Go SDK.
//
// The SDK (v0.14.0) needs guarding: its Send takes no context, so the
// deadline and cancellation are put on each HTTP request by a transport;
// it returns no error for a message Vonage refused, so every part's status
// is checked; and it panics on a reply with no messages, which is recovered
// and treated as a temporary failure.
package vonage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	sdk "github.com/vonage/vonage-go-sdk"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/worker"
	"github.com/ciam-mfa/ciam-mfa/services/sms-worker/internal/smstext"
)

// DefaultBaseURL is Vonage's SMS API base, including /sms.
const DefaultBaseURL = "https://rest.nexmo.com/sms"

// Errors returned by Send, wrapped with Vonage's reason.
var (
	// ErrRefused is a message Vonage answered with a non-zero status.
	ErrRefused = errors.New("vonage refused the message")
	// ErrBadReply is a reply the SDK could not make sense of.
	ErrBadReply = errors.New("vonage reply malformed")
)

// Options configures a Sender.
type Options struct {
	APIKey    string
	APISecret string
	// BaseURL is the SMS API base including /sms; default DefaultBaseURL.
	BaseURL string
	// From is the default sender id or number.
	From string
	// ReceiptURL, when set, asks for delivery receipts there.
	ReceiptURL string
	// Timeout bounds one HTTP request; default 10s.
	Timeout time.Duration
	// Transport carries the requests; default http.DefaultTransport.
	Transport http.RoundTripper
}

// Sender sends SMS through Vonage. It is safe for concurrent use.
type Sender struct {
	opts      Options
	templates smstext.Templates
	now       func() time.Time
}

var _ worker.Sender = (*Sender)(nil)

// New returns a Sender. It fails when the API key is not the 8 characters
// Vonage issues (the SDK refuses any other length at send time).
func New(o Options, templates smstext.Templates) (*Sender, error) {
	if len(o.APIKey) != 8 || o.APISecret == "" {
		return nil, errors.New("vonage: API key must be 8 characters and the secret set")
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	o.BaseURL = strings.TrimSuffix(o.BaseURL, "/")

	return &Sender{opts: o, templates: templates, now: time.Now}, nil
}

// Send renders d's SMS template and sends it to the number in sec. It
// returns Vonage's message ids (one per part, comma-separated).
func (s *Sender) Send(ctx context.Context, d *events.Delivery, sec events.Secret) (string, error) {
	text, err := smstext.Render(ctx, s.templates, d, sec, s.now())
	if err != nil {
		return "", err
	}
	from := s.opts.From
	if d.Sender.SMSFrom != "" {
		from = d.Sender.SMSFrom
	}
	to := strings.TrimPrefix(sec.Destination, "+")
	if len(to) < 7 || len(to) > 15 {
		return "", worker.Permanentf("invalid-number", "number has %d digits", len(to))
	}
	return s.send(ctx, from, to, text, d.MsgID())
}

func (s *Sender) send(ctx context.Context, from, to, text, ref string) (ids string, err error) {
	rt := &ctxTransport{ctx: ctx, base: s.opts.Transport}
	client := sdk.NewSMSClient(sdk.CreateAuthFromKeySecret(s.opts.APIKey, s.opts.APISecret))
	client.Config.BasePath = s.opts.BaseURL
	client.Config.HTTPClient = &http.Client{Timeout: s.opts.Timeout, Transport: rt}

	defer func() {
		if r := recover(); r != nil {
			ids, err = "", fmt.Errorf("%w: %v", ErrBadReply, r)
		}
	}()
	opts := sdk.SMSOpts{ClientRef: ref}
	if s.opts.ReceiptURL != "" {
		opts.StatusReportReq, opts.Callback = true, s.opts.ReceiptURL
	}
	resp, refused, err := client.Send(from, to, text, opts)
	if err != nil {
		return "", httpFailure(rt.status.Load(), err)
	}
	return checkParts(resp, refused)
}

// httpFailure classifies a failed HTTP exchange by its status code.
func httpFailure(status int32, err error) error {
	switch {
	case status == 0, status == http.StatusTooManyRequests, status >= 500:
		return fmt.Errorf("vonage http %d: %w", status, err)
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return worker.Permanent("bad-credentials", err)
	default:
		return worker.Permanent("rejected", fmt.Errorf("vonage http %d: %w", status, err))
	}
}

// checkParts requires every part's status to be "0" (accepted).
func checkParts(resp sdk.Sms, refused sdk.SmsErrorResponse) (string, error) {
	if len(resp.Messages) == 0 {
		return "", ErrBadReply
	}
	ids := make([]string, 0, len(resp.Messages))
	for i, m := range resp.Messages {
		if m.Status != "0" {
			text := ""
			if i < len(refused.Messages) {
				text = refused.Messages[i].ErrorText
			}
			return "", refusal(m.Status, text)
		}

		ids = append(ids, m.MessageId)
	}

	return strings.Join(ids, ","), nil
}

// statusReasons names Vonage's per-message statuses; retryable ones are
// marked.
var statusReasons = map[string]struct {
	reason    string
	temporary bool
}{
	"1":  {"throttled", true},
	"2":  {"missing-parameters", false},
	"3":  {"invalid-number", false},
	"4":  {"bad-credentials", false},
	"5":  {"provider-error", true},
	"6":  {"invalid-message", false},
	"7":  {"number-barred", false},
	"8":  {"account-barred", false},
	"9":  {"quota-exceeded", false},
	"10": {"too-many-binds", true},
	"11": {"account-not-enabled", false},
	"12": {"message-too-long", false},
	"14": {"invalid-signature", false},
	"15": {"invalid-sender", false},
	"22": {"invalid-network", false},
	"29": {"destination-not-allowed", false},
	"33": {"number-deactivated", false},
}

// refusal classifies a refused message, keeping Vonage's own error text.
func refusal(status, text string) error {
	r, ok := statusReasons[status]
	if !ok {
		r.reason = "rejected"
	}
	err := fmt.Errorf("%w: status %s: %s", ErrRefused, status, text)
	if r.temporary {
		return err
	}
	return worker.Permanent(r.reason, err)
}

// ctxTransport puts one send's context on its requests, since the SDK
// takes none, and records the last HTTP status. One is made per send and
// dropped after it, so the context never outlives its call.
type ctxTransport struct {
	ctx    context.Context
	base   http.RoundTripper
	status atomic.Int32
}

// RoundTrip sends r under the send's context and notes the status.
func (t *ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r.WithContext(t.ctx))
	if resp != nil {
		t.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}
