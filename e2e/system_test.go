package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/natsembed"
	"github.com/ciam-mfa/ciam-mfa/pkg/smtptest"
	"github.com/ciam-mfa/ciam-mfa/pkg/vonagetest"
)

// binDir holds the binaries TestMain built.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mfa-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-o", dir+"/",
		"github.com/ciam-mfa/ciam-mfa/services/api/cmd/mfa-api",
		"github.com/ciam-mfa/ciam-mfa/services/email-worker/cmd/mfa-email-worker",
		"github.com/ciam-mfa/ciam-mfa/services/sms-worker/cmd/mfa-sms-worker",
		"github.com/ciam-mfa/ciam-mfa/services/mfactl/cmd/mfactl")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// Proc is one running binary with its output kept.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	out  *logBuffer
	done chan struct{}
}

// logBuffer keeps a process's output and lets tests wait for a line.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs a binary with env and stops it (SIGTERM) when the test ends.
func start(t *testing.T, name string, env map[string]string) *Proc {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &Proc{Name: name, cmd: cmd, out: &logBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop(10 * time.Second)
		if t.Failed() {
			t.Logf("--- %s output:\n%s", name, p.out.String())
		}
	})
	return p
}

// Stop sends SIGTERM and waits up to limit, then kills. It returns how long
// the process took to exit.
func (p *Proc) Stop(limit time.Duration) time.Duration {
	began := time.Now()
	select {
	case <-p.done:
		return 0
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return time.Since(began)
}

// Kill ends the process with SIGKILL, as a crash would.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Exited reports whether the process has ended, and its exit code.
func (p *Proc) Exited() (bool, int) {
	select {
	case <-p.done:
		return true, p.cmd.ProcessState.ExitCode()
	default:
		return false, 0
	}
}

// Logs returns everything the process wrote.
func (p *Proc) Logs() string { return p.out.String() }

// WaitLog polls the output for a JSON log line whose msg is msg and returns
// it decoded; it fails the test after timeout.
func (p *Proc) WaitLog(t *testing.T, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sc := bufio.NewScanner(strings.NewReader(p.out.String()))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == msg {
				return line
			}
		}
		if done, code := p.Exited(); done {
			t.Fatalf("%s exited (code %d) before logging %q:\n%s", p.Name, code, msg, p.out.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %q within %s:\n%s", p.Name, msg, timeout, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// System is the whole product running for one test.
type System struct {
	t       *testing.T
	API     *Proc
	Base    string
	Admin   string
	SMTP    *smtptest.Server
	Vonage  *vonagetest.Server
	env     map[string]string
	workers []*Proc
	http    *http.Client

	ClientID, Secret string
}

// StartSystem starts NATS, SMTP, the Vonage fake, mfa-api and one worker of
// each kind. extra overrides environment variables of every process.
func StartSystem(t *testing.T, extra map[string]string) *System {
	t.Helper()
	ns := natsembed.StartForTest(t)
	s := &System{t: t, SMTP: smtptest.Start(t), Vonage: vonagetest.Start(t),
		http: &http.Client{Timeout: 15 * time.Second}}
	host, port := s.SMTP.Addr()
	s.env = map[string]string{
		"MFA_NATS_URL": ns.ClientURL(), "MFA_DATA_DIR": t.TempDir(), "MFA_LOG_FORMAT": "json",
		"MFA_LOG_LEVEL": "debug", "MFA_HMAC_KEYS": keyring.Generate("h1", 32),
		"MFA_DELIVERY_KEYS": keyring.Generate("d1", 32), "MFA_DATA_KEYS": keyring.Generate("k1", 32),
		"MFA_ADMIN_TOKEN": "e2e-admin-token-0123456789", "MFA_ISSUER": "http://mfa.e2e",
		"MFA_HTTP_ADDR": "127.0.0.1:0", "MFA_ADMIN_ADDR": "127.0.0.1:0",
		"MFA_SMTP_HOST": host, "MFA_SMTP_PORT": fmt.Sprint(port), "MFA_SMTP_TLS": "none",
		"MFA_EMAIL_FROM": "no-reply@mfa.e2e", "MFA_SMS_PROVIDER": "vonage",
		"MFA_VONAGE_API_KEY": s.Vonage.Key, "MFA_VONAGE_API_SECRET": s.Vonage.Secret,
		"MFA_VONAGE_BASE_URL": s.Vonage.BaseURL(), "MFA_WORKER_BACKOFF": "50ms,100ms,200ms",
		"MFA_WORKER_SHUTDOWN_TIMEOUT": "5s",
	}
	for k, v := range extra {
		s.env[k] = v
	}
	s.API = start(t, "mfa-api", s.env)
	s.Base = "http://" + s.listening("public")
	s.Admin = "http://" + s.listening("admin")
	s.StartWorker("mfa-email-worker")
	s.StartWorker("mfa-sms-worker")
	s.ClientID, s.Secret = s.CreateClient()
	return s
}

// listening waits for mfa-api to log the address of a listener.
func (s *System) listening(component string) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(s.API.Logs()))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "listening" &&
				line["component"] == component {
				return line["addr"].(string)
			}
		}
		if done, _ := s.API.Exited(); done {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("mfa-api did not start its %s listener:\n%s", component, s.API.Logs())
	return ""
}

// RestartAPI stops mfa-api and starts it again on the same data directory,
// as an operator's restart would.
func (s *System) RestartAPI() {
	s.t.Helper()
	s.API.Stop(20 * time.Second)
	s.API = start(s.t, "mfa-api", s.env)
	s.Base = "http://" + s.listening("public")
	s.Admin = "http://" + s.listening("admin")
}

// StartWorker starts one more worker process of the named binary.
func (s *System) StartWorker(name string) *Proc {
	s.t.Helper()
	p := start(s.t, name, s.env)
	p.WaitLog(s.t, "worker started", 20*time.Second)
	s.workers = append(s.workers, p)
	return p
}

// Procs returns mfa-api and every worker started.
func (s *System) Procs() []*Proc { return append([]*Proc{s.API}, s.workers...) }

// Mfactl runs mfactl against this system and returns its output.
func (s *System) Mfactl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir, "mfactl"), args...)
	cmd.Env = []string{"MFA_ADMIN_URL=" + s.Admin, "MFA_ADMIN_TOKEN=" + s.env["MFA_ADMIN_TOKEN"],
		"MFA_NATS_URL=" + s.env["MFA_NATS_URL"], "MFA_DATA_DIR=" + s.t.TempDir()}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// CreateClient onboards a client with mfactl, as an operator would.
func (s *System) CreateClient() (string, string) {
	s.t.Helper()
	out, err := s.Mfactl("client", "create", "--name", "E2E App", "--templates", "demotemplate")
	if err != nil {
		s.t.Fatalf("mfactl client create: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`MFA_CLIENT_ID=(\S+)`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`MFA_CLIENT_SECRET=(\S+)`).FindStringSubmatch(out)
	if id == nil || secret == nil {
		s.t.Fatalf("mfactl printed no credentials:\n%s", out)
	}
	return id[1], secret[1]
}

// Token gets an access token with client_secret_basic.
func (s *System) Token() string {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.Base+"/oauth2/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.ClientID, s.Secret)
	status, body := s.send(req)
	if status != http.StatusOK {
		s.t.Fatalf("token: %d %v", status, body)
	}
	return body["access_token"].(string)
}

// Call sends a JSON request to the public API.
func (s *System) Call(method, path, token string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, s.Base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.send(req)
}

func (s *System) send(req *http.Request) (int, map[string]any) {
	s.t.Helper()
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// Request asks for an OTP and returns its authId.
func (s *System) Request(token string, body map[string]any) string {
	s.t.Helper()
	status, out := s.Call(http.MethodPost, "/v1/otp", token, body)
	if status != http.StatusCreated {
		s.t.Fatalf("POST /v1/otp = %d %v", status, out)
	}
	return out["authId"].(string)
}

// Validate submits a code.
func (s *System) Validate(token, authID, code string) (int, map[string]any) {
	return s.Call(http.MethodPost, "/v1/otp/"+authID+"/validate", token, map[string]string{"otp": code})
}

var codePattern = regexp.MustCompile(`\b\d{6}\b`)

// CodeIn extracts the one-time code from a delivered text.
func CodeIn(t *testing.T, text string) string {
	t.Helper()
	code := codePattern.FindString(text)
	if code == "" {
		t.Fatalf("no code in %q", text)
	}
	return code
}
