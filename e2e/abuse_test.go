package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestE2E_LimitsSurviveRestart(t *testing.T) {
	s := StartSystem(t, nil)
	body := map[string]any{"userName": "jdoe", "email": "jon@example.com", "deviceType": "EMAIL"}
	limitAddress(t, s, body)
	s.RestartAPI()
	if status, out := s.Call(http.MethodPost, "/v1/otp", s.Token(), body); status != http.StatusTooManyRequests {
		t.Errorf("after a restart the same address = %d %v; want still 429", status, out)
	}
}

// Rate counters are written behind, once a second: a crash loses at most
// the last second of counting, not what was counted before it.
func TestE2E_LimitsSurviveACrashAfterAFlush(t *testing.T) {
	s := StartSystem(t, nil)
	body := map[string]any{"userName": "jdoe", "email": "jon@example.com", "deviceType": "EMAIL"}
	limitAddress(t, s, body)
	time.Sleep(2500 * time.Millisecond)
	s.API.Kill()
	s.API = start(s.t, "mfa-api", s.env)
	s.Base = "http://" + s.listening("public")
	if status, out := s.Call(http.MethodPost, "/v1/otp", s.Token(), body); status != http.StatusTooManyRequests {
		t.Errorf("after SIGKILL the same address = %d %v; want still 429", status, out)
	}
}

// limitAddress requests codes for body's address until it is rate
// limited.
func limitAddress(t *testing.T, s *System, body map[string]any) {
	t.Helper()
	tok := s.Token()
	for range 12 {
		if status, _ := s.Call(http.MethodPost, "/v1/otp", tok, body); status == http.StatusTooManyRequests {
			return
		}
	}
	t.Fatal("12 requests to one address in a row were never limited")
}

func TestE2E_NoHeaderInjection(t *testing.T) {
	s := StartSystem(t, nil)
	tok := s.Token()
	inject := "\r\nBcc: attacker@evil.example\r\nX-Injected: yes"
	attempts := []map[string]any{
		{"userName": "jdoe" + inject, "email": "jon@example.com", "deviceType": "EMAIL"},
		{"userName": "jdoe", "email": "jon@example.com" + inject, "deviceType": "EMAIL"},
		{"userName": "jdoe", "email": "jon@example.com", "deviceType": "EMAIL", "locale": "en" + inject},
		{"userName": "jdoe", "email": "jon@example.com", "deviceType": "EMAIL", "templateName": "demotemplate" + inject},
		{"userName": "jdoe", "email": "jon@example.com\nBcc: x@evil.example", "deviceType": "EMAIL"},
	}
	for i, body := range attempts {
		if status, out := s.Call(http.MethodPost, "/v1/otp", tok, body); status != http.StatusBadRequest {
			t.Errorf("attempt %d = %d %v; want 400", i, status, out)
		}
	}
	out, err := s.Mfactl("client", "create", "--name", "Evil"+inject, "--templates", "demotemplate")
	if err == nil {
		t.Errorf("a client name with CR/LF was accepted:\n%s", out)
	}

	// A legitimate message carries exactly the headers we set.
	s.Request(tok, map[string]any{"userName": "jdoe", "email": "jon@example.com", "deviceType": "EMAIL"})
	msgs := s.SMTP.WaitFor(1, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := len(s.SMTP.Messages()); n != 1 {
		t.Fatalf("%d messages, want only the legitimate one", n)
	}
	m := msgs[0]
	if len(m.To) != 1 || m.To[0] != "jon@example.com" {
		t.Errorf("recipients = %v", m.To)
	}
	h := m.Header()
	for _, name := range []string{"Bcc", "X-Injected"} {
		if h.Get(name) != "" {
			t.Errorf("the message carries an injected %s header", name)
		}
	}
	if raw := string(m.Raw); strings.Contains(raw, "attacker@evil.example") {
		t.Error("the attacker's address is in the message")
	}
	t.Logf("headers: %v", h)
}
