package ceiling

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/natsembed"
)

func TestStartEcho_AnswersJSON(t *testing.T) {
	srv, err := StartEcho(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	resp, err := http.Post(srv.URL(), "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"SUCCESS"`) {
		t.Errorf("POST %s = %d %s, want 200 with SUCCESS", PingPath, resp.StatusCode, body)
	}
}

func TestBolt_CountsWritesAndCommits(t *testing.T) {
	res, err := Bolt(context.Background(), BoltOptions{Dir: t.TempDir(), Goroutines: 8,
		Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.WritesPerSec <= 0 || res.CommitsPerSec <= 0 || res.CommitsPerSec > res.WritesPerSec {
		t.Errorf("Bolt = %+v, want writes at least as many as commits, both positive", res)
	}
}

func TestJetStream_CountsAcks(t *testing.T) {
	ns := natsembed.StartForTest(t)
	res, err := JetStream(context.Background(), JetStreamOptions{URL: ns.ClientURL(),
		Duration: 300 * time.Millisecond, Window: 256})
	if err != nil {
		t.Fatal(err)
	}
	if res.AckedPerSec <= 0 || res.Failed != 0 {
		t.Errorf("JetStream = %+v, want acks and no failures", res)
	}
}
