package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ciam-mfa/ciam-mfa/bench/internal/procstat"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
)

// adminToken guards the admin API of the benchmark's mfa-api.
const adminToken = "bench-admin-token-0123456789"

// baseEnv returns the MFA_* variables every process of the run shares.
func (h *harness) baseEnv() map[string]string {
	if h.env != nil {
		return h.env
	}

	host, port := h.sink.Addr()
	h.env = map[string]string{
		"MFA_NATS_URL": h.nats.ClientURL(), "MFA_LOG_FORMAT": "json", "MFA_LOG_LEVEL": "info",
		"MFA_HMAC_KEYS": keyring.Generate("h1", 32), "MFA_DELIVERY_KEYS": keyring.Generate("d1", 32),
		"MFA_DATA_KEYS": keyring.Generate("k1", 32), "MFA_ADMIN_TOKEN": adminToken,
		"MFA_ISSUER": "http://mfa.bench", "MFA_SMTP_HOST": host, "MFA_SMTP_PORT": port,
		"MFA_SMTP_TLS": "none", "MFA_EMAIL_FROM": "no-reply@mfa.bench",
		"MFA_WORKER_SHUTDOWN_TIMEOUT": "5s",
	}

	return h.env
}

// apiProc is a running mfa-api with a benchmark client.
type apiProc struct {
	*proc
	base, admin string
	dataDir     string
	// creds is a file of MFA_CLIENT_ID and MFA_CLIENT_SECRET lines.
	creds string
}

// storePath is the bbolt file.
func (a *apiProc) storePath() string { return filepath.Join(a.dataDir, "mfa.db") }

// startAPI starts mfa-api with its data in a new directory named name and
// extra variables, waits for both listeners and onboards a client.
func (h *harness) startAPI(ctx context.Context, name string, extra map[string]string) (*apiProc, error) {
	a := &apiProc{dataDir: filepath.Join(h.dir, name)}
	env := map[string]string{"MFA_DATA_DIR": a.dataDir, "MFA_HTTP_ADDR": "127.0.0.1:0",
		"MFA_ADMIN_ADDR": "127.0.0.1:0"}
	for k, v := range h.baseEnv() {
		env[k] = v
	}

	for k, v := range extra {
		env[k] = v
	}

	p, err := startProc(filepath.Join(h.bin, "mfa-api"), filepath.Join(h.dir, name+".log"), env)
	if err != nil {
		return nil, err
	}

	a.proc = p
	h.api = a
	if a.base, err = listening(ctx, p, "public"); err != nil {
		return nil, err
	}

	if a.admin, err = listening(ctx, p, "admin"); err != nil {
		return nil, err
	}

	if err := h.createClient(ctx, a); err != nil {
		return nil, err
	}

	h.log.Info("mfa-api ready", slog.String("url", a.base), slog.Int("pid", p.pid()))
	return a, nil
}

// listening waits for mfa-api to log the address of a listener.
func listening(ctx context.Context, p *proc, component string) (string, error) {
	line, err := p.waitLog(ctx, "listening", 30*time.Second, func(l map[string]any) bool {
		return l["component"] == component
	})
	if err != nil {
		return "", err
	}

	addr, _ := line["addr"].(string)
	return "http://" + addr, nil
}

// createClient onboards a client with mfactl, as an operator would,
// raises its per-client rate limit, and writes its credentials to a.creds.
func (h *harness) createClient(ctx context.Context, a *apiProc) error {
	out, err := h.mfactl(ctx, a.admin, "--json", "client", "create", "--name", "Benchmark",
		"--templates", "demotemplate")
	if err != nil {
		return err
	}

	var v struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}

	if err := json.Unmarshal(out, &v); err != nil || v.ClientID == "" {
		return fmt.Errorf("mfactl client create printed no credentials: %s", out)
	}

	if err := h.raiseLimits(ctx, a, v.ClientID); err != nil {
		return err
	}
	a.creds = filepath.Join(a.dataDir, "client.env")
	body := fmt.Sprintf("MFA_CLIENT_ID=%s\nMFA_CLIENT_SECRET=%s\n", v.ClientID, v.ClientSecret)
	if err := os.WriteFile(a.creds, []byte(body), 0o600); err != nil {
		return fmt.Errorf("writing client credentials: %w", err)
	}

	return nil
}

// mfactl runs the built mfactl with the admin API at admin and returns its
// standard output. It fails with the command's error output.
func (h *harness) mfactl(ctx context.Context, admin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(h.bin, "mfactl"), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + h.dir,
		"MFA_ADMIN_URL=" + admin, "MFA_ADMIN_TOKEN=" + adminToken,
		"MFA_DATA_DIR=" + filepath.Join(h.dir, "mfactl")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ps := cmd.ProcessState; ps != nil {
		used := ps.UserTime() + ps.SystemTime()
		h.childTicks += uint64(used * procstat.TicksPerSecond / time.Second)
	}
	if err != nil {
		return nil, fmt.Errorf("mfactl %v: %w: %s", args, err, bytes.TrimSpace(stderr.Bytes()))
	}

	return stdout.Bytes(), nil
}

// startWorker starts one more email worker and waits until it consumes.
func (h *harness) startWorker(ctx context.Context) error {
	n := len(h.workers) + 1
	env := map[string]string{"MFA_DATA_DIR": filepath.Join(h.dir, "worker"+strconv.Itoa(n))}
	for k, v := range h.baseEnv() {
		env[k] = v
	}

	logPath := filepath.Join(h.dir, fmt.Sprintf("email-worker-%d-%d.log", n, time.Now().UnixNano()))
	p, err := startProc(filepath.Join(h.bin, "mfa-email-worker"), logPath, env)
	if err != nil {
		return err
	}

	h.workers = append(h.workers, p)
	_, err = p.waitLog(ctx, "worker started", 30*time.Second, nil)
	return err
}

// stopWorkers stops every email worker.
func (h *harness) stopWorkers() error {
	err := errStopped(h.workers, syscall.SIGTERM, 20*time.Second)
	h.workers = nil
	return err
}

// unlimited is a client's rate limit that never refuses the benchmark: a
// billion requests a second. Limits per user and per address are left as
// they are, since every benchmark request has its own of both.
const unlimited = `{"limits":{"client":{"max":1000000000,"windowSeconds":1}}}`

// raiseLimits lifts the client's own rate limit through the admin API. An
// mfa-api without per-client limits refuses the field with 400, which is
// taken as nothing to raise. It fails on any other answer.
func (h *harness) raiseLimits(ctx context.Context, a *apiProc, clientID string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch,
		a.admin+"/admin/v1/clients/"+url.PathEscape(clientID), strings.NewReader(unlimited))
	if err != nil {
		return fmt.Errorf("raising limits: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("raising limits: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusBadRequest:
		h.log.Info("mfa-api has no per-client rate limit to raise", slog.String("answer", string(body)))
		return nil
	default:
		return fmt.Errorf("raising limits: status %d: %s", resp.StatusCode, body)
	}
}
