package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/vonagetest"
)

// checkLifecycle validates a delivered code once, then proves reuse and
// lockout behave; request issues a new challenge and returns its code.
func checkLifecycle(t *testing.T, s *System, tok string, request func() (string, string)) {
	t.Helper()
	id, code := request()
	if status, body := s.Validate(tok, id, code); status != http.StatusOK || body["status"] != "SUCCESS" {
		t.Fatalf("validate delivered code = %d %v", status, body)
	}
	if status, body := s.Validate(tok, id, code); status != http.StatusConflict || body["code"] != "OTP_ALREADY_USED" {
		t.Errorf("same code again = %d %v, want 409 OTP_ALREADY_USED", status, body)
	}

	id, code = request()
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	for i := 0; i < 5; i++ {
		if status, body := s.Validate(tok, id, wrong); status != http.StatusBadRequest {
			t.Fatalf("wrong code %d = %d %v", i+1, status, body)
		}
	}
	if status, body := s.Validate(tok, id, code); status != http.StatusGone || body["code"] != "OTP_LOCKED" {
		t.Errorf("right code after 5 wrong = %d %v, want 410 OTP_LOCKED", status, body)
	}
}

func TestE2E_Email(t *testing.T) {
	s := StartSystem(t, nil)
	tok := s.Token()
	n := 0
	checkLifecycle(t, s, tok, func() (string, string) {
		id := s.Request(tok, map[string]any{"userName": "jdoe", "email": "jon.doe@example.com",
			"deviceType": "EMAIL", "templateName": "demotemplate"})
		n++
		msg := s.SMTP.WaitFor(n, 15*time.Second)[n-1]
		if msg.To[0] != "jon.doe@example.com" || !strings.Contains(msg.Subject(), "E2E App") {
			t.Errorf("mail to %v subject %q", msg.To, msg.Subject())
		}
		return id, CodeIn(t, msg.Part("text/plain"))
	})
}

func TestE2E_SMS(t *testing.T) {
	s := StartSystem(t, nil)
	tok := s.Token()
	n := 0
	checkLifecycle(t, s, tok, func() (string, string) {
		id := s.Request(tok, map[string]any{"userName": "jdoe", "phoneNumber": "+1 415-555-0123",
			"deviceType": "SMS", "templateName": "demotemplate"})
		n++
		sms := s.Vonage.WaitAccepted(t, n, 15*time.Second)[n-1]
		if sms.To != "14155550123" || sms.ClientRef != id+".1.0" {
			t.Errorf("sms to %q ref %q", sms.To, sms.ClientRef)
		}
		return id, CodeIn(t, sms.Text)
	})
}

func TestE2E_SMSRefusedIsNotSent(t *testing.T) {
	s := StartSystem(t, nil)
	s.Vonage.Script(vonagetest.Reply{Status: "3", ErrorText: "Invalid To Number"})
	tok := s.Token()
	s.Request(tok, map[string]any{"userName": "jdoe", "phoneNumber": "+14155550123", "deviceType": "SMS"})
	line := s.workers[1].WaitLog(t, "delivery dead-lettered", 15*time.Second)
	if line["reason"] != "invalid-number" || !strings.Contains(line["last_error"].(string), "Invalid To Number") {
		t.Errorf("dead-letter log = %v; want reason invalid-number with Vonage's text", line)
	}
	if len(s.Vonage.Accepted()) != 0 {
		t.Error("a refused SMS was counted as sent")
	}
}

func TestE2E_NoSecretsInLogsOrStream(t *testing.T) {
	s := StartSystem(t, nil)
	tok := s.Token()
	s.Request(tok, map[string]any{"userName": "jdoe", "email": "private.person@example.org", "deviceType": "EMAIL"})
	s.Request(tok, map[string]any{"userName": "jdoe", "phoneNumber": "+14155550199", "deviceType": "SMS"})
	mail := s.SMTP.WaitFor(1, 15*time.Second)[0]
	sms := s.Vonage.WaitAccepted(t, 1, 15*time.Second)[0]
	codes := []string{CodeIn(t, mail.Part("text/plain")), CodeIn(t, sms.Text)}
	s.workers[0].WaitLog(t, "delivery sent", 5*time.Second)
	s.workers[1].WaitLog(t, "delivery sent", 5*time.Second)

	secrets := append(codes, "private.person@example.org", "14155550199", s.Secret)
	for _, p := range s.Procs() {
		for _, secret := range secrets {
			if strings.Contains(p.Logs(), secret) {
				t.Errorf("%s logged %q", p.Name, secret)
			}
		}
	}
	raw := streamDump(t, s.env["MFA_NATS_URL"])
	if !strings.Contains(raw, "mfa.delivery.email") || !strings.Contains(raw, "mfa.status.sms") {
		t.Fatal("read nothing from the streams; the check would prove nothing")
	}
	for _, secret := range secrets {
		if strings.Contains(raw, secret) {
			t.Errorf("a raw stream message carries %q", secret)
		}
	}
}
