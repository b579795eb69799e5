// Package smtptest runs a real SMTP server on loopback for tests: it
// accepts mail over the wire, keeps every message it received, and can be
// told to refuse recipients or be stopped and started again on the same
// port to play an outage.
package smtptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received message.
type Message struct {
	From string
	To   []string
	// Raw is the message exactly as the client sent it after DATA.
	Raw []byte
}

// Header parses the message's header.
func (m Message) Header() mail.Header {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return mail.Header{}
	}
	return msg.Header
}

// Subject returns the decoded Subject header.
func (m Message) Subject() string {
	s := m.Header().Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return dec
	}
	return s
}

// Part returns the decoded body part of the given media type
// ("text/plain", "text/html"), or "" when there is none.
func (m Message) Part(mediaType string) string { return Part(m.Raw, mediaType) }

// Part returns the decoded body part of the given media type in a raw
// message (as received after DATA), or "" when there is none or the
// message cannot be read.
func Part(raw []byte, mediaType string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	return findPart(textproto(msg.Header), msg.Body, mediaType)
}

type textproto map[string][]string

func (h textproto) get(k string) string {
	if v := mail.Header(h).Get(k); v != "" {
		return v
	}
	return ""
}

func findPart(h textproto, body io.Reader, want string) string {
	mt, params, err := mime.ParseMediaType(h.get("Content-Type"))
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return ""
			}
			if s := findPart(textproto(p.Header), p, want); s != "" {
				return s
			}
		}
	}

	if mt != want {
		return ""
	}
	var r io.Reader = body
	switch strings.ToLower(h.get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = newBase64Reader(body)
	}
	b, _ := io.ReadAll(r)

	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// Server is a running SMTP server. Its methods are safe for concurrent use.
type Server struct {
	t    testing.TB
	addr string

	mu     sync.Mutex
	srv    *smtp.Server
	msgs   []Message
	cmds   []string
	reject func(rcpt string) error
	refuse error
	delay  time.Duration
}

// Start starts a server on a random loopback port; it stops when the test
// ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Stop)

	return s
}

func (s *Server) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{s: s}, nil
	}))
	srv.Domain = "smtptest.localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(recorder{Listener: ln, s: s}) }()
}

// Addr returns the host and port to send to.
func (s *Server) Addr() (string, int) {
	host, port, _ := net.SplitHostPort(s.addr)
	p, _ := strconv.Atoi(port)
	return host, p
}

// Stop closes the listener and every connection; sends fail as if the
// server were down.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Restart listens again on the same port after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	if err != nil {
		s.t.Fatalf("smtptest: relisten on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// RejectRecipients makes RCPT TO answer with fn's error (an *smtp.SMTPError
// picks the reply code); nil accepts everyone again.
func (s *Server) RejectRecipients(fn func(rcpt string) error) {
	s.mu.Lock()
	s.reject = fn
	s.mu.Unlock()
}

// RefuseMessages makes the server answer the end of every message's
// content with err (an *smtp.SMTPError picks the reply code) and keep
// nothing; nil accepts messages again.
func (s *Server) RefuseMessages(err error) {
	s.mu.Lock()
	s.refuse = err
	s.mu.Unlock()
}

// SetDelay makes every DATA take d before it is accepted, like a slow
// server.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Messages returns a copy of everything received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor polls until at least n messages have arrived or timeout passes,
// then returns them; it fails the test on timeout.
func (s *Server) WaitFor(n int, timeout time.Duration) []Message {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := s.Messages()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("smtptest: %d messages after %s, want %d", len(msgs), timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ErrRecipient is an SMTP 550 "no such user" reply.
var ErrRecipient = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
	Message: "no such user"}

// ErrContent is an SMTP 554 reply refusing a message's content.
var ErrContent = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
	Message: "content refused"}

// ErrTryLater is an SMTP 451 temporary failure reply.
var ErrTryLater = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
	Message: "try again later"}

type session struct {
	s    *Server
	from string
	to   []string
}

// Reset forgets the message in progress.
func (se *session) Reset() { se.from, se.to = "", nil }

// Logout ends the session.
func (se *session) Logout() error { return nil }

// Mail records the envelope sender.
func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	se.from = from
	return nil
}

// Rcpt accepts or refuses a recipient.
func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.s.mu.Lock()
	reject := se.s.reject
	se.s.mu.Unlock()
	if reject != nil {
		if err := reject(to); err != nil {
			return err
		}
	}

	se.to = append(se.to, to)

	return nil
}

// Data stores the message, after the configured delay.
func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(se.to) == 0 {
		return errors.New("no recipients")
	}
	se.s.mu.Lock()
	delay, refuse := se.s.delay, se.s.refuse
	se.s.mu.Unlock()
	time.Sleep(delay)
	if refuse != nil {
		return refuse
	}
	se.s.mu.Lock()
	se.s.msgs = append(se.s.msgs, Message{From: se.from, To: se.to, Raw: raw})
	se.s.mu.Unlock()

	return nil
}

// String describes the server for test logs.
func (s *Server) String() string { return fmt.Sprintf("smtptest at %s", s.addr) }
