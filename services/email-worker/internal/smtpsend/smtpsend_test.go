package smtpsend

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/clientconfig"
	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/pkg/smtptest"
	"github.com/ciam-mfa/ciam-mfa/pkg/worker"
	"github.com/ciam-mfa/ciam-mfa/templates"
)

func newSender(t *testing.T, srv *smtptest.Server) *Sender {
	t.Helper()
	set, err := render.LoadFS(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	host, port := srv.Addr()
	s, err := New(Options{Host: host, Port: port, TLS: "none", From: "no-reply@acme.example",
		FromName: "Acme", Timeout: 2 * time.Second, PoolSize: 2}, clientconfig.Static(set), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func delivery(to string) (*events.Delivery, events.Secret) {
	return &events.Delivery{AuthID: "0192f0b4-7a7e-7000-8000-000000000001", Generation: 1,
			Template: "demotemplate", AppName: "Acme", Locale: "pt-BR",
			ExpiresAt: time.Now().Add(5 * time.Minute)},
		events.Secret{Code: "482913", Destination: to, UserName: "jdoe"}
}

func TestSender_Send(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv)
	for i := 0; i < 3; i++ { // the second and third reuse the pooled connection
		d, sec := delivery("Jon.Doe@example.com")
		if _, err := s.Send(context.Background(), d, sec); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	msgs := srv.WaitFor(3, 5*time.Second)
	m := msgs[0]
	if got := m.To; len(got) != 1 || got[0] != "Jon.Doe@example.com" {
		t.Errorf("RCPT TO = %v, want the address exactly as given", got)
	}
	if m.Subject() != "Seu código de acesso Acme" {
		t.Errorf("subject = %q, want the pt-BR variant", m.Subject())
	}
	if !strings.Contains(m.Part("text/plain"), "482913") || !strings.Contains(m.Part("text/html"), "482913") {
		t.Error("the code is missing from the text or HTML part")
	}
	h := m.Header()
	if h.Get("Auto-Submitted") != "auto-generated" || !strings.Contains(h.Get("From"), "no-reply@acme.example") {
		t.Errorf("headers = %v", h)
	}

	// One connection, and each message costs only its own transaction:
	// no liveness probe before it and no reset after it.
	wantCommands(t, srv, "EHLO MAIL RCPT DATA MAIL RCPT DATA MAIL RCPT DATA")
}

// wantCommands checks the command verbs srv received, in order.
func wantCommands(t *testing.T, srv *smtptest.Server, want string) {
	t.Helper()
	if got := strings.Join(srv.Commands(), " "); got != want {
		t.Errorf("commands = %q, want %q", got, want)
	}
}

func TestSender_ReusesConnections(t *testing.T) {
	t.Run("a pooled connection the server closed is replaced", func(t *testing.T) {
		srv := smtptest.Start(t)
		s := newSender(t, srv)
		d, sec := delivery("jon@example.com")
		if _, err := s.Send(context.Background(), d, sec); err != nil {
			t.Fatal(err)
		}
		srv.Stop()
		srv.Restart()
		if _, err := s.Send(context.Background(), d, sec); err != nil {
			t.Fatalf("Send after the server dropped the pooled connection = %v", err)
		}
		if n := len(srv.WaitFor(2, 5*time.Second)); n != 2 {
			t.Errorf("%d messages received, want 2", n)
		}
	})
	t.Run("a refused transaction leaves the connection usable", func(t *testing.T) {
		srv := smtptest.Start(t)
		srv.RejectRecipients(func(rcpt string) error {
			if strings.HasPrefix(rcpt, "nobody@") {
				return smtptest.ErrRecipient
			}
			return nil
		})
		s := newSender(t, srv)
		d, sec := delivery("nobody@example.com")
		if _, err := s.Send(context.Background(), d, sec); worker.Reason(err) != "recipient-rejected" {
			t.Fatalf("Send = %v; want recipient-rejected", err)
		}
		d, sec = delivery("jon@example.com")
		if _, err := s.Send(context.Background(), d, sec); err != nil {
			t.Fatal(err)
		}
		msgs := srv.WaitFor(1, 5*time.Second)
		if got := msgs[0].To; len(got) != 1 || got[0] != "jon@example.com" {
			t.Errorf("RCPT TO = %v, want only jon@example.com", got)
		}
		wantCommands(t, srv, "EHLO MAIL RCPT RSET MAIL RCPT DATA")
	})
}

func TestSender_Failures(t *testing.T) {
	t.Run("recipient rejected is permanent", func(t *testing.T) {
		srv := smtptest.Start(t)
		srv.RejectRecipients(func(string) error { return smtptest.ErrRecipient })
		d, sec := delivery("nobody@example.com")
		_, err := newSender(t, srv).Send(context.Background(), d, sec)
		if !worker.IsPermanent(err) || worker.Reason(err) != "recipient-rejected" {
			t.Fatalf("Send = %v (reason %q); want permanent recipient-rejected", err, worker.Reason(err))
		}
	})
	t.Run("4xx is temporary", func(t *testing.T) {
		srv := smtptest.Start(t)
		srv.RejectRecipients(func(string) error { return smtptest.ErrTryLater })
		d, sec := delivery("jon@example.com")
		_, err := newSender(t, srv).Send(context.Background(), d, sec)
		if err == nil || worker.IsPermanent(err) {
			t.Fatalf("Send = %v; want a temporary failure", err)
		}
	})
	t.Run("server down is temporary, and recovers", func(t *testing.T) {
		srv := smtptest.Start(t)
		s := newSender(t, srv)
		d, sec := delivery("jon@example.com")
		if _, err := s.Send(context.Background(), d, sec); err != nil {
			t.Fatal(err)
		}
		srv.Stop()
		if _, err := s.Send(context.Background(), d, sec); err == nil || worker.IsPermanent(err) {
			t.Fatalf("Send with the server down = %v; want a temporary failure", err)
		}
		srv.Restart()
		if _, err := s.Send(context.Background(), d, sec); err != nil {
			t.Fatalf("Send after restart = %v", err)
		}
	})
	t.Run("content refused is permanent, and the connection is kept", func(t *testing.T) {
		srv := smtptest.Start(t)
		srv.RefuseMessages(smtptest.ErrContent)
		s := newSender(t, srv)
		d, sec := delivery("jon@example.com")
		if _, err := s.Send(context.Background(), d, sec); worker.Reason(err) != "message-rejected" {
			t.Fatalf("Send = %v (reason %q); want permanent message-rejected", err, worker.Reason(err))
		}
		srv.RefuseMessages(nil)
		if _, err := s.Send(context.Background(), d, sec); err != nil {
			t.Fatal(err)
		}
		// The refused message is tried once, and its connection reused.
		wantCommands(t, srv, "EHLO MAIL RCPT DATA MAIL RCPT DATA")
	})
	t.Run("the send's deadline bounds the transaction", func(t *testing.T) {
		srv := smtptest.Start(t)
		s := newSender(t, srv) // 2s per transaction
		srv.SetDelay(5 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		d, sec := delivery("jon@example.com")
		began := time.Now()
		_, err := s.Send(ctx, d, sec)
		if err == nil || worker.IsPermanent(err) {
			t.Fatalf("Send = %v; want a temporary failure", err)
		}
		if took := time.Since(began); took > 1500*time.Millisecond {
			t.Errorf("Send took %s with a 200ms deadline", took)
		}
	})
	t.Run("unknown template is permanent", func(t *testing.T) {
		srv := smtptest.Start(t)
		d, sec := delivery("jon@example.com")
		d.Template = "missing"
		if _, err := newSender(t, srv).Send(context.Background(), d, sec); !worker.IsPermanent(err) {
			t.Fatalf("Send = %v; want permanent", err)
		}
	})
}
