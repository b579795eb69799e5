// Package smtpsink is a fast SMTP server for benchmarks: it accepts every
// message, notes when each recipient's mail was accepted, counts, and
// keeps message bodies only while asked to, so that the codes in them can
// be read afterwards.
package smtpsink

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// ErrNoRecipient is the answer to DATA without a recipient.
var ErrNoRecipient = errors.New("smtpsink: no recipients")

// Accepted is one message the sink took.
type Accepted struct {
	// To is the first recipient.
	To string
	// At is when the message's data had been read, just before the
	// server's 250 reply.
	At time.Time
	// Raw is the message as sent, only while bodies are kept.
	Raw []byte
}

// Sink is a running server. Its methods are safe for concurrent use.
type Sink struct {
	srv   *smtp.Server
	addr  *net.TCPAddr
	count atomic.Int64
	keep  atomic.Bool

	mu  sync.Mutex
	got []Accepted
}

// Start listens on a free loopback port and serves. It fails when it
// cannot listen.
func Start() (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtpsink: listening: %w", err)
	}

	s := &Sink{addr: ln.Addr().(*net.TCPAddr)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{sink: s}, nil
	}))
	s.srv.Domain = "smtpsink.localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 30*time.Second, 30*time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.MaxRecipients = 10
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the host and port to send to.
func (s *Sink) Addr() (string, string) {
	return s.addr.IP.String(), strconv.Itoa(s.addr.Port)
}

// Count returns how many messages have been accepted since Start.
func (s *Sink) Count() int64 { return s.count.Load() }

// KeepBodies sets whether later messages keep their Raw bytes.
func (s *Sink) KeepBodies(on bool) { s.keep.Store(on) }

// Take returns the messages accepted since the last Take and forgets them.
func (s *Sink) Take() []Accepted {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.got
	s.got = nil
	return got
}

// Close stops the server and closes every connection.
func (s *Sink) Close() error {
	if err := s.srv.Close(); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return fmt.Errorf("smtpsink: closing: %w", err)
	}

	return nil
}

// add records one accepted message.
func (s *Sink) add(a Accepted) {
	s.mu.Lock()
	s.got = append(s.got, a)
	s.mu.Unlock()
	s.count.Add(1)
}

// session is one SMTP connection's transaction state.
type session struct {
	sink *Sink
	to   string
}

var _ smtp.Session = (*session)(nil)

// Reset forgets the transaction's recipient.
func (se *session) Reset() { se.to = "" }

// Logout ends the connection; there is nothing to release.
func (se *session) Logout() error { return nil }

// Mail accepts any sender.
func (se *session) Mail(string, *smtp.MailOptions) error { return nil }

// Rcpt accepts any recipient and keeps the first.
func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if se.to == "" {
		se.to = to
	}

	return nil
}

// Data reads the message, keeping it while bodies are kept, and records
// it. It fails with ErrNoRecipient before any RCPT.
func (se *session) Data(r io.Reader) error {
	if se.to == "" {
		return ErrNoRecipient
	}

	var raw []byte
	var err error
	if se.sink.keep.Load() {
		raw, err = io.ReadAll(r)
	} else {
		_, err = io.Copy(io.Discard, r)
	}

	if err != nil {
		return fmt.Errorf("smtpsink: reading data: %w", err)
	}

	se.sink.add(Accepted{To: se.to, At: time.Now(), Raw: raw})
	return nil
}
