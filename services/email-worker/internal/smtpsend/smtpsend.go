// Package smtpsend renders a delivery's email template and sends it over
// SMTP with go-mail, reusing a small pool of server connections.
//
// Failures are classified for the delivery loop: a 4xx reply, a refused or
// dropped connection or a timeout is temporary; a 5xx reply to the sender,
// the recipient or the message is permanent.
package smtpsend

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/ciam-mfa/ciam-mfa/pkg/clientconfig"
	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/pkg/worker"
)

// Options configures a Sender.
type Options struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS is "none", "starttls" or "tls".
	TLS string
	// HELO is the name sent in EHLO; default the host name.
	HELO string
	// From and FromName are the default sender.
	From, FromName string
	// Timeout bounds connecting, and each message's transaction, within
	// the deadline of the send's context; default 10s.
	Timeout time.Duration
	// PoolSize is how many connections are kept open; default 16.
	PoolSize int
	// TLSConfig overrides the TLS settings, for tests.
	TLSConfig *tls.Config
}

// Templates finds the template a delivery names (see clientconfig.Store).
type Templates interface {
	Template(ctx context.Context, clientID, name string, revision int) (*render.Template, error)
}

// DKIMKeys finds a client's signing key for a domain.
type DKIMKeys interface {
	DKIM(ctx context.Context, clientID, domain string) (clientconfig.DKIM, error)
}

// Config is what a Sender reads per delivery: *clientconfig.Store.
type Config interface {
	Templates
	DKIMKeys
}

var _ Config = (*clientconfig.Store)(nil)

// Sender sends rendered emails. It is safe for concurrent use.
type Sender struct {
	client    *mail.Client
	pool      chan *smtp.Client
	templates Config
	from      string
	fromName  string
	timeout   time.Duration
	log       *slog.Logger
	now       func() time.Time
}

var _ worker.Sender = (*Sender)(nil)

// New returns a Sender. It does not connect until the first send. It fails
// when the options are inconsistent.
func New(o Options, templates Config, log *slog.Logger) (*Sender, error) {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.PoolSize <= 0 {
		o.PoolSize = 16
	}
	opts := []mail.Option{mail.WithPort(o.Port), mail.WithTimeout(o.Timeout), mail.WithoutNoop()}
	switch o.TLS {
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case "tls":
		opts = append(opts, mail.WithSSL())
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if o.TLSConfig != nil {
		opts = append(opts, mail.WithTLSConfig(o.TLSConfig))
	}
	if o.HELO != "" {
		opts = append(opts, mail.WithHELO(o.HELO))
	}
	if o.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(o.Username), mail.WithPassword(o.Password))
	}

	client, err := mail.NewClient(o.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return &Sender{client: client, pool: make(chan *smtp.Client, o.PoolSize), templates: templates,
		from: o.From, fromName: o.FromName, timeout: o.Timeout, log: log, now: time.Now}, nil
}

// Send renders and sends d to the destination in s, returning the
// message's Message-ID.
func (s *Sender) Send(ctx context.Context, d *events.Delivery, sec events.Secret) (string, error) {
	msg, err := s.message(ctx, d, sec)
	if err != nil {
		return "", err
	}
	from, err := msg.GetSender(false)
	if err != nil {
		return "", worker.Permanent("bad-sender", err)
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return "", worker.Permanent("bad-recipient", err)
	}
	// Written out before the transaction, so that a failure here (a DKIM
	// signature, say) is told apart from a connection that broke.
	var raw bytes.Buffer
	if _, err := msg.WriteTo(&raw); err != nil {
		return "", worker.Permanent("message-error", err)
	}

	if err := s.deliver(ctx, from, rcpts, raw.Bytes()); err != nil {
		return "", classify(err)
	}
	return msg.GetMessageID(), nil
}

// message builds the email; a template or address problem is permanent,
// a template revision not yet seen is retried.
func (s *Sender) message(ctx context.Context, d *events.Delivery, sec events.Secret) (*mail.Msg, error) {
	tpl, err := s.templates.Template(ctx, d.ClientID, d.Template, d.TemplateVersion)
	switch {
	case errors.Is(err, clientconfig.ErrNotYet):
		return nil, err
	case err != nil:
		return nil, worker.Permanent("unknown-template", err)
	}
	email, err := tpl.Email(d.Locale, render.DataFor(d, sec, s.now()))
	if err != nil {
		return nil, worker.Permanent("template-error", err)
	}
	from, fromName := s.from, s.fromName
	if d.Sender.FromAddress != "" {
		from, fromName = d.Sender.FromAddress, d.Sender.FromName
	}
	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := m.FromFormat(fromName, from); err != nil {
		return nil, worker.Permanent("bad-sender", err)
	}
	if err := m.To(sec.Destination); err != nil {
		return nil, worker.Permanent("bad-recipient", err)
	}
	if d.Sender.ReplyTo != "" {
		if err := m.ReplyTo(d.Sender.ReplyTo); err != nil {
			return nil, worker.Permanent("bad-reply-to", err)
		}
	}

	m.Subject(email.Subject)
	m.SetMessageID()
	m.SetDate()
	m.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	m.SetGenHeader(mail.Header("X-Auto-Response-Suppress"), "All")
	m.SetBodyString(mail.TypeTextPlain, email.Text)
	m.AddAlternativeString(mail.TypeTextHTML, email.HTML)
	if d.Sender.DKIMDomain != "" {
		if err := s.sign(ctx, m, d); err != nil {
			return nil, err
		}
	}

	return m, nil
}

// sign attaches the client's DKIM signature for its sender domain.
func (s *Sender) sign(ctx context.Context, m *mail.Msg, d *events.Delivery) error {
	key, err := s.templates.DKIM(ctx, d.ClientID, d.Sender.DKIMDomain)
	if err != nil {
		return fmt.Errorf("dkim key for %s: %w", d.Sender.DKIMDomain, err)
	}
	signer, err := mail.PrivKeyFromPEM(key.PEM)
	if err != nil {
		return worker.Permanent("bad-dkim-key", err)
	}
	dk := mail.NewDKIMSigner(key.Domain, key.Selector, signer)
	dk.HeaderCanonicalization(mail.CanonicalizationRelaxed)
	dk.BodyCanonicalization(mail.CanonicalizationRelaxed)
	m.SetDKIM(dk)

	return nil
}

// deliver sends the message raw on a pooled connection. A pooled
// connection that turns out to be closed fails before the server has
// taken anything, so the message is tried once more on a new one.
func (s *Sender) deliver(ctx context.Context, from string, rcpts []string, raw []byte) error {
	conn, pooled, err := s.conn(ctx)
	if err != nil {
		return err
	}
	err = s.transact(ctx, conn, from, rcpts, raw)
	var te *txError
	retry := pooled && errors.As(err, &te) && te.closed() && te.step != stepEnd
	if retry && ctx.Err() == nil {
		s.discard(conn)
		if conn, err = s.dial(ctx); err != nil {
			return err
		}
		err = s.transact(ctx, conn, from, rcpts, raw)
	}

	s.settle(conn, err)
	return err
}

// transact runs one mail transaction within the timeout and ctx's
// deadline: MAIL, RCPT for each recipient, DATA and the content. It sends no NOOP before and no RSET after: the
// next MAIL starts a new transaction, and a closed connection shows at
// the first command.
func (s *Sender) transact(ctx context.Context, c *smtp.Client, from string, rcpts []string,
	raw []byte) error {
	limit := s.timeout
	if d, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(d))
	}
	if limit <= 0 {
		return &txError{step: stepMail, err: context.DeadlineExceeded}
	}
	if err := c.UpdateDeadline(limit); err != nil {
		return &txError{step: stepMail, err: err}
	}
	if err := c.Mail(from); err != nil {
		return &txError{step: stepMail, err: err}
	}
	for _, rcpt := range rcpts {
		if err := c.Rcpt(rcpt); err != nil {
			return &txError{step: stepRcpt, err: err}
		}
	}
	w, err := c.Data()
	if err != nil {
		return &txError{step: stepData, err: err}
	}
	if _, err := w.Write(raw); err != nil {
		return &txError{step: stepContent, err: err}
	}
	if err := w.Close(); err != nil {
		return &txError{step: stepEnd, err: err}
	}
	return nil
}

// settle returns conn to the pool after err, the outcome of a
// transaction on it. A refused transaction that is still open is reset
// first; a connection that failed without a reply is closed.
func (s *Sender) settle(conn *smtp.Client, err error) {
	var te *txError
	switch {
	case err == nil:
	case !errors.As(err, &te) || te.closed() || te.step == stepContent:
		s.discard(conn)
		return
	case te.step != stepEnd:
		if conn.Reset() != nil {
			s.discard(conn)
			return
		}
	}
	s.release(conn)
}

func (s *Sender) conn(ctx context.Context) (*smtp.Client, bool, error) {
	select {
	case c := <-s.pool:
		return c, true, nil
	default:
	}
	c, err := s.dial(ctx)
	return c, false, err
}

func (s *Sender) dial(ctx context.Context) (*smtp.Client, error) {
	c, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting to smtp server: %w", err)
	}
	return c, nil
}

func (s *Sender) release(c *smtp.Client) {
	select {
	case s.pool <- c:
	default:
		_ = s.client.CloseWithSMTPClient(c)
	}
}

func (s *Sender) discard(c *smtp.Client) {
	_ = s.client.CloseWithSMTPClient(c)
}

// Close closes the pooled connections.
func (s *Sender) Close() error {
	for {
		select {
		case c := <-s.pool:
			s.discard(c)
		default:
			return nil
		}
	}
}

// The steps of a mail transaction.
const (
	stepMail    = "MAIL"
	stepRcpt    = "RCPT"
	stepData    = "DATA"
	stepContent = "content"
	stepEnd     = "end of data"
)

// txError is a failed step of a mail transaction.
type txError struct {
	step string
	err  error
}

// Error names the step and the server's answer.
func (e *txError) Error() string { return "smtp " + e.step + ": " + e.err.Error() }

// Unwrap returns the client's error.
func (e *txError) Unwrap() error { return e.err }

// code is the server's reply code, or 0 when none was read.
func (e *txError) code() int {
	var re *textproto.Error
	if errors.As(e.err, &re) {
		return re.Code
	}
	return 0
}

// closed reports whether the connection is gone: no reply came, or the
// server said it is closing the channel (421).
func (e *txError) closed() bool {
	c := e.code()
	return c == 0 || c == 421
}

// classify marks permanent SMTP failures for the delivery loop: a 5xx
// reply to the sender, a recipient or the message.
func classify(err error) error {
	var te *txError
	if !errors.As(err, &te) || te.code() < 500 {
		return err
	}
	switch te.step {
	case stepRcpt:
		return worker.Permanent("recipient-rejected", err)
	case stepMail:
		return worker.Permanent("sender-rejected", err)
	default:
		return worker.Permanent("message-rejected", err)
	}
}
