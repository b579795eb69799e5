// Package outbox "sends" SMS by appending them as JSON lines to a file, for
// the development profile and for anyone trying the system without a
// Vonage account. The file holds the messages exactly as a phone would
// show them, so it is created readable by its owner only.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/pkg/worker"
	"github.com/ciam-mfa/ciam-mfa/services/sms-worker/internal/smstext"
)

// Message is one line of the outbox file.
type Message struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	AuthID string    `json:"authId"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Text   string    `json:"text"`
	// Encoding and Segments are how a carrier would send Text.
	Encoding string `json:"encoding"`
	Segments int    `json:"segments"`
}

// Sender appends messages to a file. It is safe for concurrent use.
type Sender struct {
	path      string
	from      string
	templates smstext.Templates
	now       func() time.Time

	mu sync.Mutex
	f  *os.File
}

var _ worker.Sender = (*Sender)(nil)

// New opens (or creates, mode 0600) the outbox file at path.
func New(path, from string, templates smstext.Templates) (*Sender, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating outbox directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening outbox: %w", err)
	}
	return &Sender{path: path, from: from, templates: templates, now: time.Now, f: f}, nil
}

// Send renders d's SMS and appends it as one line.
func (s *Sender) Send(ctx context.Context, d *events.Delivery, sec events.Secret) (string, error) {
	text, err := smstext.Render(ctx, s.templates, d, sec, s.now())
	if err != nil {
		return "", err
	}
	from := s.from
	if d.Sender.SMSFrom != "" {
		from = d.Sender.SMSFrom
	}
	info := render.Segments(text)
	m := Message{ID: "outbox-" + d.MsgID(), At: s.now().UTC(), AuthID: d.AuthID, From: from,
		To: sec.Destination, Text: text, Encoding: info.Encoding.String(), Segments: info.Segments}
	line, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encoding outbox line: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Write(append(line, '\n')); err != nil {
		return "", fmt.Errorf("writing outbox: %w", err)
	}
	return m.ID, nil
}

// Close closes the file.
func (s *Sender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Close()
}
