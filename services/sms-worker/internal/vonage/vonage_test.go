package vonage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/clientconfig"
	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/pkg/vonagetest"
	"github.com/ciam-mfa/ciam-mfa/pkg/worker"
	"github.com/ciam-mfa/ciam-mfa/templates"
)

func newSender(t *testing.T, fake *vonagetest.Server) *Sender {
	t.Helper()
	set, err := render.LoadFS(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{APIKey: fake.Key, APISecret: fake.Secret, BaseURL: fake.BaseURL(),
		From: "CIAMMFA", Timeout: 2 * time.Second}, clientconfig.Static(set))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func delivery() (*events.Delivery, events.Secret) {
	return &events.Delivery{AuthID: "0192f0b4-7a7e-7000-8000-000000000001", Generation: 1,
			Template: "demotemplate", AppName: "Acme", ExpiresAt: time.Now().Add(5 * time.Minute)},
		events.Secret{Code: "482913", Destination: "+14155550123", UserName: "jdoe"}
}

func TestSender_Send(t *testing.T) {
	fake := vonagetest.Start(t)
	s := newSender(t, fake)
	d, sec := delivery()
	id, err := s.Send(context.Background(), d, sec)
	if err != nil {
		t.Fatal(err)
	}
	got := fake.Accepted()
	if len(got) != 1 || id != "vonage-1" {
		t.Fatalf("accepted %d, id %q; want 1 and vonage-1", len(got), id)
	}
	m := got[0]
	if m.To != "14155550123" || m.From != "CIAMMFA" || !strings.Contains(m.Text, "482913") ||
		m.ClientRef != d.MsgID() {
		t.Errorf("sent %+v; want to 14155550123 from CIAMMFA with the code and client-ref %s", m, d.MsgID())
	}
}

func TestSender_Failures(t *testing.T) {
	tests := []struct {
		name      string
		reply     vonagetest.Reply
		permanent bool
		reason    string
	}{
		{"invalid number", vonagetest.Reply{Status: "3", ErrorText: "Invalid to number"}, true, "invalid-number"},
		{"barred", vonagetest.Reply{Status: "7", ErrorText: "Number barred"}, true, "number-barred"},
		{"bad credentials", vonagetest.Reply{Status: "4", ErrorText: "Bad Credentials"}, true, "bad-credentials"},
		{"throttled", vonagetest.Reply{Status: "1", ErrorText: "Throughput Rate Exceeded"}, false, ""},
		{"http 429", vonagetest.Reply{HTTPStatus: 429}, false, ""},
		{"http 503", vonagetest.Reply{HTTPStatus: 503}, false, ""},
		{"http 401", vonagetest.Reply{HTTPStatus: 401}, true, "bad-credentials"},
		{"empty messages", vonagetest.Reply{NoMessages: true}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := vonagetest.Start(t)
			fake.Script(tt.reply)
			d, sec := delivery()
			_, err := newSender(t, fake).Send(context.Background(), d, sec)
			if err == nil {
				t.Fatal("Send succeeded; want a failure")
			}
			if worker.IsPermanent(err) != tt.permanent {
				t.Fatalf("IsPermanent(%v) = %v, want %v", err, !tt.permanent, tt.permanent)
			}
			if tt.permanent && worker.Reason(err) != tt.reason {
				t.Errorf("reason = %q, want %q", worker.Reason(err), tt.reason)
			}
			if tt.reply.ErrorText != "" && !strings.Contains(err.Error(), tt.reply.ErrorText) {
				t.Errorf("error %q does not carry Vonage's reason %q", err, tt.reply.ErrorText)
			}
			if len(fake.Accepted()) != 0 {
				t.Error("a refused message was accepted")
			}
		})
	}
}

func TestSender_ContextCancels(t *testing.T) {
	fake := vonagetest.Start(t)
	s := newSender(t, fake)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, sec := delivery()
	_, err := s.Send(ctx, d, sec)
	if err == nil || worker.IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a cancelled context = %v; want a temporary context.Canceled", err)
	}
}

func TestNew_RefusesBadKey(t *testing.T) {
	if _, err := New(Options{APIKey: "short", APISecret: "x"}, clientconfig.Static(render.NewSet())); err == nil {
		t.Fatal("New accepted a 5-character API key")
	}
}
