package e2e

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

// writeTemplate lays out a template folder under dir.
func writeTemplate(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var acmeTemplate = map[string]string{
	"subject.txt":       "Your {{.AppName}} sign-in code",
	"body.txt":          "Hello {{.UserName}}, your code is {{.Code}}. Help: {{.Brand.SupportEmail}}",
	"body.html":         `<img src="{{.Brand.LogoURL}}"><p style="color: {{.Brand.PrimaryColor}}">{{.Code}}</p>`,
	"sms.txt":           "{{.Code}} is your {{.AppName}} code",
	"pt/subject.txt":    "Seu código {{.AppName}}",
	"pt/body.txt":       "Olá {{.UserName}}, seu código é {{.Code}}. Ajuda: {{.Brand.SupportEmail}}",
	"pt-BR/subject.txt": "Seu código de acesso {{.AppName}} (Brasil)",
}

func (s *System) mustMfactl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := s.Mfactl(args...)
	if err != nil {
		t.Fatalf("mfactl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestE2E_ClientTemplatesByLocale(t *testing.T) {
	s := StartSystem(t, nil)
	dir := t.TempDir()
	writeTemplate(t, dir, acmeTemplate)
	s.mustMfactl(t, "template", "put", "--client", s.ClientID, "--name", "acme", dir)
	s.mustMfactl(t, "client", "update", s.ClientID, "--name", "Acme Shop", "--logo-url",
		"https://acme.example/logo.png", "--support-email", "help@acme.example", "--primary-color", "#112233")
	tok := s.Token()

	tests := []struct {
		locale, subject, body string
	}{
		{"pt-BR", "Seu código de acesso Acme Shop (Brasil)", "Olá jdoe, seu código é"},
		{"pt-PT", "Seu código Acme Shop", "Olá jdoe, seu código é"},
		{"de", "Your Acme Shop sign-in code", "Hello jdoe, your code is"},
	}
	for i, tt := range tests {
		s.Request(tok, map[string]any{"userName": "jdoe", "email": "jon@example.com", "deviceType": "EMAIL",
			"templateName": "acme", "locale": tt.locale})
		m := s.SMTP.WaitFor(i+1, 15*time.Second)[i]
		text := m.Part("text/plain")
		if m.Subject() != tt.subject || !strings.Contains(text, tt.body) ||
			!strings.Contains(text, "help@acme.example") {
			t.Errorf("locale %s: subject %q, text %q", tt.locale, m.Subject(), text)
		}
		if html := m.Part("text/html"); !strings.Contains(html, "https://acme.example/logo.png") ||
			!strings.Contains(html, "#112233") {
			t.Errorf("locale %s: html lacks the brand: %q", tt.locale, html)
		}
	}

	// A broken upload is refused with file and line, and the last good
	// revision keeps serving.
	broken := t.TempDir()
	writeTemplate(t, broken, map[string]string{"subject.txt": "Broken", "body.html": "x",
		"sms.txt": "x", "body.txt": "line one\nline two\n{{.Code"})
	out, err := s.Mfactl("template", "put", "--client", s.ClientID, "--name", "acme", broken)
	if err == nil || !strings.Contains(out, "body.txt:3") {
		t.Errorf("broken template: err %v, output %q; want a refusal naming body.txt:3", err, out)
	}
	s.Request(tok, map[string]any{"userName": "jdoe", "email": "jon@example.com", "deviceType": "EMAIL",
		"templateName": "acme"})
	if m := s.SMTP.WaitFor(4, 15*time.Second)[3]; m.Subject() != "Your Acme Shop sign-in code" {
		t.Errorf("after a refused upload the subject is %q; want the previous revision's", m.Subject())
	}
	preview := s.mustMfactl(t, "template", "preview", "--client", s.ClientID, "--name", "acme", "--locale", "pt")
	if !strings.Contains(preview, "Seu código Acme Shop") || !strings.Contains(preview, "123456") {
		t.Errorf("preview = %s", preview)
	}
}

func TestE2E_DKIMSignedMail(t *testing.T) {
	s := StartSystem(t, nil)
	out := s.mustMfactl(t, "domain", "add", "--client", s.ClientID, "--domain", "Acme.Example")
	rec := regexp.MustCompile(`(\S+)\. IN TXT "([^"]+)"`).FindStringSubmatch(out)
	if rec == nil || rec[1] != "mfa._domainkey.acme.example" {
		t.Fatalf("domain add printed no DKIM record:\n%s", out)
	}
	if _, err := s.Mfactl("client", "update", s.ClientID, "--from", "no-reply@other.example"); err == nil {
		t.Error("a From on an unregistered domain was accepted")
	}
	s.mustMfactl(t, "client", "update", s.ClientID, "--from", "no-reply@acme.example", "--from-name", "Acme",
		"--reply-to", "help@acme.example")
	tok := s.Token()
	s.Request(tok, map[string]any{"userName": "jdoe", "email": "jon@example.com", "deviceType": "EMAIL"})
	m := s.SMTP.WaitFor(1, 15*time.Second)[0]
	if !strings.Contains(m.Header().Get("From"), "no-reply@acme.example") || m.From != "no-reply@acme.example" {
		t.Errorf("From = %q, envelope %q", m.Header().Get("From"), m.From)
	}
	lookup := func(name string) ([]string, error) {
		if name == rec[1] {
			return []string{rec[2]}, nil
		}
		return nil, &dnsError{name}
	}
	if err := verifyDKIM(m.Raw, lookup); err != nil {
		t.Fatalf("the signed message does not verify: %v", err)
	}
	tampered := bytes.Replace(m.Raw, []byte("Subject: "), []byte("Subject: Re: "), 1)
	if err := verifyDKIM(tampered, lookup); err == nil {
		t.Error("a message with an altered Subject still verifies")
	}
}

type dnsError struct{ name string }

func (e *dnsError) Error() string { return "no TXT record for " + e.name }

func verifyDKIM(raw []byte, lookup func(string) ([]string, error)) error {
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return &dnsError{"(no DKIM-Signature header)"}
	}
	return vs[0].Err
}

func TestE2E_SecretRotationAndErasure(t *testing.T) {
	s := StartSystem(t, nil)
	old := s.Secret
	out := s.mustMfactl(t, "client", "rotate-secret", s.ClientID, "--grace", "2s")
	m := regexp.MustCompile(`MFA_CLIENT_SECRET=(\S+)`).FindStringSubmatch(out)
	if m == nil || m[1] == old {
		t.Fatalf("rotate-secret printed no new secret:\n%s", out)
	}
	tokenStatus := func(secret string) int {
		req, _ := http.NewRequest(http.MethodPost, s.Base+"/oauth2/token",
			strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(s.ClientID, secret)
		status, _ := s.send(req)
		return status
	}
	if a, b := tokenStatus(old), tokenStatus(m[1]); a != 200 || b != 200 {
		t.Errorf("during the grace period old %d new %d, want both 200", a, b)
	}
	time.Sleep(2500 * time.Millisecond)
	if a, b := tokenStatus(old), tokenStatus(m[1]); a != 401 || b != 200 {
		t.Errorf("after the grace period old %d new %d, want 401 and 200", a, b)
	}

	s.Secret = m[1]
	tok := s.Token()
	id := s.Request(tok, map[string]any{"userName": "erasee", "email": "erasee@example.com", "deviceType": "EMAIL"})
	out = s.mustMfactl(t, "user", "erase", "--client", s.ClientID, "--user", "erasee")
	if !strings.Contains(out, "erased 1 challenges") {
		t.Errorf("user erase = %s", out)
	}
	if status, _ := s.Call(http.MethodGet, "/v1/otp/"+id, tok, nil); status != 404 {
		t.Errorf("the erased user's challenge = %d, want 404", status)
	}
	audit := s.mustMfactl(t, "audit")
	for _, want := range []string{"POST /admin/v1/clients/:id/rotate-secret", "POST /admin/v1/users/erase",
		"(mfactl)"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %q:\n%s", want, audit)
		}
	}
}
