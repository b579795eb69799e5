package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/vonagetest"
)

// history returns the delivery states of a challenge, oldest first.
func (s *System) history(tok, authID string) []string {
	s.t.Helper()
	_, body := s.Call(http.MethodGet, "/v1/otp/"+authID, tok, nil)
	var out []string
	list, _ := body["deliveryHistory"].([]any)
	for _, h := range list {
		out = append(out, h.(map[string]any)["state"].(string))
	}
	return out
}

// waitHistory polls until the history satisfies ok.
func (s *System) waitHistory(tok, authID string, timeout time.Duration, ok func([]string) bool) []string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		h := s.history(tok, authID)
		if ok(h) {
			return h
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("delivery history of %s is %v after %s", authID, h, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func count(list []string, want string) int {
	n := 0
	for _, s := range list {
		if s == want {
			n++
		}
	}
	return n
}

func TestE2E_SMTPOutageIsRetried(t *testing.T) {
	s := StartSystem(t, map[string]string{"MFA_WORKER_BACKOFF": "100ms", "MFA_WORKER_MAX_DELIVER": "50"})
	tok := s.Token()
	s.SMTP.Stop()
	id := s.Request(tok, map[string]any{"userName": "jdoe", "email": "jon@example.com", "deviceType": "EMAIL"})
	s.waitHistory(tok, id, 15*time.Second, func(h []string) bool { return count(h, "failed") >= 3 })
	s.SMTP.Restart()
	msg := s.SMTP.WaitFor(1, 15*time.Second)[0]
	h := s.waitHistory(tok, id, 10*time.Second, func(h []string) bool { return count(h, "sent") == 1 })
	if h[len(h)-1] != "sent" || count(h, "failed") < 3 {
		t.Errorf("history = %v; want the failed attempts, then sent", h)
	}
	if status, _ := s.Validate(tok, id, CodeIn(t, msg.Part("text/plain"))); status != 200 {
		t.Errorf("the code delivered after the outage = %d", status)
	}
}

func TestE2E_VonageFailures(t *testing.T) {
	s := StartSystem(t, nil)
	tok := s.Token()

	s.Vonage.Script(vonagetest.Reply{Status: "3", ErrorText: "Invalid To Number"})
	dead := s.Request(tok, map[string]any{"userName": "a", "phoneNumber": "+14155550100", "deviceType": "SMS"})
	h := s.waitHistory(tok, dead, 10*time.Second, func(h []string) bool { return count(h, "dead-lettered") == 1 })
	if len(h) != 1 || len(s.Vonage.Received()) != 1 {
		t.Errorf("invalid number: history %v after %d sends; want dead-lettered at once", h, len(s.Vonage.Received()))
	}

	s.Vonage.Script(vonagetest.Reply{HTTPStatus: 429}, vonagetest.Reply{HTTPStatus: 500},
		vonagetest.Reply{HTTPStatus: 503})
	ok := s.Request(tok, map[string]any{"userName": "b", "phoneNumber": "+14155550101", "deviceType": "SMS"})
	h = s.waitHistory(tok, ok, 10*time.Second, func(h []string) bool { return count(h, "sent") == 1 })
	if count(h, "failed") != 3 {
		t.Errorf("throttled then OK: history %v; want 3 failed then sent", h)
	}
	sms := s.Vonage.WaitAccepted(t, 1, 5*time.Second)[0]
	if status, _ := s.Validate(tok, ok, CodeIn(t, sms.Text)); status != 200 {
		t.Errorf("validate after retries = %d", status)
	}
}

func TestE2E_WorkersShareTheLoad(t *testing.T) {
	s := StartSystem(t, map[string]string{"MFA_LOG_LEVEL": "debug"})
	s.StartWorker("mfa-email-worker")
	s.StartWorker("mfa-email-worker")
	tok := s.Token()
	const n = 300
	for i := 0; i < n; i++ {
		s.Request(tok, map[string]any{"userName": fmt.Sprintf("u%d", i),
			"email": fmt.Sprintf("user%d@example.com", i), "deviceType": "EMAIL"})
	}
	msgs := s.SMTP.WaitFor(n, 60*time.Second)
	time.Sleep(500 * time.Millisecond) // let any duplicate arrive
	perAddr := map[string]int{}
	for _, m := range s.SMTP.Messages() {
		perAddr[m.To[0]]++
	}
	if len(msgs) != n || len(perAddr) != n {
		t.Errorf("%d messages to %d addresses, want %d each once", len(s.SMTP.Messages()), len(perAddr), n)
	}
	for _, w := range s.workers {
		if w.Name != "mfa-email-worker" {
			continue
		}
		if sent := strings.Count(w.Logs(), `"msg":"delivery sent"`); sent == 0 {
			t.Errorf("an email worker sent nothing; the consumer is not shared")
		} else {
			t.Logf("a worker sent %d", sent)
		}
	}
}

func TestE2E_IdempotentRequest(t *testing.T) {
	s := StartSystem(t, nil)
	tok := s.Token()
	body := `{"userName":"jdoe","email":"jon@example.com","deviceType":"EMAIL"}`
	var ids []string
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest(http.MethodPost, s.Base+"/v1/otp", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "login-7f3a")
		status, out := s.send(req)
		if status != 201 {
			t.Fatalf("request %d = %d %v", i, status, out)
		}
		ids = append(ids, out["authId"].(string))
	}
	s.SMTP.WaitFor(1, 10*time.Second)
	time.Sleep(time.Second)
	if ids[0] != ids[1] || len(s.SMTP.Messages()) != 1 {
		t.Errorf("ids %v and %d messages; want one authId and one message", ids, len(s.SMTP.Messages()))
	}
}
