package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/smtptest"
)

// requestMany asks for n email challenges to distinct addresses and
// returns the address of each authId.
func requestMany(s *System, tok string, n int) map[string]string {
	addr := map[string]string{}
	for i := 0; i < n; i++ {
		a := fmt.Sprintf("crash%d@example.com", i)
		id := s.Request(tok, map[string]any{"userName": fmt.Sprintf("u%d", i), "email": a, "deviceType": "EMAIL"})
		addr[a] = id
	}
	return addr
}

// codesByAddress groups the codes received per address.
func codesByAddress(t *testing.T, msgs []smtptest.Message) map[string][]string {
	out := map[string][]string{}
	for _, m := range msgs {
		out[m.To[0]] = append(out[m.To[0]], CodeIn(t, m.Part("text/plain")))
	}
	return out
}

func TestE2E_WorkerKilledMidBatch(t *testing.T) {
	const concurrency = 4
	s := StartSystem(t, map[string]string{
		"MFA_WORKER_CONCURRENCY": fmt.Sprint(concurrency), "MFA_WORKER_ACK_WAIT": "3s",
		"MFA_WORKER_SEND_TIMEOUT": "1500ms",
	})
	s.SMTP.SetDelay(200 * time.Millisecond)
	victim := s.workers[0]
	tok := s.Token()
	addrs := requestMany(s, tok, 40)
	s.SMTP.WaitFor(5, 20*time.Second)
	victim.Kill()
	s.StartWorker("mfa-email-worker")

	s.SMTP.WaitFor(len(addrs), 60*time.Second)
	time.Sleep(time.Second)
	got := codesByAddress(t, s.SMTP.Messages())
	dups := 0
	for a := range addrs {
		codes := got[a]
		if len(codes) == 0 {
			t.Errorf("%s never got its code: lost", a)
			continue
		}
		for _, c := range codes[1:] {
			dups++
			if c != codes[0] {
				t.Errorf("%s got two different codes %v; a duplicate must carry the same one", a, codes)
			}
		}
	}
	if dups > concurrency {
		t.Errorf("%d duplicates, more than the %d messages in flight at the kill", dups, concurrency)
	}
	t.Logf("%d messages, %d duplicates after SIGKILL", len(s.SMTP.Messages()), dups)
}

func TestE2E_WorkerStopsGracefully(t *testing.T) {
	s := StartSystem(t, map[string]string{
		"MFA_WORKER_CONCURRENCY": "4", "MFA_WORKER_SHUTDOWN_TIMEOUT": "5s",
	})
	s.SMTP.SetDelay(300 * time.Millisecond)
	w := s.workers[0]
	tok := s.Token()
	addrs := requestMany(s, tok, 20)
	s.SMTP.WaitFor(2, 20*time.Second)
	took := w.Stop(15 * time.Second)
	if done, code := w.Exited(); !done || code != 0 {
		t.Fatalf("worker exit after SIGTERM: done %v code %d", done, code)
	}
	if took > 8*time.Second {
		t.Errorf("worker took %s to stop, beyond its 5s deadline and the drain", took)
	}
	w.WaitLog(t, "worker stopped", time.Second)

	s.StartWorker("mfa-email-worker")
	s.SMTP.WaitFor(len(addrs), 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	for a, codes := range codesByAddress(t, s.SMTP.Messages()) {
		if len(codes) != 1 {
			t.Errorf("%s got %d messages after a graceful stop, want exactly 1", a, len(codes))
		}
	}
	if n := len(s.SMTP.Messages()); n != len(addrs) {
		t.Errorf("%d messages, want %d", n, len(addrs))
	}
}
