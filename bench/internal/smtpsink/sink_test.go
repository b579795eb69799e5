package smtpsink

import (
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

const message = "From: no-reply@mfa.test\r\nTo: jdoe@example.com\r\n" +
	"Subject: Your code\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=b1\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"Hello jdoe,\r\n\r\nYour code is:\r\n\r\n    523471\r\n\r\nIt expires in 5 minutes.=\r\n\r\n" +
	"--b1\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>987654</p>\r\n--b1--\r\n"

func TestSink_CountsAndKeepsBodies(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	host, port := s.Addr()
	addr := net.JoinHostPort(host, port)
	send := func() {
		t.Helper()
		err := smtp.SendMail(addr, nil, "no-reply@mfa.test", []string{"jdoe@example.com"},
			[]byte(message))
		if err != nil {
			t.Fatal(err)
		}
	}

	send()
	s.KeepBodies(true)
	before := time.Now()
	send()

	if got := s.Count(); got != 2 {
		t.Errorf("Count = %d, want 2", got)
	}
	got := s.Take()
	if len(got) != 2 || got[0].Raw != nil || got[1].Raw == nil {
		t.Fatalf("Take = %d messages (bodies %v, %v), want 2, the second kept",
			len(got), got[0].Raw != nil, got[len(got)-1].Raw != nil)
	}
	if got[1].To != "jdoe@example.com" || got[1].At.Before(before) {
		t.Errorf("accepted %q at %s, want jdoe@example.com after %s", got[1].To, got[1].At, before)
	}
	code, err := Code(got[1].Raw)
	if err != nil || code != "523471" {
		t.Errorf("Code = %q, %v; want the plain-text 523471", code, err)
	}
	if again := s.Take(); len(again) != 0 {
		t.Errorf("second Take = %d messages, want 0", len(again))
	}
}

func TestCode_NoCode(t *testing.T) {
	raw := strings.Replace(message, "523471", "soon", 1)
	raw = strings.Replace(raw, "text/html", "text/x-other", 1)
	if _, err := Code([]byte(raw)); err != ErrNoCode {
		t.Errorf("Code without a code = %v, want ErrNoCode", err)
	}
}
