package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/vonagetest"
)

func TestE2E_ReplayDeadLetters(t *testing.T) {
	t.Parallel() // waits for a challenge to expire
	s := StartSystem(t, nil)
	tok := s.Token()
	refused := vonagetest.Reply{Status: "5", ErrorText: "Internal Error"}
	s.Vonage.Script(refused, refused, refused, refused, refused,
		vonagetest.Reply{Status: "7", ErrorText: "Number barred"},
		vonagetest.Reply{Status: "7", ErrorText: "Number barred"})
	live := s.Request(tok, map[string]any{"userName": "a", "phoneNumber": "+14155550111", "deviceType": "SMS"})
	s.waitHistory(tok, live, 20*time.Second, func(h []string) bool { return count(h, "dead-lettered") == 1 })
	short := s.Request(tok, map[string]any{"userName": "b", "phoneNumber": "+14155550112", "deviceType": "SMS",
		"expiresInSeconds": 30})
	done := s.Request(tok, map[string]any{"userName": "c", "phoneNumber": "+14155550113", "deviceType": "SMS"})
	for _, id := range []string{short, done} {
		s.waitHistory(tok, id, 20*time.Second, func(h []string) bool { return count(h, "dead-lettered") == 1 })
	}
	if status, _ := s.Call(http.MethodDelete, "/v1/otp/"+done, tok, nil); status != 204 {
		t.Fatalf("cancel = %d", status)
	}

	list, err := s.Mfactl("dlq", "list", "--channel", "sms")
	if err != nil || !strings.Contains(list, live) || !strings.Contains(list, "attempts-exhausted") ||
		!strings.Contains(list, "number-barred") || !strings.Contains(list, "+14*******11") {
		t.Fatalf("dlq list = %v\n%s", err, list)
	}
	time.Sleep(31 * time.Second) // until the short challenge has expired

	dry, err := s.Mfactl("dlq", "replay", "--dry-run")
	if err != nil || !strings.Contains(dry, "would replay") || !strings.Contains(dry, short+"  expired") ||
		!strings.Contains(dry, done+"  cancelled") {
		t.Fatalf("dry run = %v\n%s", err, dry)
	}
	before := len(s.Vonage.Received())
	time.Sleep(300 * time.Millisecond)
	if after := len(s.Vonage.Received()); after != before {
		t.Fatal("a dry run sent something")
	}
	if again, _ := s.Mfactl("dlq", "list"); strings.Count(again, "+14*") != 3 {
		t.Errorf("a dry run changed the DLQ:\n%s", again)
	}

	out, err := s.Mfactl("dlq", "replay")
	if err != nil || !strings.Contains(out, "1 replayed, 2 skipped") {
		t.Fatalf("replay = %v\n%s", err, out)
	}
	sms := s.Vonage.WaitAccepted(t, 1, 15*time.Second)[0]
	if sms.ClientRef != live+".1.1" {
		t.Errorf("replayed message ref %q, want %s.1.1", sms.ClientRef, live)
	}
	if status, body := s.Validate(tok, live, CodeIn(t, sms.Text)); status != 200 {
		t.Errorf("validate the replayed code = %d %v", status, body)
	}
	rest, _ := s.Mfactl("dlq", "list")
	if strings.Contains(rest, live) || !strings.Contains(rest, short) {
		t.Errorf("after replay the DLQ should hold the skipped ones only:\n%s", rest)
	}
}

// TestE2E_ReplayStoppedSaysWhatItDid takes the delivery stream away from
// under a replay: mfactl fails, and shows what the replay did before.
func TestE2E_ReplayStoppedSaysWhatItDid(t *testing.T) {
	s := StartSystem(t, nil)
	tok := s.Token()
	barred := vonagetest.Reply{Status: "7", ErrorText: "Number barred"}
	s.Vonage.Script(barred, barred)
	lettered := func(h []string) bool { return count(h, "dead-lettered") == 1 }
	// One after the other, so that the first is first in MFA_DLQ.
	first := s.Request(tok, map[string]any{"userName": "a", "phoneNumber": "+14155550121",
		"deviceType": "SMS"})
	s.waitHistory(tok, first, 20*time.Second, lettered)
	second := s.Request(tok, map[string]any{"userName": "b", "phoneNumber": "+14155550122",
		"deviceType": "SMS"})
	s.waitHistory(tok, second, 20*time.Second, lettered)
	if status, _ := s.Call(http.MethodDelete, "/v1/otp/"+first, tok, nil); status != 204 {
		t.Fatalf("cancel = %d", status)
	}
	deleteStream(t, s.env["MFA_NATS_URL"], events.StreamDelivery)

	out, err := s.Mfactl("dlq", "replay")
	if err == nil || !strings.Contains(out, "UNAVAILABLE") ||
		!strings.Contains(out, first+"  cancelled") || !strings.Contains(out, "0 replayed, 1 skipped") {
		t.Fatalf("replay without the delivery stream = %v\n%s", err, out)
	}
	if rest, _ := s.Mfactl("dlq", "list"); !strings.Contains(rest, second) {
		t.Errorf("the dead letter that failed to go out left the DLQ:\n%s", rest)
	}
}
